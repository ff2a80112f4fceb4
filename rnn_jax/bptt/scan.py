"""The closed-form scans: forward keeping residuals, the reverse scan of carry and gate
cotangents, and ``closed_form_recurrence`` (the ``jax.custom_vjp`` that ``unroll`` uses).

Only carry and gate cotangents flow through the reverse ``lax.scan``; weight gradients are
one product after the loop. Both loops are written as bodies ``body(consts, carry, x)`` run by a
``loop(body, consts, carry, xs, reverse)``: ``lax_loop`` (``jax.lax.scan``) by default, or
``rnn_jax.kernels.pallas_loop`` (the whole time loop inside one Pallas kernel).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from rnn_jax.bptt.rules import Rule, outer, rule_for
from rnn_jax.cells import project
from rnn_jax.recurrence import recurrent_params, scan_recurrence, where_rows
from rnn_jax.types import Cell


def _add_to_hidden(d_carry, dy):
  if isinstance(d_carry, tuple):
    return d_carry[:-1] + (d_carry[-1] + dy,)
  return d_carry + dy


def lax_loop(unroll: int = 1):
  """``loop(body, consts, carry, xs, reverse) -> (final, ys)``: ``jax.lax.scan`` of
  ``body(consts, carry, x)``."""

  def loop(body, consts, carry, xs, reverse=False):
    return jax.lax.scan(lambda c, x: body(consts, c, x), carry, xs, reverse=reverse, unroll=unroll)

  return loop


def forward_with_residuals(cell: Cell,
                           rule: Rule,
                           params,
                           inputs,
                           carry,
                           mask=None,
                           unroll: int = 1,
                           in_loop: bool = False,
                           loop=None):
  """Forward scan of ``cell.gates`` that keeps what the backward needs. Time-major inputs:
  the projections ``xp``, or with ``in_loop`` the raw ``xs`` (projected per step)."""

  def body(consts, c, inp):
    prepared, raw = consts
    x, m = inp
    if in_loop:
      x = project(raw, x)
    new, y, res = cell.gates(prepared, c, x)
    if m is not None:
      new = jax.tree_util.tree_map(lambda n, o: where_rows(m, n, o), new, c)
      y = where_rows(m, y, jnp.zeros_like(y))
    return new, (y, c, rule.saved(res))

  loop = loop or lax_loop(unroll)
  consts = (rule.prepare(params), params if in_loop else None)
  final, (ys, carries_prev, res) = loop(body, consts, carry, (inputs, mask))
  return final, ys, (carries_prev, res)


def backward_scan(rule: Rule,
                  params,
                  saved,
                  d_final,
                  d_ys,
                  mask=None,
                  keep=None,
                  unroll: int = 1,
                  loop=None):
  """Reverse scan of carry/gate cotangents; weight gradients after the loop. ``keep`` is
  ``[T]`` or ``[T, B]``.

  Returns ``(d_rec_params, d_xp [T, B, G], d_carry0)``.
  """
  carries_prev, res = saved

  def body(prepared, d_c, inp):
    c_prev, r, dy, m, k = inp
    d_new = _add_to_hidden(d_c, dy)
    if m is not None:
      d_new = jax.tree_util.tree_map(lambda d: where_rows(m, d, jnp.zeros_like(d)), d_new)
    d_prev, d_xp, d_rec = rule.bwd(prepared, c_prev, r, d_new)
    if m is not None:  # a frozen step passes the carry cotangent straight through
      d_prev = jax.tree_util.tree_map(lambda a, d: a + where_rows(m, jnp.zeros_like(d), d), d_prev,
                                      d_c)
    if k is not None:  # truncation cuts only at valid steps (see recurrence.cut_where)
      cut = (k == 0) if m is None else ((k == 0) & m)
      d_prev = jax.tree_util.tree_map(
          lambda d: where_rows(cut, jnp.zeros_like(d), d)
          if cut.ndim else jnp.where(cut, 0.0, d).astype(d.dtype), d_prev)
    # most rules' d_rec IS d_xp: stack it once (a second [T, B, G] buffer written every step
    # cost ~5% of the step at the primary shape)
    return d_prev, (d_xp, None if d_rec is d_xp else d_rec)

  loop = loop or lax_loop(unroll)
  d_carry0, (d_xp, d_rec) = loop(
      body, rule.prepare(params), d_final, (carries_prev, res, d_ys, mask, keep), reverse=True)
  d_rec = d_xp if d_rec is None else d_rec
  return rule.grads(params, carries_prev, res, d_rec), d_xp, d_carry0


def closed_form_recurrence(cell: Cell,
                           params,
                           inputs,
                           carry,
                           mask=None,
                           keep=None,
                           *,
                           unroll: int = 1,
                           in_loop: bool = False,
                           loop=None):
  """``scan_recurrence`` whose VJP is the closed-form backward (``jax.custom_vjp``).

  ``inputs`` are the hoisted projections ``xp [T, B, G]`` (then only the
  recurrent params get gradients here; autodiff of the hoisted projection does
  the rest), or with ``in_loop`` the raw ``xs [T, B, D]``, projected inside the
  loop; then ∂w_ax, ∂b_a and ∂xs are formed here, each as one product after the
  loop (XLA drops ∂xs when nothing uses it). ``loop`` (default ``jax.lax.scan``) runs both the
  forward and the reverse loop; ``keep`` may then be ``[T, B]``.
  """
  rule = rule_for(cell)
  rec_names = tuple(recurrent_params(params))
  params = params if in_loop else recurrent_params(params)

  @jax.custom_vjp
  def run(params, inputs, carry, mask, keep):
    if loop is not None:
      return forward_with_residuals(cell, rule, params, inputs, carry, mask, loop=loop)[:2]
    return scan_recurrence(cell, params, inputs, carry, mask, None, unroll=unroll, in_loop=in_loop)

  def run_fwd(params, inputs, carry, mask, keep):
    final, ys, saved = forward_with_residuals(
        cell, rule, params, inputs, carry, mask, unroll, in_loop=in_loop, loop=loop)
    return (final, ys), (params, inputs, saved, mask, keep)

  def run_bwd(residuals, cts):
    params, inputs, saved, mask, keep = residuals
    d_final, d_ys = cts
    rec = {k: params[k] for k in rec_names}
    d_rec, d_xp, d_carry0 = backward_scan(rule, rec, saved, d_final, d_ys, mask, keep, unroll, loop)
    d_params = {k: d_rec.get(k, jnp.zeros_like(params[k])) for k in rec_names}
    if in_loop:
      d_params["w_ax"] = outer(d_xp, inputs)
      d_params["b_a"] = d_xp.sum((0, 1))
      d_inputs = jnp.einsum("tbg,gd->tbd", d_xp, params["w_ax"])
    else:
      d_inputs = d_xp
    none_like = lambda t: None if t is None else jnp.zeros_like(t)
    return d_params, d_inputs, d_carry0, none_like(mask), none_like(keep)

  run.defvjp(run_fwd, run_bwd)
  return run(params, inputs, carry, mask, keep)
