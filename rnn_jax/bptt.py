"""Closed-form backpropagation through time, written by hand.

For each cell family a rule gives
  * ``fwd(params, carry, xp) -> (carry, y, res)``: the step, keeping residuals;
  * ``bwd(params, carry_prev, res, d_carry) -> (d_carry_prev, d_xp, d_rec)``:
    the step's backward for ONE example. ``d_xp`` is the cotangent of the
    hoisted input projection w_ax x⟨t⟩ + b_a, ``d_rec`` that of the recurrent
    pre-activations (they differ only where a gate multiplies a product);
  * ``grads(params, carries_prev, res, d_rec)``: gradients of the recurrent
    weights, formed AFTER the loop as one product over all T·B rows (this is how
    cuDNN does it, and it keeps matrix-outer-products out of the loop).

Only carry and gate cotangents flow through the reverse ``lax.scan``.

Notation for the vanilla RNN (seed 000): z⟨t⟩ = w_aa a⟨t−1⟩ + w_ax x⟨t⟩ + b_a,
a⟨t⟩ = g(z⟨t⟩), ŷ⟨t⟩ = g_y(w_ya a⟨t⟩ + b_y), J = Σ_t L⟨t⟩:

  δ⟨t⟩ = ∂J/∂z⟨t⟩ = g′(z⟨t⟩) ⊙ (w_yaᵀ (ŷ⟨t⟩ − y⟨t⟩) + w_aaᵀ δ⟨t+1⟩)
  ∂J/∂w_aa = Σ_t δ⟨t⟩ a⟨t−1⟩ᵀ,  ∂J/∂w_ax = Σ_t δ⟨t⟩ x⟨t⟩ᵀ,  ∂J/∂b_a = Σ_t δ⟨t⟩
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from rnn_jax import losses as losses_lib
from rnn_jax.cells import readout_logits
from rnn_jax.types import Cell, check_choice, check_lengths, check_positive_int, check_rank
from rnn_jax import unrolling as unroll_lib

_sig_d = lambda s: s * (1.0 - s)
_tanh_d = lambda t: 1.0 - t * t


def _row(v):
  """A [K] parameter vector as a [1, K] row, to broadcast over the batch explicitly."""
  return v[None, :]


class Rule(NamedTuple):
  fwd: Callable
  bwd: Callable
  grads: Callable
  prepare: Callable = lambda params: params  # loop-invariant slices/transposes, built once


def _outer(d, x):
  """Σ over time and batch of d ⊗ x: ``[T, B, G] x [T, B, K] -> [G, K]``."""
  return jnp.einsum("tbg,tbk->gk", d, x)


# Every rule below works on a whole batch at once: carries [B, H], xp [B, G].
# Matrix products are written v @ W (row vectors), the same maths as W @ v.


# ------------------------------------------------------------------ vanilla RNN
def _simple_rnn_rule(cell: Cell) -> Rule:
  relu = cell.option("activation") == "relu"

  def prepare(params):
    return {**params, "w_aa_t": params["w_aa"].T}

  def fwd(params, a_prev, xp):
    z = xp + a_prev @ params["w_aa_t"]
    a = jax.nn.relu(z) if relu else jnp.tanh(z)
    return a, a, a

  def bwd(params, a_prev, a, da):
    g_prime = (a > 0).astype(a.dtype) if relu else _tanh_d(a)
    dz = da * g_prime
    return dz @ params["w_aa"], dz, dz

  def grads(params, a_prevs, res, d_rec):
    return {"w_aa": _outer(d_rec, a_prevs)}

  return Rule(fwd, bwd, grads, prepare)


# ------------------------------------------------------------------------- GRU
def _gru_rule(cell: Cell) -> Rule:
  before = cell.option("reset") == "before"

  def prepare(params):
    w = params["w_aa"]
    h = w.shape[1]
    out = {
        **params, "w_ur": w[:2 * h],
        "w_c": w[2 * h:],
        "w_ur_t": w[:2 * h].T,
        "w_c_t": w[2 * h:].T
    }
    if not before:
      out["w_aa_t"] = w.T
    return out

  def fwd(params, c_prev, xp):
    h = c_prev.shape[-1]
    if before:
      ur = jax.nn.sigmoid(xp[:, :2 * h] + c_prev @ params["w_ur_t"])
      u, r = ur[:, :h], ur[:, h:]
      hc = r * c_prev
      c_tilde = jnp.tanh(xp[:, 2 * h:] + hc @ params["w_c_t"])
    else:
      rec = c_prev @ params["w_aa_t"]
      ur = jax.nn.sigmoid(xp[:, :2 * h] + rec[:, :2 * h])
      u, r = ur[:, :h], ur[:, h:]
      hc = rec[:, 2 * h:] + _row(params["b_cc"])
      c_tilde = jnp.tanh(xp[:, 2 * h:] + r * hc)
    c = u * c_tilde + (1.0 - u) * c_prev
    return c, c, (u, r, c_tilde, hc)

  def bwd(params, c_prev, res, dc):
    u, r, c_tilde, hc = res
    d_pre_c = dc * u * _tanh_d(c_tilde)
    d_u = dc * (c_tilde - c_prev) * _sig_d(u)
    dc_prev = dc * (1.0 - u)
    if before:
      d_hc = d_pre_c @ params["w_c"]  # ∂/∂(Γr ⊙ c⟨t−1⟩)
      d_r = d_hc * c_prev * _sig_d(r)
      d_ur = jnp.concatenate([d_u, d_r], axis=-1)
      dc_prev = dc_prev + d_hc * r + d_ur @ params["w_ur"]
      d_xp = jnp.concatenate([d_ur, d_pre_c], axis=-1)
      return dc_prev, d_xp, d_xp
    d_rec_c = d_pre_c * r  # ∂/∂(w_cc c⟨t−1⟩ + b_cc)
    d_r = d_pre_c * hc * _sig_d(r)
    d_ur = jnp.concatenate([d_u, d_r], axis=-1)
    d_rec = jnp.concatenate([d_ur, d_rec_c], axis=-1)
    dc_prev = dc_prev + d_rec @ params["w_aa"]
    return dc_prev, jnp.concatenate([d_ur, d_pre_c], axis=-1), d_rec

  def grads(params, c_prevs, res, d_rec):
    h = c_prevs.shape[-1]
    if before:
      hc = res[3]
      return {
          "w_aa":
              jnp.concatenate([_outer(d_rec[..., :2 * h], c_prevs),
                               _outer(d_rec[..., 2 * h:], hc)],
                              axis=0)
      }
    return {"w_aa": _outer(d_rec, c_prevs), "b_cc": d_rec[..., 2 * h:].sum((0, 1))}

  return Rule(fwd, bwd, grads, prepare)


def _simplified_gru_rule(cell: Cell) -> Rule:

  def fwd(params, c_prev, xp):
    h = c_prev.shape[-1]
    pre = xp + c_prev @ params["w_aa_t"]
    u, c_tilde = jax.nn.sigmoid(pre[:, :h]), jnp.tanh(pre[:, h:])
    c = u * c_tilde + (1.0 - u) * c_prev
    return c, c, (u, c_tilde)

  def bwd(params, c_prev, res, dc):
    u, c_tilde = res
    d_pre = jnp.concatenate([dc * (c_tilde - c_prev) * _sig_d(u), dc * u * _tanh_d(c_tilde)],
                            axis=-1)
    return dc * (1.0 - u) + d_pre @ params["w_aa"], d_pre, d_pre

  def grads(params, c_prevs, res, d_rec):
    return {"w_aa": _outer(d_rec, c_prevs)}

  return Rule(fwd, bwd, grads, lambda p: {**p, "w_aa_t": p["w_aa"].T})


# ------------------------------------------------------------------------ LSTM
def _lstm_rule(cell: Cell) -> Rule:
  """LSTM, with the peephole forms of ``cells.lstm``.

  With a = Γo ⊙ tanh(c), c = Γu ⊙ c̃ + Γf ⊙ c⟨t−1⟩ and peepholes p = w_pc:
    δo = ∂J/∂a ⊙ tanh(c) ⊙ σ′;  ∂J/∂c = dc_in + ∂J/∂a ⊙ Γo ⊙ tanh′(c) [+ p_o ⊙ δo ("gers")]
    δu = ∂J/∂c ⊙ c̃ ⊙ σ′,  δf = ∂J/∂c ⊙ c⟨t−1⟩ ⊙ σ′,  δc̃ = ∂J/∂c ⊙ Γu ⊙ tanh′
    ∂J/∂c⟨t−1⟩ = ∂J/∂c ⊙ Γf + p_u ⊙ δu + p_f ⊙ δf [+ p_o ⊙ δo ("seeds")]
  """
  peephole = cell.option("peephole")

  def fwd(params, carry, xp):
    c_prev, a_prev = carry
    h = c_prev.shape[-1]
    pre = xp + a_prev @ params["w_aa_t"]
    pre_uf = pre[:, :2 * h]
    if peephole is not None:
      p = params["w_pc"]
      pre_uf = pre_uf + jnp.concatenate([_row(p[:h]) * c_prev, _row(p[h:2 * h]) * c_prev], -1)
    uf = jax.nn.sigmoid(pre_uf)
    c_tilde = jnp.tanh(pre[:, 2 * h:3 * h])
    c = uf[:, :h] * c_tilde + uf[:, h:] * c_prev
    pre_o = pre[:, 3 * h:]
    if peephole is not None:
      pre_o = pre_o + _row(params["w_pc"][2 * h:]) * (c if peephole == "gers" else c_prev)
    o = jax.nn.sigmoid(pre_o)
    tanh_c = jnp.tanh(c)
    a = o * tanh_c
    res = (jnp.concatenate([uf, c_tilde, o], axis=-1), tanh_c)
    return (c, a), a, (res + (c,) if peephole == "gers" else res)

  def bwd(params, carry_prev, res, d_carry):
    c_prev, _ = carry_prev
    dc, da = d_carry
    gates, tanh_c = res[:2]
    h = c_prev.shape[-1]
    u, f = gates[:, :h], gates[:, h:2 * h]
    c_tilde, o = gates[:, 2 * h:3 * h], gates[:, 3 * h:]
    d_o = da * tanh_c * _sig_d(o)
    dc = dc + da * o * _tanh_d(tanh_c)
    if peephole == "gers":  # Γo read the new c⟨t⟩
      dc = dc + _row(params["w_pc"][2 * h:]) * d_o
    d_pre = jnp.concatenate(
        [dc * c_tilde * _sig_d(u), dc * c_prev * _sig_d(f), dc * u * _tanh_d(c_tilde), d_o], axis=-1)
    dc_prev = dc * f
    if peephole is not None:
      p = params["w_pc"]
      dc_prev = dc_prev + _row(p[:h]) * d_pre[:, :h] + _row(p[h:2 * h]) * d_pre[:, h:2 * h]
      if peephole == "seeds":
        dc_prev = dc_prev + _row(p[2 * h:]) * d_o
    return (dc_prev, d_pre @ params["w_aa"]), d_pre, d_pre

  def grads(params, carries_prev, res, d_rec):
    c_prevs, a_prevs = carries_prev
    out = {"w_aa": _outer(d_rec, a_prevs)}
    if peephole is not None:
      h = c_prevs.shape[-1]
      c_o = res[2] if peephole == "gers" else c_prevs
      out["w_pc"] = jnp.concatenate([(d_rec[..., :h] * c_prevs).sum((0, 1)),
                                     (d_rec[..., h:2 * h] * c_prevs).sum((0, 1)),
                                     (d_rec[..., 3 * h:] * c_o).sum((0, 1))])
    return out

  return Rule(fwd, bwd, grads, lambda p: {**p, "w_aa_t": p["w_aa"].T})


_RULES = {
    "simple_rnn": _simple_rnn_rule,
    "gru": _gru_rule,
    "simplified_gru": _simplified_gru_rule,
    "lstm": _lstm_rule
}


def has_closed_form(cell: Cell) -> bool:
  """Whether ``backward="closed_form"`` is available for this cell."""
  return cell.kind in _RULES


def rule_for(cell: Cell) -> Rule:
  if cell.kind not in _RULES:
    raise ValueError(f"cell kind {cell.kind!r} has no closed-form backward; "
                     f"known: {sorted(_RULES)}. Use backward='autodiff'.")
  return _RULES[cell.kind](cell)


def _add_to_hidden(d_carry, dy):
  if isinstance(d_carry, tuple):
    return d_carry[:-1] + (d_carry[-1] + dy,)
  return d_carry + dy


# ------------------------------------------------------- forward / backward scans
def _where_rows(m, a, b):
  """Per-example select: m is [B] bool, a and b are [B, ...]."""
  return jnp.where(m.reshape(m.shape + (1,) * (a.ndim - 1)), a, b)


def project(params, x):
  """w_ax x + b_a for a batch of rows ``x [..., D]`` (the closed-form cells' projection)."""
  z = x @ params["w_ax"].T
  return z + params["b_a"].reshape((1,) * (z.ndim - 1) + (-1,))


def forward_with_residuals(rule: Rule,
                           params,
                           inputs,
                           carry,
                           mask=None,
                           unroll: int = 1,
                           in_loop: bool = False):
  """Forward scan that keeps what the backward needs. Time-major inputs: the
  projections ``xp``, or with ``in_loop`` the raw ``xs`` (projected per step)."""

  prepared = rule.prepare(params)

  def body(c, inp):
    x, m = inp
    if in_loop:
      x = project(params, x)
    new, y, res = rule.fwd(prepared, c, x)
    if m is not None:
      new = jax.tree_util.tree_map(lambda n, o: _where_rows(m, n, o), new, c)
      y = _where_rows(m, y, jnp.zeros_like(y))
    return new, (y, c, res)

  final, (ys, carries_prev, res) = jax.lax.scan(body, carry, (inputs, mask), unroll=unroll)
  return final, ys, (carries_prev, res)


def backward_scan(rule: Rule, params, saved, d_final, d_ys, mask=None, keep=None, unroll: int = 1):
  """Reverse scan of carry/gate cotangents; weight gradients after the loop.

  Returns ``(d_rec_params, d_xp [T, B, G], d_carry0)``.
  """
  carries_prev, res = saved
  prepared = rule.prepare(params)

  def body(d_c, inp):
    c_prev, r, dy, m, k = inp
    d_new = _add_to_hidden(d_c, dy)
    if m is not None:
      d_new = jax.tree_util.tree_map(lambda d: _where_rows(m, d, jnp.zeros_like(d)), d_new)
    d_prev, d_xp, d_rec = rule.bwd(prepared, c_prev, r, d_new)
    if m is not None:  # a frozen step passes the carry cotangent straight through
      d_prev = jax.tree_util.tree_map(lambda a, d: a + _where_rows(m, jnp.zeros_like(d), d), d_prev,
                                      d_c)
    if k is not None:  # truncation cuts only at valid steps (see scan_recurrence)
      cut = (k == 0) if m is None else ((k == 0) & m)
      d_prev = jax.tree_util.tree_map(
          lambda d: _where_rows(cut, jnp.zeros_like(d), d)
          if cut.ndim else jnp.where(cut, 0.0, d).astype(d.dtype), d_prev)
    return d_prev, (d_xp, d_rec)

  d_carry0, (d_xp, d_rec) = jax.lax.scan(
      body, d_final, (carries_prev, res, d_ys, mask, keep), reverse=True, unroll=unroll)
  return rule.grads(params, carries_prev, res, d_rec), d_xp, d_carry0


def closed_form_recurrence(cell: Cell,
                           params,
                           inputs,
                           carry,
                           mask=None,
                           keep=None,
                           *,
                           unroll: int = 1,
                           in_loop: bool = False):
  """``scan_recurrence`` whose VJP is the closed-form backward (``jax.custom_vjp``).

  ``inputs`` are the hoisted projections ``xp [T, B, G]`` (then only the
  recurrent params get gradients here; autodiff of the hoisted projection does
  the rest), or with ``in_loop`` the raw ``xs [T, B, D]``, projected inside the
  loop; then ∂w_ax, ∂b_a and ∂xs are formed here, each as one product after the
  loop (XLA drops ∂xs when nothing uses it).
  """
  rule = rule_for(cell)
  rec_names = tuple(unroll_lib.recurrent_params(params))
  params = params if in_loop else unroll_lib.recurrent_params(params)

  @jax.custom_vjp
  def run(params, inputs, carry, mask, keep):
    return unroll_lib.scan_recurrence(
        cell, params, inputs, carry, mask, None, unroll=unroll, in_loop=in_loop)

  def run_fwd(params, inputs, carry, mask, keep):
    final, ys, saved = forward_with_residuals(
        rule, params, inputs, carry, mask, unroll, in_loop=in_loop)
    return (final, ys), (params, inputs, saved, mask, keep)

  def run_bwd(residuals, cts):
    params, inputs, saved, mask, keep = residuals
    d_final, d_ys = cts
    rec = {k: params[k] for k in rec_names}
    d_rec, d_xp, d_carry0 = backward_scan(rule, rec, saved, d_final, d_ys, mask, keep, unroll)
    d_params = {k: d_rec.get(k, jnp.zeros_like(params[k])) for k in rec_names}
    if in_loop:
      d_params["w_ax"] = jnp.einsum("tbg,tbd->gd", d_xp, inputs)
      d_params["b_a"] = d_xp.sum((0, 1))
      d_inputs = jnp.einsum("tbg,gd->tbd", d_xp, params["w_ax"])
    else:
      d_inputs = d_xp
    none_like = lambda t: None if t is None else jnp.zeros_like(t)
    return d_params, d_inputs, d_carry0, none_like(mask), none_like(keep)

  run.defvjp(run_fwd, run_bwd)
  return run(params, inputs, carry, mask, keep)


# ---------------------------------------------------------- full model, by hand
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
  cp, rp = params["cell"], params["readout"]
  batch, time, _ = xs.shape
  losses_lib.check_targets(targets, (batch, time, rp["w_ya"].shape[0]), loss)
  lengths = None if lengths is None else jnp.asarray(lengths, jnp.int32)
  if lengths is not None:
    check_lengths(lengths, batch, time)
  rule = rule_for(cell)
  carry = unroll_lib.broadcast_carry(cell, cp, batch, xs.dtype) if carry is None else carry
  mask_bt = None if lengths is None else unroll_lib.time_mask(lengths, time)
  if mask_bt is not None:
    xs = jnp.where(mask_bt[:, :, None], xs, jnp.zeros((), xs.dtype))
  xs_tm = jnp.swapaxes(xs, 0, 1)
  xp = jnp.einsum("tbd,gd->tbg", xs_tm, cp["w_ax"]) + cp["b_a"][None, None, :]
  mask = None if mask_bt is None else mask_bt.T
  keep = None if truncate is None else unroll_lib.truncation_keep(
      time, check_positive_int("truncate", truncate))
  final, ys_tm, saved = forward_with_residuals(rule, unroll_lib.recurrent_params(cp), xp, carry,
                                               mask)
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
  d_rec, d_xp, d_carry0 = backward_scan(rule, unroll_lib.recurrent_params(cp), saved, d_final, d_ys,
                                        mask, keep)
  d_cell = {k: d_rec.get(k, jnp.zeros_like(v)) for k, v in cp.items()}
  d_cell["w_ax"] = jnp.einsum("tbg,tbd->gd", d_xp, xs_tm)
  d_cell["b_a"] = d_xp.sum((0, 1))
  grads = {"cell": d_cell, "readout": d_readout}
  return (j, grads, d_carry0) if return_carry_grad else (j, grads)


# --------------------------------------------------- RTRL reference (seed 000)
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
    g_prime = _tanh_d(a) if activation == "tanh" else (z > 0).astype(z.dtype)
    direct = jnp.einsum("hi,j->hij", eye, a_prev)
    s = g_prime[:, None, None] * (jnp.einsum("hk,kij->hij", w_aa, s_prev) + direct)
    return (a, s), s

  _, s = jax.lax.scan(body, (a0, jnp.zeros((h, h, h), xs.dtype)), xs)
  return s
