"""Data parallelism over a device mesh: the same SPMD code for CPU cores, GPUs and TPU pods.

The batch is sharded along its first axis over the mesh axis ``"data"``; params and
optimizer state are replicated; ``jax.jit`` with these shardings lets XLA's SPMD
partitioner split every per-example computation and all-reduce the gradients.

On a CPU, JAX shows ONE device unless asked for more before it starts;
``cpu_device_flags()`` gives the XLA flags that expose one device per core (the CLI
sets them when the user has not), so the batch split keeps both cores busy in the
recurrence, where a single device leaves part of the second core idle.

Several processes (TPU pods, GPU hosts, or CPU processes talking through gloo): every
process calls ``initialize(...)`` before its first computation (one process per host, JAX's
multi-controller model); ``local_mesh`` then spans every process's devices, ``replicate``
places the same params on all of them, and ``shard_batch`` gives each process only its rows
of the global batch (``jax.make_array_from_process_local_data``). Each process still runs
the same Python program on the same global batch index draw; only the rows it owns are
transferred to its devices.
"""
from __future__ import annotations

import os
import time
from typing import Sequence

import jax
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from rnn_jax.backends import device_candidates

AXIS = "data"


def cpu_device_flags(num_devices: int | None = None) -> str:
  """XLA_FLAGS that split a CPU into ``num_devices`` (default: one per core) host devices.

  Each device then runs its own single-threaded Eigen, which is what a batch split wants.
  """
  n = num_devices or max(1, os.cpu_count() or 1)
  return f"--xla_force_host_platform_device_count={n} --xla_cpu_multi_thread_eigen=false"


def set_cpu_devices_if_unset(num_devices: int | None = None) -> bool:
  """Adds ``cpu_device_flags`` to XLA_FLAGS unless the user set a device count.

  Must run before jax initialises its backends (before the first computation).
  Returns True when the flags were added.
  """
  flags = os.environ.get("XLA_FLAGS", "")
  if "xla_force_host_platform_device_count" in flags:
    return False
  os.environ["XLA_FLAGS"] = (flags + " " + cpu_device_flags(num_devices)).strip()
  return True


def use_cpu_cores(num_devices: int | None = None) -> int:
  """One JAX CPU device per core (or ``num_devices``), for a notebook or a script: call it
  before the first computation, then ``local_mesh()`` / ``make_train_step(mesh=...)`` split
  the batch over both (all) cores. Returns the number of CPU devices. Raises RuntimeError
  when JAX already started with another count (restart the kernel and call it first); an
  XLA_FLAGS device count set by the user is kept."""
  set_cpu_devices_if_unset(num_devices)
  have = len(jax.devices("cpu"))
  want = num_devices or max(1, os.cpu_count() or 1)
  flags = os.environ.get("XLA_FLAGS", "")
  if have != want and f"device_count={want}" in flags:
    raise RuntimeError(f"JAX already started with {have} CPU device(s); call use_cpu_cores() "
                       "before the first JAX computation (in a notebook: restart the kernel).")
  return have


def initialize(coordinator_address: str | None = None,
               num_processes: int | None = None,
               process_id: int | None = None,
               *,
               heartbeat_timeout_seconds: int = 60,
               initialization_timeout: int = 120) -> None:
  """Joins this process to a multi-process run (``jax.distributed.initialize``).

  With no address, JAX detects the cluster itself (Cloud TPU pods, SLURM, Open MPI). CPU
  collectives go through gloo (``jax_cpu_collectives_implementation``), so CPU processes can
  all-reduce; accelerators use their own. A process whose peer stops sending heartbeats is
  terminated by JAX's coordination service (non-zero exit, about ``heartbeat_timeout_seconds``
  after the peer died) instead of waiting for it forever. Must run before the first
  computation.
  """
  given = [coordinator_address is None, num_processes is None, process_id is None]
  if any(given) and not all(given):
    raise ValueError("coordinator_address, num_processes and process_id go together (got "
                     f"{coordinator_address!r}, {num_processes!r}, {process_id!r}); give all "
                     "three, or none for JAX's cluster detection.")
  if num_processes is not None and not 0 <= process_id < num_processes:
    raise ValueError(f"process_id must be in [0, {num_processes}), got {process_id}.")
  jax.config.update("jax_cpu_collectives_implementation", "gloo")
  jax.distributed.initialize(
      coordinator_address,
      num_processes,
      process_id,
      heartbeat_timeout_seconds=heartbeat_timeout_seconds,
      initialization_timeout=initialization_timeout)
  # The first collective sets up gloo's context, and waits at most 30 s for every peer to get
  # there; the processes leave initialize() together, so set it up now rather than after
  # imports, data loading and compilation that a loaded machine runs at different speeds.
  # Later collectives wait for a slow peer without that limit.
  multihost_utils.sync_global_devices("rnn_jax: every process joined")


