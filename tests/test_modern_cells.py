"""LRU, S5, RG-LRU, S6, sLSTM and mLSTM: against the papers' equations (tests/modern_reference.py,
float64 NumPy), their parallel forms against the sequential step, the closed-form backward
against jax.grad, and the papers' initial distributions."""
import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rnn_jax as rj
from tests import modern_reference as ref
from tests.helpers import random_params

B, T, D, H = 3, 7, 4, 6
LENGTHS = np.array([7, 3, 0])
MAKERS = {
    "lru": lambda: rj.lru(state_size=5),
    "s5": lambda: rj.s5(state_size=5),
    "rg_lru": rj.rg_lru,
    "s6": lambda: rj.s6(state_size=3),
    "slstm": rj.slstm,
    "mlstm": lambda: rj.mlstm(heads=2),
}
LINEAR = ("lru", "s5", "rg_lru", "s6")


def _inputs(seed=1, nan_padding=True):
  xs = np.asarray(jax.random.normal(jax.random.PRNGKey(seed), (B, T, D), jnp.float64))
  if nan_padding:  # garbage after each length must not leak
    xs = np.where(np.arange(T)[None, :, None] < LENGTHS[:, None, None], xs, np.nan)
  return jnp.asarray(xs)


def _carry(name, cell, params, key):
  """A random initial carry (h⟨0⟩ ≠ 0) for a batch, in the cell's own form."""
  zero = rj.recurrence.broadcast_carry(cell, params, B, jnp.float64)
  leaves, tree = jax.tree_util.tree_flatten(zero)
  keys = jax.random.split(key, len(leaves))
  leaves = [0.5 * jax.random.normal(k, l.shape, l.dtype) for k, l in zip(keys, leaves)]
  carry = jax.tree_util.tree_unflatten(tree, leaves)
  if name in ("slstm", "mlstm"):  # n⟨0⟩ > 0 keeps the unstabilised reference's c/n defined
    carry = carry[:1] + (jnp.abs(carry[1]) + 0.5,) + carry[2:]
  return carry


def _reference(name, cell, params, xs, carry):
  """(ys [L, H], comparable final state) of the paper's equations for one sequence."""
  if name in ("lru", "s5"):
    n = carry[0].shape[0] // 2
    ys, h = getattr(ref, name)(params, xs, np.asarray(carry[0][:n] + 1j * carry[0][n:]))
    return ys, np.concatenate([h.real, h.imag])
  if name == "rg_lru":
    return ref.rg_lru(params, xs, np.asarray(carry))
  if name == "s6":
    return ref.s6(params, xs, np.asarray(carry[0]))
  c, n, m, h = (np.asarray(v) for v in carry)
  if name == "slstm":
    ys, (c, n, _) = ref.slstm(params, xs, (c * np.exp(m), n * np.exp(m), h))
    return ys, c / n
  big_c = np.swapaxes(c, -1, -2) * np.exp(m)[:, None, None]
  ys, (big_c, n) = ref.mlstm(params, xs, (big_c.copy(), n * np.exp(m)[:, None]), 2)
  return ys, big_c / np.linalg.norm(n, axis=-1)[:, None, None]


def _comparable(name, final):
  """Our final carry in the form ``_reference`` returns (scale-free for the xLSTM cells)."""
  if name in ("lru", "s5", "s6"):
    return np.asarray(final[0])
  if name == "rg_lru":
    return np.asarray(final)
  if name == "slstm":
    return np.asarray(final[0] / final[1])
  c, n = np.asarray(final[0]), np.asarray(final[1])
  return np.swapaxes(c, -1, -2) / np.linalg.norm(n, axis=-1)[..., None, None]


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_step_and_padded_unroll_equal_the_papers_equations(name, x64):
  cell = MAKERS[name]()
  params = random_params(cell, jax.random.PRNGKey(0), D, H, jnp.float64, scale=0.2)
  xs = _inputs()
  carry = _carry(name, cell, params, jax.random.PRNGKey(3))
  # one step, one example
  one = jax.tree_util.tree_map(lambda c: c[0], carry)
  _, y1 = cell.step(params, one, xs[0, 0])
  want, _ = _reference(name, cell, params, np.asarray(xs[0, :1]), one)
  np.testing.assert_allclose(np.asarray(y1), want[0], rtol=1e-10, atol=1e-12)
  # the padded unroll
  final, ys = rj.unroll(cell, params, xs, carry, lengths=jnp.asarray(LENGTHS))
  for b, length in enumerate(LENGTHS):
    row = jax.tree_util.tree_map(lambda c, b=b: c[b], carry)
    want_ys, want_final = _reference(name, cell, params, np.asarray(xs[b, :length]), row)
    if length:
      np.testing.assert_allclose(np.asarray(ys[b, :length]), want_ys, rtol=1e-9, atol=1e-11)
    assert np.all(np.asarray(ys[b, length:]) == 0.0)
    got = jax.tree_util.tree_map(lambda c, b=b: c[b], final)
    np.testing.assert_allclose(_comparable(name, got), want_final, rtol=1e-9, atol=1e-11)


