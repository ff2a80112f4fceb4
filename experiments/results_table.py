"""Runs the default config of every task (and the adding-problem variants of the issue) and
writes the results table.

  python -m experiments.results_table                       # everything, ~25 min on 2 cores
  python -m experiments.results_table --only=dates,ner      # some rows
  python -m experiments.results_table --seeds=3             # mean ± sd over seeds 0, 1, 2

Writes ``experiments/results/results.json`` (every report) and ``results.md`` (the table in
BUILD_NOTES.md). Each row is one launcher configuration: ``python -m experiments.main`` with
the flags in the ``command`` column. Runs one after the other in this process, so the wall
times are measured on an otherwise idle machine only when nothing else runs.
"""
from __future__ import annotations

import importlib
import json
import os
import time

from absl import app, flags

from experiments import configs

_OUT = flags.DEFINE_string("outdir", "experiments/results", "Where results.json/.md go.")
_ONLY = flags.DEFINE_list("only", [], "Row names to run (default: all).")
_RENDER = flags.DEFINE_bool("render_only", False, "Rewrite results.md from results.json.")
_SEEDS = flags.DEFINE_integer(
    "seeds",
    1, "Runs per row (seeds 0..N-1): the table shows the "
    "mean ± the sample standard deviation.",
    lower_bound=1)
LENGTH_TASKS = {"adding": "T", "copy_memory": "T", "charlm": "window", "mnist": "T"}

# (row name, task, flag changes, metric key, format, reference)
ROWS = [
    ("adding", "adding", {}, "test_mse", "test MSE {:.4f}", "predicting the mean: 0.167"),
    ("adding T=200 LSTM", "adding", dict(length=200), "test_mse", "test MSE {:.4f}",
     "Flax LSTM-128: < 0.001 after 232 s"),
    ("adding T=200 IRNN", "adding",
     dict(length=200, cell="irnn", learning_rate=1e-3, hidden_size=128,
          steps=8000), "test_mse", "test MSE {:.4f}", "Flax IRNN-128: < 0.001 after 158 s"),
    ("adding T=200 tanh RNN", "adding",
     dict(length=200, cell="simple_rnn", hidden_size=128, learning_rate=1e-3,
          steps=3000), "test_mse", "test MSE {:.4f}", "Flax tanh RNN: 0.161 after 4 min (stuck)"),
    ("copy_memory", "copy_memory", {}, "eval_nats", "{:.4f} nats",
     "memoryless 0.173; Flax LSTM-128 0.150 after 8 min"),
    ("mnist", "mnist", {}, "test_accuracy", "held-out accuracy {:.1%}", "chance 10%"),
    ("japanese_vowels", "japanese_vowels", {}, "test_accuracy", "test accuracy {:.1%}",
     "published RNNs ~97–99%"),
    ("sunspots", "sunspots", {}, "test_rmse", "held-out RMSE {:.2f}", "persistence (below)"),
    ("charlm", "charlm", {}, "heldout_bpc", "held-out {:.3f} bits/char",
     "Flax LSTM-256: 2.20 after 10 min (2.15 stateful); goal ≤ 2.0"),
    ("charlm half the time", "charlm", dict(minutes=5.0), "heldout_bpc",
     "held-out {:.3f} bits/char", "Flax LSTM-256: 2.20 after 10 min"),
    ("dates", "dates", {}, "exact_match", "exact match {:.2%}",
     "Flax (en_US only): 99.7% after 32 s"),
    ("ner", "ner", {}, "entity_f1", "entity F1 {:.2%}", "—"),
    ("names", "names", {}, "heldout_bpc", "held-out {:.3f} bits/char", "—"),
]


def command(task, changes):
  flags_ = " ".join(f"--config.{k}={v}" for k, v in changes.items())
  return f"python -m experiments.main --task={task} {flags_}".strip()


def describe(config, report=None):
  """One line of the config as it ran (``report``: the resolved steps and window)."""
  report = report or {}
  if isinstance(config, dict):
    from ml_collections import config_dict
    config = config_dict.ConfigDict(config)
  window = report.get("window")
  cell = ("bi-" if config.bidirectional else "") + f"{config.cell}-{config.hidden_size}"
  if config.get("conv_layers"):
    norm = ", normalized" if config.get("conv_norm") in (None, True) else ""
    cell = f"{config.conv_layers} conv (kernel {config.conv_kernel}{norm}) + {cell}"
  if report.get("members", 1) > 1:
    cell = f"{cell}, {report['members']}-member ensemble"
  sched = ", cosine" if config.schedule == "cosine" else ""
  length = (f"{LENGTH_TASKS[config.task]}={config.length}, "
            if config.task in LENGTH_TASKS and "length" in config else "")
  length = f"window={window}, " if window else length
  return (f"{cell}, {length}batch {config.batch_size}, {config.optimizer} "
          f"{config.learning_rate:g}{sched}, {config.steps} steps")


