"""Diagonal complex linear recurrences: LRU and S5.

Both have a complex state s⟨t⟩ ∈ ℂᴺ with a diagonal transition and a real readout:

  LRU (Orvieto et al. 2023, "Resurrecting recurrent neural networks for long sequences"):
    λ = exp(−exp(ν_log) + i·exp(θ_log)),   γ = exp(γ_log)
    s⟨t⟩ = λ ⊙ s⟨t−1⟩ + γ ⊙ (B x⟨t⟩),       y⟨t⟩ = Re(C s⟨t⟩) + D x⟨t⟩
  init: |λ| uniform on the ring r_min ≤ |λ| ≤ r_max by area (|λ|² uniform in [r_min², r_max²]),
  arg λ uniform in [0, max_phase], γ = √(1 − |λ|²); B_re, B_im ~ N(0, 1/(2D)), C_re, C_im ~
  N(0, 1/N) (the paper's Glorot-style choice).

  S5 (Smith, Warrington & Linderman 2023, "Simplified state space layers"):
    Λ̄ = exp(Λ Δ),  B̄ = ((Λ̄ − 1)/Λ) ⊙ B̃  (zero-order hold, Δ = exp(log_step) per state)
    s⟨t⟩ = Λ̄ ⊙ s⟨t−1⟩ + B̄ x⟨t⟩,            y⟨t⟩ = 2 Re(C̃ s⟨t⟩) + D x⟨t⟩
  init: Λ the eigenvalues of HiPPO-N (the normal part of HiPPO-LegS) of size 2N with V its
  eigenvectors; conjugate symmetry keeps N of the 2N (hence the 2 in 2 Re); B̃ = V⁻¹B with B
  LeCun-normal, C̃ = C V with C complex normal of variance 1/(2N) per part, log_step uniform in
  [log 0.001, log 0.1]. One block (S5's J = 1).

Where the papers map H features to H features with a diagonal D, these cells map D inputs to H
outputs, so D is a full ``[H, D]`` matrix (N(0, 1/D)). The state size N is ``state_size``
(default H).

The complex state is carried as real pairs: ``carry = (s_pairs [2N], y [H])`` with ``s_pairs =
[Re s, Im s]`` and y⟨t⟩ the last output (``hidden_of`` reads it). Every generic part of the
library (masks, checkpoints, ``rnn_jax.linen``, dtype checks) then sees real float arrays only;
the complex arithmetic happens inside ``gates`` and the associative scan. The input projection
(``project``) is the real ``[2N + H]`` vector [Re b⟨t⟩, Im b⟨t⟩, D x⟨t⟩].
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from rnn_jax.cells.base import lead, make_cell, mv
from rnn_jax.types import Cell, LinearForm, check_positive_int


def complex_of(re, im):
  """re + i·im, in complex64 at least: XLA has no bfloat16 complex, so under
  ``mixed_precision`` the complex arithmetic of these cells stays in float32."""
  dtype = jnp.promote_types(jnp.result_type(re, im), jnp.float32)
  return jax.lax.complex(re.astype(dtype), im.astype(dtype))


def as_complex(pairs):
  """[..., 2N] real pairs [Re, Im] → [..., N] complex."""
  n = pairs.shape[-1] // 2
  return complex_of(pairs[..., :n], pairs[..., n:])


def as_pairs(s):
  """[..., N] complex → [..., 2N] real pairs [Re, Im]."""
  return jnp.concatenate([jnp.real(s), jnp.imag(s)], axis=-1)


def linear_cell(kind, options, init, initial_carry, form: LinearForm, project_fn, hidden_size):
  """A :class:`Cell` whose gates are s⟨t⟩ = a ⊙ s⟨t−1⟩ + b followed by ``form.emit``."""

  def gates(params, carry, xp):
    a, b = form.coefficients(params, xp)
    new, y = form.emit(params, a * form.state_of(carry) + b, xp)
    return new, y, None

  return make_cell(
      kind,
      options,
      init,
      initial_carry,
      gates,
      project_fn=project_fn,
      hidden_size=hidden_size,
      linear=form)


def _pairs_carry(state_size):

  def initial_carry(hidden_size, dtype=jnp.float32):
    h = check_positive_int("hidden_size", hidden_size)
    n = h if state_size is None else state_size
    return jnp.zeros((2 * n,), dtype), jnp.zeros((h,), dtype)

  return initial_carry


def _normal(key, shape, var, dtype):
  return (jax.random.normal(key, shape, jnp.float32) * math.sqrt(var)).astype(dtype)


def _pairs_form(scale: float):
  """The LinearForm shared by LRU (scale 1) and S5 (scale 2: conjugate symmetry)."""

  def coefficients(params, xp):
    lam = transition(params)
    n = lam.shape[0]
    b = complex_of(xp[..., :n], xp[..., n:2 * n])
    return jnp.broadcast_to(lam, b.shape), b

  def emit(params, s, xp):
    n = s.shape[-1]
    y = scale * (mv(jnp.real(s), params["C_re"]) - mv(jnp.imag(s), params["C_im"]))
    y = y + xp[..., 2 * n:]
    return (as_pairs(s), y), y

  return LinearForm(coefficients, lambda carry: as_complex(carry[0]), emit)


def transition(params):
  """The diagonal transition λ (LRU) or Λ̄ (S5) of ``params`` as a complex ``[N]``."""
  if "nu_log" in params:
    return jnp.exp(complex_of(-jnp.exp(params["nu_log"]), jnp.exp(params["theta_log"])))
  lam = complex_of(params["Lambda_re"], params["Lambda_im"])
  return jnp.exp(lam * jnp.exp(params["log_step"]))


def lru(state_size: int | None = None,
        r_min: float = 0.0,
        r_max: float = 1.0,
        max_phase: float = 2 * math.pi) -> Cell:
  """LRU: params ``nu_log, theta_log, gamma_log [N]``, ``B_re, B_im [N, D]``, ``C_re, C_im
  [H, N]``, ``D [H, D]``. Ring init as in the paper's appendix (defaults r_min = 0, r_max = 1,
  max_phase = 2π; its long-range runs use r_min = 0.9, r_max = 0.999, max_phase = π/10)."""
  if state_size is not None:
    check_positive_int("state_size", state_size)
  if not 0.0 <= r_min < r_max <= 1.0:
    raise ValueError(f"need 0 <= r_min < r_max <= 1, got r_min={r_min}, r_max={r_max}.")

  def init(key, input_size, hidden_size, dtype=jnp.float32):
    d = check_positive_int("input_size", input_size)
    h = check_positive_int("hidden_size", hidden_size)
    n = h if state_size is None else state_size
    k = jax.random.split(key, 7)
    tiny = float(np.finfo(np.float32).tiny)
    u1 = jax.random.uniform(k[0], (n,), jnp.float32, tiny, 1.0)
    u2 = jax.random.uniform(k[1], (n,), jnp.float32)
    nu_log = jnp.log(-0.5 * jnp.log(u1 * (r_max**2 - r_min**2) + r_min**2))
    theta_log = jnp.log(max_phase * u2 + tiny)
    gamma_log = 0.5 * jnp.log1p(-jnp.exp(-2.0 * jnp.exp(nu_log)))
    params = {"nu_log": nu_log, "theta_log": theta_log, "gamma_log": gamma_log}
    params = {k_: v.astype(dtype) for k_, v in params.items()}
    params.update(
        B_re=_normal(k[2], (n, d), 1.0 / (2 * d), dtype),
        B_im=_normal(k[3], (n, d), 1.0 / (2 * d), dtype),
        C_re=_normal(k[4], (h, n), 1.0 / n, dtype),
        C_im=_normal(k[5], (h, n), 1.0 / n, dtype),
        D=_normal(k[6], (h, d), 1.0 / d, dtype))
    return params

  def project(params, x):
    re, im = mv(x, params["B_re"]), mv(x, params["B_im"])
    gamma = lead(jnp.exp(params["gamma_log"]), re)
    return jnp.concatenate([gamma * re, gamma * im, mv(x, params["D"])], axis=-1)

  options = {"state_size": state_size, "r_min": r_min, "r_max": r_max, "max_phase": max_phase}
  return linear_cell("lru", options, init, _pairs_carry(state_size), _pairs_form(1.0), project,
                     lambda params: params["D"].shape[0])


def hippo_n(size: int):
  """(Λ [size] complex, V [size, size]) of HiPPO-N: S = A + p pᵀ with A the (negated)
  HiPPO-LegS matrix and p_n = √(n + ½), so S + ½I is skew-symmetric; Λ = −½ + i·ω with ω the
  eigenvalues of the Hermitian −i(S + ½I), in eigh's ascending order."""
  p = np.sqrt(1.0 + 2.0 * np.arange(size))
  a = -(np.tril(p[:, None] * p[None, :]) - np.diag(np.arange(size)))
  q = np.sqrt(np.arange(size) + 0.5)
  s = a + q[:, None] * q[None, :]
  omega, v = np.linalg.eigh(-1j * (s + 0.5 * np.eye(size)))
  return np.diag(s).mean() + 1j * omega, v


