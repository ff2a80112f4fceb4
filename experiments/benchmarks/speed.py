"""Training-step speed of rnn_jax beside Flax nn.RNN and PyTorch, in one process.

  python -m experiments.benchmarks.speed --shape=primary --rounds=5 --out=speed_primary.json

One training step = forward over the whole sequence + loss (mean of a⟨t⟩²) +
gradients w.r.t. all params, the definition the shared baselines use. Every
contender is compiled/warmed up first, then all are timed interleaved
(A B C A B C ...) for ``--rounds`` rounds; the table shows medians and ratios
(peer time / our time: > 1 means we are faster).

Contenders per cell (LSTM, GRU, vanilla RNN):
  rnn_jax          the default path: closed-form backward, projection placement by
                   backend and batch size, batch split over all local devices (this
                   script, like the CLI, splits the CPU into one device per core
                   before jax starts); unroll=2 for batches of 8 or fewer
  rnn_jax 1-dev    the same on one device (ablation of the batch split)
  flax             nn.RNN(OptimizedLSTMCell / GRUCell / SimpleCell), one device
  torch            nn.LSTM / nn.GRU / nn.RNN, 2 threads (when torch is installed)
Also reports achieved GFLOP/s of rnn_jax against a measured large-matmul peak, and
forward-only inference (sampling a language model token by token) against Flax.
"""
from __future__ import annotations

import json
import time

from absl import app, flags, logging

from experiments.benchmarks.timing import SHAPES, time_interleaved, torch_train_step, train_flops

_SHAPE = flags.DEFINE_enum("shape", "primary", list(SHAPES), "B, T, D, H preset.")
_ROUNDS = flags.DEFINE_integer("rounds", 5, "Interleaved rounds.", lower_bound=1)
_REPS = flags.DEFINE_integer("reps", 3, "Timed calls per contender and round.", lower_bound=1)
_CELLS = flags.DEFINE_list("cells", ["lstm", "gru", "rnn"], "Cells: lstm, gru, rnn.")
_INFER = flags.DEFINE_bool("inference", True, "Also time LM sampling against Flax.")
_OUT = flags.DEFINE_string("out", None, "Write the results as JSON here.")


def _ours(kind, shape, multi_device):
  import jax
  import jax.numpy as jnp
  import rnn_jax as rj
  from rnn_jax import parallel
  b, t, d, h = shape
  cell = {"lstm": rj.lstm(), "gru": rj.gru("after"), "rnn": rj.simple_rnn()}[kind]
  params = cell.init(jax.random.PRNGKey(0), d, h)
  xs = jax.random.normal(jax.random.PRNGKey(1), (b, t, d))
  unroll = 2 if b <= 8 else 1  # tuned per shape (BUILD_NOTES.md): helps only tiny batches
  loss = lambda p, x: jnp.mean(rj.unroll(cell, p, x, backward="closed_form", unroll=unroll)[1]**2)
  mesh = parallel.local_mesh(b) if multi_device else None
  if mesh is not None and mesh.devices.size > 1:
    grad = jax.jit(
        jax.grad(loss),
        in_shardings=(parallel.replicated(mesh), parallel.data_sharding(mesh)),
        out_shardings=parallel.replicated(mesh))
    params, xs = parallel.replicate(params, mesh), parallel.shard_batch(xs, mesh)
  else:
    grad = jax.jit(jax.grad(loss))
  return lambda: jax.block_until_ready(grad(params, xs))


def _flax(kind, shape):
  import flax.linen as nn
  import jax
  import jax.numpy as jnp
  b, t, d, h = shape
  cell_cls = {"lstm": nn.OptimizedLSTMCell, "gru": nn.GRUCell, "rnn": nn.SimpleCell}[kind]
  model = nn.RNN(cell_cls(features=h))
  xs = jax.random.normal(jax.random.PRNGKey(1), (b, t, d))
  params = model.init(jax.random.PRNGKey(0), xs)
  grad = jax.jit(jax.grad(lambda p, x: jnp.mean(model.apply(p, x)**2)))
  return lambda: jax.block_until_ready(grad(params, xs))


def _torch(kind, shape):
  try:
    import torch
  except ImportError:
    return None
  torch.set_num_threads(2)
  return torch_train_step(kind, shape)


def matmul_peak_gflops():
  """Best of a 2048³ float32 matmul on one device and split over all local devices."""
  import jax
  from rnn_jax import parallel
  n = 2048
  a = jax.random.normal(jax.random.PRNGKey(0), (n, n))
  best = 0.0
  for mesh in (None, parallel.local_mesh(n)):
    if mesh is not None and mesh.devices.size == 1:
      continue
    x = a if mesh is None else parallel.shard_batch(a, mesh)
    f = jax.jit(lambda x, y: x @ y)
    jax.block_until_ready(f(x, a))
    times = []
    for _ in range(5):
      t0 = time.perf_counter()
      jax.block_until_ready(f(x, a))
      times.append(time.perf_counter() - t0)
    best = max(best, 2 * n**3 / min(times) / 1e9)
  return best


