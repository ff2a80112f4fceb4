"""The generic tasks with default flags on public data that is not in this repository.

  python -m experiments.benchmarks.own_data                  # classify + forecast tables
  python -m experiments.benchmarks.own_data --only=forecast --seeds=3
  python -m experiments.benchmarks.own_data --only=classify --problems=ArrowHead  # one row

Data: the UEA/UCR problems and the forecasting CSVs that ship inside the ``aeon`` wheel (and
aeon's published InceptionTime accuracies, mean of 30 resamples), plus statsmodels' CO2
(weekly, with gaps), Nile, US macro and El Niño series. The wheel is DOWNLOADED with ``pip
download aeon==1.6.0 --no-deps`` into ``--cache`` and read as a zip: it is neither installed
nor copied into this repository. Every run is ``experiments.classify`` /
``experiments.forecast`` with its default config and only the data fields set (the CO2 series
adds ``missing="interpolate"``: it has 59 gaps). Writes ``own_data.md`` and ``own_data.json``.
"""
from __future__ import annotations

import csv
import io
import json
import os
import statistics
import subprocess
import sys
import time
import zipfile

from absl import app, flags

_CACHE = flags.DEFINE_string("cache", os.path.expanduser("~/.cache/rnn_jax_public_data"),
                             "Where the downloaded wheel and the extracted files go.")
_OUT = flags.DEFINE_string("outdir", "experiments/results", "Where own_data.md/.json go.")
_ONLY = flags.DEFINE_enum("only", "both", ["both", "classify", "forecast"], "Which table.")
_SEEDS = flags.DEFINE_integer("seeds", 1, "Runs per data set (seeds 0..N-1).", lower_bound=1)
# Shared with unseen_ts and few_shot (one definition per flag name).
_PROBLEMS = flags.DEFINE_list(
    "problems", None, "Re-run only these classification problems (default: all); the other "
    "rows are kept from the earlier results in --outdir.")
AEON = "aeon==1.6.0"
CLASSIFY = [
    "GunPoint", "ItalyPowerDemand", "ArrowHead", "OSULeaf", "ACSF1", "BasicMotions",
    "PickupGestureWiimoteZ", "JapaneseVowels", "Covid3Month", "CardanoSentiment"
]
# (name, file inside the data folder, column, kind)
FORECAST = [("Airline (monthly)", "Airline/Airline.csv", "Passengers"),
            ("Lynx (yearly)", "Lynx/Lynx.csv", "0"),
            ("Shampoo sales (monthly, 36 values)", "ShampooSales/ShampooSales.csv", "Sales"),
            ("US consumption (quarterly)", "Uschange/Uschange.csv", "Consumption"),
            ("US production (quarterly)", "Uschange/Uschange.csv", "Production"),
            ("US unemployment (quarterly)", "Uschange/Uschange.csv", "Unemployment"),
            ("Solar (half-hourly)", "solar/solar.csv", "solar_gen")]
# Multivariate problems are not in aeon's univariate results file: published InceptionTime
# accuracies (Ruiz et al. 2021, UEA archive bake-off) would go here; none is claimed.


def extract(cache: str) -> str:
  """Downloads the aeon wheel (once) and extracts its data folder and InceptionTime results."""
  target = os.path.join(cache, "aeon")
  if os.path.isdir(target):
    return target
  os.makedirs(cache, exist_ok=True)
  subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", cache, AEON],
                 check=True)
  (wheel,) = [f for f in os.listdir(cache) if f.startswith("aeon-") and f.endswith(".whl")]
  with zipfile.ZipFile(os.path.join(cache, wheel)) as z:
    for name in z.namelist():
      if name.startswith("aeon/datasets/data/") or name.endswith("InceptionTime_accuracy.csv"):
        z.extract(name, cache)
  return target


def statsmodels_series(cache: str) -> list[tuple[str, str, str, dict]]:
  """CSV files of four statsmodels data sets (weekly, yearly, quarterly, monthly)."""
  import numpy as np
  import statsmodels.api as sm
  folder = os.path.join(cache, "statsmodels")
  os.makedirs(folder, exist_ok=True)
  co2 = sm.datasets.co2.load_pandas().data
  co2.to_csv(os.path.join(folder, "co2.csv"))
  sm.datasets.nile.load_pandas().data.to_csv(os.path.join(folder, "nile.csv"), index=False)
  sm.datasets.macrodata.load_pandas().data.to_csv(os.path.join(folder, "macro.csv"), index=False)
  elnino = sm.datasets.elnino.load_pandas().data.drop(columns="YEAR").to_numpy().ravel()
  with open(os.path.join(folder, "elnino.csv"), "w") as f:
    f.write("temp\n" + "".join(f"{v}\n" for v in np.asarray(elnino)))
  p = lambda n: os.path.join(folder, n)
  return [("CO2 (weekly, 59 gaps)", p("co2.csv"), "co2", {
      "missing": "interpolate"
  }), ("Nile (yearly, 100 values)", p("nile.csv"), "volume", {}),
          ("US real GDP (quarterly)", p("macro.csv"), "realgdp", {}),
          ("US CPI (quarterly)", p("macro.csv"), "cpi", {}),
          ("El Niño (monthly)", p("elnino.csv"), "temp", {})]


