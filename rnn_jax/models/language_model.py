"""Language model: P(y⟨t⟩ | y⟨1⟩, …, y⟨t−1⟩) = softmax(w_ya a⟨t⟩ + b_y).

x⟨t⟩ = embedding of y⟨t−1⟩ (learned, or one-hot when ``embed_size=None``),
a⟨t⟩ from stacked cells; J = Σ_t −log ŷ⟨t⟩[y⟨t⟩] over valid steps. Sampling novel
sequences feeds each sampled token back as the next input (``rnn_jax.decoding``).
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp

from rnn_jax.cells import dense, readout_logits
from rnn_jax.layers import stacked, variational_dropout
from rnn_jax.losses import sequence_loss
from rnn_jax.models.common import (check_tokens, embed, embed_size_of, init_embedding, token_step)
from rnn_jax.types import Cell, check_positive_int, check_rank


class LanguageModel(NamedTuple):
  """``init(key)``; ``apply(params, tokens [B, T], lengths, carry, key) -> (logits, carries)``;
  ``loss(params, tokens, lengths, key)``: next-token cross-entropy, mean over valid tokens;
  ``log_probs(params, tokens, carry)``: ``[B, T − 1]``, log P(tokens[:, t + 1] | tokens[:, ≤ t]);
  ``initial_state(params, batch)``; ``step_fn(params, state, tokens [B]) -> (state, logits)``."""

  init: Callable
  apply: Callable
  loss: Callable
  initial_state: Callable
  log_probs: Callable
  step_fn: Callable


def language_model(cells: Cell | Sequence[Cell],
                   vocab_size: int,
                   hidden_size: int,
                   *,
                   embed_size: int | None = None,
                   dropout_rate: float = 0.0,
                   **unroll_options) -> LanguageModel:
  cells = [cells] if isinstance(cells, Cell) else list(cells)
  stack = stacked(cells)
  v = check_positive_int("vocab_size", vocab_size)
  h = check_positive_int("hidden_size", hidden_size)
  e = embed_size_of(embed_size, v)
  if not 0.0 <= dropout_rate < 1.0:
    raise ValueError(f"dropout_rate must lie in [0, 1), got {dropout_rate!r}.")

  def init(key, dtype=jnp.float32):
    k1, k2, k3 = jax.random.split(key, 3)
    return {
        "embedding": init_embedding(k1, v, embed_size, dtype),
        "decoder": stack.init(k2, e, h, dtype),
        "readout": dense("softmax").init(k3, h, v, dtype)
    }

  def initial_state(params, batch, dtype=jnp.float32):
    return stack.initial_carry(params["decoder"], batch, dtype)

  def apply(params, tokens, lengths=None, carry=None, *, key=None):
    check_rank("tokens", tokens, 2, "[B, T]")
    check_tokens("tokens", tokens, v)
    dtype = params["readout"]["w_ya"].dtype
    xs = embed(params["embedding"], tokens, v, dtype)
    if key is not None and dropout_rate > 0:
      xs = variational_dropout(key, xs, dropout_rate)
    carry = initial_state(params, tokens.shape[0], dtype) if carry is None else carry
    finals, ys = stack.apply(params["decoder"], xs, carry, lengths=lengths, **unroll_options)
    if key is not None and dropout_rate > 0:
      ys = variational_dropout(jax.random.fold_in(key, 1), ys, dropout_rate)
    return readout_logits(params["readout"], ys), finals

  def loss(params, tokens, lengths=None, *, key=None, carry=None):
    """Predict tokens[:, 1:] from tokens[:, :-1]; ``lengths`` count tokens per row."""
    check_rank("tokens", tokens, 2, "[B, T]")
    if tokens.shape[1] < 2:
      raise ValueError(f"tokens need at least 2 steps for next-token loss, got {tokens.shape}.")
    inner = None if lengths is None else jnp.maximum(jnp.asarray(lengths) - 1, 0)
    logits, _ = apply(params, tokens[:, :-1], inner, carry, key=key)
    return sequence_loss(
        logits, tokens[:, 1:], loss="softmax_cross_entropy", lengths=inner, reduction="token_mean")

  def log_probs(params, tokens, carry=None):
    """``[B, T − 1]``: the natural log of the probability given to each next token (every row
    full length), e.g. to mix with another model's probabilities of the same tokens."""
    check_rank("tokens", tokens, 2, "[B, T]")
    logits, _ = apply(params, tokens[:, :-1], None, carry)
    logp = jax.nn.log_softmax(logits.astype(jnp.float32), axis=-1)
    return jnp.take_along_axis(logp, tokens[:, 1:, None], axis=-1)[..., 0]

  def step_fn(params, state, tokens):
    return token_step(stack, params["embedding"], params["decoder"], params["readout"], tokens, v)(
        state)

  return LanguageModel(init, apply, loss, initial_state, log_probs, step_fn)
