"""One config file per task (``experiments/configs/<task>.py`` with ``get_config()``), read by
``ml_collections.config_flags``:

  python -m experiments.main --config=experiments/configs/charlm.py --config.hidden_size=512
  python -m experiments.main --task=charlm --config.hidden_size=512      # the same (alias)

In Python (a notebook): ``configs.get("charlm", hidden_size=512)``. Configs are locked
``ConfigDict`` s: a misspelt field is an error, not a new field. ``validate`` checks choices
against the library's own registries and file fields before any training starts.
"""
from __future__ import annotations

import copy
import difflib
import importlib
import math
import os

from ml_collections import config_dict

TASKS = ("adding", "copy_memory", "selective_copy", "induction_heads", "mqar", "mnist", "classify",
         "forecast", "japanese_vowels", "sunspots", "charlm", "dates", "ner", "names")
# Old names kept working: the same task module and fields, their own defaults.
ALIASES = {"japanese_vowels": "classify", "sunspots": "forecast"}
FOLDER = os.path.dirname(os.path.abspath(__file__))


def path(task: str) -> str:
  """The config file of ``task``."""
  if task not in TASKS:
    raise ValueError(f"task must be one of {list(TASKS)}, got {task!r}.")
  return os.path.join(FOLDER, f"{task}.py")


_BOOLS = {"true": True, "t": True, "1": True, "false": False, "f": False, "0": False}


def _convert(kind, value: str):
  """``value`` as ``kind`` the way the flag parser reads it; ValueError if it cannot."""
  if kind is bool:
    if value.lower() not in _BOOLS:
      raise ValueError(value)
    return _BOOLS[value.lower()]
  return kind(value)


def _did_you_mean(name: str, names) -> str:
  close = difflib.get_close_matches(name, sorted(names), 1, 0.6)
  return f"; did you mean --config.{close[0]}?" if close else ""


def override_error(argv, task: str, known_flags=()) -> str | None:
  """One line saying what is wrong with the command line's config overrides, or None: a
  ``--config.FIELD`` the task's config does not have (with the closest field), a value that is
  not of the field's type (naming the field, the type and its default), or an old-style flag
  such as ``--steps=10`` that is a config field (not one of ``known_flags``)."""
  config = get(task if task in TASKS else "adding")
  fields = list(config.keys())
  for i, arg in enumerate(argv[1:], 1):
    if not arg.startswith("--"):
      continue
    name, eq, value = arg[2:].partition("=")
    if not eq:
      nxt = argv[i + 1] if i + 1 < len(argv) else None
      value = None if nxt is None or nxt.startswith("--") else nxt
    if not name.startswith("config."):
      bare = name[2:] if name.startswith("no") and name[2:] in fields else name
      if bare in fields and bare not in known_flags and name not in known_flags:
        shown = "=false" if bare != name else f"={value}" if value is not None else ""
        return (f"unknown flag --{name}: the task's fields are set as --config.FIELD=VALUE; did "
                f"you mean --config.{bare}{shown}?")
      continue
    field = name[len("config."):]
    if field not in config:
      return (f"--config.{field} is not a field of the {task!r} config"
              f"{_did_you_mean(field, fields)} (its fields: {', '.join(sorted(fields))}).")
    kind = config.get_type(field)
    if value is None or kind not in (int, float, bool, str):
      continue
    try:
      _convert(kind, value)
    except ValueError:
      expected = {bool: "true or false", int: "an integer", float: "a number"}[kind]
      return (f"--config.{field}={value}: {field} takes {expected} ({kind.__name__}; default "
              f"{config[field]!r}), got {value!r}.")
  return None


def get(task: str = "adding", **changes) -> config_dict.ConfigDict:
  """The task's default config (its ``get_config()``), locked, with ``changes`` applied."""
  path(task)  # validates the name
  config = importlib.import_module(f"experiments.configs.{task}").get_config()
  config.lock()
  return replace(config, **changes)


def replace(config: config_dict.ConfigDict, **changes) -> config_dict.ConfigDict:
  """A copy of ``config`` with fields changed (unknown fields raise, as on the command line)."""
  out = copy.deepcopy(config)
  for name, value in changes.items():
    if name not in out:
      raise AttributeError(f"config field {name!r} does not exist for task {out.task!r}; "
                           f"fields: {sorted(out.keys())}.")
    setattr(out, name, value)
  return out


