"""Univariate series for forecasting: the yearly sunspots and any numeric CSV column.

``forecast_windows`` turns a series into many-to-one examples (the last ``window`` values →
the next value); ``split_series`` keeps time order (the held-out tail comes last).
"""
from __future__ import annotations

import csv
import os

import numpy as np

from rnn_jax.data.common import optional_import


def load_sunspots():
  """``(years [309], counts [309])``: yearly mean sunspot numbers 1700–2008 (statsmodels,
  extra ``[data]``)."""
  sunspots = optional_import("statsmodels.datasets.sunspots", "statsmodels")
  frame = sunspots.load_pandas().data
  return frame["YEAR"].to_numpy(np.int32), frame["SUNACTIVITY"].to_numpy(np.float64)


def read_csv_column(path: str, column: str, *, max_rows: int = 10_000_000) -> np.ndarray:
  """The values of ``column`` (a header name, or a 0-based index) of a CSV file, in file order.

  Raises ValueError naming the file (and the row) for an empty file, a missing column, a
  non-numeric or non-finite value, or more than ``max_rows`` rows.
  """
  if not os.path.isfile(path):
    raise FileNotFoundError(f"{path}: no such CSV file.")
  try:
    with open(path, newline="", encoding="utf-8") as f:
      rows = list(csv.reader(f))
  except UnicodeDecodeError as e:
    raise ValueError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start}).") from None
  rows = [r for r in rows if any(cell.strip() for cell in r)]
  if len(rows) < 2:
    raise ValueError(f"{path}: needs a header row and at least one data row, found "
                     f"{len(rows)} non-empty rows.")
  if len(rows) - 1 > max_rows:
    raise ValueError(f"{path}: {len(rows) - 1} rows exceed max_rows={max_rows}.")
  header = [h.strip() for h in rows[0]]
  if column in header:
    index = header.index(column)
  elif str(column).isdigit() and int(column) < len(header):
    index = int(column)
  else:
    raise ValueError(f"{path}: no column {column!r}; the header has {header}.")
  values = []
  for num, row in enumerate(rows[1:], 2):
    cell = row[index].strip() if index < len(row) else ""
    try:
      value = float(cell)
    except ValueError:
      raise ValueError(f"{path}:{num}: column {header[index]!r} holds {cell!r}, not a "
                       f"number.") from None
    if not np.isfinite(value):
      raise ValueError(f"{path}:{num}: column {header[index]!r} holds a non-finite value.")
    values.append(value)
  return np.array(values, np.float64)


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


def forecast_windows(values, window: int):
  """``(xs [N, window, 1], ys [N])`` with ``ys[i] = values[i + window]``."""
  values = np.asarray(values)
  n = len(values) - window
  if n < 1:
    raise ValueError(f"need more than window={window} values, got {len(values)}.")
  idx = np.arange(window)[None, :] + np.arange(n)[:, None]
  return values[idx][..., None], values[window:]
