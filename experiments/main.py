"""Launcher: absl flags -> frozen Config -> train_and_evaluate(config, workdir).

  python -m experiments.main                                  # LSTM on the adding problem
  python -m experiments.main --task=copy_memory               # expRNN solves copy memory
  python -m experiments.main --task=charlm --text_file=my.txt # bring your own text
  python -m experiments.main --task=sunspots --csv=f.csv --column=price
  python -m experiments.main --task=japanese_vowels --train_ts=A_TRAIN.ts --test_ts=A_TEST.ts

Every task starts from its default (experiments/config.py, TASK_DEFAULTS); a flag given on
the command line replaces that one field. Heavy imports (jax, the task) happen after the
flags are parsed and validated.
"""
import os

from absl import app, flags, logging

from experiments.config import TASKS, Config, default_config

CELLS = ("lstm", "gru", "simplified_gru", "simple_rnn", "irnn", "exp_rnn")
_D = Config()

_TASK = flags.DEFINE_enum("task", _D.task, TASKS, "Which experiment to run.")
_CELL = flags.DEFINE_enum("cell", _D.cell, CELLS, "Recurrent cell.")
_HIDDEN = flags.DEFINE_integer("hidden_size", _D.hidden_size, "Hidden units H.", lower_bound=1)
_LAYERS = flags.DEFINE_integer("num_layers", _D.num_layers, "Stacked layers.", lower_bound=1)
_BIDIR = flags.DEFINE_bool("bidirectional", _D.bidirectional, "Bidirectional encoder.")
_STEPS = flags.DEFINE_integer("steps", _D.steps, "Training steps.", lower_bound=1)
_BATCH = flags.DEFINE_integer("batch_size", _D.batch_size, "Batch size B.", lower_bound=1)
_LR = flags.DEFINE_float("learning_rate", _D.learning_rate, "Learning rate.", lower_bound=0.0)
_OPT = flags.DEFINE_enum("optimizer", _D.optimizer, ["adam", "sgd", "rmsprop", "adamw"],
                         "Optimizer.")
_SCHEDULE = flags.DEFINE_enum("schedule", _D.schedule, ["constant", "cosine"],
                              "Learning-rate schedule (cosine: decays to 0 over --steps).")
_DEVICES = flags.DEFINE_integer(
    "devices",
    None, "Split the batch over this many local devices (default: the task's "
    "choice, else all).",
    lower_bound=1)
_CLIP = flags.DEFINE_float(
    "clip_norm", _D.clip_norm, "Clip by global norm (0 = off).", lower_bound=0.0)
_TRUNC = flags.DEFINE_integer("truncate", None, "Truncated BPTT length k.", lower_bound=1)
_CHRONO = flags.DEFINE_integer(
    "chrono", None, "LSTM chrono initialisation with this T_max.", lower_bound=3)
_BACKWARD = flags.DEFINE_enum("backward", _D.backward, ["autodiff", "closed_form"],
                              "How gradients are computed.")
_SEED = flags.DEFINE_integer("seed", _D.seed, "Random seed.")
_LENGTH = flags.DEFINE_integer(
    "length",
    _D.length, "T: synthetic sequence length, language-model training "
    "window, forecasting window.",
    lower_bound=2)
_EMBED = flags.DEFINE_integer("embed_size", _D.embed_size, "Token embedding size.", lower_bound=1)
_STATEFUL = flags.DEFINE_bool(
    "stateful", _D.stateful, "charlm: B contiguous streams, the state carried from one window "
    "to the next (truncated BPTT across batches).")
_DROPOUT = flags.DEFINE_float(
    "dropout",
    _D.dropout,
    "Variational dropout rate (language models).",
    lower_bound=0.0,
    upper_bound=0.95)
_EVAL = flags.DEFINE_integer("eval_every", _D.eval_every, "Evaluate every N steps.", lower_bound=1)
_CKPT = flags.DEFINE_integer(
    "checkpoint_every", _D.checkpoint_every, "Checkpoint every N steps.", lower_bound=1)
