"""Launcher: a config file (ml_collections) -> train_and_evaluate(config, workdir).

  python -m experiments.main                                        # LSTM on the adding problem
  python -m experiments.main --task=copy_memory     # --config=experiments/configs/copy_memory.py
  python -m experiments.main --config=experiments/configs/charlm.py --config.hidden_size=512
  python -m experiments.main --task=charlm --config.text_file=my.txt   # bring your own text
  python -m experiments.main --task=forecast --config.csv=f.csv --config.column=price
  python -m experiments.main --task=classify --config.train_ts=A_TRAIN.ts --config.test_ts=A_TEST.ts

Two hosts (one process each; JAX's distributed runtime, gloo collectives on CPU):

  python -m experiments.main --workdir=/shared/run --coordinator_address=host0:1234 \
      --num_processes=2 --process_id=0        # on host 0; --process_id=1 on host 1
  python -m experiments.main --workdir=/shared/run --distributed=auto   # TPU pod / SLURM / MPI

``--task=NAME`` is an alias for ``--config=experiments/configs/NAME.py``; ``--config.FIELD=VALUE``
replaces one field of that file's config (``--help`` lists the fields and their defaults). Bad
values fail with one line before any training starts; jax and the task load after that.
"""
import importlib
import os
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
_OWN_FLAGS = ("task", "config", "workdir", "restart", "coordinator_address", "num_processes",
              "process_id", "distributed", "heartbeat_timeout")
if __name__ == "__main__":  # before config_flags reads the overrides (it does so at definition)
  _ERROR = configs.override_error(sys.argv, _ARGV_TASK, _OWN_FLAGS)
  if _ERROR:
    sys.stderr.write(f"FATAL Flags parsing error: {_ERROR}\n")
    sys.exit(1)
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
_RESTART = flags.DEFINE_bool(
    "restart", False, "Start over in --workdir: its run (checkpoints, metrics, report, "
    "pictures) is first moved into WORKDIR/previous-<time>/, nothing deleted.")
_COORDINATOR = flags.DEFINE_string(
    "coordinator_address", None, "host:port of process 0: with --num_processes and "
    "--process_id, this process joins a multi-process run (jax.distributed).")
_NUM_PROCESSES = flags.DEFINE_integer("num_processes", None, "Processes in the run.", lower_bound=1)
_PROCESS_ID = flags.DEFINE_integer(
    "process_id", None, "This process's index, 0-based.", lower_bound=0)
_DISTRIBUTED = flags.DEFINE_enum(
    "distributed", "off", ["off", "auto"], "auto: jax.distributed.initialize() detects the "
    "cluster itself (Cloud TPU pods, SLURM, Open MPI).")
_HEARTBEAT = flags.DEFINE_integer(
    "heartbeat_timeout",
    60, "Seconds without a peer's heartbeat after which a multi-process "
    "run stops (non-zero exit) instead of waiting for a dead peer.",
    lower_bound=1)


def print_help(task: str) -> None:
  """--help: this module's usage and the chosen task's config fields with their defaults."""
  task = task if task in configs.TASKS else "adding"
  config = configs.get(task)
  print(__doc__)
  print(f"--task={task} (experiments/configs/{task}.py): --config.FIELD=VALUE, defaults "
        "(None: chosen from the data or off):")
  for name in sorted(config.keys()):
    print(f"  --config.{name}={config[name]!r}")
  print("Other flags: --workdir, --restart, --coordinator_address, --num_processes, "
        "--process_id, --distributed, --heartbeat_timeout (--helpfull: absl's full list).")


def parse_flags(argv):
  """absl's parsing; an unknown --config.FIELD gets one line, as at definition time."""
  if any(a in ("--help", "-h", "--helpshort", "-?") for a in argv[1:]):
    print_help(_ARGV_TASK)
    sys.exit(0)
  try:
    return flags.FLAGS(argv)
  except flags.Error as e:
    sys.stderr.write(f"FATAL Flags parsing error: {e}\nPass --helpshort or --helpfull to see "
                     "help on flags.\n")
    sys.exit(1)
  except (AttributeError, KeyError) as e:
    _unknown_field(e)


_JOINED = []  # non-empty once this process joined a multi-process run


def _fail(error) -> None:
  """A bad config value, a bad data file or a missing extra: one line, exit 2 (the usage text
  is for flag syntax only). In a multi-process run the process ends at once (os._exit): a
  clean shutdown would wait for peers that wait for it; they stop on its missing heartbeat."""
  sys.stderr.write(f"FATAL: {error}\n")
  if _JOINED:
    sys.stderr.flush()
    os._exit(2)
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
  from rnn_jax import parallel
  parallel.set_cpu_devices_if_unset()
  start_distributed()
  if _RESTART.value:
    restart(_WORKDIR.value)
  task = importlib.import_module(f"experiments.{config.task}")  # heavy imports after flags
  try:
    report = task.train_and_evaluate(config, _WORKDIR.value)
  except (ValueError, FileNotFoundError, ImportError) as e:  # bad data or a missing extra
    _fail(e)
  except Exception as e:  # noqa: BLE001 - a dead peer surfaces as a runtime error
    import jax
    if jax.process_count() == 1:
      raise
    sys.stderr.write(f"FATAL: process {jax.process_index()} stops: a peer of this "
                     f"{jax.process_count()}-process run failed ({type(e).__name__}: "
                     f"{str(e)[:200]}). Run the same commands again to resume from the last "
                     "checkpoint.\n")
    sys.stderr.flush()
    os._exit(3)  # no clean shutdown: it would wait for the dead peer
  if report["interrupted"]:
    print(f"interrupted: checkpoint saved in {_WORKDIR.value}; run again to resume.")
    return
  print(task.result_line(report))


def restart(workdir) -> None:
  """--restart: the workdir's run moved aside (by process 0; the others wait for it)."""
  if not workdir:
    raise app.UsageError("--restart needs --workdir.")
  import jax
  from rnn_jax import runs
  if jax.process_index() == 0:
    moved = runs.move_aside(workdir)
    if moved:
      print(f"--restart: the previous run is in {moved}")
  if jax.process_count() > 1:
    from jax.experimental import multihost_utils
    multihost_utils.sync_global_devices("rnn_jax --restart")


def start_distributed() -> None:
  """Joins a multi-process run when the flags ask for one (before any computation)."""
  explicit = [_COORDINATOR.value, _NUM_PROCESSES.value, _PROCESS_ID.value]
  if _DISTRIBUTED.value == "off" and all(v is None for v in explicit):
    return
  if _DISTRIBUTED.value == "auto" and any(v is not None for v in explicit):
    raise app.UsageError("--distributed=auto detects the cluster; leave out "
                         "--coordinator_address/--num_processes/--process_id.")
  from rnn_jax import parallel
  try:
    parallel.initialize(*explicit, heartbeat_timeout_seconds=_HEARTBEAT.value)
    _JOINED.append(True)
  except ValueError as e:
    raise app.UsageError(str(e))
  except Exception as e:  # the runtime's own errors (coordinator unreachable, timeout)
    _fail(f"could not join the multi-process run: {type(e).__name__}: {str(e)[:300]}")


if __name__ == "__main__":
  app.run(main, flags_parser=parse_flags)
