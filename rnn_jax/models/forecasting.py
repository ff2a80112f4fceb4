"""A forecaster that starts as the best simple answer: a linear part plus a recurrent part on
what the linear part leaves.

  ŷ⟨t+k⟩ = L_k(y⟨t−C+1..t⟩) + σ_Δ · (w_ya a⟨t⟩ + b_y)_k,   a⟨t⟩ = RNN over the last w values

L is persistence, seasonal naive (period p) or a least-squares linear AR(q) of the level or of
the changes, the one with the lowest error over several validation cut-offs
(``rnn_jax.models.linear_part``: ``linear_parts``); it is fitted in closed form, never trained.
The readout starts at zero, so at step 0 the forecaster IS L. The recurrent part reads each
window as two features per step, (y − y⟨t⟩)/σ_Δ and (y − μ)/σ, and is trained on the
residual (y⟨t+k⟩ − L_k)/σ_Δ; ``significantly_better`` decides whether it earned its place on
validation.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from rnn_jax.layers import Layer
from rnn_jax.models.linear_part import LinearPart, linear_forecast
from rnn_jax.models.many_to_one import many_to_one
from rnn_jax.types import Cell


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
