"""What every task shares: state, sharded train step, evaluation, the fit loop, report, plots.

A task supplies a model, a loss, a batch function and an evaluation; ``run_task`` does
the rest the same way for all of them (library code: ``rnn_jax.train.fit``).
"""
from __future__ import annotations

import json
import os
import time
from typing import Any, Callable, NamedTuple

import jax

from rnn_jax import parallel
from rnn_jax.optim import OptimConfig, make_optimizer
from rnn_jax.train import fit, init_state, make_train_step


def initial_state(config, model, carry=None):
  """The TrainState a run starts from (also the structure its checkpoints restore into)."""
  k_init, k_train, _ = jax.random.split(jax.random.PRNGKey(config.seed), 3)
  tx = make_optimizer(
      OptimConfig(
          config.optimizer,
          config.learning_rate,
          config.clip_norm or None,
          skip_nonfinite=10,
          schedule=config.schedule,
          decay_steps=config.steps))
  return init_state(model.init(k_init), tx, k_train, carry), tx


class Task(NamedTuple):
  """What a task supplies; ``run_task`` does the rest the same way for all of them.

  ``loss_fn(params, batch, key) -> (loss, aux)``; ``make_batch(key) -> batch``;
  ``evaluate(params) -> {name: value}``; ``summary(row) -> str`` formats a log line.
  ``jit_batch=False`` when ``make_batch`` is already jitted with its data as arguments (a
  data set closed over by ``jax.jit`` would be baked into the program as a constant).
  ``initial_carry``: stateful training (see ``rnn_jax.train``), then ``loss_fn(params, batch,
  key, carry) -> (loss, (aux, carry))``. ``batch_from_step``: ``make_batch(step)`` gets the
  step number instead of a key (streams read in order). ``extra_report``: merged into the
  report (data set, sizes).
  """
  name: str
  model: Any
  loss_fn: Callable
  make_batch: Callable
  evaluate: Callable
  summary: Callable
  extra_report: dict | None = None
  jit_batch: bool = True
  initial_carry: Any = None
  batch_from_step: bool = False


def run_task(config, workdir, task: Task, log=print):
  """Trains ``task.model`` as ``config`` says and returns ``(report, params)``."""
  model, loss_fn, make_batch = task.model, task.loss_fn, task.make_batch
  evaluate, summary, initial_carry = task.evaluate, task.summary, task.initial_carry
  state, tx = initial_state(config, model, initial_carry)
  k_data = jax.random.split(jax.random.PRNGKey(config.seed), 3)[2]
  devices = jax.local_devices()[:config.devices] if config.devices else None
  mesh = parallel.local_mesh(config.batch_size, devices)  # batch split over the devices
  state = parallel.replicate(state, mesh)
  train_step = make_train_step(
      loss_fn, tx, config.clip_norm or None, mesh=mesh, stateful=initial_carry is not None)
  make_batch = jax.jit(make_batch) if task.jit_batch else make_batch
  source = (lambda step: step) if task.batch_from_step else (
      lambda step: jax.random.fold_in(k_data, step))
  batch_fn = lambda step: parallel.shard_batch(make_batch(source(step)), mesh)
  start = time.time()
  writer = tensorboard_writer(workdir)
  bar = progress_bar(config.steps)

  def on_row(row):
    if writer is not None:
      for name, value in row.items():
        if name != "step":
          writer.add_scalar(name, value, row["step"])
      writer.flush()
    line = f"{summary(row)}  {time.time() - start:6.1f}s"
    bar.write(line) if bar is not None else log(line)

  try:
    state, info = fit(
        state,
        train_step,
        batch_fn,
        steps=config.steps,
        workdir=workdir,
        eval_fn=lambda st: evaluate(st.params),
        eval_every=config.eval_every,
        checkpoint_every=config.checkpoint_every,
        log=on_row,
        on_step=(lambda step: bar.update(step - bar.n)) if bar else None)
  finally:
    if bar is not None:
      bar.close()
    if writer is not None:
      writer.close()
  history = info["history"]
  report = {
      "task": task.name,
      "config": config.to_dict(),
      "devices": int(mesh.devices.size),
      "final": history[-1] if history else None,
      "interrupted": info["interrupted"],
      "resumed_from": info["resumed_from"],
      "seconds": time.time() - start,
      "history": history,
      **(task.extra_report or {})
  }
  if workdir and not info["interrupted"]:
    tmp = os.path.join(workdir, "report.json.tmp")
    with open(tmp, "w") as f:
      json.dump(report, f, indent=1)
    os.replace(tmp, os.path.join(workdir, "report.json"))  # never a half-written report
    write_plots(history, workdir, task.name)
  return report, state.params


