"""Interleaved timing and the shape presets shared by the benchmark scripts."""
from __future__ import annotations

import statistics
import time

# (B, T, D, H) presets of the performance issue.
SHAPES = {
    "primary": (32, 100, 128, 256),
    "large": (64, 200, 512, 512),
    "latency": (1, 1000, 64, 64),
}

GATES = {"lstm": 4, "gru": 3, "rnn": 1}


def train_flops(kind, b, t, d, h):
  """Matmul FLOPs of one training step: forward 2·B·T·(D+H)·G·H, backward twice that."""
  return 3 * 2 * b * t * (d + h) * GATES[kind] * h


def torch_train_step(kind, shape, device="cpu"):
  """PyTorch's training step (``nn.LSTM``/``GRU``/``RNN``, batch_first, mean(a²), backward) as
  its users write it, with PyTorch's thread settings as they are; ``device="cuda"``: module
  and data on the GPU (cuDNN's fused RNN), the step waits for the GPU to finish."""
  import torch
  b, t, d, h = shape
  module = {
      "lstm": torch.nn.LSTM,
      "gru": torch.nn.GRU,
      "rnn": torch.nn.RNN
  }[kind](
      d, h, batch_first=True).to(device)
  xs = torch.randn(b, t, d, device=device)

  def step():
    module.zero_grad(set_to_none=True)
    out, _ = module(xs)
    (out**2).mean().backward()
    if device != "cpu":
      torch.cuda.synchronize()

  return step


# Large-matmul rates, each run in its own process (``python -c CODE DTYPE``) with the library's
# default settings; the best of them is the machine's practical peak.
GEMM = (8192, 1024, 2048)  # M, K, N

JAX_GEMM = """
import json, sys, time, jax, jax.numpy as jnp
m, k, n = %r
dtype = jnp.dtype(sys.argv[1])
a, b = jnp.ones((m, k), dtype), jnp.ones((k, n), dtype)
f = jax.jit(lambda a, b: a @ b)
f(a, b).block_until_ready()
times = []
for _ in range(5):
  t = time.perf_counter()
  f(a, b).block_until_ready()
  times.append(time.perf_counter() - t)
print(json.dumps({"who": "xla", "dtype": dtype.name, "gflops": 2 * m * k * n / min(times) / 1e9}))
""" % (GEMM,)

TORCH_GEMM = """
import json, sys, time, torch
m, k, n = %r
dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[sys.argv[1]]
a, b = torch.ones(m, k, dtype=dtype), torch.ones(k, n, dtype=dtype)
a @ b
times = []
for _ in range(5):
  t = time.perf_counter()
  a @ b
  times.append(time.perf_counter() - t)
print(json.dumps({"who": "pytorch (%%d threads)" %% torch.get_num_threads(), "dtype": sys.argv[1],
                  "gflops": 2 * m * k * n / min(times) / 1e9}))
""" % (GEMM,)


def time_interleaved(contenders: dict, rounds: int, reps: int, warmup: int = 2) -> dict:
  """Median milliseconds per call of each blocking callable, timed A B C A B C ...

  Every contender is called ``warmup`` times first (compilation), then each round
  times ``reps`` calls of every contender in turn, so machine drift hits all alike.
  """
  for fn in contenders.values():
    for _ in range(warmup):
      fn()
  times = {name: [] for name in contenders}
  for _ in range(rounds):
    for name, fn in contenders.items():
      for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times[name].append(1e3 * (time.perf_counter() - t0))
  return {name: statistics.median(v) for name, v in times.items()}
