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
from rnn_jax.layers import bidirectional
from rnn_jax.models.common import check_tokens, embed, embed_size_of, init_embedding
from rnn_jax.losses import sequence_loss
from rnn_jax.types import Cell, check_positive_int, check_rank
from rnn_jax.unrolling import time_mask


class AttentionModel(NamedTuple):
  """``apply(params, src, src_lengths, tgt=None, num_steps=None) -> (logits [B, T_y, V],
  alphas [B, T_y, T_x])``; ``loss(params, src, src_lengths, tgt, tgt_lengths)``;
  ``encode(params, src, src_lengths) -> state``; ``step_fn(params, state, tokens)``;
  ``attend(params, state) -> (alpha, context)``."""

  init: Callable
  apply: Callable
  loss: Callable
  encode: Callable
  step_fn: Callable
  attend: Callable


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
  sv = check_positive_int("src_vocab", src_vocab)
  tv = check_positive_int("tgt_vocab", tgt_vocab)
  ha = check_positive_int("pre_hidden", pre_hidden)
  hs = check_positive_int("post_hidden", post_hidden)
  he = check_positive_int("energy_hidden", energy_hidden)
  pre = bidirectional(pre_cell or lstm())
  post = post_cell or lstm()
  es, et = embed_size_of(embed_size, sv), embed_size_of(embed_size, tv)
  post_in = 2 * ha + (et if feed_previous else 0)

  def init(key, dtype=jnp.float32):
    ks = jax.random.split(key, 7)
    return {
        "src_embedding": init_embedding(ks[0], sv, embed_size, dtype),
        "tgt_embedding": init_embedding(ks[1], tv, embed_size, dtype) if feed_previous else None,
        "pre": pre.init(ks[2], es, ha, dtype),
        "energy": {
            "w_s": dense()[0](ks[3], hs, he, dtype)["w_ya"],
            "w_a": dense()[0](ks[4], 2 * ha, he, dtype)["w_ya"],
            "b": jnp.zeros((he,), dtype),
            "w_e": dense()[0](ks[5], he, 1, dtype)["w_ya"][0],
            "b_e": jnp.zeros((), dtype)
        },
        "post": post.init(ks[6], post_in, hs, dtype),
        "readout": dense("softmax")[0](jax.random.fold_in(key, 9), hs, tv, dtype)
    }

  def encode(params, src, src_lengths=None):
    check_rank("src", src, 2, "[B, T_x]")
    check_tokens("src", src, sv)
    batch, tx = src.shape
    dtype = params["readout"]["w_ya"].dtype
    xs = embed(params["src_embedding"], src, sv, dtype)
    _, ann = pre.apply(params["pre"], xs, lengths=src_lengths)
    lengths = jnp.full((batch,), tx, jnp.int32) if src_lengths is None else src_lengths
    proj = jnp.einsum("bth,eh->bte", ann, params["energy"]["w_a"]) + params["energy"]["b"][None,
                                                                                           None, :]
    carry = jax.tree_util.tree_map(lambda c: jnp.broadcast_to(c, (batch,) + c.shape),
                                   post.initial_carry(hs, dtype))
    return {"carry": carry, "annotations": ann, "proj": proj, "mask": time_mask(lengths, tx)}

  def attend(params, state):
    s = hidden_of(state["carry"])
    en = params["energy"]
    hidden = jnp.tanh(state["proj"] + (s @ en["w_s"].T)[:, None, :])
    e = hidden @ en["w_e"] + en["b_e"]
    e = jnp.where(state["mask"], e, -jnp.inf)
    alpha = jax.nn.softmax(e, axis=-1)
    alpha = jnp.where(state["mask"].any(axis=1, keepdims=True), alpha, 0.0)
    context = jnp.einsum("bt,bth->bh", alpha, state["annotations"])
    return alpha, context

  def _step(params, state, tokens):
    alpha, context = attend(params, state)
    x = context
    if feed_previous:
      x = jnp.concatenate([context, embed(params["tgt_embedding"], tokens, tv, context.dtype)], -1)
    carry, s = jax.vmap(post.step, (None, 0, 0))(params["post"], state["carry"], x)
    return {**state, "carry": carry}, readout_logits(params["readout"], s), alpha

  def step_fn(params, state, tokens):
    state, logits, _ = _step(params, state, tokens)
    return state, logits

  def apply(params, src, src_lengths=None, tgt=None, num_steps=None):
    state = encode(params, src, src_lengths)
    if tgt is None:
      if feed_previous:
        raise ValueError("feed_previous=True needs tgt for teacher forcing; decode with "
                         "rnn_jax.decoding and step_fn instead.")
      if num_steps is None:
        raise ValueError("apply needs tgt or num_steps (T_y).")
      prev = jnp.zeros((src.shape[0], check_positive_int("num_steps", num_steps)), jnp.int32)
    else:
      check_rank("tgt", tgt, 2, "[B, T_y]")
      check_tokens("tgt", tgt, tv)
      prev = jnp.concatenate([jnp.full_like(tgt[:, :1], bos_token), tgt[:, :-1]], axis=1)

    def body(st, tok):
      st, logits, alpha = _step(params, st, tok)
      return st, (logits, alpha)

    _, (logits, alphas) = jax.lax.scan(body, state, prev.T)
    return jnp.swapaxes(logits, 0, 1), jnp.swapaxes(alphas, 0, 1)

  def loss(params, src, src_lengths, tgt, tgt_lengths=None):
    logits, _ = apply(params, src, src_lengths, tgt)
    return sequence_loss(
        logits, tgt, loss="softmax_cross_entropy", lengths=tgt_lengths, reduction="token_mean")

  return AttentionModel(init, apply, loss, encode, step_fn, attend)
