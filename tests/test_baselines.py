"""rnn_jax.baselines against independent computations: Python loops over the series, hand
counts of a tiny text, numpy.linalg.lstsq built row by row, and a loop 1-NN."""
import math
from collections import Counter

import chex
import numpy as np
import pytest

from rnn_jax import baselines as bl


def test_windows_index_the_series_exactly():
  values = np.arange(20.0)**2
  xs, ys, ends = bl.windows(values, 10, 16, window=3, horizon=2)
  np.testing.assert_array_equal(ends, [9, 10, 11, 12, 13])  # targets 10..15 only
  for x, y, e in zip(xs, ys, ends):
    np.testing.assert_array_equal(x, values[e - 2:e + 1])
    np.testing.assert_array_equal(y, values[e + 1:e + 3])


def test_persistence_and_seasonal_naive_equal_a_loop():
  values = np.random.default_rng(0).normal(size=40)
  xs, _, ends = bl.windows(values, 20, 40, window=5, horizon=7)
  naive = bl.seasonal_naive(xs, 7, period=4)
  for row, e in zip(naive, ends):  # k = 1..4: one period back; k = 5..7: two periods back
    want = [values[e + k - 4] if k <= 4 else values[e + k - 8] for k in range(1, 8)]
    np.testing.assert_array_equal(row, want)
  np.testing.assert_array_equal(bl.persistence(xs, 3), np.stack([values[ends]] * 3, 1))
  with pytest.raises(ValueError, match="period must be in"):
    bl.seasonal_naive(xs, 2, period=6)


@pytest.mark.parametrize("order,horizon", [(1, 1), (3, 1), (5, 4)])
def test_ar_equals_lstsq_on_design_rows_built_by_hand(order, horizon):
  rng = np.random.default_rng(order)
  values = np.cumsum(rng.normal(size=83)) + np.sin(np.arange(83))
  xs, ys, _ = bl.windows(values, 0, 83, window=order, horizon=horizon)
  coef = bl.fit_ar(xs, ys, order)
  rows, targets = [], []
  for t in range(order - 1, 83 - horizon):  # t: index of the newest value y<t>
    rows.append([1.0] + [values[t - j] for j in range(order)])
    targets.append([values[t + k] for k in range(1, horizon + 1)])
  want, *_ = np.linalg.lstsq(np.array(rows), np.array(targets), rcond=None)
  np.testing.assert_allclose(coef, want, rtol=1e-10, atol=1e-10)
  np.testing.assert_allclose(bl.ar_forecast(coef, xs), np.array(rows) @ want, atol=1e-9)


def test_ar_orders_include_the_periods_and_respect_the_data():
  orders = bl.ar_orders(200, periods=[24], train_windows=400)
  assert {1, 2, 3, 4, 24, 25} <= set(orders) and max(orders) <= 99
  assert bl.ar_orders(3) == [1, 2, 3]


def _wb_reference(train: str, held: str, order: int, vocab: int) -> float:
  """Interpolated Witten-Bell written from the formula with dict counts, one symbol at a time."""
  counts = [Counter() for _ in range(order)]  # counts[k][(context, c)], contexts of length k
  for i, c in enumerate(train):
    for k in range(min(order, i + 1)):
      counts[k][(train[i - k:i], c)] += 1
  text, bits = train + held, 0.0
  for i in range(len(train), len(text)):
    p = 1.0 / vocab
    for k in range(min(order, i + 1)):
      h = text[i - k:i]
      c_h = sum(n for (hh, _), n in counts[k].items() if hh == h)
      t_h = sum(1 for (hh, _) in counts[k] if hh == h)
      if c_h:
        p = (counts[k][(h, text[i])] + t_h * p) / (c_h + t_h)
    bits -= math.log2(p)
  return bits / len(held)


def test_witten_bell_equals_a_hand_count():
  # "abab" then "a": order 1 gives (2 + 2·½)/(4 + 2) = ½; after "b" (seen once, followed by
  # "a"): (1 + 1·½)/(1 + 1) = ¾. Order 3, context "ab": seen once (followed by "a"): the
  # order-2 context "b" gives ¾, so (1 + 1·¾)/(1 + 1) = 7/8.
  s = np.array([0, 1, 0, 1, 0])
  assert bl.witten_bell_bits(s, 4, 1, 2) == pytest.approx(1.0)
  assert bl.witten_bell_bits(s, 4, 2, 2) == pytest.approx(-math.log2(0.75))
  assert bl.witten_bell_bits(s, 4, 3, 2) == pytest.approx(-math.log2(7 / 8))
  # an unseen symbol: order 1 gives (0 + 2·⅓)/(4 + 2) = 1/9, then after "b": (0 + 1·1/9)/2
  s = np.array([0, 1, 0, 1, 2])
  assert bl.witten_bell_bits(s, 4, 2, 3) == pytest.approx(math.log2(18))


