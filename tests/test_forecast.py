"""The forecaster (rnn_jax.models.forecasting, linear_part) and the forecast task: a linear part
chosen over rolling validation cut-offs, a recurrent part kept only when validation shows a
clear gain, every baseline in the report; checked against computations written apart (lstsq by
hand)."""
import jax
import numpy as np
import pytest

import rnn_jax as rj
from experiments import configs, forecast
from rnn_jax.models import forecasting as fc
from rnn_jax.models import linear_part as lp

QUIET = lambda *a: None


@pytest.mark.parametrize("n", [24, 25, 36, 37])
def test_short_series_get_windows_that_fit(n):
  values = np.sin(np.arange(n) / 2.0)
  p = forecast.plan(n, values, configs.get("forecast"))
  assert p["fit"] - p["window"] - p["horizon"] + 1 >= 1 and p["window"] >= 2
  assert p["test"] + p["val"] + p["fit"] == n


def test_forecaster_at_init_is_its_linear_part_exactly():
  rng = np.random.default_rng(0)
  values = np.cumsum(rng.normal(size=120)) + 5 * np.sin(np.arange(120) / 2)
  xs, ys, _ = rj.baselines.windows(values, 0, 120, 12, 3)
  parts = [
      lp.LinearPart("persistence"),
      lp.LinearPart("seasonal_naive", 6),
      lp.LinearPart("ar", coef=rj.baselines.fit_ar(xs, ys, 5))
  ]
  for part in parts:
    model = fc.forecaster(
        rj.gru(), 8, linear=part, window=10, horizon=3, level=(1.0, 2.0), spread=0.5)
    params = model.init(jax.random.PRNGKey(1))
    np.testing.assert_array_equal(model.forecast(params, xs), lp.linear_forecast(part, xs, 3))
    np.testing.assert_array_equal(model.residual(params, xs), 0)


def test_rolling_origin_equals_blocks_refitted_by_hand():
  rng = np.random.default_rng(2)
  values = np.cumsum(rng.normal(size=90)) + 3 * np.sin(np.arange(90))
  scores = lp.rmse_of(lp.rolling_origin(values, 90, 40, 1, periods=(4,), folds=4))
  errors = {"persistence": [], "seasonal_naive_4": [], "ar_2": []}
  for a, b in [(50, 60), (60, 70), (70, 80), (80, 90)]:
    rows = [[1.0, values[t], values[t - 1]] for t in range(1, a - 1)]
    coef, *_ = np.linalg.lstsq(np.array(rows), values[2:a], rcond=None)
    for t in range(a - 1, b - 1):  # forecasts of values[t + 1], targets in [a, b)
      errors["persistence"].append(values[t] - values[t + 1])
      errors["seasonal_naive_4"].append(values[t - 3] - values[t + 1])
      errors["ar_2"].append(coef @ [1.0, values[t], values[t - 1]] - values[t + 1])
  for name, e in errors.items():
    assert scores[name] == pytest.approx(np.sqrt(np.mean(np.square(e))), rel=1e-9)
  # by block, and each block scaled by persistence's mean squared error there
  blocks = lp.rolling_origin(values, 90, 40, 1, periods=(4,), folds=4, by_block=True)
  scaled = lp.scaled_by_persistence(blocks)
  for name, e in errors.items():
    squares = np.square(e).reshape(4, 10)
    np.testing.assert_allclose(np.stack(blocks[name]), squares, rtol=1e-9)
    by_hand = squares / np.square(errors["persistence"]).reshape(4, 10).mean(1, keepdims=True)
    np.testing.assert_allclose(scaled[name], by_hand.ravel(), rtol=1e-9)
  # a block persistence forecasts exactly (a flat stretch) is left as it is
  flat = lp.scaled_by_persistence({
      "persistence": [np.zeros(2), np.full(2, 4.0)],
      "ar_1": [np.ones(2), np.full(2, 2.0)]
  })
  np.testing.assert_array_equal(flat["ar_1"], [1.0, 1.0, 0.5, 0.5])


