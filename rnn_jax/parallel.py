"""Data parallelism over a device mesh: the same SPMD code for CPU cores, GPUs and TPU pods.

The batch is sharded along its first axis over the mesh axis ``"data"``; params and
optimizer state are replicated; ``jax.jit`` with these shardings lets XLA's SPMD
partitioner split every per-example computation and all-reduce the gradients.

On a CPU, JAX shows ONE device unless asked for more before it starts;
``cpu_device_flags()`` gives the XLA flags that expose one device per core (the CLI
sets them when the user has not), so the batch split keeps both cores busy in the
recurrence, where a single device leaves part of the second core idle.

Multi-host (TPU pods, several GPU hosts): call ``jax.distributed.initialize()`` at
start-up in every process, then build the mesh from ``jax.devices()`` (all hosts'
devices) and feed each process its part of the global batch, e.g. with
``jax.make_array_from_process_local_data(data_sharding(mesh), local_batch)``.
"""
from __future__ import annotations

import os

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

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


def local_mesh(batch_size: int | None = None, devices=None) -> Mesh:
  """A 1-D mesh over local devices; with ``batch_size``, the largest device count
  that divides it (so every device gets an equal share)."""
  devices = list(jax.local_devices() if devices is None else devices)
  n = len(devices)
  if batch_size is not None:
    while batch_size % n:
      n -= 1
  return Mesh(np.array(devices[:n]), (AXIS,))


def data_sharding(mesh: Mesh) -> NamedSharding:
  """Leading (batch) axis split over ``"data"``, the rest whole."""
  return NamedSharding(mesh, P(AXIS))


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def shard_batch(batch, mesh: Mesh):
  """Places every array of ``batch`` with its leading axis split over the mesh."""
  n = mesh.devices.size
  for leaf in jax.tree_util.tree_leaves(batch):
    if leaf.shape[0] % n:
      raise ValueError(f"batch size {leaf.shape[0]} is not divisible by the {n} devices of "
                       "the mesh; use local_mesh(batch_size) or change the batch size.")
  return jax.device_put(batch, data_sharding(mesh))


def replicate(tree, mesh: Mesh):
  return jax.device_put(tree, replicated(mesh))
