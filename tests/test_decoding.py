"""Greedy, sampling, priming and beam search against independent computations."""
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rnn_jax as rj
from rnn_jax import decoding
from rnn_jax.models import language_model, seq2seq

V = 5


def _lm(seed=0):
  lm = language_model([rj.gru(), rj.lstm()], V, 8, embed_size=4)
  params = lm.init(jax.random.PRNGKey(seed))
  # sharpen the readout so decisions are not near-ties
  params["readout"] = jax.tree_util.tree_map(lambda x: 3.0 * x, params["readout"])
  return lm, params


def _s2s():
  m = seq2seq([rj.lstm()], [rj.lstm()], 6, V, encoder_hidden=8, embed_size=4)
  params = m.init(jax.random.PRNGKey(1))
  params["readout"] = jax.tree_util.tree_map(lambda x: 3.0 * x, params["readout"])
  src = jax.random.randint(jax.random.PRNGKey(2), (3, 4), 0, 6)
  return m, params, src, jnp.array([4, 2, 3])


def test_greedy_equals_argmax_of_teacher_forced_run_on_its_own_outputs():
  m, params, src, lengths = _s2s()
  state = m.encode(params, src, lengths)
  tokens, out_len = decoding.greedy(m.step_fn, params, state, jnp.zeros(3, jnp.int32), max_len=6)
  logits = m.apply(params, src, lengths, tokens)
  np.testing.assert_array_equal(jnp.argmax(logits, -1), tokens)
  np.testing.assert_array_equal(out_len, [6, 6, 6])


def test_beam_width_one_equals_greedy():
  m, params, src, lengths = _s2s()
  state = m.encode(params, src, lengths)
  start = jnp.zeros(3, jnp.int32)
  g, gl = decoding.greedy(m.step_fn, params, state, start, max_len=6, end_token=1)
  b, bl, _ = decoding.beam_search(
      m.step_fn, params, state, start, beam_width=1, max_len=6, end_token=1)
  np.testing.assert_array_equal(b, g)
  np.testing.assert_array_equal(bl, gl)


def _seq_logprob(step_fn, params, state, start, seq):
  total, tok = 0.0, start
  for t in range(seq.shape[1]):
    state, logits = step_fn(params, state, tok)
    total = total + jax.nn.log_softmax(logits)[jnp.arange(seq.shape[0]), seq[:, t]]
    tok = seq[:, t]
  return total


def test_wide_beam_is_exhaustive_search():
  # With width V^(L-1) nothing is ever pruned: beam = brute force over all V^L sequences.
  lm, params = _lm()
  L = 3
  state = lm.initial_state(params, 1)
  start = jnp.zeros(1, jnp.int32)
  best, _, score = decoding.beam_search(
      lm.step_fn, params, state, start, beam_width=V**(L - 1), max_len=L)
  all_seqs = jnp.asarray(list(itertools.product(range(V), repeat=L)))
  scores = jax.vmap(lambda s: _seq_logprob(lm.step_fn, params, state, start, s[None])[0])(all_seqs)
  np.testing.assert_array_equal(best[0], all_seqs[int(jnp.argmax(scores))])
  np.testing.assert_allclose(score[0], scores.max(), rtol=1e-5)
  g, _ = decoding.greedy(lm.step_fn, params, state, start, max_len=L)
  assert float(_seq_logprob(lm.step_fn, params, state, start, g)[0]) <= float(score[0]) + 1e-5


def test_beam_ends_and_length_penalty():
  lm, params = _lm(3)
  state = lm.initial_state(params, 2)
  start = jnp.zeros(2, jnp.int32)
  toks, lens, _ = decoding.beam_search(
      lm.step_fn, params, state, start, beam_width=3, max_len=7, end_token=2, length_penalty=0.6)
  for row, n in zip(np.asarray(toks), np.asarray(lens)):
    if n < 7:
      assert row[n - 1] == 2 and np.all(row[n:] == 2) and np.all(row[:n - 1] != 2)


