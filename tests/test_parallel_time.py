"""minGRU/minLSTM (sequential vs log-space associative scan) and DEER vs sequential."""
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rnn_jax as rj
from rnn_jax import parallel_time as pt
from tests.helpers import max_rel_err

B, T, D, H = 3, 24, 4, 6
LENGTHS = jnp.array([24, 13, 0])


def _np_min(kind, params, xs, a0):
  """The paper's equations, step by step, in float64 numpy."""
  w, b = np.asarray(params["w_ax"], np.float64), np.asarray(params["b_a"], np.float64)
  sig = lambda z: 1 / (1 + np.exp(-z))
  g = lambda z: np.where(z >= 0, z + 0.5, sig(z))
  a, out = np.asarray(a0, np.float64), []
  for x in np.asarray(xs, np.float64):
    z = w @ x + b
    if kind == "min_gru":
      u = sig(z[:H])
      a = (1 - u) * a + u * g(z[H:])
    else:
      f, i = sig(z[:H]), sig(z[H:2 * H])
      a = f / (f + i) * a + i / (f + i) * g(z[2 * H:])
    out.append(a)
  return np.stack(out)


@pytest.mark.parametrize("make", [pytest.param(rj.min_gru, marks=pytest.mark.slow), rj.min_lstm])
def test_min_cells_parallel_equals_sequential_with_masks(make):
  cell = make()
  params = cell.init(jax.random.PRNGKey(0), D, H)
  params = jax.tree_util.tree_map(
      lambda v: v + 0.3 * jax.random.normal(jax.random.PRNGKey(2), v.shape), params)
  xs = jax.random.normal(jax.random.PRNGKey(1), (B, T, D))
  c0 = jax.random.normal(jax.random.PRNGKey(3), (B, H))
  f_seq, y_seq = jax.jit(lambda p: rj.unroll(cell, p, xs, c0, lengths=LENGTHS))(params)
  f_par, y_par = jax.jit(lambda p: pt.associative_unroll(cell, p, xs, c0, lengths=LENGTHS))(params)
  np.testing.assert_allclose(y_par, y_seq, atol=1e-5, rtol=1e-5)
  np.testing.assert_allclose(f_par, f_seq, atol=1e-5, rtol=1e-5)
  np.testing.assert_allclose(y_seq[0], _np_min(cell.kind, params, xs[0], c0[0]), atol=1e-5)
  np.testing.assert_allclose(f_seq[2], c0[2])  # length 0 keeps the initial carry
  loss = lambda fn: lambda p, c: jnp.sum(fn(cell, p, xs, c, lengths=LENGTHS)[1]**2)
  g_seq = jax.jit(jax.grad(loss(rj.unroll), argnums=(0, 1)))(params, c0)
  g_par = jax.jit(jax.grad(loss(pt.associative_unroll), argnums=(0, 1)))(params, c0)
  assert max_rel_err(g_par, g_seq) <= 1e-5


@pytest.mark.parametrize(  # each cell, each solver; the LSTM's two in the slow set
    "make,quasi", [(rj.gru, False), (rj.simple_rnn, True)] +
    [pytest.param(rj.lstm, q, marks=pytest.mark.slow) for q in (False, True)])
def test_deer_equals_sequential_and_reports_iterations(make, quasi):
  cell = make()
  params = cell.init(jax.random.PRNGKey(0), D, H)
  xs = jax.random.normal(jax.random.PRNGKey(1), (B, T, D))
  f_seq, y_seq = rj.unroll(cell, params, xs, lengths=LENGTHS)
  deer = jax.jit(lambda p, x: pt.deer_unroll(cell, p, x, lengths=LENGTHS, quasi=quasi))
  f_deer, y_deer, iters = deer(params, xs)
  np.testing.assert_allclose(y_deer, y_seq, atol=1e-5)
  jax.tree_util.tree_map(lambda a, b: np.testing.assert_allclose(a, b, atol=1e-5), f_deer, f_seq)
  assert iters.shape == (B,) and np.all(np.asarray(iters) >= 1) and np.all(np.asarray(iters) <= T)
  loss = lambda fn: lambda p: jnp.sum(fn(cell, p, xs, lengths=LENGTHS)[1]**2)
  g_seq = jax.jit(jax.grad(loss(rj.unroll)))(params)
  g_deer = jax.jit(jax.grad(loss(lambda *a, **k: pt.deer_unroll(*a, quasi=quasi, **k)[:2])))(params)
  assert max_rel_err(g_deer, g_seq) <= 1e-5


def test_newton_needs_fewer_iterations_than_quasi_newton():
  cell = rj.lstm()
  params = cell.init(jax.random.PRNGKey(0), D, H)
  xs = jax.random.normal(jax.random.PRNGKey(1), (2, T, D))
  _, _, newton = pt.deer_unroll(cell, params, xs)
  _, _, quasi = pt.deer_unroll(cell, params, xs, quasi=True)
  assert np.all(np.asarray(newton) <= np.asarray(quasi))


