"""Selective copying: ``python -m experiments.main --task=selective_copy``.

Many-to-many over one-hot inputs (noise, V data tokens, marker); the loss is the mean
cross-entropy of the K answer steps only (the last K), against the memoryless ln V
(``rnn_jax.data.selective_copy``). Reports the answer tokens and the whole sequences right.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

import rnn_jax as rj
from experiments.common import make_layer
from experiments.runner import Task, run_task
from rnn_jax.data.selective_copy import baseline_nats, selective_copy_batch
from rnn_jax.models import many_to_many


def train_and_evaluate(config, workdir: str | None = None, log=print, return_params=False):
  if config.bidirectional:
    raise ValueError("--config.bidirectional makes selective copying trivial (the tokens are "
                     "visible from the answer steps' future); use a unidirectional model.")
  k, v = config.num_tokens, config.vocab
  model = many_to_many(
      make_layer(config),
      v + 2,
      config.hidden_size,
      v + 1,
      backward=config.backward,
      truncate=config.truncate)
  baseline = baseline_nats(v)
  batch = lambda key, size: selective_copy_batch(key, size, config.length, k, v)
  k_test = jax.random.fold_in(jax.random.PRNGKey(config.seed), 10**6)
  test = [batch(jax.random.fold_in(k_test, i), 256) for i in range(config.eval_batches)]

  def metrics(params, inputs, targets):
    logits = model.apply(params, jax.nn.one_hot(inputs, v + 2))[:, -k:]
    nats = rj.sequence_loss(logits, targets, loss="softmax_cross_entropy", reduction="token_mean")
    right = jnp.argmax(logits, -1) == targets
    return nats, right.mean(), right.all(axis=1).mean()

  def evaluate(params):
    nats, tok, seq = (jnp.mean(jnp.stack(x)) for x in zip(*[metrics(params, *b) for b in test]))
    return {"nats": nats, "tokens_right": tok, "sequences_right": seq}

  report, params = run_task(
      config,
      workdir,
      Task(
          name="selective_copy",
          model=model,
          loss_fn=lambda params, b, key: (metrics(params, *b)[0], {}),
          make_batch=lambda key: batch(key, config.batch_size),
          evaluate=jax.jit(evaluate),
          summary=lambda r: (f"step {r['step']:5d}  train {r['loss']:.4f} nats  test "
                             f"{r['eval_nats']:.4f} (memoryless {baseline:.3f})  tokens "
                             f"{100 * r['eval_tokens_right']:.1f}%"),
          extra_report={"baseline_nats": baseline}),
      log=log)
  return (report, params) if return_params else report


def result_line(report) -> str:
  f = report["final"]
  return (f"final test {f['eval_nats']:.4f} nats vs memoryless {report['baseline_nats']:.3f}; "
          f"{100 * f['eval_tokens_right']:.1f}% of tokens and "
          f"{100 * f['eval_sequences_right']:.1f}% of sequences right in {report['seconds']:.0f}s")
