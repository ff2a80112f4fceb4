"""many-to-many with T_x = T_y (tagging, named-entity recognition).

ŷ⟨t⟩ = g_y(w_ya a⟨t⟩ + b_y) at every valid step, with a⟨t⟩ from any encoder:
a cell, ``bidirectional(...)`` (a⟨t⟩ = [→a⟨t⟩; ←a⟨t⟩]) or ``stacked([...])``.
"""
from __future__ import annotations

from rnn_jax.layers import Layer
from rnn_jax.models.common import encoder_readout
from rnn_jax.types import Cell, Model


def many_to_many(encoder: Cell | Layer,
                 input_size: int,
                 hidden_size,
                 output_size: int,
                 *,
                 output: str = "softmax",
                 **unroll_options) -> Model:
  """``apply(params, xs [B, T, D], lengths=None, key=None) -> logits [B, T, V]``.

  Logits are 0 … w_ya·0 + b_y on padded steps; losses mask them with ``lengths``.
  Params: ``{"encoder": ..., "readout": {"w_ya", "b_y"}}``.
  """
  return encoder_readout(encoder, input_size, hidden_size, output_size, output,
                         lambda ys, lengths: ys, unroll_options)