def inception_time(root: str) -> dict:
  path = os.path.join(root, "testing", "example_results_files", "classification", "accuracy",
                      "InceptionTime_accuracy.csv")
  out = {}
  with open(path) as f:
    for row in list(csv.reader(f))[1:]:
      values = [float(v) for v in row[1:] if v]
      out[row[0]] = statistics.fmean(values)
  return out


def mean_sd(values):
  return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def classify_rows(root: str, seeds: int, problems=None, ref=None):
  """One row per ``.ts`` pair ``<folder>/<name>_TRAIN.ts``, ``_TEST.ts``: default-flag
  ``classify`` runs with seeds 0..seeds−1. ``problems``: ``[(name, folder)]`` (default: the
  aeon wheel's ``CLASSIFY`` sets under ``root``); ``ref``: InceptionTime accuracy by name."""
  from experiments import classify, configs
  ref = inception_time(root) if ref is None else ref
  if problems is None:
    problems = [(name, os.path.join(root, "datasets", "data", name)) for name in CLASSIFY]
  rows = []
  for name, folder in problems:
    runs = []
    for seed in range(seeds):
      config = configs.get(
          "classify",
          train_ts=os.path.join(folder, f"{name}_TRAIN.ts"),
          test_ts=os.path.join(folder, f"{name}_TEST.ts"),
          seed=seed)
      runs.append(classify.train_and_evaluate(config, None, log=lambda *_: None))
    r = runs[0]
    key = "test_rmse" if r["regression"] else "test_accuracy"
    m, sd = mean_sd([x[key] for x in runs])
    reference = ref.get(name)
    rows.append({
        "data": name,
        "regression": r["regression"],
        "value": m,
        "sd": sd,
        "seeds": seeds,
        "reference": reference,
        "ratio": m / reference if reference else None,
        "mean_baseline_rmse": r.get("mean_baseline_rmse"),
        "nn_accuracy": r.get("nn_accuracy"),
        "train": r["train_size"],
        "test": r["test_size"],
        "downsample": r["downsample"],
        "steps_in": r["steps_in"],
        "pool_time": r.get("pool_time", 1),
        "seconds": statistics.fmean(x["seconds"] for x in runs),
        "best_step": r["best_step"],
        "steps": r["config"]["steps"],
        "validated": r.get("validated", True)
    })
    print(json.dumps(rows[-1]), flush=True)
  return rows


def forecast_rows(root: str, cache: str, seeds: int):
  from experiments import configs, forecast
  sets = [(n, os.path.join(root, "datasets", "data", f), c, {}) for n, f, c in FORECAST]
  rows = []
  for name, path, column, extra in sets + statsmodels_series(cache):
    runs = []
    for seed in range(seeds):
      config = configs.get("forecast", csv=path, column=column, seed=seed, **extra)
      runs.append(forecast.train_and_evaluate(config, None, log=lambda *_: None))
    r = runs[0]
    m, sd = mean_sd([x["test_rmse"] for x in runs])
    base = r["baselines"]
    rows.append({
        "data": name,
        "values": r["values"],
        "test": r["test"],
        "window": r["window"],
        "period": r["period"],
        "rmse": m,
        "sd": sd,
        "seeds": seeds,
        "persistence": base["persistence"],
        "seasonal_naive": base.get("seasonal_naive"),
        "linear_ar": base.get("linear_ar"),
        "ar_order": base.get("ar_order"),
        "ratio": m / base["persistence"],
        "seconds": statistics.fmean(x["seconds"] for x in runs)
    })
    print(json.dumps(rows[-1]), flush=True)
  return rows


