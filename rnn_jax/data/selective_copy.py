"""Selective copying (Gu & Dao 2023, "Mamba", §4.1 and Fig. 2).

K data tokens drawn from {1..V} sit at random positions among T noise tokens (0); then K marker
tokens (V + 1) follow, during which the model outputs the K data tokens in their order. Unlike
copy memory, where the symbols sit at fixed steps, the positions change from example to
example: a recurrence whose dynamics do not depend on its input (an LTI system: S4, LRU, S5)
cannot select them by a fixed delay, and Mamba's paper reports 18% for S4 against 99.8% for
S6 at T = 4096, K = 16, V = 16.

Inputs ``[B, T + K]`` ints in [0, V + 1]; targets ``[B, K]`` ints in [1, V]. A model that
remembers nothing scores ln V nats per answer token: the baseline.
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from rnn_jax.types import check_positive_int


def baseline_nats(vocab: int) -> float:
  """Cross-entropy per answer token of a uniform guess over the V data tokens."""
  return math.log(vocab)


def selective_copy_batch(key, batch_size: int, length: int, num_tokens: int, vocab: int):
  """``(inputs [B, T + K] int32, targets [B, K] int32)``, deterministic in ``key``; the K
  positions are distinct and uniformly drawn among the T, kept in order."""
  b = check_positive_int("batch_size", batch_size)
  t = check_positive_int("length", length)
  k = check_positive_int("num_tokens", num_tokens)
  v = check_positive_int("vocab", vocab)
  if k > t:
    raise ValueError(f"num_tokens (K={k}) must be at most length (T={t}).")
  k_pos, k_tok = jax.random.split(key)
  positions = jnp.sort(jnp.argsort(jax.random.uniform(k_pos, (b, t)), axis=1)[:, :k], axis=1)
  tokens = jax.random.randint(k_tok, (b, k), 1, v + 1, jnp.int32)
  noise = jnp.zeros((b, t), jnp.int32).at[jnp.arange(b)[:, None], positions].set(tokens)
  return jnp.concatenate([noise, jnp.full((b, k), v + 1, jnp.int32)], axis=1), tokens
