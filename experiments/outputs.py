"""What a run leaves in its workdir besides checkpoints and metrics: learning curves, task
pictures, text, TensorBoard events, and the console's progress bar. Files are written
atomically, and in a run of several processes only by process 0."""
from __future__ import annotations

import os

import jax


def write_plots(history, workdir, task):
  """Learning curves and gradient norms as ``curves.png`` in the workdir."""
  if not history:
    return
  plt = pyplot()
  steps = [r["step"] for r in history]
  evals = sorted(k for k in history[-1] if k.startswith("eval_") and k != "eval_seconds")
  train = "train_bpc" if "train_bpc" in history[-1] else "loss"  # one unit with eval_bpc
  fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
  axes[0].plot(steps, [r[train] for r in history], label="train " + train)
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
  """Writes ``workdir/name`` atomically (temp file, then rename) and closes the figure; in a
  run of several processes only process 0 writes."""
  if jax.process_index() != 0:
    pyplot().close(fig)
    return
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


def plot_predictions(truth, predicted, step, workdir):
  """``predictions.png``: predicted against true targets, with the diagonal."""
  plt = pyplot()
  fig, ax = plt.subplots(figsize=(4.6, 4.2))
  ax.plot(truth, predicted, ".", alpha=0.6)
  lo, hi = float(min(truth.min(), predicted.min())), float(max(truth.max(), predicted.max()))
  ax.plot([lo, hi], [lo, hi], "k:", lw=1)
  ax.set(
      xlabel="true target", ylabel=f"predicted (params of step {step})", title="test predictions")
  fig.tight_layout()
  save_figure(fig, workdir, "predictions.png")


def save_text(workdir, name, text):
  """Writes ``workdir/name`` atomically (only process 0 of several)."""
  if jax.process_index() != 0:
    return
  tmp = os.path.join(workdir, name + ".tmp")
  with open(tmp, "w", encoding="utf-8") as f:
    f.write(text)
  os.replace(tmp, os.path.join(workdir, name))


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
