"""minGRU and minLSTM (Feng et al. 2024, "Were RNNs All We Needed?").

Gates read x⟨t⟩ only, so a⟨t⟩ = α⟨t⟩ ⊙ a⟨t−1⟩ + β⟨t⟩ is linear in a⟨t−1⟩:
  minGRU:  Γu = σ(w_u x⟨t⟩ + b_u),  ã = g(w_h x⟨t⟩ + b_h),  a⟨t⟩ = (1−Γu) a⟨t−1⟩ + Γu ã
  minLSTM: Γf, Γi as Γu; f′ = Γf/(Γf+Γi), i′ = Γi/(Γf+Γi);  a⟨t⟩ = f′ a⟨t−1⟩ + i′ ã
with g(z) = z + ½ for z ≥ 0 and σ(z) otherwise (positive, so log ã exists). They are
ordinary cells (sequential ``step``); ``rnn_jax.parallel_time.associative_unroll`` runs the
whole sequence as one ``lax.associative_scan`` over (log α, log β) from ``log_coefficients``.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from rnn_jax.cells.base import gate_init, make_cell
from rnn_jax.types import Cell, check_positive_int

MIN_CELLS = ("min_gru", "min_lstm")


def g(z):
  return jnp.where(z >= 0, z + 0.5, jax.nn.sigmoid(z))


def log_g(z):
  return jnp.where(z >= 0, jnp.log(jax.nn.relu(z) + 0.5), -jax.nn.softplus(-z))


def log_coefficients(kind, xp, h):
  """log α⟨t⟩, log β⟨t⟩ of a⟨t⟩ = α a⟨t−1⟩ + β from the projections xp [..., G]."""
  if kind == "min_gru":
    k, z = xp[..., :h], xp[..., h:]
    return -jax.nn.softplus(k), -jax.nn.softplus(-k) + log_g(z)
  kf, ki, z = xp[..., :h], xp[..., h:2 * h], xp[..., 2 * h:]
  lf, li = -jax.nn.softplus(-kf), -jax.nn.softplus(-ki)
  norm = jnp.logaddexp(lf, li)
  return lf - norm, li - norm + log_g(z)


def _min_cell(kind: str, blocks: int) -> Cell:

  def gates(params, a_prev, xp):
    h = a_prev.shape[-1]
    if kind == "min_gru":
      u, a_tilde = jax.nn.sigmoid(xp[..., :h]), g(xp[..., h:])
      a = (1.0 - u) * a_prev + u * a_tilde
    else:
      f, i = jax.nn.sigmoid(xp[..., :h]), jax.nn.sigmoid(xp[..., h:2 * h])
      a = (f * a_prev + i * g(xp[..., 2 * h:])) / (f + i)
    return a, a, None

  def initial_carry(hidden_size, dtype=jnp.float32):
    return jnp.zeros((check_positive_int("hidden_size", hidden_size),), dtype)

  return make_cell(
      kind, {},
      gate_init(blocks, recurrent=False),
      initial_carry,
      gates,
      hidden_size=lambda params: params["b_a"].shape[0] // blocks)


def min_gru() -> Cell:
  """minGRU: params ``w_ax [2H, D]``, ``b_a [2H]`` in order (u, ã); no w_aa."""
  return _min_cell("min_gru", 2)


def min_lstm() -> Cell:
  """minLSTM: params ``w_ax [3H, D]``, ``b_a [3H]`` in order (f, i, ã); no w_aa."""
  return _min_cell("min_lstm", 3)
