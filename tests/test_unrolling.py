"""unroll: padding semantics, reverse, carries, transforms, dtypes, bad input."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rnn_jax as rj
from tests import reference
from tests.helpers import CELL_VARIANTS, assert_trees_close, random_params

B, T, D, H = 4, 7, 3, 5
LENGTHS = np.array([7, 3, 0, 5])


def _setup(name, dtype=jnp.float32):
  cell = CELL_VARIANTS[name]()
  params = random_params(cell, jax.random.PRNGKey(0), D, H, dtype)
  xs = jax.random.normal(jax.random.PRNGKey(1), (B, T, D), dtype)
  return cell, params, xs


def _garbage(xs, lengths, value=None):
  mask = np.arange(xs.shape[1])[None, :] >= np.asarray(lengths)[:, None]
  noise = 100.0 * np.random.default_rng(3).normal(size=xs.shape) if value is None else value
  return jnp.where(mask[:, :, None], jnp.asarray(noise, xs.dtype), xs)


@pytest.mark.parametrize("name", sorted(CELL_VARIANTS))
@pytest.mark.parametrize("reverse", [False, True])
def test_lengths_match_reference(name, reverse):
  cell, params, xs = _setup(name)
  final, ys = rj.unroll(cell, params, xs, lengths=LENGTHS, reverse=reverse)
  ref_finals, ref_ys = reference.run_batch(cell, params, xs, LENGTHS, reverse=reverse)
  np.testing.assert_allclose(ys, ref_ys, rtol=1e-5, atol=1e-5)
  assert_trees_close(final, reference.stack_finals(ref_finals))
  # padded outputs are exactly zero
  pad = np.arange(T)[None, :] >= LENGTHS[:, None]
  assert np.all(np.asarray(ys)[pad] == 0.0)


@pytest.mark.parametrize("name", ["tanh_rnn", "gru_before", "lstm_peephole"])
@pytest.mark.parametrize("backward", ["autodiff", "closed_form"])
def test_garbage_after_lengths_changes_nothing(name, backward):
  cell, params, xs = _setup(name)
  readout = rj.dense().init(jax.random.PRNGKey(2), H, 2)
  targets = jax.random.normal(jax.random.PRNGKey(4), (B, T, 2))

  def loss(p, xs, targets):
    final, ys = rj.unroll(cell, p, xs, lengths=LENGTHS, backward=backward)
    j = rj.sequence_loss(rj.readout_logits(readout, ys), targets, loss="squared", lengths=LENGTHS)
    return j, (final, ys)

  value_and_grad = jax.jit(jax.value_and_grad(loss, has_aux=True))  # one compilation for all
  (j1, aux1), g1 = value_and_grad(params, xs, targets)
  for value in (None, np.nan):
    bad_xs = _garbage(xs, LENGTHS, value)
    bad_t = _garbage(targets, LENGTHS, value)
    (j2, aux2), g2 = value_and_grad(params, bad_xs, bad_t)
    assert float(j1) == float(j2)
    assert_trees_close(aux1, aux2, rtol=0, atol=0)
    assert_trees_close(g1, g2, rtol=0, atol=0)


def test_length_zero_returns_initial_carry():
  cell, params, xs = _setup("lstm")
  c0 = (jnp.ones((B, H)), 2 * jnp.ones((B, H)))
  final, ys = rj.unroll(cell, params, xs, c0, lengths=np.zeros(B, np.int32))
  assert_trees_close(final, c0, rtol=0, atol=0)
  assert float(jnp.abs(ys).max()) == 0.0


def test_initial_carry_is_used():
  cell, params, xs = _setup("gru_after")
  c0 = jax.random.normal(jax.random.PRNGKey(9), (B, H))
  final, ys = rj.unroll(cell, params, xs, c0, lengths=LENGTHS)
  ref_finals, ref_ys = reference.run_batch(cell, params, xs, LENGTHS, carry0=c0)
  np.testing.assert_allclose(ys, ref_ys, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(final, reference.stack_finals(ref_finals), rtol=1e-5, atol=1e-5)


def test_flip_sequences_reverses_within_lengths_and_is_an_involution():
  xs = jnp.arange(B * T, dtype=jnp.float32).reshape(B, T, 1)
  flipped = rj.flip_sequences(xs, jnp.asarray(LENGTHS))
  for b, n in enumerate(LENGTHS):
    np.testing.assert_array_equal(flipped[b, :n, 0], np.asarray(xs[b, :n, 0])[::-1])
    np.testing.assert_array_equal(flipped[b, n:, 0], xs[b, n:, 0])
  np.testing.assert_array_equal(rj.flip_sequences(flipped, jnp.asarray(LENGTHS)), xs)
  np.testing.assert_array_equal(rj.flip_sequences(xs), xs[:, ::-1])


def test_return_carries_matches_reference():
  cell, params, xs = _setup("lstm")
  final, ys, carries = rj.unroll(cell, params, xs, lengths=LENGTHS, return_carries=True)
  c_all, a_all = carries
  np.testing.assert_allclose(a_all[0], ys[0], rtol=1e-6)
  # carries are frozen after the length: last valid carry repeated
  np.testing.assert_allclose(c_all[1, 2:], np.broadcast_to(c_all[1, 2], (T - 2, H)))
  np.testing.assert_allclose(c_all[1, -1], final[0][1])


@pytest.mark.parametrize("unroll_factor", [1, 3])
def test_jit_vmap_grad_and_unroll_factor(unroll_factor):
  cell, params, xs = _setup("gru_before")
  f = lambda p, x: rj.unroll(cell, p, x, lengths=jnp.asarray(LENGTHS), unroll=unroll_factor)[1]
  eager = f(params, xs)
  np.testing.assert_allclose(jax.jit(f)(params, xs), eager, rtol=1e-5, atol=1e-6)
  # vmap over a leading "ensemble" axis of params
  stacked = jax.tree_util.tree_map(lambda v: jnp.stack([v, v]), params)
  out = jax.vmap(f, in_axes=(0, None))(stacked, xs)
  np.testing.assert_allclose(out[1], eager, rtol=1e-5, atol=1e-6)
  g = jax.grad(lambda p: jnp.sum(f(p, xs)**2))(params)
  assert all(bool(jnp.all(jnp.isfinite(l))) for l in jax.tree_util.tree_leaves(g))


def test_float64(x64):
  cell, params, xs = _setup("lstm", jnp.float64)
  final, ys = rj.unroll(cell, params, xs, lengths=LENGTHS)
  assert ys.dtype == jnp.float64 and final[0].dtype == jnp.float64
  _, ref_ys = reference.run_batch(cell, params, xs, LENGTHS)
  np.testing.assert_allclose(ys, ref_ys, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kwargs,match", [
    (dict(xs=np.zeros((T, D), np.float32)), "xs must have rank 3"),
    (dict(lengths=np.zeros((B, 1), np.int32)), "lengths must have shape"),
    (dict(lengths=np.array([1, 2, 3, T + 1])), r"lengths must lie in \[0, T"),
    (dict(lengths=np.array([1, -1, 3, 2])), r"lengths must lie in \[0, T"),
    (dict(lengths=np.ones(B, np.float32)), "lengths must be integers"),
    (dict(xs=np.zeros((B, T, D + 1), np.float32)), "input size"),
    (dict(carry=jnp.zeros((B + 1, H))), "carry must have shapes"),
    (dict(unroll=0), "unroll must be a positive int"),
    (dict(truncate=0), "truncate must be a positive int"),
    (dict(backward="magic"), "backward must be one of"),
])
def test_bad_input_names_the_argument(kwargs, match):
  cell, params, xs = _setup("tanh_rnn")
  args = dict(xs=xs)
  args.update(kwargs)
  xs_ = args.pop("xs")
  with pytest.raises(ValueError, match=match):
    rj.unroll(cell, params, xs_, **args)


@pytest.mark.parametrize("backward", ["autodiff", "closed_form"])
@pytest.mark.parametrize("remat", [None, 4])
def test_truncation_boundaries_in_padding_cut_nothing(backward, remat):
  # A length-4 sequence alone (T=4) and padded to T=11 with truncate=5: a cut at
  # t=5 or t=10 would fall on frozen steps and must not touch the gradient.
  cell, params, _ = _setup("lstm")
  xs = jax.random.normal(jax.random.PRNGKey(5), (1, 4, D))
  padded = jnp.concatenate([xs, jnp.ones((1, 7, D))], axis=1)

  def loss(p, x, lengths):
    final, _ = rj.unroll(cell, p, x, lengths=lengths, truncate=5, backward=backward, remat=remat)
    return jnp.sum(final[1]**2)

  g_alone = jax.grad(loss)(params, xs, jnp.array([4]))
  g_padded = jax.grad(loss)(params, padded, jnp.array([4]))
  assert_trees_close(g_padded, g_alone, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("backward", ["autodiff", "closed_form"])
def test_hoisted_and_in_loop_projection_agree(backward, x64):
  cell, params, xs = _setup("gru_after", jnp.float64)

  def loss(p, x, hoist):
    final, ys = rj.unroll(cell, p, x, lengths=LENGTHS, backward=backward, hoist=hoist)
    return jnp.sum(ys**2) + jnp.sum(final**3)

  g_in = jax.grad(loss, argnums=(0, 1))(params, xs, False)
  g_out = jax.grad(loss, argnums=(0, 1))(params, xs, True)
  assert_trees_close(g_in, g_out, rtol=1e-12, atol=1e-12)
  np.testing.assert_allclose(loss(params, xs, False), loss(params, xs, True), rtol=1e-13)


def test_non_finite_inputs_at_valid_steps_are_rejected():
  cell, params, xs = _setup("gru_before")
  bad = xs.at[1, 1, 0].set(np.nan)  # example 1 has length 3: step 1 is valid
  with pytest.raises(ValueError, match=r"xs contains non-finite values .* index \(1, 1, 0\)"):
    rj.unroll(cell, params, bad, lengths=LENGTHS)
  rj.unroll(cell, params, xs.at[1, 5, 0].set(np.inf), lengths=LENGTHS)  # padding: allowed


def test_lengths_may_be_a_list_and_bad_lists_are_named():
  cell = rj.gru()
  params = cell.init(jax.random.PRNGKey(0), 2, 3)
  xs = jax.random.normal(jax.random.PRNGKey(1), (2, 6, 2))
  f_list, y_list = rj.unroll(cell, params, xs, lengths=[5, 3])
  f_arr, y_arr = rj.unroll(cell, params, xs, lengths=jnp.array([5, 3]))
  np.testing.assert_array_equal(y_list, y_arr)
  np.testing.assert_array_equal(f_list, f_arr)
  with pytest.raises(ValueError, match=r"lengths must be ints"):
    rj.unroll(cell, params, xs, lengths=[5.0, 3])
  with pytest.raises(ValueError, match=r"lengths must have shape \[B\]=\(2,\)"):
    rj.unroll(cell, params, xs, lengths=[5, 3, 1])
