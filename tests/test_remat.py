"""remat: identical values and gradients; sub-linear training-step memory."""
import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rnn_jax as rj
from tests.helpers import max_rel_err, random_params

QUICK_REMAT = {("sqrt", "autodiff", False), (3, "closed_form", True), (64, "autodiff", True)}


@pytest.mark.parametrize(  # every combination; three (each remat, each backward) in the quick set
    "remat,backward,reverse",
    [(r, b, v) if (r, b, v) in QUICK_REMAT else pytest.param(r, b, v, marks=pytest.mark.slow)
     for r in ("sqrt", 3, 64)
     for b in ("autodiff", "closed_form")
     for v in (False, True)])
def test_remat_changes_no_value_or_gradient(remat, backward, reverse, x64):
  cell = rj.lstm()
  b, t, d, h = 3, 11, 2, 4
  params = random_params(cell, jax.random.PRNGKey(0), d, h, jnp.float64)
  xs = jax.random.normal(jax.random.PRNGKey(1), (b, t, d), jnp.float64)
  lengths = jnp.array([11, 4, 0])

  def loss(p, remat_):
    final, ys = rj.unroll(
        cell, p, xs, lengths=lengths, reverse=reverse, backward=backward, truncate=5, remat=remat_)
    return jnp.sum(ys**2) + jnp.sum(jnp.cos(final[0])), (final, ys)

  (v0, aux0), g0 = jax.value_and_grad(loss, has_aux=True)(params, None)
  (v1, aux1), g1 = jax.value_and_grad(loss, has_aux=True)(params, remat)
  np.testing.assert_allclose(v1, v0, rtol=1e-12)
  assert max_rel_err(aux1, aux0) <= 1e-12
  assert max_rel_err(g1, g0) <= 1e-10


@pytest.mark.parametrize("remat", [5, 12])
def test_remat_last_chunk_overlap_at_every_length(remat, x64):
  """T = 13 with chunks of 5 or 12: the last chunk overlaps the one before; lengths that end
  inside the overlap, before it, at T and at 0, with truncation cuts inside the overlap."""
  cell = rj.gru("after")
  params = random_params(cell, jax.random.PRNGKey(2), 3, 4, jnp.float64)
  xs = jax.random.normal(jax.random.PRNGKey(3), (5, 13, 3), jnp.float64)
  lengths = jnp.array([13, 12, 11, 7, 0])

  def loss(p, remat_, reverse):
    final, ys = rj.unroll(cell, p, xs, lengths=lengths, remat=remat_, reverse=reverse, truncate=4)
    return jnp.sum(jnp.sin(ys)) + jnp.sum(final**2), ys

  value_and_grad = jax.jit(jax.value_and_grad(loss, has_aux=True), static_argnums=(1, 2))
  for reverse in (False, True):
    (v0, ys0), g0 = value_and_grad(params, None, reverse)
    (v1, ys1), g1 = value_and_grad(params, remat, reverse)
    chex.assert_shape(ys1, (5, 13, 4))
    np.testing.assert_allclose(v1, v0, rtol=1e-12)
    np.testing.assert_allclose(ys1, ys0, atol=1e-13)
    assert max_rel_err(g1, g0) <= 1e-10


def _step_temp_bytes(t, remat, backward):
  cell = rj.lstm()
  params = cell.init(jax.random.PRNGKey(0), 8, 32)
  xs = jnp.zeros((4, t, 8))

  def loss(p, xs):  # many-to-one: the loss reads the final state only
    final, _ = rj.unroll(cell, p, xs, remat=remat, backward=backward)
    return jnp.sum(final[1]**2)

  compiled = jax.jit(jax.grad(loss)).lower(params, xs).compile()
  return compiled.memory_analysis().temp_size_in_bytes


@pytest.mark.parametrize("backward", ["autodiff", "closed_form"])
def test_sqrt_remat_memory_grows_like_sqrt_t(backward):
  short, long = _step_temp_bytes(1024, "sqrt", backward), _step_temp_bytes(16384, "sqrt", backward)
  assert long <= 4 * short, (short, long)
  plain = _step_temp_bytes(16384, None, backward)
  assert long * 20 < plain, (long, plain)  # and far below storing every step


@pytest.mark.parametrize("backward", ["autodiff", "closed_form"])
def test_sqrt_remat_memory_at_lengths_the_chunk_does_not_divide(backward):
  """⌈√T⌉ divides neither 8000 nor 64000: memory still grows like √T (√8 ≈ 2.8x), and the
  shorter T = 64000 needs no more than T = 65536 (= 256²)."""
  m8k, m64k = _step_temp_bytes(8000, "sqrt", backward), _step_temp_bytes(64000, "sqrt", backward)
  m65k = _step_temp_bytes(65536, "sqrt", backward)
  assert m64k < 4 * m8k, (m8k, m64k)
  assert m64k <= m65k, (m64k, m65k)


def test_bad_remat():
  cell = rj.gru()
  p = cell.init(jax.random.PRNGKey(0), 2, 3)
  xs = jnp.zeros((1, 4, 2))
  for bad in (0, -3, "cbrt", 1.5, True):
    with pytest.raises(ValueError, match="remat"):
      rj.unroll(cell, p, xs, remat=bad)
  with pytest.raises(ValueError, match="return_carries"):
    rj.unroll(cell, p, xs, remat="sqrt", return_carries=True)