def local_mesh(batch_size: int | None = None, devices: Sequence | None = None) -> Mesh:
  """A 1-D mesh over this run's devices (every process's, ``jax.devices()``); with
  ``batch_size``, the largest device count that divides it (so every device gets an equal
  share). Several processes: all devices, and ``batch_size`` must divide evenly."""
  if jax.process_count() > 1:
    devices = list(jax.devices() if devices is None else devices)
    if batch_size is not None and batch_size % len(devices):
      raise ValueError(f"batch size {batch_size} is not divisible by the {len(devices)} devices "
                       f"of the {jax.process_count()} processes; choose a multiple of "
                       f"{len(devices)}.")
    return Mesh(np.array(devices), (AXIS,))
  devices = list(jax.local_devices() if devices is None else devices)
  n = len(devices)
  if batch_size is not None:
    while batch_size % n:
      n -= 1
  return Mesh(np.array(devices[:n]), (AXIS,))


def auto_meshes(batch_size: int, params) -> list[Mesh]:
  """The meshes a training step of ``batch_size`` rows may run on (``device_candidates`` for a
  model of ``params``): one, or one device and all, to be timed (``fastest``). Each is
  ``local_mesh(batch_size, ...)``, counts that come to the same mesh once. Several processes:
  every device, as ``local_mesh``."""
  if jax.process_count() > 1:
    return [local_mesh(batch_size)]
  devices = jax.local_devices()
  meshes = {}
  for n in device_candidates(batch_size, params, len(devices)):
    mesh = local_mesh(batch_size, devices[:n])
    meshes.setdefault(mesh.devices.size, mesh)
  return list(meshes.values())


def fastest(runs: dict, calls: int = 3, clock=time.perf_counter) -> tuple:
  """``(key, {key: median seconds})``: each of ``runs`` (key -> a callable of no arguments that
  returns when its work is done) is called once untimed (compilation, warm-up), then ``calls``
  times, timed by ``clock``; the key of the lowest median wins (the first listed on a tie). A
  single run is not called: ``(its key, {})``."""
  if not runs or calls < 1:
    raise ValueError(f"fastest needs runs and calls >= 1, got {len(runs)} runs, calls={calls}.")
  if len(runs) == 1:
    return next(iter(runs)), {}
  medians = {}
  for key, run in runs.items():
    run()
    times = []
    for _ in range(calls):
      start = clock()
      run()
      times.append(clock() - start)
    medians[key] = float(np.median(times))
  return min(medians, key=medians.get), medians


def placed_call(fn, mesh: Mesh, args: tuple, split: int = 1):
  """A callable of no arguments that runs ``fn(*args)`` jitted on ``mesh`` and waits for it:
  ``args[split]`` split over the mesh's devices along its first axis, the other arguments and
  the results replicated (placed once, here)."""
  same = replicated(mesh)
  shardings = tuple(data_sharding(mesh) if i == split else same for i in range(len(args)))
  on_mesh = jax.jit(fn, in_shardings=shardings, out_shardings=same)
  placed = tuple(
      shard_batch(a, mesh) if i == split else replicate(a, mesh) for i, a in enumerate(args))
  return lambda: jax.block_until_ready(on_mesh(*placed))


def timed_runs(steps: dict, state, batch) -> dict:
  """``{devices: run}`` for ``fastest``, from ``steps`` ``{devices: (mesh, jitted step)}``: a
  run's first call places a copy of ``state`` and ``batch`` on its mesh (nothing is copied for
  a run never called); each call takes a training step there and waits for it, fed the last
  one's state, so ``state`` itself is neither advanced nor donated."""
  runs = {}
  for n, (mesh, step) in steps.items():
    held = {}

    def run(step=step, mesh=mesh, held=held):
      if not held:
        held["state"] = replicate(jax.tree_util.tree_map(jax.numpy.array, state), mesh)
        held["rows"] = shard_batch(batch, mesh)
      held["state"] = jax.block_until_ready(step(held["state"], held["rows"])[0])

    runs[n] = run
  return runs


