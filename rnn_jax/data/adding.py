"""The adding problem (Hochreiter & Schmidhuber 1997; Le et al. 2015's variant).

x⟨t⟩ = (value ~ U(0, 1), marker ∈ {0, 1}); exactly two markers, one in each half
of the sequence; the target is the sum of the two marked values. Predicting
the mean (1) gives MSE = Var(U+U') = 1/6 ≈ 0.167, the baseline.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from rnn_jax.types import check_positive_int

BASELINE_MSE = 1.0 / 6.0


def adding_batch(key, batch_size: int, length: int, dtype=jnp.float32):
  """Returns ``(xs [B, T, 2], ys [B, 1])``; deterministic in ``key``."""
  b = check_positive_int("batch_size", batch_size)
  t = check_positive_int("length", length)
  if t < 2:
    raise ValueError(f"length must be >= 2 for two markers, got {t}.")
  kv, k1, k2 = jax.random.split(key, 3)
  values = jax.random.uniform(kv, (b, t), dtype)
  half = t // 2
  i1 = jax.random.randint(k1, (b,), 0, half)
  i2 = jax.random.randint(k2, (b,), half, t)
  steps = jnp.arange(t)[None, :]
  markers = ((steps == i1[:, None]) | (steps == i2[:, None])).astype(dtype)
  ys = jnp.sum(values * markers, axis=1, keepdims=True)
  return jnp.stack([values, markers], axis=-1), ys
