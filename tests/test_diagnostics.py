"""Gradient-flow diagnostics against independent computations."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rnn_jax as rj
from rnn_jax import diagnostics as dg
from tests.helpers import random_params

T, D, H = 8, 2, 3


def test_vanilla_rnn_jacobian_is_diag_gprime_times_w_aa(x64):
  cell = rj.simple_rnn("tanh")
  p = random_params(cell, jax.random.PRNGKey(0), D, H, jnp.float64)
  xs = jax.random.normal(jax.random.PRNGKey(1), (T, D), jnp.float64)
  jacs = dg.step_jacobians(cell, p, xs)
  a = np.zeros(H)
  for t in range(T):
    z = np.asarray(p["w_aa"]) @ a + np.asarray(p["w_ax"]) @ np.asarray(xs[t]) + np.asarray(p["b_a"])
    a = np.tanh(z)
    np.testing.assert_allclose(jacs[t], np.diag(1 - a**2) @ np.asarray(p["w_aa"]), rtol=1e-10)


@pytest.mark.parametrize("make",
                         [pytest.param(rj.lstm, marks=pytest.mark.slow), rj.gru])  # LSTM: slow set
def test_flow_norms_match_autodiff_from_each_step(make, x64):
  # Independent: differentiate L⟨T⟩ w.r.t. the state s⟨t⟩ by re-running the tail from s⟨t⟩.
  cell = make()
  p = random_params(cell, jax.random.PRNGKey(0), D, H, jnp.float64)
  readout = rj.dense().init(jax.random.PRNGKey(2), H, 2, jnp.float64)
  xs = jax.random.normal(jax.random.PRNGKey(1), (T, D), jnp.float64)
  target = jnp.array([0.3, -0.2])
  flow = dg.gradient_flow(cell, p, xs, readout=readout, target=target)
  carry, states = cell.initial_carry(H, jnp.float64), []
  for t in range(T):
    carry, _ = cell.step(p, carry, xs[t])
    states.append(carry)

  def tail(s, t):
    for k in range(t + 1, T):
      s, _ = cell.step(p, s, xs[k])
    a = s[-1] if isinstance(s, tuple) else s
    z = readout["w_ya"] @ a + readout["b_y"]
    return 0.5 * jnp.sum((z - target)**2), s

  for t in range(T):
    g = jax.grad(lambda s: tail(s, t)[0])(states[t])
    expected = np.linalg.norm(np.concatenate([np.ravel(x) for x in jax.tree_util.tree_leaves(g)]))
    np.testing.assert_allclose(flow["dL_ds"][t], expected, rtol=1e-9)
    a_part = jax.tree_util.tree_leaves(g)[-1]
    np.testing.assert_allclose(flow["dL_da"][t], np.linalg.norm(a_part), rtol=1e-9)
    jac = jax.jacrev(lambda s: jax.flatten_util.ravel_pytree(tail(s, t)[1])[0])(states[t])
    if isinstance(jac, tuple):
      jac = np.concatenate(
          [np.reshape(j, (jac[0].shape[0], -1)) for j in jax.tree_util.tree_leaves(jac)], 1)
    jac = np.asarray(jac)
    np.testing.assert_allclose(flow["ds_ds"][t], np.linalg.norm(jac, 2), rtol=1e-9)
    np.testing.assert_allclose(flow["da_da"][t], np.linalg.norm(jac[-H:, -H:], 2), rtol=1e-9)


def test_batched_is_per_example_vmap():
  cell = rj.gru()
  p = cell.init(jax.random.PRNGKey(0), D, H)
  xs = jax.random.normal(jax.random.PRNGKey(1), (3, T, D))
  out = dg.batched(cell)(p, xs)
  one = dg.gradient_flow(cell, p, xs[1])
  np.testing.assert_allclose(out["ds_ds"][1], one["ds_ds"], rtol=1e-5)
  assert out["ds_ds"].shape == (3, T)


def test_spectral_radius_and_blocks():
  w = np.diag([0.5, -1.5, 1.0])
  assert dg.spectral_radius(w) == pytest.approx(1.5)
  p = rj.lstm().init(jax.random.PRNGKey(0), D, H)
  blocks = dg.recurrent_blocks(p)
  assert len(blocks) == 4 and all(b.shape == (H, H) for b in blocks)
  with pytest.raises(ValueError, match="square"):
    dg.spectral_radius(np.ones((2, 3)))


def test_vanishing_for_contracting_tanh_rnn_growing_for_expanding_linear_regime(x64):
  cell = rj.simple_rnn("tanh")
  p = cell.init(jax.random.PRNGKey(0), D, H, jnp.float64)
  xs = jnp.zeros((30, D), jnp.float64)
  small = dg.gradient_flow(cell, {**p, "w_aa": 0.5 * jnp.eye(H)}, xs)["ds_ds"]
  big = dg.gradient_flow(cell, {**p, "w_aa": 1.5 * jnp.eye(H)}, xs)["ds_ds"]  # a = 0: g′ = 1
  np.testing.assert_allclose(small, 0.5**np.arange(29, -1, -1), rtol=1e-10)
  np.testing.assert_allclose(big, 1.5**np.arange(29, -1, -1), rtol=1e-10)
