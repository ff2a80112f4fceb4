"""rnn_jax cells inside Flax linen models.

``RNNCell(cell, features)`` is a ``flax.linen.RNNCellBase``: ``nn.RNN(RNNCell(rj.lstm(), 128))``,
``nn.Bidirectional`` and ``seq_lengths`` work as with Flax's own cells. ``Recurrent(cell,
features)`` runs a whole sequence through ``rnn_jax.unroll`` (lengths, the closed-form backward,
remat, reverse). Both keep their params as the plain rnn_jax pytree (``w_ax``, ``w_aa``,
``b_a``, ...), created by the cell's own ``init`` from the module's "params" key, so
``rj.unroll``, ``rj.bptt_grads`` and ``rnn_jax.interop`` apply to ``variables["params"][...]``.

Not imported by ``import rnn_jax`` (it imports flax.linen): ``import rnn_jax.linen``.
"""
from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from rnn_jax.types import Backward, Cell
from rnn_jax.unrolling import unroll


def _cell_params(module: nn.Module, cell: Cell, input_size: int, features: int, dtype):
  """The cell's params as one linen param per leaf name. Each leaf is the same-named leaf of
  ``cell.init`` drawn from that param's own key: the cells draw their leaves independently
  (jointly drawn values, like chrono's b_u = −b_f, sit inside one leaf), so this is the
  cell's own initialisation."""
  init = lambda key: cell.init(key, input_size, features, dtype)
  names = jax.eval_shape(init, jax.random.PRNGKey(0))
  return {name: module.param(name, lambda key, n=name: init(key)[n]) for name in names}


class RNNCell(nn.RNNCellBase):
  """One step of an rnn_jax ``cell`` for any leading batch axes: ``(carry, x [..., D]) ->
  (carry, a⟨t⟩ [..., features])``."""
  cell: Cell
  features: int
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, carry, inputs):
    params = _cell_params(self, self.cell, inputs.shape[-1], self.features, self.param_dtype)
    if self.cell.prepare is not None:
      params = self.cell.prepare(params)
    return self.cell.recur(params, carry, self.cell.project(params, inputs))

  @nn.nowrap
  def initialize_carry(self, rng, input_shape: tuple[int, ...]):
    del rng  # rnn_jax carries start at zeros (a⟨0⟩ = 0)
    carry = self.cell.initial_carry(self.features, self.param_dtype)
    batch_dims = tuple(input_shape[:-1])
    return jax.tree_util.tree_map(lambda c: jnp.broadcast_to(c, batch_dims + c.shape), carry)

  @property
  def num_feature_axes(self) -> int:
    return 1


class Recurrent(nn.Module):
  """A whole sequence ``xs [B, T, D]`` through ``rj.unroll``: returns ``(final_carry, ys)``
  with unroll's padding semantics for ``lengths``."""
  cell: Cell
  features: int
  backward: Backward | str = Backward.AUTO
  reverse: bool = False
  remat: Any = None
  truncate: int | None = None
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, xs, lengths=None, carry=None):
    params = _cell_params(self, self.cell, xs.shape[-1], self.features, self.param_dtype)
    return unroll(
        self.cell,
        params,
        xs,
        carry,
        lengths=lengths,
        reverse=self.reverse,
        backward=self.backward,
        remat=self.remat,
        truncate=self.truncate)
