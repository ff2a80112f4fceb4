"""The jitted training step: ``(state, batch) -> (state, metrics)``.

Randomness is ``fold_in(state.key, state.step)``, so a run is a pure function
of its config and seed. Metrics always hold the loss, the gradient norm before
clipping, whether clipping acted, and the parameter norm.

Stateful training (``stateful=True``): the recurrent carry at the end of one batch is the
initial carry of the next (truncated BPTT across batches: no gradient flows between them).
The carry lives in ``TrainState.carry``, so checkpoints hold it and a resumed run goes on
exactly as the uninterrupted one.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import signal
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax
from absl import logging

from rnn_jax import checkpoint as ckpt
from rnn_jax import parallel
from rnn_jax.optim import gradient_metrics


def skip_counts(opt_state) -> dict:
  """The counters of ``optax.apply_if_finite`` (``OptimConfig(skip_nonfinite=...)``) in an
  optimizer state: consecutive and total skipped steps, on device; {} without it."""
  count = optax.tree_utils.tree_get(opt_state, "notfinite_count", None)
  if count is None:
    return {}
  return {
      "bad_steps_in_a_row": count,
      "skipped_total": optax.tree_utils.tree_get(opt_state, "total_notfinite")
  }


class TrainState(NamedTuple):
  step: jax.Array
  params: Any
  opt_state: Any
  key: jax.Array
  carry: Any = None  # stateful training: the carry handed from one batch to the next


def init_state(params, tx: optax.GradientTransformation, key, carry=None) -> TrainState:
  return TrainState(jnp.zeros((), jnp.int32), params, tx.init(params), key, carry)


def make_train_step(loss_fn: Callable,
                    tx: optax.GradientTransformation,
                    clip_norm: float | None = None,
                    jit: bool = True,
                    mesh="auto",
                    stateful: bool = False):
  """``loss_fn(params, batch, key) -> (loss, aux_metrics)``; returns the step.

  ``stateful=True``: ``loss_fn(params, batch, key, carry) -> (loss, (aux_metrics,
  new_carry))``, with ``carry = state.carry``; the step stores ``stop_gradient(new_carry)``.

  The returned step donates the old state's buffers when jitted. With a ``mesh``
  (``rnn_jax.parallel.local_mesh``), the batch is split over its devices and the
  state replicated: data parallelism through XLA's SPMD partitioner. ``mesh="auto"`` (the
  default): with several local devices (CPU cores after ``parallel.use_cpu_cores()``, GPUs,
  TPU cores) the first call of each batch size picks a mesh (``parallel.jit_step_auto``: on a
  CPU all cores while the work per step is small, else the faster of one device and all, timed)
  and every call places the state and the batch on it; with one device, a plain ``jax.jit``.
  ``mesh=None``: one device always.
  """

  def step(state: TrainState, batch):
    key = jax.random.fold_in(state.key, state.step)
    carry = state.carry
    if stateful:
      (loss, (aux, carry)), grads = jax.value_and_grad(
          loss_fn, has_aux=True)(state.params, batch, key, state.carry)
      carry = jax.lax.stop_gradient(carry)
    else:
      (loss, aux), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params, batch, key)
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    gm = gradient_metrics(grads, clip_norm)
    finite = jnp.isfinite(loss) & jnp.isfinite(gm["grad_norm"])
    metrics = {
        "loss": loss,
        **gm, "param_norm": optax.tree.norm(params),
        "nonfinite": (~finite).astype(jnp.float32),
        **skip_counts(opt_state),
        **aux
    }
    return TrainState(state.step + 1, params, opt_state, state.key, carry), metrics

  if not jit:
    return step
  if isinstance(mesh, str):
    if mesh != "auto":
      raise ValueError(f"mesh must be a Mesh, None or 'auto', got {mesh!r}.")
    return parallel.jit_step_auto(step)
  return parallel.jit_step(step, mesh)


class StopTraining(RuntimeError):
  """Raised when training cannot go on (e.g. too many non-finite steps in a row)."""


def fit(state: TrainState,
        train_step,
        batch_fn,
        *,
        steps: int,
        workdir: str | None = None,
        eval_fn=None,
        eval_every: int = 100,
        checkpoint_every: int = 100,
        keep: int = 3,
        max_bad_steps: int | None = 10,
        log=None,
        on_step=None,
        stop_when=None):
  """The training loop: resume, step, evaluate, log, checkpoint, stop cleanly.

  ``batch_fn(step) -> batch`` must be a pure function of the step (e.g.
  ``fold_in(data_key, step)``), so a resumed run sees exactly the batches the
  uninterrupted run would have. With a ``workdir`` the loop resumes from its
  newest readable checkpoint, appends metrics to ``metrics.jsonl`` (dropping lines
  past the resumed step), saves every ``checkpoint_every`` steps (orbax's
  ``FixedIntervalPolicy``) and at the end, and on SIGINT/SIGTERM saves and returns
  early (``interrupted`` in the result). Non-finite steps are counted by
  ``optax.apply_if_finite`` when the optimizer has it (``OptimConfig(skip_nonfinite=
  ...)``: such a step changes no parameter), else from the step's ``nonfinite``
  metric; after ``max_bad_steps`` in a row ``StopTraining`` is raised (naming the step where
  the count was reached) and the newest checkpoint is left as it was. The loop never waits
  for a step: those flags stay on the device and are read in one transfer at evaluation and
  checkpoint steps, the last step and every ``max_bad_steps`` steps, so an accelerator runs
  ahead of Python. Several processes (``rnn_jax.parallel.initialize``): all of them step,
  evaluate and save (orbax saves cooperatively), only process 0 writes metrics.jsonl, and a
  signal ends the process (the run resumes from the last save). ``log(row)`` gets each
  metrics row (default: absl logging); ``on_step(step)``, if given, is called after every
  step (a progress bar). ``stop_when(history) -> bool`` is asked after every evaluation (early
  stopping: a pure function of the rows, so a resumed run stops where the uninterrupted one
  did); when it says yes the state is saved and the loop ends. Returns ``(state, {"history",
  "interrupted", "resumed_from", "stopped_early"})``.
  """
  log = log or (lambda row: logging.info("%s", row))
  mngr = ckpt.manager(workdir, keep, checkpoint_every) if workdir else None
  primary = jax.process_index() == 0  # several processes: only the first writes files
  resumed, history = None, []
  if mngr is not None:
    resumed, state = ckpt.restore_latest(mngr, state)
    history = read_history(workdir, resumed, rewrite=primary)
  counts = _Counts(*((history[-1].get("bad_steps_in_a_row", 0),
                      history[-1].get("skipped_total", 0)) if history else (0, 0)))
  # Signals are turned into a clean stop only in a single process: processes that stopped at
  # different steps would wait on each other; several processes resume from the last save.
  stopped_early = None
  with _stop_signals(enabled=mngr is not None and jax.process_count() == 1) as stop:
    step = int(state.step)
    if stop_when is not None and history and stop_when(history):
      stopped_early = history[-1]["step"]  # a run that had stopped early stays stopped
    pending = []  # the non-finite flags of steps not yet read, still on the device
    read_every = max_bad_steps or eval_every
    while step < steps and not stop and stopped_early is None:
      state, metrics = train_step(state, batch_fn(step))
      step += 1
      if on_step is not None:
        on_step(step)
      pending.append(bad_step_flags(metrics))
      evaluate = step % eval_every == 0 or step == steps
      if (evaluate or len(pending) >= read_every or (mngr is not None and mngr.should_save(step))):
        counts, tripped = count_bad_steps(counts, pending, step, max_bad_steps)
        pending = []
        if tripped is not None:
          raise StopTraining(
              f"{max_bad_steps} consecutive steps with non-finite loss or gradients (last at "
              f"step {tripped}); the last good checkpoint is kept" +
              (f" in {mngr.directory}." if mngr else "."))
      if evaluate:
        row = evaluate_row(step, metrics, counts, eval_fn, state)
        history.append(row)
        append_row(workdir if primary else None, row)
        log(row)
        if stop_when is not None and stop_when(history):
          stopped_early = step
      last = step == steps or stopped_early is not None
      if mngr is not None and counts.in_a_row == 0 and (last or mngr.should_save(step)):
        ckpt.save(mngr, step, state)
    if pending:  # a signal ended the loop between reads
      counts, _ = count_bad_steps(counts, pending, step, None)
    if stop and mngr is not None and counts.in_a_row == 0:
      ckpt.save(mngr, int(state.step), state)
  return state, {
      "history": history,
      "interrupted": bool(stop),
      "resumed_from": resumed,
      "stopped_early": stopped_early
  }


class _Counts(NamedTuple):
  in_a_row: int
  total: int


def bad_step_flags(metrics) -> tuple:
  """What the counters need from one step's metrics, left on the device: ``(True, in a row,
  total)`` of optax's ``apply_if_finite`` when the optimizer has it, else ``(False,
  nonfinite flag, loss)``."""
  if "bad_steps_in_a_row" in metrics:
    return (True, metrics["bad_steps_in_a_row"], metrics["skipped_total"])
  return (False, metrics["nonfinite"], metrics["loss"])


def count_bad_steps(counts: _Counts, pending: list, step: int, max_bad_steps: int | None):
  """The counters after the ``len(pending)`` steps (``bad_step_flags``) ending at ``step``,
  read in one transfer; also the first of those steps where ``max_bad_steps`` in a row was
  reached (else None)."""
  tripped = None
  first = step - len(pending) + 1
  for i, (from_optax, a, b) in enumerate(jax.device_get(pending)):
    if from_optax:
      counts = _Counts(int(a), int(b))
    else:
      bad = float(a) > 0 or not math.isfinite(float(b))
      counts = _Counts(counts.in_a_row + 1, counts.total + 1) if bad else _Counts(0, counts.total)
    if tripped is None and max_bad_steps is not None and counts.in_a_row >= max_bad_steps:
      tripped = first + i
  return counts, tripped


def evaluate_row(step: int, metrics, counts: _Counts, eval_fn, state) -> dict:
  """One metrics.jsonl row: the step's metrics, the counters, and ``eval_*`` of ``eval_fn``."""
  row = {"step": step, **{k: float(v) for k, v in jax.device_get(metrics).items()}}
  row.update(bad_steps_in_a_row=counts.in_a_row, skipped_total=counts.total)
  if eval_fn is not None:
    row.update({f"eval_{k}": float(v) for k, v in eval_fn(state).items()})
  return row


