"""Pieces the topologies share: token embeddings, the encoder+readout body, one token step."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from rnn_jax.cells import dense, readout_logits
from rnn_jax.layers import Layer, recurrent
from rnn_jax.types import Cell, Model, check_positive_int, check_rank


def check_tokens(name: str, tokens, vocab_size: int) -> None:
  """Token ids must be integers in [0, vocab_size) (value check when concrete)."""
  dtype = jnp.result_type(tokens)
  if not jnp.issubdtype(dtype, jnp.integer):
    raise ValueError(f"{name} must hold integer token ids, got dtype {dtype}.")
  if not isinstance(tokens, jax.core.Tracer):
    arr = np.asarray(tokens)
    if arr.size and (arr.min() < 0 or arr.max() >= vocab_size):
      raise ValueError(f"{name} must be token ids in [0, {vocab_size}), got min {arr.min()} "
                       f"and max {arr.max()}.")


def init_embedding(key, vocab_size: int, embed_size: int | None, dtype=jnp.float32):
  """``[V, E]`` table, or None for one-hot inputs (E = V)."""
  if embed_size is None:
    return None
  v = check_positive_int("vocab_size", vocab_size)
  e = check_positive_int("embed_size", embed_size)
  return jax.random.normal(key, (v, e), dtype) / jnp.sqrt(e).astype(dtype)


def embed(table, tokens, vocab_size: int, dtype=jnp.float32):
  """x⟨t⟩ for token ids: a row of the table, or the one-hot vector."""
  if table is None:
    return jax.nn.one_hot(tokens, vocab_size, dtype=dtype)
  return jnp.take(table, tokens, axis=0)


def embed_size_of(embed_size, vocab_size):
  return vocab_size if embed_size is None else embed_size


def encoder_readout(encoder, input_size: int, hidden_size, output_size: int, output: str, post,
                    unroll_options) -> Model:
  """An encoder layer, then ``post(ys, lengths)``, then the readout w_ya · + b_y.

  The shared body of many-to-one (post = masked pooling) and many-to-many (post = identity).
  """
  layer = recurrent(encoder) if isinstance(encoder, Cell) else encoder
  d = check_positive_int("input_size", input_size)
  v = check_positive_int("output_size", output_size)
  readout_init = dense(output).init

  def init(key, dtype=jnp.float32):
    ke, kr = jax.random.split(key)
    return {
        "encoder": layer.init(ke, d, hidden_size, dtype),
        "readout": readout_init(kr, layer.output_size(hidden_size), v, dtype)
    }

  def apply(params, xs, lengths=None, *, key=None):
    check_rank("xs", xs, 3, "[B, T, D]")
    _, ys = layer.apply(params["encoder"], xs, lengths=lengths, key=key, **unroll_options)
    return readout_logits(params["readout"], post(ys, lengths))

  return Model(init, apply)


def token_step(stack: Layer, embedding, decoder_params, readout, tokens, vocab_size):
  """One decoding step: embed y⟨t−1⟩, advance the stacked cells, logits of ŷ⟨t⟩."""

  def run(carries):
    x = embed(embedding, tokens, vocab_size, readout["w_ya"].dtype)
    carries, a = stack.step(decoder_params, carries, x)
    return carries, readout_logits(readout, a)

  return run
