"""remat: identical values and gradients; sub-linear training-step memory."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rnn_jax as rj
from tests.helpers import max_rel_err, random_params


@pytest.mark.parametrize("remat", ["sqrt", 3, 64])
@pytest.mark.parametrize("backward", ["autodiff", "closed_form"])
@pytest.mark.parametrize("reverse", [False, True])
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


def test_bad_remat():
  cell = rj.gru()
  p = cell.init(jax.random.PRNGKey(0), 2, 3)
  xs = jnp.zeros((1, 4, 2))
  for bad in (0, -3, "cbrt", 1.5, True):
    with pytest.raises(ValueError, match="remat"):
      rj.unroll(cell, p, xs, remat=bad)
  with pytest.raises(ValueError, match="return_carries"):
    rj.unroll(cell, p, xs, remat="sqrt", return_carries=True)