def spread(fmt: str, values) -> str:
  """``fmt`` of the mean, with ``± sd`` (sample standard deviation) in the same format when
  there are several values."""
  import re
  import statistics
  mean = statistics.fmean(values)
  if len(values) == 1:
    return fmt.format(mean)
  spec = re.search(r"\{(:[^}]*)\}", fmt).group(1)
  sd = ("{" + spec + "}").format(statistics.stdev(values))
  return fmt.format(mean).replace(
      ("{" + spec + "}").format(mean),
      ("{" + spec + "}").format(mean) + f" ± {sd}", 1) + (f" ({len(values)} seeds)")


def run_row(name, task, changes, key, fmt, reference, seeds=1):
  module = importlib.import_module(f"experiments.{task}")
  reports, totals = [], []
  for seed in range(seeds):
    config = configs.get(task, **changes, **({"seed": seed} if seeds > 1 else {}))
    start = time.time()
    reports.append(module.train_and_evaluate(config, None, log=lambda line: None))
    totals.append(time.time() - start)
  report = reports[0]
  values = [r.get(key, (r.get("final") or {}).get(key)) for r in reports]
  value = sum(values) / len(values)
  if task == "sunspots":
    reference = f"persistence RMSE {report['persistence_rmse']:.2f}"
  if task == "charlm" and report.get("heldout_bpc_stateful") is not None:
    fmt += f" ({report['heldout_bpc_stateful']:.3f} stateful, seed 0)"
  row = {
      "name": name,
      "command": command(task, changes),
      "config": describe(report["config"], report),
      "metric": spread(fmt, values),
      "value": value,
      "values": values,
      "reference": reference,
      "train_seconds": round(sum(r["seconds"] for r in reports) / seeds, 1),
      "total_seconds": round(sum(totals) / seeds, 1),
      "report": {
          k: v for k, v in report.items() if k != "history"
      },
      "history": report["history"]
  }
  print(f"{name}: {row['metric']} in {row['train_seconds']} s", flush=True)
  return row


def to_markdown(rows):
  lines = [
      "| task | config | result | reference | wall time (per seed) | command |",
      "|---|---|---|---|---|---|",
  ]
  for r in rows:
    lines.append(f"| {r['name']} | {r['config']} | {r['metric']} | {r['reference']} | "
                 f"{r['train_seconds']:.0f} s | `{r['command']}` |")
  return "\n".join(lines) + "\n"


def main(argv):
  del argv
  from rnn_jax.parallel import set_cpu_devices_if_unset
  set_cpu_devices_if_unset()
  os.makedirs(_OUT.value, exist_ok=True)
  path = os.path.join(_OUT.value, "results.json")
  if _RENDER.value:
    from ml_collections import config_dict
    data = json.load(open(path))
    for r in data["rows"]:
      r["config"] = describe(config_dict.ConfigDict(r["report"]["config"]), r["report"])
    with open(os.path.join(_OUT.value, "results.md"), "w") as f:
      f.write(to_markdown(data["rows"]))
    print(to_markdown(data["rows"]))
    return
  previous = {}
  if os.path.exists(path):
    previous = {r["name"]: r for r in json.load(open(path))["rows"]}
  rows = []
  for i, spec in enumerate(ROWS):
    if _ONLY.value and spec[0] not in _ONLY.value:
      if spec[0] in previous:
        rows.append(previous[spec[0]])
      continue
    rows.append(run_row(*spec, seeds=_SEEDS.value))
    # after every row, with the earlier results of the rows still to come: a crash later loses
    # neither a finished row nor one that was not asked for
    write(path, rows + [previous[s[0]] for s in ROWS[i + 1:] if s[0] in previous])
  print(to_markdown(rows))


def write(path, rows):
  """results.json (atomically) and results.md from the rows so far."""
  import jax
  meta = {
      "jax": jax.__version__,
      "devices": jax.device_count(),
      "cpu_count": os.cpu_count(),
      "date": time.strftime("%Y-%m-%d")
  }
  with open(path + ".tmp", "w") as f:
    json.dump({"meta": meta, "rows": rows}, f, indent=1, default=float)
  os.replace(path + ".tmp", path)
  with open(os.path.join(os.path.dirname(path), "results.md"), "w") as f:
    f.write(to_markdown(rows))


if __name__ == "__main__":
  app.run(main)
