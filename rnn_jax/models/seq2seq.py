"""Encoder–decoder, T_x ≠ T_y (translation; Sutskever et al. 2014, Cho et al. 2014).

The encoder reads x⟨1..T_x⟩; its final state is the context vector that initialises
the decoder. The decoder is a language model conditioned on it: trained with teacher
forcing (inputs [bos, y⟨1⟩, …, y⟨T_y−1⟩]), decoded greedily or by beam search
through ``step_fn`` (``rnn_jax.decoding``).

Bridge from encoder to decoder: ``"identity"`` passes each encoder layer's final carry
to the same decoder layer (needs equal layer counts, hidden sizes and carry kinds);
``"dense"`` sets every decoder carry leaf to tanh(W [→a⟨T_x⟩; ←a⟨1⟩] + b) from the
encoder's final hidden state(s), for bidirectional encoders or differing sizes.
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp

from rnn_jax.cells import dense, hidden_of, readout_logits
from rnn_jax.layers import bidirectional as bidir, stacked
from rnn_jax.losses import sequence_loss
from rnn_jax.models.common import (DecoderStack, check_tokens, embed, embed_size_of, init_embedding,
                                   token_step)
from rnn_jax.types import Cell, check_choice, check_positive_int, check_rank


class Seq2Seq(NamedTuple):
  """``apply(params, src, src_lengths, tgt) -> logits [B, T_y, V]``;
  ``loss(params, src, src_lengths, tgt, tgt_lengths)``; ``encode(params, src, src_lengths)
  -> state``; ``step_fn(params, state, tokens) -> (state, logits)``."""

  init: Callable
  apply: Callable
  loss: Callable
  encode: Callable
  step_fn: Callable


def seq2seq(encoder_cells: Sequence[Cell],
            decoder_cells: Sequence[Cell],
            src_vocab: int,
            tgt_vocab: int,
            *,
            encoder_hidden: int,
            decoder_hidden: int | None = None,
            bidirectional: bool = False,
            bridge: str | None = None,
            embed_size: int | None = None,
            bos_token: int = 0,
            **unroll_options) -> Seq2Seq:
  encoder_cells, decoder_cells = list(encoder_cells), list(decoder_cells)
  if not encoder_cells or not decoder_cells:
    raise ValueError("seq2seq needs at least one encoder cell and one decoder cell.")
  sv = check_positive_int("src_vocab", src_vocab)
  tv = check_positive_int("tgt_vocab", tgt_vocab)
  he = check_positive_int("encoder_hidden", encoder_hidden)
  hd = check_positive_int("decoder_hidden", decoder_hidden or encoder_hidden)
  bridge = bridge or ("dense" if bidirectional else "identity")
  check_choice("bridge", bridge, ("identity", "dense"))
  if bridge == "identity":
    kinds = [(c.kind, c.initial_carry(1).__class__) for c in encoder_cells]
    if (bidirectional or len(encoder_cells) != len(decoder_cells) or he != hd or
        kinds != [(c.kind, c.initial_carry(1).__class__) for c in decoder_cells]):
      raise ValueError(
          "bridge='identity' needs a unidirectional encoder with as many layers, the same hidden "
          f"size and the same cell kinds as the decoder; got {len(encoder_cells)} encoder layers "
          f"of {he} ({[c.kind for c in encoder_cells]}, bidirectional={bidirectional}) and "
          f"{len(decoder_cells)} decoder layers of {hd} ({[c.kind for c in decoder_cells]}). "
          "Use bridge='dense'.")
  layers = [bidir(c) if bidirectional else c for c in encoder_cells]
  encoder = stacked(layers)
  dec = DecoderStack(decoder_cells)
  es, et = embed_size_of(embed_size, sv), embed_size_of(embed_size, tv)
  enc_out = 2 * he if bidirectional else he

  def init(key, dtype=jnp.float32):
    ks = jax.random.split(key, 6)
    params = {
        "src_embedding": init_embedding(ks[0], sv, embed_size, dtype),
        "tgt_embedding": init_embedding(ks[1], tv, embed_size, dtype),
        "encoder": encoder.init(ks[2], es, he, dtype),
        "decoder": dec.init(ks[3], et, hd, dtype),
        "readout": dense("softmax")[0](ks[4], hd, tv, dtype)
    }
    if bridge == "dense":
      n_leaves = [len(jax.tree_util.tree_leaves(c.initial_carry(hd))) for c in decoder_cells]
      keys = jax.random.split(ks[5], sum(n_leaves))
      params["bridge"] = [dense()[0](k, enc_out, hd, dtype) for k in keys]
    return params

  def encode(params, src, src_lengths=None):
    check_rank("src", src, 2, "[B, T_x]")
    check_tokens("src", src, sv)
    dtype = params["readout"]["w_ya"].dtype
    xs = embed(params["src_embedding"], src, sv, dtype)
    finals, _ = encoder.apply(params["encoder"], xs, lengths=src_lengths, **unroll_options)
    if bridge == "identity":
      return finals
    top = finals[-1]
    context = (
        jnp.concatenate([hidden_of(top[0]), hidden_of(top[1])], axis=-1)
        if bidirectional else hidden_of(top))
    carries, i = dec.initial_carry(params["decoder"], src.shape[0], dtype), 0
    out = []
    for carry in carries:
      leaves, tree = jax.tree_util.tree_flatten(carry)
      new = []
      for _ in leaves:
        new.append(jnp.tanh(readout_logits(params["bridge"][i], context)))
        i += 1
      out.append(jax.tree_util.tree_unflatten(tree, new))
    return out

  def apply(params, src, src_lengths, tgt, tgt_lengths=None):
    check_rank("tgt", tgt, 2, "[B, T_y]")
    check_tokens("tgt", tgt, tv)
    if tgt.shape[0] != src.shape[0]:
      raise ValueError(f"src and tgt must have the same batch size, got {src.shape[0]} and "
                       f"{tgt.shape[0]}.")
    state = encode(params, src, src_lengths)
    prev = jnp.concatenate([jnp.full_like(tgt[:, :1], bos_token), tgt[:, :-1]], axis=1)
    xs = embed(params["tgt_embedding"], prev, tv, params["readout"]["w_ya"].dtype)
    _, ys = dec.run(params["decoder"], xs, state, tgt_lengths, **unroll_options)
    return readout_logits(params["readout"], ys)

  def loss(params, src, src_lengths, tgt, tgt_lengths=None):
    logits = apply(params, src, src_lengths, tgt, tgt_lengths)
    return sequence_loss(
        logits, tgt, loss="softmax_cross_entropy", lengths=tgt_lengths, reduction="token_mean")

  def step_fn(params, state, tokens):
    return token_step(dec, params["tgt_embedding"], params["decoder"], params["readout"], tokens,
                      tv)(
                          state)

  return Seq2Seq(init, apply, loss, encode, step_fn)