def data_sharding(mesh: Mesh) -> NamedSharding:
  """Leading (batch) axis split over ``"data"``, the rest whole."""
  return NamedSharding(mesh, P(AXIS))


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def shard_batch(batch, mesh: Mesh):
  """Places every array of ``batch`` (the GLOBAL batch) with its leading axis split over the
  mesh; with several processes each one transfers only the rows its devices hold."""
  n = mesh.devices.size
  for leaf in jax.tree_util.tree_leaves(batch):
    if leaf.shape[0] % n:
      raise ValueError(f"batch size {leaf.shape[0]} is not divisible by the {n} devices of "
                       "the mesh; use local_mesh(batch_size) or change the batch size.")
  sharding = data_sharding(mesh)
  if jax.process_count() == 1:
    return jax.device_put(batch, sharding)

  def place(leaf):
    start, stop = process_rows(sharding, leaf.shape)
    local = np.asarray(leaf[start:stop])
    return jax.make_array_from_process_local_data(sharding, local, leaf.shape)

  return jax.tree_util.tree_map(place, batch)


def process_rows(sharding: NamedSharding, shape) -> tuple[int, int]:
  """``(start, stop)``: the rows of a global array of ``shape`` that this process's devices
  hold under ``sharding`` (one contiguous block, as a 1-D mesh in process order gives)."""
  rows = sorted({(idx[0].start or 0, shape[0] if idx[0].stop is None else idx[0].stop)
                 for idx in sharding.addressable_devices_indices_map(tuple(shape)).values()})
  if any(a[1] != b[0] for a, b in zip(rows, rows[1:])):
    raise ValueError(f"this process's rows {rows} are not one block; order the mesh's devices "
                     "by process.")
  return rows[0][0], rows[-1][1]


def replicate(tree, mesh: Mesh):
  """The same ``tree`` on every device of ``mesh`` (every process passes the same values)."""
  sharding = replicated(mesh)
  if jax.process_count() == 1:
    return jax.device_put(tree, sharding)
  return jax.tree_util.tree_map(
      lambda a: jax.make_array_from_process_local_data(sharding, np.asarray(a)), tree)


def local_copy(tree):
  """A replicated tree as arrays on this process's first device (for evaluation, which each
  process runs on its own); unchanged in a single process."""
  if jax.process_count() == 1:
    return tree
  return jax.tree_util.tree_map(lambda a: a.addressable_data(0), tree)


def jit_step_auto(step):
  """A ``(state, batch) -> (state, metrics)`` step jitted on ``auto_meshes(batch size, params)``
  (built at the first call of each batch size, the faster of two timed on copies of the state
  and that batch where the rule asks; state replicated and batch split at every call), or on
  the one device there is. ``.choices`` maps each batch size to the devices taken and the
  timings (empty where nothing was timed)."""
  if jax.local_device_count() == 1:
    return jit_step(step, None)
  built = {}

  def auto(state, batch):
    rows = jax.tree_util.tree_leaves(batch)[0].shape[0]
    if rows not in built:
      steps = {
          int(m.devices.size): (m, jit_step(step, m))
          for m in auto_meshes(rows, getattr(state, "params", state))
      }
      n, timings = fastest(timed_runs(steps, state, batch))
      built[rows] = steps[n]
      auto.choices[rows] = (n, timings)
    mesh, fn = built[rows]
    if mesh.devices.size == 1:
      return fn(state, batch)
    return fn(replicate(state, mesh), shard_batch(batch, mesh))

  auto.choices = {}
  return auto


def jit_step(step, mesh):
  """A ``(state, batch) -> (state, metrics)`` step jitted (old state donated) on one device, or
  on ``mesh`` with the batch split and the state replicated (XLA's SPMD partitioner
  all-reduces the gradients)."""
  if mesh is None or mesh.devices.size == 1:
    return jax.jit(step, donate_argnums=0)
  rep, data = replicated(mesh), data_sharding(mesh)
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
