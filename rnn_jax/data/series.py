"""Univariate series for forecasting: the yearly sunspots and any numeric CSV column.

``forecast_windows`` turns a series into many-to-one examples (the last ``window`` values →
the next value); ``split_series`` keeps time order (the held-out tail comes last).
"""
from __future__ import annotations

import csv
import os
import re
from typing import NamedTuple

import numpy as np

from rnn_jax.data import timestamps
from rnn_jax.data.common import (is_number, check_missing_policy, interpolate_nans, missing_report,
                                 optional_import)


def load_sunspots():
  """``(years [309], counts [309])``: yearly mean sunspot numbers 1700–2008 (statsmodels,
  extra ``[data]``)."""
  sunspots = optional_import("statsmodels.datasets.sunspots", "statsmodels")
  frame = sunspots.load_pandas().data
  return frame["YEAR"].to_numpy(np.int32), frame["SUNACTIVITY"].to_numpy(np.float64)


class Series(NamedTuple):
  """A CSV series: ``values [M]`` in time order (missing ones handled as ``missing`` said),
  ``times [M]`` (seconds since 1970; None without a time column), ``interval`` and its
  candidate ``periods`` (``rnn_jax.data.timestamps``), the ``time_column`` and value ``column``
  names, ``blank`` (missing cells), ``added`` (times on the grid that no row has),
  ``repeated`` (rows on the grid step of an earlier row, averaged with it) and ``restarts``
  (rows whose time left the grid's phase, placed on the nearest step after the row before:
  ``timestamps.grid_positions``)."""
  values: np.ndarray
  times: np.ndarray | None
  interval: timestamps.Interval | None
  periods: list
  time_column: str | None
  column: str
  blank: int
  added: int
  repeated: int = 0
  restarts: int = 0


def _column(header, name, path, what="column"):
  if name in header:
    return header.index(name)
  if str(name).isdigit() and int(name) < len(header):
    return int(name)
  raise ValueError(f"{path}: no {what} {name!r}; the header has {header}.")


def _find_time_column(header, rows, skip, path):
  """The column (other than ``skip``) whose cells all read as times, the one with the most
  distinct times where several do (a ``date`` beside a ``datetime``: the rows are hourly, not
  daily); a text column, or a numeric one whose values increase and whose name is time-like
  (``year``, ``date``, …) or missing (a blank header or pandas' ``Unnamed: 0``, as a frame's
  index is written: years 1821, 1822, … count, a row count 0, 1, … reads as no time)."""
  best, most = None, 0
  for j, name in enumerate(header):
    cells = [r[j].strip() if j < len(r) else "" for r in rows]
    if j == skip or not all(cells):
      continue
    if all(is_number(c) for c in cells):
      v = np.array([float(c) for c in cells])
      unnamed = not name or re.fullmatch(r"Unnamed: \d+", name)
      if not ((timestamps.NAMED_TIME.search(name) or unnamed) and np.all(np.diff(v) > 0)):
        continue
    try:
      distinct = len(np.unique(timestamps.parse_times(cells, f"{path}: column {name!r}")[0]))
    except ValueError:
      continue
    if distinct > most:
      best, most = j, distinct
  return best


