"""The seeds' per-step losses and masked sequence reductions, on optax.losses.

Per step (all from logits z⟨t⟩ = w_ya a⟨t⟩ + b_y, numerically stable):
  squared                ½ Σ_v (ŷ⟨t⟩ − y⟨t⟩)²             ŷ = z (identity)
  binary_cross_entropy   −y log ŷ − (1 − y) log(1 − ŷ)     ŷ = σ(z)
  softmax_cross_entropy  −Σ_v y_v log ŷ_v                  ŷ = softmax(z)
Sequence loss J = Σ_t L⟨t⟩ over valid steps (t < lengths[b]), reduced by
  "batch_mean"  Σ_t, then mean over the B sequences    (the seeds' J, averaged)
  "token_mean"  mean over all valid (b, t) steps
  "sum"         Σ over b and t
Padded steps contribute exactly nothing, to the value or to any gradient:
their targets are replaced before the loss is evaluated.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from rnn_jax.types import check_choice, check_lengths, check_rank

PER_STEP = ("squared", "binary_cross_entropy", "softmax_cross_entropy")
REDUCTIONS = ("batch_mean", "token_mean", "sum")


def _ce(logits, targets):
  if jnp.issubdtype(targets.dtype, jnp.integer):
    return optax.softmax_cross_entropy_with_integer_labels(logits, targets)
  return optax.softmax_cross_entropy(logits, targets)


def per_step_loss(logits, targets, loss: str):
  """L⟨t⟩ for every leading index: ``[..., V]`` logits -> ``[...]``."""
  check_choice("loss", loss, PER_STEP)
  if loss == "squared":
    return optax.l2_loss(logits, targets).sum(-1)
  if loss == "binary_cross_entropy":
    return optax.sigmoid_binary_cross_entropy(logits, targets).sum(-1)
  return _ce(logits, targets)


def output_fn(loss: str):
  """g_y matched to a loss, so that ∂L/∂z = g_y(z) − y."""
  check_choice("loss", loss, PER_STEP)
  return {
      "squared": lambda z: z,
      "binary_cross_entropy": jax.nn.sigmoid,
      "softmax_cross_entropy": lambda z: jax.nn.softmax(z, axis=-1)
  }[loss]


def dense_targets(targets, logits):
  """Integer labels as one-hot rows of the logits' width; float targets as is."""
  if jnp.issubdtype(targets.dtype, jnp.integer):
    return jax.nn.one_hot(targets, logits.shape[-1], dtype=logits.dtype)
  return targets.astype(logits.dtype)


def check_targets(targets, shape, loss: str):
  """``targets`` must be ``[B, T, V]`` (or ``[B, T]`` int labels for softmax CE)."""
  batch, time, vocab = shape
  tshape = tuple(jnp.shape(targets))
  if jnp.issubdtype(jnp.result_type(targets), jnp.integer):
    if loss != "softmax_cross_entropy":
      raise ValueError(f"integer targets need loss='softmax_cross_entropy', got {loss!r}.")
    if tshape != (batch, time):
      raise ValueError(f"targets (int labels) must have shape [B, T]=({batch}, {time}), "
                       f"got {tshape}.")
    if not isinstance(targets, jax.core.Tracer):
      t = np.asarray(targets)  # numpy: a jnp reduction would be traced inside jit
      if t.size and (int(t.min()) < 0 or int(t.max()) >= vocab):
        raise ValueError(f"targets must be token ids in [0, V={vocab}), got min "
                         f"{int(t.min())} and max {int(t.max())}.")
  elif tshape != (batch, time, vocab):
    raise ValueError(f"targets must have shape [B, T, V]=({batch}, {time}, {vocab}), "
                     f"got {tshape}.")


def step_weights(batch: int, time: int, lengths, reduction: str, dtype=jnp.float32):
  """``[B, T]`` weight of each L⟨t⟩ in J (0 on padding)."""
  check_choice("reduction", reduction, REDUCTIONS)
  if lengths is None:
    mask = jnp.ones((batch, time), dtype)
  else:
    mask = (jnp.arange(time)[None, :] < lengths[:, None]).astype(dtype)
  if reduction == "batch_mean":
    return mask / batch
  if reduction == "token_mean":
    return mask / jnp.maximum(mask.sum(), 1.0)
  return mask


def sequence_loss(logits, targets, *, loss: str, lengths=None, reduction: str = "batch_mean"):
  """J = reduction over valid steps of Σ_t L⟨t⟩.

  Args:
    logits: ``[B, T, V]``.
    targets: ``[B, T, V]`` floats, or ``[B, T]`` int labels (softmax CE only).
    lengths: ``[B]`` ints in [0, T]; None means every step is valid.
  """
  check_rank("logits", logits, 3, "[B, T, V]")
  check_choice("loss", loss, PER_STEP)
  batch, time, vocab = logits.shape
  check_targets(targets, (batch, time, vocab), loss)
  lengths = check_lengths(lengths, batch, time)
  weights = step_weights(batch, time, lengths, reduction, logits.dtype)
  valid = weights > 0
  vmask = valid if targets.ndim == 2 else valid[:, :, None]
  targets = jnp.where(vmask, targets, jnp.zeros((), targets.dtype))
  logits = jnp.where(valid[:, :, None], logits, jnp.zeros((), logits.dtype))
  per_step = per_step_loss(logits, targets, loss)
  return jnp.sum(jnp.where(valid, per_step, 0.0) * weights)
