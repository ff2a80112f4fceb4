"""Date/time columns: parse them, infer the sampling interval and the periods it implies, and lay
the rows on a regular grid so that times that never appear become missing values.

Times are read by ``rnn_jax.data.time_formats`` (``parse_times``; its docstring lists the
formats).

Candidate periods come from the natural cycles (a day, a week, a year) divided by the
interval, e.g. half-hourly 48 and 336, hourly 24 and 168, daily 7 and 365.25 (used as 365),
business days 5, weekly 52, monthly 12, quarterly 4, yearly none.
"""
from __future__ import annotations

import datetime as dt
from typing import NamedTuple

import numpy as np

from rnn_jax.data.time_formats import NAMED_TIME, parse_times  # noqa: F401 (re-exported)

_DAY, _YEAR = 86400.0, 365.25 * 86400.0


class Interval(NamedTuple):
  """A sampling interval: ``name``, ``seconds`` (a typical step), ``months`` (calendar steps for
  monthly, quarterly and yearly data, else 0), ``business`` (daily data without weekends)."""
  name: str
  seconds: float
  months: int = 0
  business: bool = False


def infer_interval(seconds) -> Interval:
  """The interval of sorted times: the median step between consecutive times, named when it
  lies within 2% of a minute, 5, 10, 15 or 30 minutes, an hour, a day or a week, or within the
  28–31, 89–92 or 365–366 days of calendar months, quarters and years (so that fractional years,
  which round, still count); ``seconds`` is the mean of the steps within 2% of the median."""
  t = np.asarray(seconds, np.float64)
  steps = np.diff(t)
  steps = steps[steps > 0]
  if not len(steps):
    raise ValueError("the time column needs at least two distinct times.")
  median = float(np.median(steps))
  near = steps[np.abs(steps - median) <= 0.02 * median]
  step = float(near.mean()) if len(near) else median  # an even count's median may match none
  days = step / _DAY
  for name, lo, hi, months in (("monthly", 27.5, 31.5, 1), ("quarterly", 88.5, 92.5, 3),
                               ("yearly", 364.5, 366.5, 12)):
    if lo <= days <= hi:
      return Interval(name, step, months)
  if abs(days - 1) < 0.02:
    weekday = (np.floor(t / _DAY).astype(np.int64) + 3) % 7  # 1970-01-01: a Thursday
    if len(t) >= 10 and not np.any(weekday >= 5):
      return Interval("business daily", _DAY, business=True)
  for nominal, name in ((60, "minutely"), (300, "5-minute"), (600, "10-minute"),
                        (900, "quarter-hourly"), (1800, "half-hourly"), (3600, "hourly"),
                        (_DAY, "daily"), (7 * _DAY, "weekly")):
    if abs(step - nominal) <= 0.02 * nominal:
      return Interval(name, float(nominal) if step == round(step) else step)
  return Interval(f"every {step:g} s", step)


