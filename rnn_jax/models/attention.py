"""Attention model of seed 000 (Bahdanau et al. 2015; the date-translation model).

Pre-attention Bi-LSTM over x⟨1..T_x⟩ gives annotations a⟨t'⟩ = [→a⟨t'⟩; ←a⟨t'⟩].
For each output step t, a small dense network scores every annotation against the
post-attention state s⟨t−1⟩:
  e⟨t,t'⟩ = w_e · tanh(W_s s⟨t−1⟩ + W_a a⟨t'⟩ + b) + b_e     (= Dense(tanh) on [s⟨t−1⟩; a⟨t'⟩])
  α⟨t,t'⟩ = exp(e⟨t,t'⟩) / Σ_{t'' < T_x} exp(e⟨t,t''⟩)       (padded t' get exactly 0)
  c⟨t⟩ = Σ_t' α⟨t,t'⟩ a⟨t'⟩
c⟨t⟩ is the input of the post-attention LSTM (with embed(y⟨t−1⟩) beside it when
``feed_previous=True``); ŷ⟨t⟩ = softmax(w_ya s⟨t⟩ + b_y). W_a a⟨t'⟩ is computed once
per sequence, outside the loop over t. The α are returned for plotting.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from rnn_jax.cells import dense, hidden_of, lstm, readout_logits
from rnn_jax.cells.base import glorot_uniform
from rnn_jax.layers import bidirectional, recurrent
from rnn_jax.models.common import check_tokens, embed, embed_size_of, init_embedding
from rnn_jax.losses import sequence_loss
from rnn_jax.recurrence import time_mask
from rnn_jax.types import Array, Carry, Cell, check_positive_int, check_rank


class AttentionState(NamedTuple):
  """The decoder state: the post-attention carry s⟨t−1⟩ (batched) and, fixed for the whole
  output sequence, the annotations a⟨t'⟩ ``[B, T_x, 2H_a]``, their projections W_a a⟨t'⟩ + b
  ``[B, T_x, E]`` and the source mask ``[B, T_x]``."""
  carry: Carry
  annotations: Array
  projected: Array
  mask: Array


class AttentionModel(NamedTuple):
  """``apply(params, src, src_lengths, tgt=None, num_steps=None) -> (logits [B, T_y, V],
  alphas [B, T_y, T_x])``; ``loss(params, src, src_lengths, tgt, tgt_lengths)``;
  ``encode(params, src, src_lengths) -> AttentionState``; ``step_fn(params, state, tokens)
  -> (state, logits)``; ``attend(params, state) -> (alpha, context)``."""

  init: Callable
  apply: Callable
  loss: Callable
  encode: Callable
  step_fn: Callable
  attend: Callable


def init_energy(keys, post_hidden: int, annotation_size: int, energy_hidden: int, dtype):
  """The small dense network that scores s⟨t−1⟩ against a⟨t'⟩: W_s, W_a, w_e Glorot-uniform
  (one key each), b and b_e zeros."""
  k_s, k_a, k_e = keys
  return {
      "w_s": glorot_uniform(k_s, (energy_hidden, post_hidden), dtype),
      "w_a": glorot_uniform(k_a, (energy_hidden, annotation_size), dtype),
      "b": jnp.zeros((energy_hidden,), dtype),
      "w_e": glorot_uniform(k_e, (1, energy_hidden), dtype)[0],
      "b_e": jnp.zeros((), dtype)
  }


def attend(energy, state: AttentionState):
  """α⟨t,·⟩ ``[B, T_x]`` and the context c⟨t⟩ ``[B, 2H_a]`` for the current s⟨t−1⟩.

  e⟨t,t'⟩ = w_e · tanh(W_s s⟨t−1⟩ + W_a a⟨t'⟩ + b) + b_e; padded t' get α = 0 exactly, and a
  source of length 0 gets α = 0 everywhere (so c⟨t⟩ = 0).
  """
  s_prev = hidden_of(state.carry)
  hidden = jnp.tanh(state.projected + (s_prev @ energy["w_s"].T)[:, None, :])
  energies = hidden @ energy["w_e"] + energy["b_e"]
  energies = jnp.where(state.mask, energies, -jnp.inf)
  alpha = jax.nn.softmax(energies, axis=-1)
  alpha = jnp.where(state.mask.any(axis=1, keepdims=True), alpha, 0.0)
  return alpha, jnp.einsum("bt,bth->bh", alpha, state.annotations)


def attention_model(src_vocab: int,
                    tgt_vocab: int,
                    *,
                    pre_hidden: int,
                    post_hidden: int,
                    energy_hidden: int = 10,
                    embed_size: int | None = None,
                    feed_previous: bool = False,
                    pre_cell: Cell | None = None,
                    post_cell: Cell | None = None,
                    bos_token: int = 0) -> AttentionModel:
  """The seeds' attention model (module docstring) over token ids.

  Args:
    src_vocab, tgt_vocab: vocabulary sizes of x and y.
    pre_hidden: H_a of each direction of the pre-attention Bi-LSTM (annotations are 2H_a).
    post_hidden: H_s of the post-attention cell.
    energy_hidden: E, the width of the scoring network.
    embed_size: learned embeddings of this size, or None for one-hot inputs.
    feed_previous: the post-attention cell also reads embed(y⟨t−1⟩) (teacher forcing).
    pre_cell, post_cell: the cells (default LSTMs).
    bos_token: y⟨0⟩, the token before the first output.
  """
  src_vocab = check_positive_int("src_vocab", src_vocab)
  tgt_vocab = check_positive_int("tgt_vocab", tgt_vocab)
  pre_hidden = check_positive_int("pre_hidden", pre_hidden)
  post_hidden = check_positive_int("post_hidden", post_hidden)
  energy_hidden = check_positive_int("energy_hidden", energy_hidden)
  pre = bidirectional(pre_cell or lstm())
  post = recurrent(post_cell or lstm())
  src_embed = embed_size_of(embed_size, src_vocab)
  post_input = 2 * pre_hidden + (embed_size_of(embed_size, tgt_vocab) if feed_previous else 0)

  def init(key, dtype=jnp.float32):
    ks = jax.random.split(key, 7)
    tgt_table = init_embedding(ks[1], tgt_vocab, embed_size, dtype) if feed_previous else None
    return {
        "src_embedding": init_embedding(ks[0], src_vocab, embed_size, dtype),
        "tgt_embedding": tgt_table,
        "pre": pre.init(ks[2], src_embed, pre_hidden, dtype),
        "energy": init_energy(ks[3:6], post_hidden, 2 * pre_hidden, energy_hidden, dtype),
        "post": post.init(ks[6], post_input, post_hidden, dtype),
        "readout": dense("softmax").init(jax.random.fold_in(key, 9), post_hidden, tgt_vocab, dtype)
    }

  def encode(params, src, src_lengths=None) -> AttentionState:
    """Annotations of the source and their projections, computed once per sequence."""
    check_rank("src", src, 2, "[B, T_x]")
    check_tokens("src", src, src_vocab)
    batch, src_time = src.shape
    dtype = params["readout"]["w_ya"].dtype
    xs = embed(params["src_embedding"], src, src_vocab, dtype)
    _, annotations = pre.apply(params["pre"], xs, lengths=src_lengths)
    lengths = jnp.full((batch,), src_time, jnp.int32) if src_lengths is None else src_lengths
    energy = params["energy"]
    projected = jnp.einsum("bth,eh->bte", annotations, energy["w_a"]) + energy["b"][None, None, :]
    return AttentionState(
        post.initial_carry(params["post"], batch, dtype), annotations, projected,
        time_mask(lengths, src_time))

  def decode_step(params, state: AttentionState, tokens):
    """One output step: attend, advance the post-attention cell, logits; also returns α."""
    alpha, context = attend(params["energy"], state)
    x = context
    if feed_previous:
      previous = embed(params["tgt_embedding"], tokens, tgt_vocab, context.dtype)
      x = jnp.concatenate([context, previous], -1)
    carry, s = post.step(params["post"], state.carry, x)
    return state._replace(carry=carry), readout_logits(params["readout"], s), alpha

  def step_fn(params, state, tokens):
    state, logits, _ = decode_step(params, state, tokens)
    return state, logits

  def apply(params, src, src_lengths=None, tgt=None, num_steps=None):
    state = encode(params, src, src_lengths)
    if tgt is None:
      if feed_previous:
        raise ValueError("feed_previous=True needs tgt for teacher forcing; decode with "
                         "rnn_jax.decoding and step_fn instead.")
      if num_steps is None:
        raise ValueError("apply needs tgt or num_steps (T_y).")
      previous = jnp.zeros((src.shape[0], check_positive_int("num_steps", num_steps)), jnp.int32)
    else:
      check_rank("tgt", tgt, 2, "[B, T_y]")
      check_tokens("tgt", tgt, tgt_vocab)
      previous = jnp.concatenate([jnp.full_like(tgt[:, :1], bos_token), tgt[:, :-1]], axis=1)

    def body(st, tok):
      st, logits, alpha = decode_step(params, st, tok)
      return st, (logits, alpha)

    _, (logits, alphas) = jax.lax.scan(body, state, previous.T)
    return jnp.swapaxes(logits, 0, 1), jnp.swapaxes(alphas, 0, 1)

  def loss(params, src, src_lengths, tgt, tgt_lengths=None):
    logits, _ = apply(params, src, src_lengths, tgt)
    return sequence_loss(
        logits, tgt, loss="softmax_cross_entropy", lengths=tgt_lengths, reduction="token_mean")

  return AttentionModel(init, apply, loss, encode, step_fn,
                        lambda params, state: attend(params["energy"], state))
