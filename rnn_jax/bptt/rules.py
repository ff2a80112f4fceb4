"""Closed-form backward rules, one per cell family, for a batch of rows.

The forward of every rule is the cell's own gate code (``cell.gates``, which returns the
residuals documented on each cell); a rule adds
  * ``bwd(params, carry_prev, res, d_carry) -> (d_carry_prev, d_xp, d_rec)``: the step's
    backward. ``d_xp`` is the cotangent of the input projection w_ax x⟨t⟩ + b_a, ``d_rec``
    that of the recurrent pre-activations (they differ only where a gate multiplies a
    product, as Γr does in the GRU);
  * ``grads(params, carries_prev, res, d_rec)``: gradients of the recurrent weights, formed
    AFTER the loop as one product over all T·B rows (as cuDNN does);
  * ``saved(res)``: the part of the residuals the backward reads (kept through the scan).

Notation for the vanilla RNN (seed 000): z⟨t⟩ = w_aa a⟨t−1⟩ + w_ax x⟨t⟩ + b_a,
a⟨t⟩ = g(z⟨t⟩), ŷ⟨t⟩ = g_y(w_ya a⟨t⟩ + b_y), J = Σ_t L⟨t⟩:

  δ⟨t⟩ = ∂J/∂z⟨t⟩ = g′(z⟨t⟩) ⊙ (w_yaᵀ (ŷ⟨t⟩ − y⟨t⟩) + w_aaᵀ δ⟨t+1⟩)
  ∂J/∂w_aa = Σ_t δ⟨t⟩ a⟨t−1⟩ᵀ,  ∂J/∂w_ax = Σ_t δ⟨t⟩ x⟨t⟩ᵀ,  ∂J/∂b_a = Σ_t δ⟨t⟩
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from rnn_jax.cells.base import with_transposed
from rnn_jax.types import Cell

sig_d = lambda s: s * (1.0 - s)  # σ′ from σ
tanh_d = lambda t: 1.0 - t * t  # tanh′ from tanh


class Rule(NamedTuple):
  bwd: Callable
  grads: Callable
  saved: Callable = lambda res: res
  # params -> params with loop-invariant blocks (transposes, slices) built once per sequence;
  # the forward (cell.gates, through cells.base.rec) and bwd read them
  prepare: Callable = lambda params: with_transposed(params, {"all": slice(None)})


def outer(d, x):
  """Σ over time and batch of d ⊗ x: ``[T, B, G] x [T, B, K] -> [G, K]``.

  Written as one 2-D product over the T·B rows, ``(xᵀ d)ᵀ``: XLA's CPU backend ran the
  equivalent ``einsum("tbg,tbk->gk")`` (two contracting axes) at 122–154 GFLOP/s and the
  2-D form at 232 for [200, 64, 2048] x [200, 64, 512] (BUILD_NOTES "What was tried"). With
  several devices the batch axis may be split over them: rows are then taken batch-major
  (a local transpose first, 178 GFLOP/s on one device), so each device reduces its own rows
  and XLA adds one all-reduce of the [G, K] result; merging T with a split B instead made
  XLA regather the [T, B, G] arrays (the 2-device primary LSTM step went 79 -> 101 ms)."""
  if jax.device_count() > 1:
    d, x = jnp.swapaxes(d, 0, 1), jnp.swapaxes(x, 0, 1)
  return (x.reshape(-1, x.shape[-1]).T @ d.reshape(-1, d.shape[-1])).T


def _row(v):
  """A [K] parameter vector as a [1, K] row, to broadcast over the batch explicitly."""
  return v[None, :]


def _simple_rnn_rule(cell: Cell) -> Rule:
  relu = cell.option("activation") == "relu"

  def bwd(params, a_prev, a, da):
    g_prime = (a > 0).astype(a.dtype) if relu else tanh_d(a)
    dz = da * g_prime
    return dz @ params["w_aa"], dz, dz

  def grads(params, a_prevs, res, d_rec):
    return {"w_aa": outer(d_rec, a_prevs)}

  return Rule(bwd, grads)


def _gru_rule(cell: Cell) -> Rule:
  before = cell.option("reset") == "before"

  def prepare(params):
    if not before:
      return with_transposed(params, {"all": slice(None)})
    w, h = params["w_aa"], params["w_aa"].shape[1]
    out = with_transposed(params, {"ur": slice(0, 2 * h), "c": slice(2 * h, 3 * h)})
    return {**out, "w_ur": w[:2 * h], "w_c": w[2 * h:]}

  def bwd(params, c_prev, res, dc):
    u, r, c_tilde, hc = res
    d_pre_c = dc * u * tanh_d(c_tilde)
    d_u = dc * (c_tilde - c_prev) * sig_d(u)
    dc_prev = dc * (1.0 - u)
    if before:
      d_hc = d_pre_c @ params["w_c"]  # ∂/∂(Γr ⊙ c⟨t−1⟩)
      d_r = d_hc * c_prev * sig_d(r)
      d_ur = jnp.concatenate([d_u, d_r], axis=-1)
      dc_prev = dc_prev + d_hc * r + d_ur @ params["w_ur"]
      d_xp = jnp.concatenate([d_ur, d_pre_c], axis=-1)
      return dc_prev, d_xp, d_xp
    d_rec_c = d_pre_c * r  # ∂/∂(w_cc c⟨t−1⟩ + b_cc)
    d_r = d_pre_c * hc * sig_d(r)
    d_ur = jnp.concatenate([d_u, d_r], axis=-1)
    d_rec = jnp.concatenate([d_ur, d_rec_c], axis=-1)
    dc_prev = dc_prev + d_rec @ params["w_aa"]
    return dc_prev, jnp.concatenate([d_ur, d_pre_c], axis=-1), d_rec

  def grads(params, c_prevs, res, d_rec):
    h = c_prevs.shape[-1]
    if before:
      return {
          "w_aa":
              jnp.concatenate(
                  [outer(d_rec[..., :2 * h], c_prevs),
                   outer(d_rec[..., 2 * h:], res[3])], axis=0)
      }
    return {"w_aa": outer(d_rec, c_prevs), "b_cc": d_rec[..., 2 * h:].sum((0, 1))}

  return Rule(bwd, grads, prepare=prepare)


def _simplified_gru_rule(cell: Cell) -> Rule:

  def bwd(params, c_prev, res, dc):
    u, c_tilde = res
    d_pre = jnp.concatenate([dc * (c_tilde - c_prev) * sig_d(u), dc * u * tanh_d(c_tilde)], axis=-1)
    return dc * (1.0 - u) + d_pre @ params["w_aa"], d_pre, d_pre

  def grads(params, c_prevs, res, d_rec):
    return {"w_aa": outer(d_rec, c_prevs)}

  return Rule(bwd, grads)


def _lstm_rule(cell: Cell) -> Rule:
  """LSTM, with the peephole forms of ``cells.lstm``.

  With a = Γo ⊙ tanh(c), c = Γu ⊙ c̃ + Γf ⊙ c⟨t−1⟩ and peepholes p = w_pc:
    δo = ∂J/∂a ⊙ tanh(c) ⊙ σ′;  ∂J/∂c = dc_in + ∂J/∂a ⊙ Γo ⊙ tanh′(c) [+ p_o ⊙ δo ("gers")]
    δu = ∂J/∂c ⊙ c̃ ⊙ σ′,  δf = ∂J/∂c ⊙ c⟨t−1⟩ ⊙ σ′,  δc̃ = ∂J/∂c ⊙ Γu ⊙ tanh′
    ∂J/∂c⟨t−1⟩ = ∂J/∂c ⊙ Γf + p_u ⊙ δu + p_f ⊙ δf [+ p_o ⊙ δo ("seeds")]
  """
  peephole = cell.option("peephole")

  def bwd(params, carry_prev, res, d_carry):
    c_prev, _ = carry_prev
    dc, da = d_carry
    gates, tanh_c = res[:2]
    h = c_prev.shape[-1]
    u, f = gates[:, :h], gates[:, h:2 * h]
    c_tilde, o = gates[:, 2 * h:3 * h], gates[:, 3 * h:]
    d_o = da * tanh_c * sig_d(o)
    dc = dc + da * o * tanh_d(tanh_c)
    if peephole == "gers":  # Γo read the new c⟨t⟩
      dc = dc + _row(params["w_pc"][2 * h:]) * d_o
    d_pre = jnp.concatenate(
        [dc * c_tilde * sig_d(u), dc * c_prev * sig_d(f), dc * u * tanh_d(c_tilde), d_o], axis=-1)
    dc_prev = dc * f
    if peephole is not None:
      p = params["w_pc"]
      dc_prev = dc_prev + _row(p[:h]) * d_pre[:, :h] + _row(p[h:2 * h]) * d_pre[:, h:2 * h]
      if peephole == "seeds":
        dc_prev = dc_prev + _row(p[2 * h:]) * d_o
    return (dc_prev, d_pre @ params["w_aa"]), d_pre, d_pre

  def grads(params, carries_prev, res, d_rec):
    c_prevs, a_prevs = carries_prev
    out = {"w_aa": outer(d_rec, a_prevs)}
    if peephole is not None:
      h = c_prevs.shape[-1]
      c_o = res[2] if peephole == "gers" else c_prevs
      out["w_pc"] = jnp.concatenate([(d_rec[..., :h] * c_prevs).sum((0, 1)),
                                     (d_rec[..., h:2 * h] * c_prevs).sum((0, 1)),
                                     (d_rec[..., 3 * h:] * c_o).sum((0, 1))])
    return out

  # c⟨t⟩ is kept only where Γo's peephole read it
  return Rule(bwd, grads, (lambda res: res) if peephole == "gers" else (lambda res: res[:2]))


RULES = {
    "simple_rnn": _simple_rnn_rule,
    "gru": _gru_rule,
    "simplified_gru": _simplified_gru_rule,
    "lstm": _lstm_rule
}


def has_closed_form(cell: Cell) -> bool:
  """Whether ``backward="closed_form"`` is available for this cell."""
  return cell.kind in RULES and cell.gates is not None


def rule_for(cell: Cell) -> Rule:
  if not has_closed_form(cell):
    raise ValueError(f"cell kind {cell.kind!r} has no closed-form backward; "
                     f"known: {sorted(RULES)}. Use backward='autodiff'.")
  return RULES[cell.kind](cell)