def s5(state_size: int | None = None, dt_min: float = 1e-3, dt_max: float = 1e-1) -> Cell:
  """S5: params ``Lambda_re, Lambda_im, log_step [N]``, ``B_re, B_im [N, D]`` (B̃), ``C_re,
  C_im [H, N]`` (C̃), ``D [H, D]``; ZOH discretisation inside ``project`` and ``gates``."""
  if state_size is not None:
    check_positive_int("state_size", state_size)
  if not 0.0 < dt_min < dt_max:
    raise ValueError(f"need 0 < dt_min < dt_max, got dt_min={dt_min}, dt_max={dt_max}.")

  def init(key, input_size, hidden_size, dtype=jnp.float32):
    d = check_positive_int("input_size", input_size)
    h = check_positive_int("hidden_size", hidden_size)
    n = h if state_size is None else state_size
    lam, v = hippo_n(2 * n)
    lam, v = lam[:n], v[:, :n]  # conjugate symmetry: one of each pair (S5 keeps the first N)
    k = jax.random.split(key, 5)
    v = jnp.asarray(v, jnp.complex64)  # a constant of N: traceable under jit and eval_shape
    b = jax.random.normal(k[0], (2 * n, d), jnp.float32) / math.sqrt(d)
    c = jax.lax.complex(*(jax.random.normal(kk, (h, 2 * n), jnp.float32) for kk in k[1:3]))
    b_t, c_t = v.conj().T @ b, (c / math.sqrt(2 * n)) @ v
    log_step = jax.random.uniform(k[3], (n,), jnp.float32, math.log(dt_min), math.log(dt_max))
    arrays = {
        "Lambda_re": lam.real,
        "Lambda_im": lam.imag,
        "log_step": log_step,
        "B_re": jnp.real(b_t),
        "B_im": jnp.imag(b_t),
        "C_re": jnp.real(c_t),
        "C_im": jnp.imag(c_t)
    }
    params = {k_: jnp.asarray(v_, dtype) for k_, v_ in arrays.items()}
    params["D"] = _normal(k[4], (h, d), 1.0 / d, dtype)
    return params

  def project(params, x):
    lam = complex_of(params["Lambda_re"], params["Lambda_im"])
    bx = complex_of(mv(x, params["B_re"]), mv(x, params["B_im"]))
    bx = lead((transition(params) - 1.0) / lam, bx) * bx
    dx = mv(x, params["D"])
    return jnp.concatenate([jnp.real(bx).astype(dx.dtype),
                            jnp.imag(bx).astype(dx.dtype), dx],
                           axis=-1)

  options = {"state_size": state_size, "dt_min": dt_min, "dt_max": dt_max}
  return linear_cell("s5", options, init, _pairs_carry(state_size), _pairs_form(2.0), project,
                     lambda params: params["D"].shape[0])