def inference_bench(rounds):
  """Sampling 400 tokens from an LSTM LM (V=64, E=32, H=256), B=1 and B=32."""
  import flax.linen as nn
  import jax
  import jax.numpy as jnp
  import rnn_jax as rj
  from rnn_jax import decoding
  from rnn_jax.models import language_model
  v, e, h, n = 64, 32, 256, 400
  out = {}
  for b in (1, 32):
    lm = language_model(rj.lstm(), v, h, embed_size=e)
    params = lm.init(jax.random.PRNGKey(0))
    ours = jax.jit(lambda p, key: decoding.sample(
        lm.step_fn, p, lm.initial_state(p, b), jnp.zeros((b,), jnp.int32), key, max_len=n)[0])

    class FlaxLM(nn.Module):

      @nn.compact
      def __call__(self, carry, tok):
        carry, a = nn.OptimizedLSTMCell(h)(carry, nn.Embed(v, e)(tok))
        return carry, nn.Dense(v)(a)

    fm = FlaxLM()
    zeros = (jnp.zeros((b, h)), jnp.zeros((b, h)))
    fparams = fm.init(jax.random.PRNGKey(0), zeros, jnp.zeros((b,), jnp.int32))

    def flax_sample(p, key):

      def body(carry, t):
        state, tok = carry
        state, logits = fm.apply(p, state, tok)
        tok = jax.random.categorical(jax.random.fold_in(key, t), logits).astype(jnp.int32)
        return (state, tok), tok

      return jax.lax.scan(body, (zeros, jnp.zeros((b,), jnp.int32)), jnp.arange(n))[1]

    flax_fn = jax.jit(flax_sample)
    key = jax.random.PRNGKey(1)
    med = time_interleaved(
        {
            "rnn_jax": lambda: jax.block_until_ready(ours(params, key)),
            "flax": lambda: jax.block_until_ready(flax_fn(fparams, key))
        }, rounds, 3)
    out[f"B={b}"] = {**med, "flax/rnn_jax": med["flax"] / med["rnn_jax"]}
  return out


def main(argv):
  del argv
  from rnn_jax.parallel import set_cpu_devices_if_unset
  set_cpu_devices_if_unset()  # before jax starts, as the CLI does
  logging.set_verbosity(logging.WARNING)
  import jax
  shape = SHAPES[_SHAPE.value]
  peak = matmul_peak_gflops()
  results = {
      "shape": _SHAPE.value,
      "BTDH": shape,
      "devices": jax.device_count(),
      "matmul_peak_gflops": peak,
      "cells": {}
  }
  print(f"shape {_SHAPE.value} (B, T, D, H) = {shape}; {jax.device_count()} host devices; "
        f"matmul peak {peak:.1f} GFLOP/s; median ms per training step")
  for kind in _CELLS.value:
    contenders = {
        "rnn_jax": _ours(kind, shape, True),
        "rnn_jax 1-dev": _ours(kind, shape, False),
        "flax": _flax(kind, shape)
    }
    torch_step = _torch(kind, shape)
    if torch_step is not None:
      contenders["torch"] = torch_step
    med = time_interleaved(contenders, _ROUNDS.value, _REPS.value)
    gflops = train_flops(kind, *shape) / (med["rnn_jax"] / 1e3) / 1e9
    row = {
        "ms": med,
        "gflops": gflops,
        "fraction_of_peak": gflops / peak,
        "speedup_vs": {
            k: med[k] / med["rnn_jax"] for k in med if k != "rnn_jax"
        }
    }
    results["cells"][kind] = row
    peers = "  ".join(f"{k} {v:7.1f}" for k, v in med.items())
    ratios = "  ".join(f"x{row['speedup_vs'][k]:.2f} vs {k}" for k in row["speedup_vs"])
    print(
        f"{kind:5s} {peers}  | {ratios} | {gflops:.1f} GFLOP/s ({100 * gflops / peak:.0f}% of peak)"
    )
  if _INFER.value:
    results["inference"] = inference_bench(_ROUNDS.value)
    for k, v in results["inference"].items():
      print(f"sampling 400 tokens, {k}: rnn_jax {v['rnn_jax']:.1f} ms, flax {v['flax']:.1f} ms "
            f"(x{v['flax/rnn_jax']:.2f})")
  if _OUT.value:
    with open(_OUT.value, "w") as f:
      json.dump(results, f, indent=1)


if __name__ == "__main__":
  app.run(main)
