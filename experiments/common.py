"""Pieces several task modules share: building the recurrent layer a config names."""
from __future__ import annotations

import rnn_jax as rj


def cell_for(config):
  """The config's cell (an LSTM starts from chrono init when ``config.chrono`` is set), computed
  in ``config.compute_dtype`` (``rj.mixed_precision`` for bfloat16; autodiff backward then)."""
  cell = rj.lstm(chrono=config.chrono) if config.cell == "lstm" else rj.make_cell(config.cell)
  if config.get("compute_dtype", "float32") != "float32":
    cell = rj.mixed_precision(cell, config.compute_dtype)
  return cell


def make_layer(config):
  """The config's cell, bidirectional and stacked as asked; or, where the task has the field and
  it is set, ``num_layers`` residual blocks ``rnn_jax.blocks.block(config.block)`` (each block
  brings its own cell: --config.cell is not read then)."""
  if config.get("block"):
    return rj.stacked([rj.blocks.block(config.block)] * config.num_layers)
  cell = cell_for(config)
  layer = rj.bidirectional(cell) if config.bidirectional else cell
  if config.num_layers > 1:
    layer = rj.stacked([layer] * config.num_layers)
  return layer


def classification_metrics(logits, labels):
  """Mean cross-entropy (nats) and accuracy of ``logits [N, V]`` against ``labels [N]``."""
  import jax.numpy as jnp
  import optax
  ce = optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()
  return ce, jnp.mean(jnp.argmax(logits, -1) == labels)
