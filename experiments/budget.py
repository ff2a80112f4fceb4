"""Runs sized to a time budget: as many steps as fit in ``--config.minutes`` on this machine.

A task whose ``--config.steps`` is unset (None) times its own training step and evaluation
before training (``seconds_per_call``) and plans the most steps whose training and
evaluations fit what is left of the budget (``steps_in_budget``). A decaying schedule (``wsd``,
``cosine``) then reaches its end when the time runs out, instead of being cut off part-way,
which is what a fixed step count does on a slower machine. The plan is written to
``workdir/budget.json`` and read back on a resume, so that a resumed run keeps its schedule,
whatever the machine it resumes on; in a run of several processes, process 0's plan is everyone's.

The figures a budgeted run reaches depend on the machine's speed; the plan (steps, seconds per
step and per evaluation) is in the report and on the console, and ``--config.steps=N`` gives
the same run on any machine.
"""
from __future__ import annotations

import json
import os
import time
from typing import Callable

import jax
import numpy as np

from experiments import configs
from experiments.runner import run_identity
from rnn_jax import parallel, runs

BUDGET_FILE = "budget.json"


def seconds_per_call(fn: Callable, *args, repeats: int = 5) -> tuple[float, float]:
  """``(first, typical)``: the wall seconds of a first call of ``fn(*args)`` (which compiles
  it) and the median of ``repeats`` further calls after one more untimed one, each waited for
  (the first calls after compiling run slower while buffers and threads settle)."""
  t = time.perf_counter()
  jax.block_until_ready(fn(*args))
  first, times = time.perf_counter() - t, []
  jax.block_until_ready(fn(*args))
  for _ in range(repeats):
    t = time.perf_counter()
    jax.block_until_ready(fn(*args))
    times.append(time.perf_counter() - t)
  return first, float(np.median(times))


def steps_in_budget(seconds: float, step_seconds: float, eval_seconds: float,
                    eval_every: Callable[[int], int]) -> int:
  """The most steps S with S·step_seconds + ⌊S / eval_every(S)⌋·eval_seconds ≤ ``seconds``
  (the training steps and the evaluations among them), at least 1. ``eval_every(S)`` is the
  task's evaluation interval for a run of S steps."""
  if not step_seconds > 0 or not eval_seconds >= 0:
    raise ValueError(f"step_seconds must be > 0 and eval_seconds >= 0, got {step_seconds!r} "
                     f"and {eval_seconds!r}.")
  cost = lambda s: s * step_seconds + (s // eval_every(s)) * eval_seconds
  low, high = 1, max(1, int(seconds / step_seconds) + 1)  # cost(s) >= s·step_seconds
  while low < high:  # the largest s in [low, high] with cost(s) <= seconds
    mid = (low + high + 1) // 2
    if cost(mid) <= seconds:
      low = mid
    else:
      high = mid - 1
  return low


def plan(minutes: float,
         started: float,
         measure: Callable[[], dict],
         eval_every: Callable[[int], int],
         workdir: str | None = None) -> dict:
  """The steps that fit ``minutes`` of wall time counted from ``started`` (``time.time()``):
  ``measure()`` gives ``{"step_seconds", "eval_seconds", "reserve_seconds"}`` (one training
  step, one evaluation, and what the run spends outside them: compiling, the final pass,
  samples). Returns those fields with ``steps``, ``minutes`` and ``resumed`` (True when read
  back from ``workdir/budget.json``, which is then neither measured nor rewritten)."""
  if not minutes > 0:
    raise ValueError(f"--config.minutes must be > 0, got {minutes!r}.")
  path = os.path.join(workdir, BUDGET_FILE) if workdir else None
  if path and os.path.exists(path):
    with open(path, encoding="utf-8") as f:
      result = {**json.load(f), "resumed": True}
  else:
    found = measure()
    left = 60.0 * minutes - (time.time() - started) - found["reserve_seconds"]
    steps = steps_in_budget(left, found["step_seconds"], found["eval_seconds"], eval_every)
    result = {"minutes": minutes, "steps": steps, **found, "resumed": False}
  if jax.process_count() > 1:  # every process trains process 0's number of steps
    from jax.experimental import multihost_utils
    result["steps"] = int(multihost_utils.broadcast_one_to_all(np.int32(result["steps"])))
  if path and not result["resumed"] and jax.process_index() == 0:
    os.makedirs(workdir, exist_ok=True)
    with open(path + ".tmp", "w", encoding="utf-8") as f:
      json.dump({k: v for k, v in result.items() if k != "resumed"}, f, indent=1)
    os.replace(path + ".tmp", path)  # never a half-written plan
  return result


def plan_line(p: dict) -> str:
  """One console line for a plan."""
  if p["resumed"]:
    return (f"budget: {p['steps']:,} steps, as planned for {p['minutes']:g} minutes when this "
            f"run started ({BUDGET_FILE})")
  return (f"budget: {p['steps']:,} steps fit {p['minutes']:g} minutes here ({p['step_seconds']:.3f}"
          f" s a step, {p['eval_seconds']:.2f} s an evaluation, {p['reserve_seconds']:.0f} s "
          f"for compiling, the final pass and samples); --config.steps=N fixes the length")


def planned(config, workdir, started: float, one_step: Callable[[], object],
            one_eval: Callable[[], object], eval_every: Callable[[object], int]):
  """``(config, plan)`` for a task: with ``--config.steps`` unset, ``config.steps`` set to the
  steps that fit ``--config.minutes`` from ``started`` (``plan``), timed on ``one_step()`` (one
  training step's forward and gradients on a fresh batch) and ``one_eval()`` (one evaluation);
  ``eval_every(config)`` is the task's evaluation interval for a config. ``plan`` is None
  when the steps are given. The workdir is claimed first (``rnn_jax.runs.claim``), so a plan
  is never written into another run's workdir."""
  if config.steps is not None:
    return config, None
  if workdir:
    runs.claim(workdir, run_identity(config), write=jax.process_index() == 0)

  def measure():
    compile_s, step_s = seconds_per_call(one_step)
    _, eval_s = seconds_per_call(one_eval, repeats=1)  # an evaluation is already many steps
    # compiling the real step, a final pass over the held-out part (~2 evaluations), samples
    return {
        "step_seconds": step_s,
        "eval_seconds": eval_s,
        "reserve_seconds": compile_s + 3 * eval_s + 10.0
    }

  every = lambda steps: eval_every(configs.replace(config, steps=steps))
  p = plan(config.minutes, started, measure, every, workdir)
  return configs.replace(config, steps=p["steps"]), p


def step_on_the_run_devices(fn, params, batch, key, batch_size: int, devices=None):
  """``one_step`` for ``planned``: ``fn(params, batch, key)`` (a training step's forward and
  gradients) jitted on the mesh the run's step takes (``parallel.auto_meshes``, the faster of
  two where it gives two; ``devices``: the first N local devices, as ``--config.devices``),
  the batch split over it, so the plan is timed on the split the run uses. Several processes:
  on one device (each process holds only its share of a batch)."""
  if jax.process_count() > 1:
    one = jax.jit(fn)
    return lambda: jax.block_until_ready(one(params, batch, key))
  meshes = ([parallel.local_mesh(batch_size,
                                 jax.local_devices()[:devices])]
            if devices else parallel.auto_meshes(batch_size, params))
  call = lambda mesh: parallel.placed_call(fn, mesh, (params, batch, key))
  timed = {int(mesh.devices.size): call(mesh) for mesh in meshes}
  return timed[parallel.fastest(timed)[0]]
