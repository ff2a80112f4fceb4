"""What every task shares: state, sharded train step, evaluation, the fit loop, report, plots.

A task supplies a model, a loss, a batch function and an evaluation; ``run_task`` does
the rest the same way for all of them (library code: ``rnn_jax.train.fit``).
"""
from __future__ import annotations

import contextlib
import json
import logging as pylogging
import os
import time
from typing import Any, Callable, NamedTuple

import jax

from rnn_jax import parallel, runs
from rnn_jax.optim import OptimConfig, make_optimizer
from rnn_jax.train import fit, init_state, make_train_step
from experiments.outputs import progress_bar, tensorboard_writer, write_plots


def initial_state(config, model, carry=None):
  """The TrainState a run starts from (also the structure its checkpoints restore into)."""
  k_init, k_train, _ = jax.random.split(jax.random.PRNGKey(config.seed), 3)
  tx = make_optimizer(
      OptimConfig(
          config.optimizer,
          config.learning_rate,
          config.clip_norm or None,
          skip_nonfinite=10,
          schedule=config.schedule,
          decay_steps=config.steps))
  return init_state(model.init(k_init), tx, k_train, carry), tx


class Task(NamedTuple):
  """What a task supplies; ``run_task`` does the rest the same way for all of them.

  ``loss_fn(params, batch, key) -> (loss, aux)``; ``make_batch(key) -> batch``;
  ``evaluate(params) -> {name: value}``; ``summary(row) -> str`` formats a log line.
  ``jit_batch=False`` when ``make_batch`` is already jitted with its data as arguments (a
  data set closed over by ``jax.jit`` would be baked into the program as a constant).
  ``initial_carry``: stateful training (see ``rnn_jax.train``), then ``loss_fn(params, batch,
  key, carry) -> (loss, (aux, carry))``. ``batch_from_step``: ``make_batch(step)`` gets the
  step number instead of a key (streams read in order). ``extra_report``: merged into the
  report (data set, sizes). ``stop_when(history) -> bool``: early stopping (``fit``);
  ``select(history) -> row``: the evaluation the report stands on (e.g. the best validation
  score), as ``report["best"]``.
  """
  name: str
  model: Any
  loss_fn: Callable
  make_batch: Callable
  evaluate: Callable
  summary: Callable
  extra_report: dict | None = None
  jit_batch: bool = True
  initial_carry: Any = None
  batch_from_step: bool = False
  stop_when: Callable | None = None
  select: Callable | None = None


# Config fields that say how long or on what hardware a run goes on, not what its params mean:
# changing them resumes the run in its workdir (everything else is the run's identity).
# Sampling (temperature) and selection smoothing only change what is read off the run.
RESUMABLE_FIELDS = ("steps", "minutes", "epochs", "patience", "eval_every", "checkpoint_every",
                    "devices", "backward", "backend", "compute_dtype", "eval_batches",
                    "learning_rate", "clip_norm", "temperature", "smooth_evals")


def run_identity(config) -> dict:
  """The identity a workdir records for this config (``rnn_jax.runs``): every field except
  ``RESUMABLE_FIELDS``, a field naming a data file as that file's content fingerprint."""
  fields = config.to_dict()
  files = [v for v in fields.values() if isinstance(v, str) and v and os.path.isfile(v)]
  return runs.identity(fields, files, ignore=RESUMABLE_FIELDS)


