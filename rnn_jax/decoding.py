"""Decoding: greedy, sampling (temperature, top-k, priming, stop token), beam search.

Every decoder works on a ``step_fn(params, state, tokens [B]) -> (state, logits [B, V])``
(:class:`rnn_jax.types.DecoderStep`) where ``state`` is any pytree with a leading batch
axis: every model of ``rnn_jax.models`` that produces tokens is a
:class:`rnn_jax.types.Decoder` and passes its ``step_fn``. All loops are ``lax.scan`` over
``max_len`` with
fixed shapes, so each function is jit-compilable with ``max_len``, ``beam_width``,
``top_k`` and the token ids static.

Outputs: ``tokens [B, max_len]`` and ``lengths [B]``; a sequence ends at its first
``end_token`` (included in its length); positions after it hold ``end_token``.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from rnn_jax.types import DecoderStep, check_positive_int


def _check(max_len, end_token=None):
  check_positive_int("max_len", max_len)
  if end_token is not None and (not isinstance(end_token, int) or end_token < 0):
    raise ValueError(f"end_token must be a non-negative int or None, got {end_token!r}.")


def _decode(step_fn, params, state, start_tokens, max_len, end_token, choose):
  """Shared loop: choose(logits, t) picks the next tokens."""
  batch = start_tokens.shape[0]
  done0 = jnp.zeros((batch,), bool)

  def body(carry, t):
    state, tokens, done = carry
    state, logits = step_fn(params, state, tokens)
    nxt = choose(logits, t)
    if end_token is not None:
      nxt = jnp.where(done, end_token, nxt)
      done = done | (nxt == end_token)
    return (state, nxt, done), nxt

  (_, _, _), out = jax.lax.scan(body, (state, start_tokens, done0), jnp.arange(max_len))
  out = out.T
  return out, sequence_lengths(out, end_token)


def sequence_lengths(tokens, end_token=None):
  """Length of each row up to and including its first ``end_token``."""
  max_len = tokens.shape[1]
  if end_token is None:
    return jnp.full((tokens.shape[0],), max_len, jnp.int32)
  is_end = tokens == end_token
  first = jnp.argmax(is_end, axis=1)
  return jnp.where(is_end.any(axis=1), first + 1, max_len).astype(jnp.int32)


def greedy(step_fn: DecoderStep,
           params,
           state,
           start_tokens,
           *,
           max_len: int,
           end_token: int | None = None):
  """ŷ⟨t⟩ = argmax of the logits, fed back as the next input."""
  _check(max_len, end_token)
  return _decode(step_fn, params, state, start_tokens, max_len, end_token,
                 lambda logits, t: jnp.argmax(logits, axis=-1).astype(start_tokens.dtype))


def sample(step_fn: DecoderStep,
           params,
           state,
           start_tokens,
           key,
           *,
           max_len: int,
           temperature: float = 1.0,
           top_k: int | None = None,
           end_token: int | None = None):
  """Samples ŷ⟨t⟩ ~ softmax(z⟨t⟩ / temperature), optionally among the top k.

  Reproducible from ``key`` (step t uses ``fold_in(key, t)``); ``temperature=0``
  is greedy decoding.
  """
  _check(max_len, end_token)
  if temperature < 0:
    raise ValueError(f"temperature must be >= 0, got {temperature!r}.")
  if top_k is not None:
    check_positive_int("top_k", top_k)
  if temperature == 0:
    return greedy(step_fn, params, state, start_tokens, max_len=max_len, end_token=end_token)

  def choose(logits, t):
    z = logits / temperature
    if top_k is not None and top_k < z.shape[-1]:
      kth = jax.lax.top_k(z, top_k)[0][:, -1:]
      z = jnp.where(z < kth, -jnp.inf, z)
    return jax.random.categorical(jax.random.fold_in(key, t), z, axis=-1).astype(start_tokens.dtype)

  return _decode(step_fn, params, state, start_tokens, max_len, end_token, choose)


def prime(step_fn: DecoderStep, params, state, prefix):
  """Feeds ``prefix [B, P]`` (P ≥ 1) through the model; returns ``(state, prefix[:, -1])``,
  ready for ``greedy``/``sample`` to continue after the prefix."""
  if prefix.ndim != 2 or prefix.shape[1] < 1:
    raise ValueError(f"prefix must have shape [B, P] with P >= 1, got {prefix.shape}.")

  def body(s, tok):
    s, _ = step_fn(params, s, tok)
    return s, None

  state, _ = jax.lax.scan(body, state, prefix[:, :-1].T)
  return state, prefix[:, -1]


def beam_search(step_fn: DecoderStep,
                params,
                state,
                start_tokens,
                *,
                beam_width: int,
                max_len: int,
                end_token: int | None = None,
                length_penalty: float = 0.0):
  """Beam search over log-probabilities.

  Keeps ``beam_width`` hypotheses per example; a finished hypothesis (it emitted
  ``end_token``) is extended only by ``end_token`` at no cost. The final choice
  maximises  log p / ((5 + length) / 6) ** length_penalty  (Wu et al. 2016);
  ``length_penalty=0`` ranks by raw log-probability. Scores are accumulated in the
  logits' dtype promoted to at least float32 (float64 params under x64 keep float64).
  Returns ``(tokens [B, max_len], lengths [B], scores [B])``.
  """
  _check(max_len, end_token)
  k = check_positive_int("beam_width", beam_width)
  batch = start_tokens.shape[0]
  tile = lambda x: jnp.repeat(x, k, axis=0)
  state = jax.tree_util.tree_map(tile, state)
  tokens = tile(start_tokens)
  # Scores accumulate in the logits' dtype, at least float32 (bf16 logits sum in float32).
  logits_shape = jax.eval_shape(step_fn, params, state, tokens)[1]
  dtype = jnp.promote_types(logits_shape.dtype, jnp.float32)
  scores = jnp.tile(jnp.array([0.0] + [-jnp.inf] * (k - 1), dtype), (batch,))  # one live beam
  done = jnp.zeros((batch * k,), bool)
  history = jnp.zeros((batch * k, max_len), start_tokens.dtype)

  def body(carry, t):
    state, tokens, scores, done, history = carry
    state, logits = step_fn(params, state, tokens)
    logp = jax.nn.log_softmax(logits.astype(dtype), axis=-1)
    vocab = logp.shape[-1]
    if end_token is not None:
      finished = jnp.full((vocab,), -jnp.inf, dtype).at[end_token].set(0.0)
      logp = jnp.where(done[:, None], finished[None, :], logp)
    cand = (scores[:, None] + logp).reshape(batch, k * vocab)
    top_scores, top_idx = jax.lax.top_k(cand, k)
    beam = top_idx // vocab + (jnp.arange(batch) * k)[:, None]
    beam, tok = beam.reshape(-1), (top_idx % vocab).reshape(-1).astype(tokens.dtype)
    state = jax.tree_util.tree_map(lambda x: x[beam], state)
    history = history[beam].at[:, t].set(tok)
    done = done[beam] | (tok == end_token if end_token is not None else False)
    return (state, tok, top_scores.reshape(-1), done, history), None

  (_, _, scores, done, history), _ = jax.lax.scan(body, (state, tokens, scores, done, history),
                                                  jnp.arange(max_len))
  lengths = sequence_lengths(history, end_token)
  norm = ((5.0 + lengths.astype(dtype)) / 6.0)**length_penalty
  ranked = (scores / norm).reshape(batch, k)
  best = jnp.argmax(ranked, axis=1) + jnp.arange(batch) * k
  return history[best], lengths[best], scores[best]