@pytest.mark.parametrize("order", [1, 2, 4])
def test_witten_bell_equals_the_dict_reference_on_random_text(order):
  rng = np.random.default_rng(order)
  text = "".join(rng.choice(list("abcde"), p=[.4, .3, .15, .1, .05], size=300))
  s = np.array(["abcde".index(c) for c in text])
  assert bl.witten_bell_bits(s, 250, order, 6) == pytest.approx(
      _wb_reference(text[:250], text[250:], order, 6), rel=1e-10)


def test_best_witten_bell_picks_the_order_on_the_training_part_only():
  s = np.tile([0, 1, 2, 3, 2, 1], 60)  # a cycle of 6: order >= 3 is exact, order 2 is not
  s[330:] = np.random.default_rng(0).integers(0, 4, 30)  # held-out noise must not matter
  order, bits = bl.best_witten_bell(s, 300, 4, orders=(2, 3, 4))
  dev = {o: bl.witten_bell_bits(s[:300], 270, o, 4) for o in (2, 3, 4)}
  assert order == min(dev, key=dev.get) and dev[2] > 0.5 > dev[3]
  assert bits == bl.witten_bell_bits(s, 300, order, 4)
  with pytest.raises(ValueError, match="split must be in"):
    bl.witten_bell_bits(s, 0, 2, 4)


def _prep(x, length=12, mu=None, sd=None):
  """Each channel resampled to ``length``, then z-scored (within the series, or by mu, sd)."""
  cols = []
  for d in range(x.shape[1]):
    col = np.interp(np.linspace(0, 1, length), np.linspace(0, 1, len(x)), x[:, d])
    cols.append((col - col.mean()) / col.std() if mu is None else (col - mu[d]) / sd[d])
  return np.stack(cols, 1)


def _loop_1nn(train, labels, test, **kw):
  out = []
  for y in test:
    dists = [float(np.sum((_prep(y, **kw) - _prep(x, **kw))**2)) for x in train]
    out.append(labels[int(np.argmin(dists))])
  return np.array(out)


def test_nearest_neighbour_equals_a_loop_with_unequal_lengths():
  rng = np.random.default_rng(3)
  train = [rng.normal(size=(n, 2)) + [5, 0] for n in (9, 12, 12, 7)]
  test = [rng.normal(size=(n, 2)) for n in (10, 12, 5)]
  labels = np.array(["a", "b", "c", "d"])
  np.testing.assert_array_equal(
      bl.nearest_neighbour(train, labels, test), _loop_1nn(train, labels, test))
  # "global": each channel standardised by the resampled training series' mean and deviation
  stacked = np.stack([_prep(x, mu=np.zeros(2), sd=np.ones(2)) for x in train])
  mu, sd = stacked.mean((0, 1)), stacked.std((0, 1))
  np.testing.assert_array_equal(
      bl.nearest_neighbour(train, labels, test, "global"),
      _loop_1nn(train, labels, test, mu=mu, sd=sd))
  # a scaled and shifted copy of a training series is its own nearest neighbour ("series")
  assert bl.nearest_neighbour(train, labels, [3 * train[2] + 5])[0] == "c"


def test_best_nearest_neighbour_keeps_levels_when_they_carry_the_class():
  rng = np.random.default_rng(0)
  # the class is the level only: per-series z-scores erase it, leave-one-out sees that
  make = lambda level, n: [level + 0.1 * rng.normal(size=(15, 1)) for _ in range(n)]
  train, test = make(0.0, 10) + make(3.0, 10), make(0.0, 5) + make(3.0, 5)
  labels = np.array([0] * 10 + [1] * 10)
  mode, guess, _ = bl.best_nearest_neighbour(train, labels, test)
  assert mode == "global" and np.all(guess == [0] * 5 + [1] * 5)
  # the class is the shape only, levels random: the per-series z-score wins
  shape = lambda k: np.sin(np.linspace(0, (k + 1) * np.pi, 20))[:, None]
  make = lambda k, n: [shape(k) * rng.uniform(1, 5) + rng.normal(0, 9) for _ in range(n)]
  train, test = make(0, 10) + make(1, 10), make(0, 5) + make(1, 5)
  mode, guess, _ = bl.best_nearest_neighbour(train, labels, test)
  assert mode == "series" and np.all(guess == [0] * 5 + [1] * 5)


def test_best_nearest_neighbour_leave_one_out_accuracy_equals_a_loop():
  rng = np.random.default_rng(5)
  train = [rng.normal(size=(12, 2)) + (k % 3) for k in range(13)]  # one length: 12
  labels = np.array([k % 3 for k in range(13)])
  labels[[0, 4]] = 2  # some series whose neighbours disagree
  mode, _, loo = bl.best_nearest_neighbour(train, labels, train[:2])
  kw = {} if mode == "series" else dict(
      mu=np.concatenate(train).mean(0), sd=np.concatenate(train).std(0))
  hits = [
      _loop_1nn(train[:i] + train[i + 1:], np.delete(labels, i), [x], **kw)[0] == labels[i]
      for i, x in enumerate(train)
  ]
  assert loo == pytest.approx(np.mean(hits))


