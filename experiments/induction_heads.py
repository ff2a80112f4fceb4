"""Induction heads: ``python -m experiments.main --task=induction_heads``.

Random tokens with a trigger; at the trigger's second occurrence (the last step) the answer is
the token that followed its first (``rnn_jax.data.recall.induction_batch``). Trained at
``length``, evaluated there and at each of ``eval_factors`` times it.
"""
from __future__ import annotations

import math

from experiments import recall
from rnn_jax.data.recall import induction_batch


def classes(config) -> int:
  return config.vocab + 2


def train_and_evaluate(config, workdir: str | None = None, log=print, return_params=False):
  lengths = {"": config.length}
  lengths.update({f"x{f}_": f * config.length for f in config.eval_factors})
  return recall.run_recall(
      config,
      name="induction_heads",
      classes=classes(config),
      batch=lambda key, size, length: induction_batch(key, size, length, config.vocab),
      baseline=math.log(config.vocab),
      eval_lengths=lengths,
      workdir=workdir,
      log=log,
      return_params=return_params)


result_line = recall.result_line
