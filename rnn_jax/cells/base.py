"""What every cell is built from: initialisers, the product helper, the Cell builder.

Weight matrices keep the seeds' orientation (column vectors): ``w_ax`` is ``[G, D]`` and
``w_aa`` is ``[G, H]``, so ``w_aa @ a⟨t−1⟩`` reads as in the notes (and as PyTorch's
``weight_hh``). Fused matrices stack gate blocks of ``H`` rows in the order documented per
cell. Biases are folded into ``project`` (``w_ax x⟨t⟩ + b``), which ``unroll`` hoists out of
the time loop when that is faster.

A cell's gate code is written ONCE, as ``gates(params, carry, xp) -> (carry, y, residuals)``
for one example or a batch of rows; ``recur`` is its first two outputs, and the closed-form
rules of ``rnn_jax.bptt`` take the residuals from it.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from rnn_jax.types import Cell, Gates, check_positive_int

glorot_uniform = jax.nn.initializers.glorot_uniform()


def recurrent_blocks(key, blocks, hidden, dtype, how="orthogonal"):
  """``blocks`` stacked H×H blocks, each orthogonal (or the identity)."""
  if how == "identity":
    return jnp.tile(jnp.eye(hidden, dtype=dtype), (blocks, 1))
  keys = jax.random.split(key, blocks)
  ortho = jax.nn.initializers.orthogonal()
  return jnp.concatenate([ortho(k, (hidden, hidden), dtype) for k in keys], axis=0)


def gate_init(gates, recurrent_init="orthogonal", bias_fn=None, input_std=None, recurrent=True):
  """init(key, D, H) for a cell with ``gates`` fused blocks of H rows: w_ax Glorot-uniform (or
  N(0, input_std²)), w_aa orthogonal blocks (or identity; none with ``recurrent=False``),
  b_a zeros, then ``bias_fn(params, H, dtype, key)`` for cell-specific biases."""

  def init(key, input_size, hidden_size, dtype=jnp.float32):
    d = check_positive_int("input_size", input_size)
    h = check_positive_int("hidden_size", hidden_size)
    kx, ka = jax.random.split(key)
    if input_std is None:
      w_ax = glorot_uniform(kx, (gates * h, d), dtype)
    else:
      w_ax = jax.random.normal(kx, (gates * h, d), dtype) * jnp.asarray(input_std, dtype)
    params = {"w_ax": w_ax, "b_a": jnp.zeros((gates * h,), dtype)}
    if recurrent:
      params["w_aa"] = recurrent_blocks(ka, gates, h, dtype, recurrent_init)
    if bias_fn is not None:  # its own key: the weights above do not depend on it
      params = bias_fn(params, h, dtype, jax.random.fold_in(key, 2))
    return params

  return init


def zeros_carry(hidden_size, dtype=jnp.float32):
  return jnp.zeros((check_positive_int("hidden_size", hidden_size),), dtype)


def mv(v, w):
  """w @ v for v of shape [..., K] and w [G, K].

  A single vector uses ``w @ v``: on XLA CPU ``v @ w.T`` with a 1-D ``v`` was
  measured 8x slower inside a scan (the transpose is materialised every step).
  Batches use the row-vector form ``v @ wᵀ``.
  """
  return w @ v if v.ndim == 1 else v @ w.T


def rec(params, v, block: str, rows: slice):
  """The recurrent product of the gate rows ``rows`` of w_aa: ``w_aa[rows] @ v`` for one
  example, ``v · w_aa[rows]ᵀ`` for a batch. A loop over many steps may transpose each block
  once beforehand (``with_transposed``, as the closed-form scans do); then the batch product
  reads ``params["w_aa_t/" + block]`` and no slice or transpose is left inside the loop."""
  key = "w_aa_t/" + block
  if v.ndim > 1 and key in params:
    return v @ params[key]
  return mv(v, params["w_aa"][rows])


def with_transposed(params, blocks: dict):
  """``params`` plus ``w_aa_t/<name>`` = w_aa[rows]ᵀ for every ``{name: rows}`` block."""
  return {**params, **{"w_aa_t/" + n: params["w_aa"][rows].T for n, rows in blocks.items()}}


def lead(v, like):
  """A parameter vector ``v [K]`` with leading singleton axes to broadcast against ``like``
  ``[..., K]`` (explicitly: the test suite runs with rank promotion "raise")."""
  return v.reshape((1,) * (like.ndim - 1) + v.shape)


def project(params, x):
  """w_ax x⟨t⟩ + b_a for one example ``[D]`` or a batch of rows ``[..., D]``."""
  z = mv(x, params["w_ax"])
  return z + lead(params["b_a"], z)


def make_cell(kind: str,
              options: dict,
              init,
              initial_carry,
              gates: Gates,
              project_fn=project,
              prepare=None,
              hidden_size=None,
              linear=None) -> Cell:
  """A :class:`Cell` whose ``recur`` and ``step`` are built from its ``gates``."""

  def recur(params, carry, xp):
    carry, y, _ = gates(params, carry, xp)
    return carry, y

  def step(params, carry, x):
    p = params if prepare is None else prepare(params)
    return recur(p, carry, project_fn(p, x))

  return Cell(
      init=init,
      initial_carry=initial_carry,
      step=step,
      project=project_fn,
      recur=recur,
      kind=kind,
      options=tuple(sorted(options.items())),
      hidden_size=hidden_size,
      prepare=prepare,
      gates=gates,
      linear=linear)
