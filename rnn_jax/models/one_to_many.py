"""one-to-many: a vector v → a sequence ŷ⟨1..T_y⟩ (music or text from a seed vector).

v enters as the initial carry, a⟨0⟩ = tanh(w_v v + b_v) (``feed="carry"``), as part of
the input at every step, x⟨t⟩ = [embed(y⟨t−1⟩); v] (``feed="input"``), or both.
The previous output is fed back: the target during training (teacher forcing), the
model's own prediction when generating (``rnn_jax.decoding`` with ``step_fn``).
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp

from rnn_jax.cells import dense, readout_logits
from rnn_jax.layers import stacked
from rnn_jax.losses import sequence_loss
from rnn_jax.models.common import check_tokens, embed, embed_size_of, init_embedding
from rnn_jax.types import Array, Cell, check_choice, check_positive_int, check_rank

FEEDS = ("carry", "input", "both")


class OneToManyState(NamedTuple):
  """The decoder state: one carry per layer and the conditioning vector v ``[B, F]``."""
  carries: list
  v: Array


class OneToMany(NamedTuple):
  """``apply(params, v [B, F], targets [B, T], lengths) -> logits [B, T, V]`` (teacher
  forcing, inputs [bos, y⟨1⟩, …, y⟨T−1⟩]); ``loss(params, v, targets, lengths)``;
  ``initial_state(params, v)`` and ``step_fn`` for greedy decoding / sampling."""

  init: Callable
  apply: Callable
  loss: Callable
  initial_state: Callable
  step_fn: Callable


def one_to_many(cells: Cell | Sequence[Cell],
                vector_size: int,
                vocab_size: int,
                hidden_size: int,
                *,
                feed: str = "both",
                embed_size: int | None = None,
                bos_token: int = 0,
                **unroll_options) -> OneToMany:
  cells = [cells] if isinstance(cells, Cell) else list(cells)
  stack = stacked(cells)
  check_choice("feed", feed, FEEDS)
  f = check_positive_int("vector_size", vector_size)
  v = check_positive_int("vocab_size", vocab_size)
  h = check_positive_int("hidden_size", hidden_size)
  e = embed_size_of(embed_size, v)
  d = e + (f if feed in ("input", "both") else 0)

  def init(key, dtype=jnp.float32):
    k1, k2, k3, k4 = jax.random.split(key, 4)
    params = {
        "embedding": init_embedding(k1, v, embed_size, dtype),
        "decoder": stack.init(k2, d, h, dtype),
        "readout": dense("softmax").init(k3, h, v, dtype)
    }
    if feed in ("carry", "both"):
      params["bridge"] = dense().init(k4, f, h, dtype)  # a dense layer: w_ya/b_y play w_v/b_v
    return params

  def _check_v(vec):
    check_rank("v", vec, 2, "[B, F]")
    if vec.shape[1] != f:
      raise ValueError(f"v must have F={f} features, got {vec.shape[1]}.")

  def initial_state(params, vec):
    _check_v(vec)
    dtype = params["readout"]["w_ya"].dtype
    carries = stack.initial_carry(params["decoder"], vec.shape[0], dtype)
    if feed in ("carry", "both"):
      a0 = jnp.tanh(readout_logits(params["bridge"], vec))
      carries = [
          jax.tree_util.tree_map(lambda leaf: a0, c) if not isinstance(c, tuple) else c[:-1] + (a0,)
          for c in carries
      ]
    return OneToManyState(carries, vec)

  def _inputs(params, tokens, vec):
    x = embed(params["embedding"], tokens, v, params["readout"]["w_ya"].dtype)
    if feed in ("input", "both"):
      vb = jnp.broadcast_to(
          vec.reshape(vec.shape[:1] + (1,) * (x.ndim - 2) + vec.shape[1:]), x.shape[:-1] + (f,))
      x = jnp.concatenate([x, vb], axis=-1)
    return x

  def apply(params, vec, targets, lengths=None):
    check_rank("targets", targets, 2, "[B, T]")
    check_tokens("targets", targets, v)
    state = initial_state(params, vec)
    prev = jnp.concatenate([jnp.full_like(targets[:, :1], bos_token), targets[:, :-1]], axis=1)
    _, ys = stack.apply(
        params["decoder"],
        _inputs(params, prev, vec),
        state.carries,
        lengths=lengths,
        **unroll_options)
    return readout_logits(params["readout"], ys)

  def loss(params, vec, targets, lengths=None):
    return sequence_loss(
        apply(params, vec, targets, lengths),
        targets,
        loss="softmax_cross_entropy",
        lengths=lengths,
        reduction="token_mean")

  def step_fn(params, state, tokens):
    carries, a = stack.step(params["decoder"], state.carries, _inputs(params, tokens, state.v))
    return state._replace(carries=carries), readout_logits(params["readout"], a)

  return OneToMany(init, apply, loss, initial_state, step_fn)
