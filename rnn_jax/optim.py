"""make_optimizer(config): one optax chain with the gradient-processing switches.

Clipping (seed 004: g* = g/‖g‖ · G_max when ‖g‖ > G_max) and clipping by value
are optax transforms placed before the optimizer; non-finite updates are
skipped by ``optax.apply_if_finite``. ``gradient_metrics`` returns what a
training step reports about the raw gradient.
"""
from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import optax

from rnn_jax.types import check_choice

OPTIMIZERS = {
    "adam": optax.adam,
    "sgd": optax.sgd,
    "rmsprop": optax.rmsprop,
    "adamw": optax.adamw,
    "adagrad": optax.adagrad
}

SCHEDULES = ("constant", "cosine", "wsd")
WSD_DECAY = 0.2  # "wsd": the last fifth of the steps decays linearly to 0


@dataclasses.dataclass(frozen=True)
class OptimConfig:
  optimizer: str = "adam"
  learning_rate: float = 1e-3
  clip_norm: float | None = None  # G_max for clipping by global norm
  clip_value: float | None = None  # elementwise clip to [-v, v]
  skip_nonfinite: int | None = None  # max consecutive non-finite steps tolerated
  momentum: float | None = None  # for sgd / rmsprop
  # "cosine": the learning rate decays to 0 over decay_steps; "wsd" (warmup-stable-decay without
  # the warmup): constant, then linear to 0 over the last WSD_DECAY of decay_steps
  schedule: str = "constant"
  decay_steps: int | None = None


def _positive(name, v):
  if v is not None and not (isinstance(v, (int, float)) and v > 0):
    raise ValueError(f"{name} must be a positive number or None, got {v!r}.")


def make_optimizer(config: OptimConfig = OptimConfig()) -> optax.GradientTransformation:
  """Clip by value, then by global norm, then the optimizer (optionally skip non-finite)."""
  check_choice("optimizer", config.optimizer, OPTIMIZERS)
  _positive("learning_rate", config.learning_rate)
  _positive("clip_norm", config.clip_norm)
  _positive("clip_value", config.clip_value)
  parts = []
  if config.clip_value is not None:
    parts.append(optax.clip(config.clip_value))
  if config.clip_norm is not None:
    parts.append(optax.clip_by_global_norm(config.clip_norm))
  check_choice("schedule", config.schedule, SCHEDULES)
  lr = config.learning_rate
  if config.schedule != "constant" and not (isinstance(config.decay_steps, int) and
                                            config.decay_steps > 0):
    raise ValueError(f"schedule={config.schedule!r} needs decay_steps > 0, got "
                     f"{config.decay_steps!r}.")
  if config.schedule == "cosine":
    lr = optax.cosine_decay_schedule(config.learning_rate, config.decay_steps)
  elif config.schedule == "wsd":
    decay = max(1, round(WSD_DECAY * config.decay_steps))
    lr = optax.join_schedules([
        optax.constant_schedule(config.learning_rate),
        optax.linear_schedule(config.learning_rate, 0.0, decay)
    ], [config.decay_steps - decay])
  kwargs = {}
  if config.momentum is not None and config.optimizer in ("sgd", "rmsprop"):
    kwargs["momentum"] = config.momentum
  parts.append(OPTIMIZERS[config.optimizer](lr, **kwargs))
  tx = optax.chain(*parts)
  if config.skip_nonfinite is not None:
    tx = optax.apply_if_finite(tx, max_consecutive_errors=int(config.skip_nonfinite))
  return tx


def gradient_metrics(grads, clip_norm: float | None = None):
  """‖g‖ before clipping and whether clipping by global norm changed it."""
  norm = optax.tree.norm(grads)
  clipped = jnp.asarray(False) if clip_norm is None else norm > clip_norm
  return {"grad_norm": norm, "clipped": clipped.astype(jnp.float32)}