def _loss(ys, final):
  w = jnp.cos(jnp.arange(ys.size, dtype=ys.dtype)).reshape(ys.shape)
  return jnp.sum(w * ys) + sum(jnp.sum(jnp.sin(c)) for c in jax.tree_util.tree_leaves(final))


@pytest.mark.parametrize(  # s5 (complex) in the quick set
    "name", [n if n == "s5" else pytest.param(n, marks=pytest.mark.slow) for n in LINEAR])
def test_parallel_and_closed_form_equal_the_sequential_unroll(name, x64):
  """Values and gradients (params, xs, h⟨0⟩ ≠ 0) with lengths 7, 3, 0 and NaN padding."""
  cell = MAKERS[name]()
  params = random_params(cell, jax.random.PRNGKey(0), D, H, jnp.float64, scale=0.2)
  xs, lengths = _inputs(), jnp.asarray(LENGTHS)
  carry = _carry(name, cell, params, jax.random.PRNGKey(3))

  def run(fn):
    return jax.jit(jax.value_and_grad(lambda p, x, c: _loss(*fn(p, x, c)[::-1]),
                                      (0, 1, 2)))(params, xs, carry)

  want = run(lambda p, x, c: rj.unroll(cell, p, x, c, lengths=lengths, backward="autodiff"))
  # the sequential closed form: test_unroll_closed_form_is_the_reverse_linear_scan
  for method, backward in [("parallel", "autodiff"), ("parallel", "closed_form")]:
    got = run(lambda p, x, c, m=method, b=backward: rj.linear_unroll(
        cell, p, x, c, lengths=lengths, method=m, backward=b))
    chex.assert_trees_all_close(got, want, rtol=1e-9, atol=1e-12)
  a = rj.unroll(cell, params, xs, carry, lengths=lengths, reverse=True)
  b = rj.linear_unroll(cell, params, xs, carry, lengths=lengths, reverse=True)
  chex.assert_trees_all_close(a, b, rtol=1e-9, atol=1e-12)


@pytest.mark.slow  # the closed form run sequentially (the quick set checks it on the scan)
@pytest.mark.parametrize("name", LINEAR)
def test_unroll_closed_form_is_the_reverse_linear_scan(name, x64):
  cell = MAKERS[name]()
  params = random_params(cell, jax.random.PRNGKey(0), D, H, jnp.float64, scale=0.2)
  xs, lengths = _inputs(), jnp.asarray(LENGTHS)
  carry = _carry(name, cell, params, jax.random.PRNGKey(3))
  grads = [
      jax.value_and_grad(
          lambda p, x, c, b=b: _loss(*rj.unroll(cell, p, x, c, lengths=lengths, backward=b)[::-1]),
          (0, 1, 2))(params, xs, carry) for b in ("autodiff", "closed_form")
  ]
  chex.assert_trees_all_close(grads[0], grads[1], rtol=1e-9, atol=1e-12)
  with pytest.raises(ValueError, match="neither truncate nor remat"):
    rj.unroll(cell, params, xs, backward="closed_form", truncate=2)


@pytest.mark.parametrize("dtype",
                         [pytest.param(jnp.float64, marks=pytest.mark.slow), jnp.complex128])
