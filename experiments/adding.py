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
from rnn_jax.train import fit, init_state, make_train_step


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
  make_batch = jax.jit(lambda k: adding_batch(k, config.batch_size, config.length))
  batch_fn = lambda step: parallel.shard_batch(make_batch(jax.random.fold_in(k_data, step)), mesh)
  start = time.time()

  def show(row):
    log(f"step {row['step']:5d}  train mse {row['loss']:.4f}  test mse {row['eval_mse']:.4f}  "
        f"(baseline {BASELINE_MSE:.3f})  {time.time() - start:6.1f}s")

  state, info = fit(state, train_step, batch_fn, steps=config.steps, workdir=workdir,
                    eval_fn=lambda st: {"mse": evaluate(st.params)}, eval_every=config.eval_every,
                    checkpoint_every=config.checkpoint_every, log=show)
  history = info["history"]
  report = {"task": "adding", "config": config.__dict__, "devices": int(mesh.devices.size),
            "test_mse": history[-1]["eval_mse"] if history else None,
            "interrupted": info["interrupted"], "resumed_from": info["resumed_from"],
            "baseline_mse": BASELINE_MSE, "seconds": time.time() - start, "history": history}
  if workdir and not info["interrupted"]:
    tmp = os.path.join(workdir, "report.json.tmp")
    with open(tmp, "w") as f:
      json.dump(report, f, indent=1)
    os.replace(tmp, os.path.join(workdir, "report.json"))  # never a half-written report
  return (report, state.params) if return_params else report
