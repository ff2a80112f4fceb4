"""The jitted training step: ``(state, batch) -> (state, metrics)``.

Randomness is ``fold_in(state.key, state.step)``, so a run is a pure function
of its config and seed. Metrics always hold the loss, the gradient norm before
clipping, whether clipping acted, and the parameter norm.
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax

from rnn_jax.optim import gradient_metrics


class TrainState(NamedTuple):
  step: jax.Array
  params: Any
  opt_state: Any
  key: jax.Array


def init_state(params, tx: optax.GradientTransformation, key) -> TrainState:
  return TrainState(jnp.zeros((), jnp.int32), params, tx.init(params), key)


def make_train_step(loss_fn: Callable, tx: optax.GradientTransformation,
                    clip_norm: float | None = None, jit: bool = True, mesh=None):
  """``loss_fn(params, batch, key) -> (loss, aux_metrics)``; returns the step.

  The returned step donates the old state's buffers when jitted. With a ``mesh``
  (``rnn_jax.parallel.local_mesh``), the batch is split over its devices and the
  state replicated: data parallelism through XLA's SPMD partitioner.
  """

  def step(state: TrainState, batch):
    key = jax.random.fold_in(state.key, state.step)
    (loss, aux), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params, batch, key)
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    metrics = {"loss": loss, **gradient_metrics(grads, clip_norm),
               "param_norm": optax.tree.norm(params), **aux}
    return TrainState(state.step + 1, params, opt_state, state.key), metrics

  if not jit:
    return step
  if mesh is None or mesh.devices.size == 1:
    return jax.jit(step, donate_argnums=0)
  from rnn_jax import parallel
  rep, data = parallel.replicated(mesh), parallel.data_sharding(mesh)
  jitted = jax.jit(step, donate_argnums=0, in_shardings=(rep, data), out_shardings=(rep, rep))
  if mesh.devices.flat[0].platform != "cpu":
    return jitted

  def bounded(state, batch):
    # XLA's in-process CPU collectives can deadlock when many multi-device steps
    # are dispatched ahead (observed with 2 host devices after ~100 queued steps);
    # waiting for each step's metrics keeps one step in flight and costs ~nothing.
    state, metrics = jitted(state, batch)
    return state, jax.block_until_ready(metrics)

  return bounded
