"""Checkpoints with orbax: periodic, keep the last N, atomic, resumable.

orbax writes each step into a temporary directory and renames it when complete,
so a save interrupted half-way never becomes a step that ``latest_step`` sees
(and ``cleanup_tmp_directories`` removes the leftovers). ``restore_latest``
additionally survives a complete-looking but corrupted or truncated latest step:
it reports it and falls back to the previous one.
"""
from __future__ import annotations

import os
import warnings

import jax


def _ocp():
  import orbax.checkpoint as ocp  # lazy: ~1 s import, only when checkpointing
  return ocp


def manager(workdir: str, keep: int = 3, every: int = 1):
  """A synchronous ``CheckpointManager`` under ``workdir/checkpoints`` (absolute path) that
  keeps the last ``keep`` steps; ``should_save(step)`` is true every ``every`` steps."""
  ocp = _ocp()
  if keep < 1:
    raise ValueError(f"keep must be >= 1, got {keep!r}.")
  if every < 1:
    raise ValueError(f"checkpoint interval must be >= 1, got {every!r}.")
  path = os.path.join(os.path.abspath(workdir), "checkpoints")
  options = ocp.CheckpointManagerOptions(
      max_to_keep=keep,
      save_decision_policy=ocp.checkpoint_managers.FixedIntervalPolicy(every),
      create=True,
      cleanup_tmp_directories=True,
      enable_async_checkpointing=False)
  return ocp.CheckpointManager(path, options=options)


def save(mngr, step: int, state) -> None:
  """Saves a pytree (NamedTuples as dicts) at ``step``; returns when it is on disk."""
  ocp = _ocp()
  tree = state._asdict() if hasattr(state, "_asdict") else state
  mngr.save(int(step), args=ocp.args.StandardSave(tree), force=True)
  mngr.wait_until_finished()


def restore_latest(mngr, like):
  """``(step, state)`` from the newest readable checkpoint, or ``(None, like)``.

  ``like`` gives the structure, shapes and dtypes. A step that fails to restore is
  reported (``warnings``) and skipped in favour of the one before it.
  """
  ocp = _ocp()
  tree = like._asdict() if hasattr(like, "_asdict") else like
  abstract = jax.tree_util.tree_map(ocp.utils.to_shape_dtype_struct, tree)
  if hasattr(mngr, "reload"):
    mngr.reload()
  for step in sorted(mngr.all_steps(), reverse=True):
    try:
      restored = mngr.restore(step, args=ocp.args.StandardRestore(abstract))
    except Exception as err:  # orbax raises several types for damaged files
      warnings.warn(f"checkpoint at step {step} in {mngr.directory} is unreadable "
                    f"({type(err).__name__}: {str(err)[:200]}); trying the previous one.")
      continue
    return step, (type(like)(**restored) if hasattr(like, "_asdict") else restored)
  return None, like


def load(workdir: str, step: int | None = None):
  """The state saved in ``workdir`` at ``step`` (default: the newest), as a dict of arrays on
  this process's first device, whatever mesh or number of processes saved it (a notebook
  reading a finished run). Raises FileNotFoundError when there is no such checkpoint."""
  ocp = _ocp()
  if not os.path.isdir(os.path.join(workdir, "checkpoints")):
    raise FileNotFoundError(f"no checkpoints in {workdir!r} (no 'checkpoints' folder).")
  mngr = manager(workdir)
  steps = sorted(mngr.all_steps())
  if not steps or (step is not None and step not in steps):
    raise FileNotFoundError(f"no checkpoint {'' if step is None else f'at step {step} '}in "
                            f"{mngr.directory} (saved steps: {steps}).")
  step = steps[-1] if step is None else step
  item = os.path.join(str(mngr.directory), str(step), "default")  # the manager's one item
  meta = ocp.StandardCheckpointer().metadata(item)
  meta = getattr(meta, "item_metadata", meta)  # orbax versions wrap the tree or return it bare
  device = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
  abstract = jax.tree_util.tree_map(
      lambda m: jax.ShapeDtypeStruct(m.shape, m.dtype, sharding=device), meta)
  return mngr.restore(step, args=ocp.args.StandardRestore(abstract))
