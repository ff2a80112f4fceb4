"""Date/time columns: parse them, infer the sampling interval and the periods it implies, and lay
the rows on a regular grid so that times that never appear become missing values.

Formats read (each column must use one): ISO dates ``2020-01-31`` (or ``2020/01/31``),
datetimes ``2020-01-31 13:30[:00]`` (``T`` separator, fractions and a trailing ``Z`` or UTC
offset allowed: where the times fall at several times of day, those with an offset are converted
to UTC, so a clock change such as ``+01:00`` becoming ``+02:00`` in spring leaves no hole and no
repeated hour; daily and coarser times keep their dates), ``MM/DD/YYYY`` (``DD/MM/YYYY`` when
a first field exceeds 12), ``DD.MM.YYYY``, ``5-Jan-2009``/``05 Jan 09`` (two-digit years as
``strptime``'s ``%y``), either with a time, year-month ``2020-01``/
``2020/01``/``2020M01``/``Jan 2020``/``2020-Jan``, ISO weeks ``2020 W06``/``2020-W06`` (their
Monday), quarters ``2020Q1``/``2020 Q1``/``2020-Q1``, plain years ``1995`` and fractional years
``1995.25`` (R's ``time()`` of a ``ts``).

Candidate periods come from the natural cycles (a day, a week, a year) divided by the
interval, e.g. half-hourly 48 and 336, hourly 24 and 168, daily 7 and 365.25 (used as 365),
business days 5, weekly 52, monthly 12, quarterly 4, yearly none.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import NamedTuple

import numpy as np

_MONTHS = {
    m: i + 1 for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])
}
_TIME = r"(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?(?:Z|([+-])(\d{2}):?(\d{2}))?"
_DAY, _HOUR, _YEAR = 86400.0, 3600.0, 365.25 * 86400.0
NAMED_TIME = re.compile(
    r"^(date|time|datetime|timestamp|ds|year|month|quarter|week|day|period|"
    r"dates?|times?|t)$|date|time|year", re.I)


def _datetime(y, mo, d, h=None, mi=None, s=None, sign=None, oh=None, om=None) -> tuple:
  """``(seconds since 1970-01-01 00:00 of the wall-clock time, UTC offset in seconds)``: the
  offset from ``sign``, hours ``oh`` and minutes ``om`` (local = UTC + offset), 0 without one.
  ``parse_times`` decides which clock a column keeps (``_one_clock``)."""
  t = dt.datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0))
  offset = 0 if sign is None else (1 if sign == "+" else -1) * (int(oh) * 3600 + int(om) * 60)
  return (t - dt.datetime(1970, 1, 1)).total_seconds(), float(offset)


def _year(text: str) -> int:
  """A year of four digits as it is; of two, as C's ``strptime`` reads ``%y``: 69–99 are
  1969–1999, 00–68 are 2000–2068."""
  y = int(text)
  return y if len(text) == 4 else y + (1900 if y >= 69 else 2000)


def _ym(m, order="ym"):
  y, mo = (m.group(1), m.group(2)) if order == "ym" else (m.group(2), m.group(1))
  mo = _MONTHS[mo[:3].lower()] if not mo.isdigit() else int(mo)
  return _datetime(y, mo, 1)[0]


def _fractional_years(cells: list[str]) -> np.ndarray:
  """1995.25 → 1995-04-01 when every fraction of the column lies within 0.05 month of a month's
  start (monthly and quarterly data), else that fraction of the year's seconds (weekly data:
  1991.1 + i / 52.18)."""
  years = np.array([float(c) for c in cells])
  whole, month = np.floor(years), (years % 1) * 12
  if np.all(np.abs(month - np.round(month)) < 0.05):
    months = np.round(month).astype(int)
    return np.array([_datetime(int(y + m // 12), m % 12 + 1, 1)[0] for y, m in zip(whole, months)])
  return np.array([_datetime(int(y), 1, 1)[0] for y in whole]) + (years % 1) * _YEAR


# (name, pattern, seconds since 1970 from the match, calendar step in months or None)
_FORMATS = [
    ("iso", re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})" + _TIME + "$"),
     lambda m: _datetime(*m.groups())),
    ("mdy", re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})" + _TIME + "$"),
     lambda m: _datetime(m.group(3), m.group(1), m.group(2),
                         *m.groups()[3:])),
    ("dmy", re.compile(r"^(\d{1,2})[/.](\d{1,2})[/.](\d{4})" + _TIME + "$"),
     lambda m: _datetime(m.group(3), m.group(2), m.group(1),
                         *m.groups()[3:])),
    ("day-month name-year",
     re.compile(r"^(\d{1,2})[- ]([A-Za-z]{3})[- ](\d{4}|\d{2})" + _TIME + "$"), lambda m: _datetime(
         _year(m.group(3)), _MONTHS[m.group(2).lower()], m.group(1),
         *m.groups()[3:])),
    ("year-month", re.compile(r"^(\d{4})(?:[-/]|M)(\d{1,2})$", re.I), _ym),
    ("year-month", re.compile(r"^(\d{4})[- ]([A-Za-z]{3})[a-z]*$"), _ym),
    ("year-month", re.compile(r"^([A-Za-z]{3})[a-z]*[- ](\d{4})$"), lambda m: _ym(m, "my")),
    ("iso week", re.compile(r"^(\d{4})[- ]?W(\d{1,2})$", re.I), lambda m:
     (dt.datetime.fromisocalendar(int(m.group(1)), int(m.group(2)), 1) - dt.datetime(1970, 1, 1)
     ).total_seconds()),
    ("quarter", re.compile(r"^(\d{4})[- ]?Q([1-4])$",
                           re.I), lambda m: _datetime(m.group(1), 3 * int(m.group(2)) - 2, 1)[0]),
    ("year", re.compile(r"^(\d{4})(?:\.0+)?$"), lambda m: _datetime(m.group(1), 1, 1)[0]),
    ("fractional year", re.compile(r"^(\d{4}\.\d+)$"), None),  # whole column: _fractional_years
]


def _one_clock(wall_and_offset: np.ndarray) -> np.ndarray:
  """Seconds of each time on one clock: the wall clock where every time falls at the same time
  of day (daily and coarser data: its dates stay its dates whatever the offset), else UTC
  (times with an offset converted, so a clock change leaves no hole and no repeated hour)."""
  wall, offset = wall_and_offset[:, 0], wall_and_offset[:, 1]
  if not np.any(offset) or np.all(wall % _DAY == wall[0] % _DAY):
    return wall
  return wall - offset


def parse_times(cells: list[str], name: str = "time column") -> tuple[np.ndarray, str]:
  """``(seconds since 1970 [N], format name)``: every cell parsed with the first format that
  reads them all. Raises ValueError naming the first cell no format reads."""
  cells = [c.strip() for c in cells]
  for fmt, pattern, convert in _FORMATS:
    if fmt == "mdy" and any((m := pattern.match(c)) and int(m.group(1)) > 12 for c in cells):
      continue  # a first field above 12 is a day: DD/MM/YYYY
    try:
      matches = [pattern.match(c) for c in cells]
      if all(matches) and convert is None:
        return _fractional_years(cells), fmt
      if all(matches):
        pairs = [convert(m) for m in matches]
        return _one_clock(np.array([p if isinstance(p, tuple) else (p, 0.0) for p in pairs])), fmt
    except (ValueError, KeyError):
      continue  # e.g. month 13: not this format
  bad = next((c for c in cells if not any(_reads(f, c) for f in _FORMATS)), None)
  why = f"cannot read {bad!r}" if bad is not None else "its cells mix formats, e.g. " + repr(
      cells[0])
  raise ValueError(f"{name}: {why} as a date or time (ISO dates and datetimes, MM/DD/YYYY, "
                   "DD.MM.YYYY, 5-Jan-2009, year-month, quarters, years and fractional years).")


def _reads(fmt, cell: str) -> bool:
  """Whether format ``fmt`` (an entry of ``_FORMATS``) reads ``cell`` (matches and converts)."""
  _, pattern, convert = fmt
  m = pattern.match(cell)
  if m is None or convert is None:
    return m is not None
  try:
    convert(m)
    return True
  except (ValueError, KeyError):  # month 13, day 32, "Foo"
    return False


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
