"""Launcher: a config file (ml_collections) -> train_and_evaluate(config, workdir).

  python -m experiments.main                                        # LSTM on the adding problem
  python -m experiments.main --task=copy_memory     # --config=experiments/configs/copy_memory.py
  python -m experiments.main --config=experiments/configs/charlm.py --config.hidden_size=512
  python -m experiments.main --task=charlm --config.text_file=my.txt   # bring your own text
  python -m experiments.main --task=sunspots --config.csv=f.csv --config.column=price

``--task=NAME`` is an alias for ``--config=experiments/configs/NAME.py``; ``--config.FIELD=VALUE``
replaces one field of that file's config (``--help`` lists the fields and their defaults). Bad
values fail with one line before any training starts; jax and the task load after that.
"""
import importlib
import sys

from absl import app, flags, logging
from ml_collections import config_flags

from experiments import configs


def _task_in_argv(argv) -> str:
  """The --task value on the command line (default adding), before flags are parsed: it picks
  the config file whose fields --config.* may override."""
  for i, arg in enumerate(argv):
    if arg.startswith("--task="):
      return arg.split("=", 1)[1]
    if arg == "--task" and i + 1 < len(argv):
      return argv[i + 1]
  return "adding"


_ARGV_TASK = _task_in_argv(sys.argv)
_TASK = flags.DEFINE_enum("task", "adding", configs.TASKS,
                          "Alias: --task=NAME reads experiments/configs/NAME.py.")


def _unknown_field(error) -> None:
  """One line and exit 1 for a --config.FIELD that the task's config does not have
  (config_flags raises a bare AttributeError for it, while the flag is being defined)."""
  fields = sorted(configs.get(_ARGV_TASK if _ARGV_TASK in configs.TASKS else "adding").keys())
  name = str(error).strip("\"'")
  sys.stderr.write(f"FATAL Flags parsing error: --config.{name} is not a field of the "
                   f"{_ARGV_TASK!r} config; its fields: {fields}.\n")
  sys.exit(1)


try:
  _CONFIG = config_flags.DEFINE_config_file(
      "config", configs.path(_ARGV_TASK if _ARGV_TASK in configs.TASKS else "adding"),
      "A config file with get_config(); --config.FIELD=VALUE overrides one field.")
except (AttributeError, KeyError) as _error:
  _unknown_field(_error)
_WORKDIR = flags.DEFINE_string(
    "workdir", None, "Checkpoints, metrics.jsonl and report.json go here; an existing "
    "checkpoint is resumed.")


def parse_flags(argv):
  """absl's parsing; an unknown --config.FIELD gets one line, as at definition time."""
  try:
    return flags.FLAGS(argv)
  except flags.Error as e:
    sys.stderr.write(f"FATAL Flags parsing error: {e}\nPass --helpshort or --helpfull to see "
                     "help on flags.\n")
    sys.exit(1)
  except (AttributeError, KeyError) as e:
    _unknown_field(e)


def _fail(error) -> None:
  """A bad config value, a bad data file or a missing extra: one line, exit 2 (the usage text
  is for flag syntax only)."""
  sys.stderr.write(f"FATAL: {error}\n")
  sys.exit(2)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  logging.set_verbosity(logging.WARNING)
  config = _CONFIG.value
  if _TASK.present and config.task != _TASK.value:
    raise app.UsageError(f"--task={_TASK.value} and --config (task {config.task!r}) disagree.")
  try:
    configs.validate(config)
  except ValueError as e:
    _fail(e)
  # One CPU device per core (unless the user chose), before jax starts: the
  # training step splits the batch over all local devices.
  from rnn_jax.parallel import set_cpu_devices_if_unset
  set_cpu_devices_if_unset()
  task = importlib.import_module(f"experiments.{config.task}")  # heavy imports after flags
  try:
    report = task.train_and_evaluate(config, _WORKDIR.value)
  except (ValueError, FileNotFoundError, ImportError) as e:  # bad data or a missing extra
    _fail(e)
  if report["interrupted"]:
    print(f"interrupted: checkpoint saved in {_WORKDIR.value}; run again to resume.")
    return
  print(task.result_line(report))


if __name__ == "__main__":
  app.run(main, flags_parser=parse_flags)
