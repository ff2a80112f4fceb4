"""Gradient-flow diagnostics: vanishing and exploding gradients, measured.

For ONE sequence (``vmap`` for a batch; see ``batched``), with s⟨t⟩ the whole
carry flattened (a⟨t⟩, plus c⟨t⟩ for the LSTM) and J⟨t⟩ = ∂s⟨t⟩/∂s⟨t−1⟩:

  ∂s⟨T⟩/∂s⟨t⟩ = J⟨T⟩ J⟨T−1⟩ ⋯ J⟨t+1⟩
  ∂L⟨T⟩/∂s⟨t⟩ = (∂s⟨T⟩/∂s⟨t⟩)ᵀ ∂L⟨T⟩/∂s⟨T⟩

For the vanilla RNN J⟨t⟩ = diag(g′(z⟨t⟩)) w_aa, so ‖∂s⟨T⟩/∂s⟨t⟩‖ ≤
(max g′ · ‖w_aa‖)^(T−t): gradients vanish when that factor is < 1 and can
explode when the spectral radius of w_aa is > 1 (Pascanu et al. 2013).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from rnn_jax.cells import readout_logits
from rnn_jax.losses import per_step_loss
from rnn_jax.types import Cell, check_rank
from rnn_jax.unrolling import unroll


def spectral_radius(matrix) -> float:
  """max |λ| of a square matrix (e.g. w_aa of a vanilla RNN, or one H×H gate block)."""
  m = np.asarray(matrix, np.float64)
  if m.ndim != 2 or m.shape[0] != m.shape[1]:
    raise ValueError(f"matrix must be square, got shape {m.shape}.")
  return float(np.max(np.abs(np.linalg.eigvals(m))))


def recurrent_blocks(params):
  """The H×H blocks of a (possibly fused) ``w_aa [G, H]``."""
  w = params["w_aa"]
  h = w.shape[1]
  return [w[i * h:(i + 1) * h] for i in range(w.shape[0] // h)]


def step_jacobians(cell: Cell, params, xs, carry=None):
  """J⟨t⟩ = ∂s⟨t⟩/∂s⟨t−1⟩ for one sequence ``xs [T, D]`` -> ``[T, S, S]``."""
  check_rank("xs", xs, 2, "[T, D] (one sequence)")
  h = cell.hidden_of_params(params)
  carry = cell.initial_carry(h, xs.dtype) if carry is None else carry
  batched = jax.tree_util.tree_map(lambda c: c[None], carry)
  _, _, carries = unroll(cell, params, xs[None], batched, return_carries=True)
  after = jax.tree_util.tree_map(lambda c: c[0], carries)
  before = jax.tree_util.tree_map(lambda c0, cs: jnp.concatenate([c0[None], cs[:-1]], axis=0),
                                  carry, after)
  _, unravel = ravel_pytree(carry)

  def flat_step(s_flat, x):
    new, _ = cell.step(params, unravel(s_flat), x)
    return ravel_pytree(new)[0]

  flat_before = jax.vmap(lambda c: ravel_pytree(c)[0])(before)
  return jax.vmap(jax.jacrev(flat_step))(flat_before, xs)


def jacobian_products(jacobians):
  """P⟨t⟩ = ∂s⟨T⟩/∂s⟨t⟩ = J⟨T⟩⋯J⟨t+1⟩ for t = 1..T (P⟨T⟩ = I) -> ``[T, S, S]``."""
  s = jacobians.shape[-1]

  def body(p_next, j_next):  # P⟨t⟩ = P⟨t+1⟩ J⟨t+1⟩
    p = p_next @ j_next
    return p, p

  eye = jnp.eye(s, dtype=jacobians.dtype)
  # scan from t = T down: P⟨T⟩ = I, P⟨t⟩ = P⟨t+1⟩ J⟨t+1⟩
  shifted = jnp.concatenate([jacobians[1:], eye[None]], axis=0)
  _, products = jax.lax.scan(body, eye, shifted, reverse=True)
  return products


def gradient_flow(cell: Cell,
                  params,
                  xs,
                  *,
                  readout=None,
                  target=None,
                  loss: str = "squared",
                  carry=None):
  """Norms over distance for one sequence ``xs [T, D]``.

  Returns a dict of ``[T]`` arrays indexed by t = 1..T:
    ``ds_ds``: ‖∂s⟨T⟩/∂s⟨t⟩‖₂ (spectral norm of the Jacobian product);
    ``da_da``: ‖∂a⟨T⟩/∂a⟨t⟩‖₂, its a⟨·⟩ block (c⟨t⟩ held fixed for the LSTM);
    with ``readout`` and ``target`` (the target of ŷ⟨T⟩) also
    ``dL_ds``: ‖∂L⟨T⟩/∂s⟨t⟩‖ and ``dL_da``: ‖∂L⟨T⟩/∂a⟨t⟩‖.
  For single-state cells s = a, so the pairs coincide.
  """
  jacs = step_jacobians(cell, params, xs, carry)
  products = jacobian_products(jacs)
  h = cell.hidden_of_params(params)
  # a⟨t⟩ is the last H entries of the flattened carry ((c, a) for the LSTM)
  out = {
      "ds_ds": jnp.linalg.norm(products, ord=2, axis=(-2, -1)),
      "da_da": jnp.linalg.norm(products[:, -h:, -h:], ord=2, axis=(-2, -1))
  }
  if readout is not None and target is not None:
    h = cell.hidden_of_params(params)
    c0 = cell.initial_carry(h, xs.dtype) if carry is None else carry
    batched = jax.tree_util.tree_map(lambda c: c[None], c0)
    final, _ = unroll(cell, params, xs[None], batched)
    final = jax.tree_util.tree_map(lambda c: c[0], final)
    flat, unravel = ravel_pytree(final)

    def last_loss(s_flat):
      a = unravel(s_flat)
      a = a[-1] if isinstance(a, tuple) else a
      return per_step_loss(readout_logits(readout, a), target, loss)

    g_last = jax.grad(last_loss)(flat)
    cot = jnp.einsum("tij,i->tj", products, g_last)
    out["dL_ds"] = jnp.linalg.norm(cot, axis=-1)
    out["dL_da"] = jnp.linalg.norm(cot[:, -h:], axis=-1)
  return out


def batched(cell: Cell, *, readout=None, loss: str = "squared"):
  """``gradient_flow`` vmapped over examples: ``fn(params, xs [B, T, D], targets=None)``.

  ``targets`` (``[B, V]``, or ``[B]`` labels) are the targets of ŷ⟨T⟩.
  """

  def fn(params, xs, targets=None):
    check_rank("xs", xs, 3, "[B, T, D]")
    if targets is None:
      return jax.vmap(lambda x: gradient_flow(cell, params, x))(xs)
    return jax.vmap(
        lambda x, y: gradient_flow(cell, params, x, readout=readout, target=y, loss=loss))(xs,
                                                                                           targets)

  return fn
