"""The shared wiring of the token recall tasks (selective_copy, induction_heads, mqar).

Many-to-many over one-hot tokens; the loss is the mean cross-entropy over the steps whose weight
is 1 (the answers), reported against the memoryless ln V. Metrics: ``nats``, ``tokens_right``
(answers right) and ``sequences_right`` (every answer of a sequence right), on the training
length and, with a prefix, on each further evaluation length (``x4_tokens_right``, ...).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from experiments.common import make_layer
from experiments.runner import Task, run_task
from rnn_jax.models import many_to_many


def build_model(config, classes: int):
  return many_to_many(
      make_layer(config),
      classes,
      config.hidden_size,
      classes,
      backward=config.backward,
      backend=config.backend,
      truncate=config.truncate)


def run_recall(config,
               *,
               name: str,
               classes: int,
               batch,
               baseline: float,
               eval_lengths: dict,
               workdir=None,
               log=print,
               return_params=False):
  """``batch(key, size, length) -> (inputs, targets, weights)`` ([B, L] each); ``eval_lengths``
  maps a metric prefix ("" for the training length) to the length evaluated under it."""
  if config.bidirectional:
    raise ValueError(f"--config.bidirectional makes {name} trivial (the answers are visible "
                     "from the future); use a unidirectional model.")
  model = build_model(config, classes)
  k_test = jax.random.fold_in(jax.random.PRNGKey(config.seed), 10**6)
  tests = {
      prefix: [
          batch(jax.random.fold_in(k_test, i), 128, length) for i in range(config.eval_batches)
      ] for prefix, length in eval_lengths.items()
  }

  def metrics(params, inputs, targets, weights):
    logits = model.apply(params, jax.nn.one_hot(inputs, classes))
    ce = optax.softmax_cross_entropy_with_integer_labels(logits, targets)
    right = (jnp.argmax(logits, -1) == targets) | (weights == 0)
    count = jnp.sum(weights)
    return (jnp.sum(ce * weights) / count, jnp.sum(right * weights) / count,
            jnp.mean(jnp.all(right, axis=1)))

  def evaluate(params):
    out = {}
    for prefix, sets in tests.items():
      nats, tok, seq = (jnp.mean(jnp.stack(x)) for x in zip(*[metrics(params, *b) for b in sets]))
      out.update({
          prefix + "nats": nats,
          prefix + "tokens_right": tok,
          prefix + "sequences_right": seq
      })
    return out

  def summary(r):
    longer = "".join(
        f"  {p[:-1]} {100 * r['eval_' + p + 'tokens_right']:.1f}%" for p in eval_lengths if p)
    return (f"step {r['step']:5d}  train {r['loss']:.4f} nats  test {r['eval_nats']:.4f} "
            f"(memoryless {baseline:.3f})  answers {100 * r['eval_tokens_right']:.1f}%{longer}")

  report, params = run_task(
      config,
      workdir,
      Task(
          name=name,
          model=model,
          loss_fn=lambda params, b, key: (metrics(params, *b)[0], {}),
          make_batch=lambda key: batch(key, config.batch_size, config.length),
          evaluate=jax.jit(evaluate),
          summary=summary,
          extra_report={
              "baseline_nats": baseline,
              "eval_lengths": eval_lengths
          }),
      log=log)
  return (report, params) if return_params else report


def result_line(report) -> str:
  f = report["final"]
  longer = "".join(f"; at length {n:,}: {100 * f['eval_' + p + 'tokens_right']:.1f}%"
                   for p, n in report["eval_lengths"].items()
                   if p)
  return (f"final test {f['eval_nats']:.4f} nats vs memoryless {report['baseline_nats']:.3f}; "
          f"{100 * f['eval_tokens_right']:.1f}% of answers and "
          f"{100 * f['eval_sequences_right']:.1f}% of sequences right{longer} in "
          f"{report['seconds']:.0f}s")
