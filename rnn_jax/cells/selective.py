"""Diagonal real recurrences with input-dependent (selective) decay: RG-LRU and S6.

RG-LRU (De et al. 2024, "Griffin"; the recurrence of Hawk and RecurrentGemma):
  r⟨t⟩ = σ(w_r x⟨t⟩ + b_r)   (recurrence gate)      i⟨t⟩ = σ(w_i x⟨t⟩ + b_i)   (input gate)
  x̃⟨t⟩ = w_x x⟨t⟩ + b_x     (the input, mapped to H)
  a⟨t⟩ = σ(Λ)^(c·r⟨t⟩), i.e. log a⟨t⟩ = −c·r⟨t⟩·softplus(−Λ),  c = 8
  h⟨t⟩ = a⟨t⟩ ⊙ h⟨t−1⟩ + √(1 − a⟨t⟩²) ⊙ (i⟨t⟩ ⊙ x̃⟨t⟩),       y⟨t⟩ = h⟨t⟩
  init: Λ such that σ(Λ)^c is uniform in [0.9, 0.999] (the paper's rule; RecurrentGemma's code
  draws σ(Λ) itself with σ(Λ)² uniform in [0.81, 0.998]); w Glorot-uniform, b = 0. The
  square root's derivative is bounded by 1000, as in RecurrentGemma (``sqrt_bounded``). In
  Griffin x̃ is the block's input itself (width H) and the gates are block-diagonal; here the
  cell maps D inputs to H with one dense ``w_ax`` (x̃ is its third block) and there is no
  reset at document boundaries (pass a zero carry instead).

S6 (Gu & Dao 2023, "Mamba", Algorithm 2), with channels u of width H:
  u⟨t⟩ = w_u x⟨t⟩,  Δ⟨t⟩ = softplus(w_Δ x⟨t⟩ + b_Δ) [H],  B⟨t⟩ = w_B x⟨t⟩ [N],  C⟨t⟩ = w_C x⟨t⟩ [N]
  A = −exp(A_log) [H, N],  Ā⟨t⟩ = exp(Δ⟨t⟩ A),  B̄⟨t⟩ u⟨t⟩ = (Δ⟨t⟩ ⊙ u⟨t⟩) B⟨t⟩ᵀ
  h⟨t⟩ = Ā⟨t⟩ ⊙ h⟨t−1⟩ + B̄⟨t⟩ u⟨t⟩  [H, N],    y⟨t⟩ = h⟨t⟩ C⟨t⟩ + D ⊙ u⟨t⟩
  init: A_log[:, n] = log(n + 1) (S4D-real), D = 1, b_Δ = softplus⁻¹(Δ₀) with Δ₀ log-uniform in
  [0.001, 0.1] (floor 1e-4); w_u, w_B, w_C Glorot-uniform, w_Δ uniform(±1/√D). Mamba computes
  Δ from u through a rank-⌈D/16⌉ map; here w_Δ is full rank and reads x⟨t⟩ (u is linear in x, so
  the family of maps is the same up to that rank). The discretisation is Mamba's: ZOH for A,
  Euler for B. ``w_ax`` is ``[2H + 2N, D]`` in order (u, Δ, B, C); only Δ has a bias.
  Carry ``(h [H, N], y [H])``.
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from rnn_jax.cells.base import gate_init, glorot_uniform, lead, mv, project
from rnn_jax.cells.diagonal import linear_cell
from rnn_jax.types import Cell, LinearForm, check_positive_int


@jax.custom_jvp
def sqrt_bounded(x):
  """√x whose derivative is capped at 1000 (finite where 1 − a⟨t⟩² underflows to 0)."""
  return jnp.sqrt(x)


@sqrt_bounded.defjvp
def _sqrt_bounded_jvp(primals, tangents):
  y = jnp.sqrt(primals[0])
  return y, tangents[0] * 0.5 / jnp.maximum(y, 5e-4)


def rg_lru(c: float = 8.0, a_min: float = 0.9, a_max: float = 0.999) -> Cell:
  """RG-LRU: params ``w_ax [3H, D]``, ``b_a [3H]`` in order (r, i, x̃) and ``Lambda [H]``."""
  if not 0.0 < a_min < a_max < 1.0:
    raise ValueError(f"need 0 < a_min < a_max < 1, got a_min={a_min}, a_max={a_max}.")
  if not c > 0:
    raise ValueError(f"c must be > 0, got {c!r}.")

  def decay(params, h, dtype, key):
    u = jax.random.uniform(key, (h,), jnp.float32, a_min, a_max)  # a^c
    a = u**(1.0 / c)
    return {**params, "Lambda": (jnp.log(a) - jnp.log1p(-a)).astype(dtype)}

  def coefficients(params, xp):
    h = params["Lambda"].shape[0]
    r, i, x = jax.nn.sigmoid(xp[..., :h]), jax.nn.sigmoid(xp[..., h:2 * h]), xp[..., 2 * h:]
    log_a = -c * r * lead(jax.nn.softplus(-params["Lambda"]), r)
    return jnp.exp(log_a), sqrt_bounded(-jnp.expm1(2.0 * log_a)) * (i * x)

  def initial_carry(hidden_size, dtype=jnp.float32):
    return jnp.zeros((check_positive_int("hidden_size", hidden_size),), dtype)

  form = LinearForm(coefficients, lambda carry: carry, lambda params, s, xp: (s, s))
  init = gate_init(3, recurrent=False, bias_fn=decay)
  return linear_cell("rg_lru", {
      "c": c,
      "a_min": a_min,
      "a_max": a_max
  }, init, initial_carry, form, project, lambda params: params["Lambda"].shape[0])


def s6(state_size: int = 16, dt_min: float = 1e-3, dt_max: float = 1e-1) -> Cell:
  """S6: params ``w_ax [2H + 2N, D]`` (u, Δ, B, C), ``b_delta [H]``, ``A_log [H, N]``,
  ``D [H]``; N = ``state_size`` (Mamba's default 16)."""
  n = check_positive_int("state_size", state_size)
  if not 0.0 < dt_min < dt_max:
    raise ValueError(f"need 0 < dt_min < dt_max, got dt_min={dt_min}, dt_max={dt_max}.")

  def init(key, input_size, hidden_size, dtype=jnp.float32):
    d = check_positive_int("input_size", input_size)
    h = check_positive_int("hidden_size", hidden_size)
    k = jax.random.split(key, 5)
    w_delta = jax.random.uniform(k[1], (h, d), dtype, -1.0, 1.0) / math.sqrt(d)
    w_ax = jnp.concatenate([
        glorot_uniform(k[0], (h, d), dtype), w_delta,
        glorot_uniform(k[2], (n, d), dtype),
        glorot_uniform(k[3], (n, d), dtype)
    ])
    u = jax.random.uniform(k[4], (h,), jnp.float32)
    dt = jnp.maximum(jnp.exp(u * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min)), 1e-4)
    return {
        "w_ax": w_ax,
        "b_delta": (dt + jnp.log(-jnp.expm1(-dt))).astype(dtype),
        "A_log": jnp.tile(jnp.log(jnp.arange(1, n + 1, dtype=jnp.float32)), (h, 1)).astype(dtype),
        "D": jnp.ones((h,), dtype)
    }

  def project_s6(params, x):
    z = mv(x, params["w_ax"])
    h = params["D"].shape[0]
    return z.at[..., h:2 * h].add(lead(params["b_delta"], z[..., :h]))

  def coefficients(params, xp):
    h = params["D"].shape[0]
    u, dt = xp[..., :h], jax.nn.softplus(xp[..., h:2 * h])
    b_t = xp[..., 2 * h:2 * h + n]
    big_a = -jnp.exp(params["A_log"])
    a = jnp.exp(dt[..., None] * big_a.reshape((1,) * (dt.ndim - 1) + big_a.shape))
    return a, (dt * u)[..., None] * b_t[..., None, :]

  def emit(params, s, xp):
    h = params["D"].shape[0]
    u, c_t = xp[..., :h], xp[..., 2 * h + n:]
    y = jnp.sum(s * c_t[..., None, :], axis=-1) + lead(params["D"], u) * u
    return (s, y), y

  def initial_carry(hidden_size, dtype=jnp.float32):
    h = check_positive_int("hidden_size", hidden_size)
    return jnp.zeros((h, n), dtype), jnp.zeros((h,), dtype)

  form = LinearForm(coefficients, lambda carry: carry[0], emit)
  options = {"state_size": n, "dt_min": dt_min, "dt_max": dt_max}
  return linear_cell("s6", options, init, initial_carry, form, project_s6,
                     lambda params: params["D"].shape[0])