def read_csv_series(path: str,
                    column: str | None = None,
                    *,
                    time_column: str | None = None,
                    missing: str = "error",
                    max_rows: int = 10_000_000) -> Series:
  """One numeric column of a CSV file as a series, placed in time by a date/time column.

  ``column``: a header name or a 0-based index; None picks the only numeric column that is not
  the time column. ``time_column``: a name or index; None detects one (see
  ``_find_time_column``); ``""`` reads none (rows in file order). With times, the rows are
  sorted by time and laid on the inferred interval's grid (rows of one grid step averaged): a
  time that never appears is a
  missing value, as a blank, ``NA``/``NaN``/``?``/``null`` cell is. ``missing="error"`` counts
  them and names the first; ``"drop"`` leaves them out; ``"interpolate"`` fills them linearly
  from their neighbours in time. Raises ValueError naming the file (and row) for an empty file,
  a missing column, a non-numeric or infinite value, an unreadable time, or more
  than ``max_rows`` rows.
  """
  check_missing_policy(missing)
  if not os.path.isfile(path):
    raise FileNotFoundError(f"{path}: no such CSV file.")
  try:
    with open(path, newline="", encoding="utf-8-sig") as f:
      rows = list(csv.reader(f))
  except UnicodeDecodeError as e:
    raise ValueError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start}).") from None
  numbered = [(n, r) for n, r in enumerate(rows, 1) if any(cell.strip() for cell in r)]
  if len(numbered) < 2:
    raise ValueError(f"{path}: needs a header row and at least one data row, found "
                     f"{len(numbered)} non-empty rows.")
  if len(numbered) - 1 > max_rows:
    raise ValueError(f"{path}: {len(numbered) - 1} rows exceed max_rows={max_rows}.")
  header = [h.strip() for h in numbered[0][1]]
  data = [r for _, r in numbered[1:]]
  cell = lambda r, j: r[j].strip() if j < len(r) else ""
  index = None if column is None else _column(header, column, path)
  if time_column == "":
    t_index = None
  elif time_column is not None:
    t_index = _column(header, time_column, path, "time column")
  else:
    t_index = _find_time_column(header, data, index, path)
  if index is None:
    numeric = [
        j for j in range(len(header)) if j != t_index and all(
            is_number(cell(r, j)) or cell(r, j).lower() in _MISSING for r in data) and any(
                is_number(cell(r, j)) for r in data)
    ]
    if len(numeric) != 1:
      raise ValueError(f"{path}: name the value column (--config.column): "
                       f"{'no' if not numeric else len(numeric)} numeric columns "
                       f"{[header[j] for j in numeric]}.")
    index = numeric[0]
  values, gaps, blank_rows = [], [], []
  for i, (num, row) in enumerate(numbered[1:]):
    text = cell(row, index)
    if text.lower() in _MISSING:
      gaps.append(f"row {num}")
      blank_rows.append(i)
      values.append(np.nan)
      continue
    try:
      value = float(text)
    except ValueError:
      raise ValueError(f"{path}:{num}: column {header[index]!r} holds {text!r}, not a "
                       f"number.") from None
    if not np.isfinite(value):
      raise ValueError(f"{path}:{num}: column {header[index]!r} holds a non-finite value.")
    values.append(value)
  values = np.array(values, np.float64)
  times, interval, periods, added, repeated = None, None, [], np.zeros(len(values), bool), 0
  restarts = 0
  if t_index is not None:
    name = f"{path}: time column {header[t_index]!r}"
    cells = [cell(r, t_index) for r in data]
    if not all(cells):
      raise ValueError(f"{name}: row {numbered[1 + cells.index('')][0]} has no time.")
    seconds, _ = timestamps.parse_times(cells, name)
    try:
      grid = timestamps.regularise(seconds, values)
    except ValueError as e:
      raise ValueError(f"{name}: {e}") from None
    times, values, interval, added, repeated = grid[:5]
    restarts = grid.restarts
    # a blank cell is missing only when no other row of its time step has a value
    gaps = [g for g, i in zip(gaps, blank_rows) if np.isnan(values[grid.step_of_row[i]])]
    periods = timestamps.candidate_periods(interval)
  if (gaps or added.any()) and missing == "error":
    parts = [missing_report(gaps, "rows", len(data))] if gaps else []
    if added.any():
      first = [str(np.datetime64(int(s), "s")) for s in times[added][:3]]
      parts.append(f"{added.sum()} {interval.name} times in {len(values)} have no row (first: "
                   f"{', '.join(first)}{', ...' if added.sum() > 3 else ''})")
    raise ValueError(f"{path}: column {header[index]!r}: {'; '.join(parts)}; pass "
                     "missing='drop' or 'interpolate' (launcher: --config.missing=...).")
  if np.all(np.isnan(values)):
    raise ValueError(f"{path}: column {header[index]!r} has no values, only missing cells.")
  keep = ~np.isnan(values) if missing == "drop" else np.ones(len(values), bool)
  values = values[keep] if missing == "drop" else interpolate_nans(values)
  return Series(values, None if times is None else times[keep], interval, periods,
                None if t_index is None else header[t_index], header[index], len(gaps),
                int(added.sum()), repeated, restarts)


def read_csv_column(path: str,
                    column: str,
                    *,
                    max_rows: int = 10_000_000,
                    missing: str = "error") -> np.ndarray:
  """The values of ``column`` (a header name, or a 0-based index) in file order: the
  ``values`` of ``read_csv_series`` without a time column."""
  return read_csv_series(path, column, time_column="", missing=missing, max_rows=max_rows).values


_MISSING = ("", "na", "nan", "?", "null", "none", "n/a")


def seasonal_period(values, max_period: int | None = None, threshold: float = 0.3) -> int | None:
  """The period of an obvious season: the lag ``p >= 2`` where the autocorrelation of the
  first differences peaks, if that peak is a local maximum above ``threshold`` and the series
  holds at least three periods (``max_period`` defaults to a third of its length); None when
  there is no such season."""
  d = np.diff(np.asarray(values, np.float64))
  d = d - d.mean()
  top = min(max_period or len(values) // 3, len(d) - 2)
  if top < 2 or not np.any(d):
    return None
  acf = np.array([np.dot(d[:-k], d[k:]) for k in range(1, top + 1)]) / np.dot(d, d)
  lags = [k for k in range(2, top) if acf[k - 1] >= acf[k - 2] and acf[k - 1] >= acf[k]]
  if not lags:
    return None
  best = max(lags, key=lambda k: acf[k - 1])
  return best if acf[best - 1] > threshold else None


def split_series(values, test_size: int, window: int):
  """``(train, test_context)``: train is all but the last ``test_size`` values; the test part
  keeps the ``window`` values before it as context, so its first target is ``values[-test_size]``.
  """
  values = np.asarray(values, np.float64)
  if values.ndim != 1:
    raise ValueError(f"values must be a 1-D series, got shape {values.shape}.")
  if test_size < 1 or window < 1:
    raise ValueError(f"test_size and window must be >= 1, got {test_size}, {window}.")
  if len(values) < test_size + 2 * window:
    raise ValueError(f"a series of {len(values)} values is too short for test_size={test_size} "
                     f"and window={window} (needs >= {test_size + 2 * window}).")
  return values[:-test_size], values[-(test_size + window):]


def forecast_windows(values, window: int, horizon: int = 1):
  """``(xs [N, window, 1], ys [N, horizon])``: ``ys[i, k] = values[i + window + k]``, the next
  ``horizon`` values after each window (``horizon=1``: ``ys [N]``, as before)."""
  values = np.asarray(values)
  n = len(values) - window - horizon + 1
  if window < 1 or horizon < 1:
    raise ValueError(f"window and horizon must be >= 1, got {window}, {horizon}.")
  if n < 1:
    raise ValueError(f"need at least window + horizon = {window + horizon} values, got "
                     f"{len(values)}.")
  idx = np.arange(window)[None, :] + np.arange(n)[:, None]
  ys = values[np.arange(horizon)[None, :] + window + np.arange(n)[:, None]]
  return values[idx][..., None], (ys[:, 0] if horizon == 1 else ys)
