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
