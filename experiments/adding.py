"""Adding problem: ``python -m experiments.main --task=adding``.

Default (LSTM-64, T=100, batch 64, adam 1e-2, clip 1.0, 1,500 steps, closed-form
backward) on a 2-core CPU: see BUILD_NOTES.md for the measured MSE and time;
the baseline that predicts the mean scores 0.167.
"""
from __future__ import annotations

import json
import os
import time

import jax
import jax.numpy as jnp

import rnn_jax as rj
from rnn_jax.data.adding import BASELINE_MSE, adding_batch
from rnn_jax.models import many_to_one
from rnn_jax.optim import OptimConfig, make_optimizer
from rnn_jax import parallel
from rnn_jax.train import init_state, make_train_step


def build_model(config):
  cell = rj.make_cell(config.cell)
  layer = rj.bidirectional(cell) if config.bidirectional else cell
  if config.num_layers > 1:
    layer = rj.stacked([layer] * config.num_layers)
  return many_to_one(layer, 2, config.hidden_size, 1, pooling="last",
                     backward=config.backward, truncate=config.truncate)


def train_and_evaluate(config, workdir: str | None = None, log=print, return_params=False):
  """Trains on fresh batches, evaluates on a fixed held-out set; returns the report."""
  model = build_model(config)
  key = jax.random.PRNGKey(config.seed)
  k_init, k_train, k_test, k_data = jax.random.split(key, 4)
  tx = make_optimizer(OptimConfig(config.optimizer, config.learning_rate, config.clip_norm))
  state = init_state(model.init(k_init), tx, k_train)

  def loss_fn(params, batch, key):
    xs, ys = batch
    return jnp.mean((model.apply(params, xs) - ys) ** 2), {}

  mesh = parallel.local_mesh(config.batch_size)  # every local device, batch split
  state = parallel.replicate(state, mesh)
  train_step = make_train_step(loss_fn, tx, config.clip_norm, mesh=mesh)
  test = [adding_batch(jax.random.fold_in(k_test, i), 256, config.length)
          for i in range(config.eval_batches)]
  evaluate = jax.jit(lambda p: jnp.mean(jnp.stack(
      [jnp.mean((model.apply(p, x) - y) ** 2) for x, y in test])))
  batch_fn = jax.jit(lambda k: adding_batch(k, config.batch_size, config.length))
  start, history = time.time(), []
  for step in range(1, config.steps + 1):
    batch = parallel.shard_batch(batch_fn(jax.random.fold_in(k_data, step)), mesh)
    state, metrics = train_step(state, batch)
    if step % config.eval_every == 0 or step == config.steps:
      mse = float(evaluate(state.params))
      history.append({"step": step, "test_mse": mse, "train_loss": float(metrics["loss"]),
                      "grad_norm": float(metrics["grad_norm"]), "seconds": time.time() - start})
      log(f"step {step:5d}  train mse {float(metrics['loss']):.4f}  test mse {mse:.4f}  "
          f"(baseline {BASELINE_MSE:.3f})  {time.time() - start:6.1f}s")
  report = {"task": "adding", "config": config.__dict__, "devices": int(mesh.devices.size), "test_mse": history[-1]["test_mse"],
            "baseline_mse": BASELINE_MSE, "seconds": time.time() - start, "history": history}
  if workdir:
    os.makedirs(workdir, exist_ok=True)
    with open(os.path.join(workdir, "report.json"), "w") as f:
      json.dump(report, f, indent=1)
  return (report, state.params) if return_params else report