def _files(config):
  return [k for k in ("text_file", "csv", "train_ts", "test_ts") if config.get(k) is not None]


def validate(config: config_dict.ConfigDict) -> None:
  """Raises ValueError naming ``--config.<field>`` and what was expected, before training."""
  from rnn_jax.blocks import KINDS
  from rnn_jax.cells import CELLS
  from rnn_jax.optim import OPTIMIZERS, SCHEDULES
  from rnn_jax.backends import Backend
  from rnn_jax.types import Backward
  choices = {
      "task": TASKS,
      "cell": tuple(CELLS),
      "block": ("",) + tuple(KINDS),
      "optimizer": tuple(OPTIMIZERS),
      "schedule": SCHEDULES,
      "backward": tuple(b.value for b in Backward),
      "backend": tuple(b.value for b in Backend),
      "missing": ("error", "drop", "interpolate"),
      "pooling": ("last", "mean", "max"),
      "compute_dtype": ("float32", "bfloat16"),
  }
  for name, allowed in choices.items():
    if name in config and config[name] not in allowed:
      raise ValueError(f"--config.{name} must be one of {sorted(allowed)}, got {config[name]!r}.")
  for name in ("hidden_size", "num_layers", "steps", "batch_size", "eval_every", "checkpoint_every",
               "length", "embed_size", "truncate", "chrono", "devices", "horizon", "test_size",
               "epochs", "downsample", "pool_time", "ensemble", "conv_kernel", "smooth_evals"):
    value = config.get(name)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
      raise ValueError(f"--config.{name} must be a positive int, got {value!r}.")
  if config.get("length") is not None and config.length < 2:
    raise ValueError(f"--config.length must be >= 2 (a sequence or window of two steps at least), "
                     f"got {config.length!r}.")
  for name, zero in (("conv_layers", "none"), ("validate_min_class", "always hold out")):
    value = config.get(name)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
      raise ValueError(f"--config.{name} must be an int >= 0 (0: {zero}), got {value!r}.")
  if config.get("patience") is not None and (not isinstance(config.patience, int) or
                                             config.patience < 0):
    raise ValueError(f"--config.patience must be an int >= 0 (0: off), got {config.patience!r}.")
  margin = config.get("persistence_margin")
  if margin is not None and (isinstance(margin, bool) or not isinstance(margin, (int, float)) or
                             not 0.0 <= margin < float("inf")):
    raise ValueError(f"--config.persistence_margin must be a number >= 0 (standard errors; 0: "
                     f"off), got {margin!r}.")
  if config.get("val_fraction") is not None and not 0.0 < config.val_fraction < 0.5:
    raise ValueError(f"--config.val_fraction must lie in (0, 0.5), got {config.val_fraction!r}.")
  minutes = config.get("minutes")
  if minutes is not None and not 0 < minutes < math.inf:  # a float field: NaN fails too
    raise ValueError(f"--config.minutes must be a positive number, got {minutes!r}.")
  if not config.learning_rate > 0:
    raise ValueError(f"--config.learning_rate must be > 0, got {config.learning_rate!r}.")
  if config.clip_norm is not None and not config.clip_norm >= 0:
    raise ValueError(f"--config.clip_norm must be >= 0 (0 or None: off), got {config.clip_norm!r}.")
  if config.get("dropout") is not None and not 0.0 <= config.dropout <= 0.95:
    raise ValueError(f"--config.dropout must lie in [0, 0.95], got {config.dropout!r}.")
  for name in _files(config):
    if not os.path.isfile(config[name]):
      raise ValueError(f"--config.{name} must name an existing file, got {config[name]!r}.")
  if config.get("csv") is None and config.get("column") is not None:
    raise ValueError("--config.column names a column of --config.csv: name the file too.")
  for a, b, what in (("train_ts", "test_ts", "a training and a test .ts file"),):
    if a in config and (config[a] is None) != (config[b] is None):
      raise ValueError(f"--config.{a} and --config.{b} go together: {what}.")
