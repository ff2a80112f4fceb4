"""Forecasting any series: ``python -m experiments.main --task=forecast`` (alias ``sunspots``).

Default data: the yearly sunspots (extra ``[data]``); any numeric CSV column with
``--config.csv=FILE [--config.column=NAME]``. A date/time column is detected (or named with
``--config.time_column``): rows are sorted by time, times missing from the inferred interval's
grid count as missing values (``--config.missing=error|drop|interpolate``), and the interval
gives the candidate periods (``rnn_jax.data.timestamps``). Everything else adapts to the series:

- Split, time order kept: the last ``test_size`` values held out (default 15%), the
  ``val_fraction`` before them a validation tail; the model is fitted on the rest.
- Periods: the interval's candidates and the autocorrelation rule (``seasonal_period``), each
  kept where the training part holds two of it; seasonal naive uses the one with the lowest
  training RMSE.
- The model (``rnn_jax.models.forecasting``) is a linear part (``rnn_jax.models.linear_part``),
  the best of persistence, seasonal naive and least-squares AR(q) at 4 rolling validation
  cut-offs over the later half of the series before the test (an AR of the changes where a
  unit-root test says the level wanders: ``ar_families``; with ``logs``, where the series is
  > 0, the same ARs of log y, taken only where validation prefers them by more than one
  standard error: ``choose_linear_part``; and persistence kept unless the part chosen beats it
  there by more than ``persistence_margin`` standard errors, 1 by default), plus a GRU on what
  it leaves,
  starting at zero. After training, the GRU is kept only if its best validation step beats the
  linear part by more than three standard errors (``significantly_better``); otherwise the
  forecast is the linear part alone.
  For the test tail an AR part is refitted on the training and validation parts together, with
  the order and kind validation chose.
- Report, console and ``forecast.png``: persistence, seasonal naive (with its period) and the
  linear AR beside the model, on the same held-out values.
"""
from __future__ import annotations

import time

import jax
import numpy as np

from experiments import configs
from experiments.common import make_layer
from experiments.outputs import pyplot, save_figure
from experiments.runner import dataset_batches, Task, run_task
from experiments.selection import auto_eval_every, auto_steps, best_row, patience_stop
from rnn_jax import baselines
from rnn_jax.data.series import load_sunspots, read_csv_series, seasonal_period
from rnn_jax.models import forecasting as fc
from rnn_jax.models import linear_part as lp


def load(config) -> dict:
  """``{"times", "values", "name", "interval", "periods", "time_column", "added", "repeated"}``."""
  if config.csv:
    s = read_csv_series(
        config.csv, config.column, time_column=config.time_column, missing=config.missing)
    return {
        "times": s.times,
        "values": s.values,
        "name": f"{config.csv}:{s.column}",
        "interval": s.interval.name if s.interval else None,
        "periods": s.periods,
        "time_column": s.time_column,
        "added": s.added,
        "repeated": s.repeated,
        "restarts": s.restarts
    }
  years, values = load_sunspots()
  return {
      "times": years.astype(np.float64),
      "values": values,
      "name": "sunspots",
      "interval": "yearly",
      "periods": [],
      "time_column": "YEAR",
      "added": 0,
      "repeated": 0,
      "restarts": 0
  }


