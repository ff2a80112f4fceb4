"""Truncated BPTT over streams longer than memory allows: TBPTT(k1, k2).

Williams & Peng (1990), and seed 004: every k1 steps an update is made with
gradients flowing back k2 ≥ k1 steps. Window i covers steps
[i·k1, i·k1 + k2); its loss counts the k1 newest steps (window 0 counts all
k2), so every step's loss is used exactly once. The carry that enters window
i+1 is window i's carry after k1 steps, passed through ``stop_gradient``: state
crosses window boundaries, gradients do not. k1 = k2 = k is the common
"split the stream into chunks of k and carry the state" scheme.

For a single sequence that fits in memory, ``unroll(..., truncate=k)`` is the
transform that limits how far gradients flow; this module is the training
procedure around a loss.
"""
from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import optax

from rnn_jax.cells import readout_logits
from rnn_jax.losses import per_step_loss
from rnn_jax.types import check_positive_int, check_rank
from rnn_jax.unrolling import unroll


def tbptt_windows(num_steps: int, k1: int, k2: int):
  """``[(start, loss_from), ...]``: window ``[start, start + k2)``, its loss on
  ``[loss_from, start + k2)``."""
  n = check_positive_int("num_steps", num_steps)
  k1 = check_positive_int("k1", k1)
  k2 = check_positive_int("k2", k2)
  if k2 < k1:
    raise ValueError(f"k2 must be >= k1 (gradients reach back at least one update), got "
                     f"k1={k1}, k2={k2}.")
  if n < k2:
    raise ValueError(f"the stream has {n} steps, fewer than one window of k2={k2}.")
  windows, start = [], 0
  while start + k2 <= n:
    windows.append((start, start if start == 0 else start + k2 - k1))
    start += k1
  return windows


def rnn_window_fn(cell,
                  loss: str = "softmax_cross_entropy",
                  k1: int | None = None,
                  **unroll_options) -> Callable:
  """A window function for params ``{"cell", "readout"}`` (the seeds' many-to-many RNN).

  ``fn(params, carry, xs [B, k2, D], ys, loss_mask [k2]) -> (J, carry after k1 steps)``.
  J sums L⟨t⟩ over the masked steps and averages over the batch.
  """

  def fn(params, carry, xs, ys, loss_mask):
    _, a, carries = unroll(cell, params["cell"], xs, carry, return_carries=True, **unroll_options)
    logits = readout_logits(params["readout"], a)
    weights = jnp.broadcast_to(loss_mask[None, :], a.shape[:2])
    step = k1 if k1 is not None else xs.shape[1]
    j = jnp.sum(per_step_loss(logits, ys, loss) * weights) / xs.shape[0]
    next_carry = jax.tree_util.tree_map(lambda c: c[:, step - 1], carries)
    return j, next_carry

  return fn


def make_window_update(window_fn: Callable, tx: optax.GradientTransformation):
  """Jitted ``(params, opt_state, carry, xs, ys, loss_mask)
  -> (params, opt_state, carry, J, ‖g‖)``."""

  @jax.jit
  def update(params, opt_state, carry, xs, ys, loss_mask):
    carry = jax.lax.stop_gradient(carry)
    (j, next_carry), grads = jax.value_and_grad(
        window_fn, has_aux=True)(params, carry, xs, ys, loss_mask)
    updates, opt_state = tx.update(grads, opt_state, params)
    return (optax.apply_updates(params, updates), opt_state, jax.lax.stop_gradient(next_carry), j,
            optax.tree.norm(grads))

  return update


def tbptt(window_fn: Callable,
          tx: optax.GradientTransformation,
          params,
          opt_state,
          carry,
          xs,
          ys,
          *,
          k1: int,
          k2: int | None = None,
          update=None):
  """Runs TBPTT(k1, k2) over one stream ``xs [B, N, D]``, ``ys [B, N, ...]``.

  Returns ``(params, opt_state, carry, metrics)`` with per-window losses and
  gradient norms; the returned carry continues the stream.
  """
  check_rank("xs", xs, 3, "[B, N, D]")
  k2 = k1 if k2 is None else k2
  windows = tbptt_windows(xs.shape[1], k1, k2)
  if ys.shape[:2] != xs.shape[:2]:
    raise ValueError(f"ys must start with [B, N]={xs.shape[:2]}, got {ys.shape}.")
  update = make_window_update(window_fn, tx) if update is None else update
  losses, norms = [], []
  for start, loss_from in windows:
    mask = (jnp.arange(start, start + k2) >= loss_from).astype(xs.dtype)
    params, opt_state, carry, j, g = update(params, opt_state, carry, xs[:, start:start + k2],
                                            ys[:, start:start + k2], mask)
    losses.append(j)
    norms.append(g)
  return params, opt_state, carry, {"loss": jnp.stack(losses), "grad_norm": jnp.stack(norms)}
