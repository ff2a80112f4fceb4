"""Which AR families the forecaster's linear part scores and may choose (``linear_part``).

  "ar"    level ARs              "dar"   ARs of the changes (where the level wanders)
  "lar"   level ARs of log y     "ldar"  ARs of the changes of log y (growth rates)

A name "<family>_<q>" is the family's AR(q).
"""
from __future__ import annotations

import numpy as np

from rnn_jax import baselines

# name prefix -> (changes, log)
FAMILIES = {"ar": (False, False), "dar": (True, False), "lar": (False, True), "ldar": (True, True)}


def safe_log(values) -> np.ndarray:
  """log y, with y ≤ 0 (a log family is only fitted where y > 0) floored at the smallest float."""
  return np.log(np.maximum(np.asarray(values, np.float64), np.finfo(np.float64).tiny))


def ar_families(values, p, differences: str = "test", logs: bool = False) -> tuple[tuple, tuple]:
  """``(families scored, families the choice may take)``. Level ARs ("ar") are always scored
  (the report's linear AR). "test": where the augmented Dickey–Fuller statistic of the fit part
  (its lags cover the seasonal naive period and one step, at least ⌊(n − 1)^⅓⌋) does not
  reject a unit root at 5% (``baselines.adf_t`` > −2.86), the level wanders, and the
  choice takes ARs of the changes ("dar") instead of level ARs, whose pull toward the training
  mean is what fails once a trend leaves the training range. "both" and "never" skip the test.
  ``logs``, where every value before the test tail is > 0: the same choice made on log y adds
  its log twin ("lar" or "ldar"), scored and allowed (a series that grows by a factor)."""
  scored, allowed = _families(values[:p["fit"]], p, differences)
  before_test = np.asarray(values[:p["fit"] + p["val"]], np.float64)
  if logs and before_test.size and np.all(before_test > 0):
    twins = tuple("l" + f for f in _families(np.log(values[:p["fit"]]), p, differences)[1])
    return scored + twins, allowed + twins
  return scored, allowed


def _families(fit, p, differences: str) -> tuple[tuple, tuple]:
  """``ar_families`` on the values ``fit``, without logs."""
  if differences == "never":
    return ("ar",), ("ar",)
  if differences == "both":
    return ("ar", "dar"), ("ar", "dar")
  if differences != "test":
    raise ValueError(f"differences must be 'test', 'both' or 'never', got {differences!r}.")
  lags = max(int(np.floor((len(fit) - 1)**(1 / 3))), (p["period"] or 0) + 1)
  try:
    wanders = baselines.adf_t(fit, lags) > -2.86
  except ValueError:  # too short for the test: keep the level ARs
    wanders = False
  return (("ar", "dar"), ("dar",)) if wanders else (("ar",), ("ar",))
