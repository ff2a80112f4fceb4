"""Vanilla (Elman) cells: tanh/relu RNN (IRNN with identity init) and the orthogonal expRNN."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from rnn_jax.cells.base import gate_init, lead, make_cell, mv, rec, zeros_carry
from rnn_jax.types import Cell, check_choice, check_positive_int

ACTIVATIONS = {"tanh": jnp.tanh, "relu": jax.nn.relu}


def simple_rnn(activation: str = "tanh",
               recurrent_init: str = "orthogonal",
               input_std: float | None = None) -> Cell:
  """Vanilla (Elman) RNN cell.

    a⟨t⟩ = g(w_aa a⟨t−1⟩ + w_ax x⟨t⟩ + b_a),   g ∈ {tanh, relu}

  Params: ``w_ax [H, D]``, ``w_aa [H, H]``, ``b_a [H]``. Carry: ``a [H]``. Gate residual:
  a⟨t⟩ (g′ is read from it: 1 − a² for tanh, [a > 0] for relu).
  ``activation="relu", recurrent_init="identity"`` is the IRNN of Le, Jaitly &
  Hinton (2015), "A Simple Way to Initialize Recurrent Networks of ReLUs"; ``make_cell("irnn")``
  also draws w_ax from N(0, 0.001²) as they did (``input_std``; default: Glorot-uniform), which
  keeps a⟨t⟩ small while the identity w_aa carries it over hundreds of steps.
  """
  check_choice("activation", activation, ACTIVATIONS)
  check_choice("recurrent_init", recurrent_init, ("orthogonal", "identity"))
  if input_std is not None and not input_std > 0:
    raise ValueError(f"input_std must be > 0 or None, got {input_std!r}.")
  g = ACTIVATIONS[activation]

  def gates(params, a_prev, xp):
    a = g(xp + rec(params, a_prev, "all", slice(None)))
    return a, a, a

  return make_cell("simple_rnn", {"activation": activation},
                   gate_init(1, recurrent_init, input_std=input_std), zeros_carry, gates)


def modrelu(z, b):
  """modReLU (Arjovsky et al. 2016), real form: sign(z) · relu(|z| + b)."""
  return jnp.sign(z) * jax.nn.relu(jnp.abs(z) + b)


def exp_rnn() -> Cell:
  """Orthogonal RNN with modReLU, parametrised by the matrix exponential (expRNN,
  Lezcano-Casado & Martínez-Rubio 2019).

    a⟨t⟩ = modrelu(w_aa a⟨t−1⟩ + w_ax x⟨t⟩; b_a),   w_aa = expm(A − Aᵀ),
    modrelu(z; b) = sign(z) · relu(|z| + b)

  A − Aᵀ is skew-symmetric, so w_aa is orthogonal for every A: ‖w_aa v‖ = ‖v‖ and all
  eigenvalues of w_aa lie on the unit circle, the products of Jacobians through time neither
  explode nor (apart from g′ of modReLU) vanish. Gradient descent on A keeps w_aa exactly
  orthogonal. Params: ``w_ax [H, D]``, ``log_w_aa [H, H]`` (A), ``b_a [H]`` (the modReLU bias);
  A starts as Henaff et al.'s (2016) block-diagonal rotations by angles θ ~ U(−π, π).
  ``prepare`` computes w_aa once per unroll. Backward: autodiff (no closed form).
  """

  def init(key, input_size, hidden_size, dtype=jnp.float32):
    d = check_positive_int("input_size", input_size)
    h = check_positive_int("hidden_size", hidden_size)
    kx, ka, kb = jax.random.split(key, 3)
    theta = jax.random.uniform(ka, (h // 2,), dtype, -jnp.pi, jnp.pi)
    rows = jnp.arange(h // 2) * 2
    skew = jnp.zeros((h, h), dtype).at[rows, rows + 1].set(theta)  # expm: 2×2 rotations by θ
    return {
        "w_ax": jax.random.normal(kx, (h, d), dtype) * jnp.sqrt(2.0 / d).astype(dtype),
        "log_w_aa": skew,
        "b_a": jax.random.uniform(kb, (h,), dtype, -0.01, 0.01)
    }

  def prepare(params):
    if "w_aa" in params:
      return params
    a = params["log_w_aa"]
    return {"w_ax": params["w_ax"], "w_aa": jax.scipy.linalg.expm(a - a.T), "b_a": params["b_a"]}

  def project(params, x):
    return mv(x, params["w_ax"])

  def gates(params, a_prev, xp):
    z = xp + mv(a_prev, params["w_aa"])
    a = modrelu(z, lead(params["b_a"], z))
    return a, a, a

  return make_cell("exp_rnn", {}, init, zeros_carry, gates, project, prepare,
                   lambda p: p["w_ax"].shape[0])