def candidate_periods(interval: Interval) -> list[int]:
  """Periods implied by the interval: a day, a week and a year in steps, where that is a whole
  number of steps (a year is rounded: 365 days, 52 weeks, 8,766 hours) and at least 2."""
  if interval.months:
    return [12 // interval.months] if interval.months < 12 else []
  if interval.business:
    return [5]
  out = []
  for cycle in (_DAY, 7 * _DAY, _YEAR):
    steps = cycle / interval.seconds
    near = int(round(steps))
    if near >= 2 and (abs(steps - near) < 0.02 or cycle == _YEAR):
      out.append(near)
  return out


def _uniform_positions(t, step: float) -> tuple[np.ndarray, int]:
  """``(positions, restarts)`` of sorted times on a uniform grid whose phase may restart after a
  gap (a logger switched back on at another second): each time is placed by its distance, in
  steps, from the first time of its segment; a time more than a tenth of a step off that grid
  starts a new segment, the whole number of steps nearest its distance from the time before it
  (at least one) later."""
  pos = np.zeros(len(t), np.int64)
  anchor, base, restarts = t[0], 0, 0
  for i in range(1, len(t)):
    rel = (t[i] - anchor) / step
    k = int(round(rel))
    if abs(rel - k) <= 0.1:
      pos[i] = base + k
    else:
      pos[i] = pos[i - 1] + max(1, int(round((t[i] - t[i - 1]) / step)))
      anchor, base, restarts = t[i], pos[i], restarts + 1
  return pos, restarts


def grid_positions(seconds, interval: Interval, with_restarts: bool = False):
  """Each time's index on the regular grid that starts at the first time (calendar months for
  monthly data, weekdays for business days); repeated times share an index. On a uniform grid
  (half-hourly to weekly, or any other fixed step) the phase may restart after a gap
  (``_uniform_positions``); ``with_restarts`` also returns how many times did so. Raises
  ValueError for a time off a calendar grid, or when more than one time in 20 restarts the
  phase (the times follow no regular grid)."""
  t = np.asarray(seconds, np.float64)
  restarts = 0
  if interval.months:
    dates = [dt.datetime(1970, 1, 1) + dt.timedelta(seconds=float(s)) for s in t]
    month = np.array([d.year * 12 + d.month - 1 for d in dates])
    pos, off = np.divmod(month - month[0], interval.months)
  elif interval.business:
    day = np.floor(t / _DAY).astype(np.int64)
    weeks, weekday = np.divmod(day + 3, 7)  # Monday = 0
    pos = weeks * 5 + weekday
    pos, off = pos - pos[0], np.zeros_like(pos)
  else:
    pos, restarts = _uniform_positions(t, interval.seconds)
    off = np.zeros_like(pos)
    if restarts > len(t) / 20:
      raise ValueError(f"{restarts} of {len(t)} times are off the {interval.name} grid that "
                       "the times before them follow: the times follow no regular grid.")
  if np.any(off):
    i = int(np.argmax(off != 0))
    raise ValueError(f"time {i + 1} is not on the {interval.name} grid that the other times "
                     "follow.")
  return (pos, restarts) if with_restarts else pos


class Grid(NamedTuple):
  """A series on its regular grid: ``times [M]``, ``values [M]`` (NaN: missing), ``interval``,
  ``added [M]`` (grid times that no row has), ``repeated`` (rows merged into an earlier row's
  step), ``step_of_row [N]`` (the grid index of each input row, in input order) and
  ``restarts`` (rows after a gap whose phase left the grid, placed on the nearest step)."""
  times: np.ndarray
  values: np.ndarray
  interval: Interval
  added: np.ndarray
  repeated: int
  step_of_row: np.ndarray
  restarts: int = 0


def grid_times(pos, t0: float, interval: Interval) -> np.ndarray:
  """The times of grid indices ``pos`` on a calendar grid that starts at time ``t0``
  (``grid_positions``' inverse): calendar months (monthly, quarterly, yearly data) keep the first
  time's day and time of day, clipped to the month's length; business days keep its time of
  day and skip weekends."""
  pos = np.asarray(pos, np.int64)
  start = dt.datetime(1970, 1, 1) + dt.timedelta(seconds=float(t0))
  if interval.months:
    out = []
    for k in pos:
      y, m = divmod(start.year * 12 + start.month - 1 + int(k) * interval.months, 12)
      last = (dt.date(y + (m == 11), (m + 1) % 12 + 1, 1) - dt.timedelta(days=1)).day
      when = start.replace(year=y, month=m + 1, day=min(start.day, last))
      out.append((when - dt.datetime(1970, 1, 1)).total_seconds())
    return np.array(out, np.float64)
  if not interval.business:
    raise ValueError("grid_times: a calendar interval (months or business days) is needed.")
  day0 = int(np.floor(t0 / _DAY))
  weeks, weekday = np.divmod(pos + (day0 + 3) // 7 * 5 + (day0 + 3) % 7, 5)
  return (weeks * 7 + weekday - 3 - day0) * _DAY + t0


def regularise(seconds, values) -> Grid:
  """The rows sorted by time and laid on their grid. Rows on the same grid step (a clock set back
  an hour, a copied row) are averaged over their known values; the grid times that no row has
  get NaN values (missing) and their times: on a calendar grid the exact date (``grid_times``),
  otherwise interpolated between their neighbours."""
  t = np.asarray(seconds, np.float64)
  order = np.argsort(t, kind="stable")
  t, v = t[order], np.asarray(values, np.float64)[order]
  interval = infer_interval(t)
  pos, restarts = grid_positions(t, interval, with_restarts=True)
  known = ~np.isnan(v)
  total = np.bincount(pos, np.where(known, v, 0.0), pos[-1] + 1)
  count = np.bincount(pos, known, pos[-1] + 1)
  rows = np.bincount(pos, minlength=pos[-1] + 1)
  first = np.flatnonzero(np.r_[True, np.diff(pos) > 0])
  step_of_row = np.empty_like(pos)
  step_of_row[order] = pos
  times = np.interp(np.arange(len(rows)), pos[first], t[first])
  if (interval.months or interval.business) and np.any(rows == 0):  # exact calendar times
    times[rows == 0] = grid_times(np.flatnonzero(rows == 0), t[0], interval)
  return Grid(times, np.where(count > 0, total / np.maximum(count, 1), np.nan), interval, rows == 0,
              int(len(t) - len(first)), step_of_row, restarts)
