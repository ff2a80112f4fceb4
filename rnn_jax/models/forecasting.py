"""A forecaster that starts as the best simple answer: a linear part plus a recurrent part on
what the linear part leaves.

  ŷ⟨t+k⟩ = L_k(y⟨t−C+1..t⟩) + σ_Δ · (w_ya a⟨t⟩ + b_y)_k,   a⟨t⟩ = RNN over the last w values

L is persistence, seasonal naive (period p) or a least-squares linear AR(q) (``rnn_jax.baselines``),
the one with the lowest error over several validation cut-offs (``rolling_origin``), the AR
order taken by the one-standard-error rule (``choose_linear_part``); it is fitted in closed
form, never trained. The readout starts at zero, so at step 0 the forecaster IS L.
The recurrent part reads each window as two features per step, (y − y⟨t⟩)/σ_Δ and
(y − μ)/σ, and is trained on the residual (y⟨t+k⟩ − L_k)/σ_Δ; ``significantly_better`` decides
whether it earned its place on validation.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from rnn_jax import baselines
from rnn_jax.layers import Layer
from rnn_jax.models.many_to_one import many_to_one
from rnn_jax.types import Cell


class LinearPart(NamedTuple):
  """``kind`` "persistence", "seasonal_naive" (``period`` p) or "ar" (``coef [1 + q, h]``)."""
  kind: str
  period: int = 0
  coef: np.ndarray | None = None

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
    }.get(self.kind, f"linear AR({self.order})")


def linear_forecast(part: LinearPart, xs, horizon: int) -> np.ndarray:
  """``[N, horizon]`` forecasts of the linear part from windows ``xs [N, C]`` (float64)."""
  if part.kind == "persistence":
    return baselines.persistence(xs, horizon)
  if part.kind == "seasonal_naive":
    return baselines.seasonal_naive(xs, horizon, part.period)
  return baselines.ar_forecast(part.coef, xs)


def fit_linear_parts(values,
                     stop: int,
                     horizon: int,
                     periods=(),
                     max_order: int | None = None,
                     orders=None) -> dict:
  """``{name: LinearPart}``: "persistence", "seasonal_naive_<p>" for each period p, and
  "ar_<q>", the least-squares AR of each order of ``orders`` (default ``baselines.ar_orders`` up
  to ``max_order``) with at least 2(q + 1) windows, fitted on the windows whose targets lie in
  ``values[:stop]``."""
  parts = {"persistence": LinearPart("persistence")}
  for p in periods:
    parts[f"seasonal_naive_{p}"] = LinearPart("seasonal_naive", p)
  room = stop - horizon
  if orders is None:
    orders = baselines.ar_orders(min(max_order or room, room), periods, room)
  for q in orders:
    xs, ys, _ = baselines.windows(values, 0, stop, q, horizon)
    if len(ys) >= 2 * (q + 1):
      parts[f"ar_{q}"] = LinearPart("ar", coef=baselines.fit_ar(xs, ys, q))
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
                   max_order: int | None = None) -> dict:
  """``{name: squared errors [N]}`` over ``folds`` consecutive blocks that cover
  ``values[stop − span:stop]``: each block's targets forecast by parts fitted
  (``fit_linear_parts``) on everything before the block, the errors of all blocks concatenated.
  A part that cannot be fitted before the first block is left out."""
  edges = np.linspace(stop - span, stop, folds + 1).round().astype(int)
  first = fit_linear_parts(values, edges[0], horizon, periods, max_order)
  orders = [p.order for n, p in first.items() if n.startswith("ar_")]
  errors = {n: [] for n in first}
  for a, b in zip(edges[:-1], edges[1:]):
    if b - a < horizon:
      continue
    parts = first if a == edges[0] else fit_linear_parts(values, a, horizon, periods, orders=orders)
    for name, e in linear_part_errors(parts, values, a, b, horizon).items():
      errors[name].append(e)
  return {n: np.concatenate(e) for n, e in errors.items()}


def rmse_of(errors: dict) -> dict:
  """``{name: RMSE}`` of squared errors."""
  return {n: float(np.sqrt(np.mean(e))) for n, e in errors.items()}


def complexity(name: str) -> tuple:
  """Simplest first: persistence, seasonal naive, then AR by order."""
  kind = 0 if name == "persistence" else 1 if name.startswith("seasonal") else 2
  return kind, int(name.rsplit("_", 1)[1]) if kind else 0


def choose_linear_part(errors: dict, rule: str = "one_se") -> str:
  """The part to use, from each part's squared errors on the same targets. ``"best"``: the
  lowest mean. ``"one_se"`` (the default): first the AR order by the one-standard-error rule
  (Breiman et al.: the lowest order whose mean is within one standard error of the best
  order's, the standard error that of the mean paired difference; validation cannot tell such
  orders apart, and the lower one carries better), then the lowest mean among persistence,
  seasonal naive and that AR."""
  mse = {n: float(np.mean(e)) for n, e in errors.items()}
  pick = lambda names: min(names, key=lambda n: (mse[n], complexity(n)))
  if rule == "best":
    return pick(mse)
  if rule != "one_se":
    raise ValueError(f"rule must be 'one_se' or 'best', got {rule!r}.")
  ars = [n for n in errors if n.startswith("ar_")]
  keep = [n for n in errors if not n.startswith("ar_")]
  if ars:
    best = pick(ars)
    for name in sorted(ars, key=complexity):
      d = np.asarray(errors[name]) - np.asarray(errors[best])
      se = d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else 0.0
      if mse[name] <= mse[best] + se:
        keep.append(name)
        break
  return pick(keep)


def significantly_better(base_errors, model_errors, blocks: int = 10, z: float = 3.0):
  """``(better, t)``: whether the model's squared errors are below the base's by more than
  ``z`` standard errors, the errors ``[N, h]`` taken in ``blocks`` consecutive blocks (their
  means are close to independent even when neighbouring windows overlap) and required to be
  lower in both halves of the tail too. ``t`` = mean gain / its standard error."""
  gain = (np.asarray(base_errors, np.float64)**2 - np.asarray(model_errors, np.float64)**2)
  gain = gain.reshape(len(gain), -1).mean(1)
  m = int(min(blocks, len(gain)))
  if m < 2:
    return False, 0.0
  means = np.array([b.mean() for b in np.array_split(gain, m)])
  se = means.std(ddof=1) / np.sqrt(m)
  t = float(means.mean() / se) if se > 0 else (np.inf if means.mean() > 0 else 0.0)
  halves = [h.mean() > 0 for h in np.array_split(gain, 2)]
  return bool(t > z and all(halves)), t


class Forecaster(NamedTuple):
  """``init(key) -> params``; ``residual(params, xs [N, C]) -> [N, h]`` (float32, series units:
  σ_Δ times the recurrent part); ``forecast(params, xs) -> [N, h]`` (float64: the linear part
  plus the residual); ``features(xs) -> [N, w, 2]`` the recurrent part's input; ``linear``;
  ``targets(xs, ys)`` the residual targets the recurrent part is trained on."""
  init: Callable
  residual: Callable
  forecast: Callable
  features: Callable
  targets: Callable
  apply: Callable  # the recurrent part on features: [N, w, 2] -> [N, h] in σ_Δ units
  linear: LinearPart


def forecaster(encoder: Cell | Layer, hidden_size, *, linear: LinearPart, window: int, horizon: int,
               level: tuple[float, float], spread: float, **unroll_options):
  """A ``Forecaster``: ``linear`` plus an ``encoder`` over the last ``window`` values, scaled
  by ``spread`` (σ_Δ: the standard deviation of one step's change on the training part);
  ``level`` = (μ, σ) of the training part standardizes the level feature."""
  model = many_to_one(encoder, 2, hidden_size, horizon, **unroll_options)
  mu, sigma = level

  def init(key):
    params = model.init(key)
    return {**params, "readout": jax.tree_util.tree_map(jnp.zeros_like, params["readout"])}

  def features(xs):
    xs = np.asarray(xs, np.float64)[:, -window:]
    return np.stack([(xs - xs[:, -1:]) / spread, (xs - mu) / sigma], -1).astype(np.float32)

  def residual(params, xs):
    return spread * model.apply(params, jnp.asarray(features(xs)))

  def forecast(params, xs):
    return linear_forecast(linear, xs, horizon) + np.asarray(residual(params, xs), np.float64)

  def targets(xs, ys):
    return ((np.asarray(ys) - linear_forecast(linear, xs, horizon)) / spread).astype(np.float32)

  return Forecaster(init, residual, forecast, features, targets, model.apply, linear)