def append_row(workdir: str | None, row: dict) -> None:
  """Appends one JSON line to ``workdir/metrics.jsonl`` (nothing without a workdir)."""
  if workdir:
    with open(os.path.join(workdir, "metrics.jsonl"), "a") as f:
      f.write(json.dumps(row) + "\n")


class _Stop:
  """Truthy once SIGINT or SIGTERM arrived."""

  def __init__(self):
    self.signal = None

  def __bool__(self):
    return self.signal is not None


@contextlib.contextmanager
def _stop_signals(enabled: bool):
  """Turns SIGINT/SIGTERM into a flag for the loop (restored on exit)."""
  stop = _Stop()
  if not enabled:
    yield stop
    return

  def handler(signum, frame):
    stop.signal = signum

  previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
  try:
    yield stop
  finally:
    for s, h in previous.items():
      signal.signal(s, h)


def read_history(workdir, resumed_step, rewrite: bool = True):
  """metrics.jsonl rows up to the resumed step (later rows belong to lost work); with
  ``rewrite`` the file is rewritten atomically to hold exactly those rows."""
  path = os.path.join(workdir, "metrics.jsonl")
  rows = []
  if os.path.exists(path):
    with open(path) as f:
      for line in f:
        try:
          rows.append(json.loads(line))
        except json.JSONDecodeError:  # a line torn by a hard kill: the work it logged is lost
          break
  rows = [r for r in rows if resumed_step is not None and r["step"] <= resumed_step]
  if not rewrite:
    return rows
  os.makedirs(workdir, exist_ok=True)
  tmp = path + ".tmp"
  with open(tmp, "w") as f:
    f.writelines(json.dumps(r) + "\n" for r in rows)
  os.replace(tmp, path)  # atomic: never a half-written metrics file
  return rows
