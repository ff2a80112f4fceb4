"""Date/time columns: every format, the interval and periods of each sampling rate, gaps in time
as counted missing values, quoted cells, a value column that is not the first."""
import datetime as dt

import numpy as np
import pytest

from rnn_jax.data import series, timestamps as ts

EPOCH = dt.datetime(1970, 1, 1)


def _seconds(d):
  return (d - EPOCH).total_seconds()


@pytest.mark.parametrize("cells,fmt,first", [
    (["2020-01-31", "2020-02-01"], "iso", dt.datetime(2020, 1, 31)),
    (["2020/01/31 13:30", "2020/01/31 14:00"], "iso", dt.datetime(2020, 1, 31, 13, 30)),
    (["2020-01-31T13:30:15Z", "2020-01-31T13:30:16.5+01:00"
     ], "iso", dt.datetime(2020, 1, 31, 13, 30, 15)),
    (["01/31/2020", "02/01/2020"], "mdy", dt.datetime(2020, 1, 31)),
    (["31/01/2020", "01/02/2020"], "dmy", dt.datetime(2020, 1, 31)),
    (["31.01.2020 06:00", "01.02.2020 06:00"], "dmy", dt.datetime(2020, 1, 31, 6)),
    (["2020-01", "2020-02"], "year-month", dt.datetime(2020, 1, 1)),
    (["1990M11", "1990M12"], "year-month", dt.datetime(1990, 11, 1)),
    (["Jan 1990", "February 1990"], "year-month", dt.datetime(1990, 1, 1)),
    (["1990-Mar", "1990-Apr"], "year-month", dt.datetime(1990, 3, 1)),
    (["1990Q2", "1990 Q3"], "quarter", dt.datetime(1990, 4, 1)),
    (["1991 W06", "1991-W07"], "iso week", dt.datetime(1991, 2, 4)),
    (["1749", "1750"], "year", dt.datetime(1749, 1, 1)),
    (["1995.25", "1995.5"], "fractional year", dt.datetime(1995, 4, 1)),
])
def test_each_format_parses(cells, fmt, first):
  seconds, got = ts.parse_times(cells)
  assert got == fmt and seconds[0] == _seconds(first)


def test_unreadable_time_is_named():
  with pytest.raises(ValueError, match="when: cannot read 'soon'"):
    ts.parse_times(["2020-01-01", "soon"], "when")


def _grid(start, step, n):
  return [start + i * step for i in range(n)]


