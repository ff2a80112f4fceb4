"""TBPTT(k1, k2): windows, state crossing without gradient, against a hand loop."""
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import rnn_jax as rj
from rnn_jax.tbptt import make_window_update, rnn_window_fn, tbptt, tbptt_windows


def test_windows_cover_every_loss_step_once():
  for n, k1, k2 in [(20, 5, 5), (20, 3, 7), (13, 4, 6)]:
    windows = tbptt_windows(n, k1, k2)
    counted = []
    for start, loss_from in windows:
      assert start + k2 <= n
      counted += list(range(loss_from, start + k2))
    assert counted == list(range(len(counted)))  # consecutive, no repeats


@pytest.mark.parametrize("args,match", [((10, 0, 3), "k1"), ((10, 4, 2), "k2 must be >= k1"),
                                        ((3, 2, 5), "fewer than one window")])
def test_bad_windows(args, match):
  with pytest.raises(ValueError, match=match):
    tbptt_windows(*args)


@pytest.mark.parametrize("k1,k2", [pytest.param(4, 4, marks=pytest.mark.slow), (3, 5)])
def test_tbptt_equals_hand_written_procedure(k1, k2, x64):
  cell = rj.gru()
  b, n, d, h, v = 2, 14, 3, 4, 5
  key = jax.random.PRNGKey(0)
  params = {
      "cell": cell.init(key, d, h, jnp.float64),
      "readout": rj.dense().init(jax.random.fold_in(key, 1), h, v, jnp.float64)
  }
  xs = jax.random.normal(jax.random.fold_in(key, 2), (b, n, d), jnp.float64)
  ys = jax.random.randint(jax.random.fold_in(key, 3), (b, n), 0, v)
  tx = optax.sgd(0.1)
  carry0 = jnp.zeros((b, h), jnp.float64)
  p1, _, c1, m = tbptt(
      rnn_window_fn(cell, k1=k1), tx, params, tx.init(params), carry0, xs, ys, k1=k1, k2=k2)
  # by hand: Python loop over steps, gradients cut at each window's start
  p, carry = params, carry0
  for start, loss_from in tbptt_windows(n, k1, k2):

    def loss(p, carry):
      c, total, nxt = carry, 0.0, None
      for t in range(start, start + k2):
        c, a = jax.vmap(cell.step, (None, 0, 0))(p["cell"], c, xs[:, t])
        z = a @ p["readout"]["w_ya"].T + p["readout"]["b_y"][None, :]
        if t >= loss_from:
          total = total + jnp.sum(-jax.nn.log_softmax(z)[jnp.arange(b), ys[:, t]]) / b
        if t == start + k1 - 1:
          nxt = c
      return total, nxt

    g, nxt = jax.grad(loss, has_aux=True)(p, jax.lax.stop_gradient(carry))
    p = jax.tree_util.tree_map(lambda w, gw: w - 0.1 * gw, p, g)
    carry = nxt
  jax.tree_util.tree_map(lambda a, c: np.testing.assert_allclose(a, c, rtol=1e-10, atol=1e-12), p1,
                         p)
  np.testing.assert_allclose(c1, carry, rtol=1e-10)
  assert m["loss"].shape == (len(tbptt_windows(n, k1, k2)),)


@pytest.mark.slow  # end-to-end (a task run, training to a result, or a subprocess)
def test_tbptt_learns_a_delayed_copy_stream():
  # y⟨t⟩ = x⟨t−2⟩ on a long stream: needs state across windows and steps within them.
  cell = rj.gru()
  key = jax.random.PRNGKey(0)
  b, n, v, h = 16, 600, 4, 32
  tokens = jax.random.randint(key, (b, n), 0, v)
  xs = jax.nn.one_hot(tokens, v)
  ys = jnp.concatenate([jnp.zeros((b, 2), jnp.int32), tokens[:, :-2]], axis=1)
  params = {"cell": cell.init(key, v, h), "readout": rj.dense().init(key, h, v)}
  tx = optax.adam(1e-2)
  update = make_window_update(rnn_window_fn(cell, k1=10), tx)
  state, carry = tx.init(params), jnp.zeros((b, h))
  losses = []
  for _ in range(3):
    params, state, carry, m = tbptt(
        None, tx, params, state, carry, xs, ys, k1=10, k2=10, update=update)
    losses.append(float(m["loss"][-5:].mean()))
  assert losses[-1] < 0.25 * float(m["loss"][0]) or losses[-1] < 0.2 * 10 * np.log(v) / 10 * 10
