"""A series classifier (or regressor) for series of any length, and an ensemble of its copies.

  x⟨1..T⟩ ─fold k─▶ ⌈T/k⌉ steps of k·D ─[conv → pool q]×L─▶ RNN ─pool over valid t─▶ w_ya a + b_y

``fold`` turns each block of k raw steps into one step of k·D features (no value dropped), so a
long series gets k times fewer recurrent steps; ``fold_and_pool`` picks k and the max-pooling q
after each convolution so that the recurrence reads at most ``max_steps_in`` steps.
``series_classifier`` builds the model from any layer (``rnn_jax.layers``); ``ensemble_model``
stacks M independent copies (params with a leading M axis), each standardising its input with
its own training statistics (``channel_stats``), and ``member_batches`` draws each member's
batch from the examples it trains on (``rnn_jax.data.splits.member_holdouts``).

Shapes: N examples, M members, B batch, T steps, D channels, F = k·D features, V outputs.
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax

from rnn_jax import baselines
from rnn_jax.layers import Layer, convolution, pool_time, stacked
from rnn_jax.models.many_to_one import many_to_one


def fold(sequence, k: int):
  """``[⌈T/k⌉, k·D]`` of ``[T, D]``: each block of ``k`` steps becomes one step of ``k·D``
  features (the last block zero padded)."""
  if k == 1:
    return sequence
  t, d = sequence.shape
  blocks = math.ceil(t / k)
  padded = np.zeros((blocks * k, d))
  padded[:t] = sequence
  return padded.reshape(blocks, k * d)


def fold_and_pool(lengths,
                  max_steps_in: int,
                  conv_layers: int = 0,
                  downsample: int | None = None,
                  pool: int | None = None) -> tuple[int, int]:
  """``(k, q)`` for series of these ``lengths``: fold k raw steps into one input step and
  max-pool each of the ``conv_layers`` convolutions' output over blocks of q steps, so the
  recurrence reads ⌈⌈T / k⌉ / q^L⌉ steps.

  By default k = ⌈median length / max_steps_in⌉, so a typical series keeps at most
  ``max_steps_in`` steps however long the longest one is, and (with convolutions) q is the
  smallest with which the longest series gives the recurrence at most ``max_steps_in`` steps.
  Equal lengths give q = 1. Without convolutions nothing pools and k = ⌈longest /
  max_steps_in⌉. An explicit ``pool`` q folds by ⌈longest / (q^L · max_steps_in)⌉; an explicit
  ``downsample`` is kept as given.
  """
  lengths = np.asarray(lengths)
  longest, most, layers, q = int(lengths.max()), max_steps_in, conv_layers or 0, pool
  if q is not None and q > 1 and not layers:
    raise ValueError(f"pool={q} pools the convolutions' outputs: it needs conv_layers >= 1 (or "
                     f"pool=1).")
  if downsample:
    k = downsample
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


def channel_stats(x, lengths, holdout):
  """Per-member mean and std ``[M, F]`` of each feature over the valid steps of the examples
  that member trains on (``holdout [M, N]``: its validation examples never enter them)."""
  means, stds = [], []
  for held in holdout:
    flat = np.concatenate([s[:n] for s, n in zip(x[~held], lengths[~held])])
    means.append(flat.mean(0))
    stds.append(flat.std(0) + 1e-8)  # as rnn_jax.data.common.standardize
  return np.stack(means).astype(np.float32), np.stack(stds).astype(np.float32)


def scaled(x, n, mean, std):
  """``(x − mean) / std`` at valid steps (``x [B, T, F]``, ``n [B]``), exactly zero at padding."""
  valid = (jnp.arange(x.shape[1])[None, :] < n[:, None])[:, :, None]
  return jnp.where(valid, (x - mean[None, None, :]) / std[None, None, :], 0.0)


def series_classifier(layer: Layer,
                      channels: int,
                      outputs: int,
                      hidden_size: int,
                      *,
                      k: int = 1,
                      conv_layers: int = 0,
                      conv_kernel: int = 3,
                      normalize: bool = True,
                      pool: int = 1,
                      pooling: str = "max",
                      backward: str = "auto",
                      backend: str = "auto"):
  """The classifier for series of ``channels`` channels folded by ``k``: ``conv_layers`` relu
  convolutions of ``conv_kernel`` folded steps (``rnn_jax.convolution``; instance-normalised
  when ``normalize``), then ``layer``, ``pooling`` over valid steps and a dense readout to
  ``outputs`` (``many_to_one``). ``pool`` > 1: each convolution's output is max-pooled over
  blocks of ``pool`` steps (``rnn_jax.pool_time``), params ``{"convs": [...], "head": ...}``;
  ``pool`` 1: one stacked encoder. ``apply(params, xs [B, T, k·channels], lengths) -> [B, V]``."""
  head = lambda encoder, inputs: many_to_one(
      encoder, inputs, hidden_size, outputs, pooling=pooling, backward=backward, backend=backend)
  if not conv_layers:
    return head(layer, channels * k)
  conv = convolution(conv_kernel, normalize=normalize)
  if pool == 1:
    return head(stacked([conv] * conv_layers + [layer]), channels * k)
  rest = head(layer, hidden_size)

  def init(key, dtype=jnp.float32):
    keys = jax.random.split(key, conv_layers + 1)
    sizes = [channels * k] + [hidden_size] * (conv_layers - 1)
    return {
        "convs": [conv.init(kc, d, hidden_size, dtype) for kc, d in zip(keys, sizes)],
        "head": rest.init(keys[-1], dtype)
    }

  def apply(params, xs, lengths=None, *, key=None):
    for p in params["convs"]:
      _, xs = conv.apply(p, xs, lengths=lengths)
      xs, lengths = pool_time(xs, lengths, pool)
    return rest.apply(params["head"], xs, lengths, key=key)

  return type(rest)(init, apply)


def ensemble_model(model, members: int):
  """``(init, apply)`` of ``members`` independent copies of ``model``: params stacked on a
  leading axis, ``apply(params, x, n, mean [M, F], std [M, F]) -> [M, B, V]`` runs member m on x
  standardised with its own ``mean[m], std[m]`` (``lax.map``: one member at a time, so
  evaluation memory does not grow with M)."""

  def init(key, dtype=jnp.float32):
    return jax.vmap(lambda k: model.init(k, dtype))(jax.random.split(key, members))

  def apply(params, x, n, mean, std):
    return jax.lax.map(lambda a: model.apply(a[0], scaled(x, n, a[1], a[2]), n),
                       (params, mean, std))

  return init, apply


def member_batches(batch_size: int, x, n, y, holdout):
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


def member_errors(out, y, regression: bool, mu=0.0, sd=1.0):
  """Per member and example (``out [M, N, V]``, ``y [N]`` or ``[M, N]``): for regression
  ``(squared error of the standardised target,)`` (``mu, sd [M, 1]``: each member's target
  scale), else ``(cross-entropy, correct)``."""
  y = jnp.broadcast_to(y, out.shape[:2])
  if regression:
    return ((out[..., 0] - (y - mu) / sd)**2,)
  ce = optax.softmax_cross_entropy_with_integer_labels(out, y)
  return ce, (jnp.argmax(out, -1) == y).astype(jnp.float32)


def ensemble_metrics(train_out,
                     y_train,
                     test_out,
                     y_test,
                     pool,
                     regression: bool,
                     mu=0.0,
                     sd=1.0,
                     part: str = "val") -> dict:
  """The ensemble's measurements from its members' outputs ``[M, N, V]`` on the training and
  test examples. ``pool [M, N]`` weighs each member's training examples: its validation
  examples (pooled over members, every example once), or all of them when nothing was held
  out. Classification: ``{part}_nats``, ``{part}_accuracy`` and the test figures of the
  members' mean probabilities; regression (outputs in each member's standardised scale):
  ``{part}_rmse`` and ``test_rmse`` of the members' mean prediction."""
  if regression:
    pooled = jnp.sum(pool * (train_out[..., 0] * sd + mu - y_train[None, :])**2) / jnp.sum(pool)
    predicted = jnp.mean(test_out[..., 0] * sd + mu, 0)
    return {
        f"{part}_rmse": jnp.sqrt(pooled),
        "test_rmse": jnp.sqrt(jnp.mean((predicted - y_test)**2))
    }
  nats, correct = (
      jnp.sum(pool * e) / jnp.sum(pool) for e in member_errors(train_out, y_train, False))
  probs = jnp.mean(jax.nn.softmax(test_out, -1), 0)
  picked = jnp.take_along_axis(probs, y_test[:, None], 1)[:, 0]
  return {
      f"{part}_nats": nats,
      f"{part}_accuracy": correct,
      "test_nats": -jnp.mean(jnp.log(jnp.maximum(picked, 1e-30))),
      "test_accuracy": jnp.mean(jnp.argmax(probs, -1) == y_test)
  }


def baseline_answers(val_accuracy: float | None, nn_loo_accuracy: float) -> bool:
  """Whether the 1-nearest-neighbour answers instead of the network: when its leave-one-out
  accuracy on the training series (``rnn_jax.baselines.best_nearest_neighbour``) is above the
  network's validation accuracy (each member on the series it did not train on, pooled; the
  smoothed figure of the chosen step). Equal: the network. ``val_accuracy`` None (no series could
  be held out): the network, as nothing measures it against the baseline."""
  return val_accuracy is not None and nn_loo_accuracy > val_accuracy


def nearest_neighbour_baseline(train_series, train_labels, test_series, test_labels):
  """``(figures, test guesses)`` of the 1-nearest-neighbour baseline
  (``rnn_jax.baselines.best_nearest_neighbour``): figures ``nn_accuracy`` (test),
  ``nn_normalise`` and ``nn_loo_accuracy`` (leave-one-out on the training series)."""
  mode, guess, loo = baselines.best_nearest_neighbour(train_series, train_labels, test_series)
  figures = {"nn_accuracy": float(np.mean(guess == np.asarray(test_labels)))}
  return {**figures, "nn_normalise": mode, "nn_loo_accuracy": loo}, guess
