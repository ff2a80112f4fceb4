"""rnn_jax cells inside Flax linen: nn.RNN / nn.Bidirectional with seq_lengths, and Recurrent."""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import rnn_jax as rj
from rnn_jax.linen import Recurrent, RNNCell

B, T, D, H = 3, 7, 4, 5
LENGTHS = jnp.array([7, 4, 1])


def _xs(seed=1):
  return jax.random.normal(jax.random.PRNGKey(seed), (B, T, D))


def _valid(ys):
  m = np.arange(T)[None, :] < np.asarray(LENGTHS)[:, None]
  return np.where(m[:, :, None], np.asarray(ys), 0.0)


@pytest.mark.parametrize(  # LSTM and expRNN in the quick set, GRU and the peephole in the slow one
    "make", [rj.lstm, rj.exp_rnn] +
    [pytest.param(m, marks=pytest.mark.slow) for m in (rj.gru, lambda: rj.lstm(peephole=True))])
def test_nn_rnn_of_an_rnn_jax_cell_equals_unroll(make):
  cell = make()
  rnn = nn.RNN(RNNCell(cell, H), return_carry=True)
  variables = rnn.init(jax.random.PRNGKey(0), _xs(), seq_lengths=LENGTHS)
  params = variables["params"]["cell"]
  assert set(params) == set(cell.init(jax.random.PRNGKey(0), D, H))  # the plain rnn_jax pytree
  carry, ys = rnn.apply(variables, _xs(), seq_lengths=LENGTHS)
  final, ref = rj.unroll(cell, params, _xs(), lengths=LENGTHS)
  np.testing.assert_allclose(_valid(ys), np.asarray(ref), atol=1e-5)
  for a, b in zip(jax.tree_util.tree_leaves(carry), jax.tree_util.tree_leaves(final)):
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_nn_bidirectional_equals_forward_plus_padding_aware_reverse():
  cell = rj.gru("after")
  bi = nn.Bidirectional(nn.RNN(RNNCell(cell, H)), nn.RNN(RNNCell(cell, H)))
  variables = bi.init(jax.random.PRNGKey(0), _xs(), seq_lengths=LENGTHS)
  ys = bi.apply(variables, _xs(), seq_lengths=LENGTHS)
  p = variables["params"]
  fwd_p, bwd_p = p["forward_rnn"]["cell"], p["backward_rnn"]["cell"]
  _, yf = rj.unroll(cell, fwd_p, _xs(), lengths=LENGTHS)
  _, yb = rj.unroll(cell, bwd_p, _xs(), lengths=LENGTHS, reverse=True)
  np.testing.assert_allclose(_valid(ys), np.concatenate([yf, yb], -1), atol=1e-5)


@pytest.mark.parametrize("backward", ["autodiff", "closed_form"])
def test_recurrent_module_is_unroll_with_its_options(backward):
  cell = rj.lstm()
  module = Recurrent(cell, H, backward=backward, remat=3)
  variables = module.init(jax.random.PRNGKey(0), _xs(), LENGTHS)
  params = variables["params"]

  def loss_module(v):
    return jnp.sum(module.apply(v, _xs(), LENGTHS)[1]**2)

  def loss_unroll(p):
    return jnp.sum(rj.unroll(cell, p, _xs(), lengths=LENGTHS)[1]**2)

  np.testing.assert_allclose(loss_module(variables), loss_unroll(params), rtol=1e-5)
  g_module = jax.grad(loss_module)(variables)["params"]
  g_unroll = jax.grad(loss_unroll)(params)
  for k in params:
    np.testing.assert_allclose(g_module[k], g_unroll[k], rtol=1e-4, atol=1e-6)


class _Adder(nn.Module):
  """A Flax model with an rnn_jax LSTM inside: the adding problem, many-to-one."""

  @nn.compact
  def __call__(self, xs):
    final, _ = Recurrent(rj.lstm(), 16, backward="closed_form")(xs)
    return nn.Dense(1)(final[1])[:, 0]


@pytest.mark.slow  # end-to-end (a task run, training to a result, or a subprocess)
def test_trains_inside_a_flax_model_with_optax():
  from rnn_jax.data.adding import adding_batch
  model = _Adder()
  xs, ys = adding_batch(jax.random.PRNGKey(0), 64, 20)
  variables = model.init(jax.random.PRNGKey(1), xs)
  tx = optax.adam(1e-2)
  opt = tx.init(variables)

  @jax.jit
  def step(v, opt, key):
    xs, ys = adding_batch(key, 64, 20)
    loss, g = jax.value_and_grad(lambda v: jnp.mean((model.apply(v, xs) - ys[:, 0])**2))(v)
    updates, opt = tx.update(g, opt, v)
    return optax.apply_updates(v, updates), opt, loss

  losses = []
  for i in range(150):
    variables, opt, loss = step(variables, opt, jax.random.PRNGKey(i + 10))
    losses.append(float(loss))
  assert np.mean(losses[-10:]) < 0.5 * np.mean(losses[:10]), (losses[:10], losses[-10:])
