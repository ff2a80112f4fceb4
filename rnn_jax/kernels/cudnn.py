"""The LSTM through cuDNN (``jax.experimental.rnn.lstm``), with ``unroll``'s semantics.

cuDNN's LSTM is PyTorch's: gates (i, f, g, o) = our (Γu, Γf, c̃, Γo), two biases b_ih + b_hh
(ours is their sum, so ``b_ih = b_a`` and ``b_hh = 0``), and one flat weight vector holding,
per pseudo-layer (layer l forward, then layer l reverse when bidirectional), W_ih [4H, D] and
W_hh [4H, H] row-major, then all the biases in the same order (``pack``; the layout JAX's
``jax.experimental.rnn`` documents and its ``lstm_ref`` reads).

``cudnn_unroll`` keeps ``unroll``'s padding semantics on top of cuDNN's ``seq_lengths``:
padded inputs are zeroed first (no NaN reaches the kernel), outputs past a length are 0, a
length-0 sequence keeps its initial carry and gets all-zero outputs (cuDNN is given length 1
for it, then that row is replaced), and ``reverse`` reads each sequence backwards within its
own length. The gradient is cuDNN's own backward (the ``custom_vjp`` of
``jax.experimental.rnn.lstm``), flowing to our params through ``pack``.
"""
from __future__ import annotations

import jax.numpy as jnp
from jax.experimental import rnn as jax_rnn

from rnn_jax.recurrence import flip_sequences, mask_inputs


def pack(pseudo_layers) -> jnp.ndarray:
  """The flat cuDNN weight vector of ``[(W_ih, W_hh, b_ih, b_hh), ...]``, one tuple per
  pseudo-layer in cuDNN's order."""
  mats = [m.reshape(-1) for w_ih, w_hh, _, _ in pseudo_layers for m in (w_ih, w_hh)]
  biases = [b for _, _, b_ih, b_hh in pseudo_layers for b in (b_ih, b_hh)]
  return jnp.concatenate(mats + biases)


def lstm_reference(x, h_0, c_0, weights, seq_lengths, input_size, hidden_size, num_layers, dropout,
                   bidirectional):
  """``jax.experimental.rnn.lstm``'s signature on JAX's own reference (``lstm_ref``), which
  runs anywhere: what the tests put in cuDNN's place on a CPU."""
  w_ih, w_hh, b_ih, b_hh = jax_rnn.unpack_lstm_weights(weights, input_size, hidden_size, num_layers,
                                                       bidirectional)
  return jax_rnn.lstm_ref(x, h_0, c_0, w_ih, w_hh, b_ih, b_hh, seq_lengths, input_size, hidden_size,
                          num_layers, dropout, bidirectional)


def padded_lstm(xs,
                c_0,
                a_0,
                weights,
                lengths,
                layers: int = 1,
                bidirectional: bool = False,
                lstm=None):
  """``lstm`` (default ``jax.experimental.rnn.lstm``: cuDNN, a GPU only; or
  ``lstm_reference``) over ``xs [B, T, D]`` from the pseudo-layers' carries ``c_0, a_0 [L·dirs,
  B, H]`` with ``unroll``'s padding semantics: padded inputs zeroed first, outputs past a length
  0, and a length-0 row (given to the kernel as length 1) keeps its initial carries. Returns
  ``(ys [B, T, dirs·H], c_n, a_n)``."""
  lstm = lstm or jax_rnn.lstm
  batch, time, features = xs.shape
  xs, _ = mask_inputs(xs, lengths)
  seq = jnp.full((batch,), time, jnp.int32) if lengths is None else lengths.astype(jnp.int32)
  ys, a_n, c_n = lstm(xs, a_0, c_0, weights, jnp.maximum(seq, 1), features, c_0.shape[-1], layers,
                      0.0, bidirectional)
  valid = jnp.arange(time)[None, :] < seq[:, None]
  ys = jnp.where(valid[:, :, None], ys, jnp.zeros((), ys.dtype))
  empty = (seq == 0)[None, :, None]
  return ys, jnp.where(empty, c_0, c_n), jnp.where(empty, a_0, a_n)


def cudnn_unroll(params, xs, carry, lengths=None, reverse: bool = False, lstm=None):
  """One LSTM layer (``rnn_jax.lstm()``'s params ``w_ax [4H, D]``, ``w_aa [4H, H]``,
  ``b_a [4H]``) over ``xs [B, T, D]`` from ``carry = (c, a)`` (each ``[B, H]``); returns
  ``(final_carry, ys [B, T, H])`` as ``unroll`` does (``padded_lstm``). ``lstm``: the kernel,
  default ``jax.experimental.rnn.lstm`` (cuDNN; a GPU only), or ``lstm_reference``."""
  if reverse:
    xs = flip_sequences(xs, lengths)
  weights = pack([(params["w_ax"], params["w_aa"], params["b_a"], jnp.zeros_like(params["b_a"]))])
  c_0, a_0 = carry
  ys, c_n, a_n = padded_lstm(xs, c_0[None], a_0[None], weights, lengths, lstm=lstm)
  if reverse:
    ys = flip_sequences(ys, lengths)
  return (c_n[0], a_n[0]), ys