@pytest.mark.parametrize("times,name,periods", [
    (_grid(dt.datetime(2021, 1, 1), dt.timedelta(minutes=5), 50), "5-minute", [288, 2016, 105192]),
    (_grid(dt.datetime(2021, 1, 1), dt.timedelta(minutes=15),
           50), "quarter-hourly", [96, 672, 35064]),
    (_grid(dt.datetime(2021, 1, 1), dt.timedelta(minutes=30), 50), "half-hourly", [48, 336, 17532]),
    (_grid(dt.datetime(2021, 1, 1), dt.timedelta(hours=1), 50), "hourly", [24, 168, 8766]),
    (_grid(dt.datetime(2021, 1, 1), dt.timedelta(days=1), 50), "daily", [7, 365]),
    (_grid(dt.datetime(2021, 1, 1), dt.timedelta(weeks=1), 50), "weekly", [52]),
    ([dt.datetime(2000 + m // 12, m % 12 + 1, 1) for m in range(30)], "monthly", [12]),
    ([dt.datetime(2000 + m // 4, 3 * (m % 4) + 1, 1) for m in range(30)], "quarterly", [4]),
    ([dt.datetime(1900 + y, 1, 1) for y in range(30)], "yearly", []),
])
def test_interval_and_candidate_periods_of_each_rate(times, name, periods):
  interval = ts.infer_interval([_seconds(t) for t in times])
  assert interval.name == name and ts.candidate_periods(interval) == periods


def test_fractional_years_that_round_still_find_their_weekly_grid():
  # R's weekly ts: time = 1991.1 + i / 52.18 years, written with 6 decimals; two weeks missing
  years = [f"{1991.1 + i / 52.18:.6f}" for i in range(300) if i not in (50, 51)]
  seconds, fmt = ts.parse_times(years)
  assert fmt == "fractional year"
  times, values, interval, added, repeated, *_ = ts.regularise(seconds, np.arange(298.0))
  assert interval.name == "weekly" and ts.candidate_periods(interval) == [52]
  assert len(values) == 300 and np.flatnonzero(added).tolist() == [50, 51]


def test_business_days_skip_weekends_on_their_grid():
  days = [d for d in _grid(dt.datetime(2021, 1, 4), dt.timedelta(days=1), 40) if d.weekday() < 5]
  seconds = [_seconds(d) for d in days]
  interval = ts.infer_interval(seconds)
  assert interval.business and ts.candidate_periods(interval) == [5]
  np.testing.assert_array_equal(ts.grid_positions(seconds, interval), np.arange(len(days)))


def _write(tmp_path, text, name="s.csv"):
  path = tmp_path / name
  path.write_bytes(text.encode())
  return str(path)


def test_a_gap_in_time_is_a_counted_missing_value(tmp_path):
  hours = [dt.datetime(2021, 3, 1) + dt.timedelta(hours=h) for h in range(30) if h not in (7, 8)]
  rows = "".join(f"{np.sin(i)},\"{t:%Y-%m-%d %H:%M}\"\n" for i, t in enumerate(hours))
  path = _write(tmp_path, "flow,when\n" + rows)
  with pytest.raises(
      ValueError,
      match=r"2 hourly times in 30 have no row \(first: "
      r"2021-03-01T07:00:00, 2021-03-01T08:00:00\); pass missing="):
    series.read_csv_series(path)
  s = series.read_csv_series(path, missing="interpolate")
  assert (s.added, s.blank, s.time_column, s.column, len(s.values)) == (2, 0, "when", "flow", 30)
  assert s.interval.name == "hourly" and s.periods == [24, 168, 8766]
  # hours 7 and 8 lie on the line between hours 6 and 9 (rows 6 and 7 of the file)
  np.testing.assert_allclose(s.values[7:9],
                             np.sin(6) + (np.sin(7) - np.sin(6)) * np.array([1, 2]) / 3)
  dropped = series.read_csv_series(path, missing="drop")
  assert len(dropped.values) == 28 and len(dropped.times) == 28


def test_rows_out_of_order_are_sorted_and_repeated_times_averaged(tmp_path):
  path = _write(tmp_path, "date,x\r\n2020-01-03,3\r\n2020-01-01,1\r\n2020-01-02,2\r\n")
  s = series.read_csv_series(path)
  np.testing.assert_array_equal(s.values, [1, 2, 3])
  # a clock set back an hour: 01:00 twice (one of them blank), averaged over known values
  path = _write(
      tmp_path, "t,x\n2020-11-01 00:00,1\n2020-11-01 01:00,2\n2020-11-01 01:00,4\n"
      "2020-11-01 01:00,\n2020-11-01 02:00,8\n")
  s = series.read_csv_series(path)
  np.testing.assert_array_equal(s.values, [1, 3, 8])
  assert (s.repeated, s.added, s.interval.name) == (2, 0, "hourly")


def test_numeric_time_columns_only_by_name_and_the_value_column_is_found(tmp_path):
  path = _write(tmp_path, "year,count,other\n1990,1,a\n1991,2,b\n1992,4,c\n")
  s = series.read_csv_series(path)
  assert s.time_column == "year" and s.column == "count" and s.interval.name == "yearly"
  path = _write(tmp_path, "a,b\n1990,1\n1991,2\n1992,4\n")  # no time-like name: two values
  with pytest.raises(ValueError, match=r"name the value column .*2 numeric columns \['a', 'b'\]"):
    series.read_csv_series(path)
  s = series.read_csv_series(path, "b", time_column="a")
  assert s.time_column == "a" and s.interval.name == "yearly"
  s = series.read_csv_series(path, "b", time_column="")
  assert s.times is None and s.interval is None


def test_a_logger_restarted_off_phase_is_placed_on_the_nearest_step():
  """Three runs of 20 five-minute readings whose phase moves by 1 and then 2 minutes after two
  gaps (a glucose monitor switched back on): every row lands on the step of its time rounded from
  the row before it, the gaps count as added steps, and two restarts are counted."""
  start = dt.datetime(2010, 3, 24, 9, 51)
  # run 2 starts 41 min (8.2 steps) after run 1 ends, run 3 61 min (12.2 steps) after run 2
  minutes = [5 * i for i in range(20)] + [136 + 5 * i for i in range(20)]
  minutes += [minutes[-1] + 61 + 5 * i for i in range(20)]
  seconds = [_seconds(start + dt.timedelta(minutes=m)) for m in minutes]
  grid = ts.regularise(seconds, np.arange(60.0))
  assert grid.interval.seconds == 300 and grid.restarts == 2
  expected = list(range(20)) + [27 + i for i in range(20)] + [58 + i for i in range(20)]
  np.testing.assert_array_equal(grid.step_of_row, expected)
  assert int(grid.added.sum()) == 78 - 60 and not np.isnan(grid.values[expected]).any()


def test_times_that_follow_no_grid_are_refused():
  rng = np.random.default_rng(0)
  seconds = np.cumsum(rng.uniform(200, 400, size=100))  # median near 300 s, no common phase
  with pytest.raises(ValueError, match=r"of 100 times are off the every .* grid .* no regular"):
    ts.regularise(seconds, np.zeros(100))


def test_utc_offsets_are_honoured_so_a_clock_change_leaves_no_gap(tmp_path):
  """Hourly readings in local time across the spring clock change (+01:00 → +02:00): 02:00 local
  never happens, yet no hour is missing in UTC. Each time equals Python's own offset-aware
  parse."""
  cells = [
      "2022-03-27T00:00:00+01:00", "2022-03-27T01:00:00+01:00", "2022-03-27T03:00:00+02:00",
      "2022-03-27T04:00:00+02:00", "2022-03-27 05:00-0400", "2022-03-27T10:00:00Z"
  ]
  seconds, fmt = ts.parse_times(cells[:4])
  want = [dt.datetime.fromisoformat(c).timestamp() for c in cells[:4]]
  np.testing.assert_array_equal(seconds, want)
  assert fmt == "iso" and list(np.diff(seconds)) == [3600.0] * 3
  grid = ts.regularise(seconds, np.arange(4.0))
  assert grid.interval.name == "hourly" and not grid.added.any() and grid.repeated == 0
  np.testing.assert_array_equal(
      ts.parse_times(cells[4:])[0],
      [_seconds(dt.datetime(2022, 3, 27, 9)),
       _seconds(dt.datetime(2022, 3, 27, 10))])
  path = tmp_path / "flow.csv"
  path.write_text("Time,flow\n" + "".join(f"{c},{i}\n" for i, c in enumerate(cells[:4])))
  assert series.read_csv_series(str(path)).added == 0


def test_missing_calendar_times_are_named_by_their_dates(tmp_path):
  """A trading-day series without its Monday holiday names that Monday (numpy's business-day
  calendar agrees at every offset); a monthly series without February names February 29th after
  January 31st."""
  start = np.datetime64("1987-06-11")
  days = np.busday_offset(start, np.arange(12), roll="forward")
  kept = np.delete(days, 2)  # 1987-06-15, a Monday
  path = tmp_path / "oil.csv"
  path.write_text("day,price\n" +
                  "".join(f"{d.astype(dt.date):%m/%d/%Y},{i}\n" for i, d in enumerate(kept)))
  with pytest.raises(
      ValueError,
      match=r"1 business daily times in 12 have no row \(first: "
      r"1987-06-15T00:00:00\)"):
    series.read_csv_series(str(path))
  business = ts.Interval("business daily", 86400.0, business=True)
  t0 = _seconds(dt.datetime(1987, 6, 11, 16, 30))
  k = np.arange(0, 400, 7)
  want = np.busday_offset(start, k).astype("datetime64[s]").astype(np.int64) + 16.5 * 3600
  np.testing.assert_array_equal(ts.grid_times(k, t0, business), want)
  np.testing.assert_array_equal(ts.grid_positions(want, business), k - k[0])
  path = tmp_path / "sales.csv"
  path.write_text("month,sales\n2020-01-31,1\n2020-03-31,2\n2020-04-30,3\n2020-05-31,4\n"
                  "2020-06-30,5\n")
  with pytest.raises(ValueError, match=r"1 monthly times in 6 have no row \(first: 2020-02-29"):
    series.read_csv_series(str(path))
  # two steps, neither within 2% of their median (45 days): still an interval, no NaN step
  three = ts.parse_times(["2020-01-31", "2020-03-31", "2020-04-30"])[0]
  assert ts.infer_interval(three).seconds == 45 * 86400.0


def test_an_unnamed_index_column_of_years_is_the_time_column(tmp_path):
  """pandas writes a frame's index under a blank header: years there place the rows in time
  (a missing year becomes a counted gap); a row count 0, 1, … there is no time."""
  path = tmp_path / "lynx.csv"
  path.write_text(",0\n1821,269\n1822,321\n1824,871\n1825,1475\n")
  s = series.read_csv_series(str(path), "0", missing="interpolate")
  assert s.time_column == "" and s.interval.name == "yearly" and s.added == 1
  np.testing.assert_array_equal(s.values, [269, 321, 596, 871, 1475])
  path = tmp_path / "index.csv"
  path.write_text("Unnamed: 0,x\n0,1.5\n1,2.5\n2,3.5\n")
  s = series.read_csv_series(str(path), "x")
  assert s.time_column is None and s.interval is None


def test_daily_times_keep_their_dates_whatever_their_offset_or_hour():
  """Trading days written at local midnight by a time-zone-aware frame (+01:00, then +02:00
  after the clock change), and trading days closing at 16:30: both are business daily, no day
  missing, their weekdays those of their dates."""
  days = np.busday_offset(np.datetime64("2022-03-21"), np.arange(10), roll="forward")
  midnight = [
      f"{d}T00:00:00{'+01:00' if d < np.datetime64('2022-03-27') else '+02:00'}" for d in days
  ]
  afternoon = [f"{d} 16:30" for d in days]
  for cells in (midnight, afternoon):
    seconds, _ = ts.parse_times(cells)
    grid = ts.regularise(seconds, np.arange(10.0))
    assert grid.interval.business and not grid.added.any(), cells
    dates = (seconds // 86400).astype("datetime64[D]")
    np.testing.assert_array_equal(dates, days)


def test_the_finest_of_several_time_columns_places_the_rows(tmp_path):
  """A day column beside an hourly timestamp (a bike-share log): the rows are hourly, so the
  timestamp is the time column, whichever comes first."""
  hours = [dt.datetime(2010, 9, 20, 22) + dt.timedelta(hours=i) for i in range(6)]
  rows = [f"{h:%Y-%m-%d},{h:%Y-%m-%d %H:%M:%S},{i}" for i, h in enumerate(hours)]
  path = tmp_path / "bikes.csv"
  path.write_text("date,ts,count\n" + "\n".join(rows) + "\n")
  s = series.read_csv_series(str(path), "count")
  assert s.time_column == "ts" and s.interval.name == "hourly" and len(s.values) == 6
  path.write_text("ts,date,count\n" + "\n".join(
      f"{h:%Y-%m-%d %H:%M:%S},{h:%Y-%m-%d},{i}" for i, h in enumerate(hours)) + "\n")
  assert series.read_csv_series(str(path), "count").time_column == "ts"


def test_day_month_name_year_dates_read_as_strptime_reads_them():
  """``5-Jan-09`` (a finance export's dates), ``07 Jan 2009``: equal to ``datetime.strptime``
  with ``%d-%b-%y`` / ``%d %b %Y``, two-digit years pivoting at 69 as ``%y`` does."""
  cells = ["5-Jan-09", "30-Jun-68", "1-Jul-69", "31-Dec-99"]
  seconds, fmt = ts.parse_times(cells)
  assert fmt == "day-month name-year"
  np.testing.assert_array_equal(seconds,
                                [_seconds(dt.datetime.strptime(c, "%d-%b-%y")) for c in cells])
  seconds, _ = ts.parse_times(["07 Jan 2009 16:30", "08 Jan 2009 16:30"])
  assert seconds[0] == _seconds(dt.datetime.strptime("07 Jan 2009 16:30", "%d %b %Y %H:%M"))
  with pytest.raises(ValueError, match="cannot read '5-Foo-09'"):
    ts.parse_times(["5-Jan-09", "5-Foo-09"])


def test_two_digit_year_dates_read_as_strptime_reads_them():
  """``1/3/11`` (a spreadsheet's M/D/YY), ``31.12.99``: equal to ``datetime.strptime`` with
  ``%m/%d/%y`` / ``%d.%m.%y``; a first field above 12 makes the column day-first."""
  cells = ["1/3/11", "12/31/68", "7/1/69", "2/29/00"]
  seconds, fmt = ts.parse_times(cells)
  assert fmt == "mdy"
  np.testing.assert_array_equal(seconds,
                                [_seconds(dt.datetime.strptime(c, "%m/%d/%y")) for c in cells])
  cells = ["31.12.99", "1.1.00"]
  seconds, fmt = ts.parse_times(cells)
  assert fmt == "dmy"
  np.testing.assert_array_equal(seconds,
                                [_seconds(dt.datetime.strptime(c, "%d.%m.%y")) for c in cells])
  assert ts.parse_times(["13/1/11", "14/1/11"])[1] == "dmy"


def test_a_cell_that_matches_a_pattern_but_is_no_date_is_named():
  """Month 13 or day 32 look like dates to a pattern; the error names that cell. Cells that
  each read but in different formats are refused as mixed."""
  with pytest.raises(ValueError, match="cannot read '2020-13'"):
    ts.parse_times(["2020-11", "2020-12", "2020-13"])
  with pytest.raises(ValueError, match="cannot read '2020-01-32'"):
    ts.parse_times(["2020-01-31", "2020-01-32"])
  with pytest.raises(ValueError, match="mix formats"):
    ts.parse_times(["2020-01-31", "2020Q1"])
