"""The forecaster's linear part: the simple answers it starts from, fitted in closed form, and the
rule that chooses one of them on validation.

  persistence       ŷ⟨t+k⟩ = y⟨t⟩
  seasonal naive    ŷ⟨t+k⟩ = y⟨t+k−p·⌈k/p⌉⟩
  linear AR(q)      ŷ⟨t+k⟩ = b_k + Σ_{j<q} w_{k,j} y⟨t−j⟩                (level)
  AR(q) of changes  ŷ⟨t+k⟩ = y⟨t⟩ + c_k + Σ_{j<q} φ_{k,j} Δy⟨t−j⟩       (where the level wanders)
  either, of logs   ŷ⟨t+k⟩ = exp(the same AR of log y)                  (where y > 0: growth)

(``rnn_jax.baselines`` fits them.) ``linear_parts`` scores every candidate at rolling validation
cut-offs (``rolling_origin``), each block's errors scaled by persistence's there
(``scaled_by_persistence``), takes the AR order by the one-standard-error rule
(``choose_linear_part``) and the AR family by a unit-root test (``ar_families``, in
``rnn_jax.models.ar_families``).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnn_jax import baselines
from rnn_jax.models.ar_families import FAMILIES, ar_families, safe_log


class LinearPart(NamedTuple):
  """``kind`` "persistence", "seasonal_naive" (``period`` p) or "ar" (``coef [1 + q, h]``, a
  level AR; with ``changes`` an AR(q − 1) of the changes in its level form:
  ``baselines.fit_ar_changes``; with ``log`` the AR reads and forecasts log y, and ŷ = exp)."""
  kind: str
  period: int = 0
  coef: np.ndarray | None = None
  changes: bool = False
  log: bool = False

  @property
  def context(self) -> int:
    """How many past values it reads."""
    return {"persistence": 1, "seasonal_naive": self.period}.get(self.kind, self.order)

  @property
  def order(self) -> int:
    return 0 if self.coef is None else self.coef.shape[0] - 1

  @property
  def label(self) -> str:
    return {
        "persistence": "persistence",
        "seasonal_naive": f"seasonal naive (period {self.period})"
    }.get(
        self.kind,
        (f"linear AR({self.order - 1}) of changes" if self.changes else f"linear AR({self.order})")
        + (" of log values" if self.log else ""))


def linear_forecast(part: LinearPart, xs, horizon: int) -> np.ndarray:
  """``[N, horizon]`` forecasts of the linear part from windows ``xs [N, C]`` (float64)."""
  if part.kind == "persistence":
    return baselines.persistence(xs, horizon)
  if part.kind == "seasonal_naive":
    return baselines.seasonal_naive(xs, horizon, part.period)
  if part.log:
    return np.exp(baselines.ar_forecast(part.coef, safe_log(xs)))
  return baselines.ar_forecast(part.coef, xs)


# Fits read at most this many of the latest windows: a least-squares AR costs time in proportion
# to its windows, and past ~30 windows per coefficient (AR(512): 32) older ones change it little.
MAX_FIT_WINDOWS = 16384


def fit_ar_part(values,
                stop: int,
                order: int,
                horizon: int,
                changes: bool = False,
                log: bool = False) -> LinearPart:
  """The least-squares AR(``order``) (of the changes, with ``changes``; of log y, with ``log``)
  on the windows whose targets lie in ``values[:stop]``, the latest ``MAX_FIT_WINDOWS``."""
  start = max(0, stop - horizon + 1 - MAX_FIT_WINDOWS)
  xs, ys, _ = baselines.windows(
      safe_log(values) if log else values, start, stop, order + changes, horizon)
  fit = baselines.fit_ar_changes if changes else baselines.fit_ar
  return LinearPart("ar", coef=fit(xs, ys, order), changes=changes, log=log)


def fit_linear_parts(values,
                     stop: int,
                     horizon: int,
                     periods=(),
                     max_order: int | None = None,
                     orders=None,
                     families=("ar",)) -> dict:
  """``{name: LinearPart}``: "persistence", "seasonal_naive_<p>" for each period p, and for
  each of ``families`` "ar_<q>" (a level AR), "dar_<q>" (an AR of the changes) or their log
  twins "lar_<q>", "ldar_<q>" (``FAMILIES``), the
  least-squares fit of each order of ``orders`` (default ``baselines.ar_orders`` up to
  ``max_order``) with at least 2(q + 1) windows (``fit_ar_part``) on the windows whose targets
  lie in ``values[:stop]``, at most the latest ``MAX_FIT_WINDOWS``."""
  parts = {"persistence": LinearPart("persistence")}
  for p in periods:
    parts[f"seasonal_naive_{p}"] = LinearPart("seasonal_naive", p)
  room = stop - horizon
  if orders is None:
    orders = baselines.ar_orders(min(max_order or room, room), periods, room)
  for family in families:
    changes, log = FAMILIES[family]
    for q in orders:
      if stop - horizon - q - changes + 1 >= 2 * (q + 1):  # ends q + changes − 1 .. stop − h − 1
        parts[f"{family}_{q}"] = fit_ar_part(values, stop, q, horizon, changes, log)
  return parts


def linear_part_errors(parts: dict, values, start: int, stop: int, horizon: int) -> dict:
  """``{name: squared errors [N]}`` of each part on the targets in ``values[start:stop]`` (each
  window's mean over the horizon; the same windows for every part)."""
  context = max(p.context for p in parts.values())
  xs, ys, _ = baselines.windows(values, start, stop, context, horizon)
  return {n: ((linear_forecast(p, xs, horizon) - ys)**2).mean(1) for n, p in parts.items()}


def score_linear_parts(parts: dict, values, start: int, stop: int, horizon: int) -> dict:
  """``{name: RMSE}`` of each part on the targets in ``values[start:stop]``."""
  errors = linear_part_errors(parts, values, start, stop, horizon)
  return {n: float(np.sqrt(e.mean())) for n, e in errors.items()}


def rolling_origin(values,
                   stop: int,
                   span: int,
                   horizon: int,
                   periods=(),
                   folds: int = 4,
                   max_order: int | None = None,
                   families=("ar",),
                   by_block: bool = False) -> dict:
  """``{name: squared errors [N]}`` over ``folds`` consecutive blocks that cover
  ``values[stop − span:stop]``: each block's targets forecast by parts fitted
  (``fit_linear_parts``) on everything before the block, the errors of all blocks concatenated
  (``by_block``: ``{name: [errors of each block]}``). A part that cannot be fitted before the
  first block is left out."""
  edges = np.linspace(stop - span, stop, folds + 1).round().astype(int)
  first = fit_linear_parts(values, edges[0], horizon, periods, max_order, families=families)
  orders = sorted({int(n.rsplit("_", 1)[1]) for n in first if "ar_" in n})
  errors = {n: [] for n in first}
  for a, b in zip(edges[:-1], edges[1:]):
    if b - a < horizon:
      continue
    parts = first if a == edges[0] else fit_linear_parts(
        values, a, horizon, periods, orders=orders, families=families)
    for name, e in linear_part_errors(parts, values, a, b, horizon).items():
      if name in errors:
        errors[name].append(e)
  return errors if by_block else {n: np.concatenate(e) for n, e in errors.items()}


def scaled_by_persistence(blocks: dict) -> dict:
  """``{name: squared errors [N]}`` from ``rolling_origin(..., by_block=True)``, each block's
  divided by persistence's mean squared error in that block (where that is not 0): a quiet
  block then weighs as much as a noisy one, as in a scale-free error such as Hyndman and
  Koehler's MASE, so a regime of large swings early on cannot decide for the calmer one the
  test tail may be in."""
  scales = [float(e.mean()) for e in blocks["persistence"]]
  return {
      n: np.concatenate([e / s if s > 0 else e for e, s in zip(parts, scales)])
      for n, parts in blocks.items()
  }


def rmse_of(errors: dict) -> dict:
  """``{name: RMSE}`` of squared errors."""
  return {n: float(np.sqrt(np.mean(e))) for n, e in errors.items()}


def complexity(name: str) -> tuple:
  """Simplest first: persistence, seasonal naive, then AR by order."""
  kind = 0 if name == "persistence" else 1 if name.startswith("seasonal") else 2
  return kind, int(name.rsplit("_", 1)[1]) if kind else 0


def _se(a, b) -> float:
  """The standard error of the mean paired difference of two parts' squared errors."""
  d = np.asarray(a) - np.asarray(b)
  return d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else 0.0


def choose_linear_part(errors: dict,
                       rule: str = "one_se",
                       log_margin: bool = True,
                       persistence_margin: float = 0.0) -> str:
  """The part to use, from each part's squared errors on the same targets. ``"best"``: the
  lowest mean. ``"one_se"`` (the default): first the AR order by the one-standard-error rule
  (Breiman et al.: the lowest order whose mean is within one standard error of the best
  order's, the standard error that of the mean paired difference; validation cannot tell such
  orders apart, and the lower one carries better), then the lowest mean among persistence,
  seasonal naive and that AR. With ``log_margin``, an AR of log values (``ar_families``' twins)
  is taken only when its mean is below that of the part chosen without logs by more than one
  standard error of their paired difference: the log scale has to earn its place. With
  ``persistence_margin`` k > 0, the part chosen is kept only where its mean is below
  persistence's by more than k standard errors of their paired difference; persistence
  otherwise."""
  mse = {n: float(np.mean(e)) for n, e in errors.items()}
  pick = lambda names: min(names, key=lambda n: (mse[n], complexity(n)))
  if rule == "best":
    return pick(mse)
  if rule != "one_se":
    raise ValueError(f"rule must be 'one_se' or 'best', got {rule!r}.")
  keep = [n for n in errors if "ar_" not in n]
  for family in (f + "_" for f in FAMILIES):
    ars = [n for n in errors if n.startswith(family)]
    if not ars:
      continue
    best = pick(ars)
    for name in sorted(ars, key=complexity):
      if mse[name] <= mse[best] + _se(errors[name], errors[best]):
        keep.append(name)
        break
  plain = [n for n in keep if not FAMILIES.get(n.split("_")[0], (False, False))[1]]
  if log_margin and len(plain) < len(keep):
    raw = pick(plain)
    keep = plain + [
        n for n in keep if n not in plain and mse[n] + _se(errors[n], errors[raw]) < mse[raw]
    ]
  chosen = pick(keep)
  if persistence_margin > 0 and "persistence" in errors and chosen != "persistence":
    margin = persistence_margin * _se(errors[chosen], errors["persistence"])
    if mse[chosen] + margin >= mse["persistence"]:
      return "persistence"
  return chosen


# A least-squares AR(q) on N windows costs ~2Nq² flops per fit and ~20 fits are made: a week of
# 5-minute readings (2,016 steps) asked for q up to 4,033 and took minutes for 52,000 values.
MAX_AR_ORDER = 512


def linear_parts(values,
                 p,
                 span: int | None = None,
                 differences: str = "test",
                 per_block: bool = True,
                 logs: bool = False,
                 log_margin: bool = True,
                 persistence_margin: float = 0.0):
  """``(chosen name, parts fitted on the fit part, rolling-origin RMSE of each)`` for a split
  ``p`` (``fit``, ``val``: the lengths of the fit part and the validation tail after it;
  ``horizon``; ``periods``: candidate periods; ``period``: seasonal naive's): the rolling
  origin covers the later half of the series before the test tail (the validation tail and what
  precedes it), in 4 blocks, or the last ``span`` values before the test tail; the choice is
  ``choose_linear_part``'s one-standard-error rule among persistence, seasonal naive and the AR
  family ``ar_families`` allows, on errors ``scaled_by_persistence`` in each block
  (``per_block=False``: as they are); ``logs``: ``ar_families``', ``log_margin``:
  ``choose_linear_part``'s, as is ``persistence_margin``. The RMSEs returned are
  unscaled. AR orders go up to two periods and one step, at most ``MAX_AR_ORDER``."""
  stop = p["fit"] + p["val"]
  span = span or stop // 2
  periods = sorted(set(p["periods"]))
  max_order = min(MAX_AR_ORDER, max(48, 2 * max(periods, default=0) + 1))
  scored, allowed = ar_families(values, p, differences, logs)
  blocks = rolling_origin(
      values,
      stop,
      span,
      p["horizon"],
      periods,
      max_order=max_order,
      families=scored,
      by_block=True)
  errors = {n: np.concatenate(e) for n, e in blocks.items()}
  chosen_by = scaled_by_persistence(blocks) if per_block else errors
  errors = {  # seasonal naive: the chosen period only
      k: v
      for k, v in errors.items()
      if not k.startswith("seasonal_naive_") or k == f"seasonal_naive_{p['period']}"
  }
  orders = sorted({int(k.rsplit("_", 1)[1]) for k in errors if "ar_" in k})
  parts = fit_linear_parts(values, p["fit"], p["horizon"], periods, orders=orders, families=scored)
  errors = {k: v for k, v in errors.items() if k in parts}
  parts = {k: parts[k] for k in errors}
  eligible = {k: chosen_by[k] for k in errors if "ar_" not in k or k.split("_")[0] in allowed}
  name = choose_linear_part(eligible, log_margin=log_margin, persistence_margin=persistence_margin)
  return name, parts, rmse_of(errors)


def refit(part: LinearPart, values, stop: int, horizon: int) -> LinearPart:
  """An AR part refitted, same order and kind, on the windows whose targets lie in
  ``values[:stop]`` (at most the latest ``MAX_FIT_WINDOWS``)."""
  if part.kind != "ar":
    return part
  return fit_ar_part(values, stop, part.order - part.changes, horizon, part.changes, part.log)
