"""Classifying (or regressing) any ``.ts`` pair: ``python -m experiments.main --task=classify``
(alias ``japanese_vowels``).

Default data: JapaneseVowels (shipped); any UEA/UCR pair with ``--config.train_ts=X_TRAIN.ts
--config.test_ts=X_TEST.ts``. A file with ``@targetLabel true`` is a regression problem
(squared error on the standardized target, RMSE reported). ``?`` values by
``--config.missing=error|drop|interpolate``. Everything else adapts to the data:

- an ensemble of ``ensemble`` members (default 3 for training files of at most 500 series,
  else 1), trained together (params stacked, ``vmap``): member m trains on all folds but the
  m-th of a stratified cross-validation split and is validated on that fold, so validation
  scores pool every training series once; the test prediction averages the members'
  probabilities (regression: their predictions). One member: ``val_fraction`` of the training
  file is the validation set. The reported test figure is that of the best validation
  evaluation, with its step: best by the mean validation accuracy (regression: RMSE) of the
  evaluation and the ``smooth_evals`` − 1 before it, ties broken by its validation loss;
  early stopping counts evaluations since that one;
  gradient clipping acts on the global norm of all members' gradients together;
- per-channel standardization, each member with the statistics of its own training series;
- long series are folded: each block of ``downsample`` steps becomes one step of
  ``downsample × D`` features (no value dropped), by default so that the median series has at
  most ``max_steps_in`` (128) steps; when the longest series would still have more, each
  convolution's output is max-pooled over blocks of ``pool_time`` steps, so the recurrence
  reads at most ``max_steps_in`` steps (equal lengths: no pooling);
- training length in epochs (clamped), early stopping after ``patience`` evaluations without
  a better validation score.

Model (``build_model``): ``conv_layers`` relu convolutions of ``conv_kernel`` folded steps
(``rnn_jax.convolution``; 0: none), each instance-normalized for classification
(``conv_norm``: every feature standardized over each series' own valid steps before the
relu; off by default for regression; ``pool_time`` > 1: each one's output max-pooled over
blocks of that many steps), a bidirectional GRU-64,
the maximum of a⟨t⟩ over valid steps (``pooling``), a dense readout.
Picture: ``confusion.png`` (classification) or ``predictions.png`` (regression).

Beside every classification result: the 1-nearest-neighbour (``rnn_jax.baselines``). When its
leave-one-out accuracy on the training series is above the network's validation accuracy, the
1-NN answers (``classifier.baseline_answers``; the network's test accuracy is still reported).
"""
from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import numpy as np

from experiments import configs
from experiments.common import make_layer
from experiments.outputs import plot_predictions, save_confusion
from experiments.runner import Task, run_task
from experiments.selection import (auto_eval_every, auto_steps, best_row, patience_stop,
                                   trailing_mean)
from rnn_jax.data import splits
from rnn_jax.data.archives import read_pair
from rnn_jax.data.common import pad_sequences
from rnn_jax.data.japanese_vowels import load_japanese_vowels
from rnn_jax.models import classifier
from rnn_jax.models.classifier import (channel_stats, ensemble_model, fold, member_batches, scaled)


def load(config):
  """``(train, test, name)`` as ``TSData``: any pair of ``rnn_jax.data.archives.FORMATS``."""
  if config.train_ts:
    train, test = read_pair(config.train_ts, config.test_ts, missing=config.missing)
    return train, test, os.path.basename(config.train_ts).replace("_TRAIN", "").rsplit(".", 1)[0]
  train, test = load_japanese_vowels()
  return train, test, "JapaneseVowels"


SMALL = 500  # training files of at most this many series get an ensemble by default


def ensemble_size(config, examples: int) -> int:
  """``config.ensemble``, or by default 3 members for a training file of at most ``SMALL``
  series (where a single model's variance is largest and a member costs little) and 1 above."""
  return config.get("ensemble") or (3 if examples <= SMALL else 1)


