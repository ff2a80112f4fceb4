"""float32 against bfloat16 on this machine: large matrix products (XLA and PyTorch/oneDNN, each
in its own process with its default settings) and an rnn_jax LSTM training step under
``rj.mixed_precision``.

  python -m experiments.benchmarks.precision [--rounds=3]

Prints one JSON line per measurement and a table: GFLOP/s of a [M, K] x [K, N] product (the
best any library reaches here is the machine's practical peak) and the median milliseconds of
one training step (forward + mean(a²) + all gradients, autodiff) of the large LSTM shape
(B, T, D, H) = (64, 200, 512, 512), float32 vs the bfloat16 policy.
"""
from __future__ import annotations

import json
import statistics
import subprocess
import sys

from absl import app, flags

from experiments.benchmarks.timing import JAX_GEMM, TORCH_GEMM

_ROUNDS = flags.DEFINE_integer("rounds", 3, "Alternated rounds per contender.", lower_bound=1)

LSTM = (64, 200, 512, 512)

LSTM_STEP = """
import json, sys, time, jax, jax.numpy as jnp, rnn_jax as rj
B, T, D, H = %r
cell = rj.lstm() if sys.argv[1] == "float32" else rj.mixed_precision(rj.lstm())
params = cell.init(jax.random.PRNGKey(0), D, H)
xs = jax.random.normal(jax.random.PRNGKey(1), (B, T, D))
step = jax.jit(jax.value_and_grad(lambda p: jnp.mean(rj.unroll(cell, p, xs)[1] ** 2)))
jax.block_until_ready(step(params))
times = []
for _ in range(3):
  t = time.perf_counter()
  jax.block_until_ready(step(params))
  times.append(time.perf_counter() - t)
print(json.dumps({"who": "rnn_jax LSTM step", "dtype": sys.argv[1],
                  "ms": 1e3 * sorted(times)[1]}))  # the median of three
""" % (LSTM,)


def run(code: str, dtype: str) -> dict | None:
  out = subprocess.run([sys.executable, "-c", code, dtype],
                       capture_output=True,
                       text=True,
                       timeout=900)
  if out.returncode != 0:
    print(f"failed ({dtype}): {out.stderr[-300:]}", file=sys.stderr)
    return None
  return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv):
  del argv
  contenders = [("xla", JAX_GEMM), ("torch", TORCH_GEMM), ("lstm", LSTM_STEP)]
  results = {}
  for _ in range(_ROUNDS.value):  # rounds alternate the contenders and the dtypes
    for name, code in contenders:
      for dtype in ("float32", "bfloat16"):
        r = run(code, dtype)
        if r is not None:
          print(json.dumps(r), flush=True)
          results.setdefault((r["who"], dtype), []).append(r.get("gflops", r.get("ms")))
  print("\n| contender | dtype | median over rounds |\n|---|---|---|")
  for (who, dtype), values in results.items():
    unit = "ms/step" if "LSTM" in who else "GFLOP/s"
    print(f"| {who} | {dtype} | {statistics.median(values):.1f} {unit} |")


if __name__ == "__main__":
  app.run(main)
