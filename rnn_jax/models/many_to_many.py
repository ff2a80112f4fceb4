"""many-to-many with T_x = T_y (tagging, named-entity recognition).

ŷ⟨t⟩ = g_y(w_ya a⟨t⟩ + b_y) at every valid step, with a⟨t⟩ from any encoder:
a cell, ``bidirectional(...)`` (a⟨t⟩ = [→a⟨t⟩; ←a⟨t⟩]) or ``stacked([...])``.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from rnn_jax.cells import dense, readout_logits
from rnn_jax.layers import Layer, recurrent
from rnn_jax.types import Cell, Model, check_positive_int, check_rank


def many_to_many(encoder: Cell | Layer, input_size: int, hidden_size, output_size: int, *,
                 output: str = "softmax", **unroll_options) -> Model:
  """``apply(params, xs [B, T, D], lengths=None, key=None) -> logits [B, T, V]``.

  Logits are 0 … w_ya·0 + b_y on padded steps; losses mask them with ``lengths``.
  Params: ``{"encoder": ..., "readout": {"w_ya", "b_y"}}``.
  """
  layer = recurrent(encoder) if isinstance(encoder, Cell) else encoder
  d = check_positive_int("input_size", input_size)
  v = check_positive_int("output_size", output_size)
  readout_init, _ = dense(output)

  def init(key, dtype=jnp.float32):
    ke, kr = jax.random.split(key)
    return {"encoder": layer.init(ke, d, hidden_size, dtype),
            "readout": readout_init(kr, layer.output_size(hidden_size), v, dtype)}

  def apply(params, xs, lengths=None, *, key=None):
    check_rank("xs", xs, 3, "[B, T, D]")
    _, ys = layer.apply(params["encoder"], xs, lengths=lengths, key=key, **unroll_options)
    return readout_logits(params["readout"], ys)

  return Model(init, apply)