@pytest.mark.parametrize("n", [61, 200])
def test_the_linear_part_is_chosen_on_the_later_half_before_the_test_tail(n):
  """Persistence needs no fit, so its rolling-origin RMSE is a plain mean over the targets
  scored: the later half of everything before the test tail (an odd count for n = 61)."""
  rng = np.random.default_rng(n)
  values = np.cumsum(rng.normal(size=n)) + 2 * np.sin(np.arange(n))
  p = forecast.plan(n, values, configs.get("forecast"))
  _, _, scores = lp.linear_parts(values, p)
  stop = p["fit"] + p["val"]
  targets = range(stop - stop // 2, stop)
  expected = np.sqrt(np.mean([(values[t - 1] - values[t])**2 for t in targets]))
  assert scores["persistence"] == pytest.approx(expected, rel=1e-12)


def test_persistence_margin_keeps_persistence_unless_beaten_by_k_standard_errors():
  rng = np.random.default_rng(2)
  base = rng.normal(size=80)**2
  noise = rng.normal(size=80)
  errors = {"persistence": base + 0.3, "ar_4": base + 0.3 - 0.05 + 0.5 * noise}
  d = errors["ar_4"] - errors["persistence"]
  se = d.std(ddof=1) / np.sqrt(80)  # the standard error of the mean paired difference
  gap = -d.mean()  # how much lower the AR's mean is
  assert 0 < gap < 2 * se  # the premise: lower, but within two standard errors
  k_in, k_out = gap / se * 0.5, gap / se * 1.5  # margins it clears and does not
  assert lp.choose_linear_part(errors) == "ar_4"  # no margin: the lowest mean wins
  assert lp.choose_linear_part(errors, persistence_margin=k_in) == "ar_4"
  assert lp.choose_linear_part(errors, persistence_margin=k_out) == "persistence"
  # a clear win keeps the AR at the same margin; seasonal naive is held to it too
  errors["ar_4"] = base + 0.3 - 1.0 + 0.05 * noise
  assert lp.choose_linear_part(errors, persistence_margin=k_out) == "ar_4"
  errors = {"persistence": base + 0.3, "seasonal_naive_7": base + 0.3 - 0.05 + 0.5 * noise}
  assert lp.choose_linear_part(errors, persistence_margin=k_out) == "persistence"


def test_one_standard_error_rule_takes_the_simplest_part_validation_cannot_tell_apart():
  rng = np.random.default_rng(1)
  base = rng.normal(size=50)**2
  # ar_8 is best by a hair; ar_2 is within one standard error of it, persistence is not
  errors = {
      "persistence": base + 1.0,
      "ar_2": base + 0.01 + 0.2 * (-1.0)**np.arange(50),  # mean gap 0.01, spread 0.2
      "ar_8": base
  }
  d = errors["ar_2"] - errors["ar_8"]
  assert d.mean() <= d.std(ddof=1) / np.sqrt(50)  # the premise, checked apart
  assert lp.choose_linear_part(errors, "best") == "ar_8"
  assert lp.choose_linear_part(errors) == "ar_2"
  errors["ar_2"] = base + 0.5  # now clearly worse: the best one stays
  assert lp.choose_linear_part(errors) == "ar_8"
  # across families the lowest mean wins, however close: persistence is not preferred
  errors = {"persistence": base + 0.001, "ar_3": base}
  assert lp.choose_linear_part(errors) == "ar_3"
  assert [
      n for n in sorted(["ar_12", "persistence", "ar_3", "seasonal_naive_7"], key=lp.complexity)
  ] == ["persistence", "seasonal_naive_7", "ar_3", "ar_12"]


def test_significantly_better_needs_a_clear_gain_in_both_halves():
  rng = np.random.default_rng(0)
  base = rng.normal(size=(200, 1))
  assert fc.significantly_better(base, 0.5 * base)[0]
  assert not fc.significantly_better(base, base + 0.01 * rng.normal(size=(200, 1)))[0]
  assert not fc.significantly_better(base, 2 * base)[0]
  half = np.concatenate([0.1 * base[:100], 1.2 * base[100:]])  # all of the gain in one half
  assert not fc.significantly_better(base, half)[0]


def _dated_csv(tmp_path, n=300, drop=()):
  rng = np.random.default_rng(4)
  day = np.arange(n)
  values = (20 + 4 * np.sin(2 * np.pi * day / 7) + np.cumsum(rng.normal(0, 0.3, n)) +
            rng.normal(0, 0.5, n))
  rows = [
      f'{v:.4f},"{np.datetime64("2022-01-03") + int(d)}"' for d, v in zip(day, values)
      if d not in drop
  ]
  path = tmp_path / "daily.csv"
  path.write_text("level,date\n" + "\n".join(rows) + "\n")
  return str(path)


def test_forecast_starts_at_the_chosen_linear_part_and_reports_every_baseline(tmp_path):
  csv = _dated_csv(tmp_path, drop=(40,))
  frozen = configs.get(
      "forecast",
      csv=csv,
      missing="interpolate",
      steps=2,
      eval_every=1,
      learning_rate=1e-9,
      hidden_size=4)
  report = forecast.train_and_evaluate(frozen, None, log=QUIET)
  assert (report["interval"], report["time_column"], report["times_added"]) == ("daily", "date", 1)
  assert report["period"] == 7 and 7 in report["periods"]
  name = report["linear_name"]
  assert name in report["linear_rolling_origin"]
  # validation of the chosen part, recomputed apart: refit by hand, windows by hand
  values = forecast.load(frozen)["values"]
  fit, val = report["fit"], report["val"]
  if name.startswith("ar_"):
    q = int(name[3:])
    rows = np.array([[1.0] + [values[t - j] for j in range(q)] for t in range(q - 1, fit - 1)])
    coef, *_ = np.linalg.lstsq(rows, values[q:fit], rcond=None)
    predict = lambda t: coef @ np.r_[1.0, values[t - np.arange(q)]]
  elif name.startswith("dar_"):  # an AR of the changes: y⟨t⟩ + c + Σ φ_j Δy⟨t−j⟩
    q = int(name[4:])
    change = lambda t: values[t - np.arange(q)] - values[t - 1 - np.arange(q)]
    rows = np.array([np.r_[1.0, change(t)] for t in range(q, fit - 1)])
    coef, *_ = np.linalg.lstsq(rows, values[q + 1:fit] - values[q:fit - 1], rcond=None)
    predict = lambda t: values[t] + coef @ np.r_[1.0, change(t)]
  else:
    lag = {"persistence": 1}.get(name, 7)
    predict = lambda t: values[t + 1 - lag]
  errors = [predict(t) - values[t + 1] for t in range(fit - 1, fit + val - 1)]
  assert report["linear_val_rmse"] == pytest.approx(np.sqrt(np.mean(np.square(errors))), rel=1e-9)
  assert report["history"][0]["eval_val_rmse"] == pytest.approx(report["linear_val_rmse"], rel=1e-6)
  # no real training: the recurrent part is not kept and the forecast IS the linear part
  assert not report["recurrent_kept"] and report["test_rmse"] == report["linear_test_rmse"]
  assert {"persistence", "seasonal_naive", "linear_ar"} <= set(report["baselines"])
  line = forecast.result_line(report)
  assert "seasonal naive" in line and "(period 7)" in line and "linear AR(" in line
  assert "daily data" in line and "GRU not kept" in line


@pytest.mark.slow  # end-to-end (a task run, training to a result, or a subprocess)
def test_forecast_horizon_and_training_keep_the_baselines_beside_the_model(tmp_path):
  csv = _dated_csv(tmp_path, n=200)
  config = configs.get("forecast", csv=csv, steps=40, eval_every=10, hidden_size=8, horizon=3)
  report = forecast.train_and_evaluate(config, str(tmp_path / "run"), log=QUIET)
  assert report["horizon"] == 3 and (tmp_path / "run" / "forecast.png").exists()
  assert report["best_step"] in (0, report["params_step"])
  if not report["recurrent_kept"]:
    assert report["test_rmse"] == report["linear_test_rmse"]
  assert "final held-out RMSE" in forecast.result_line(report)


def test_ar_parts_read_only_the_latest_windows_of_a_long_series(monkeypatch):
  monkeypatch.setattr(lp, "MAX_FIT_WINDOWS", 50)
  rng = np.random.default_rng(5)
  values = np.cumsum(rng.normal(size=301))
  part = lp.fit_ar_part(values, 290, 3, 2)  # 286 windows end at 2..287; the latest 50: 238..287
  rows = np.array([[1.0, values[e], values[e - 1], values[e - 2]] for e in range(238, 288)])
  targets = np.array([[values[e + 1], values[e + 2]] for e in range(238, 288)])
  coef, *_ = np.linalg.lstsq(rows, targets, rcond=None)
  np.testing.assert_allclose(part.coef, coef, rtol=1e-10, atol=1e-12)


def test_ar_orders_stop_at_the_cap_whatever_the_period(monkeypatch):
  monkeypatch.setattr(lp, "MAX_AR_ORDER", 20)
  values = np.sin(np.arange(600) * 2 * np.pi / 24) + np.random.default_rng(0).normal(size=600)
  p = forecast.plan(600, values, configs.get("forecast"), periods=[24])
  _, parts, _ = lp.linear_parts(values, p)
  orders = [part.order for part in parts.values() if part.kind == "ar"]
  assert 24 in p["periods"] and max(orders) == 16  # 2·24 + 1 = 49 without the cap


def test_log_ar_part_is_least_squares_on_log_windows_and_forecasts_exp():
  # Given a positive series and a log level AR(3) fitted on its first 80 values, horizon 2
  rng = np.random.default_rng(5)
  values = np.exp(0.01 * np.arange(120) + 0.1 * rng.normal(size=120).cumsum() * 0.3)
  part = lp.fit_ar_part(values, 80, 3, 2, log=True)
  # When the same fit is written out: rows [1, log y⟨t−2⟩, log y⟨t−1⟩, log y⟨t⟩] → log y⟨t+1,2⟩
  logs = np.log(values[:80])
  ends = np.arange(2, 78)
  design = np.column_stack([np.ones(len(ends))] + [logs[ends - j] for j in (2, 1, 0)])
  targets = np.column_stack([logs[ends + 1], logs[ends + 2]])
  coef = np.linalg.lstsq(design, targets, rcond=None)[0]
  # Then its forecasts are exp of that regression's, on windows after the fit
  xs = np.stack([values[t - 2:t + 1] for t in range(85, 95)])
  want = np.exp(np.column_stack([np.ones(10), np.log(xs)]) @ coef)
  np.testing.assert_allclose(lp.linear_forecast(part, xs, 2), want, rtol=1e-9)
  assert part.label == "linear AR(3) of log values"


def test_log_twins_only_where_every_value_before_the_test_is_positive():
  from rnn_jax.models.ar_families import ar_families
  p = {"fit": 150, "val": 50, "period": 0}
  growth = np.exp(0.02 * np.arange(260) + np.random.default_rng(0).normal(0, 0.05, 260).cumsum())
  scored, allowed = ar_families(growth, p, logs=True)
  assert "ldar" in allowed and "ldar" in scored and "ar" in scored
  assert ar_families(growth, p, logs=False) == (("ar", "dar"), ("dar",))
  with_zero = growth.copy()
  with_zero[170] = 0.0  # in the validation tail
  assert not any(f.startswith("l") for f in ar_families(with_zero, p, logs=True)[1])
  with_zero_in_test = growth.copy()
  with_zero_in_test[230] = 0.0  # after the validation tail: the test does not decide
  assert "ldar" in ar_families(with_zero_in_test, p, logs=True)[1]


def test_log_twin_is_chosen_for_a_series_that_grows_by_a_factor():
  # Given 40 years of monthly growth at 1% a month with multiplicative noise (a 120-fold rise)
  rng = np.random.default_rng(2)
  n = 480
  log_y = np.log(10.0) + 0.01 * np.arange(n) + np.convolve(rng.normal(0, 0.03, n), [1, 0.6])[:n]
  values = np.exp(log_y)
  p = {"fit": 360, "val": 60, "horizon": 1, "periods": [], "period": 0}
  # When the linear part is chosen with and without the log twins
  with_logs, parts, _ = lp.linear_parts(values, p, logs=True)
  without, parts_raw, _ = lp.linear_parts(values, p, logs=False)

  def test_rmse(part):
    part = lp.refit(part, values, 420, 1)
    xs, ys, _ = rj.baselines.windows(values, 420, n, part.context, 1)
    return np.sqrt(np.mean((lp.linear_forecast(part, xs, 1) - ys)**2))

  # Then a log family is chosen, and on the 60 held-out months it beats the raw choice
  assert with_logs.startswith("l")
  assert test_rmse(parts[with_logs]) < test_rmse(parts_raw[without])