def write_plots(history, workdir, task):
  """Learning curves and gradient norms as ``curves.png`` in the workdir."""
  if not history:
    return
  plt = pyplot()
  steps = [r["step"] for r in history]
  evals = sorted(k for k in history[-1] if k.startswith("eval_"))
  fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
  axes[0].plot(steps, [r["loss"] for r in history], label="train loss")
  for k in evals:
    axes[0].plot(steps, [r[k] for r in history], label=k)
  axes[0].set(xlabel="step", title=f"{task}: learning curves", yscale="log")
  axes[0].legend(fontsize=8)
  axes[1].plot(steps, [r["grad_norm"] for r in history], label="‖g‖ before clipping")
  axes[1].set(xlabel="step", title="gradient norm", yscale="log")
  axes[1].legend(fontsize=8)
  fig.tight_layout()
  save_figure(fig, workdir, "curves.png")


def pyplot():
  """matplotlib's pyplot on the file-only Agg backend."""
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  return plt


def save_figure(fig, workdir, name):
  """Writes ``workdir/name`` atomically (temp file, then rename) and closes the figure."""
  tmp = os.path.join(workdir, name + ".tmp.png")
  fig.savefig(tmp, dpi=90)
  pyplot().close(fig)
  os.replace(tmp, os.path.join(workdir, name))


def save_confusion(true, predicted, labels, workdir, name, title, what=""):
  """Confusion matrix of integer ``true``/``predicted`` ids as ``workdir/name``: counts written
  in the cells, shade = share of each true row."""
  import numpy as np
  k = len(labels)
  matrix = np.zeros((k, k), int)
  np.add.at(matrix, (np.asarray(true), np.asarray(predicted)), 1)
  share = matrix / np.maximum(matrix.sum(1, keepdims=True), 1)
  plt = pyplot()
  fig, ax = plt.subplots(figsize=(5, 4.4))
  ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
  for i, j in zip(*np.nonzero(matrix)):
    ax.text(
        j,
        i,
        matrix[i, j],
        ha="center",
        va="center",
        fontsize=7,
        color="w" if share[i, j] > 0.5 else "k")
  ax.set(
      xticks=range(k),
      yticks=range(k),
      xticklabels=labels,
      yticklabels=labels,
      xlabel=f"predicted{what}",
      ylabel=f"true{what}",
      title=f"{title} ({100 * np.trace(matrix) / max(matrix.sum(), 1):.1f}% right)")
  plt.setp(ax.get_xticklabels(), rotation=45)
  fig.tight_layout()
  save_figure(fig, workdir, name)


def save_text(workdir, name, text):
  """Writes ``workdir/name`` atomically."""
  tmp = os.path.join(workdir, name + ".tmp")
  with open(tmp, "w", encoding="utf-8") as f:
    f.write(text)
  os.replace(tmp, os.path.join(workdir, name))


def sample_batch(key, batch_size, *arrays):
  """The same random rows (with replacement) of every array: a training batch."""
  idx = jax.random.randint(key, (batch_size,), 0, arrays[0].shape[0])
  return tuple(a[idx] for a in arrays)


def dataset_batches(batch_size, *arrays):
  """``make_batch(key)`` over device-resident arrays (jitted, arrays passed as arguments)."""
  import jax.numpy as jnp
  arrays = tuple(jnp.asarray(a) for a in arrays)
  draw = jax.jit(sample_batch, static_argnums=1)
  return lambda key: draw(key, batch_size, *arrays)


def tensorboard_writer(workdir):
  """TensorBoard event files in ``workdir/tensorboard`` (tensorboardX: protobuf and numpy only,
  no TensorFlow or torch), or None without a workdir."""
  if not workdir:
    return None
  from tensorboardX import SummaryWriter
  return SummaryWriter(os.path.join(workdir, "tensorboard"))


def progress_bar(total):
  """A tqdm bar with ETA when stderr is a terminal; None (quiet) otherwise."""
  import sys
  if not sys.stderr.isatty():
    return None
  from tqdm import tqdm
  return tqdm(total=total, unit="step", dynamic_ncols=True, leave=False)
