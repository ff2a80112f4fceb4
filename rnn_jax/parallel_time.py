"""Parallel-in-time recurrences: work O(T) spread over O(log T) depth.

1. minGRU and minLSTM (``rnn_jax.cells.minimal``): a⟨t⟩ = α⟨t⟩ ⊙ a⟨t−1⟩ + β⟨t⟩ is linear
   in a⟨t−1⟩, so the whole sequence is one ``lax.associative_scan``, here in log space
   for stability (``associative_unroll``).

2. DEER (Lim et al. 2024) for any cell: Newton's method on the whole trajectory.
   Linearising s⟨t⟩ = f(s⟨t−1⟩, x⟨t⟩) around the current guess gives the linear
   recurrence s⟨t⟩ = J⟨t⟩ s⟨t−1⟩ + c⟨t⟩, solved by an associative scan over affine
   maps; iterate to convergence (at most T iterations, usually far fewer).
   quasi-DEER (Gonzalez et al. 2024) keeps only diag J⟨t⟩: O(S) per step, more
   iterations. Gradients use the same idea backwards: the adjoint recurrence
   λ⟨t⟩ = g⟨t⟩ + J⟨t+1⟩ᵀ λ⟨t+1⟩ is linear and also solved by an associative scan.

Both paths trace their matrix products at float32 "highest" precision
(``jax.default_matmul_precision``): on GPUs and TPUs JAX's default runs float32 products
with reduced-precision passes (TF32 on an H200), and a Newton update computed that way
changes the state by ~1e-3 of its size at every iteration, so DEER's stopping rule never
fires and it runs all T iterations (measured: 940 iterations at T = 1024 on an H200).

On a 2-core CPU a sequential scan is faster; on a GPU the associative scan wins from
T ≈ 10³ on (see BUILD_NOTES.md for measurements).
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from rnn_jax.cells.minimal import MIN_CELLS, log_coefficients
from rnn_jax.recurrence import broadcast_carry, mask_inputs
from rnn_jax.types import Cell, check_choice, check_lengths, check_positive_int, check_rank

_FLOOR = -1e30  # log of "nothing": exp() underflows to 0 with finite gradients


def _highest(fn):
  """``fn`` traced with float32 matrix products at full precision (see the module doc)."""

  @functools.wraps(fn)
  def wrapped(*args, **kwargs):
    with jax.default_matmul_precision("highest"):
      return fn(*args, **kwargs)

  return wrapped


def _prepare(cell, params, xs, carry, lengths):
  check_rank("xs", xs, 3, "[B, T, D]")
  batch, time, _ = xs.shape
  lengths = check_lengths(lengths, batch, time)
  h = cell.hidden_of_params(params)
  if carry is None:
    carry = broadcast_carry(cell, params, batch, xs.dtype)
  xs, mask = mask_inputs(xs, lengths)
  return xs, carry, mask, h


@_highest
def associative_unroll(cell: Cell, params, xs, carry=None, *, lengths=None):
  """``unroll`` for minGRU/minLSTM by a log-space ``lax.associative_scan`` over time.

  Same results as the sequential ``unroll`` (padding semantics included):
  a⟨t⟩ = (Π_{k≤t} α⟨k⟩) a⟨0⟩ + exp(logcumsumexp-style scan of log β).
  """
  check_choice("cell", cell.kind, MIN_CELLS)
  xs, carry, mask, h = _prepare(cell, params, xs, carry, lengths)
  xp = jax.vmap(jax.vmap(cell.project, (None, 0)), (None, 0))(params, xs)
  log_a, log_b = log_coefficients(cell.kind, xp, h)
  if mask is not None:  # padded steps: α = 1, β = 0, so the carry is frozen
    m = mask[:, :, None]
    log_a = jnp.where(m, log_a, 0.0)
    log_b = jnp.where(m, log_b, _FLOOR)

  def combine(first, second):
    a1, b1 = first
    a2, b2 = second
    return a1 + a2, jnp.logaddexp(b1 + a2, b2)

  cum_a, acc = jax.lax.associative_scan(combine, (log_a, log_b), axis=1)
  ys = jnp.exp(cum_a) * carry[:, None, :] + jnp.exp(acc)
  final = ys[:, -1]
  if mask is not None:
    ys = jnp.where(mask[:, :, None], ys, 0.0)
  return final, ys


# ----------------------------------------------------------------------- DEER
def _affine_scan(jacs, consts, s0, diagonal):
  """s⟨t⟩ = J⟨t⟩ s⟨t−1⟩ + c⟨t⟩ for t = 1..T from s⟨0⟩ = s0, by associative scan."""

  def combine(first, second):
    j1, c1 = first
    j2, c2 = second
    if diagonal:
      return j2 * j1, j2 * c1 + c2
    return j2 @ j1, jnp.einsum("...ij,...j->...i", j2, c1) + c2

  big_j, big_c = jax.lax.associative_scan(combine, (jacs, consts), axis=0)
  if diagonal:
    return big_j * s0[None, :] + big_c
  return jnp.einsum("tij,j->ti", big_j, s0) + big_c


def _flat_step(cell, params, unravel):

  def f(s, x, m):
    new, _ = cell.step(params, unravel(s), x)
    return jnp.where(m, ravel_pytree(new)[0], s)

  return f


def _jacobians(f, prev, xs, ms, diagonal):
  jac = jax.vmap(jax.jacfwd(f), (0, 0, 0))(prev, xs, ms)
  return jnp.diagonal(jac, axis1=1, axis2=2) if diagonal else jac


@_highest
def _deer_one(cell, params, xs, s0, ms, unravel, diagonal, tol, max_iters):
  """Newton / quasi-Newton iterations for ONE sequence; returns (states [T, S], iters)."""
  f = _flat_step(cell, params, unravel)
  time = xs.shape[0]

  def newton(states):
    prev = jnp.concatenate([s0[None], states[:-1]], axis=0)
    jac = _jacobians(f, prev, xs, ms, diagonal)
    fx = jax.vmap(f)(prev, xs, ms)
    lin = jac * prev if diagonal else jnp.einsum("tij,tj->ti", jac, prev)
    return _affine_scan(jac, fx - lin, s0, diagonal)

  def cond(carry):
    _, err, it = carry
    return (err > tol) & (it < max_iters)

  def body(carry):
    states, _, it = carry
    new = newton(states)
    return new, jnp.max(jnp.abs(new - states) / (1.0 + jnp.abs(new))), it + 1

  init = jnp.broadcast_to(s0, (time,) + s0.shape)
  states, _, iters = jax.lax.while_loop(
      cond, body, (init, jnp.array(jnp.inf, s0.dtype), jnp.array(0, jnp.int32)))
  return states, iters


def default_tol(dtype) -> float:
  """DEER's default relative stopping tolerance: eps^(3/4) of ``dtype``."""
  return float(jnp.finfo(dtype).eps)**0.75


