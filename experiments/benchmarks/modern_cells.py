"""The cells side by side on a recall task, at (nearly) equal parameter counts.

  python -m experiments.benchmarks.modern_cells --task=selective_copy --cells=lstm,gru,min_gru,\
lru,rg_lru,s5,s6,slstm,mlstm --seeds=3 --params=20000 --out=experiments/results/modern_cells.md

``--cells=block:mamba,block:hawk`` compares two residual blocks (``rnn_jax.blocks``) instead.

Each cell gets the hidden size H in [4, 512] whose whole model (cell + readout) has the
parameter count closest to ``--params``; every run is the task's (``selective_copy``,
``induction_heads`` or ``mqar``) with its defaults otherwise (``--steps``, ``--length`` override
them). The table gives, over the seeds, mean ± sd of the answers right (and at each longer
evaluation length) and the whole sequences right at the last evaluation, the first step whose
evaluation reached ``--reach`` of answers right (runs that never did are counted apart), the
wall time and the milliseconds per training step (wall time / steps, evaluations included).
"""
from __future__ import annotations

import importlib
import statistics

import jax
from absl import app, flags

from experiments import configs, recall

FLAGS = flags.FLAGS
flags.DEFINE_enum("task", "selective_copy", ["selective_copy", "induction_heads", "mqar"],
                  "the recall task")
flags.DEFINE_list("cells",
                  ["lstm", "gru", "min_gru", "lru", "rg_lru", "s5", "s6", "slstm", "mlstm"],
                  "cells to compare")
flags.DEFINE_integer("seeds", 3, "seeds per cell")
flags.DEFINE_integer("params", 20000, "the parameter count each model is sized to")
flags.DEFINE_integer("steps", None, "training steps (default: the task's)")
flags.DEFINE_integer("length", None, "T (default: the task's)")
flags.DEFINE_float("reach", 0.9, "the token accuracy whose first step is reported")
flags.DEFINE_string("out", None, "write the markdown table here too")


def parameter_count(config, hidden: int) -> int:
  c = configs.replace(config, hidden_size=hidden)
  model = recall.build_model(c, _task(c).classes(c))
  shapes = jax.eval_shape(model.init, jax.random.PRNGKey(0))
  return sum(int(x.size) for x in jax.tree_util.tree_leaves(shapes))


def _task(config):
  return importlib.import_module(f"experiments.{config.task}")


def sized(config, target: int):
  """(H, count): the hidden size in [4, 512] whose count is closest to ``target``."""
  best = None
  for hidden in range(4, 513, 4):
    count = parameter_count(config, hidden)
    if best is None or abs(count - target) < abs(best[1] - target):
      best = (hidden, count)
    if count > 2 * target:
      break
  return best


def _mean_sd(values, fmt="{:.1f}"):
  if not values:
    return "—"
  sd = statistics.stdev(values) if len(values) > 1 else 0.0
  return f"{fmt.format(statistics.mean(values))} ± {fmt.format(sd)}"


def row(cell: str, base_config, seeds: int, target: int, reach: float) -> str:
  """``cell``: a cell name, or ``block:KIND`` for two residual blocks of ``rnn_jax.blocks``."""
  if cell.startswith("block:"):
    config = configs.replace(base_config, block=cell[6:], num_layers=2)
  else:
    config = configs.replace(base_config, cell=cell)
  hidden, count = sized(config, target)
  tokens, seqs, steps, walls, ms = [], [], [], [], []
  prefixes = [f"x{f}_" for f in config.get("eval_factors", ())]
  longer = {p: [] for p in prefixes}
  for seed in range(seeds):
    c = configs.replace(config, hidden_size=hidden, seed=seed)
    report = _task(c).train_and_evaluate(c, None, log=lambda *a, **k: None)
    final = report["final"]
    tokens.append(100 * float(final["eval_tokens_right"]))
    seqs.append(100 * float(final["eval_sequences_right"]))
    for p in prefixes:
      longer[p].append(100 * float(final[f"eval_{p}tokens_right"]))
    hit = [r["step"] for r in report["history"] if r["eval_tokens_right"] >= reach]
    if hit:
      steps.append(hit[0])
    walls.append(report["seconds"])
    ms.append(1000 * report["seconds"] / final["step"])
  extra = "".join(f" {_mean_sd(v)} |" for v in longer.values())
  return (f"| {cell} | {hidden} | {count:,} | {_mean_sd(tokens)} | {_mean_sd(seqs)} |{extra} "
          f"{_mean_sd(steps, '{:.0f}')} ({len(steps)}/{seeds}) | {_mean_sd(walls, '{:.0f}')} | "
          f"{_mean_sd(ms)} |")


def main(argv):
  del argv
  config = configs.get(FLAGS.task)
  changes = {k: v for k, v in (("steps", FLAGS.steps), ("length", FLAGS.length)) if v}
  config = configs.replace(config, **changes)
  task = {
      k: config[k] for k in ("length", "num_tokens", "vocab", "num_queries", "num_keys",
                            "num_values", "eval_factors") if k in config
  }
  factors = config.get("eval_factors", ())
  lines = [
      f"{FLAGS.task} ({', '.join(f'{k} {v}' for k, v in task.items())}), "
      f"{config.steps} steps, batch {config.batch_size}, {config.optimizer} "
      f"{config.learning_rate}; models sized to ~{FLAGS.params:,} parameters; {FLAGS.seeds} seeds "
      f"(mean ± sd).", "", f"| cell | H | params | answers right % | sequences right % |" +
      "".join(f" answers right at {f}x length % |" for f in factors) +
      f" first step ≥ {100 * FLAGS.reach:.0f}% (runs) | wall s | ms/step |",
      "|---|---|---|---|---|" + "---|" * len(factors) + "---|---|---|"
  ]
  print("\n".join(lines), flush=True)
  for cell in FLAGS.cells:
    lines.append(row(cell, config, FLAGS.seeds, FLAGS.params, FLAGS.reach))
    print(lines[-1], flush=True)
  if FLAGS.out:
    with open(FLAGS.out, "w", encoding="utf-8") as f:
      f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
  app.run(main)