def few_shot(labels, config, stratify: bool) -> bool:
  """Whether a classification file's smallest class has fewer than ``validate_min_class``
  training series (0: never): too few to hold any out, since a member validated on one of a
  class's 2–4 series learns it from the other 1–3."""
  least = config.get("validate_min_class", 0)
  return bool(stratify and least and np.unique(labels, return_counts=True)[1].min() < least)


def member_holdouts(labels, config, stratify: bool) -> np.ndarray:
  """``[M, N]`` booleans, the training examples member m does not train on
  (``rnn_jax.data.splits.member_holdouts``): M = ``ensemble_size`` members, none held out for
  a ``few_shot`` file."""
  return splits.member_holdouts(labels, ensemble_size(config, len(labels)), config.val_fraction,
                                config.seed, stratify, few_shot(labels, config, stratify))


def prepare(config, train, test):
  """Padded, folded arrays and each member's split and statistics:
  ``{"train": (x, n, y), "test": (x, n, y), "holdout": [M, N], "mean"/"std": [M, F]}``
  and ``(k, q)`` of ``fold_and_pool``. Standardization happens in the model (``scaled``),
  with each member's own training statistics."""
  k, q = fold_and_pool(config, [len(s) for s in train.sequences + test.sequences])
  extend = lambda s: np.concatenate([s, np.diff(s, axis=0, prepend=s[:1])], 1) if config.get(
      "derivative") else s
  pad = lambda seqs: pad_sequences([fold(extend(s), k) for s in seqs])
  (x_tr, n_tr), (x_te, n_te) = pad(train.sequences), pad(test.sequences)
  if x_te.shape[1] < x_tr.shape[1]:  # one time axis for every part
    x_te = np.pad(x_te, ((0, 0), (0, x_tr.shape[1] - x_te.shape[1]), (0, 0)))
  elif x_tr.shape[1] < x_te.shape[1]:
    x_tr = np.pad(x_tr, ((0, 0), (0, x_te.shape[1] - x_tr.shape[1]), (0, 0)))
  holdout = member_holdouts(train.labels, config, not train.regression)
  mean, std = channel_stats(x_tr, n_tr, holdout)
  f32 = lambda a: np.asarray(a, np.float32)
  parts = {
      "train": (f32(x_tr), n_tr, train.labels),
      "test": (f32(x_te), n_te, test.labels),
      "holdout": holdout,
      "mean": mean,
      "std": std
  }
  return parts, (k, q)


def fold_and_pool(config, lengths) -> tuple[int, int]:
  """``(k, q)`` of ``rnn_jax.models.classifier.fold_and_pool`` with the config's
  ``max_steps_in``, ``conv_layers``, ``downsample`` and ``pool_time``."""
  q, layers = config.get("pool_time"), config.get("conv_layers") or 0
  if q is not None and q > 1 and not layers:
    raise ValueError(f"--config.pool_time={q} pools the convolutions' outputs: it needs "
                     f"--config.conv_layers >= 1 (or pool_time=1).")
  return classifier.fold_and_pool(lengths, config.max_steps_in, layers, config.downsample, q)


def conv_norm(config, regression: bool) -> bool:
  """``config.conv_norm``, or by default on for classification and off for regression (where
  the target may depend on a series' level, which the normalization removes)."""
  chosen = config.get("conv_norm")
  return (not regression) if chosen is None else bool(chosen)


def build_model(config,
                channels: int,
                k: int,
                outputs: int,
                regression: bool = False,
                pool: int = 1):
  """``rnn_jax.models.classifier.series_classifier`` with the config's layer, sizes and
  convolutions, for series of ``channels`` channels folded by ``k``, pooled by ``pool``."""
  return classifier.series_classifier(
      make_layer(config),
      channels,
      outputs,
      config.hidden_size,
      k=k,
      conv_layers=config.get("conv_layers") or 0,
      conv_kernel=config.get("conv_kernel", 3),
      normalize=conv_norm(config, regression),
      pool=pool,
      pooling=config.pooling,
      backward=config.backward,
      backend=config.backend)


