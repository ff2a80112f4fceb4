"""The frozen config value that flags (CLI) or Python code (notebook) build."""
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
  clip_norm: float | None = 1.0
  truncate: int | None = None
  chrono: int | None = None  # LSTM chrono init T_max (copy memory: defaults to 1.5·T)
  backward: str = "closed_form"
  seed: int = 0
  length: int = 100  # sequence length T for synthetic tasks
  eval_every: int = 250
  checkpoint_every: int = 500
  eval_batches: int = 4

  def replace(self, **changes) -> "Config":
    return dataclasses.replace(self, **changes)
