"""Generated recall tasks that separate recurrences by what they can store and retrieve.

Each batch is ``(inputs [B, L] int32, targets [B, L] int32, weights [B, L] float32)``: the loss
and the accuracy count the steps with weight 1 only.

induction heads (Olsson et al. 2022; the synthetic task of H3 and Mamba, §4.1): L − 1 tokens
  uniform in {1..V}; a trigger token (V + 1) at a random step p ≤ L − 3 and again at the last
  step; the target there is the token that followed the first trigger. Trained at one L, it can
  be evaluated at 4–16x that L: a model that learnt the rule, not the length, still answers.
  Memoryless: ln V nats.

multi-query associative recall (MQAR; Arora et al. 2023, "Zoology"): P distinct keys from
  {1..K}, each followed by its value from {K+1..K+V} (2P steps), then Q of those keys again in
  random order (distinct); the target at each query is its key's value. Memoryless: ln V nats.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from rnn_jax.types import check_positive_int


def induction_batch(key, batch_size: int, length: int, vocab: int):
  """Induction heads; tokens ``0..V + 1`` (0 never occurs; V + 1 is the trigger)."""
  b = check_positive_int("batch_size", batch_size)
  t = check_positive_int("length", length)
  v = check_positive_int("vocab", vocab)
  if t < 4:
    raise ValueError(f"length must be at least 4 (trigger, answer, a step, trigger), got {t}.")
  k_tok, k_pos = jax.random.split(key)
  tokens = jax.random.randint(k_tok, (b, t), 1, v + 1, jnp.int32)
  p = jax.random.randint(k_pos, (b,), 0, t - 2)
  rows = jnp.arange(b)
  tokens = tokens.at[rows, p].set(v + 1).at[:, t - 1].set(v + 1)
  answer = tokens[rows, p + 1]
  targets = jnp.zeros((b, t), jnp.int32).at[:, t - 1].set(answer)
  weights = jnp.zeros((b, t), jnp.float32).at[:, t - 1].set(1.0)
  return tokens, targets, weights


def mqar_batch(key, batch_size: int, num_pairs: int, num_queries: int, keys: int, values: int):
  """MQAR; tokens ``1..K`` are keys and ``K+1..K+V`` values; L = 2P + Q."""
  b = check_positive_int("batch_size", batch_size)
  p = check_positive_int("num_pairs", num_pairs)
  q = check_positive_int("num_queries", num_queries)
  k = check_positive_int("keys", keys)
  v = check_positive_int("values", values)
  if p > k or q > p:
    raise ValueError(f"need num_queries <= num_pairs <= keys, got Q={q}, P={p}, K={k}.")
  k_key, k_val, k_query = jax.random.split(key, 3)
  chosen = jnp.argsort(jax.random.uniform(k_key, (b, k)), axis=1)[:, :p] + 1  # distinct keys
  vals = jax.random.randint(k_val, (b, p), k + 1, k + v + 1, jnp.int32)
  pairs = jnp.stack([chosen, vals], axis=2).reshape(b, 2 * p).astype(jnp.int32)
  order = jnp.argsort(jax.random.uniform(k_query, (b, p)), axis=1)[:, :q]
  queries = jnp.take_along_axis(chosen, order, axis=1).astype(jnp.int32)
  answers = jnp.take_along_axis(vals, order, axis=1)
  inputs = jnp.concatenate([pairs, queries], axis=1)
  targets = jnp.concatenate([jnp.zeros((b, 2 * p), jnp.int32), answers], axis=1)
  weights = jnp.concatenate([jnp.zeros((b, 2 * p)), jnp.ones((b, q))], axis=1)
  return inputs, targets, weights
