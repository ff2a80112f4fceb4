"""Gated recurrent units: the full GRU (reset before or after the product) and the seeds'
simplified GRU (update gate only)."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from rnn_jax.cells.base import gate_init, lead, make_cell, rec, zeros_carry
from rnn_jax.types import Cell, check_choice

RESETS = ("before", "after")


def gru(reset: str = "before") -> Cell:
  """Full gated recurrent unit (Cho et al. 2014), as in the seeds.

    Γu = σ(w_u [c⟨t−1⟩, x⟨t⟩] + b_u)
    Γr = σ(w_r [c⟨t−1⟩, x⟨t⟩] + b_r)
    c̃⟨t⟩ = tanh(w_c [Γr * c⟨t−1⟩, x⟨t⟩] + b_c)               (reset="before")
    c̃⟨t⟩ = tanh(w_cx x⟨t⟩ + b_c + Γr * (w_cc c⟨t−1⟩ + b_cc))  (reset="after")
    c⟨t⟩ = a⟨t⟩ = Γu * c̃⟨t⟩ + (1 − Γu) * c⟨t−1⟩

  ``reset="after"`` is the variant of cuDNN, PyTorch and Flax (whose
  ``z = 1 − Γu``). Params: ``w_ax [3H, D]``, ``w_aa [3H, H]``, ``b_a [3H]``,
  gate order (u, r, c̃); ``reset="after"`` adds ``b_cc [H]``, the recurrent
  candidate bias inside the reset. Carry: ``c [H]``. Gate residuals:
  (Γu, Γr, c̃⟨t⟩, hc) with hc = Γr * c⟨t−1⟩ ("before") or w_cc c⟨t−1⟩ + b_cc ("after").
  """
  check_choice("reset", reset, RESETS)
  before = reset == "before"

  def add_b_cc(params, h, dtype, key):
    return {**params, "b_cc": jnp.zeros((h,), dtype)}

  def gates(params, c_prev, xp):
    h = c_prev.shape[-1]
    if before:
      ur = jax.nn.sigmoid(xp[..., :2 * h] + rec(params, c_prev, "ur", slice(0, 2 * h)))
      u, r = ur[..., :h], ur[..., h:]
      hc = r * c_prev
      c_tilde = jnp.tanh(xp[..., 2 * h:] + rec(params, hc, "c", slice(2 * h, 3 * h)))
    else:  # one product for all three blocks
      z = rec(params, c_prev, "all", slice(None))
      ur = jax.nn.sigmoid(xp[..., :2 * h] + z[..., :2 * h])
      u, r = ur[..., :h], ur[..., h:]
      hc = z[..., 2 * h:] + lead(params["b_cc"], c_prev)
      c_tilde = jnp.tanh(xp[..., 2 * h:] + r * hc)
    c = u * c_tilde + (1.0 - u) * c_prev
    return c, c, (u, r, c_tilde, hc)

  init = gate_init(3, bias_fn=None if before else add_b_cc)
  return make_cell("gru", {"reset": reset}, init, zeros_carry, gates)


def simplified_gru() -> Cell:
  """The seeds' simplified GRU (update gate only, no reset gate).

    Γu = σ(w_u [c⟨t−1⟩, x⟨t⟩] + b_u)
    c̃⟨t⟩ = tanh(w_c [c⟨t−1⟩, x⟨t⟩] + b_c)
    c⟨t⟩ = a⟨t⟩ = Γu * c̃⟨t⟩ + (1 − Γu) * c⟨t−1⟩

  Params: ``w_ax [2H, D]``, ``w_aa [2H, H]``, ``b_a [2H]``, order (u, c̃). Gate residuals:
  (Γu, c̃⟨t⟩).
  """

  def gates(params, c_prev, xp):
    h = c_prev.shape[-1]
    pre = xp + rec(params, c_prev, "all", slice(None))
    u, c_tilde = jax.nn.sigmoid(pre[..., :h]), jnp.tanh(pre[..., h:])
    c = u * c_tilde + (1.0 - u) * c_prev
    return c, c, (u, c_tilde)

  return make_cell("simplified_gru", {}, gate_init(2), zeros_carry, gates)
