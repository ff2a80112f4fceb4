"""many-to-one: a sequence x⟨1..T_x⟩ → one vector ŷ (classification, regression).

ŷ = g_y(w_ya · pool(a⟨1..T_x⟩) + b_y), pool ∈ {last valid a⟨T_x⟩, masked mean, masked max}.
"""
from __future__ import annotations

import jax.numpy as jnp

from rnn_jax.layers import Layer
from rnn_jax.models.common import encoder_readout
from rnn_jax.types import Cell, Model, check_choice

POOLINGS = ("last", "mean", "max")


def masked_pool(ys, lengths, pooling: str = "last"):
  """``[B, T, F] -> [B, F]`` over valid steps only (``lengths`` None = all T).

  "last" takes y at t = lengths[b] − 1 (zeros for an empty sequence).
  """
  check_choice("pooling", pooling, POOLINGS)
  batch, time, _ = ys.shape
  if lengths is None:
    lengths = jnp.full((batch,), time, jnp.int32)
  if pooling == "last":
    idx = jnp.clip(lengths - 1, 0, time - 1)[:, None, None]
    last = jnp.take_along_axis(ys, idx, axis=1)[:, 0]
    return jnp.where((lengths > 0)[:, None], last, jnp.zeros((), ys.dtype))
  mask = (jnp.arange(time)[None, :] < lengths[:, None])[:, :, None]
  if pooling == "mean":
    total = jnp.sum(jnp.where(mask, ys, 0.0), axis=1)
    return total / jnp.maximum(lengths, 1)[:, None].astype(ys.dtype)
  pooled = jnp.max(jnp.where(mask, ys, -jnp.inf), axis=1)
  return jnp.where((lengths > 0)[:, None], pooled, jnp.zeros((), ys.dtype))


def many_to_one(encoder: Cell | Layer,
                input_size: int,
                hidden_size,
                output_size: int,
                *,
                pooling: str = "last",
                output: str = "identity",
                **unroll_options) -> Model:
  """Encoder (a cell, or any layer: stacked, bidirectional) + pooling + dense readout.

  ``apply(params, xs [B, T, D], lengths=None, key=None) -> logits [B, V]``
  (pre-activation z; ``output`` names g_y, which ``rnn_jax.readout_logits`` leaves out: apply
  it, e.g. ``jax.nn.softmax``, to get ŷ).
  Params: ``{"encoder": ..., "readout": {"w_ya": [V, F], "b_y": [V]}}``.
  """
  check_choice("pooling", pooling, POOLINGS)
  return encoder_readout(encoder, input_size, hidden_size, output_size, output,
                         lambda ys, lengths: masked_pool(ys, lengths, pooling), unroll_options)