def test_beam_scores_follow_the_params_dtype_under_x64(x64):
  """float64 params: scores stay float64 and equal a float64 sum of log-probabilities of the
  chosen sequence to 1e-12 (float32 accumulation would be off by ~1e-7)."""
  lm = language_model([rj.gru()], V, 8, embed_size=4)
  params = lm.init(jax.random.PRNGKey(4), jnp.float64)
  state = lm.initial_state(params, 2, jnp.float64)
  start = jnp.zeros(2, jnp.int32)
  toks, _, score = decoding.beam_search(lm.step_fn, params, state, start, beam_width=3, max_len=9)
  assert score.dtype == jnp.float64
  ref = _seq_logprob(lm.step_fn, params, state, start, toks)
  assert ref.dtype == jnp.float64
  np.testing.assert_allclose(score, ref, rtol=1e-12)
  # float32 params keep float32 scores (no silent promotion under x64)
  p32 = lm.init(jax.random.PRNGKey(4))
  s32 = decoding.beam_search(
      lm.step_fn, p32, lm.initial_state(p32, 2), start, beam_width=3, max_len=9)[2]
  assert s32.dtype == jnp.float32


def test_sampling_is_reproducible_and_key_dependent():
  lm, params = _lm()
  state = lm.initial_state(params, 4)
  start = jnp.zeros(4, jnp.int32)
  f = jax.jit(lambda key: decoding.sample(
      lm.step_fn, params, state, start, key, max_len=12, temperature=1.5)[0])
  a, b, c = f(jax.random.PRNGKey(0)), f(jax.random.PRNGKey(0)), f(jax.random.PRNGKey(1))
  np.testing.assert_array_equal(a, b)
  assert not np.array_equal(a, c)


def test_cold_sampling_and_top1_equal_greedy():
  lm, params = _lm()
  state = lm.initial_state(params, 4)
  start = jnp.zeros(4, jnp.int32)
  g, _ = decoding.greedy(lm.step_fn, params, state, start, max_len=10)
  for kwargs in (dict(temperature=1e-4), dict(temperature=0.0), dict(top_k=1)):
    s, _ = decoding.sample(
        lm.step_fn, params, state, start, jax.random.PRNGKey(7), max_len=10, **kwargs)
    np.testing.assert_array_equal(s, g)


def test_top_k_only_emits_top_k_tokens():
  lm, params = _lm()
  state = lm.initial_state(params, 64)
  start = jnp.zeros(64, jnp.int32)
  s, _ = decoding.sample(
      lm.step_fn, params, state, start, jax.random.PRNGKey(3), max_len=1, top_k=2, temperature=5.0)
  _, logits = lm.step_fn(params, state, start)
  top2 = np.argsort(np.asarray(logits[0]))[-2:]
  assert set(np.asarray(s[:, 0]).tolist()) <= set(top2.tolist())


def test_prime_equals_running_the_prefix():
  lm, params = _lm()
  prefix = jax.random.randint(jax.random.PRNGKey(4), (2, 5), 0, V)
  state, last = decoding.prime(lm.step_fn, params, lm.initial_state(params, 2), prefix)
  _, finals = lm.apply(params, prefix[:, :-1])
  jax.tree_util.tree_map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), state,
                         finals)
  np.testing.assert_array_equal(last, prefix[:, -1])


@pytest.mark.parametrize("call,match", [
    (lambda f, p, s, t: decoding.greedy(f, p, s, t, max_len=0), "max_len"),
    (lambda f, p, s, t: decoding.beam_search(f, p, s, t, beam_width=0, max_len=3), "beam_width"),
    (lambda f, p, s, t: decoding.sample(
        f, p, s, t, jax.random.PRNGKey(0), max_len=3, temperature=-1.0), "temperature"),
    (lambda f, p, s, t: decoding.sample(f, p, s, t, jax.random.PRNGKey(0), max_len=3, top_k=0),
     "top_k"),
    (lambda f, p, s, t: decoding.prime(f, p, s, t[:, None][:, :0]), "prefix"),
])
def test_bad_decoding_arguments(call, match):
  lm, params = _lm()
  with pytest.raises(ValueError, match=match):
    call(lm.step_fn, params, lm.initial_state(params, 2), jnp.zeros(2, jnp.int32))
