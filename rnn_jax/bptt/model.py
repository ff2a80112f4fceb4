"""Closed-form BPTT of a whole many-to-many model (cell + readout + loss), and the RTRL
reference of seed 000. Everything here is by hand: no ``jax.grad``."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from rnn_jax import losses as losses_lib
from rnn_jax.bptt.rules import outer, rule_for, tanh_d
from rnn_jax.bptt.scan import backward_scan, forward_with_residuals
from rnn_jax.cells import readout_logits
from rnn_jax.recurrence import broadcast_carry, mask_inputs, recurrent_params, truncation_keep
from rnn_jax.types import Cell, check_choice, check_lengths, check_positive_int, check_rank


def bptt_grads(cell: Cell,
               params,
               xs,
               targets,
               *,
               loss: str = "squared",
               lengths=None,
               carry=None,
               reduction: str = "batch_mean",
               truncate: int | None = None,
               return_carry_grad: bool = False):
  """Loss and gradients of a many-to-many RNN, entirely by closed-form BPTT.

  Model: a⟨t⟩ from ``cell``, ŷ⟨t⟩ = g_y(w_ya a⟨t⟩ + b_y) with g_y matched to
  ``loss`` (squared ↔ identity, binary_cross_entropy ↔ sigmoid,
  softmax_cross_entropy ↔ softmax), J = reduction of Σ_t L⟨t⟩ over valid steps.
  For these pairs ∂L⟨t⟩/∂(w_ya a⟨t⟩ + b_y) = ŷ⟨t⟩ − y⟨t⟩.

  Args:
    params: ``{"cell": cell params, "readout": {"w_ya": [V, H], "b_y": [V]}}``.
    xs: ``[B, T, D]``; targets: ``[B, T, V]`` (or ``[B, T]`` int labels for
      softmax cross-entropy).
  Returns:
    ``(J, grads)`` with ``grads`` in exactly the structure of ``params``; with
    ``return_carry_grad`` also ∂J/∂(initial carry).
  """
  check_rank("xs", xs, 3, "[B, T, D]")
  check_choice("loss", loss, losses_lib.PER_STEP)
  if not isinstance(params, dict) or set(params) != {"cell", "readout"}:
    got = sorted(params) if isinstance(params, dict) else type(params).__name__
    raise ValueError("params must be {'cell': cell params, 'readout': {'w_ya': [V, H], "
                     f"'b_y': [V]}}}} (the model's layout, as jax.grad sees it), got {got}.")
  cp, rp = params["cell"], params["readout"]
  batch, time, _ = xs.shape
  losses_lib.check_targets(targets, (batch, time, rp["w_ya"].shape[0]), loss)
  lengths = check_lengths(lengths, batch, time)
  rule = rule_for(cell)
  carry = broadcast_carry(cell, cp, batch, xs.dtype) if carry is None else carry
  xs, mask_bt = mask_inputs(xs, lengths)
  xs_tm = jnp.swapaxes(xs, 0, 1)
  xp = jnp.einsum("tbd,gd->tbg", xs_tm, cp["w_ax"]) + cp["b_a"][None, None, :]
  mask = None if mask_bt is None else mask_bt.T
  keep = None if truncate is None else truncation_keep(time, check_positive_int(
      "truncate", truncate))
  final, ys_tm, saved = forward_with_residuals(cell, rule, recurrent_params(cp), xp, carry, mask)
  ys = jnp.swapaxes(ys_tm, 0, 1)
  logits = readout_logits(rp, ys)
  j = losses_lib.sequence_loss(logits, targets, loss=loss, lengths=lengths, reduction=reduction)

  # Readout: ∂J/∂z_y = (ŷ − y) · weight on valid steps.
  weight = losses_lib.step_weights(batch, time, lengths, reduction, xs.dtype)
  d_logits = (losses_lib.output_fn(loss)(logits) - losses_lib.dense_targets(targets, logits)) \
      * weight[:, :, None]
  d_readout = {"w_ya": jnp.einsum("btv,bth->vh", d_logits, ys), "b_y": d_logits.sum((0, 1))}
  d_ys = jnp.swapaxes(d_logits @ rp["w_ya"], 0, 1)
  d_final = jax.tree_util.tree_map(jnp.zeros_like, final)
  d_rec, d_xp, d_carry0 = backward_scan(rule, recurrent_params(cp), saved, d_final, d_ys, mask,
                                        keep)
  d_cell = {k: d_rec.get(k, jnp.zeros_like(v)) for k, v in cp.items()}
  d_cell["w_ax"] = outer(d_xp, xs_tm)
  d_cell["b_a"] = d_xp.sum((0, 1))
  grads = {"cell": d_cell, "readout": d_readout}
  return (j, grads, d_carry0) if return_carry_grad else (j, grads)


def rtrl_w_aa_sensitivity(params, xs, a0=None, activation: str = "tanh"):
  """Forward-mode ∂a⟨t⟩/∂w_aa of a vanilla RNN, for ONE sequence ``xs [T, D]``.

  Real-time recurrent learning (Williams & Zipser 1989): with
  S⟨t⟩[h, i, j] = ∂a⟨t⟩_h/∂(w_aa)_ij,
    S⟨t⟩ = diag(g′(z⟨t⟩)) (w_aa S⟨t−1⟩ + E(a⟨t−1⟩)),  E(a)[h, i, j] = δ_hi a_j,
  which unrolls to the seeds' sum Σ_i w_aa^{i−1}[Π_j g′(z⟨t−j⟩)] a⟨t−i⟩.
  Costs O(T·H⁴): a reference for small problems. Returns ``[T, H, H, H]``.
  """
  check_rank("xs", xs, 2, "[T, D] (one sequence)")
  check_choice("activation", activation, ("tanh", "relu"))
  w_aa = params["w_aa"]
  h = w_aa.shape[0]
  a0 = jnp.zeros((h,), xs.dtype) if a0 is None else a0
  eye = jnp.eye(h, dtype=xs.dtype)

  def body(carry, x):
    a_prev, s_prev = carry
    z = w_aa @ a_prev + params["w_ax"] @ x + params["b_a"]
    a = jnp.tanh(z) if activation == "tanh" else jax.nn.relu(z)
    g_prime = tanh_d(a) if activation == "tanh" else (z > 0).astype(z.dtype)
    direct = jnp.einsum("hi,j->hij", eye, a_prev)
    s = g_prime[:, None, None] * (jnp.einsum("hk,kij->hij", w_aa, s_prev) + direct)
    return (a, s), s

  _, s = jax.lax.scan(body, (a0, jnp.zeros((h, h, h), xs.dtype)), xs)
  return s
