"""Sequence losses against hand-written numpy; masks; reductions; bad input."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rnn_jax as rj

B, T, V = 3, 5, 4
LENGTHS = np.array([5, 2, 0])


def _np_per_step(z, y, loss):
  z = np.asarray(z, np.float64)
  if loss == "squared":
    return 0.5 * ((z - y)**2).sum(-1)
  if loss == "binary_cross_entropy":
    p = 1 / (1 + np.exp(-z))
    return -(y * np.log(p) + (1 - y) * np.log(1 - p)).sum(-1)
  logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
  return -logp[np.arange(z.shape[0])[:, None], np.arange(z.shape[1])[None, :], y]


@pytest.mark.parametrize("loss", ["squared", "binary_cross_entropy", "softmax_cross_entropy"])
@pytest.mark.parametrize("reduction", ["batch_mean", "token_mean", "sum"])
def test_sequence_loss_matches_numpy(loss, reduction):
  rng = np.random.default_rng(0)
  logits = rng.normal(size=(B, T, V)).astype(np.float32)
  if loss == "softmax_cross_entropy":
    targets = rng.integers(0, V, size=(B, T))
  else:
    targets = rng.uniform(size=(B, T, V)).astype(np.float32)
  per = _np_per_step(logits, targets, loss)
  mask = np.arange(T)[None, :] < LENGTHS[:, None]
  total = (per * mask).sum()
  expected = {"batch_mean": total / B, "token_mean": total / mask.sum(), "sum": total}[reduction]
  got = rj.sequence_loss(
      jnp.asarray(logits), jnp.asarray(targets), loss=loss, lengths=LENGTHS, reduction=reduction)
  np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_int_labels_equal_one_hot_targets():
  rng = np.random.default_rng(1)
  logits = jnp.asarray(rng.normal(size=(B, T, V)), jnp.float32)
  labels = jnp.asarray(rng.integers(0, V, size=(B, T)))
  a = rj.sequence_loss(logits, labels, loss="softmax_cross_entropy", lengths=LENGTHS)
  b = rj.sequence_loss(
      logits, jax.nn.one_hot(labels, V), loss="softmax_cross_entropy", lengths=LENGTHS)
  np.testing.assert_allclose(a, b, rtol=1e-6)


def test_padding_contributes_nothing_even_nan():
  rng = np.random.default_rng(2)
  logits = jnp.asarray(rng.normal(size=(B, T, V)), jnp.float32)
  targets = jnp.asarray(rng.normal(size=(B, T, V)), jnp.float32)
  pad = (np.arange(T)[None, :] >= LENGTHS[:, None])[:, :, None]
  f = lambda z, y: rj.sequence_loss(z, y, loss="squared", lengths=LENGTHS)
  v1, g1 = jax.value_and_grad(f)(logits, targets)
  v2, g2 = jax.value_and_grad(f)(jnp.where(pad, jnp.nan, logits), jnp.where(pad, jnp.nan, targets))
  assert float(v1) == float(v2)
  np.testing.assert_array_equal(g1, g2)
  assert np.all(np.asarray(g1)[np.broadcast_to(pad, g1.shape)] == 0)


def test_token_mean_with_no_valid_tokens_is_zero():
  z = jnp.ones((2, 3, 2))
  assert float(
      rj.sequence_loss(z, z, loss="squared", lengths=np.zeros(2, np.int32),
                       reduction="token_mean")) == 0.0


@pytest.mark.parametrize("call,match", [
    (lambda z, y: rj.sequence_loss(z, y, loss="hinge"), "loss must be one of"),
    (lambda z, y: rj.sequence_loss(z, y[:, :-1], loss="squared"), "targets must have shape"),
    (lambda z, y: rj.sequence_loss(z, y, loss="squared", reduction="median"), "reduction"),
    (lambda z, y: rj.sequence_loss(z[0], y, loss="squared"), "logits must have rank 3"),
    (lambda z, y: rj.sequence_loss(z, jnp.full(
        (B, T), V), loss="softmax_cross_entropy"), "token ids in"),
    (lambda z, y: rj.sequence_loss(z, jnp.zeros(
        (B, T), jnp.int32), loss="squared"), "integer targets"),
])
def test_bad_input(call, match):
  z = jnp.zeros((B, T, V))
  with pytest.raises(ValueError, match=match):
    call(z, z)
