"""The simple answers every model here is measured against, in NumPy (no training).

Forecasting, on windows ``xs [N, w]`` whose last column is y⟨t⟩ (the newest value) and targets
``ys [N, h]`` = y⟨t+1⟩ … y⟨t+h⟩:

  persistence       ŷ⟨t+k⟩ = y⟨t⟩
  seasonal naive    ŷ⟨t+k⟩ = y⟨t+k−p·⌈k/p⌉⟩   (the last value at the same phase of a period p)
  linear AR(q)      ŷ⟨t+k⟩ = b_k + Σ_{j<q} w_{k,j} y⟨t−j⟩, one least-squares fit per k ("direct")
  AR(q) of changes  ŷ⟨t+k⟩ = y⟨t⟩ + b_k + Σ_{j<q} φ_{k,j} (y⟨t−j⟩ − y⟨t−j−1⟩)  (ARIMA(q, 1, 0)
                    with drift, fitted directly; kept as the level AR(q + 1) it equals)

``adf_t`` is the augmented Dickey–Fuller t statistic, which says whether a series' level is
anchored (reverts to a mean) or wanders like a random walk.

Text: an interpolated Witten–Bell character n-gram (``witten_bell_bits``), and the mixture
λ·P_rnn + (1 − λ)·P_n-gram of a model with it (``mixture_weight``, ``cross_fitted_mixture``).
Classification: the 1-nearest-neighbour on series resampled to one length, z-normalised within
each series or standardised per channel over the training set, whichever leave-one-out prefers
(``best_nearest_neighbour``).
"""
from __future__ import annotations

import numpy as np


def rmse(a, b) -> float:
  """√(mean((a − b)²)) over every element."""
  return float(np.sqrt(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64))**2)))


def windows(values, start: int, stop: int, window: int, horizon: int):
  """``(xs [N, window], ys [N, horizon], ends [N])``: every window whose ``horizon`` targets all
  lie in ``values[start:stop]`` (its context may reach before ``start``); ``ends[i]`` is the index
  of window i's newest value y⟨t⟩."""
  values = np.asarray(values, np.float64)
  ends = np.arange(max(start, window) - 1, stop - horizon)
  xs = values[ends[:, None] + np.arange(1 - window, 1)[None, :]]
  ys = values[ends[:, None] + np.arange(1, horizon + 1)[None, :]]
  return xs, ys, ends


def persistence(xs, horizon: int) -> np.ndarray:
  """``[N, horizon]``: y⟨t⟩ for every k."""
  xs = np.asarray(xs, np.float64)
  return np.repeat(xs[:, -1:], horizon, axis=1)


def seasonal_naive(xs, horizon: int, period: int) -> np.ndarray:
  """``[N, horizon]``: y⟨t+k−p·⌈k/p⌉⟩, read from the window (which must hold ≥ p values)."""
  xs = np.asarray(xs, np.float64)
  if period < 1 or period > xs.shape[1]:
    raise ValueError(f"period must be in [1, window={xs.shape[1]}], got {period}.")
  k = np.arange(1, horizon + 1)
  return xs[:, xs.shape[1] - 1 + k - period * np.ceil(k / period).astype(int)]


def ar_design(xs, order: int) -> np.ndarray:
  """``[N, 1 + order]``: a column of ones, then y⟨t⟩, y⟨t−1⟩, …, y⟨t−order+1⟩."""
  xs = np.asarray(xs, np.float64)
  if not 1 <= order <= xs.shape[1]:
    raise ValueError(f"order must be in [1, window={xs.shape[1]}], got {order}.")
  return np.concatenate([np.ones((len(xs), 1)), xs[:, ::-1][:, :order]], axis=1)


def fit_ar(xs, ys, order: int) -> np.ndarray:
  """``[1 + order, h]``: the least-squares coefficients (b_k; w_{k,0..q−1}) of a linear AR on the
  windows, every horizon step k fitted directly (``numpy.linalg.lstsq``; the minimum-norm
  solution when the design is rank-deficient, e.g. a constant series)."""
  ys = np.asarray(ys, np.float64)
  coef, *_ = np.linalg.lstsq(ar_design(xs, order), ys.reshape(len(ys), -1), rcond=None)
  return coef


