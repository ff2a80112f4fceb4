"""Clipping by global norm and by value through make_optimizer; metrics; bad config."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rnn_jax.optim import OptimConfig, gradient_metrics, make_optimizer


def _grads(scale):
  rng = np.random.default_rng(0)
  return {
      "w": jnp.asarray(scale * rng.normal(size=(4, 3)), jnp.float32),
      "b": jnp.asarray(scale * rng.normal(size=(3,)), jnp.float32)
  }


def _flat(t):
  return np.concatenate([np.ravel(x) for x in jax.tree_util.tree_leaves(t)])


@pytest.mark.parametrize("scale", [10.0, 0.01])
def test_clip_by_global_norm_bounds_norm_and_keeps_direction(scale):
  # sgd with lr 1 makes the update equal to minus the processed gradient
  g_max = 1.0
  tx = make_optimizer(OptimConfig("sgd", 1.0, clip_norm=g_max))
  g = _grads(scale)
  updates, _ = tx.update(g, tx.init(g))
  u, raw = -_flat(updates), _flat(g)
  norm = np.linalg.norm(raw)
  assert np.linalg.norm(u) <= g_max * (1 + 1e-6)
  np.testing.assert_allclose(u / np.linalg.norm(u), raw / norm, rtol=1e-5)  # direction
  if norm <= g_max:
    np.testing.assert_allclose(u, raw, rtol=1e-6)  # untouched below G_max
  else:
    np.testing.assert_allclose(u, raw * g_max / norm, rtol=1e-5)  # g* = g/‖g‖·G_max
  m = gradient_metrics(g, g_max)
  np.testing.assert_allclose(m["grad_norm"], norm, rtol=1e-5)
  assert float(m["clipped"]) == float(norm > g_max)


def test_clip_by_value():
  tx = make_optimizer(OptimConfig("sgd", 1.0, clip_value=0.5))
  g = _grads(3.0)
  updates, _ = tx.update(g, tx.init(g))
  np.testing.assert_allclose(-_flat(updates), np.clip(_flat(g), -0.5, 0.5), rtol=1e-6)


def test_skip_nonfinite_keeps_params_and_state():
  tx = make_optimizer(OptimConfig("adam", 0.1, skip_nonfinite=3))
  params = _grads(1.0)
  state = tx.init(params)
  bad = jax.tree_util.tree_map(lambda x: x * jnp.nan, params)
  updates, state2 = tx.update(bad, state, params)
  assert all(float(jnp.abs(u).max()) == 0 for u in jax.tree_util.tree_leaves(updates))
  assert int(state2.notfinite_count) == 1


@pytest.mark.parametrize("config,match", [
    (OptimConfig("lbfgs"), "optimizer"),
    (OptimConfig(learning_rate=-1.0), "learning_rate"),
    (OptimConfig(clip_norm=0.0), "clip_norm"),
    (OptimConfig(clip_value=-2.0), "clip_value"),
])
def test_bad_config(config, match):
  with pytest.raises(ValueError, match=match):
    make_optimizer(config)


def test_cosine_schedule_decays_the_learning_rate_to_zero():
  import math
  tx = make_optimizer(OptimConfig("sgd", 0.5, schedule="cosine", decay_steps=4))
  params = {"w": jnp.zeros(())}
  state = tx.init(params)
  for step in range(6):
    updates, state = tx.update({"w": jnp.ones(())}, state, params)
    lr = 0.5 * 0.5 * (1 + math.cos(math.pi * min(step, 4) / 4))  # independent formula
    np.testing.assert_allclose(float(updates["w"]), -lr, atol=1e-7)
  with pytest.raises(ValueError, match="decay_steps"):
    make_optimizer(OptimConfig(schedule="cosine"))
  with pytest.raises(ValueError, match="schedule"):
    make_optimizer(OptimConfig(schedule="linear"))


@pytest.mark.parametrize("steps", [10, 7, 1])  # 7: the decay (round(1.4) = 1 step) does not divide
def test_wsd_schedule_holds_the_rate_then_decays_linearly_over_the_last_fifth(steps):
  tx = make_optimizer(OptimConfig("sgd", 0.5, schedule="wsd", decay_steps=steps))
  params = {"w": jnp.zeros(())}
  state = tx.init(params)
  decay = max(1, round(0.2 * steps))  # Hägele et al. 2024: constant, then a short cool-down
  for step in range(steps + 3):
    updates, state = tx.update({"w": jnp.ones(())}, state, params)
    lr = 0.5 * min(1.0, max(0.0, (steps - step) / decay))  # independent formula
    np.testing.assert_allclose(float(updates["w"]), -lr, atol=1e-7, err_msg=f"step {step}")
  with pytest.raises(ValueError, match="schedule='wsd' needs decay_steps"):
    make_optimizer(OptimConfig(schedule="wsd"))
