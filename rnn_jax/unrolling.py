"""The one unroll primitive: a cell lifted over time with ``jax.lax.scan``.

``unroll`` projects the inputs (w_ax x⟨t⟩ + b, before the loop or inside it:
``recurrence.auto_hoist``), then scans the recurrent part of the step, batched
with ``jax.vmap`` of the per-example function; optionally with the closed-form
backward (``rnn_jax.bptt``) and checkpointed chunks (``remat``).

Padding semantics (``lengths`` given): for t ≥ lengths[b] the carry is frozen
and y⟨t⟩ is exactly 0; the final carry is the carry after the last valid step
(the initial carry when the length is 0). Inputs after ``lengths`` are replaced
by zeros before anything touches them, so no garbage (not even NaN) can leak
into outputs, losses or gradients.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from jax.interpreters import ad

from rnn_jax.backends import Backend, choose_backend
from rnn_jax.bptt import closed_form_recurrence, has_closed_form
from rnn_jax.kernels import cudnn_unroll, pallas_recurrence
from rnn_jax.parallel_forms import linear_unroll
from rnn_jax.recurrence import (auto_hoist, broadcast_carry, check_carry, flip_sequences,
                                mask_inputs, scan_recurrence, truncation_keep)
from rnn_jax.types import (Backward, Cell, check_finite, check_lengths, check_positive_int,
                           check_rank, strategy)


def _recurrence(cell,
                params,
                xs_tm,
                carry,
                mask,
                keep,
                unroll,
                backward,
                return_carries,
                hoist,
                backend=Backend.SCAN):
  """The recurrence over a time-major block, projecting before or inside the loop (always
  before it for the Pallas kernel, whose loop reads projections)."""
  hoist = True if backend == Backend.PALLAS else auto_hoist(
      xs_tm.shape[1]) if hoist is None else hoist
  inputs = (
      jax.vmap(jax.vmap(cell.project, (None, 0)), (None, 0))(params, xs_tm) if hoist else xs_tm)
  if backend == Backend.PALLAS:
    final, ys = pallas_recurrence(cell, params, inputs, carry, mask, keep)
    return final, (ys, None)
  if backward == Backward.CLOSED_FORM:
    final, ys = closed_form_recurrence(
        cell, params, inputs, carry, mask, keep, unroll=unroll, in_loop=not hoist)
    return final, (ys, None)
  final, out = scan_recurrence(
      cell,
      params,
      inputs,
      carry,
      mask,
      keep,
      unroll=unroll,
      return_carries=return_carries,
      in_loop=not hoist)
  return final, (out if return_carries else (out, None))


def under_forward_mode(*operands) -> bool:
  """Whether any leaf of ``operands`` carries a forward-mode tangent (``jax.jvp``,
  ``jax.jacfwd``, the outer half of ``jax.hessian``) visible at trace time: a JVP tracer,
  possibly under the linearize tracers of an inner ``jax.grad``."""
  for leaf in jax.tree_util.tree_leaves(operands):
    while isinstance(leaf, jax.core.Tracer):
      if isinstance(leaf, ad.JVPTracer):
        return True
      leaf = getattr(leaf, "primal", None)  # a LinearizeTracer wraps the outer value
  return False


def choose_backward(cell: Cell, backward, *, return_carries: bool = False, operands=()):
  """The backward ``unroll`` runs: ``"autodiff"`` and ``"closed_form"`` as asked; ``"auto"``:
  the closed form when the cell has a rule (``bptt.has_closed_form``: simple_rnn, gru,
  simplified_gru, lstm in float32; not ``mixed_precision`` cells), the carries are not asked
  for, and no forward-mode tangent is visible in ``operands``; autodiff otherwise.

  The closed form is a ``jax.custom_vjp``, which JAX cannot push forward-mode tangents
  through: under ``jax.jvp(jax.jit(f))`` the tangent is hidden inside the jit, so pass
  ``backward="autodiff"`` there.
  """
  backward = strategy(Backward, "backward", backward)
  if backward != Backward.AUTO:
    return backward
  if has_closed_form(cell) and not return_carries and not under_forward_mode(*operands):
    return Backward.CLOSED_FORM
  return Backward.AUTODIFF


def remat_chunk(time: int, remat) -> int | None:
  """Chunk length for ``remat``: None (off), "sqrt" (⌈√T⌉) or an int."""
  if remat is None or remat is False:
    return None
  if remat == "sqrt":
    return max(1, int(-(-time**0.5 // 1)))
  if isinstance(remat, bool) or not isinstance(remat, int) or remat <= 0:
    raise ValueError(f"remat must be None, 'sqrt' or a positive int chunk length, got {remat!r}.")
  return remat


def _chunked(cell, params, xs, carry, lengths, truncate, unroll, backward, chunk, hoist, backend):
  """Checkpointed chunks of ``xs [B, T, D]`` (batch-major, sliced in place): the
  backward keeps one carry per chunk and recomputes each chunk (projection and
  masks included) when needed, so memory grows like T/chunk + chunk (∝ √T for
  chunk = √T) instead of T. Nothing of size T is materialised but the outputs.

  When ``chunk`` does not divide T, the last of the ⌈T/chunk⌉ chunks is the slice
  ending at T, overlapping the one before; its steps already taken are masked as
  frozen (no padded copy of xs, and every chunk runs in the same scan, so one
  recompute buffer serves them all)."""
  batch, time, _ = xs.shape
  chunk = min(chunk, time)
  n, rest = -(-time // chunk), time % chunk
  if lengths is None:
    lengths = jnp.full((batch,), time, jnp.int32)

  @jax.checkpoint
  def body(c, i):
    first = i * chunk  # the first step this chunk owns
    start = jnp.minimum(first, time - chunk)  # the last chunk ends at T
    x = jax.lax.dynamic_slice_in_dim(xs, start, chunk, axis=1)
    t = start + jnp.arange(chunk)
    m = (t[:, None] >= first) & (t[:, None] < lengths[None, :])  # [chunk, B]
    x = jnp.where(jnp.swapaxes(m, 0, 1)[:, :, None], x, jnp.zeros((), x.dtype))
    k = None
    if truncate is not None:  # frozen steps never cut (scan_recurrence)
      k = truncation_keep(chunk, truncate, start).astype(x.dtype)
    c, (ys, _) = _recurrence(cell, params, jnp.swapaxes(x, 0, 1), c, m, k, unroll, backward, False,
                             hoist, backend)
    return c, ys

  final, ys = jax.lax.scan(body, carry, jnp.arange(n))  # ys [n, chunk, B, H]
  if not rest:
    return final, ys.reshape((time,) + ys.shape[2:])
  head = ys[:-1].reshape(((n - 1) * chunk,) + ys.shape[2:])
  return final, jnp.concatenate([head, ys[-1, chunk - rest:]], axis=0)


def unroll(cell: Cell,
           params,
           xs,
           carry=None,
           *,
           lengths=None,
           reverse: bool = False,
           unroll: int = 1,
           return_carries: bool = False,
           truncate: int | None = None,
           backward: Backward | str = Backward.AUTO,
           remat=None,
           hoist: bool | None = None,
           backend: Backend | str = Backend.AUTO):
  """Runs ``cell`` over ``xs [B, T, D]``; returns ``(final_carry, ys [B, T, H])``.

  Args:
    cell: a :class:`Cell`.
    params: the cell's params.
    xs: ``[B, T, D]`` inputs x⟨t⟩.
    carry: initial carry with a leading batch axis (default a⟨0⟩ = 0).
    lengths: ``[B]`` ints in [0, T]; see the module docstring.
    reverse: process each sequence backwards within its own length; outputs
      come back in the original time order.
    unroll: loop unrolling factor of ``lax.scan``.
    return_carries: also return the carry after every step, ``[B, T, ...]``
      (then the result is ``(final_carry, ys, carries)``).
    truncate: k > 0 for truncated BPTT: gradients stop at the carry entering
      steps k, 2k, ... (in processing order). ``k >= T`` is full BPTT.
    backward: ``"autodiff"`` (``jax.grad`` through the scan),
      ``"closed_form"`` (the hand-written recursions of ``rnn_jax.bptt``
      through ``jax.custom_vjp``; weight gradients as one product after the loop; for the
      diagonal linear cells lru, s5, rg_lru, s6 the reverse-time linear scan of
      ``rnn_jax.associative``, run sequentially by ``linear_unroll``), or
      ``"auto"`` (default): the closed form where it applies, autodiff where it does not
      (no rule for the cell, ``return_carries``, forward mode): ``choose_backward``.
      Values and gradients agree to float rounding either way.
    remat: None, "sqrt" or a chunk length c: gradient checkpointing over chunks
      of c steps (nested, memory ∝ T/c + c, i.e. √T for "sqrt"), at the cost of
      one more forward pass. Same values and gradients.
    hoist: compute the input projection w_ax x⟨t⟩ + b for all steps before the
      loop (True) or inside it (False); None picks by backend (``auto_hoist``).
      Same values and gradients either way.
    backend: the loop that runs it (``rnn_jax.backends``): ``"scan"`` (``jax.lax.scan``),
      ``"cudnn"`` (the LSTM through ``jax.experimental.rnn``, on an NVIDIA GPU),
      ``"pallas"`` (the time loop in one Pallas kernel; interpret mode on a CPU) or ``"auto"``
      (default; cuDNN for a plain float32 LSTM at batch ≤ 8 on a GPU when nothing it lacks is
      asked for, scan otherwise). Same padding semantics, values and gradients (to float
      rounding); a backend that cannot serve the request raises a ValueError saying why.
  """
  check_rank("xs", xs, 3, "[B, T, D]")
  backend = choose_backend(
      cell,
      backend,
      batch=xs.shape[0],
      dtype=jnp.result_type(xs),
      params=params,
      truncate=truncate,
      remat=remat,
      return_carries=return_carries,
      backward=backward)
  if backend == Backend.PALLAS and under_forward_mode(params, xs, carry):
    raise ValueError("backend='pallas' has a closed-form backward only (a custom_vjp): forward-"
                     "mode derivatives (jax.jvp, jax.jacfwd) need backend='scan'.")
  backward = choose_backward(
      cell, backward, return_carries=return_carries, operands=(params, xs, carry))
  unroll = check_positive_int("unroll", unroll)
  if truncate is not None:
    truncate = check_positive_int("truncate", truncate)
  if return_carries and (backward == Backward.CLOSED_FORM or remat is not None):
    raise ValueError("return_carries=True needs backward='autodiff' and remat=None.")
  if backward == Backward.CLOSED_FORM and cell.linear is not None:
    if truncate is not None or remat is not None:
      raise ValueError(f"backward='closed_form' for the linear cell {cell.kind!r} takes neither "
                       "truncate nor remat; use backward='autodiff' for those.")
    return linear_unroll(
        cell,
        params,
        xs,
        carry,
        lengths=lengths,
        reverse=reverse,
        method="sequential",
        backward="closed_form")
  batch, time, features = xs.shape
  if cell.prepare is not None:  # e.g. w_aa = expm(A − Aᵀ): once per sequence, not per step
    params = cell.prepare(params)
  w_ax = params.get("w_ax") if isinstance(params, dict) else None
  if w_ax is not None and w_ax.shape[-1] != features:
    raise ValueError(
        f"xs has D={features} features but params['w_ax'] expects input size {w_ax.shape[-1]}.")
  lengths = check_lengths(lengths, batch, time)
  check_finite("xs", xs, lengths)
  dtype = jnp.result_type(xs)
  expected = broadcast_carry(cell, params, batch, dtype)
  if carry is None:
    carry = expected
  else:
    check_carry(carry, expected)

  if backend == Backend.CUDNN:
    return cudnn_unroll(params, xs, carry, lengths, reverse)
  if reverse:
    xs = flip_sequences(xs, lengths)
  chunk = remat_chunk(time, remat)  # validates remat even when T = 0
  chunk = chunk if time else None  # T = 0: nothing to checkpoint
  if chunk is not None:
    final, ys = _chunked(cell, params, xs, carry, lengths, truncate, unroll, backward, chunk, hoist,
                         backend)
    carries = None
  else:
    xs, mask_bt = mask_inputs(xs, lengths)
    mask = None if mask_bt is None else mask_bt.T
    keep = truncation_keep(time, truncate) if truncate is not None else None
    final, (ys, carries) = _recurrence(cell, params, jnp.swapaxes(xs, 0, 1), carry, mask, keep,
                                       unroll, backward, return_carries, hoist, backend)

  ys = jnp.swapaxes(ys, 0, 1)
  if reverse:
    ys = flip_sequences(ys, lengths)
  if not return_carries:
    return final, ys
  carries = jax.tree_util.tree_map(lambda c: jnp.swapaxes(c, 0, 1), carries)
  if reverse:
    carries = jax.tree_util.tree_map(lambda c: flip_sequences(c, lengths), carries)
  return final, ys, carries
