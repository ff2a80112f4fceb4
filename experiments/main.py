"""Launcher: absl flags -> frozen Config -> train_and_evaluate(config, workdir).

  python -m experiments.main                      # LSTM on the adding problem
  python -m experiments.main --cell=irnn --learning_rate=1e-4 --length=200
"""
from absl import app, flags, logging

from experiments.config import Config

TASKS = ("adding", "copy_memory")  # each a module experiments.<task> with train_and_evaluate
CELLS = ("lstm", "gru", "simplified_gru", "simple_rnn", "irnn")
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
_CLIP = flags.DEFINE_float(
    "clip_norm", _D.clip_norm, "Clip by global norm (0 = off).", lower_bound=0.0)
_TRUNC = flags.DEFINE_integer("truncate", None, "Truncated BPTT length k.", lower_bound=1)
_CHRONO = flags.DEFINE_integer(
    "chrono", None, "LSTM chrono initialisation with this T_max.", lower_bound=3)
_BACKWARD = flags.DEFINE_enum("backward", _D.backward, ["autodiff", "closed_form"],
                              "How gradients are computed.")
_SEED = flags.DEFINE_integer("seed", _D.seed, "Random seed.")
_LENGTH = flags.DEFINE_integer("length", _D.length, "Sequence length T.", lower_bound=2)
_EVAL = flags.DEFINE_integer("eval_every", _D.eval_every, "Evaluate every N steps.", lower_bound=1)
_CKPT = flags.DEFINE_integer(
    "checkpoint_every", _D.checkpoint_every, "Checkpoint every N steps.", lower_bound=1)
_WORKDIR = flags.DEFINE_string(
    "workdir", None, "Checkpoints, metrics.jsonl and report.json go "
    "here; an existing checkpoint is resumed.")

flags.register_validator("learning_rate", lambda v: v > 0, "--learning_rate must be > 0.")


def config_from_flags() -> Config:
  return Config(
      task=_TASK.value,
      cell=_CELL.value,
      hidden_size=_HIDDEN.value,
      num_layers=_LAYERS.value,
      bidirectional=_BIDIR.value,
      steps=_STEPS.value,
      batch_size=_BATCH.value,
      learning_rate=_LR.value,
      optimizer=_OPT.value,
      clip_norm=_CLIP.value or None,
      truncate=_TRUNC.value,
      chrono=_CHRONO.value,
      backward=_BACKWARD.value,
      seed=_SEED.value,
      length=_LENGTH.value,
      eval_every=_EVAL.value,
      checkpoint_every=_CKPT.value)


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
  report = task.train_and_evaluate(config, _WORKDIR.value)
  if report["interrupted"]:
    print(f"interrupted: checkpoint saved in {_WORKDIR.value}; run again to resume.")
    return
  print(task.result_line(report))


if __name__ == "__main__":
  app.run(main)
