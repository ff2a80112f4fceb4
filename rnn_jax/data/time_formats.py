"""Date/time cells as seconds: the formats a time column may use, and ``parse_times``.

Formats read (each column must use one): ISO dates ``2020-01-31`` (or ``2020/01/31``),
datetimes ``2020-01-31 13:30[:00]`` (``T`` separator, fractions and a trailing ``Z`` or UTC
offset allowed: where the times fall at several times of day, those with an offset are converted
to UTC, so a clock change such as ``+01:00`` becoming ``+02:00`` in spring leaves no hole and no
repeated hour; daily and coarser times keep their dates), ``MM/DD/YYYY`` (``DD/MM/YYYY`` when
a first field exceeds 12), ``DD.MM.YYYY``, ``5-Jan-2009``/``05 Jan 09``, each of these with a
two-digit year too (``1/3/11``, as a spreadsheet writes dates; read as ``strptime``'s ``%y``:
69–99 are 1969–1999, 00–68 are 2000–2068), either with a time, year-month ``2020-01``/
``2020/01``/``2020M01``/``Jan 2020``/``2020-Jan``, ISO weeks ``2020 W06``/``2020-W06`` (their
Monday), quarters ``2020Q1``/``2020 Q1``/``2020-Q1``, plain years ``1995`` and fractional years
``1995.25`` (R's ``time()`` of a ``ts``).
"""
from __future__ import annotations

import datetime as dt
import re

import numpy as np

_MONTHS = {
    m: i + 1 for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])
}
_TIME = r"(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?(?:Z|([+-])(\d{2}):?(\d{2}))?"
_DAY, _YEAR = 86400.0, 365.25 * 86400.0
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
    ("mdy", re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})" + _TIME + "$"),
     lambda m: _datetime(_year(m.group(3)), m.group(1), m.group(2),
                         *m.groups()[3:])),
    ("dmy", re.compile(r"^(\d{1,2})[/.](\d{1,2})[/.](\d{4}|\d{2})" + _TIME + "$"),
     lambda m: _datetime(_year(m.group(3)), m.group(2), m.group(1),
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
  raise ValueError(
      f"{name}: {why} as a date or time (ISO dates and datetimes, MM/DD/YYYY, "
      "DD.MM.YYYY, M/D/YY, 5-Jan-2009, year-month, quarters, years and fractional years).")


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
