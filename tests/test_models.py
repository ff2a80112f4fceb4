"""Every topology: shapes, masking, attention weights, a tiny task learned, bad input."""
import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import rnn_jax as rj
from rnn_jax.models import (attention_model, language_model, many_to_many, many_to_one, one_to_many,
                            seq2seq)


def fit(loss_fn, params, batch_fn, steps=300, lr=1e-2):
  """Adam on fresh batches; returns (first loss, mean of the last 20 losses, params)."""
  tx = optax.adam(lr)
  state = tx.init(params)

  @jax.jit
  def step(params, state, key):
    loss, g = jax.value_and_grad(loss_fn)(params, *batch_fn(key))
    u, state = tx.update(g, state, params)
    return optax.apply_updates(params, u), state, loss

  losses = []
  for i in range(steps):
    params, state, loss = step(params, state, jax.random.PRNGKey(i))
    losses.append(float(loss))
  return losses[0], float(np.mean(losses[-20:])), params


# ----------------------------------------------------------------- many-to-one
def test_many_to_one_counts_ones_with_variable_lengths():
  model = many_to_one(rj.gru(), 1, 16, 6, pooling="last")

  def batch(key):
    k1, k2 = jax.random.split(key)
    xs = jax.random.bernoulli(k1, 0.5, (32, 5, 1)).astype(jnp.float32)
    lengths = jax.random.randint(k2, (32,), 1, 6)
    valid = (jnp.arange(5)[None, :] < lengths[:, None])
    return xs, lengths, jnp.sum(xs[..., 0] * valid, axis=1).astype(jnp.int32)

  loss = lambda p, xs, n, y: optax.softmax_cross_entropy_with_integer_labels(
      model.apply(p, xs, n), y).mean()
  first, last, _ = fit(loss, model.init(jax.random.PRNGKey(0)), batch, 300)
  assert last < 0.25 * first


@pytest.mark.parametrize(  # "mean" in the quick set
    "pooling", ["mean"] + [pytest.param(p, marks=pytest.mark.slow) for p in ("last", "max")])