def test_linear_scan_closed_form_backward_equals_jax_grad(dtype, x64):
  keys = jax.random.split(jax.random.PRNGKey(0), 6)
  shape = (11, 2, 3)

  def draw(k1, k2, scale=1.0):
    v = jax.random.normal(k1, shape, jnp.float64)
    if dtype == jnp.complex128:
      v = v + 1j * jax.random.normal(k2, shape, jnp.float64)
    return scale * v

  a, b, h0 = draw(keys[0], keys[1], 0.7), draw(keys[2], keys[3]), draw(keys[4], keys[5])[0]
  loss = lambda hs: jnp.sum(jnp.abs(hs)**2 * jnp.cos(jnp.arange(hs.size).reshape(hs.shape)))
  # an independent forward: the loop written out
  h, hs = h0, []
  for t in range(shape[0]):
    h = a[t] * h + b[t]
    hs.append(h)
  for method in ("parallel", "sequential"):
    got = rj.associative.linear_scan(a, b, h0, method=method, backward="closed_form")
    np.testing.assert_allclose(got, jnp.stack(hs), rtol=1e-12, atol=1e-12)
    g_cf = jax.grad(
        lambda *v: loss(rj.associative.linear_scan(*v, method=method, backward="closed_form")),
        (0, 1, 2))(a, b, h0)
    g_ad = jax.grad(lambda *v: loss(rj.associative.linear_scan(*v, method="sequential")),
                    (0, 1, 2))(a, b, h0)
    chex.assert_trees_all_close(g_cf, g_ad, rtol=1e-9, atol=1e-12)


def test_mlstm_parallel_and_chunkwise_equal_the_sequential_unroll(x64):
  """None is the fully parallel form; chunk 3 does not divide T = 7."""
  cell = MAKERS["mlstm"]()
  params = random_params(cell, jax.random.PRNGKey(0), D, H, jnp.float64, scale=0.2)
  xs, lengths = _inputs(), jnp.asarray(LENGTHS)
  carry = _carry("mlstm", cell, params, jax.random.PRNGKey(3))

  def run(fn):
    return jax.jit(jax.value_and_grad(lambda p, x, c: _loss(*fn(p, x, c)[::-1]),
                                      (0, 1, 2)))(params, xs, carry)

  want = run(lambda p, x, c: rj.unroll(cell, p, x, c, lengths=lengths))
  for chunk in (None, 3):  # 3 does not divide T = 7 (1 and 16: the slow set)
    got = run(lambda p, x, c, k=chunk: rj.mlstm_unroll(cell, p, x, c, lengths=lengths, chunk=k))
    chex.assert_trees_all_close(got, want, rtol=1e-9, atol=1e-12)
  a = jax.jit(lambda p: rj.unroll(cell, p, xs, carry, lengths=lengths, reverse=True))(params)
  b = jax.jit(
      lambda p: rj.mlstm_unroll(cell, p, xs, carry, lengths=lengths, reverse=True, chunk=3))(
          params)
  chex.assert_trees_all_close(a, b, rtol=1e-9, atol=1e-12)


@pytest.mark.slow  # chunks of 1 and of more than T
def test_mlstm_chunkwise_at_the_edges(x64):
  cell = MAKERS["mlstm"]()
  params = random_params(cell, jax.random.PRNGKey(0), D, H, jnp.float64, scale=0.2)
  xs, lengths = _inputs(), jnp.asarray(LENGTHS)
  carry = _carry("mlstm", cell, params, jax.random.PRNGKey(3))
  want = rj.unroll(cell, params, xs, carry, lengths=lengths)
  for chunk in (1, 16):
    got = rj.mlstm_unroll(cell, params, xs, carry, lengths=lengths, chunk=chunk)
    chex.assert_trees_all_close(got, want, rtol=1e-9, atol=1e-12)


def _ks_uniform(samples, lo, hi):
  """Kolmogorov–Smirnov statistic of samples against U[lo, hi]."""
  u = np.sort((np.asarray(samples, np.float64) - lo) / (hi - lo))
  n = len(u)
  return max(np.max(np.arange(1, n + 1) / n - u), np.max(u - np.arange(n) / n))


def test_lru_ring_init():
  """|λ|² uniform in [r_min², r_max²] (uniform by area on the ring), arg λ uniform in [0,
  max_phase], γ = √(1 − |λ|²); KS critical value at α = 0.001 is 1.95/√n."""
  r_min, r_max, phase = 0.4, 0.95, np.pi / 3
  p = rj.lru(
      state_size=4000, r_min=r_min, r_max=r_max, max_phase=phase).init(jax.random.PRNGKey(0), 2, 3)
  modulus = np.exp(-np.exp(np.asarray(p["nu_log"], np.float64)))
  n = modulus.size
  assert _ks_uniform(modulus**2, r_min**2, r_max**2) < 1.95 / np.sqrt(n)
  assert _ks_uniform(np.exp(np.asarray(p["theta_log"], np.float64)), 0, phase) < 1.95 / np.sqrt(n)
  np.testing.assert_allclose(np.exp(p["gamma_log"]), np.sqrt(1 - modulus**2), rtol=1e-4)
  # and not uniform in |λ| itself (the test can tell the two apart)
  assert _ks_uniform(modulus, r_min, r_max) > 1.95 / np.sqrt(n)