@contextlib.contextmanager
def library_log(workdir):
  """While a run trains with a workdir: Python logging (absl, orbax, asyncio, jax) and
  warnings go to ``workdir/run.log`` (``run.<i>.log`` for process i > 0), not the console."""
  if not workdir:
    yield None
    return
  from absl import logging as absl_logging
  os.makedirs(workdir, exist_ok=True)  # process i > 0 may get here before process 0 made it
  i = jax.process_index()
  path = os.path.join(workdir, "run.log" if i == 0 else f"run.{i}.log")
  handler = pylogging.FileHandler(path, encoding="utf-8")
  handler.setFormatter(pylogging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
  root, console = pylogging.getLogger(), absl_logging.get_absl_handler()
  console_level = console.level
  root.addHandler(handler)
  console.setLevel(pylogging.CRITICAL + 1)
  pylogging.captureWarnings(True)
  try:
    yield path
  finally:
    pylogging.captureWarnings(False)
    console.setLevel(console_level)
    root.removeHandler(handler)
    handler.close()


def run_task(config, workdir, task: Task, log=print):
  """Trains ``task.model`` as ``config`` says and returns ``(report, params)``: the params of
  the evaluation ``task.select`` picks when the run saw it (``report["params_step"]`` says
  which step; the final params otherwise). ``report["seconds"]`` counts every session of a
  resumed run (``eval_seconds`` in metrics.jsonl: wall time so far at each evaluation),
  ``report["session_seconds"]`` this one.

  With a ``workdir``: a workdir of another run (``run_identity`` differs) is refused with
  ``runs.WorkdirMismatch`` before anything is written; library messages go to its run.log.
  """
  if workdir:
    runs.claim(workdir, run_identity(config), write=jax.process_index() == 0)
  with library_log(workdir) as log_path:
    report, params = _run(config, workdir, task, log)
  if report["resumed_from"] is not None and jax.process_index() == 0:
    log(resume_line(report, config.steps, log_path))
  return report, params


def plan_line(config, task: Task, params, workdir, devices: int = 1, timings=None) -> str:
  """The first console line: task, data, model and its parameter count, planned steps,
  evaluation cadence, the devices the batch is split over (and the step times that chose them,
  ``timings`` ``{devices: seconds}``, where they were timed), workdir."""
  extra = task.extra_report or {}
  sizes = [
      f"{k.replace('_', ' ')} {extra[k]:,}" for k in _SIZE_KEYS
      if isinstance(extra.get(k), int) and not isinstance(extra.get(k), bool)
  ]
  if extra.get("classes"):
    sizes.append(f"{len(extra['classes'])} classes")
  count = sum(int(x.size) for x in jax.tree_util.tree_leaves(params))
  layers = f" × {config.num_layers} layers" if config.get("num_layers", 1) > 1 else ""
  bidi = "bidirectional " if config.get("bidirectional") else ""
  kind = f"{config.block} block" if config.get("block") else config.cell.upper()
  return (f"{task.name}: {extra.get('data', 'generated data')}"
          f"{' (' + ', '.join(sizes) + ')' if sizes else ''}; model {bidi}{kind}-"
          f"{config.hidden_size}{layers}, {count:,} parameters; up to {config.steps:,} steps, "
          f"evaluated every {config.eval_every:,}; "
          f"{f'batch split over {devices} devices' if devices > 1 else 'one device'}"
          f"{_timed(timings)}; workdir "
          f"{workdir or 'none (nothing is kept: pass --workdir)'}"
          f"{'; ' + extra['reference'] if extra.get('reference') else ''}")


def _timed(timings) -> str:
  """`` (timed: 1 device 0.36 s a step, 2 devices 0.33 s)`` or nothing."""
  if not timings:
    return ""
  parts = [f"{n} device{'s' if n > 1 else ''} {t:.3g} s" for n, t in timings.items()]
  return f" (timed: {', '.join(parts)} a step)"


_SIZE_KEYS = ("values", "train_windows", "train_size", "test_size", "chars", "vocab_size")


def resume_line(report, steps: int, log_path) -> str:
  """What a rerun in the same workdir did: resumed (this session's time and the total), or
  nothing because the run had finished; run.log named only when it holds something."""
  logged = (f" (library messages: {log_path})"
            if log_path and os.path.exists(log_path) and os.path.getsize(log_path) else "")
  final = report["final"]["step"] if report["final"] else report["resumed_from"]
  if final == report["resumed_from"] and (final >= steps or report["stopped_early"]):
    why = "stopped early" if report["stopped_early"] else f"reached its {steps:,} steps"
    return (f"already finished at step {final:,} ({why}); nothing was trained, the result "
            f"again (all sessions: {report['seconds']:.0f}s){logged}")
  return (f"resumed from step {report['resumed_from']:,} to {final:,}: this session "
          f"{report['session_seconds']:.0f}s, all sessions {report['seconds']:.0f}s{logged}")


def _run(config, workdir, task: Task, log):
  model, loss_fn, make_batch = task.model, task.loss_fn, task.make_batch
  evaluate, summary, initial_carry = task.evaluate, task.summary, task.initial_carry
  state, tx = initial_state(config, model, initial_carry)
  k_data = jax.random.split(jax.random.PRNGKey(config.seed), 3)[2]
  if config.devices and jax.process_count() > 1:
    raise ValueError(f"devices={config.devices} picks local devices; a run of "
                     f"{jax.process_count()} processes uses all of theirs (leave it unset).")
  make_step = lambda mesh: make_train_step(
      loss_fn, tx, config.clip_norm or None, mesh=mesh, stateful=initial_carry is not None)
  make_batch = jax.jit(make_batch) if task.jit_batch else make_batch
  source = (lambda step: step) if task.batch_from_step else (
      lambda step: jax.random.fold_in(k_data, step))
  if config.devices:
    mesh = parallel.local_mesh(config.batch_size, jax.local_devices()[:config.devices])
    steps = {int(mesh.devices.size): (mesh, make_step(mesh))}
  else:  # the devices that pay at this shape (rnn_jax.backends), timed where the rule asks
    steps = {
        int(m.devices.size): (m, make_step(m))
        for m in parallel.auto_meshes(config.batch_size, state.params)
    }
  # the faster of two, timed on copies; a single one is taken untimed
  devices, timings = parallel.fastest(parallel.timed_runs(steps, state, make_batch(source(0))))
  mesh, train_step = steps[devices]
  state = parallel.replicate(state, mesh)
  batch_fn = lambda step: parallel.shard_batch(make_batch(source(step)), mesh)
  start = time.time()
  primary = jax.process_index() == 0  # several processes: only the first writes and logs
  writer = tensorboard_writer(workdir) if primary else None
  if primary:
    log(plan_line(config, task, state.params, workdir, devices, timings))
  bar = progress_bar(config.steps) if primary else None

  # The params behind the best evaluation so far (``task.select``): what the report stands on,
  # and what the task's samples and pictures use. ``clock``: seconds of earlier sessions of a
  # resumed run (read from its metrics.jsonl at the first evaluation).
  track = {"last": None, "best": None, "step": None, "rows": [], "clock": None}

  def eval_fn(st):
    params = parallel.local_copy(st.params)
    if task.select is not None:  # a copy: the step donates the state's buffers
      track["last"] = jax.tree_util.tree_map(lambda a: a.copy(), params)
    if track["clock"] is None:
      track["clock"] = earlier_seconds(workdir)
    return {**evaluate(params), "seconds": track["clock"] + time.time() - start}

  def on_row(row):
    if task.select is not None:
      track["rows"].append(row)
      if task.select(track["rows"])["step"] == row["step"]:
        track["best"], track["step"] = track["last"], row["step"]
    if writer is not None:
      for name, value in row.items():
        if name != "step":
          writer.add_scalar(name, value, row["step"])
      writer.flush()
    line = f"{summary(row)}  {time.time() - start:6.1f}s"
    if primary and bar is not None:
      bar.write(line)
      bar.set_postfix_str(" ".join(summary(row).split()[2:])[:60], refresh=True)
    elif primary:
      log(line)

  try:
    state, info = fit(
        state,
        train_step,
        batch_fn,
        steps=config.steps,
        workdir=workdir,
        eval_fn=eval_fn,
        eval_every=config.eval_every,
        checkpoint_every=config.checkpoint_every,
        log=on_row,
        on_step=(lambda step: bar.update(step - bar.n)) if bar else None,
        stop_when=task.stop_when)
  finally:
    if bar is not None:
      bar.close()
    if writer is not None:
      writer.close()
  history = info["history"]
  best = task.select(history) if task.select and history else None
  params = parallel.local_copy(state.params)
  params_step = int(state.step)
  session = time.time() - start  # this session; earlier ones of a resumed run are added
  if best is not None and track["step"] == best["step"]:
    params, params_step = track["best"], best["step"]
  report = {
      "task":
          task.name,
      "config":
          config.to_dict(),
      "devices":
          int(mesh.devices.size),
      "devices_timed": {
          str(n): t for n, t in timings.items()
      },
      "processes":
          jax.process_count(),
      "final":
          history[-1] if history else None,
      "best":
          best,
      "params_step":
          params_step,
      "stopped_early":
          info["stopped_early"],
      "interrupted":
          info["interrupted"],
      "resumed_from":
          info["resumed_from"],
      "seconds":
          session + (track["clock"] if track["clock"] is not None else
                     history[-1].get("eval_seconds", 0.0) if history else 0.0),
      "session_seconds":
          session,
      "history":
          history,
      **(task.extra_report or {})
  }
  if workdir and primary and not info["interrupted"]:
    tmp = os.path.join(workdir, "report.json.tmp")
    with open(tmp, "w") as f:
      json.dump(report, f, indent=1)
    os.replace(tmp, os.path.join(workdir, "report.json"))  # never a half-written report
    write_plots(history, workdir, task.name)
  return report, params


def earlier_seconds(workdir) -> float:
  """Wall seconds that earlier sessions of a resumed run spent (the last ``eval_seconds`` in
  its metrics.jsonl, which ``fit`` has cut back to the resumed step); 0 for a new run."""
  path = os.path.join(workdir, "metrics.jsonl") if workdir else None
  if not path or not os.path.exists(path):
    return 0.0
  seconds = 0.0
  with open(path) as f:
    for line in f:
      seconds = json.loads(line).get("eval_seconds", seconds)
  return float(seconds)


def sample_batch(key, batch_size, *arrays):
  """The same random rows (with replacement) of every array: a training batch."""
  idx = jax.random.randint(key, (batch_size,), 0, arrays[0].shape[0])
  return tuple(a[idx] for a in arrays)


def dataset_batches(batch_size, *arrays):
  """``make_batch(key)`` over device-resident arrays (jitted, arrays passed as arguments)."""
  import jax.numpy as jnp
  arrays = tuple(jnp.asarray(a) for a in arrays)
  draw = jax.jit(sample_batch, static_argnums=1)
  return lambda key: draw(key, batch_size, *arrays)
