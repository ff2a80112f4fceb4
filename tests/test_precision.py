"""The bfloat16 compute policy (``rj.mixed_precision``): outputs and gradients close to float32,
params, carry and outputs stay float32, the closed form is refused, and training on the adding
problem follows the float32 run within noise."""
import jax
import jax.numpy as jnp
import optax
import pytest

import rnn_jax as rj
from experiments import adding, configs

B, T, D, H = 4, 9, 3, 16


@pytest.mark.parametrize(  # the LSTM in the quick set, the others in the slow set
    "make", [rj.lstm] +
    [pytest.param(m, marks=pytest.mark.slow) for m in (rj.gru, rj.simple_rnn, rj.exp_rnn)])
def test_bf16_outputs_and_gradients_are_close_to_float32_and_stay_float32(make):
  cell, low = make(), rj.mixed_precision(make())
  params = cell.init(jax.random.PRNGKey(0), D, H)
  xs = jax.random.normal(jax.random.PRNGKey(1), (B, T, D))
  lengths = jnp.array([9, 4, 1, 7])
  f32 = jax.jit(lambda p: rj.unroll(cell, p, xs, lengths=lengths))(params)
  bf16 = jax.jit(lambda p: rj.unroll(low, p, xs, lengths=lengths))(params)
  for a, b in zip(jax.tree_util.tree_leaves(bf16), jax.tree_util.tree_leaves(f32)):
    assert a.dtype == jnp.float32  # carry and outputs float32
    # bfloat16 keeps 8 bits of mantissa (relative rounding 2^-9 per operation, over T steps)
    assert float(jnp.linalg.norm(a - b)) <= 0.05 * float(jnp.linalg.norm(b)) + 1e-3
  loss = lambda c: lambda p: jnp.sum(rj.unroll(c, p, xs, lengths=lengths)[1]**2)
  g32, g16 = jax.jit(jax.grad(loss(cell)))(params), jax.jit(jax.grad(loss(low)))(params)
  for a, b in zip(jax.tree_util.tree_leaves(g16), jax.tree_util.tree_leaves(g32)):
    assert a.dtype == jnp.float32  # gradients reach the float32 params
    cosine = jnp.vdot(a, b) / (jnp.linalg.norm(a) * jnp.linalg.norm(b) + 1e-30)
    assert float(cosine) > 0.99 and float(
        jnp.linalg.norm(a - b)) <= 0.1 * float(jnp.linalg.norm(b)) + 1e-6


def test_bf16_really_computes_in_bf16_and_refuses_the_closed_form():
  cell = rj.mixed_precision(rj.lstm())
  params = cell.init(jax.random.PRNGKey(0), D, H)
  carry = cell.initial_carry(H)
  text = str(jax.make_jaxpr(cell.step)(params, carry, jnp.ones(D)))
  assert "bf16[64,16]" in text or "bf16[16,64]" in text  # w_aa used in bfloat16
  assert dict(cell.options)["compute_dtype"] == "bfloat16"
  with pytest.raises(ValueError, match="no closed-form backward"):
    rj.unroll(cell, params, jnp.ones((1, 3, D)), backward="closed_form")
  with pytest.raises(ValueError, match="floating dtype"):
    rj.mixed_precision(rj.lstm(), jnp.int32)


@pytest.mark.slow  # end-to-end (a task run, training to a result, or a subprocess)
def test_adding_loss_curve_in_bf16_follows_float32():
  finals = {}
  for dtype in ("float32", "bfloat16"):
    config = configs.get(
        "adding",
        compute_dtype=dtype,
        steps=200,
        eval_every=50,
        checkpoint_every=200,
        length=10,
        hidden_size=16,
        batch_size=16)
    report = adding.train_and_evaluate(config, None, log=lambda *_: None)
    finals[dtype] = report["final"]["eval_mse"]
    assert report["config"]["compute_dtype"] == dtype
  # both learn (the mean predictor scores 0.167) and end within a factor 2 of each other
  assert finals["float32"] < 0.05 and finals["bfloat16"] < 0.05
  assert 0.5 < finals["bfloat16"] / finals["float32"] < 2.0, finals


def test_params_stay_float32_through_an_optimizer_step():
  cell = rj.mixed_precision(rj.gru())
  params = cell.init(jax.random.PRNGKey(0), D, H)
  tx = optax.adam(1e-2)
  grads = jax.grad(lambda p: jnp.sum(rj.unroll(cell, p, jnp.ones((2, 5, D)))[1]))(params)
  updates, _ = tx.update(grads, tx.init(params), params)
  new = optax.apply_updates(params, updates)
  assert all(a.dtype == jnp.float32 for a in jax.tree_util.tree_leaves(new))
