"""Whole sequences of the linear recurrences at once: what ``unroll`` computes step by step.

``linear_unroll`` — LRU, S5, RG-LRU and S6 (``Cell.linear``): project every x⟨t⟩, compute
a⟨t⟩ and b⟨t⟩ for all t, solve s⟨t⟩ = a⟨t⟩ ⊙ s⟨t−1⟩ + b⟨t⟩ with ``associative.linear_scan``
(parallel or sequential, autodiff or the closed-form backward), then emit every y⟨t⟩.

``mlstm_unroll`` — the mLSTM in parallel form (Beck et al. 2024, §2.3 and appendix): with
F⟨t⟩ = Σ_{j≤t} log f⟨j⟩, the memory read at t weighs step s ≤ t by
  D⟨t,s⟩ = exp(F⟨t⟩ − F⟨s⟩ + ĩ⟨s⟩ − m⟨t⟩)   and the initial memory by exp(F⟨t⟩ + m⟨0⟩ − m⟨t⟩),
  m⟨t⟩ = max(max_s F⟨t⟩ − F⟨s⟩ + ĩ⟨s⟩, F⟨t⟩ + m⟨0⟩)
(which is the sequential stabiliser unrolled), so
  h̃⟨t⟩ = Σ_s D⟨t,s⟩ (q⟨t⟩·k⟨s⟩) v⟨s⟩ + w⟨t⟩ qᵀC⟨0⟩, over max(|Σ_s D⟨t,s⟩ q⟨t⟩·k⟨s⟩ + w⟨t⟩ qᵀn⟨0⟩|,
  exp(−m⟨t⟩)). With ``chunk=L`` the sequence is cut into chunks of L steps: each chunk is one
such parallel block whose initial memory is the previous chunk's final (C, n, m), carried by a
``lax.scan``: memory O(L²) per chunk instead of O(T²).

Padding semantics are unroll's (module ``rnn_jax.recurrence``): padded steps are given a = 1,
b = 0 (log f = 0, ĩ = −∞ for the mLSTM), so the state is frozen; their outputs are 0, and the
final carry is the carry after each sequence's last valid step.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from rnn_jax.associative import linear_scan
from rnn_jax.cells.xlstm import M_EMPTY, mlstm_readout, mlstm_split
from rnn_jax.recurrence import (broadcast_carry, check_carry, flip_sequences, mask_inputs, rows,
                                where_rows)
from rnn_jax.types import (Cell, check_finite, check_lengths, check_positive_int, check_rank)


def _prepare(cell, params, xs, carry, lengths, reverse):
  check_rank("xs", xs, 3, "[B, T, D]")
  batch, time, _ = xs.shape
  lengths = check_lengths(lengths, batch, time)
  check_finite("xs", xs, lengths)
  expected = broadcast_carry(cell, params, batch, jnp.result_type(xs))
  if carry is None:
    carry = expected
  else:
    check_carry(carry, expected)
  if reverse:
    xs = flip_sequences(xs, lengths)
  xs, mask = mask_inputs(xs, lengths)
  xp = jax.vmap(jax.vmap(cell.project, (None, 0)), (None, 0))(params, xs)
  return xp, carry, mask, lengths


def _finish(carries, ys, carry, mask, lengths, reverse):
  """(final carry at each sequence's last valid step, ys zeroed after it, flipped back)."""
  time = ys.shape[1]
  if not time:
    return carry, ys
  if lengths is None:
    final = jax.tree_util.tree_map(lambda c: c[:, -1], carries)
  else:
    last = jnp.maximum(lengths - 1, 0)

    def pick(c, c0):
      got = jnp.take_along_axis(c, last.reshape((-1,) + (1,) * (c.ndim - 1)), axis=1)[:, 0]
      return where_rows(lengths > 0, got, c0)

    final = jax.tree_util.tree_map(pick, carries, carry)
    ys = jnp.where(rows(mask, ys), ys, jnp.zeros((), ys.dtype))
  if reverse and time:
    ys = flip_sequences(ys, lengths)
  return final, ys


def linear_unroll(cell: Cell,
                  params,
                  xs,
                  carry=None,
                  *,
                  lengths=None,
                  reverse: bool = False,
                  method: str = "parallel",
                  backward: str = "autodiff"):
  """``unroll`` for a cell with a linear form (lru, s5, rg_lru, s6): ``(final_carry, ys [B, T,
  H])``, the same values as ``rnn_jax.unroll`` (padding semantics included). ``method``:
  "parallel" (associative scan, O(log T) depth) or "sequential"; ``backward``: "autodiff" or
  "closed_form" (``rnn_jax.associative``)."""
  if cell.linear is None:
    raise ValueError(f"linear_unroll needs a cell with a linear form (lru, s5, rg_lru, s6); "
                     f"cell {cell.kind!r} has none: use rnn_jax.unroll.")
  xp, carry, mask, lengths = _prepare(cell, params, xs, carry, lengths, reverse)
  form = cell.linear
  a, b = form.coefficients(params, xp)  # [B, T, ...state]
  if mask is not None:
    a = jnp.where(rows(mask, a), a, jnp.ones((), a.dtype))
    b = jnp.where(rows(mask, b), b, jnp.zeros((), b.dtype))
  s0 = form.state_of(carry)
  s = jax.vmap(lambda ai, bi, hi: linear_scan(ai, bi, hi, method=method, backward=backward))(a, b,
                                                                                             s0)
  carries, ys = form.emit(params, s, xp)
  return _finish(carries, ys, carry, mask, lengths, reverse)


def _mlstm_block(q, k, v, i_t, log_f, valid, state):
  """One parallel block: inputs [B, L, heads, (d)], state (C, n, m) → (num, den, m, state)."""
  c0, n0, m0 = state
  big_f = jnp.cumsum(log_f, axis=1)  # [B, L, heads]
  log_d = big_f[:, :, None, :] - big_f[:, None, :, :] + i_t[:, None, :, :]  # [B, t, s, heads]
  length = q.shape[1]
  keep = jnp.tril(jnp.ones((length, length), bool))[None, :, :, None] & valid[:, None, :, None]
  log_d = jnp.where(keep, log_d, M_EMPTY)
  log_0 = big_f + m0[:, None, :]
  m = jnp.maximum(jnp.max(log_d, axis=2), log_0)  # [B, L, heads]: the sequential m⟨t⟩
  w = jnp.where(keep, jnp.exp(log_d - m[:, :, None, :]), 0.0)
  w0 = jnp.exp(log_0 - m)
  qk = jnp.einsum("bthd,bshd->btsh", q, k) * w
  num = jnp.einsum("btsh,bshd->bthd", qk, v) + w0[..., None] * jnp.einsum("bthk,bhkv->bthv", q, c0)
  den = jnp.sum(qk, axis=2) + w0 * jnp.einsum("bthk,bhk->bth", q, n0)
  m_end = m[:, -1]
  w_end = jnp.where(valid[..., None], jnp.exp(big_f[:, -1:] - big_f + i_t - m_end[:, None]), 0.0)
  w0_end = jnp.exp(big_f[:, -1] + m0 - m_end)
  c_end = (jnp.einsum("bsh,bshk,bshv->bhkv", w_end, k, v) + w0_end[..., None, None] * c0)
  n_end = jnp.einsum("bsh,bshk->bhk", w_end, k) + w0_end[..., None] * n0
  return num, den, m, (c_end, n_end, m_end)


def mlstm_unroll(cell: Cell,
                 params,
                 xs,
                 carry=None,
                 *,
                 lengths=None,
                 reverse: bool = False,
                 chunk: int | None = None):
  """``unroll`` for the mLSTM in parallel form (``chunk=None``) or chunkwise (``chunk=L``):
  ``(final_carry, ys [B, T, H])``, the same values as ``rnn_jax.unroll``. A chunk length that
  does not divide T is fine (the last chunk is padded with frozen steps)."""
  if cell.kind != "mlstm":
    raise ValueError(f"mlstm_unroll needs the mlstm cell, got {cell.kind!r}.")
  xp, carry, mask, lengths = _prepare(cell, params, xs, carry, lengths, reverse)
  heads = cell.option("heads")
  q, k, v, o, i_t, f_t = mlstm_split(xp, heads)
  batch, time = xp.shape[:2]
  valid = jnp.ones((batch, time), bool) if mask is None else mask
  log_f = jnp.where(valid[..., None], -jax.nn.softplus(-f_t), 0.0)
  i_t = jnp.where(valid[..., None], i_t, M_EMPTY)
  length = time if chunk is None else min(check_positive_int("chunk", chunk), max(time, 1))
  pad = -time % length if length else 0
  blocks = [q, k, v, i_t, log_f, valid]
  if pad:
    fill = [0.0, 0.0, 0.0, M_EMPTY, 0.0, False]
    blocks = [
        jnp.concatenate([x, jnp.full((batch, pad) + x.shape[2:], f, x.dtype)], axis=1)
        for x, f in zip(blocks, fill)
    ]
  n_chunks = (time + pad) // length if length else 0
  split = lambda x: jnp.swapaxes(x.reshape((batch, n_chunks, length) + x.shape[2:]), 0, 1)

  def body(state, inputs):
    num, den, m, state = _mlstm_block(*inputs, state)
    return state, (num, den, m)

  state = carry[:3]
  if n_chunks:
    state, (num, den, m) = jax.lax.scan(body, state, [split(x) for x in blocks])
    merge = lambda x: jnp.swapaxes(x, 0, 1).reshape((batch, n_chunks * length) + x.shape[3:])
    num, den, m = (merge(x)[:, :time] for x in (num, den, m))
    m = jnp.where(valid[..., None], m, 0.0)  # padded rows: a finite stabiliser (outputs are 0)
    ys = mlstm_readout(q, o, num, den, m)
  else:
    ys = jnp.zeros((batch, 0, carry[3].shape[-1]), xp.dtype)
  (h_final,), ys = _finish((ys,), ys, (carry[3],), mask, lengths, reverse)
  return tuple(state) + (h_final,), ys
