"""Few-shot training files: hold validation series out, or train every member on every series?

  python -m experiments.benchmarks.few_shot --shots=2,4        # writes few_shot.md / few_shot.json
  python -m experiments.benchmarks.few_shot --problems=PLAID    # re-runs PLAID's rows only

``classify`` holds series out for validation (3-fold cross-validation members, the best
validation step reported) unless a class has fewer than ``validate_min_class`` (5) training
series; then every member trains on all of them and stops ``patience`` evaluations after
fitting them. The rule came from one problem (PigCVP: 52 classes of 2). This checks it on
others: for each problem and each k in ``--shots``, k training series per class are drawn
(seeded, without replacement) from its training file, their lines copied verbatim into a
new ``.ts`` file beside the full test file, and ``classify`` runs twice with default flags:
as is (few-shot: no validation) and with ``validate_min_class=0`` (held-out folds).
Problems: ACSF1, OSULeaf, JapaneseVowels (aeon wheel, see ``own_data``), Trace and PLAID
(other wheels, see ``unseen_ts``).
"""
from __future__ import annotations

import json
import os

import numpy as np
from absl import app, flags

from experiments.benchmarks import own_data, unseen_ts

# --cache, --outdir, --seeds and --problems are own_data's flags.
_SHOTS = flags.DEFINE_list("shots", ["2", "4"], "Training series per class in each subset.")
PROBLEMS = [("ACSF1", "aeon"), ("OSULeaf", "aeon"), ("JapaneseVowels", "aeon"), ("Trace", "unseen"),
            ("PLAID", "unseen")]


def subset_ts(source: str, target: str, labels, shots: int, seed: int) -> np.ndarray:
  """Writes ``target``: the header of ``source`` and ``shots`` of its cases per class (the
  data lines unchanged, in file order); returns the kept case indices. ``labels``: each case's
  class, in file order."""
  with open(source) as f:
    lines = f.read().splitlines()
  start = next(i for i, line in enumerate(lines) if line.strip().lower() == "@data") + 1
  cases = [
      line for line in lines[start:] if line.strip() and not line.lstrip().startswith(("#", "%"))
  ]
  if len(cases) != len(labels):
    raise ValueError(f"{source}: {len(cases)} data lines, {len(labels)} labels.")
  rng = np.random.default_rng(seed)
  keep = []
  for c in np.unique(labels):
    idx = np.flatnonzero(labels == c)
    if len(idx) < shots:
      raise ValueError(f"{source}: class {c} has {len(idx)} cases, fewer than {shots}.")
    keep.extend(rng.choice(idx, shots, replace=False))
  keep = np.sort(np.array(keep, int))
  with open(target, "w") as f:
    f.write("\n".join(lines[:start] + [cases[i] for i in keep]) + "\n")
  return keep


def run(train: str, test: str, seed: int, **fields) -> dict:
  from experiments import classify, configs
  config = configs.get("classify", train_ts=train, test_ts=test, seed=seed, **fields)
  return classify.train_and_evaluate(config, None, log=lambda *_: None)


def main(argv):
  del argv
  from rnn_jax.data.ts import read_ts
  from rnn_jax.parallel import set_cpu_devices_if_unset
  set_cpu_devices_if_unset()
  cache = flags.FLAGS.cache
  roots = {
      "aeon": os.path.join(own_data.extract(cache), "datasets", "data"),
      "unseen": unseen_ts.prepare(cache)
  }
  out_root = os.path.join(cache, "few_shot")
  chosen = own_data.chosen_problems([name for name, _ in PROBLEMS])
  rows = []
  for shots in map(int, _SHOTS.value):
    for name, where in PROBLEMS:
      if name not in chosen:
        continue
      folder = os.path.join(roots[where], name)
      source = os.path.join(folder, f"{name}_TRAIN.ts")
      test = os.path.join(folder, f"{name}_TEST.ts")
      target_dir = os.path.join(out_root, f"{name}_{shots}")
      os.makedirs(target_dir, exist_ok=True)
      train = os.path.join(target_dir, f"{name}{shots}_TRAIN.ts")
      subset_ts(source, train, read_ts(source).labels, shots, seed=0)
      result = {"data": name, "shots": shots, "seeds": flags.FLAGS.seeds}
      for mode, fields in (("all", {}), ("holdout", {"validate_min_class": 0})):
        runs = [run(train, test, seed, **fields) for seed in range(flags.FLAGS.seeds)]
        accs = [r["test_accuracy"] for r in runs]
        result[mode] = own_data.mean_sd(accs)
        result[mode + "_seconds"] = float(np.mean([r["seconds"] for r in runs]))
        result[mode + "_validated"] = runs[0]["validated"]
      result["train"], result["test"] = runs[0]["train_size"], runs[0]["test_size"]
      rows.append(result)
      print(json.dumps(result), flush=True)
  from experiments.outputs import save_text  # atomic writes
  os.makedirs(flags.FLAGS.outdir, exist_ok=True)
  rows = merge_rows(os.path.join(flags.FLAGS.outdir, "few_shot.json"), rows)
  save_text(flags.FLAGS.outdir, "few_shot.json", json.dumps(rows, indent=1))
  table = markdown(rows)
  save_text(flags.FLAGS.outdir, "few_shot.md", table)
  print(table)


def merge_rows(path: str, rows: list) -> list:
  """``rows`` with the rows of ``path`` (an earlier few_shot.json) that they do not replace
  (same problem and shots), ordered by shots, then ``PROBLEMS``."""
  earlier = []
  if os.path.exists(path):
    with open(path) as f:
      earlier = json.load(f)
  order = [name for name, _ in PROBLEMS]
  return own_data.merge_rows(earlier, rows, lambda r: (r["data"], r["shots"]), lambda r:
                             (r["shots"], order.index(r["data"])))


def markdown(rows) -> str:
  out = [
      "| problem | per class | train/test | every member on all (default) | held-out folds "
      "(validate_min_class=0) | difference |", "|---|---|---|---|---|---|"
  ]
  for r in rows:
    (a, a_sd), (h, h_sd) = r["all"], r["holdout"]
    out.append(f"| {r['data']} | {r['shots']} | {r['train']}/{r['test']} | "
               f"{100 * a:.1f}% ± {100 * a_sd:.1f} ({r['all_seconds']:.0f} s) | "
               f"{100 * h:.1f}% ± {100 * h_sd:.1f} ({r['holdout_seconds']:.0f} s) | "
               f"{100 * (a - h):+.1f} |")
  seeds = "/".join(str(n) for n in sorted({r.get("seeds", 1) for r in rows}))
  return "\n".join(out) + f"\n\n{seeds} seed(s) per cell; subsets drawn with seed 0.\n"


if __name__ == "__main__":
  app.run(main)
