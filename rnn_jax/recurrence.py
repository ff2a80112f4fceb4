"""The bottom of the recurrence stack: masks, carries over a batch, truncation, the scan.

Everything that runs a cell over time builds on these: ``unroll`` (sequential), the
closed-form rules' scans (``rnn_jax.bptt``), the parallel-in-time paths and the models.

Padding semantics (``lengths`` given): for t ≥ lengths[b] the carry is frozen
and y⟨t⟩ is exactly 0; inputs after ``lengths`` are replaced by zeros before
anything touches them (``mask_inputs``), so no garbage (not even NaN) can leak.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from rnn_jax.types import Cell


def time_mask(lengths, time: int):
  """``[B, T]`` bool: True where t < lengths[b]."""
  return jnp.arange(time)[None, :] < lengths[:, None]


def mask_inputs(xs, lengths):
  """``(xs with zeros after each length, [B, T] mask)``; ``(xs, None)`` without lengths."""
  if lengths is None:
    return xs, None
  mask = time_mask(lengths, xs.shape[1])
  return jnp.where(rows(mask, xs), xs, jnp.zeros((), xs.dtype)), mask


def rows(m, like):
  """A condition ``m`` ([B], [B, T], ...) shaped to broadcast against ``like`` by
  trailing singleton axes (explicit, so rank promotion can stay "raise")."""
  return m.reshape(m.shape + (1,) * (like.ndim - m.ndim))


def where_rows(m, a, b):
  """Per-row select: ``m`` has the leading axes of ``a`` and ``b``."""
  return jnp.where(rows(m, a), a, b)


def flip_sequences(xs, lengths=None):
  """Reverses each sequence of ``xs [B, T, ...]`` within its own length.

  Padding stays at the end: ``x[b, :L]`` becomes ``x[b, L-1::-1]`` and
  ``x[b, L:]`` is unchanged. Its own inverse. ``lengths=None`` flips all of T.
  """
  if lengths is None:
    return jnp.flip(xs, axis=1)
  time = xs.shape[1]
  t = jnp.arange(time)[None, :]
  idx = jnp.where(t < lengths[:, None], lengths[:, None] - 1 - t, t)
  return jnp.take_along_axis(xs, rows(idx, xs), axis=1)


def batch_carry(carry, batch: int):
  """One example's carry repeated over a leading batch axis."""
  return jax.tree_util.tree_map(lambda c: jnp.broadcast_to(c, (batch,) + c.shape), carry)


def broadcast_carry(cell: Cell, params, batch: int, dtype):
  """The cell's zero initial carry for a batch: ``[B, ...]`` leaves."""
  return batch_carry(cell.initial_carry(cell.hidden_of_params(params), dtype), batch)


def check_carry(carry, expected):
  got = jax.tree_util.tree_map(jnp.shape, carry)
  want = jax.tree_util.tree_map(jnp.shape, expected)
  if jax.tree_util.tree_structure(carry) != jax.tree_util.tree_structure(expected) or got != want:
    raise ValueError(f"carry must have shapes {want} (batch-major), got {got}.")


def recurrent_params(params):
  """The leaves the recurrent part of a step reads (all but w_ax and b_a)."""
  return {k: v for k, v in params.items() if k not in ("w_ax", "b_a")}


def truncation_keep(time: int, truncate, start=0):
  """``[T]`` floats: 0 where the carry entering step t (counted from ``start``) is cut
  (t = k, 2k, ...)."""
  t = start + jnp.arange(time)
  return jnp.where((t > 0) & (t % truncate == 0), 0.0, 1.0)


def masked_recur(cell: Cell):
  """Per-example recur with an optional scalar mask m (carry frozen, y = 0)."""

  def f(params, carry, xp, m=None):
    new, y = cell.recur(params, carry, xp)
    if m is None:
      return new, y
    new = jax.tree_util.tree_map(lambda n, o: jnp.where(m, n, o), new, carry)
    return new, jnp.where(m, y, jnp.zeros_like(y))

  return f


def cut_where(keep, mask, carry):
  """Truncation: ``stop_gradient`` on the rows of ``carry`` where ``keep`` is 0 and the step
  is valid (a frozen step never cuts: padding must not change gradients)."""
  cut = (keep == 0) if mask is None else ((keep == 0) & mask)
  return jax.tree_util.tree_map(lambda v: jnp.where(rows(cut, v), jax.lax.stop_gradient(v), v),
                                carry)


def scan_recurrence(cell: Cell,
                    params,
                    inputs,
                    carry,
                    mask=None,
                    keep=None,
                    *,
                    unroll: int = 1,
                    return_carries: bool = False,
                    in_loop: bool = False):
  """Scans the recurrent part over time-major inputs.

  ``inputs`` are the projections ``xp [T, B, G]``, or with ``in_loop=True`` the
  raw ``xs [T, B, D]`` projected inside the loop. ``mask [T, B]`` bool freezes
  padded steps; ``keep [T]`` (truncation) cuts the carry entering step t where it
  is 0 (``cut_where``). Returns ``(final_carry, ys [T, B, H])`` or, with
  ``return_carries``, also the carry after every step.
  """
  recur = jax.vmap(masked_recur(cell), in_axes=(None, 0, 0, 0 if mask is not None else None))
  project = jax.vmap(cell.project, (None, 0))

  def body(c, inp):
    x_t, m_t, k_t = inp
    if k_t is not None:
      c = cut_where(k_t, m_t, c)
    c, y = recur(params, c, project(params, x_t) if in_loop else x_t, m_t)
    return c, ((y, c) if return_carries else y)

  return jax.lax.scan(body, carry, (inputs, mask, keep), unroll=unroll)


def auto_hoist(batch: int) -> bool:
  """Whether to hoist w_ax x⟨t⟩ + b out of the loop by default (the one place that
  resolves ``hoist=None``).

  Measured on a 2-core CPU (BUILD_NOTES.md): at B=32, H=256 one big projection
  before the loop made the LSTM forward ~1.5x SLOWER than projecting inside it;
  at B=1, T=1000 hoisting was ~1.4x FASTER (each step's work is tiny, so the loop
  should carry as little as possible). Accelerators always hoist.
  """
  return jax.default_backend() != "cpu" or batch <= 8
