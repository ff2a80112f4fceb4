"""Training-step time of the new cells, sequential (``rj.unroll``) against their parallel
forms (``rj.linear_unroll`` associative scan; ``rj.mlstm_unroll`` chunkwise and fully parallel).

  python -m experiments.benchmarks.modern_speed --lengths=256,1024,4096,16384 --batch=4 \
      --hidden=32 --rounds=3

One training step = forward over the whole sequence + loss mean(y⟨t⟩²) + gradients of all
params, under ``jax.jit``, on JAX's default device. Each path is compiled and called twice,
then timed ``--reps`` times (median); the paths of one cell and length alternate over
``--rounds`` rounds and the table gives the median over rounds and sequential/parallel ratios
(> 1: the parallel form is faster). The fully parallel mLSTM is O(T²) in memory and is skipped
above ``--mlstm_parallel_max``.
"""
from __future__ import annotations

import statistics
import time

import jax
import jax.numpy as jnp
from absl import app, flags

import rnn_jax as rj

FLAGS = flags.FLAGS
flags.DEFINE_list("cells", ["lru", "s5", "rg_lru", "s6", "mlstm"], "cells")
flags.DEFINE_list("lengths", ["256", "1024", "4096", "16384"], "sequence lengths T")
flags.DEFINE_integer("batch", 4, "B")
flags.DEFINE_integer("hidden", 32, "H (and D)")
flags.DEFINE_integer("reps", 5, "timed calls per round")
flags.DEFINE_integer("rounds", 3, "alternated rounds")
flags.DEFINE_integer("chunk", 64, "the mLSTM's chunk length")
flags.DEFINE_integer("mlstm_parallel_max", 1024, "longest T for the fully parallel mLSTM")
flags.DEFINE_string("out", None, "write the markdown table here too")


def paths(cell, time_steps):
  out = {"sequential": lambda p, x: rj.unroll(cell, p, x, backward="autodiff")[1]}
  if cell.linear is not None:
    out["parallel"] = lambda p, x: rj.linear_unroll(cell, p, x)[1]
    out["parallel closed_form"] = lambda p, x: rj.linear_unroll(
        cell, p, x, backward="closed_form")[1]
  else:
    out["chunkwise"] = lambda p, x: rj.mlstm_unroll(cell, p, x, chunk=FLAGS.chunk)[1]
    if time_steps <= FLAGS.mlstm_parallel_max:
      out["parallel"] = lambda p, x: rj.mlstm_unroll(cell, p, x)[1]
  return out


def step_fn(forward):
  return jax.jit(jax.grad(lambda p, x: jnp.mean(forward(p, x)**2)))


def time_ms(fn, params, xs, reps):
  jax.block_until_ready(fn(params, xs))
  jax.block_until_ready(fn(params, xs))
  times = []
  for _ in range(reps):
    start = time.perf_counter()
    jax.block_until_ready(fn(params, xs))
    times.append(1000 * (time.perf_counter() - start))
  return statistics.median(times)


def main(argv):
  del argv
  lines = [
      f"Training step (forward + grad), B = {FLAGS.batch}, D = H = {FLAGS.hidden}, float32, "
      f"{jax.default_backend()} ({jax.devices()[0].device_kind}); median ms of {FLAGS.reps} calls, "
      f"median of {FLAGS.rounds} alternated rounds.", "", "| cell | T | path | ms/step | "
      "sequential / this |", "|---|---|---|---|---|"
  ]
  print("\n".join(lines), flush=True)
  for name in FLAGS.cells:
    cell = rj.make_cell(name)
    params = cell.init(jax.random.PRNGKey(0), FLAGS.hidden, FLAGS.hidden)
    for t in (int(v) for v in FLAGS.lengths):
      xs = jax.random.normal(jax.random.PRNGKey(1), (FLAGS.batch, t, FLAGS.hidden))
      fns = {k: step_fn(f) for k, f in paths(cell, t).items()}
      got = {k: [] for k in fns}
      for r in range(FLAGS.rounds):
        order = list(fns)[r % len(fns):] + list(fns)[:r % len(fns)]
        for k in order:
          got[k].append(time_ms(fns[k], params, xs, FLAGS.reps))
      seq = statistics.median(got["sequential"])
      for k, v in got.items():
        ms = statistics.median(v)
        lines.append(f"| {name} | {t:,} | {k} | {ms:.1f} | {seq / ms:.2f} |")
        print(lines[-1], flush=True)
  if FLAGS.out:
    with open(FLAGS.out, "w", encoding="utf-8") as f:
      f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
  app.run(main)
