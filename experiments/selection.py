"""How long to train and which evaluation to report, chosen from the data rather than fixed
per data set: a training length in epochs (clamped), early stopping on a validation score,
and the best validation row as the result (with the step it came from)."""
from __future__ import annotations

import math


def auto_steps(examples: int, batch_size: int, epochs: int, low: int, high: int) -> int:
  """``epochs`` passes over ``examples`` in batches of ``batch_size``, clamped to
  ``[low, high]`` steps."""
  per_epoch = max(1, math.ceil(examples / batch_size))
  return int(min(high, max(low, epochs * per_epoch)))


def auto_eval_every(steps: int, evaluations: int = 40, least: int = 10) -> int:
  """About ``evaluations`` evaluations over the run, at least ``least`` steps apart."""
  return max(least, steps // evaluations)


def score(row: dict, key: str, mode: str) -> float:
  """A row's value of ``key``, signed so that larger is better."""
  return row[key] if mode == "max" else -row[key]


def best_row(history: list[dict], key: str, mode: str = "min", tie: str | None = None) -> dict:
  """The row with the best ``key`` (``mode`` "min" or "max"); the earliest of equal ones, or
  the one with the smaller ``tie`` value (e.g. validation loss among equal accuracies)."""
  rows = [r for r in history if key in r]
  return max(rows, key=lambda r: (score(r, key, mode), -r[tie] if tie else 0, -r["step"]))


def trailing_mean(history: list[dict], key: str, window: int) -> list[dict]:
  """Copies of the rows that have ``key``, each with ``key + "_mean"``: the mean of ``key`` over
  that row and the ``window − 1`` evaluations before it (fewer at the start). A row's value is
  fixed when it arrives (no later row changes it), so a single lucky evaluation on a small
  validation set does not outrank a stretch of good ones."""
  rows = [r for r in history if key in r]
  values = [r[key] for r in rows]
  return [{
      **r, key + "_mean":
          sum(values[max(0, i - window + 1):i + 1]) / (i + 1 - max(0, i - window + 1))
  } for i, r in enumerate(rows)]


def patience_stop(key: str, mode: str, patience: int):
  """``stop_when(history)``: True once ``patience`` evaluations have passed since the first one
  that reached the best ``key`` (0: never). An evaluation that only equals the best (a
  saturated accuracy, however its loss moves) is no improvement, so patience still runs out."""

  def stop_when(history):
    if patience <= 0 or not history:
      return False
    best = best_row(history, key, mode)  # the earliest of equal scores
    later = [r for r in history if key in r and r["step"] > best["step"]]
    return len(later) >= patience

  return stop_when