def test_many_to_one_pooling_ignores_padding(pooling):
  model = many_to_one(rj.bidirectional(rj.lstm()), 3, 4, 2, pooling=pooling)
  p = model.init(jax.random.PRNGKey(0))
  xs = jax.random.normal(jax.random.PRNGKey(1), (3, 6, 3))
  lengths = jnp.array([6, 2, 4])
  bad = jnp.where((jnp.arange(6)[None, :] >= lengths[:, None])[:, :, None], 1e4, xs)
  np.testing.assert_array_equal(model.apply(p, xs, lengths), model.apply(p, bad, lengths))
  # against running each example alone on its valid prefix
  for b in range(3):
    one = model.apply(p, xs[b:b + 1, :int(lengths[b])])
    np.testing.assert_allclose(model.apply(p, xs, lengths)[b], one[0], rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- many-to-many
@pytest.mark.slow  # end-to-end (a task run, training to a result, or a subprocess)
def test_many_to_many_bidirectional_tagger_learns_next_token():
  # tag⟨t⟩ = x⟨t+1⟩: only the backward direction can know it
  v = 4
  model = many_to_many(rj.bidirectional(rj.lstm()), v, 16, v + 1)

  def batch(key):
    tokens = jax.random.randint(key, (32, 6), 0, v)
    tags = jnp.concatenate([tokens[:, 1:], jnp.full((32, 1), v)], axis=1)
    return jax.nn.one_hot(tokens, v), tags

  loss = lambda p, xs, y: rj.sequence_loss(
      model.apply(p, xs), y, loss="softmax_cross_entropy", reduction="token_mean")
  first, last, _ = fit(loss, model.init(jax.random.PRNGKey(0)), batch, 250)
  assert last < 0.1 * first


def test_many_to_many_padding_changes_no_loss_or_gradient():
  model = many_to_many(rj.stacked([rj.gru(), rj.bidirectional(rj.lstm())]), 3, 4, 5)
  p = model.init(jax.random.PRNGKey(0))
  xs = jax.random.normal(jax.random.PRNGKey(1), (3, 6, 3))
  tags = jax.random.randint(jax.random.PRNGKey(2), (3, 6), 0, 5)
  lengths = jnp.array([6, 0, 3])
  pad = jnp.arange(6)[None, :] >= lengths[:, None]
  f = lambda p, x, y: rj.sequence_loss(
      model.apply(p, x, lengths), y, loss="softmax_cross_entropy", lengths=lengths)
  vg = jax.jit(jax.value_and_grad(f))  # compiled once, called on both
  v1, g1 = vg(p, xs, tags)
  v2, g2 = vg(p, jnp.where(pad[:, :, None], jnp.nan, xs), jnp.where(pad, 4, tags))
  assert float(v1) == float(v2)
  jax.tree_util.tree_map(np.testing.assert_array_equal, g1, g2)


# ---------------------------------------------------------------- one-to-many
@pytest.mark.parametrize("feed", ["carry", "input", "both"])
def test_one_to_many_generates_the_sequence_its_vector_names(feed):
  from rnn_jax import decoding
  v, k = 6, 3
  model = one_to_many(rj.lstm(), k, v, 16, feed=feed)

  def batch(key):
    cls = jax.random.randint(key, (32,), 0, k)
    targets = (cls[:, None] + jnp.arange(5)[None, :]) % v
    return jax.nn.one_hot(cls, k), targets

  first, last, params = fit(model.loss, model.init(jax.random.PRNGKey(0)), batch, 300)
  assert last < 0.1 * first
  vec = jax.nn.one_hot(jnp.arange(k), k)
  out, _ = decoding.greedy(
      model.step_fn, params, model.initial_state(params, vec), jnp.zeros(k, jnp.int32), max_len=5)
  np.testing.assert_array_equal(out, (jnp.arange(k)[:, None] + jnp.arange(5)[None, :]) % v)


# --------------------------------------------------------------------- seq2seq
def _reverse_batch(key, v=5, t=4):
  k1, k2 = jax.random.split(key)
  lengths = jax.random.randint(k2, (32,), 2, t + 1)
  src = jax.random.randint(k1, (32, t), 2, v)  # 0 = bos, 1 = end
  src = jnp.where(jnp.arange(t)[None, :] < lengths[:, None], src, 0)
  rev = rj.flip_sequences(src[:, :, None], lengths)[:, :, 0]
  tgt = jnp.concatenate([rev, jnp.zeros((32, 1), src.dtype)], axis=1)
  tgt = jnp.where(jnp.arange(t + 1)[None, :] == lengths[:, None], 1, tgt)
  return src, lengths, tgt, lengths + 1


@pytest.mark.slow  # end-to-end (a task run, training to a result, or a subprocess)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_seq2seq_learns_to_reverse(bidirectional):
  from rnn_jax import decoding
  model = seq2seq([rj.lstm()], [rj.lstm()],
                  5,
                  5,
                  encoder_hidden=32,
                  bidirectional=bidirectional,
                  embed_size=8)
  first, last, params = fit(model.loss, model.init(jax.random.PRNGKey(0)), _reverse_batch, 400)
  assert last < 0.2 * first
  src, lengths, tgt, tgt_len = _reverse_batch(jax.random.PRNGKey(999))
  state = model.encode(params, src, lengths)
  out, out_len, _ = decoding.beam_search(
      model.step_fn, params, state, jnp.zeros(32, jnp.int32), beam_width=3, max_len=5, end_token=1)
  acc = np.mean([
      np.array_equal(o[:n], t[:n])
      for o, n, t in zip(np.asarray(out), np.asarray(tgt_len), np.asarray(tgt))
  ])
  assert acc > 0.5


def test_seq2seq_bridges_and_mismatches():
  with pytest.raises(ValueError, match="bridge='identity'"):
    seq2seq([rj.lstm()], [rj.lstm(), rj.lstm()], 5, 5, encoder_hidden=8)
  with pytest.raises(ValueError, match="bridge='identity'"):
    seq2seq([rj.gru()], [rj.lstm()], 5, 5, encoder_hidden=8)
  with pytest.raises(ValueError, match="bridge='identity'"):
    seq2seq([rj.lstm()], [rj.lstm()], 5, 5, encoder_hidden=8, decoder_hidden=6, bridge="identity")
  m = seq2seq([rj.gru()], [rj.lstm(), rj.lstm()],
              5,
              7,
              encoder_hidden=8,
              decoder_hidden=6,
              bridge="dense")
  p = m.init(jax.random.PRNGKey(0))
  src = jnp.zeros((2, 3), jnp.int32)
  assert m.apply(p, src, None, jnp.zeros((2, 4), jnp.int32)).shape == (2, 4, 7)
  with pytest.raises(ValueError, match="token ids"):
    m.apply(p, src.at[0, 0].set(5), None, jnp.zeros((2, 4), jnp.int32))
  with pytest.raises(ValueError, match="same batch size"):
    m.apply(p, src, None, jnp.zeros((3, 4), jnp.int32))


# ------------------------------------------------------------------- attention
def test_attention_weights_sum_to_one_and_are_zero_on_padding():
  m = attention_model(6, 5, pre_hidden=4, post_hidden=8)
  p = m.init(jax.random.PRNGKey(0))
  src = jax.random.randint(jax.random.PRNGKey(1), (3, 7), 0, 6)
  lengths = jnp.array([7, 3, 5])
  logits, alphas = m.apply(p, src, lengths, num_steps=4)
  assert logits.shape == (3, 4, 5) and alphas.shape == (3, 4, 7)
  np.testing.assert_allclose(alphas.sum(-1), 1.0, rtol=1e-5)
  pad = np.arange(7)[None, None, :] >= np.asarray(lengths)[:, None, None]
  assert np.all(np.asarray(alphas)[np.broadcast_to(pad, alphas.shape)] == 0.0)
  src_bad = jnp.where(jnp.arange(7)[None, :] >= lengths[:, None], 5, src)
  logits2, alphas2 = m.apply(p, src_bad, lengths, num_steps=4)
  np.testing.assert_array_equal(logits, logits2)
  np.testing.assert_array_equal(alphas, alphas2)


def test_attention_context_is_weighted_sum_of_annotations():
  m = attention_model(6, 5, pre_hidden=4, post_hidden=8)
  p = m.init(jax.random.PRNGKey(0))
  src = jax.random.randint(jax.random.PRNGKey(1), (2, 5), 0, 6)
  state = m.encode(p, src, jnp.array([5, 2]))
  alpha, context = m.attend(p, state)
  np.testing.assert_allclose(context, np.einsum("bt,bth->bh", alpha, state.annotations), rtol=1e-5)
  # energies by hand from [s; a] through the small dense network
  en = p["energy"]
  s = np.asarray(state.carry[1])
  a = np.asarray(state.annotations)
  e = np.tanh(a @ np.asarray(en["w_a"]).T + (s @ np.asarray(en["w_s"]).T)[:, None, :] +
              np.asarray(en["b"])) @ np.asarray(en["w_e"]) + float(en["b_e"])
  e[1, 2:] = -np.inf
  ref = np.exp(e - e.max(1, keepdims=True))
  np.testing.assert_allclose(alpha, ref / ref.sum(1, keepdims=True), rtol=1e-5, atol=1e-7)


@pytest.mark.slow  # end-to-end (a task run, training to a result, or a subprocess)
@pytest.mark.parametrize("feed_previous", [False, True])
def test_attention_learns_to_reverse(feed_previous):
  m = attention_model(
      5,
      5,
      pre_hidden=16,
      post_hidden=32,
      feed_previous=feed_previous,
      embed_size=8 if feed_previous else None)
  loss = lambda p, src, n, tgt, tn: m.loss(p, src, n, tgt, tn)
  first, last, _ = fit(loss, m.init(jax.random.PRNGKey(0)), _reverse_batch, 300)
  assert last < 0.2 * first


def test_attention_bad_calls():
  m = attention_model(6, 5, pre_hidden=4, post_hidden=8)
  p = m.init(jax.random.PRNGKey(0))
  src = jnp.zeros((2, 3), jnp.int32)
  with pytest.raises(ValueError, match="num_steps"):
    m.apply(p, src, None)
  with pytest.raises(ValueError, match="num_steps"):
    m.apply(p, src, None, num_steps=0)
  with pytest.raises(ValueError, match="src must have rank 2"):
    m.apply(p, src[0], None, num_steps=2)


# -------------------------------------------------------------- language model
@pytest.mark.slow  # end-to-end (a task run, training to a result, or a subprocess)
def test_language_model_learns_a_periodic_pattern():
  v = 5
  lm = language_model([rj.lstm(), rj.lstm()], v, 24, embed_size=8, dropout_rate=0.1)

  def batch(key):
    phase = jax.random.randint(key, (32, 1), 0, 3)
    return ((phase + jnp.arange(12)[None, :]) % 3,)

  loss = lambda p, tokens: lm.loss(p, tokens)
  first, last, _ = fit(loss, lm.init(jax.random.PRNGKey(0)), batch, 200)
  assert last < 0.1 * first


def test_language_model_log_probs_equal_stepping_one_token_at_a_time():
  lm = language_model([rj.lstm(), rj.gru()], 9, 6, embed_size=4)
  p = lm.init(jax.random.PRNGKey(2))
  tokens = jax.random.randint(jax.random.PRNGKey(3), (2, 7), 0, 9)
  got = lm.log_probs(p, tokens)
  chex.assert_shape(got, (2, 6))
  state, want = lm.initial_state(p, 2), []  # independent: the decoder's step, softmax by hand
  for t in range(6):
    state, logits = lm.step_fn(p, state, tokens[:, t])
    z = np.asarray(logits, np.float64)
    z = z - z.max(-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
    want.append(logp[np.arange(2), np.asarray(tokens[:, t + 1])])
  np.testing.assert_allclose(got, np.stack(want, 1), rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(-got.mean(), lm.loss(p, tokens), rtol=1e-5)


def test_language_model_loss_masks_padding_and_checks_tokens():
  lm = language_model(rj.gru(), 7, 8)
  p = lm.init(jax.random.PRNGKey(0))
  tokens = jax.random.randint(jax.random.PRNGKey(1), (3, 6), 0, 7)
  lengths = jnp.array([6, 3, 1])
  pad = jnp.arange(6)[None, :] >= lengths[:, None]
  vg = jax.jit(jax.value_and_grad(lm.loss))  # compiled once, called on both
  a = vg(p, tokens, lengths)
  b = vg(p, jnp.where(pad, 6, tokens), lengths)
  assert float(a[0]) == float(b[0])
  jax.tree_util.tree_map(np.testing.assert_array_equal, a[1], b[1])
  # independent: mean over valid next-token predictions, one example at a time
  logits, _ = lm.apply(p, tokens)
  logp = jax.nn.log_softmax(logits)
  terms = [-logp[b_, t, tokens[b_, t + 1]] for b_ in range(3) for t in range(int(lengths[b_]) - 1)]
  np.testing.assert_allclose(a[0], np.mean(terms), rtol=1e-5)
  with pytest.raises(ValueError, match="token ids"):
    lm.loss(p, tokens.at[0, 0].set(7))
  with pytest.raises(ValueError, match="integer token ids"):
    lm.loss(p, tokens.astype(jnp.float32))
  with pytest.raises(ValueError, match="at least 2 steps"):
    lm.loss(p, tokens[:, :1])