def plan(n: int, values, config, periods=()) -> dict:
  """Sizes that fit this series: held-out test, validation tail, fit part, the periods the fit
  part can show, the seasonal naive period and the recurrent part's window."""
  h = config.horizon
  test = config.test_size or max(h, int(round(0.15 * n)))
  val = max(h, int(round(config.val_fraction * (n - test))))
  fit = n - test - val
  if fit - h < 4:
    raise ValueError(f"a series of {n} values is too short for test_size={test}, a validation "
                     f"tail of {val} and horizon={h}; lower them (--config.test_size, "
                     "--config.horizon).")
  acf = seasonal_period(values[:fit])
  found = sorted({p for p in list(periods) + [acf] if p and 2 <= p <= (fit - h) // 2})
  xs, ys, _ = baselines.windows(values, 0, fit, max(found + [1]), h)
  sn = {p: baselines.rmse(baselines.seasonal_naive(xs, h, p), ys) for p in found}
  period = min(sn, key=sn.get) if sn else None
  room = max(2, (fit - h) // 2)
  window = config.length or max(2, min(max(12, 2 * min(found)) if found else 12, 96, room))
  return {
      "test": test,
      "val": val,
      "fit": fit,
      "window": window,
      "period": period,
      "periods": found,
      "horizon": h
  }


def baseline_table(values, p, parts, scores, xs, ys) -> tuple[dict, lp.LinearPart | None]:
  """Test RMSE of persistence, seasonal naive and the best-on-validation AR (refitted on the
  training and validation parts), and that AR part."""
  h, best = p["horizon"], None
  out = {"persistence": baselines.rmse(baselines.persistence(xs, h), ys)}
  if p["period"]:
    out["seasonal_naive"] = baselines.rmse(baselines.seasonal_naive(xs, h, p["period"]), ys)
  ar = [k for k in scores if k.startswith("ar_")]
  if ar:
    best = lp.refit(parts[min(ar, key=scores.get)], values, p["fit"] + p["val"], h)
    out["linear_ar"] = baselines.rmse(lp.linear_forecast(best, xs, h), ys)
    out["ar_order"] = best.order
  return out, best


def train_and_evaluate(config, workdir: str | None = None, log=print, return_params=False):
  started = time.time()
  data = load(config)
  values = data["values"]
  p = plan(len(values), values, config, data["periods"])
  h, fit, val = p["horizon"], p["fit"], p["val"]
  name, parts, scores = lp.linear_parts(
      values, p, logs=config.logs, persistence_margin=config.persistence_margin)
  linear = parts[name]
  base_val = lp.score_linear_parts({name: linear}, values, fit, fit + val, h)[name]
  context = max(p["window"], p["period"] or 1, max(v.context for v in parts.values()))
  fit_part = values[:fit]
  model_args = dict(
      window=p["window"],
      horizon=h,
      level=(fit_part.mean(), fit_part.std() + 1e-12),
      spread=np.std(np.diff(fit_part)) + 1e-12,
      backward=config.backward,
      backend=config.backend)
  layer = make_layer(config)
  model = fc.forecaster(layer, config.hidden_size, linear=linear, **model_args)
  test_model = fc.forecaster(
      layer, config.hidden_size, linear=lp.refit(linear, values, fit + val, h), **model_args)
  x_tr, y_tr, _ = baselines.windows(values, 0, fit, max(p["window"], linear.context), h)
  x_va, y_va, _ = baselines.windows(values, fit, fit + val, context, h)
  x_te, y_te, e_te = baselines.windows(values, fit + val, len(values), context, h)
  table, ar = baseline_table(values, p, parts, scores, x_te, y_te)
  prepare_seconds = time.time() - started  # reading, periods, the linear parts' fits
  steps = config.steps or auto_steps(len(y_tr), config.batch_size, config.epochs, 300, 3000)
  config = configs.replace(
      config, steps=steps, eval_every=config.eval_every or auto_eval_every(steps))
  f_va, f_te = model.features(x_va), test_model.features(x_te)
  b_va = lp.linear_forecast(linear, x_va, h)
  b_te = lp.linear_forecast(test_model.linear, x_te, h)
  residual = jax.jit(lambda params, f: model_args["spread"] * model.apply(params, f))

  def errors(params):
    return (b_va + np.asarray(residual(params, f_va), np.float64) - y_va,
            b_te + np.asarray(residual(params, f_te), np.float64) - y_te)

  def evaluate(params):
    e_va, e_te_ = errors(params)
    return {
        "val_rmse": float(np.sqrt(np.mean(e_va**2))),
        "test_rmse": float(np.sqrt(np.mean(e_te_**2)))
    }

  def loss_fn(params, batch, key):
    x, y = batch
    return ((model.apply(params, x) - y)**2).mean(), {}

  unit = f"RMSE ({h} steps)" if h > 1 else "RMSE"
  report, params = run_task(
      config,
      workdir,
      Task(
          name="forecast",
          model=model,
          loss_fn=loss_fn,
          make_batch=dataset_batches(config.batch_size, model.features(x_tr),
                                     model.targets(x_tr, y_tr)),
          jit_batch=False,
          evaluate=evaluate,
          summary=lambda r: (f"step {r['step']:5d}  train {r['loss']:.4f}  validation {unit} "
                             f"{r['eval_val_rmse']:.4g} (linear part {base_val:.4g})  test "
                             f"{r['eval_test_rmse']:.4g} ({baseline_line(table, p)})"),
          stop_when=patience_stop("eval_val_rmse", "min", config.patience),
          select=lambda hist: best_row(hist, "eval_val_rmse", "min"),
          extra_report={
              "data": data["name"],
              "values": len(values),
              "interval": data["interval"],
              "time_column": data["time_column"],
              "times_added": data["added"],
              "times_repeated": data["repeated"],
              "times_restarted": data["restarts"],
              **p, "train_windows": len(y_tr),
              "linear_part": linear.label,
              "linear_val_rmse": base_val,
              "linear_rolling_origin": scores,
              "linear_name": name,
              "linear_test_rmse": baselines.rmse(b_te, y_te),
              "baselines": table,
              "persistence_rmse": table["persistence"],
              "prepare_seconds": prepare_seconds
          }),
      log=log)
  e_va, e_te_ = errors(params)
  kept, t = fc.significantly_better(b_va - y_va, e_va)
  report["recurrent_kept"], report["recurrent_t"] = kept, t
  report["val_rmse"] = baselines.rmse(e_va, 0) if kept else base_val
  report["test_rmse"] = baselines.rmse(e_te_, 0) if kept else baselines.rmse(b_te, y_te)
  report["best_step"] = report["params_step"] if kept else 0
  report["model"] = (f"{linear.label} + {config.cell.upper()}-{config.hidden_size}"
                     if kept else f"{linear.label} alone")
  if workdir and not report["interrupted"]:
    one = (b_te + (np.asarray(residual(params, f_te), np.float64) if kept else 0))[:, 0]
    plot_forecast(data["times"], values, e_te + 1, one, x_te, ar, p, table,
                  f"{data['name']}: {report['model']}", workdir)
  return (report, params) if return_params else report


def baseline_line(table: dict, p: dict) -> str:
  out = f"persistence {table['persistence']:.4g}"
  if "seasonal_naive" in table:
    out += f", seasonal naive {table['seasonal_naive']:.4g} (period {p['period']})"
  if "linear_ar" in table:
    out += f", linear AR({table['ar_order']}) {table['linear_ar']:.4g}"
  return out


def plot_forecast(times, values, at, predicted, x_te, ar, p, table, name, workdir):
  plt = pyplot()
  times = np.arange(len(values)) if times is None else np.asarray(times)
  if times.max() > 1e8:  # seconds since 1970: plot as dates
    times = times.astype("datetime64[s]")
  fig, (top, ax) = plt.subplots(2, 1, figsize=(10, 6), gridspec_kw={"height_ratios": [1, 2]})
  top.plot(times, values, color="0.5", lw=0.8)
  top.axvspan(times[at[0]], times[at[-1]], color="tab:red", alpha=0.12, lw=0)
  top.set(title=f"{name}: the series, held-out tail shaded")
  ax.plot(times[at], values[at], "k.-", lw=1, label="held-out truth")
  ax.plot(times[at], predicted, "r.-", lw=1, label=f"model ({_score(predicted, values[at])})")
  ax.plot(
      times[at],
      values[at - 1],
      ":",
      color="tab:blue",
      lw=1,
      label=f"persistence ({table['persistence']:.4g})")
  if p["period"]:
    ax.plot(
        times[at],
        baselines.seasonal_naive(x_te, 1, p["period"])[:, 0],
        ":",
        lw=1,
        color="tab:green",
        label=f"seasonal naive, period {p['period']} ({table['seasonal_naive']:.4g})")
  if ar is not None:
    ax.plot(
        times[at],
        lp.linear_forecast(ar, x_te, p["horizon"])[:, 0],
        "--",
        lw=1,
        color="tab:orange",
        label=f"linear AR({ar.order}) ({table['linear_ar']:.4g})")
  ax.set(
      title="one-step forecasts of the held-out tail (legend: RMSE over the horizon)",
      xlabel="time")
  ax.legend(fontsize=7, loc="upper left")
  fig.tight_layout()
  save_figure(fig, workdir, "forecast.png")


def _score(predicted, truth) -> str:
  return f"{baselines.rmse(predicted, truth):.4g}"


def result_line(report) -> str:
  found = (f"{report['interval']} data, " if report.get("interval") else
           "") + (f"period {report['period']}" if report["period"] else "no period found")
  if report.get("times_restarted"):
    found += f", {report['times_restarted']} times off the grid's phase put on the nearest step"
  kept = (f"GRU kept: validation t = {report['recurrent_t']:.1f}" if report["recurrent_kept"] else
          f"GRU not kept: validation t = {report['recurrent_t']:.1f} ≤ 3")
  return (f"final held-out RMSE {report['test_rmse']:.4g} ({report['model']}; {kept}) vs "
          f"{baseline_line(report['baselines'], report)} ({report['test']} values of "
          f"{report['data']}; {found}; window {report['window']}, horizon {report['horizon']}) "
          f"in {report['prepare_seconds']:.0f}s fitting the linear parts + "
          f"{report['seconds']:.0f}s training")
