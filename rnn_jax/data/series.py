"""Univariate series for forecasting: the yearly sunspots and any numeric CSV column.

``forecast_windows`` turns a series into many-to-one examples (the last ``window`` values →
the next value); ``split_series`` keeps time order (the held-out tail comes last).
"""
from __future__ import annotations

import csv
import os

import numpy as np

from rnn_jax.data.common import (check_missing_policy, interpolate_nans, missing_report,
                                 optional_import)


def load_sunspots():
  """``(years [309], counts [309])``: yearly mean sunspot numbers 1700–2008 (statsmodels,
  extra ``[data]``)."""
  sunspots = optional_import("statsmodels.datasets.sunspots", "statsmodels")
  frame = sunspots.load_pandas().data
  return frame["YEAR"].to_numpy(np.int32), frame["SUNACTIVITY"].to_numpy(np.float64)


def read_csv_column(path: str,
                    column: str,
                    *,
                    max_rows: int = 10_000_000,
                    missing: str = "error") -> np.ndarray:
  """The values of ``column`` (a header name, or a 0-based index) of a CSV file, in file order.

  Blank, ``NA``/``NaN`` and ``?`` cells are missing: ``missing="error"`` counts them and names
  the first rows, ``"drop"`` leaves those rows out, ``"interpolate"`` fills them linearly
  from their neighbours in time. Raises ValueError naming the file (and the row) for an empty
  file, a missing column, a non-numeric or infinite value, or more than ``max_rows`` rows.
  """
  check_missing_policy(missing)
  if not os.path.isfile(path):
    raise FileNotFoundError(f"{path}: no such CSV file.")
  try:
    with open(path, newline="", encoding="utf-8") as f:
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
  if column in header:
    index = header.index(column)
  elif str(column).isdigit() and int(column) < len(header):
    index = int(column)
  else:
    raise ValueError(f"{path}: no column {column!r}; the header has {header}.")
  values, gaps = [], []
  for num, row in numbered[1:]:
    cell = row[index].strip() if index < len(row) else ""
    if cell.lower() in ("", "na", "nan", "?", "null", "none"):
      gaps.append(f"row {num}")
      values.append(np.nan)
      continue
    try:
      value = float(cell)
    except ValueError:
      raise ValueError(f"{path}:{num}: column {header[index]!r} holds {cell!r}, not a "
                       f"number.") from None
    if not np.isfinite(value):
      raise ValueError(f"{path}:{num}: column {header[index]!r} holds a non-finite value.")
    values.append(value)
  values = np.array(values, np.float64)
  if gaps and missing == "error":
    raise ValueError(f"{path}: column {header[index]!r}: "
                     f"{missing_report(gaps, 'rows', len(values))}; pass missing='drop' or "
                     "'interpolate' (launcher: --config.missing=...).")
  if gaps and len(gaps) == len(values):
    raise ValueError(f"{path}: column {header[index]!r} has no values, only missing cells.")
  return values[~np.isnan(values)] if missing == "drop" else interpolate_nans(values)


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
