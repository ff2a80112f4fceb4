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
from rnn_jax.models.common import (check_tokens, embed, embed_size_of, init_embedding, token_step)
from rnn_jax.types import Cell, check_choice, check_positive_int, check_rank

BRIDGES = ("identity", "dense")


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
  """Encoder–decoder over token ids (module docstring).

  Args:
    encoder_cells, decoder_cells: one cell per layer of each stack.
    src_vocab, tgt_vocab: vocabulary sizes of x and y.
    encoder_hidden: H of every encoder layer (each direction when bidirectional).
    decoder_hidden: H of every decoder layer (default ``encoder_hidden``).
    bidirectional: the encoder layers read both directions.
    bridge: ``"identity"`` or ``"dense"`` (default: dense for a bidirectional encoder).
    embed_size: learned embeddings of this size, or None for one-hot inputs.
    bos_token: y⟨0⟩, the decoder's first input.
    **unroll_options: passed to every ``unroll`` (backward, truncate, remat, ...).
  """
  encoder_cells, decoder_cells = list(encoder_cells), list(decoder_cells)
  if not encoder_cells or not decoder_cells:
    raise ValueError("seq2seq needs at least one encoder cell and one decoder cell.")
  src_vocab = check_positive_int("src_vocab", src_vocab)
  tgt_vocab = check_positive_int("tgt_vocab", tgt_vocab)
  encoder_hidden = check_positive_int("encoder_hidden", encoder_hidden)
  decoder_hidden = check_positive_int("decoder_hidden", decoder_hidden or encoder_hidden)
  bridge = bridge or ("dense" if bidirectional else "identity")
  check_choice("bridge", bridge, BRIDGES)
  if bridge == "identity":
    _check_identity_bridge(encoder_cells, decoder_cells, encoder_hidden, decoder_hidden,
                           bidirectional)
  encoder = stacked([bidir(c) if bidirectional else c for c in encoder_cells])
  decoder = stacked(decoder_cells)
  src_embed = embed_size_of(embed_size, src_vocab)
  tgt_embed = embed_size_of(embed_size, tgt_vocab)
  context_size = 2 * encoder_hidden if bidirectional else encoder_hidden

  def init(key, dtype=jnp.float32):
    ks = jax.random.split(key, 6)
    params = {
        "src_embedding": init_embedding(ks[0], src_vocab, embed_size, dtype),
        "tgt_embedding": init_embedding(ks[1], tgt_vocab, embed_size, dtype),
        "encoder": encoder.init(ks[2], src_embed, encoder_hidden, dtype),
        "decoder": decoder.init(ks[3], tgt_embed, decoder_hidden, dtype),
        "readout": dense("softmax").init(ks[4], decoder_hidden, tgt_vocab, dtype)
    }
    if bridge == "dense":  # one dense layer per leaf of every decoder carry
      n_leaves = [
          len(jax.tree_util.tree_leaves(c.initial_carry(decoder_hidden))) for c in decoder_cells
      ]
      keys = jax.random.split(ks[5], sum(n_leaves))
      params["bridge"] = [dense().init(k, context_size, decoder_hidden, dtype) for k in keys]
    return params

  def encode(params, src, src_lengths=None):
    """The decoder's initial carries (one per layer) from the source."""
    check_rank("src", src, 2, "[B, T_x]")
    check_tokens("src", src, src_vocab)
    dtype = params["readout"]["w_ya"].dtype
    xs = embed(params["src_embedding"], src, src_vocab, dtype)
    finals, _ = encoder.apply(params["encoder"], xs, lengths=src_lengths, **unroll_options)
    if bridge == "identity":
      return finals
    top = finals[-1]
    context = (
        jnp.concatenate([hidden_of(top[0]), hidden_of(top[1])], axis=-1)
        if bidirectional else hidden_of(top))
    carries = decoder.initial_carry(params["decoder"], src.shape[0], dtype)
    leaves, tree = jax.tree_util.tree_flatten(carries)
    bridged = [jnp.tanh(readout_logits(p, context)) for p, _ in zip(params["bridge"], leaves)]
    return jax.tree_util.tree_unflatten(tree, bridged)

  def apply(params, src, src_lengths, tgt, tgt_lengths=None):
    check_rank("tgt", tgt, 2, "[B, T_y]")
    check_tokens("tgt", tgt, tgt_vocab)
    if tgt.shape[0] != src.shape[0]:
      raise ValueError(f"src and tgt must have the same batch size, got {src.shape[0]} and "
                       f"{tgt.shape[0]}.")
    carries = encode(params, src, src_lengths)
    previous = jnp.concatenate([jnp.full_like(tgt[:, :1], bos_token), tgt[:, :-1]], axis=1)
    xs = embed(params["tgt_embedding"], previous, tgt_vocab, params["readout"]["w_ya"].dtype)
    _, ys = decoder.apply(params["decoder"], xs, carries, lengths=tgt_lengths, **unroll_options)
    return readout_logits(params["readout"], ys)

  def loss(params, src, src_lengths, tgt, tgt_lengths=None):
    logits = apply(params, src, src_lengths, tgt, tgt_lengths)
    return sequence_loss(
        logits, tgt, loss="softmax_cross_entropy", lengths=tgt_lengths, reduction="token_mean")

  def step_fn(params, carries, tokens):
    return token_step(decoder, params["tgt_embedding"], params["decoder"], params["readout"],
                      tokens, tgt_vocab)(
                          carries)

  return Seq2Seq(init, apply, loss, encode, step_fn)


def _check_identity_bridge(encoder_cells, decoder_cells, encoder_hidden, decoder_hidden,
                           bidirectional):
  kinds = lambda cells: [(c.kind, c.initial_carry(1).__class__) for c in cells]
  if (bidirectional or len(encoder_cells) != len(decoder_cells) or
      encoder_hidden != decoder_hidden or kinds(encoder_cells) != kinds(decoder_cells)):
    raise ValueError(
        "bridge='identity' needs a unidirectional encoder with as many layers, the same hidden "
        f"size and the same cell kinds as the decoder; got {len(encoder_cells)} encoder layers "
        f"of {encoder_hidden} ({[c.kind for c in encoder_cells]}, bidirectional={bidirectional}) "
        f"and {len(decoder_cells)} decoder layers of {decoder_hidden} "
        f"({[c.kind for c in decoder_cells]}). Use bridge='dense'.")
