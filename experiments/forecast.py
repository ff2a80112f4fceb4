"""Forecasting any series: ``python -m experiments.main --task=forecast`` (alias ``sunspots``).

Default data: the yearly sunspots (extra ``[data]``); any numeric CSV column with
``--config.csv=FILE --config.column=NAME`` (rows in time order; blanks/NA by
``--config.missing=error|drop|interpolate``). Everything else adapts to the series:

- Split, time order kept: the last ``test_size`` values held out (default 15%), the
  ``val_fraction`` before them a validation tail; the model is trained on the rest.
- Window: ``--config.length``, or two seasons when the series has an obvious period
  (``seasonal_period``), else 12, shortened so that a short series (24 values and up) still
  gives training windows.
- The model forecasts the CHANGE over persistence: inputs are the window relative to its last
  value and standardized, outputs are (y⟨t+k⟩ − y⟨t⟩)/σ_Δ for k = 1..``horizon``, and the
  readout starts at zero, so training starts exactly at persistence.
- Training length from the data (``epochs``, clamped), early stopping after ``patience``
  evaluations without a better validation RMSE; the reported test RMSE is the best validation
  evaluation's, with its step. Baselines: persistence (next = last) and, when there is a
  period p, seasonal naive (next = the value p steps before).

Picture: ``forecast.png``, one-step forecasts of the held-out tail.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from experiments import configs
from experiments.common import make_layer
from experiments.outputs import pyplot, save_figure
from experiments.runner import dataset_batches, Task, run_task
from experiments.selection import auto_eval_every, auto_steps, best_row, patience_stop
from rnn_jax.data.series import load_sunspots, read_csv_column, seasonal_period
from rnn_jax.models import many_to_one


def load(config):
  """``(times, values, name)``."""
  if config.csv:
    values = read_csv_column(config.csv, config.column, missing=config.missing)
    return np.arange(len(values)), values, f"{config.csv}:{config.column}"
  years, values = load_sunspots()
  return years, values, "sunspots"


def plan(n: int, values, config) -> dict:
  """Sizes that fit this series: held-out test, validation tail, window, period."""
  h = config.horizon
  test = config.test_size or max(h, int(round(0.15 * n)))
  val = max(h, int(round(config.val_fraction * (n - test))))
  fit = n - test - val
  period = seasonal_period(values[:n - test])
  room = max(1, (fit - h) // 2)  # a window of at most half the training part
  window = config.length or max(2, min(2 * period if period else 12, room))
  if fit - window - h + 1 < 1:
    raise ValueError(f"a series of {n} values is too short for test_size={test}, a validation "
                     f"tail of {val}, window={window} and horizon={h}; lower them "
                     "(--config.test_size, --config.length, --config.horizon).")
  return {"test": test, "val": val, "fit": fit, "window": window, "period": period, "horizon": h}


def windows(values, start: int, stop: int, window: int, horizon: int):
  """``(xs [N, window], ys [N, horizon], ends [N])``: every window whose ``horizon`` targets lie
  in ``values[start:stop]``; ``ends`` is the index of each window's last value."""
  ends = np.arange(max(start, window) - 1, stop - horizon)
  xs = values[ends[:, None] + np.arange(1 - window, 1)[None, :]]
  ys = values[ends[:, None] + np.arange(1, horizon + 1)[None, :]]
  return xs, ys, ends


def seasonal_naive(values, ends, horizon: int, period: int):
  """``values[t + k - p·⌈k/p⌉]``: the last value at the same phase of the season."""
  k = np.arange(1, horizon + 1)[None, :]
  return values[ends[:, None] + k - period * np.ceil(k / period).astype(int)]


def rmse(a, b) -> float:
  return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b))**2)))