def train_and_evaluate(config, workdir: str | None = None, log=print, return_params=False):
  train, test, name = load(config)
  parts, (k, pooled_by) = prepare(config, train, test)
  regression = train.regression
  holdout = parts["holdout"]
  members = holdout.shape[0]
  y_tr = parts["train"][2]
  fit_sizes = (~holdout).sum(1)
  if regression:  # each member's target scale from the examples it trains on
    y_mu = np.array([y_tr[~h].mean() for h in holdout], np.float32)
    y_sd = np.array([y_tr[~h].std() + 1e-12 for h in holdout], np.float32)
  else:
    y_mu, y_sd = np.zeros(members, np.float32), np.ones(members, np.float32)
  outputs = 1 if regression else len(train.classes)
  steps = config.steps or auto_steps(
      int(fit_sizes.min()), config.batch_size, config.epochs, 1000, 4000)
  config = configs.replace(
      config, steps=steps, eval_every=config.eval_every or auto_eval_every(steps))
  single = build_model(config, train.dimensions * (2 if config.get("derivative") else 1), k,
                       outputs, regression, pooled_by)
  init, apply = ensemble_model(single, members)
  stats = (jnp.asarray(parts["mean"]), jnp.asarray(parts["std"]))
  model = type(single)(init, lambda params, x, n: apply(params, x, n, *stats))
  arrays = {p: tuple(map(jnp.asarray, parts[p])) for p in ("train", "test")}
  held = jnp.asarray(holdout, jnp.float32)
  mu, sd = jnp.asarray(y_mu)[:, None], jnp.asarray(y_sd)[:, None]

  validated = bool(holdout.any())  # False: a few-shot file, every member fits every series
  part = "val" if validated else "train"
  # Without validation the pooled rows are all of them: the members' fit of the training set.
  pool = held if validated else jnp.ones_like(held)

  @jax.jit
  def evaluate(params):  # validation: each member on the examples it did not train on, pooled
    outs = [model.apply(params, *arrays[p][:2]) for p in ("train", "test")]
    return classifier.ensemble_metrics(outs[0], arrays["train"][2], outs[1], arrays["test"][2],
                                       pool, regression, mu, sd, part)

  def loss_fn(params, batch, key):
    x, n, y = (jnp.swapaxes(a, 0, 1) for a in batch)  # [M, B, ...]
    out = jax.vmap(single.apply)(params, jax.vmap(scaled)(x, n, *stats), n)
    return jnp.mean(classifier.member_errors(out, y, regression, mu, sd)[0]), {}

  key, mode, tie = (f"eval_{part}_rmse", "min", None) if regression else (f"eval_{part}_accuracy",
                                                                          "max", "eval_val_nats")
  # The score of an evaluation: its validation score averaged with the `smooth_evals` − 1
  # evaluations before it (a pooled validation set of a few dozen series moves in steps of
  # several percent: one lucky early evaluation should not outrank a stretch of good ones).
  smooth = lambda hist: trailing_mean(hist, key, config.smooth_evals)
  if validated:
    stop = patience_stop(key + "_mean", mode, config.patience)  # ties do not reset it
    select = lambda hist: best_row(smooth(hist), key + "_mean", mode, tie)
  else:  # stop `patience` evaluations after the training fit's (first) best; report the last
    stop = patience_stop(key + "_mean", mode, config.patience)
    select = lambda hist: [r for r in hist if key in r][-1]
  metric = (lambda r, p: f"RMSE {r[f'eval_{p}_rmse']:.4g}") if regression else (
      lambda r, p: f"accuracy {100 * r[f'eval_{p}_accuracy']:.1f}%")
  extra = {
      "data": name, "regression": regression, "train_size": len(train.labels),
      "members": members, "fit_size": int(fit_sizes.min()), "val_size": int(holdout.sum()),
      "validated": validated, "test_size": len(test.labels), "classes": list(train.classes),
      "downsample": k, "pool_time": pooled_by, "steps_in": int(parts["train"][0].shape[1]),
      "smallest_class": 0 if regression else int(np.unique(y_tr, return_counts=True)[1].min())
  }  # yapf: disable
  if regression:
    extra["mean_baseline_rmse"] = float(np.sqrt(np.mean((test.labels - y_tr.mean())**2)))
  else:
    nn, nn_guess = classifier.nearest_neighbour_baseline(train.sequences, train.labels,
                                                         test.sequences, test.labels)
    extra.update(nn)
  report, params = run_task(
      config,
      workdir,
      Task(
          name="classify",
          model=model,
          loss_fn=loss_fn,
          make_batch=member_batches(config.batch_size, *parts["train"], holdout),
          jit_batch=False,
          evaluate=evaluate,
          summary=lambda r: (f"step {r['step']:5d}  train {r['loss']:.4f}  " +
                             (f"validation {metric(r, 'val')}"
                              if validated else f"fit {metric(r, 'train')} (no validation)"
                             ) + f"  test {metric(r, 'test')}"),
          stop_when=lambda hist: stop(smooth(hist)),
          select=select,
          extra_report=extra),
      log=log)
  if report["best"]:
    figure = "test_rmse" if regression else "test_accuracy"
    report[figure] = report["best"][f"eval_{figure}"]
    report["best_step"] = report["best"]["step"]
    if not regression:  # the 1-NN answers where it did better out of sample than the network
      report["network_test_accuracy"] = report["test_accuracy"]
      val = report["best"].get(key + "_mean") if validated else None
      report["answered_by"], report["network_val_accuracy"] = "network", val
      if classifier.baseline_answers(val, report["nn_loo_accuracy"]):
        report["answered_by"], report["test_accuracy"] = "1-NN", report["nn_accuracy"]
  if workdir and not report["interrupted"]:
    out = np.asarray(model.apply(params, *arrays["test"][:2]))
    if regression:
      plot_predictions(test.labels, np.mean(out[..., 0] * y_sd[:, None] + y_mu[:, None], 0),
                       report["params_step"], workdir)
    else:
      guess = np.asarray(jax.nn.softmax(out, -1)).mean(0).argmax(-1)
      by = f"params of step {report['params_step']}"
      if report.get("answered_by") == "1-NN":
        guess, by = nn_guess, "the 1-nearest-neighbour"
      save_confusion(test.labels, guess, train.classes, workdir, "confusion.png",
                     f"test confusion ({by})")
  return (report, params) if return_params else report


