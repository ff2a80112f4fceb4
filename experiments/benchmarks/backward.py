"""Training-step time of backward="closed_form" against backward="autodiff".

  python -m experiments.benchmarks.backward --shape=primary --rounds=5

One training step = forward + loss + gradients w.r.t. all params (the loss is a
squared error on every a⟨t⟩ through a readout). Both variants are compiled
first, then timed interleaved (A B A B ...) in one process; medians are
reported with the ratio closed_form / autodiff (< 1 means the closed form is
faster). Results go to stdout and, with --out, to JSON.
"""
from __future__ import annotations

import json

from absl import app, flags, logging

from experiments.benchmarks import timing
from experiments.benchmarks.timing import time_interleaved

SHAPES = {**timing.SHAPES, "small": (64, 100, 2, 64)}  # small: the adding demo's shape
_SHAPE = flags.DEFINE_enum("shape", "primary", list(SHAPES), "B, T, D, H preset.")
_ROUNDS = flags.DEFINE_integer("rounds", 5, "Interleaved rounds.", lower_bound=1)
_REPS = flags.DEFINE_integer("reps", 5, "Timed calls per round and variant.", lower_bound=1)
_CELLS = flags.DEFINE_list("cells", ["lstm", "gru", "simple_rnn"], "Cells to time.")
_OUT = flags.DEFINE_string("out", None, "Write results as JSON here.")


def make_step(cell, backward, shape):
  import jax
  import rnn_jax as rj
  b, t, d, h = shape
  key = jax.random.PRNGKey(0)
  params = {"cell": cell.init(key, d, h), "readout": rj.dense().init(key, h, 1)}
  xs = jax.random.normal(jax.random.fold_in(key, 1), (b, t, d))
  ys = jax.random.normal(jax.random.fold_in(key, 2), (b, t, 1))

  def loss(p):
    _, a = rj.unroll(cell, p["cell"], xs, backward=backward)
    return rj.sequence_loss(rj.readout_logits(p["readout"], a), ys, loss="squared")

  step = jax.jit(jax.value_and_grad(loss))
  jax.block_until_ready(step(params))
  return lambda: jax.block_until_ready(step(params))


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  import rnn_jax as rj
  shape = SHAPES[_SHAPE.value]
  results = {"shape": dict(zip("BTDH", shape)), "cells": {}}
  print(f"shape {_SHAPE.value} B,T,D,H = {shape}; median ms per training step")
  for name in _CELLS.value:
    cell = rj.make_cell(name)
    steps = {bw: make_step(cell, bw, shape) for bw in ("autodiff", "closed_form")}
    med = time_interleaved(steps, _ROUNDS.value, _REPS.value)
    ratio = med["closed_form"] / med["autodiff"]
    results["cells"][name] = {
        "autodiff_ms": med["autodiff"],
        "closed_form_ms": med["closed_form"],
        "ratio": ratio
    }
    print(f"{name:12s} autodiff {med['autodiff']:8.2f}  closed_form {med['closed_form']:8.2f}  "
          f"ratio {ratio:.3f}")
  if _OUT.value:
    with open(_OUT.value, "w") as f:
      json.dump(results, f, indent=1)


if __name__ == "__main__":
  app.run(main)
