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
"""
from __future__ import annotations

import math
import os

import jax
import jax.numpy as jnp
import numpy as np
import optax

import rnn_jax as rj

from experiments import configs
from experiments.common import make_layer
from experiments.outputs import pyplot, save_confusion, save_figure
from experiments.runner import Task, run_task
from experiments.selection import (auto_eval_every, auto_steps, best_row, patience_stop,
                                   trailing_mean)
from rnn_jax.data.common import pad_sequences, standardize
from rnn_jax.data.japanese_vowels import load_japanese_vowels
from rnn_jax.data.archives import read_pair
from rnn_jax.models import many_to_one


def load(config):
  """``(train, test, name)`` as ``TSData``: any pair of ``rnn_jax.data.archives.FORMATS``."""
  if config.train_ts:
    train, test = read_pair(config.train_ts, config.test_ts, missing=config.missing)
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


def kfold_split(labels, folds: int, seed: int, stratify: bool) -> np.ndarray:
  """Fold id in ``[0, folds)`` of every example: each class (or, without ``stratify``, the
  whole set) shuffled and dealt round the folds from a random fold, so every fold gets
  ``⌊n_c / folds⌋`` or one more of each class."""
  rng = np.random.default_rng(seed)
  groups = [np.flatnonzero(labels == c) for c in np.unique(labels)
           ] if stratify else [np.arange(len(labels))]
  fold = np.empty(len(labels), int)
  for idx in groups:
    fold[rng.permutation(idx)] = (rng.integers(folds) + np.arange(len(idx))) % folds
  return fold


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
  """``[M, N]`` booleans: the training examples member m does NOT train on (its validation
  examples). One member: ``val_fraction`` held out (``validation_split``); M = ``ensemble``
  ≥ 2 members: M-fold cross-validation, every example held out by exactly one member. A
  ``few_shot`` file: none held out (every member trains on every series)."""
  m = ensemble_size(config, len(labels))
  if few_shot(labels, config, stratify):
    return np.zeros((m, len(labels)), bool)
  if m == 1:
    _, val = validation_split(labels, config.val_fraction, config.seed, stratify)
    holdout = np.zeros((1, len(labels)), bool)
    holdout[0, val] = True
    return holdout
  if m > len(labels):
    raise ValueError(f"ensemble={m} members need at least {m} training examples, got "
                     f"{len(labels)}.")
  return kfold_split(labels, m, config.seed, stratify)[None, :] == np.arange(m)[:, None]


def channel_stats(x, lengths, holdout):
  """Per-member mean and std ``[M, F]`` of each feature over the valid steps of the examples
  that member trains on (its validation examples never enter its statistics)."""
  stats = [standardize(x[~held], lengths=lengths[~held])[:2] for held in holdout]
  return tuple(np.stack(s).astype(np.float32) for s in zip(*stats))


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
  """``(k, q)`` for series of these ``lengths``: fold k raw steps into one input step
  (``downsample``) and max-pool each convolution's output over blocks of q steps
  (``pool_time``), so the recurrence reads ⌈⌈T / k⌉ / q^L⌉ steps for L convolutions.

  By default k = ⌈median length / max_steps_in⌉, so a typical series keeps at most
  ``max_steps_in`` steps however long the longest one is, and (with convolutions) q is the
  smallest with which the longest series gives the recurrence at most ``max_steps_in`` steps.
  Equal lengths give q = 1: folding alone, as before pooling existed. Without convolutions
  nothing pools and k = ⌈longest / max_steps_in⌉. An explicit ``pool_time`` q folds by
  ⌈longest / (q^L · max_steps_in)⌉; an explicit ``downsample`` is kept as given.
  """
  lengths = np.asarray(lengths)
  longest, most = int(lengths.max()), config.max_steps_in
  layers = config.get("conv_layers") or 0
  q = config.get("pool_time")
  if q is not None and q > 1 and not layers:
    raise ValueError(f"--config.pool_time={q} pools the convolutions' outputs: it needs "
                     f"--config.conv_layers >= 1 (or pool_time=1).")
  if config.downsample:
    k = config.downsample
  elif q is not None or not layers:
    k = math.ceil(longest / ((q or 1)**layers * most))
  else:
    k = math.ceil(math.ceil(np.median(lengths)) / most)
  k = max(1, k)
  if q is None:
    q = 1
    while layers and math.ceil(math.ceil(longest / k) / q**layers) > most:
      q += 1
  return k, q


def scaled(x, n, mean, std):
  """``(x − mean) / std`` at valid steps, exactly zero at padding."""
  valid = (jnp.arange(x.shape[1])[None, :] < n[:, None])[:, :, None]
  return jnp.where(valid, (x - mean[None, None, :]) / std[None, None, :], 0.0)


def ensemble_model(model, members: int):
  """``members`` independent copies of ``model``: params stacked on a leading axis,
  ``apply(params, x, n, mean, std) -> [M, B, V]`` runs member m on x standardized with its
  own ``mean[m], std[m]`` (``lax.map``: one member at a time, so evaluation memory does not
  grow with M)."""

  def init(key, dtype=jnp.float32):
    return jax.vmap(lambda k: model.init(k, dtype))(jax.random.split(key, members))

  def apply(params, x, n, mean, std):
    return jax.lax.map(lambda a: model.apply(a[0], scaled(x, n, a[1], a[2]), n),
                       (params, mean, std))

  return init, apply


def member_batches(batch_size, x, n, y, holdout):
  """``make_batch(key) -> (x [B, M, T, F], n [B, M], y [B, M])``: for each member, rows drawn
  with replacement from the examples it trains on (batch-major, so a device mesh splits B)."""
  weights = jnp.asarray(~holdout, jnp.float32)
  weights = weights / weights.sum(1, keepdims=True)
  arrays = tuple(map(jnp.asarray, (x, n, y)))

  @jax.jit
  def draw(key, weights, x, n, y):
    keys = jax.random.split(key, weights.shape[0])
    idx = jax.vmap(lambda k, w: jax.random.choice(k, x.shape[0], (batch_size,), p=w))(keys, weights)
    return tuple(jnp.swapaxes(a[idx], 0, 1) for a in (x, n, y))

  return lambda key: draw(key, weights, *arrays)


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
  """The classifier for series of ``channels`` channels folded by ``k``: ``conv_layers``
  convolutions over the folded steps (each sees ``conv_kernel`` blocks of k raw steps;
  instance-normalized with ``conv_norm``), the recurrent encoder, pooling over valid steps, a
  dense readout. ``pool`` > 1: each convolution's output is max-pooled over blocks of
  ``pool`` steps (``rnn_jax.pool_time``), so the next convolution reads ``pool`` times fewer
  steps and the recurrence ``pool``^L fewer; params ``{"convs": [each convolution's params],
  "head": many-to-one params}``. ``pool`` 1: one stacked encoder, as before pooling existed."""
  layer = make_layer(config)
  head = lambda encoder, inputs: many_to_one(
      encoder,
      inputs,
      config.hidden_size,
      outputs,
      pooling=config.pooling,
      backward=config.backward)
  if not config.get("conv_layers"):
    return head(layer, channels * k)
  conv = rj.convolution(config.conv_kernel, normalize=conv_norm(config, regression))
  if pool == 1:
    return head(rj.stacked([conv] * config.conv_layers + [layer]), channels * k)
  rest = head(layer, config.hidden_size)

  def init(key, dtype=jnp.float32):
    keys = jax.random.split(key, config.conv_layers + 1)
    sizes = [channels * k] + [config.hidden_size] * (config.conv_layers - 1)
    return {
        "convs": [conv.init(kc, d, config.hidden_size, dtype) for kc, d in zip(keys, sizes)],
        "head": rest.init(keys[-1], dtype)
    }

  def apply(params, xs, lengths=None, *, key=None):
    for p in params["convs"]:
      _, xs = conv.apply(p, xs, lengths=lengths)
      xs, lengths = rj.pool_time(xs, lengths, pool)
    return rest.apply(params["head"], xs, lengths, key=key)

  return type(rest)(init, apply)


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

  def member_errors(out, y):
    """Per member and example (``out [M, N, V]``, ``y [N]`` or ``[M, N]``): the squared error
    of the standardized target, or the cross-entropy and correctness."""
    y = jnp.broadcast_to(y, out.shape[:2])
    if regression:
      return ((out[..., 0] - (y - mu) / sd)**2,)
    ce = optax.softmax_cross_entropy_with_integer_labels(out, y)
    return ce, (jnp.argmax(out, -1) == y).astype(jnp.float32)

  validated = bool(holdout.any())  # False: a few-shot file, every member fits every series
  part = "val" if validated else "train"
  # Without validation the pooled rows are all of them: the members' fit of the training set.
  pool = held if validated else jnp.ones_like(held)

  @jax.jit
  def evaluate(params):
    # Validation: every member on the examples it did not train on, pooled.
    out = model.apply(params, *arrays["train"][:2])
    y_train = arrays["train"][2]
    errors = ((out[..., 0] * sd + mu -
               y_train[None, :])**2,) if regression else member_errors(out, y_train)
    pooled = [jnp.sum(pool * e) / jnp.sum(pool) for e in errors]
    test_out = model.apply(params, *arrays["test"][:2])
    y_te = arrays["test"][2]
    if regression:
      predicted = jnp.mean(test_out[..., 0] * sd + mu, 0)  # the members' mean prediction
      return {
          f"{part}_rmse": jnp.sqrt(pooled[0]),
          "test_rmse": jnp.sqrt(jnp.mean((predicted - y_te)**2))
      }
    probs = jnp.mean(jax.nn.softmax(test_out, -1), 0)  # the members' mean probabilities
    picked = jnp.take_along_axis(probs, y_te[:, None], 1)[:, 0]
    return {
        f"{part}_nats": pooled[0],
        f"{part}_accuracy": pooled[1],
        "test_nats": -jnp.mean(jnp.log(jnp.maximum(picked, 1e-30))),
        "test_accuracy": jnp.mean(jnp.argmax(probs, -1) == y_te)
    }

  def loss_fn(params, batch, key):
    x, n, y = (jnp.swapaxes(a, 0, 1) for a in batch)  # [M, B, ...]
    out = jax.vmap(single.apply)(params, jax.vmap(scaled)(x, n, *stats), n)
    return jnp.mean(member_errors(out, y)[0]), {}

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
          extra_report={
              "data":
                  name,
              "regression":
                  regression,
              "train_size":
                  len(train.labels),
              "members":
                  members,
              "fit_size":
                  int(fit_sizes.min()),
              "val_size":
                  int(holdout.sum()),
              "validated":
                  validated,
              "smallest_class":
                  0 if regression else int(np.unique(y_tr, return_counts=True)[1].min()),
              "test_size":
                  len(test.labels),
              "classes":
                  list(train.classes),
              "downsample":
                  k,
              "pool_time":
                  pooled_by,
              **({
                  "mean_baseline_rmse": float(np.sqrt(np.mean((test.labels - y_tr.mean())**2)))
              } if regression else {
                     **dict(zip(("nn_accuracy", "nn_normalise"), nn_accuracy(train, test)))
                 }), "steps_in":
                  int(parts["train"][0].shape[1])
          }),
      log=log)
  if report["best"]:
    figure = "test_rmse" if regression else "test_accuracy"
    report[figure] = report["best"][f"eval_{figure}"]
    report["best_step"] = report["best"]["step"]
  if workdir and not report["interrupted"]:
    out = np.asarray(model.apply(params, *arrays["test"][:2]))
    if regression:
      plot_predictions(test.labels, np.mean(out[..., 0] * y_sd[:, None] + y_mu[:, None], 0),
                       report["params_step"], workdir)
    else:
      probs = np.asarray(jax.nn.softmax(out, -1)).mean(0)
      save_confusion(test.labels, probs.argmax(-1), train.classes, workdir, "confusion.png",
                     f"test confusion (params of step {report['params_step']})")
  return (report, params) if return_params else report


def nn_accuracy(train, test) -> tuple[float, str]:
  """``(test accuracy, normalisation)`` of the 1-nearest-neighbour baseline
  (``rnn_jax.baselines.best_nearest_neighbour``: Euclidean on series resampled to the longest
  length, normalised as leave-one-out on the training series prefers)."""
  mode, guess = rj.baselines.best_nearest_neighbour(train.sequences, train.labels, test.sequences)
  return float(np.mean(guess == test.labels)), mode


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
  return (f"final test accuracy {100 * report['test_accuracy']:.1f}% ({len(report['classes'])} "
          f"classes; 1-nearest-neighbour {100 * report['nn_accuracy']:.1f}%, "
          f"{report['nn_normalise']}-normalised) "
          f"{where}")
