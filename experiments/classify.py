"""Classifying (or regressing) any ``.ts`` pair: ``python -m experiments.main --task=classify``
(alias ``japanese_vowels``).

Default data: JapaneseVowels (shipped); any UEA/UCR pair with ``--config.train_ts=X_TRAIN.ts
--config.test_ts=X_TEST.ts``. A file with ``@targetLabel true`` is a regression problem
(squared error on the standardized target, RMSE reported). ``?`` values by
``--config.missing=error|drop|interpolate``. Everything else adapts to the data:

- a validation split carved from the training file (stratified by class for classification),
  ``val_fraction`` of it; the reported test figure is that of the best validation evaluation
  (accuracy, ties broken by validation loss; RMSE for regression), with its step;
- per-channel standardization with training statistics;
- long series are folded: each block of ``downsample`` steps becomes one step of
  ``downsample × D`` features (no value dropped), ``downsample`` chosen by default so that the
  longest series has at most ``max_steps_in`` steps;
- training length in epochs (clamped), early stopping after ``patience`` evaluations without
  a better validation score.

Model: bidirectional GRU-64, the maximum of a⟨t⟩ over valid steps (``pooling``), a dense readout.
Picture: ``confusion.png`` (classification) or ``predictions.png`` (regression).
"""
from __future__ import annotations

import math
import os

import jax
import jax.numpy as jnp
import numpy as np

from experiments import configs
from experiments.common import classification_metrics, make_layer
from experiments.outputs import pyplot, save_confusion, save_figure
from experiments.runner import dataset_batches, Task, run_task
from experiments.selection import auto_eval_every, auto_steps, best_row, patience_stop
from rnn_jax.data.common import pad_sequences, standardize
from rnn_jax.data.japanese_vowels import load_japanese_vowels
from rnn_jax.data.ts import read_ts_pair
from rnn_jax.models import many_to_one


def load(config):
  """``(train, test, name)`` as ``TSData``."""
  if config.train_ts:
    train, test = read_ts_pair(config.train_ts, config.test_ts, missing=config.missing)
    return train, test, os.path.basename(config.train_ts).replace("_TRAIN", "").rsplit(".", 1)[0]
  train, test = load_japanese_vowels()
  return train, test, "JapaneseVowels"


def fold(sequence, k: int):
  """``[ceil(T/k), k·D]``: each block of ``k`` steps becomes one step of ``k·D`` features (the
  last block zero padded), so a long series gets ``k`` times fewer recurrent steps and loses
  no value."""
  if k == 1:
    return sequence
  t, d = sequence.shape
  blocks = math.ceil(t / k)
  padded = np.zeros((blocks * k, d))
  padded[:t] = sequence
  return padded.reshape(blocks, k * d)


def validation_split(labels, fraction: float, seed: int, stratify: bool):
  """Indices ``(fit, val)``: ``fraction`` of the examples held out, per class when
  ``stratify`` (classes with fewer than 3 examples stay whole in the training part)."""
  rng = np.random.default_rng(seed)
  groups = [np.flatnonzero(labels == c) for c in np.unique(labels)
           ] if stratify else [np.arange(len(labels))]
  val = []
  for idx in groups:
    take = int(round(fraction * len(idx))) if len(idx) >= 3 else 0
    val.extend(rng.choice(idx, max(take, 1 if len(idx) >= 3 else 0), replace=False))
  val = np.sort(np.array(val, int))
  return np.setdiff1d(np.arange(len(labels)), val), val


def prepare(config, train, test):
  """Padded, standardized, folded arrays for the fit, validation and test parts."""
  longest = max(len(s) for s in train.sequences + test.sequences)
  k = config.downsample or max(1, math.ceil(longest / config.max_steps_in))
  extend = lambda s: np.concatenate([s, np.diff(s, axis=0, prepend=s[:1])], 1) if config.get(
      "derivative") else s
  pad = lambda seqs: pad_sequences([fold(extend(s), k) for s in seqs])
  (x_tr, n_tr), (x_te, n_te) = pad(train.sequences), pad(test.sequences)
  if x_te.shape[1] < x_tr.shape[1]:  # one time axis for every part
    x_te = np.pad(x_te, ((0, 0), (0, x_tr.shape[1] - x_te.shape[1]), (0, 0)))
  fit, val = validation_split(train.labels, config.val_fraction, config.seed, not train.regression)
  _, _, scale = standardize(x_tr[fit], lengths=n_tr[fit])
  parts = {
      "fit": (scale(x_tr[fit], n_tr[fit]), n_tr[fit], train.labels[fit]),
      "val": (scale(x_tr[val], n_tr[val]), n_tr[val], train.labels[val]),
      "test": (scale(x_te, n_te), n_te, test.labels)
  }
  return parts, k


