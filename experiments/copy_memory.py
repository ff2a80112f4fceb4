"""Copy memory: ``python -m experiments.main --task=copy_memory``.

Many-to-many: one-hot inputs, a softmax over blank + 8 symbols at every step, mean cross-entropy
over all T + 20 steps. The memoryless baseline is 10·ln 8/(T+20) nats (0.173 at T=100). Default:
expRNN-190 (``rj.exp_rnn``: orthogonal w_aa = expm(A − Aᵀ), modReLU), T = 100, batch 128, rmsprop
3e-4, clip 1.0, 1,000 steps: 0.0001 nats and every symbol right in 86–131 s on a 2-core CPU (0.0026
after 250 steps). An LSTM stays near the baseline for thousands of steps: ``--config.cell=lstm``
starts from chrono initialisation (``--config.chrono``, default T_max = 1.5·T).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

import rnn_jax as rj
from experiments.common import make_layer
from experiments import configs
from experiments.runner import Task, run_task
from rnn_jax.data.copy_memory import (INPUT_CLASSES, OUTPUT_CLASSES, baseline_nats, copy_batch)
from rnn_jax.models import many_to_many


def build_model(config):
  # an LSTM starts from chrono init: it leaves the memoryless plateau (BUILD_NOTES.md)
  config = configs.replace(config, chrono=config.chrono or max(3, int(1.5 * config.length)))
  return many_to_many(
      make_layer(config),
      INPUT_CLASSES,
      config.hidden_size,
      OUTPUT_CLASSES,
      backward=config.backward,
      backend=config.backend,
      truncate=config.truncate)


def train_and_evaluate(config, workdir: str | None = None, log=print, return_params=False):
  if config.bidirectional:
    raise ValueError("--config.bidirectional makes copy memory trivial (the answer is visible "
                     "from the future); use a unidirectional model.")
  model = build_model(config)
  baseline = baseline_nats(config.length)
  k_test = jax.random.fold_in(jax.random.PRNGKey(config.seed), 10**6)
  test = [
      copy_batch(jax.random.fold_in(k_test, i), 256, config.length)
      for i in range(config.eval_batches)
  ]

  def metrics(params, inputs, targets):
    logits = model.apply(params, jax.nn.one_hot(inputs, INPUT_CLASSES))
    nats = rj.sequence_loss(logits, targets, loss="softmax_cross_entropy", reduction="token_mean")
    right = jnp.argmax(logits[:, -10:], -1) == targets[:, -10:]
    return nats, right.mean(), right.all(axis=1).mean()

  def evaluate(params):
    nats, sym, seq = (jnp.mean(jnp.stack(v)) for v in zip(*[metrics(params, *b) for b in test]))
    return {"nats": nats, "symbols_right": sym, "sequences_right": seq}

  def loss_fn(params, batch, key):
    return metrics(params, *batch)[0], {}

  report, params = run_task(
      config,
      workdir,
      Task(
          name="copy_memory",
          model=model,
          loss_fn=loss_fn,
          make_batch=lambda k: copy_batch(k, config.batch_size, config.length),
          evaluate=jax.jit(evaluate),
          summary=lambda r: (f"step {r['step']:5d}  train {r['loss']:.4f} nats  test "
                             f"{r['eval_nats']:.4f} (baseline {baseline:.3f})  symbols "
                             f"{100 * r['eval_symbols_right']:.1f}%"),
          extra_report={"baseline_nats": baseline}),
      log=log)
  return (report, params) if return_params else report


def result_line(report) -> str:
  f = report["final"]
  return (f"final test {f['eval_nats']:.4f} nats vs memoryless baseline "
          f"{report['baseline_nats']:.3f}; {100 * f['eval_symbols_right']:.1f}% of symbols and "
          f"{100 * f['eval_sequences_right']:.1f}% of sequences right in {report['seconds']:.0f}s")
