"""Copy memory (Hochreiter & Schmidhuber 1997; the form of Arjovsky et al. 2016).

Input: 10 symbols drawn from {1..8}, then T − 1 blanks (0), a delimiter (9), and 10
more blanks: T + 20 steps. Target: blanks for the first T + 10 steps, then the 10
symbols. A model that remembers nothing and outputs blanks, then uniform guesses
over the 8 symbols, scores 10·ln 8 / (T + 20) nats per step: the baseline.
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from rnn_jax.types import check_positive_int

NUM_SYMBOLS, BLANK, DELIMITER, COPY = 8, 0, 9, 10
INPUT_CLASSES, OUTPUT_CLASSES = 10, 9


def baseline_nats(length: int) -> float:
  """Cross-entropy of the memoryless strategy, per step."""
  return COPY * math.log(NUM_SYMBOLS) / (length + 2 * COPY)


def copy_batch(key, batch_size: int, length: int):
  """``(inputs [B, T+20] int, targets [B, T+20] int)``; deterministic in ``key``."""
  b = check_positive_int("batch_size", batch_size)
  t = check_positive_int("length", length)
  symbols = jax.random.randint(key, (b, COPY), 1, NUM_SYMBOLS + 1)
  inputs = jnp.concatenate([
      symbols,
      jnp.zeros((b, t - 1), jnp.int32),
      jnp.full((b, 1), DELIMITER),
      jnp.zeros((b, COPY), jnp.int32)
  ], 1)
  targets = jnp.concatenate([jnp.zeros((b, t + COPY), jnp.int32), symbols], 1)
  return inputs, targets
