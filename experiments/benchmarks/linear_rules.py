"""How the forecaster's linear part is chosen, measured on held-out rounds of
``unseen_forecast`` (default: 1, 2 and 3, the rounds the rules were developed on): the linear
part alone, no recurrent part.

  python -m experiments.benchmarks.linear_rules   # prints one line per rule and a table
  python -m experiments.benchmarks.linear_rules --rounds=4,5 --rules="later half + unit-root test"

Rules: how far back validation reaches, "tail x2" (sessions 10-14: the validation tail and as
much again before it, at most half of the series before the test tail) or "later half" (the
later half of the series before the test tail); and which ARs the choice may take: level ARs
only ("levels"), level ARs and ARs of the changes ("both"), or one family by the unit-root test
("unit-root test", ``rnn_jax.models.ar_families``), optionally with the same choice made on log y
added where the series is positive ("+ logs"; "by a margin": only where validation prefers it
by more than one standard error, ``choose_linear_part(log_margin=True)``), optionally keeping
persistence unless the part chosen beats it by more than k standard errors ("persistence by k
se", ``choose_linear_part(persistence_margin=k)``). Each scores 4
rolling-origin blocks and chooses by the one-standard-error rule
(``rnn_jax.models.linear_part.linear_parts``); the test RMSE is that of the chosen part refitted
on training + validation, beside persistence on the same targets.
"""
from __future__ import annotations

import time

import numpy as np
from absl import app, flags

from experiments.benchmarks import unseen_forecast  # noqa: F401 (its flags and own_data's)

_HALF = lambda p: (p["fit"] + p["val"]) // 2
# name: (validation span, differences, blocks scaled by persistence, log twins[, persistence
# margin in standard errors])
RULES = {
    "tail x2 + levels": (lambda p: min(2 * p["val"],
                                       (p["fit"] + p["val"]) // 2), "never", False, False),
    "later half + levels": (_HALF, "never", False, False),
    "later half + both": (_HALF, "both", False, False),
    "later half + unit-root test": (_HALF, "test", False, False),
    "later half + unit-root test + blocks scaled": (_HALF, "test", True, False),
    "later half + unit-root test + blocks scaled + logs": (_HALF, "test", True, True),
    "later half + unit-root test + blocks scaled + logs by a margin":
        (_HALF, "test", True, "margin"),
    "... + logs by a margin + persistence by 1 se": (_HALF, "test", True, "margin", 1.0),
    "... + logs by a margin + persistence by 2 se": (_HALF, "test", True, "margin", 2.0),
}
_RULES = flags.DEFINE_list("rules", list(RULES), "Which rules to run.")
_ROUNDS = flags.DEFINE_list("rounds", ["1", "2", "3"], "Which rounds' series.")


def held_out_rmse(values,
                  p,
                  span,
                  differences,
                  per_block,
                  logs=False,
                  persistence_margin=0.0) -> tuple[float, float, str]:
  """(model, persistence) RMSE on the test tail and the chosen part's label."""
  from rnn_jax import baselines
  from rnn_jax.models import linear_part as lp
  name, parts, _ = lp.linear_parts(
      values,
      p,
      span,
      differences,
      per_block,
      bool(logs),
      log_margin=logs == "margin",
      persistence_margin=persistence_margin)
  stop, h = p["fit"] + p["val"], p["horizon"]
  part = lp.refit(parts[name], values, stop, h)
  xs, ys, _ = baselines.windows(values, stop, len(values), max(part.context, 1), h)
  return (baselines.rmse(lp.linear_forecast(part, xs, h),
                         ys), baselines.rmse(baselines.persistence(xs, h), ys), part.label)


def main(argv):
  del argv
  from experiments import configs, forecast
  cache = flags.FLAGS.cache
  rows = []
  series = [s for r in _ROUNDS.value for s in unseen_forecast.ROUNDS[int(r)]]
  for name, source, what, extra in series:
    path, column = unseen_forecast.write_series(cache, source, what)
    config = configs.get("forecast", csv=path, column=column, **extra)
    data = forecast.load(config)
    p = forecast.plan(len(data["values"]), data["values"], config, data["periods"])
    rows.append((name, data["values"], p))
  table = {}
  rules = {r: RULES[r] for r in _RULES.value}
  for rule, (span_of, *how) in rules.items():
    start = time.time()
    table[rule] = [held_out_rmse(values, p, span_of(p), *how) for _, values, p in rows]
    # a test tail that persistence forecasts exactly (RMSE 0) has no ratio: left out here
    ratio = np.array([m / b for m, b, _ in table[rule] if b > 0])
    print(f"{rule}: {len(ratio)} rows, geometric mean of RMSE / persistence "
          f"{np.exp(np.log(ratio).mean()):.4f}, worse than persistence on "
          f"{int((ratio > 1.0005).sum())} (worst {ratio.max():.3f}), {time.time() - start:.0f} s")
  print("| series | " + " | ".join(f"{r}: part, ÷ persistence" for r in rules) + " |")
  print("|---|" + "---|" * len(rules))
  for i, (name, _, _) in enumerate(rows):
    cells = [
        f"{table[r][i][2]}, " + (f"{table[r][i][0] / table[r][i][1]:.3f}"
                                 if table[r][i][1] > 0 else f"{table[r][i][0]:.3g} vs 0")
        for r in rules
    ]
    print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
  app.run(main)
