"""A dtype policy for cells: compute in bfloat16 (or float16), keep params and carry in float32.

``mixed_precision(cell)`` returns a cell whose gate arithmetic, input projection and recurrent
matrix products run in ``compute_dtype`` (params and x⟨t⟩ are cast at use), while the params
stay float32 (the optimizer updates float32 masters; gradients reach them through the casts)
and the carry is stored in float32 between steps (each step's new a⟨t⟩, c⟨t⟩ is rounded to
bfloat16 inside the step only, never accumulated in it across steps). Outputs y⟨t⟩ are float32,
so losses and readouts stay float32. bfloat16 has float32's exponent range: no loss scaling.

The closed-form backward is not defined for it (``gates`` is None): ``unroll`` with
``backward="closed_form"`` refuses it; use ``"autodiff"``. Measured on the 2-core CPU (XLA's CPU
backend): bfloat16 matrix products are SLOWER than float32 there (BUILD_NOTES.md); the policy
is for TPUs (and GPUs), where bfloat16 matrix units are the fast path.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from rnn_jax.types import Cell


def _cast(tree, dtype):
  return jax.tree_util.tree_map(
      lambda a: a.astype(dtype) if jnp.issubdtype(jnp.result_type(a), jnp.floating) else a, tree)


def _like(tree, reference):
  return jax.tree_util.tree_map(lambda a, r: a.astype(jnp.result_type(r)), tree, reference)


def mixed_precision(cell: Cell, compute_dtype=jnp.bfloat16) -> Cell:
  """``cell`` computed in ``compute_dtype`` with float32 params and carry (module docstring)."""
  compute_dtype = jnp.dtype(compute_dtype)
  if not jnp.issubdtype(compute_dtype, jnp.floating):
    raise ValueError(f"compute_dtype must be a floating dtype, got {compute_dtype}.")

  def project(params, x):
    return cell.project(_cast(params, compute_dtype), _cast(x, compute_dtype))

  def recur(params, carry, xp):
    new, y = cell.recur(
        _cast(params, compute_dtype), _cast(carry, compute_dtype), _cast(xp, compute_dtype))
    out = jnp.result_type(jax.tree_util.tree_leaves(carry)[0])
    return _like(new, carry), y.astype(out)

  def step(params, carry, x):
    p = params if cell.prepare is None else cell.prepare(params)
    return recur(p, carry, project(p, x))

  return cell._replace(
      step=step,
      project=project,
      recur=recur,
      gates=None,
      options=cell.options + (("compute_dtype", compute_dtype.name),))