def train_and_evaluate(config, workdir: str | None = None, log=print, return_params=False):
  train, test, name = load(config)
  parts, k = prepare(config, train, test)
  regression = train.regression
  y_fit = parts["fit"][2]
  y_mu, y_sd = (float(y_fit.mean()), float(y_fit.std() + 1e-12)) if regression else (0.0, 1.0)
  outputs = 1 if regression else len(train.classes)
  steps = config.steps or auto_steps(len(y_fit), config.batch_size, config.epochs, 1000, 4000)
  config = configs.replace(
      config, steps=steps, eval_every=config.eval_every or auto_eval_every(steps))
  model = many_to_one(
      make_layer(config),
      train.dimensions * k * (2 if config.get("derivative") else 1),
      config.hidden_size,
      outputs,
      pooling=config.pooling,
      backward=config.backward)

  def scores(params, x, n, y):
    out = model.apply(params, x, n)
    if regression:
      pred = out[:, 0] * y_sd + y_mu
      return {"rmse": jnp.sqrt(jnp.mean((pred - y)**2))}
    nats, acc = classification_metrics(out, y)
    return {"nats": nats, "accuracy": acc}

  arrays = {p: tuple(map(jnp.asarray, v)) for p, v in parts.items()}

  @jax.jit
  def evaluate(params):
    return {f"{p}_{m}": v for p in ("val", "test") for m, v in scores(params, *arrays[p]).items()}

  def loss_fn(params, batch, key):
    x, n, y = batch
    out = model.apply(params, x, n)
    if regression:
      return jnp.mean((out[:, 0] - (y - y_mu) / y_sd)**2), {}
    return classification_metrics(out, y)[0], {}

  key, mode, tie = ("eval_val_rmse", "min", None) if regression else ("eval_val_accuracy", "max",
                                                                      "eval_val_nats")
  metric = (lambda r, p: f"RMSE {r[f'eval_{p}_rmse']:.4g}") if regression else (
      lambda r, p: f"accuracy {100 * r[f'eval_{p}_accuracy']:.1f}%")
  report, params = run_task(
      config,
      workdir,
      Task(
          name="classify",
          model=model,
          loss_fn=loss_fn,
          make_batch=dataset_batches(config.batch_size, *parts["fit"]),
          jit_batch=False,
          evaluate=evaluate,
          summary=lambda r: (f"step {r['step']:5d}  train {r['loss']:.4f}  validation "
                             f"{metric(r, 'val')}  test {metric(r, 'test')}"),
          stop_when=patience_stop(key, mode, config.patience, tie),
          select=lambda hist: best_row(hist, key, mode, tie),
          extra_report={
              "data":
                  name,
              "regression":
                  regression,
              "train_size":
                  len(train.labels),
              "fit_size":
                  len(y_fit),
              "val_size":
                  len(parts["val"][2]),
              "test_size":
                  len(test.labels),
              "classes":
                  list(train.classes),
              "downsample":
                  k,
              **({
                  "mean_baseline_rmse": float(np.sqrt(np.mean((test.labels - y_mu)**2)))
              } if regression else {}), "steps_in":
                  int(parts["fit"][0].shape[1])
          }),
      log=log)
  if report["best"]:
    figure = "test_rmse" if regression else "test_accuracy"
    report[figure] = report["best"][f"eval_{figure}"]
    report["best_step"] = report["best"]["step"]
  if workdir and not report["interrupted"]:
    out = np.asarray(model.apply(params, *arrays["test"][:2]))
    if regression:
      plot_predictions(test.labels, out[:, 0] * y_sd + y_mu, report["params_step"], workdir)
    else:
      save_confusion(test.labels, out.argmax(-1), train.classes, workdir, "confusion.png",
                     f"test confusion (params of step {report['params_step']})")
  return (report, params) if return_params else report


def plot_predictions(truth, predicted, step, workdir):
  plt = pyplot()
  fig, ax = plt.subplots(figsize=(4.6, 4.2))
  ax.plot(truth, predicted, ".", alpha=0.6)
  lo, hi = float(min(truth.min(), predicted.min())), float(max(truth.max(), predicted.max()))
  ax.plot([lo, hi], [lo, hi], "k:", lw=1)
  ax.set(
      xlabel="true target", ylabel=f"predicted (params of step {step})", title="test predictions")
  fig.tight_layout()
  save_figure(fig, workdir, "predictions.png")


def result_line(report) -> str:
  where = (f"at the best validation step {report['best_step']} on {report['test_size']} test "
           f"series of {report['data']} (downsample {report['downsample']}) in "
           f"{report['seconds']:.0f}s")
  if report["regression"]:
    return (f"final test RMSE {report['test_rmse']:.4g} (predicting the training mean: "
            f"{report['mean_baseline_rmse']:.4g}) {where}")
  return (f"final test accuracy {100 * report['test_accuracy']:.1f}% ({len(report['classes'])} "
          f"classes) {where}")