def test_witten_bell_probs_are_the_hand_counted_ones():
  s = np.array([0, 1, 0, 1, 0, 1])  # held out "0 1": ¾ after "b", then after "a" (seen twice,
  # always followed by "b"): (2 + 1·½)/(2 + 1) = 5/6 with the order-1 P(b) = (2 + 2·½)/6 = ½
  chex.assert_trees_all_close(bl.witten_bell_probs(s, 4, 2, 2), np.array([0.75, 5 / 6]))


def _best_weight_on_a_grid(p, q, points=20001):
  lams = np.linspace(0.0, 1.0, points)
  ll = np.log(lams[:, None] * p[None] + (1 - lams[:, None]) * q[None]).sum(1)
  return lams[np.argmax(ll)]


@pytest.mark.parametrize("seed, skew", [(0, 0.5), (1, 2.0), (2, 8.0)])
def test_mixture_weight_is_the_maximum_of_the_log_likelihood(seed, skew):
  rng = np.random.default_rng(seed)
  p = rng.uniform(0.01, 1.0, 777)**skew  # skew > 1: p is the worse model
  q = rng.uniform(0.01, 1.0, 777)
  assert bl.mixture_weight(
      p, q, iterations=2000) == pytest.approx(
          _best_weight_on_a_grid(p, q), abs=1e-4)


def test_mixture_weight_reaches_the_ends():
  p, q = np.full(50, 0.9), np.full(50, 0.1)  # p better at every symbol: all weight on p
  assert bl.mixture_weight(p, q, iterations=2000) > 0.99
  assert bl.mixture_weight(q, p, iterations=2000) < 0.01
  with pytest.raises(ValueError, match="equal-sized"):
    bl.mixture_weight(p, q[:3])


def test_cross_fitted_mixture_scores_each_half_with_the_other_halfs_weight():
  rng = np.random.default_rng(3)
  p, q = rng.uniform(0.05, 1, 101), rng.uniform(0.05, 1, 101)**3
  bits, lam = bl.cross_fitted_mixture(p, q)
  lam_a, lam_b = _best_weight_on_a_grid(p[:50], q[:50]), _best_weight_on_a_grid(p[50:], q[50:])
  want = -(np.log2(lam_b * p[:50] +
                   (1 - lam_b) * q[:50]).sum() + np.log2(lam_a * p[50:] +
                                                         (1 - lam_a) * q[50:]).sum()) / 101
  assert bits == pytest.approx(want, abs=1e-4)
  assert lam == pytest.approx(_best_weight_on_a_grid(p, q), abs=1e-4)


def test_ar_of_changes_equals_lstsq_on_the_differences_and_reads_as_a_level_ar():
  rng = np.random.default_rng(3)
  values = np.cumsum(rng.normal(0.2, 1.0, size=80))
  xs, ys, _ = bl.windows(values, 0, 80, 4, 2)  # order 3 needs 4 values
  coef = bl.fit_ar_changes(xs, ys, 3)
  assert coef.shape == (5, 2)
  # by hand: regress y⟨t+k⟩ − y⟨t⟩ on 1, Δy⟨t⟩, Δy⟨t−1⟩, Δy⟨t−2⟩, then integrate
  d = np.diff(xs, axis=1)
  rows = np.column_stack([np.ones(len(xs)), d[:, 2], d[:, 1], d[:, 0]])
  phi, *_ = np.linalg.lstsq(rows, ys - xs[:, -1:], rcond=None)
  np.testing.assert_allclose(bl.ar_forecast(coef, xs), xs[:, -1:] + rows @ phi, atol=1e-9)
  np.testing.assert_allclose(coef[1:].sum(0), 1.0, atol=1e-12)  # the level weights sum to one


def test_dickey_fuller_t_without_lags_equals_the_simple_regression_formula():
  rng = np.random.default_rng(4)
  y = np.cumsum(rng.normal(size=120)) * 0.3 + np.sin(np.arange(120))
  x, dy = y[:-1], np.diff(y)
  b = ((x - x.mean()) * (dy - dy.mean())).sum() / ((x - x.mean())**2).sum()
  a = dy.mean() - b * x.mean()
  s2 = ((dy - a - b * x)**2).sum() / (len(dy) - 2)
  t = b / np.sqrt(s2 / ((x - x.mean())**2).sum())
  assert bl.adf_t(y, lags=0) == pytest.approx(t, rel=1e-9)


def test_dickey_fuller_tells_a_wandering_level_from_an_anchored_one():
  rng = np.random.default_rng(5)
  e = rng.normal(size=400)
  anchored = np.zeros(400)
  for t in range(1, 400):
    anchored[t] = 0.6 * anchored[t - 1] + e[t]
  assert bl.adf_t(anchored) < -2.86 < bl.adf_t(np.cumsum(e))
  with pytest.raises(ValueError, match="adf_t needs more than"):
    bl.adf_t(np.arange(8.0), lags=3)
