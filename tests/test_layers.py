"""bidirectional and stacked against independent references."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rnn_jax as rj
from rnn_jax.layers import variational_dropout
from tests import reference
from tests.helpers import random_params

B, T, D, H = 3, 6, 4, 5
LENGTHS = np.array([6, 2, 4])


def _xs():
  return jax.random.normal(jax.random.PRNGKey(1), (B, T, D))


@pytest.mark.parametrize("merge,fn", [("concat", lambda f, b: np.concatenate([f, b], -1)),
                                      ("sum", lambda f, b: f + b), ("mean", lambda f, b:
                                                                    (f + b) / 2),
                                      ("mul", lambda f, b: f * b)])
def test_bidirectional_is_forward_plus_padding_aware_reverse(merge, fn):
  fwd, bwd = rj.lstm(), rj.gru("after")
  layer = rj.bidirectional(fwd, bwd, merge)
  params = layer.init(jax.random.PRNGKey(0), D, H)
  params = {
      "fwd": random_params(fwd, jax.random.PRNGKey(2), D, H),
      "bwd": random_params(bwd, jax.random.PRNGKey(3), D, H)
  }
  (ff, fb), ys = layer.apply(params, _xs(), lengths=LENGTHS)
  rf, yf = reference.run_batch(fwd, params["fwd"], _xs(), LENGTHS)
  rb, yb = reference.run_batch(bwd, params["bwd"], _xs(), LENGTHS, reverse=True)
  np.testing.assert_allclose(ys, fn(yf, yb), rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(fb, reference.stack_finals(rb), rtol=1e-5, atol=1e-5)
  assert layer.output_size(H) == (2 * H if merge == "concat" else H)


def test_bidirectional_backward_direction_ignores_padding():
  layer = rj.bidirectional(rj.simple_rnn())
  params = layer.init(jax.random.PRNGKey(0), D, H)
  xs = _xs()
  bad = xs.at[1, 2:].set(1e3)
  np.testing.assert_array_equal(
      layer.apply(params, xs, lengths=LENGTHS)[1],
      layer.apply(params, bad, lengths=LENGTHS)[1])


def test_stacked_equals_manual_composition_with_residual():
  cells = [rj.lstm(), rj.gru(), rj.simple_rnn()]
  layer = rj.stacked([cells[0], rj.bidirectional(cells[1], merge="sum"), cells[2]], residual=True)
  params = layer.init(jax.random.PRNGKey(0), D, H)
  finals, ys = layer.apply(params, _xs(), lengths=LENGTHS)
  # manual: layer 1 (no residual: sizes differ D->H), then residual adds
  _, h1 = reference.run_batch(cells[0], params[0], _xs(), LENGTHS)
  _, f2 = reference.run_batch(cells[1], params[1]["fwd"], h1, LENGTHS)
  _, b2 = reference.run_batch(cells[1], params[1]["bwd"], h1, LENGTHS, reverse=True)
  h2 = f2 + b2 + h1
  _, h3 = reference.run_batch(cells[2], params[2], h2, LENGTHS)
  np.testing.assert_allclose(ys, h3 + h2, rtol=1e-4, atol=1e-5)
  assert len(finals) == 3 and layer.output_size(H) == H


def test_stacked_residual_with_d_equal_h_never_skips_layer_one():
  """D = H: layer 1 could take a skip, but the docstring says it never does."""
  cells = [rj.gru(), rj.gru()]
  layer = rj.stacked(cells, residual=True)
  xs = jax.random.normal(jax.random.PRNGKey(3), (3, 7, H))
  params = layer.init(jax.random.PRNGKey(0), H, H)
  _, ys = layer.apply(params, xs, lengths=LENGTHS)
  _, h1 = reference.run_batch(cells[0], params[0], xs, LENGTHS)  # no + xs
  _, h2 = reference.run_batch(cells[1], params[1], h1, LENGTHS)
  np.testing.assert_allclose(ys, h2 + h1, rtol=1e-4, atol=1e-5)
  assert not np.allclose(ys, h2 + h1 + np.asarray(xs), atol=1e-2)


def test_stacked_residual_size_mismatch_raises():
  layer = rj.stacked([rj.lstm(), rj.bidirectional(rj.lstm())], residual=True)
  with pytest.raises(ValueError, match="residual"):
    layer.init(jax.random.PRNGKey(0), D, H)


def test_stacked_hidden_sizes_per_layer_and_bad_counts():
  layer = rj.stacked([rj.gru(), rj.gru()])
  params = layer.init(jax.random.PRNGKey(0), D, [7, 3])
  assert params[1]["w_ax"].shape == (9, 7)
  with pytest.raises(ValueError, match="hidden_size"):
    layer.init(jax.random.PRNGKey(0), D, [7, 3, 2])
  with pytest.raises(ValueError, match="dropout_rate"):
    rj.stacked([rj.gru()], dropout_rate=1.0)


def test_variational_dropout_mask_is_shared_over_time():
  xs = jnp.ones((4, 9, 6))
  out = np.asarray(variational_dropout(jax.random.PRNGKey(0), xs, 0.5))
  assert np.all(out == out[:, :1, :])  # same mask at every step
  assert set(np.unique(out)) <= {0.0, 2.0} and 0 < (out == 0).mean() < 1


def test_stacked_dropout_only_with_key_and_uses_variational_masks():
  layer = rj.stacked([rj.lstm(), rj.lstm()], dropout_rate=0.5)
  params = layer.init(jax.random.PRNGKey(0), D, H)
  _, eval_ys = layer.apply(params, _xs(), lengths=LENGTHS)
  key = jax.random.PRNGKey(5)
  _, train_ys = layer.apply(params, _xs(), lengths=LENGTHS, key=key)
  _, h1 = rj.unroll(rj.lstm(), params[0], _xs(), lengths=LENGTHS)
  h1 = variational_dropout(jax.random.fold_in(key, 1), h1, 0.5)
  _, manual = rj.unroll(rj.lstm(), params[1], h1, lengths=LENGTHS)
  np.testing.assert_allclose(train_ys, manual, rtol=1e-6, atol=1e-6)
  assert not np.allclose(train_ys, eval_ys)
  _, again = layer.apply(params, _xs(), lengths=LENGTHS, key=jax.random.PRNGKey(6))
  assert not np.allclose(train_ys, again)
  # layer 1's input is not dropped: with one layer a key changes nothing
  one = rj.stacked([rj.lstm()], dropout_rate=0.5)
  p1 = one.init(jax.random.PRNGKey(0), D, H)
  np.testing.assert_array_equal(
      one.apply(p1, _xs(), lengths=LENGTHS, key=key)[1],
      one.apply(p1, _xs(), lengths=LENGTHS)[1])


def test_unknown_merge_and_bad_layers_raise():
  with pytest.raises(ValueError, match="merge must be one of"):
    rj.bidirectional(rj.lstm(), merge="max")
  with pytest.raises(ValueError, match="Cells or Layers"):
    rj.stacked([rj.lstm(), "gru"])
  with pytest.raises(ValueError, match="at least one layer"):
    rj.stacked([])


def _conv_reference(x, n, w, b, relu=True):
  """Loop form of a 'same' convolution over the valid steps of one sequence."""
  k = w.shape[0]
  left = (k - 1) // 2
  out = np.zeros((x.shape[0], w.shape[2]))
  for t in range(n):
    z = b.copy()
    for j in range(k):
      s = t + j - left
      if 0 <= s < n:
        z = z + x[s] @ w[j]
    out[t] = np.maximum(z, 0.0) if relu else z
  return out


@pytest.mark.parametrize("kernel,activation", [(1, "relu"), (4, "identity"), (5, "relu")])
def test_convolution_is_a_same_padded_sum_within_lengths(kernel, activation):
  layer = rj.convolution(kernel, activation)
  params = layer.init(jax.random.PRNGKey(0), D, 7)
  params["b"] = 0.3 * jax.random.normal(jax.random.PRNGKey(4), (7,))
  xs = _xs()
  carry, ys = layer.apply(params, xs, lengths=LENGTHS)
  assert carry is None and ys.shape == (B, T, 7) and layer.output_size(7) == 7
  w, b = np.asarray(params["w"], np.float64), np.asarray(params["b"], np.float64)
  for i in range(B):
    want = _conv_reference(np.asarray(xs[i], np.float64), LENGTHS[i], w, b, activation == "relu")
    np.testing.assert_allclose(ys[i], want, atol=1e-5)
  garbage = jnp.where(jnp.arange(T)[None, :, None] < LENGTHS[:, None, None], xs, 1e3)
  np.testing.assert_allclose(layer.apply(params, garbage, lengths=LENGTHS)[1], ys, atol=1e-5)
  with pytest.raises(ValueError, match="cannot decode"):
    layer.step(params, None, xs[:, 0])


@pytest.mark.parametrize("kernel,activation", [(3, "relu"), (4, "identity")])
def test_normalized_convolution_standardizes_each_sequence_over_its_valid_steps(kernel, activation):
  layer = rj.convolution(kernel, activation, normalize=True)
  params = layer.init(jax.random.PRNGKey(0), D, 7)
  params["b"] = 0.3 * jax.random.normal(jax.random.PRNGKey(4), (7,))
  xs, lengths = _xs(), np.array([6, 1, 0])
  _, ys = layer.apply(params, xs, lengths=lengths)
  w, b = np.asarray(params["w"], np.float64), np.asarray(params["b"], np.float64)
  for i in range(B):
    n = lengths[i]
    z = _conv_reference(np.asarray(xs[i], np.float64), n, w, np.zeros(7), relu=False)[:n]
    z = (z - z.mean(0)) / np.sqrt(z.var(0) + 1e-5) + b if n else z
    want = np.zeros((T, 7))
    want[:n] = np.maximum(z, 0.0) if activation == "relu" else z
    np.testing.assert_allclose(ys[i], want, atol=1e-4)
  garbage = jnp.where(jnp.arange(T)[None, :, None] < lengths[:, None, None], xs, 1e3)
  np.testing.assert_allclose(layer.apply(params, garbage, lengths=lengths)[1], ys, atol=1e-5)
  # Without lengths every step is valid: the statistics run over the whole row.
  full = layer.apply(params, xs)[1]
  np.testing.assert_allclose(full[0], ys[0], atol=1e-5)
  with pytest.raises(ValueError, match="normalize"):
    rj.convolution(3, normalize="yes")


@pytest.mark.parametrize("size", [1, 2, 3])
def test_pool_time_takes_block_maxima_within_lengths(size):
  ys = jax.random.normal(jax.random.PRNGKey(2), (3, 7, 2))
  lengths = np.array([7, 4, 0])
  pooled, new = rj.pool_time(ys, list(lengths), size)
  blocks = -(-7 // size)
  assert pooled.shape == (3, blocks, 2)
  np.testing.assert_array_equal(new, [-(-7 // size), -(-4 // size), 0])
  y = np.asarray(ys)
  for i, n in enumerate(lengths):
    want = np.zeros((blocks, 2))
    for j in range(blocks):
      valid = y[i, j * size:min((j + 1) * size, n)]
      if len(valid):
        want[j] = valid.max(0)
    np.testing.assert_allclose(pooled[i], want, atol=0)
  garbage = jnp.where(jnp.arange(7)[None, :, None] < lengths[:, None, None], ys, 1e3)
  np.testing.assert_array_equal(rj.pool_time(garbage, lengths, size)[0], pooled)
  whole, n_whole = rj.pool_time(ys, None, size)  # no lengths: every step valid
  np.testing.assert_array_equal(whole[0], pooled[0])
  np.testing.assert_array_equal(n_whole, [blocks] * 3)
  with pytest.raises(ValueError, match="size"):
    rj.pool_time(ys, lengths, 0)
  with pytest.raises(ValueError, match=r"ys must have shape \[B, T, F\]"):
    rj.pool_time(ys[0], lengths, 2)
  with pytest.raises(ValueError, match="lengths must have shape"):
    rj.pool_time(ys, [7, 4], 2)


def test_convolution_front_end_stacks_under_a_recurrent_layer():
  layer = rj.stacked([rj.convolution(3), rj.bidirectional(rj.gru())])
  params = layer.init(jax.random.PRNGKey(0), D, [6, H])
  finals, ys = layer.apply(params, _xs(), lengths=LENGTHS)
  _, conv = rj.convolution(3).apply(params[0], _xs(), lengths=LENGTHS)
  want = rj.bidirectional(rj.gru()).apply(params[1], conv, lengths=LENGTHS)[1]
  assert finals[0] is None and ys.shape == (B, T, 2 * H)
  np.testing.assert_allclose(ys, want, atol=1e-6)
  with pytest.raises(ValueError, match="kernel_size"):
    rj.convolution(0)
  with pytest.raises(ValueError, match="activation"):
    rj.convolution(3, "tanh")