@_highest
def deer_unroll(cell: Cell,
                params,
                xs,
                carry=None,
                *,
                lengths=None,
                quasi: bool = False,
                tol: float | None = None,
                max_iters: int | None = None):
  """Evaluates any cell over ``xs [B, T, D]`` by (quasi-)Newton iterations in parallel time.

  Returns ``(final_carry, ys [B, T, H], iterations [B])``; the same padding
  semantics as ``unroll``. Iterations stop when every state component changed by
  at most ``tol · (1 + |s|)`` (relative to the state's own scale, so an LSTM cell
  state of |c| ≈ 30 is judged against its float spacing, not an absolute 1e-6).
  Default ``tol = eps^(3/4)`` of the dtype (6.5e-6 in float32, 1.9e-12 in
  float64): Newton converges quadratically, so a change of ε^(3/4) leaves an error
  near ε^(3/2), below rounding. ``max_iters`` defaults to T (Newton is exact after
  T iterations). Differentiable: the backward solves the
  adjoint recurrence with an associative scan too.
  """
  xs, carry, mask, h = _prepare(cell, params, xs, carry, lengths)
  batch, time, _ = xs.shape
  tol = default_tol(xs.dtype) if tol is None else tol
  max_iters = check_positive_int("max_iters", max_iters) if max_iters is not None else time
  ms = jnp.ones((batch, time), bool) if mask is None else mask
  flat0 = jax.vmap(lambda c: ravel_pytree(c)[0])(carry)
  _, unravel = ravel_pytree(jax.tree_util.tree_map(lambda c: c[0], carry))
  states, iters = _deer_solve(cell, unravel, quasi, tol, max_iters, params, xs, flat0, ms)
  finals = jax.vmap(unravel)(states[:, -1])
  carries = jax.vmap(jax.vmap(unravel))(states)
  ys = carries[-1] if isinstance(carries, tuple) else carries
  ys = jnp.where(ms[:, :, None], ys, 0.0)
  return finals, ys, iters


@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 1, 2, 3, 4))
def _deer_solve(cell, unravel, quasi, tol, max_iters, params, xs, s0, ms):
  one = functools.partial(
      _deer_one, cell, params, unravel=unravel, diagonal=quasi, tol=tol, max_iters=max_iters)
  return jax.vmap(lambda x, s, m: one(x, s, m))(xs, s0, ms)


def _deer_fwd(cell, unravel, quasi, tol, max_iters, params, xs, s0, ms):
  out = _deer_solve(cell, unravel, quasi, tol, max_iters, params, xs, s0, ms)
  return out, (params, xs, s0, ms, out[0])


@_highest
def _deer_bwd(cell, unravel, quasi, tol, max_iters, res, cts):
  params, xs, s0, ms, states = res
  d_states = cts[0]
  f = _flat_step(cell, params, unravel)

  def one(x, s_init, m, s, g):
    prev = jnp.concatenate([s_init[None], s[:-1]], axis=0)
    jac = jax.vmap(jax.jacfwd(f), (0, 0, 0))(prev, x, m)  # exact J, even for quasi
    # λ⟨t⟩ = g⟨t⟩ + J⟨t+1⟩ᵀ λ⟨t+1⟩: reverse the time axis, then a forward affine scan
    jt = jnp.swapaxes(jnp.concatenate([jac[1:], jnp.zeros_like(jac[:1])], axis=0), 1, 2)
    lam = _affine_scan(jt[::-1], g[::-1], jnp.zeros_like(s_init), False)[::-1]
    _, vjp = jax.vjp(lambda p, sp, xx: jax.vmap(_flat_step(cell, p, unravel))(sp, xx, m), params,
                     prev, x)
    d_params, d_prev, d_x = vjp(lam)
    return d_params, d_x, d_prev[0]

  d_params, d_xs, d_s0 = jax.vmap(one)(xs, s0, ms, states, d_states)
  d_params = jax.tree_util.tree_map(lambda v: v.sum(0), d_params)
  return d_params, d_xs, d_s0, None


_deer_solve.defvjp(_deer_fwd, _deer_bwd)