def ar_forecast(coef, xs) -> np.ndarray:
  """``[N, h]``: the AR forecasts of ``fit_ar``'s coefficients."""
  return ar_design(xs, coef.shape[0] - 1) @ coef


def fit_ar_changes(xs, ys, order: int) -> np.ndarray:
  """``[2 + order, h]``: a least-squares AR(``order``) on the changes Δy⟨t−j⟩ = y⟨t−j⟩ − y⟨t−j−1⟩
  with targets y⟨t+k⟩ − y⟨t⟩ (each k fitted directly), written as the level AR(order + 1) it
  equals, so ``ar_forecast`` reads it: with (c_k; φ_{k,0..q−1}) the fit, the level weights are
  1 + φ_0 on y⟨t⟩, φ_j − φ_{j−1} on y⟨t−j⟩ and −φ_{q−1} on y⟨t−q⟩. ``xs`` needs order + 1
  values."""
  xs = np.asarray(xs, np.float64)
  if not 1 <= order < xs.shape[1]:
    raise ValueError(f"order must be in [1, window - 1={xs.shape[1] - 1}], got {order}.")
  changes = np.diff(xs[:, -(order + 1):], axis=1)
  targets = (np.asarray(ys, np.float64).reshape(len(xs), -1) - xs[:, -1:])
  phi, *_ = np.linalg.lstsq(ar_design(changes, order), targets, rcond=None)
  coef = np.zeros((order + 2, phi.shape[1]))
  coef[0] = phi[0]
  coef[1] = 1 + phi[1]
  coef[2:order + 1] = phi[2:] - phi[1:order]
  coef[order + 1] = -phi[order]
  return coef


def adf_t(values, lags: int | None = None) -> float:
  """The augmented Dickey–Fuller t statistic of b in the least-squares regression
  Δy⟨t⟩ = a + b·y⟨t−1⟩ + Σ_{i=1..k} c_i Δy⟨t−i⟩ (k = ``lags``, default ⌊(n − 1)^⅓⌋, the
  Said–Dickey rate). Below about −2.86 (MacKinnon's 5% point for a regression with a constant)
  a unit root is rejected: the level reverts to a mean."""
  y = np.asarray(values, np.float64)
  dy = np.diff(y)
  k = int(np.floor((len(y) - 1)**(1 / 3))) if lags is None else lags
  n = len(dy) - k
  if n < k + 5:
    raise ValueError(f"adf_t needs more than {2 * k + 6} values for {k} lags, got {len(y)}.")
  design = np.column_stack([np.ones(n), y[k:-1]] + [dy[k - i:len(dy) - i] for i in range(1, k + 1)])
  target = dy[k:]
  coef, *_ = np.linalg.lstsq(design, target, rcond=None)
  resid = target - design @ coef
  sigma2 = resid @ resid / (n - design.shape[1])
  cov = sigma2 * np.linalg.pinv(design.T @ design)
  return float(coef[1] / np.sqrt(cov[1, 1])) if cov[1, 1] > 0 else 0.0


