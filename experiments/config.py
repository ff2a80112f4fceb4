"""The frozen config value that flags (CLI) or Python code (notebook) build.

``default_config(task)`` is each task's tuned default (what its module docstring reports);
``Config`` field defaults are the adding problem's. Flags given on the command line replace
single fields of the task's default.
"""
from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Config:
  task: str = "adding"
  cell: str = "lstm"
  hidden_size: int = 64
  num_layers: int = 1
  bidirectional: bool = False
  steps: int = 1500
  batch_size: int = 64
  learning_rate: float = 1e-2
  optimizer: str = "adam"
  schedule: str = "constant"  # or "cosine" (decays to 0 over the run's steps)
  clip_norm: float | None = 1.0
  truncate: int | None = None
  chrono: int | None = None  # LSTM chrono init T_max
  backward: str = "closed_form"  # cells without a closed form fall back to autodiff
  seed: int = 0
  length: int = 100  # T: synthetic sequence length, LM training window, forecast window
  embed_size: int = 64  # token embeddings (language models, NER)
  stateful: bool = False  # charlm: carry the state from one training window to the next
  dropout: float = 0.0  # variational dropout on the recurrent layer's inputs and outputs (LMs)
  eval_every: int = 250
  checkpoint_every: int = 500
  eval_batches: int = 4
  devices: int | None = None  # data-parallel devices for the batch; None: all local devices
  # Bring your own data (None: the task's built-in data set).
  text_file: str | None = None  # charlm: any UTF-8 text
  csv: str | None = None  # sunspots: a CSV file ...
  column: str | None = None  # ... and the numeric column to forecast
  train_ts: str | None = None  # japanese_vowels: any .ts classification pair
  test_ts: str | None = None
  locales: str = "en_US,en_GB,de_DE,fr_FR,es_ES,it_IT"  # dates
  temperature: float = 0.8  # sampling (charlm, names)

  def replace(self, **changes) -> "Config":
    return dataclasses.replace(self, **changes)


# Each task's default: runs on a 2-core CPU in minutes (numbers in the task's docstring).
TASK_DEFAULTS = {
    "adding": {},
    "copy_memory":
        dict(
            cell="exp_rnn",
            hidden_size=190,
            batch_size=128,
            learning_rate=3e-4,
            optimizer="rmsprop",
            steps=1000,
            eval_every=250),
    "mnist":
        dict(
            cell="lstm",
            hidden_size=128,
            batch_size=64,
            learning_rate=2e-3,
            steps=1500,
            length=28,
            eval_every=250),
    "japanese_vowels":
        dict(
            cell="gru",
            hidden_size=64,
            bidirectional=True,
            batch_size=32,
            learning_rate=3e-3,
            steps=600,
            eval_every=100,
            checkpoint_every=300),
    "sunspots":
        dict(
            cell="gru",
            hidden_size=32,
            batch_size=32,
            learning_rate=3e-3,
            steps=1000,
            length=22,
            eval_every=100,
            checkpoint_every=500),
    "charlm":
        dict(
            cell="lstm",
            hidden_size=256,
            batch_size=32,
            learning_rate=4e-3,
            schedule="cosine",
            steps=11000,
            length=100,
            eval_every=1000,
            checkpoint_every=1000),
    "dates":
        dict(
            cell="lstm",
            hidden_size=64,
            batch_size=100,
            learning_rate=2e-2,
            schedule="cosine",
            steps=600,
            eval_every=100,
            checkpoint_every=300,
            devices=1),
    "ner":
        dict(
            cell="lstm",
            hidden_size=64,
            bidirectional=True,
            batch_size=32,
            learning_rate=5e-3,
            steps=600,
            eval_every=100,
            checkpoint_every=300),
    "names":
        dict(
            cell="lstm",
            hidden_size=128,
            embed_size=32,
            batch_size=64,
            learning_rate=5e-3,
            steps=1500,
            eval_every=250,
            dropout=0.3),
}
TASKS = tuple(TASK_DEFAULTS)


def default_config(task: str = "adding", **changes) -> Config:
  """The task's default config with ``changes`` applied."""
  if task not in TASK_DEFAULTS:
    raise ValueError(f"task must be one of {list(TASKS)}, got {task!r}.")
  return Config(task=task, **{**TASK_DEFAULTS[task], **changes})