def result_line(report) -> str:
  if report.get("validated", True):
    chosen = f"at the best validation step {report['best_step']}"
  else:
    few = (f"{report['train_size']} training series are too few to hold any out"
           if report["regression"] else
           f"its smallest class has {report['smallest_class']} training series")
    chosen = (f"at step {report['best_step']} (no validation: {few}, so every member trained "
              f"on all {report['train_size']} and stopped once it fit them)")
  where = (f"{chosen} on {report['test_size']} test series of {report['data']} (downsample "
           f"{report['downsample']}, pool {report.get('pool_time', 1)}) in "
           f"{report['seconds']:.0f}s")
  if report["regression"]:
    return (f"final test RMSE {report['test_rmse']:.4g} (predicting the training mean: "
            f"{report['mean_baseline_rmse']:.4g}) {where}")
  nn = (
      f"1-nearest-neighbour {100 * report['nn_accuracy']:.1f}% "
      f"({report['nn_normalise']}-normalised, leave-one-out {100 * report['nn_loo_accuracy']:.1f}%)"
  )
  if report.get("answered_by") == "1-NN":
    return (f"final test accuracy {100 * report['test_accuracy']:.1f}% from the {nn}: it did "
            f"better out of sample than the network (validation "
            f"{100 * report['network_val_accuracy']:.1f}%; the network's test accuracy "
            f"{100 * report['network_test_accuracy']:.1f}%) {where}")
  return (f"final test accuracy {100 * report['test_accuracy']:.1f}% ({len(report['classes'])} "
          f"classes; {nn}) {where}")
