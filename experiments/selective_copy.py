"""Selective copying: ``python -m experiments.main --task=selective_copy``.

K tokens of V scattered among T noise steps, then K markers during which they are recalled in
order (``rnn_jax.data.selective_copy``); the loss counts the K answers only (``recall``).
"""
from __future__ import annotations

import jax.numpy as jnp

from experiments import recall
from rnn_jax.data.selective_copy import baseline_nats, selective_copy_batch


def classes(config) -> int:
  return config.vocab + 2  # noise, V tokens, the marker


def batch_fn(config):

  def batch(key, size, length):
    inputs, tokens = selective_copy_batch(key, size, length, config.num_tokens, config.vocab)
    pad = jnp.zeros((size, length), jnp.int32)
    targets = jnp.concatenate([pad, tokens], axis=1)
    weights = jnp.concatenate([jnp.zeros((size, length)), jnp.ones(tokens.shape)], axis=1)
    return inputs, targets, weights

  return batch


def train_and_evaluate(config, workdir: str | None = None, log=print, return_params=False):
  return recall.run_recall(
      config,
      name="selective_copy",
      classes=classes(config),
      batch=batch_fn(config),
      baseline=baseline_nats(config.vocab),
      eval_lengths={"": config.length},
      workdir=workdir,
      log=log,
      return_params=return_params)


result_line = recall.result_line