def train_and_evaluate(config, workdir: str | None = None, log=print, return_params=False):
  times, values, name = load(config)
  p = plan(len(values), values, config)
  w, h, fit = p["window"], p["horizon"], p["fit"]
  fit_part = values[:fit]
  mu, s = fit_part.mean(), fit_part.std() + 1e-12
  sd = np.std(np.diff(fit_part)) + 1e-12  # the scale of one step's change

  def features(xs):
    last = xs[:, -1:]
    return np.stack([(xs - last) / sd, (xs - mu) / s], -1).astype(np.float32)

  x_tr, y_tr, e_tr = windows(values, 0, fit, w, h)
  x_va, y_va, e_va = windows(values, fit, fit + p["val"], w, h)
  x_te, y_te, e_te = windows(values, fit + p["val"], len(values), w, h)
  delta = lambda xs, ys: ((ys - xs[:, -1:]) / sd).astype(np.float32)
  baselines = {"persistence": rmse(np.repeat(x_te[:, -1:], h, 1), y_te)}
  if p["period"]:
    baselines["seasonal_naive"] = rmse(seasonal_naive(values, e_te, h, p["period"]), y_te)
  steps = config.steps or auto_steps(len(y_tr), config.batch_size, config.epochs, 300, 3000)
  config = configs.replace(
      config, steps=steps, eval_every=config.eval_every or auto_eval_every(steps))
  model = many_to_one(make_layer(config), 2, config.hidden_size, h, backward=config.backward)
  init = model.init
  model = model._replace(init=lambda key: {
      **init(key), "readout": jax.tree_util.tree_map(jnp.zeros_like,
                                                     init(key)["readout"])
  })  # output 0: persistence at step 0

  def forecast(params, xs):
    return xs[:, -1:] + sd * model.apply(params, jnp.asarray(features(xs)))

  def evaluate(params):
    return {
        "val_rmse": jnp.sqrt(jnp.mean((forecast(params, x_va) - y_va)**2)),
        "test_rmse": jnp.sqrt(jnp.mean((forecast(params, x_te) - y_te)**2))
    }

  def loss_fn(params, batch, key):
    x, y = batch
    return jnp.mean((model.apply(params, x) - y)**2), {}

  unit = f"RMSE ({h} steps)" if h > 1 else "RMSE"
  report, params = run_task(
      config,
      workdir,
      Task(
          name="forecast",
          model=model,
          loss_fn=loss_fn,
          make_batch=dataset_batches(config.batch_size, features(x_tr), delta(x_tr, y_tr)),
          jit_batch=False,
          evaluate=jax.jit(evaluate),
          summary=lambda r: (f"step {r['step']:5d}  train {r['loss']:.4f}  validation {unit} "
                             f"{r['eval_val_rmse']:.4g}  test {r['eval_test_rmse']:.4g} "
                             f"(persistence {baselines['persistence']:.4g})"),
          stop_when=patience_stop("eval_val_rmse", "min", config.patience),
          select=lambda hist: best_row(hist, "eval_val_rmse", "min"),
          extra_report={
              "data": name,
              "values": len(values),
              **{
                  k: v for k, v in p.items()
              },
              "train_windows": len(y_tr),
              "baselines": baselines,
              "persistence_rmse": baselines["persistence"],
          }),
      log=log)
  if report["best"]:
    report["test_rmse"] = report["best"]["eval_test_rmse"]
    report["best_step"] = report["best"]["step"]
  if workdir and not report["interrupted"]:
    one = np.asarray(forecast(params, x_te))[:, 0]
    plot_forecast(times, values, e_te + 1, one, f"{name} (params of step {report['params_step']})",
                  workdir)
  return (report, params) if return_params else report


def plot_forecast(times, values, at, predicted, name, workdir):
  plt = pyplot()
  fig, ax = plt.subplots(figsize=(10, 3.6))
  ax.plot(times, values, color="0.6", lw=1, label="series")
  ax.plot(times[at], values[at], "k.-", lw=1, label="held-out truth")
  ax.plot(times[at], predicted, "r.-", lw=1, label="one-step forecast")
  ax.plot(times[at], values[at - 1], ":", color="tab:blue", lw=1, label="persistence")
  ax.axvline(times[at[0]], color="0.3", ls="--", lw=0.8)
  ax.set(title=f"{name}: forecast vs truth on the held-out tail", xlabel="time")
  ax.legend(fontsize=8, loc="upper left")
  fig.tight_layout()
  save_figure(fig, workdir, "forecast.png")


def result_line(report) -> str:
  base = report["baselines"]
  seasonal = (f", seasonal naive {base['seasonal_naive']:.4g} (period {report['period']})"
              if "seasonal_naive" in base else "")
  return (f"final held-out RMSE {report['test_rmse']:.4g} at the best validation step "
          f"{report['best_step']} vs persistence {base['persistence']:.4g}{seasonal} "
          f"({report['test']} values of {report['data']}, window {report['window']}, horizon "
          f"{report['horizon']}) in {report['seconds']:.0f}s")