def test_rg_lru_init_has_a_to_the_c_uniform_in_range():
  p = rj.rg_lru().init(jax.random.PRNGKey(0), 2, 4000)
  a_c = (1.0 / (1.0 + np.exp(-np.asarray(p["Lambda"], np.float64))))**8
  assert a_c.min() >= 0.9 - 1e-6 and a_c.max() <= 0.999 + 1e-6
  assert _ks_uniform(a_c, 0.9, 0.999) < 1.95 / np.sqrt(a_c.size)


def test_s5_init_is_hippo_n_diagonalised():
  """Λ are eigenvalues of HiPPO-N (computed here by np.linalg.eigvals of the matrix written
  out), one of each conjugate pair; Δ log-uniform in [0.001, 0.1]."""
  n = 6
  p = rj.s5(state_size=n).init(jax.random.PRNGKey(0), 2, 3)
  size = 2 * n
  a = np.zeros((size, size))
  for i in range(size):
    for k in range(size):
      if i > k:
        a[i, k] = -np.sqrt(2 * i + 1) * np.sqrt(2 * k + 1)
      elif i == k:
        a[i, k] = -(i + 1)
  s = a + np.outer(np.sqrt(np.arange(size) + 0.5), np.sqrt(np.arange(size) + 0.5))
  eig = np.linalg.eigvals(s)
  lam = np.asarray(p["Lambda_re"]) + 1j * np.asarray(p["Lambda_im"])
  for v in lam:
    assert np.min(np.abs(eig - v)) < 1e-4
  np.testing.assert_allclose(np.sort(np.abs(lam.imag)), np.sort(np.abs(eig.imag))[::2], atol=1e-4)
  dt = np.exp(np.asarray(p["log_step"]))
  assert dt.min() >= 1e-3 * (1 - 1e-6) and dt.max() <= 0.1 * (1 + 1e-6)


def test_s6_init_is_s4d_real_with_deltas_in_range():
  p = rj.s6(state_size=5).init(jax.random.PRNGKey(0), 3, 400)
  np.testing.assert_allclose(-np.exp(p["A_log"]), -np.tile(np.arange(1, 6), (400, 1)), rtol=1e-6)
  dt = np.log1p(np.exp(np.asarray(p["b_delta"], np.float64)))
  assert dt.min() >= 1e-3 * 0.999 and dt.max() <= 0.1 * 1.001
  np.testing.assert_array_equal(p["D"], np.ones(400))


def test_slstm_stabiliser_equals_the_plain_form_and_stays_finite_where_it_overflows():
  cells = {s: rj.slstm(stabilize=s) for s in (True, False)}
  params = random_params(cells[True], jax.random.PRNGKey(0), D, H, scale=0.3)
  xs = jax.random.normal(jax.random.PRNGKey(1), (B, T, D))
  ys = {s: rj.unroll(c, params, xs)[1] for s, c in cells.items()}
  np.testing.assert_allclose(ys[True], ys[False], rtol=2e-5, atol=1e-6)
  big = {**params, "b_a": params["b_a"].at[:H].add(100.0)}  # exp(ĩ) > float32's max
  plain = rj.unroll(cells[False], big, xs)[1]
  assert not np.all(np.isfinite(plain))
  stable = rj.unroll(cells[True], big, xs)[1]
  assert np.all(np.isfinite(stable))
  grads = jax.grad(lambda p: jnp.sum(rj.unroll(cells[True], p, xs)[1]))(big)
  assert all(np.all(np.isfinite(g)) for g in jax.tree_util.tree_leaves(grads))