_TEXT = flags.DEFINE_string("text_file", None, "charlm: train on this UTF-8 text file.")
_CSV = flags.DEFINE_string("csv", None, "sunspots: forecast a column of this CSV file.")
_COLUMN = flags.DEFINE_string("column", None, "The CSV column (header name or 0-based index).")
_TRAIN_TS = flags.DEFINE_string("train_ts", None, "japanese_vowels: training .ts file.")
_TEST_TS = flags.DEFINE_string("test_ts", None, "japanese_vowels: test .ts file.")
_LOCALES = flags.DEFINE_list("locales", _D.locales.split(","), "dates: Babel locales.")
_TEMP = flags.DEFINE_float("temperature", _D.temperature, "Sampling temperature.", lower_bound=0.0)
_WORKDIR = flags.DEFINE_string(
    "workdir", None, "Checkpoints, metrics.jsonl and report.json go "
    "here; an existing checkpoint is resumed.")

flags.register_validator("learning_rate", lambda v: v > 0, "--learning_rate must be > 0.")
for _name in ("text_file", "csv", "train_ts", "test_ts"):
  flags.register_validator(_name, lambda v: v is None or os.path.isfile(v),
                           f"--{_name} must name an existing file.")
flags.register_multi_flags_validator(
    ["csv", "column"], lambda f: (f["csv"] is None) == (f["column"] is None),
    "--csv and --column go together: the file and the column to forecast.")
flags.register_multi_flags_validator(
    ["train_ts", "test_ts"], lambda f: (f["train_ts"] is None) == (f["test_ts"] is None),
    "--train_ts and --test_ts go together: a training and a test .ts file.")
_DATA_FLAGS = {"text_file": "charlm", "csv": "sunspots", "train_ts": "japanese_vowels"}
flags.register_multi_flags_validator(
    ["task", *_DATA_FLAGS],
    lambda f: all(f[k] is None or f["task"] == t for k, t in _DATA_FLAGS.items()),
    "--text_file needs --task=charlm, --csv needs --task=sunspots, --train_ts/--test_ts need "
    "--task=japanese_vowels.")

_FIELDS = {
    "cell": _CELL,
    "hidden_size": _HIDDEN,
    "num_layers": _LAYERS,
    "bidirectional": _BIDIR,
    "steps": _STEPS,
    "batch_size": _BATCH,
    "learning_rate": _LR,
    "optimizer": _OPT,
    "schedule": _SCHEDULE,
    "devices": _DEVICES,
    "clip_norm": _CLIP,
    "truncate": _TRUNC,
    "chrono": _CHRONO,
    "backward": _BACKWARD,
    "seed": _SEED,
    "length": _LENGTH,
    "embed_size": _EMBED,
    "dropout": _DROPOUT,
    "stateful": _STATEFUL,
    "eval_every": _EVAL,
    "checkpoint_every": _CKPT,
    "text_file": _TEXT,
    "csv": _CSV,
    "column": _COLUMN,
    "train_ts": _TRAIN_TS,
    "test_ts": _TEST_TS,
    "locales": _LOCALES,
    "temperature": _TEMP,
}


def config_from_flags() -> Config:
  """The task's default config, with every flag given on the command line applied."""
  changes = {}
  for name, holder in _FIELDS.items():
    if holder.present:
      value = holder.value
      if name == "clip_norm":
        value = value or None
      elif name == "locales":
        value = ",".join(value)
      changes[name] = value
  return default_config(_TASK.value, **changes)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  logging.set_verbosity(logging.WARNING)
  # One CPU device per core (unless the user chose), before jax starts: the
  # training step splits the batch over all local devices.
  from rnn_jax.parallel import set_cpu_devices_if_unset
  set_cpu_devices_if_unset()
  config = config_from_flags()
  import importlib
  task = importlib.import_module(f"experiments.{config.task}")  # heavy imports after flags
  try:
    report = task.train_and_evaluate(config, _WORKDIR.value)
  except (ValueError, FileNotFoundError, ImportError) as e:  # bad data or a missing extra
    raise app.UsageError(str(e)) from None
  if report["interrupted"]:
    print(f"interrupted: checkpoint saved in {_WORKDIR.value}; run again to resume.")
    return
  print(task.result_line(report))


if __name__ == "__main__":
  app.run(main)