def markdown(cls, fc) -> str:
  out = io.StringIO()
  if cls:
    out.write("| .ts problem | train/test | steps in (fold, pool) | rnn_jax classify | 1-NN | "
              "InceptionTime | ratio | time |\n|---|---|---|---|---|---|---|---|\n")
    for r in cls:
      if r["regression"]:
        value = (f"RMSE {r['value']:.4g} ± {r['sd']:.2g} (mean predictor "
                 f"{r['mean_baseline_rmse']:.4g})")
        ref, ratio = "—", "—"
      else:
        value = f"{100 * r['value']:.1f}% ± {100 * r['sd']:.1f}" + ("" if r.get(
            "validated", True) else " (few-shot: no validation)")
        ref = f"{100 * r['reference']:.1f}%" if r["reference"] else "not in aeon's file"
        ratio = f"{r['ratio']:.2f}" if r["ratio"] else "—"
      nn = "—" if r.get("nn_accuracy") is None else f"{100 * r['nn_accuracy']:.1f}%"
      out.write(f"| {r['data']} | {r['train']}/{r['test']} | {r['steps_in']} ({r['downsample']}, "
                f"{r.get('pool_time', 1)}) "
                f"| {value} | {nn} | {ref} | {ratio} | {r['seconds']:.0f} s |\n")
  if fc:
    out.write("\n| CSV series | values | window (period) | rnn_jax forecast RMSE | persistence "
              "| seasonal naive | linear AR | ratio to persistence | time |\n"
              "|---|---|---|---|---|---|---|---|---|\n")
    for r in fc:
      seasonal = f"{r['seasonal_naive']:.4g}" if r["seasonal_naive"] is not None else "—"
      ar = "—" if r.get("linear_ar") is None else f"{r['linear_ar']:.4g} (order {r['ar_order']})"
      out.write(f"| {r['data']} | {r['values']} | {r['window']} ({r['period'] or '—'}) | "
                f"{r['rmse']:.4g} ± {r['sd']:.2g} | {r['persistence']:.4g} | {seasonal} | {ar} | "
                f"{r['ratio']:.3f} | {r['seconds']:.0f} s |\n")
  return out.getvalue()


def keep_other_table(path: str, cls: list, fc: list) -> tuple[list, list]:
  """With ``--only``, the table not re-run keeps its earlier rows from ``path`` (if any); with
  ``--problems``, so do the classification rows not re-run."""
  earlier = {}
  if os.path.exists(path):
    with open(path) as f:
      earlier = json.load(f)
  if _ONLY.value != "forecast" and _PROBLEMS.value:
    order = {name: i for i, name in enumerate(CLASSIFY)}
    cls = merge_rows(
        earlier.get("classify", []), cls, lambda r: r["data"],
        lambda r: order.get(r["data"], len(order)))
  if _ONLY.value == "classify":
    return cls, earlier.get("forecast", fc)
  if _ONLY.value == "forecast":
    return earlier.get("classify", cls), fc
  return cls, fc


def chosen_problems(names: list) -> list:
  """``--problems`` (default: all of ``names``); a name not among them is a usage error."""
  chosen = _PROBLEMS.value or names
  unknown = sorted(set(chosen) - set(names))
  if unknown:
    raise app.UsageError(f"--problems: {unknown} are not among {names}.")
  return [name for name in names if name in chosen]


def merge_rows(earlier: list, rows: list, key, order) -> list:
  """``rows`` with the ``earlier`` rows they do not replace (same ``key(row)``), sorted by
  ``order(row)``: a re-run of some problems keeps the others' rows."""
  fresh = {key(r): r for r in rows}
  for r in earlier:
    fresh.setdefault(key(r), r)
  return sorted(fresh.values(), key=order)


def main(argv):
  del argv
  from rnn_jax.parallel import set_cpu_devices_if_unset
  set_cpu_devices_if_unset()
  root = extract(_CACHE.value)
  start = time.time()
  problems = [
      (name, os.path.join(root, "datasets", "data", name)) for name in chosen_problems(CLASSIFY)
  ]
  cls = classify_rows(root, _SEEDS.value, problems) if _ONLY.value != "forecast" else []
  fc = forecast_rows(root, _CACHE.value, _SEEDS.value) if _ONLY.value in ("both",
                                                                          "forecast") else []
  from experiments.outputs import save_text  # atomic writes
  os.makedirs(_OUT.value, exist_ok=True)
  cls, fc = keep_other_table(os.path.join(_OUT.value, "own_data.json"), cls, fc)
  save_text(_OUT.value, "own_data.json",
            json.dumps({
                "classify": cls,
                "forecast": fc,
                "seconds": time.time() - start
            }, indent=1))
  table = markdown(cls, fc)
  save_text(_OUT.value, "own_data.md", table)
  print(table)


if __name__ == "__main__":
  app.run(main)