@pytest.mark.slow  # end-to-end (six cells through every layer, linen, a model and decoding)
@pytest.mark.parametrize("name", sorted(MAKERS))
def test_new_cells_work_in_layers_linen_decoding_and_refuse_conversion(name):
  from rnn_jax.linen import RNNCell
  import flax.linen as nn
  cell = MAKERS[name]()
  xs = jax.random.normal(jax.random.PRNGKey(1), (B, T, D))
  lengths = jnp.asarray(LENGTHS)
  bi = rj.bidirectional(cell)
  p = bi.init(jax.random.PRNGKey(0), D, H)
  _, ys = bi.apply(p, xs, lengths=lengths)
  chex.assert_shape(ys, (B, T, 2 * H))
  _, back = rj.unroll(cell, p["bwd"], xs, lengths=lengths, reverse=True)
  np.testing.assert_allclose(ys[..., H:], back, atol=1e-6)
  deep = rj.stacked([cell, cell], residual=True)
  pd = deep.init(jax.random.PRNGKey(0), D, H)
  _, yd = deep.apply(pd, xs, lengths=lengths)
  chex.assert_tree_all_finite(yd)
  rnn = nn.RNN(RNNCell(cell, H), return_carry=True)
  variables = rnn.init(jax.random.PRNGKey(0), xs, seq_lengths=lengths)
  _, y_linen = rnn.apply(variables, xs, seq_lengths=lengths)
  _, y_ref = rj.unroll(cell, variables["params"]["cell"], xs, lengths=lengths)
  valid = np.arange(T)[None, :, None] < LENGTHS[:, None, None]
  np.testing.assert_allclose(np.where(valid, y_linen, 0.0), y_ref, atol=1e-5)
  lm = rj.models.language_model(cell, 11, H)
  plm = lm.init(jax.random.PRNGKey(0))
  tokens, out_lengths = rj.decoding.greedy(
      lm.step_fn, plm, lm.initial_state(plm, 2), jnp.array([1, 2]), max_len=5)
  chex.assert_shape(tokens, (2, 5))
  loss = lm.loss(plm, jax.random.randint(jax.random.PRNGKey(2), (2, 9), 0, 11))
  assert np.isfinite(float(loss))
  params = cell.init(jax.random.PRNGKey(0), D, H)
  with pytest.raises(ValueError, match="params for"):
    rj.interop.to_torch(params, "lstm")
  with pytest.raises(ValueError, match="params for"):
    rj.interop.to_flax(params, "LSTMCell")


def test_bad_arguments_are_named():
  with pytest.raises(ValueError, match="linear form"):
    rj.linear_unroll(rj.lstm(), {}, jnp.zeros((1, 2, 3)))
  with pytest.raises(ValueError, match="mlstm cell"):
    rj.mlstm_unroll(rj.gru(), {}, jnp.zeros((1, 2, 3)))
  with pytest.raises(ValueError, match="multiple of heads"):
    rj.mlstm(heads=4).init(jax.random.PRNGKey(0), 3, 6)
  with pytest.raises(ValueError, match="r_min"):
    rj.lru(r_min=0.9, r_max=0.5)
  with pytest.raises(ValueError, match="a_min"):
    rj.rg_lru(a_min=0.99, a_max=0.9)
  with pytest.raises(ValueError, match="state_size"):
    rj.s6(state_size=0)
  cell = rj.lru()
  p = cell.init(jax.random.PRNGKey(0), 3, 4)
  with pytest.raises(ValueError, match="method"):
    rj.linear_unroll(cell, p, jnp.zeros((1, 2, 3)), method="fast")
  with pytest.raises(ValueError, match="chunk"):
    rj.mlstm_unroll(
        rj.mlstm(), rj.mlstm().init(jax.random.PRNGKey(0), 3, 4), jnp.zeros((1, 2, 3)), chunk=0)


@pytest.mark.slow  # six cells compiled twice
def test_new_cells_under_mixed_precision_stay_close_to_float32():
  """bfloat16 compute (complex arithmetic of LRU and S5 stays float32: XLA has no bf16 complex)."""
  xs = jax.random.normal(jax.random.PRNGKey(1), (2, 5, D))
  for name, make in MAKERS.items():
    cell = make()
    params = cell.init(jax.random.PRNGKey(0), D, H)
    _, ref_ys = rj.unroll(cell, params, xs)
    _, ys = rj.unroll(rj.mixed_precision(cell), params, xs)
    assert ys.dtype == jnp.float32, name
    np.testing.assert_allclose(ys, ref_ys, atol=0.05, err_msg=name)
