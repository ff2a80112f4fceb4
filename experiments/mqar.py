"""Multi-query associative recall: ``python -m experiments.main --task=mqar``.

P key–value pairs, then Q of the keys again; each query's answer is its value
(``rnn_jax.data.recall.mqar_batch``; Arora et al. 2023). ``length`` is P.
"""
from __future__ import annotations

import math

from experiments import recall
from rnn_jax.data.recall import mqar_batch


def classes(config) -> int:
  return config.num_keys + config.num_values + 1


def train_and_evaluate(config, workdir: str | None = None, log=print, return_params=False):
  return recall.run_recall(
      config,
      name="mqar",
      classes=classes(config),
      batch=lambda key, size, pairs: mqar_batch(key, size, pairs, min(config.num_queries, pairs),
                                                config.num_keys, config.num_values),
      baseline=math.log(config.num_values),
      eval_lengths={"": config.length},
      workdir=workdir,
      log=log,
      return_params=return_params)


result_line = recall.result_line