def ar_orders(window: int, periods=(), train_windows: int | None = None) -> list[int]:
  """Candidate AR orders: 1, 2, 3, 4, 6, 8, 12, 16, 24, … up to ``window``, plus each period p and
  p + 1 (a seasonal lag and the step after it), keeping ≥ 4 windows per coefficient."""
  top = window if train_windows is None else min(window, max(1, train_windows // 4 - 1))
  grid = {1, 2, 3, 4} | {int(round(2**(e / 2))) for e in range(4, 40)}
  grid |= {q for p in periods for q in (p, p + 1)}
  return sorted(q for q in grid if 1 <= q <= top)


def witten_bell_probs(symbols, split: int, order: int, vocab_size: int) -> np.ndarray:
  """``[len(symbols) − split]``: the probability of each symbol of ``symbols[split:]`` under an
  interpolated Witten–Bell n-gram of ``order`` (n; contexts of n − 1 symbols) counted on
  ``symbols[:split]``.

  With C(h, c) the training count of symbol c after context h, C(h) = Σ_c C(h, c) and T(h) the
  number of distinct symbols seen after h:
    P(c | h) = (C(h, c) + T(h) · P(c | h⁻)) / (C(h) + T(h)),  h⁻ = h without its oldest symbol,
  P(c | h) = P(c | h⁻) for a context never seen, and the order-1 model (empty context)
  interpolates with the uniform 1 / ``vocab_size``. Held-out symbols read their context across
  the split (the text goes on), the first symbols of the text a shorter one.
  """
  s = np.asarray(symbols, np.int64)
  if s.ndim != 1 or not 0 < split < len(s):
    raise ValueError(f"split must be in (0, {len(s)}) of a 1-D symbol array, got {split}.")
  if s.min() < 0 or s.max() >= vocab_size:
    raise ValueError(f"symbols must be in [0, vocab_size={vocab_size}).")
  if order < 1:
    raise ValueError(f"order must be >= 1, got {order}.")
  n, v = len(s), vocab_size
  train = np.arange(n) < split
  p = np.full(n, 1.0 / v)
  ctx = np.zeros(n, np.int64)  # id of the context of length k before each position
  for k in range(order):
    if k:
      prev = np.concatenate([np.full(k, v), s[:-k]])  # v: "before the text"
      _, ctx = np.unique(ctx * (v + 1) + prev, return_inverse=True)
    _, pair = np.unique(ctx * v + s, return_inverse=True)
    c_hc = np.bincount(pair, weights=train, minlength=pair.max() + 1)
    c_h = np.bincount(ctx, weights=train, minlength=ctx.max() + 1)
    seen_pairs = np.zeros(pair.max() + 1, bool)
    seen_pairs[pair[train]] = True
    first = np.zeros(pair.max() + 1, np.int64)
    first[pair] = ctx
    t_h = np.bincount(first[seen_pairs], minlength=ctx.max() + 1)
    full = np.arange(n) >= k  # positions with a whole context of length k
    ch, th = c_h[ctx], t_h[ctx]
    mixed = (c_hc[pair] + th * p) / np.maximum(ch + th, 1)
    p = np.where(full & (ch > 0), mixed, p)
  return p[split:]


def witten_bell_bits(symbols, split: int, order: int, vocab_size: int) -> float:
  """Bits per symbol of ``symbols[split:]``: −mean log₂ of ``witten_bell_probs``."""
  return float(-np.mean(np.log2(witten_bell_probs(symbols, split, order, vocab_size))))


def mixture_weight(p, q, iterations: int = 200) -> float:
  """λ in [0, 1] that maximises Σ_t log(λ·p_t + (1 − λ)·q_t), where p_t and q_t are the
  probabilities two models give the same observed symbols: expectation–maximisation,
  λ ← mean_t λ·p_t / (λ·p_t + (1 − λ)·q_t) from λ = 1/2 (the objective is concave in λ, so this
  climbs to its maximum; λ = 0 or 1 when one model is better at every mix)."""
  p, q = np.asarray(p, np.float64).ravel(), np.asarray(q, np.float64).ravel()
  if p.shape != q.shape or p.size == 0:
    raise ValueError(f"p and q must be equal-sized, non-empty, got {p.shape} and {q.shape}.")
  lam = 0.5
  for _ in range(iterations):
    mixed = lam * p + (1 - lam) * q
    lam = float(np.mean(lam * p / np.where(mixed > 0, mixed, 1.0)))
  return lam


def mixture_bits(p, q, lam: float) -> float:
  """Bits per symbol of the mixture λ·p + (1 − λ)·q."""
  p, q = np.asarray(p, np.float64).ravel(), np.asarray(q, np.float64).ravel()
  return float(-np.mean(np.log2(lam * p + (1 - lam) * q)))


def cross_fitted_mixture(p, q) -> tuple[float, float]:
  """``(bits, λ)``: the mixture's bits per symbol with its weight never fitted on the symbols it
  scores. The symbols (in text order) are cut into two halves; each half is scored with the λ of
  ``mixture_weight`` fitted on the other; ``λ`` is the weight fitted on all of them."""
  p, q = np.asarray(p, np.float64).ravel(), np.asarray(q, np.float64).ravel()
  if p.shape != q.shape or p.size < 2:
    raise ValueError(f"p and q must be equal-sized with >= 2 symbols, got {p.shape}, {q.shape}.")
  h = p.size // 2
  a, b = slice(0, h), slice(h, None)
  bits = (h * mixture_bits(p[a], q[a], mixture_weight(p[b], q[b])) +
          (p.size - h) * mixture_bits(p[b], q[b], mixture_weight(p[a], q[a]))) / p.size
  return bits, mixture_weight(p, q)


def best_witten_bell(symbols,
                     split: int,
                     vocab_size: int,
                     orders=range(2, 8),
                     dev_fraction: float = 0.1) -> tuple[int, float]:
  """``(order, bits)``: the order of ``orders`` with the fewest bits on the last
  ``dev_fraction`` of the training part (counted on the rest of it), then the held-out bits of
  that order counted on the whole training part."""
  dev = int(round(split * (1 - dev_fraction)))
  scores = {o: witten_bell_bits(symbols[:split], dev, o, vocab_size) for o in orders}
  order = min(scores, key=scores.get)
  return order, witten_bell_bits(symbols, split, order, vocab_size)


def _resampled(series, length: int) -> np.ndarray:
  """One series ``[T, D]`` linearly resampled to ``length`` steps."""
  x = np.asarray(series, np.float64)
  if len(x) == length:
    return x
  old = np.linspace(0.0, 1.0, len(x)) if len(x) > 1 else np.zeros(1)
  new = np.linspace(0.0, 1.0, length)
  return np.stack([np.interp(new, old, x[:, d]) for d in range(x.shape[1])], 1)


def _zscore(x, axis) -> np.ndarray:
  sd = x.std(axis, keepdims=True)
  return (x - x.mean(axis, keepdims=True)) / np.where(sd > 1e-12, sd, 1.0)


def nn_features(train, test, normalise: str = "series", length: int | None = None):
  """``(a [N, L·D], b [M, L·D])``: series ``[T, D]`` (a list when lengths differ) resampled to
  one ``length`` (default: the longest) and flattened, each channel z-normalised within each
  series (``normalise="series"``, the UCR convention: level and scale removed) or standardised
  with the training set's mean and deviation per channel (``"global"``: levels kept)."""
  if normalise not in ("series", "global"):
    raise ValueError(f"normalise must be 'series' or 'global', got {normalise!r}.")
  train = [np.asarray(x, np.float64).reshape(len(x), -1) for x in train]
  test = [np.asarray(x, np.float64).reshape(len(x), -1) for x in test]
  length = length or max(len(x) for x in train + test)
  a = np.stack([_resampled(x, length) for x in train])
  b = np.stack([_resampled(x, length) for x in test])
  if normalise == "series":
    a, b = _zscore(a, 1), _zscore(b, 1)
  else:
    mu, sd = a.mean((0, 1)), a.std((0, 1))
    sd = np.where(sd > 1e-12, sd, 1.0)
    a, b = (a - mu) / sd, (b - mu) / sd
  return a.reshape(len(a), -1), b.reshape(len(b), -1)


def _squared_distances(b, a):
  return (b**2).sum(1)[:, None] - 2 * b @ a.T + (a**2).sum(1)[None, :]


def nearest_neighbour(train,
                      train_labels,
                      test,
                      normalise: str = "series",
                      length: int | None = None) -> np.ndarray:
  """The label of each test series' nearest training series in Euclidean distance, on the
  features of ``nn_features``. Ties go to the first."""
  a, b = nn_features(train, test, normalise, length)
  return np.asarray(train_labels)[np.argmin(_squared_distances(b, a), axis=1)]


def best_nearest_neighbour(train, train_labels, test) -> tuple[str, np.ndarray, float]:
  """``(normalise, labels, leave-one-out accuracy)``: the 1-NN whose normalisation ("series" or
  "global") has the higher leave-one-out accuracy on the training series (ties: "series"), its
  test labels, and that accuracy (each training series labelled by its nearest other one)."""
  labels = np.asarray(train_labels)
  scores = {}
  for mode in ("series", "global"):
    a, _ = nn_features(train, train[:1], mode)
    d = _squared_distances(a, a)
    np.fill_diagonal(d, np.inf)
    scores[mode] = float(np.mean(labels[np.argmin(d, axis=1)] == labels))
  mode = max(scores, key=lambda m: (scores[m], m == "series"))
  return mode, nearest_neighbour(train, labels, test, mode), scores[mode]