@pytest.mark.parametrize("peephole", [True])  # the paper's peephole: Γo reads the new c⟨t⟩
def test_deer_float32_stops_within_two_iterations_of_float64(peephole, x64):
  """An LSTM whose cell state reaches |c| of tens of units (forget gate near 1, input gate
  open): float32 rounding of c is ~1e-6 absolute, which an absolute 1e-6 tolerance never
  passes (it ran all T = 64 iterations). The relative rule stops where float64 does."""
  cell = rj.lstm(peephole=peephole)
  h = 16
  p64 = cell.init(jax.random.PRNGKey(0), 4, h, jnp.float64)
  p64["b_a"] = p64["b_a"].at[:h].set(2.0).at[h:2 * h].set(4.0)
  if peephole:
    p64["w_pc"] = 0.1 * jax.random.normal(jax.random.PRNGKey(9), (3 * h,), jnp.float64)
  xs64 = jax.random.normal(jax.random.PRNGKey(1), (3, 64, 4), jnp.float64)
  lengths = jnp.array([64, 50, 9])
  iters = {}
  for dtype in (jnp.float32, jnp.float64):
    p = jax.tree_util.tree_map(lambda v: v.astype(dtype), p64)
    final, ys, it = jax.jit(lambda q, x: pt.deer_unroll(cell, q, x, lengths=lengths))(
        p, xs64.astype(dtype))
    f_seq, y_seq = jax.jit(lambda q, x: rj.unroll(cell, q, x, lengths=lengths))(p,
                                                                                xs64.astype(dtype))
    assert ys.dtype == dtype
    scale = 1.0 + float(jnp.max(jnp.abs(f_seq[0])))
    np.testing.assert_allclose(ys, y_seq, atol=2e-5 if dtype == jnp.float32 else 1e-12)
    np.testing.assert_allclose(
        final[0], f_seq[0], atol=(2e-5 if dtype == jnp.float32 else 1e-12) * scale)
    iters[dtype] = np.asarray(it)
  assert float(jnp.max(jnp.abs(f_seq[0]))) > 5.0  # the regime the rule is for
  assert np.all(iters[jnp.float64] < 40), iters  # far from T
  assert np.all(np.abs(iters[jnp.float32] - iters[jnp.float64]) <= 2), iters


def test_parallel_paths_reject_bad_input():
  with pytest.raises(ValueError, match="cell must be one of"):
    pt.associative_unroll(rj.gru(),
                          rj.gru().init(jax.random.PRNGKey(0), 2, 3), jnp.zeros((1, 4, 2)))
  cell = rj.min_gru()
  p = cell.init(jax.random.PRNGKey(0), 2, 3)
  with pytest.raises(ValueError, match="xs must have rank 3"):
    pt.associative_unroll(cell, p, jnp.zeros((4, 2)))
  with pytest.raises(ValueError, match="lengths"):
    pt.deer_unroll(
        rj.gru(),
        rj.gru().init(jax.random.PRNGKey(0), 2, 3),
        jnp.zeros((1, 4, 2)),
        lengths=jnp.array([5]))
  with pytest.raises(ValueError, match="max_iters"):
    pt.deer_unroll(
        rj.gru(), rj.gru().init(jax.random.PRNGKey(0), 2, 3), jnp.zeros((1, 4, 2)), max_iters=0)


def test_parallel_paths_trace_products_at_highest_precision():
  """On GPUs JAX's default float32 product is TF32 (≈1e-3): DEER's Newton updates then never
  pass its stopping rule (940 iterations at T = 1024 on an H200). Every product the parallel
  paths trace, forward and backward, must ask for full precision, whatever the default."""
  cell = rj.gru()
  p = cell.init(jax.random.PRNGKey(0), 3, 4)
  xs = jax.random.normal(jax.random.PRNGKey(1), (2, 6, 3))
  mcell = rj.min_gru()
  mp = mcell.init(jax.random.PRNGKey(0), 3, 4)
  fns = [
      lambda: jax.make_jaxpr(jax.grad(lambda q: jnp.sum(pt.deer_unroll(cell, q, xs)[1])))(p),
      lambda: jax.make_jaxpr(jax.grad(lambda q: jnp.sum(pt.associative_unroll(mcell, q, xs)[1])))
      (mp)
  ]
  for make in fns:
    with jax.default_matmul_precision("bfloat16"):  # the lowest default a device may have
      text = str(make())
    precisions = re.findall(r"precision=([^\n]*?)\n", text)
    assert precisions and all("HIGHEST" in q for q in precisions), precisions
