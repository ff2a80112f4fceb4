"""Each cell against an independent Python-loop reference; inits; readout; bad names."""
import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rnn_jax as rj
from tests import reference
from tests.helpers import CELL_VARIANTS, random_params


@pytest.mark.parametrize("name", sorted(CELL_VARIANTS))
def test_cell_matches_python_loop_reference(name):
  # Given a cell with random params and one random sequence
  cell = CELL_VARIANTS[name]()
  key = jax.random.PRNGKey(0)
  d, h, t = 3, 5, 6
  params = random_params(cell, key, d, h)
  xs = jax.random.normal(jax.random.PRNGKey(1), (2, t, d))
  # When stepping it by hand with the pure step function
  carry = jax.tree_util.tree_map(lambda c: c, cell.initial_carry(h))
  ys = []
  for i in range(t):
    carry, y = cell.step(params, carry, xs[0, i])
    ys.append(y)
  # Then it equals the numpy reference, and so does unroll over the batch
  _, ref_ys = reference.run_batch(cell, params, xs)
  np.testing.assert_allclose(np.stack(ys), ref_ys[0], rtol=1e-5, atol=1e-5)
  _, ys_unrolled = rj.unroll(cell, params, xs)
  np.testing.assert_allclose(ys_unrolled, ref_ys, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", sorted(CELL_VARIANTS))
def test_param_shapes_and_dtypes(name):
  cell = CELL_VARIANTS[name]()
  p = cell.init(jax.random.PRNGKey(0), 3, 4, jnp.float32)
  g = p["w_aa"].shape[0] // 4
  chex.assert_shape(p["w_ax"], (g * 4, 3))
  chex.assert_shape(p["w_aa"], (g * 4, 4))
  chex.assert_shape(p["b_a"], (g * 4,))
  chex.assert_trees_all_equal_dtypes(p, jax.tree_util.tree_map(lambda v: v.astype(jnp.float32), p))
  carry = cell.initial_carry(4)
  for leaf in jax.tree_util.tree_leaves(carry):
    chex.assert_shape(leaf, (4,))
    assert float(jnp.abs(leaf).sum()) == 0.0


def test_irnn_identity_and_orthogonal_recurrent_init():
  p = rj.simple_rnn("relu", "identity").init(jax.random.PRNGKey(0), 3, 6)
  np.testing.assert_array_equal(p["w_aa"], np.eye(6))
  q = rj.lstm().init(jax.random.PRNGKey(0), 3, 6)
  for i in range(4):
    block = np.asarray(q["w_aa"][6 * i:6 * (i + 1)])
    np.testing.assert_allclose(block @ block.T, np.eye(6), atol=1e-5)


def test_peephole_lstm_is_the_papers_form_by_default():
  """Graves (2013), eqs. 7–11, one step in numpy with separate per-gate weights:
  i = σ(W_xi x + W_hi h + w_ci∘c⟨t−1⟩ + b_i), f likewise with w_cf, c = f∘c⟨t−1⟩ + i∘tanh(·),
  o = σ(W_xo x + W_ho h + w_co∘c⟨t⟩ + b_o), h = o∘tanh(c)."""
  d, h = 3, 4
  rng = np.random.default_rng(0)
  W = {g: (rng.normal(size=(h, d)), rng.normal(size=(h, h)), rng.normal(size=h)) for g in "ifgo"}
  w_ci, w_cf, w_co = (rng.normal(size=h) for _ in range(3))
  x, h_prev, c_prev = rng.normal(size=d), rng.normal(size=h), 3.0 * rng.normal(size=h)
  sig = lambda z: 1 / (1 + np.exp(-z))
  pre = {g: W[g][0] @ x + W[g][1] @ h_prev + W[g][2] for g in "ifgo"}
  i, f = sig(pre["i"] + w_ci * c_prev), sig(pre["f"] + w_cf * c_prev)
  c = f * c_prev + i * np.tanh(pre["g"])
  o = sig(pre["o"] + w_co * c)
  params = {
      "w_ax": jnp.asarray(np.concatenate([W[g][0] for g in "ifgo"])),
      "w_aa": jnp.asarray(np.concatenate([W[g][1] for g in "ifgo"])),
      "b_a": jnp.asarray(np.concatenate([W[g][2] for g in "ifgo"])),
      "w_pc": jnp.asarray(np.concatenate([w_ci, w_cf, w_co])),
  }
  carry = (jnp.asarray(c_prev, jnp.float32), jnp.asarray(h_prev, jnp.float32))
  for form in (True, "gers"):
    (c_new, a_new), y = rj.lstm(peephole=form).step(params, carry, jnp.asarray(x, jnp.float32))
    np.testing.assert_allclose(c_new, c, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(a_new, o * np.tanh(c), rtol=1e-5, atol=1e-5)
  # the seeds' variant feeds c⟨t−1⟩ to Γo: a different function of the same params
  (_, a_seeds), _ = rj.lstm(peephole="seeds").step(params, carry, jnp.asarray(x, jnp.float32))
  np.testing.assert_allclose(
      a_seeds, sig(pre["o"] + w_co * c_prev) * np.tanh(c), rtol=1e-5, atol=1e-5)
  assert float(jnp.max(jnp.abs(a_seeds - a_new))) > 1e-3
  with pytest.raises(ValueError, match="peephole must be one of"):
    rj.lstm(peephole="graves")


def test_lstm_forget_bias_only_on_forget_rows():
  p = rj.lstm(forget_bias=2.5).init(jax.random.PRNGKey(0), 3, 4)
  np.testing.assert_array_equal(p["b_a"], np.r_[np.zeros(4), 2.5 * np.ones(4), np.zeros(8)])


def test_gru_reset_after_has_candidate_recurrent_bias():
  assert "b_cc" in rj.gru("after").init(jax.random.PRNGKey(0), 2, 3)
  assert "b_cc" not in rj.gru("before").init(jax.random.PRNGKey(0), 2, 3)


@pytest.mark.parametrize("output,fn",
                         [("identity", lambda z: z), ("sigmoid", lambda z: 1 / (1 + np.exp(-z))),
                          ("softmax", lambda z: np.exp(z) / np.exp(z).sum(-1, keepdims=True))])
def test_dense_readout(output, fn):
  init, apply, _ = rj.dense(output)
  p = init(jax.random.PRNGKey(0), 4, 3)
  a = np.random.default_rng(0).normal(size=(2, 5, 4)).astype(np.float32)
  z = a @ np.asarray(p["w_ya"]).T + np.asarray(p["b_y"])
  np.testing.assert_allclose(apply(p, a), fn(z), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("make,match", [
    (lambda: rj.simple_rnn("sigmoid"), "activation"),
    (lambda: rj.simple_rnn("tanh", "zeros"), "recurrent_init"),
    (lambda: rj.gru("middle"), "reset"),
    (lambda: rj.dense("relu"), "output"),
    (lambda: rj.make_cell("transformer"), "cell"),
    (lambda: rj.lstm().init(jax.random.PRNGKey(0), 0, 4), "input_size"),
    (lambda: rj.lstm().init(jax.random.PRNGKey(0), 3, -1), "hidden_size"),
])
def test_bad_names_and_sizes_raise(make, match):
  with pytest.raises(ValueError, match=match):
    make()


def test_chrono_init_spreads_forget_biases_and_mirrors_the_update_gate():
  p = rj.lstm(chrono=100).init(jax.random.PRNGKey(0), 3, 64)
  b_u, b_f = np.asarray(p["b_a"][:64]), np.asarray(p["b_a"][64:128])
  assert np.all((b_f >= 0.0) & (b_f <= np.log(99.0)))
  assert b_f.std() > 0.5  # spread over time scales, not one constant
  np.testing.assert_array_equal(b_u, -b_f)
  np.testing.assert_array_equal(p["b_a"][128:], 0.0)
  with pytest.raises(ValueError, match="chrono"):
    rj.lstm(chrono=2)


def test_exp_rnn_matches_scipy_expm_and_a_numpy_loop(x64):
  import scipy.linalg
  cell = rj.exp_rnn()
  key = jax.random.PRNGKey(3)
  params = cell.init(key, 5, 6, jnp.float64)
  params = {**params, "log_w_aa": jax.random.normal(key, (6, 6), jnp.float64)}  # any A
  a = np.asarray(params["log_w_aa"])
  w = scipy.linalg.expm(a - a.T)
  np.testing.assert_allclose(w @ w.T, np.eye(6), atol=1e-12)  # orthogonal for every A
  np.testing.assert_allclose(cell.prepare(params)["w_aa"], w, atol=1e-12)
  xs = np.asarray(jax.random.normal(jax.random.fold_in(key, 1), (2, 7, 5), jnp.float64))
  w_ax, b = np.asarray(params["w_ax"]), np.asarray(params["b_a"])
  expected = np.zeros((2, 7, 6))
  for i in range(2):
    h = np.zeros(6)
    for t in range(7):
      z = w @ h + w_ax @ xs[i, t]
      h = np.sign(z) * np.maximum(np.abs(z) + b, 0.0)
      expected[i, t] = h
  _, ys = rj.unroll(cell, params, jnp.asarray(xs), lengths=jnp.array([7, 4]))
  np.testing.assert_allclose(ys[0], expected[0], atol=1e-10)
  np.testing.assert_allclose(ys[1, :4], expected[1, :4], atol=1e-10)
  carry, y = cell.step(params, jnp.zeros(6), jnp.asarray(xs[0, 0]))  # step prepares itself
  np.testing.assert_allclose(y, expected[0, 0], atol=1e-10)


def test_exp_rnn_gradients_match_finite_differences(x64):
  from jax.test_util import check_grads
  cell = rj.exp_rnn()
  params = cell.init(jax.random.PRNGKey(0), 3, 4, jnp.float64)
  params = {**params, "b_a": params["b_a"] + 0.3}  # keep |z| + b away from the kink at 0
  xs = jax.random.normal(jax.random.PRNGKey(1), (2, 5, 3), jnp.float64)
  loss = lambda p: jnp.sum(rj.unroll(cell, p, xs)[1]**2)
  check_grads(loss, (params,), order=1, modes=["rev"], atol=1e-5, rtol=1e-5)
  assert rj.make_cell("exp_rnn").kind == "exp_rnn"


def test_exp_rnn_has_no_closed_form_backward():
  cell = rj.exp_rnn()
  params = cell.init(jax.random.PRNGKey(0), 3, 4)
  with pytest.raises(ValueError, match="'exp_rnn' has no closed-form backward"):
    rj.unroll(cell, params, jnp.zeros((2, 5, 3)), backward="closed_form")


def test_irnn_draws_small_gaussian_input_weights():
  params = rj.make_cell("irnn").init(jax.random.PRNGKey(0), 50, 64)
  assert abs(float(jnp.std(params["w_ax"])) - 1e-3) < 1e-4
  np.testing.assert_array_equal(params["w_aa"], jnp.eye(64))
  glorot = rj.simple_rnn("relu", "identity").init(jax.random.PRNGKey(0), 50, 64)["w_ax"]
  assert float(jnp.std(glorot)) > 0.05
  with pytest.raises(ValueError, match="input_std"):
    rj.simple_rnn(input_std=0.0)
