"""The archives' files, in each archive's published layout (written here by hand, as the archives
write them): UCR 2018 .tsv, the older UCR text files, UEA/Weka .arff flat and relational, and the
converter's round trips between them and .ts."""
import os
import subprocess
import sys

import numpy as np
import pytest

from rnn_jax.data import archives, convert
from rnn_jax.data.ts import read_ts

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# One univariate problem, three ways: unequal lengths (NaN padding), string-free labels.
TSV = "1\t0.5\t1.5\t2.5\tNaN\r\n2\t-1.0\t-2.0\t-3.0\t-4.0\r\n1\t0.25\t0.75\tNaN\tNaN\r\n"
UCR_OLD = ("  1.0000000e+00  5.0000000e-01  1.5000000e+00  2.5000000e+00\n"
           "  2.0000000e+00 -1.0000000e+00 -2.0000000e+00 -3.0000000e+00 -4.0000000e+00\n"
           "  1.0000000e+00  2.5000000e-01  7.5000000e-01\n")
TS = ("@problemName P\n@univariate true\n@equalLength false\n@classLabel true 1 2\n@data\n"
      "0.5,1.5,2.5:1\n-1.0,-2.0,-3.0,-4.0:2\n0.25,0.75:1\n")
WANT = [[0.5, 1.5, 2.5], [-1.0, -2.0, -3.0, -4.0], [0.25, 0.75]]

# A multivariate problem with string class labels (one with a space), relational ARFF as UEA
# writes it ('\n' between dimensions inside a quoted value), Windows line endings, comments.
ARFF_REL = (
    "% UEA multivariate\r\n@relation 'Toy'\r\n@attribute relationalAtt relational\r\n"
    "  @attribute att1 numeric\r\n  @attribute att2 numeric\r\n  @attribute att3 numeric\r\n"
    "@end relationalAtt\r\n@attribute activity {'standing','walking fast'}\r\n\r\n@data\r\n"
    "'1,2,3\\n4,5,6','standing'\r\n\"7,8,9\\n10,11,12\",'walking fast'\r\n"
    "'0,1,?\\n2,3,4',standing\r\n")
ARFF_FLAT = ("@RELATION flat\n%\n@ATTRIBUTE att1 NUMERIC\n@ATTRIBUTE att2 NUMERIC\n"
             "@ATTRIBUTE att3 REAL\n@ATTRIBUTE class {a,b}\n@DATA\n1,2,3,a\n4,?,6,b\n7,8,9,b\n")
ARFF_REG = ("@relation r\n@attribute att1 numeric\n@attribute att2 numeric\n"
            "@attribute target numeric\n@data\n1,2,0.5\n3,4,-1.25\n")


def _write(tmp_path, name, text):
  path = tmp_path / name
  path.write_bytes(text.encode())
  return str(path)


def _seqs(data):
  return [s[:, 0].tolist() if s.shape[1] == 1 else s.tolist() for s in data.sequences]


@pytest.mark.parametrize("name,text", [("P_TRAIN.tsv", TSV), ("P_TRAIN", UCR_OLD),
                                       ("P_TRAIN.txt", UCR_OLD.replace("  ", ",").strip(",")),
                                       ("P_TRAIN.ts", TS)])
def test_univariate_layouts_read_the_same_series(tmp_path, name, text):
  if name.endswith(".txt"):
    text = "\n".join(l.strip(",") for l in text.splitlines())
  data = archives.read_series_file(_write(tmp_path, name, text))
  assert _seqs(data) == WANT and data.classes == ("1", "2") and data.labels.tolist() == [0, 1, 0]


def test_interior_missing_values_follow_the_policy(tmp_path):
  path = _write(tmp_path, "M.tsv", "a\t1\tNaN\t3\tNaN\nb\t4\t5\t6\t7\n")
  with pytest.raises(ValueError, match=r"1 of 2 cases have missing values \(first: line 1\)"):
    archives.read_series_file(path)
  filled = archives.read_series_file(path, missing="interpolate")
  assert _seqs(filled) == [[1, 2, 3], [4, 5, 6, 7]]  # the trailing NaN is padding, not missing
  assert _seqs(archives.read_series_file(path, missing="drop")) == [[4, 5, 6, 7]]


def test_relational_arff_multivariate_with_string_labels_and_windows_endings(tmp_path):
  data = archives.read_series_file(_write(tmp_path, "T.arff", ARFF_REL), missing="interpolate")
  assert data.classes == ("standing", "walking fast")  # the header's order
  assert data.labels.tolist() == [0, 1, 0] and data.dimensions == 2
  np.testing.assert_array_equal(data.sequences[0], [[1, 4], [2, 5], [3, 6]])
  np.testing.assert_array_equal(data.sequences[1], [[7, 10], [8, 11], [9, 12]])
  np.testing.assert_array_equal(data.sequences[2], [[0, 2], [1, 3], [1, 4]])  # ? at the end


def test_flat_and_regression_arff(tmp_path):
  with pytest.raises(ValueError, match="1 of 3 cases have missing values"):
    archives.read_series_file(_write(tmp_path, "F.arff", ARFF_FLAT))
  reg = archives.read_series_file(_write(tmp_path, "R.arff", ARFF_REG))
  assert reg.regression and reg.labels.tolist() == [0.5, -1.25] and _seqs(reg) == [[1, 2], [3, 4]]
  bad = _write(tmp_path, "N.arff", "@relation n\n@attribute a numeric\n@data\n1\n")
  with pytest.raises(ValueError, match="no class attribute"):
    archives.read_series_file(bad)


def test_another_file_names_the_formats_read(tmp_path):
  path = _write(tmp_path, "x.json", '{"not": "a series"}')
  with pytest.raises(ValueError, match=r"the formats read are \.ts, \.tsv \(UCR 2018\)"):
    archives.read_series_file(path)
  assert archives.detect_format(_write(tmp_path, "y.dat", TS)) == "ts"  # by content
  assert archives.detect_format(_write(tmp_path, "z.dat", ARFF_FLAT)) == "arff"


@pytest.mark.parametrize("source", ["P.tsv", "P.ts", "T.arff", "F.arff", "R.arff"])
@pytest.mark.parametrize("target", [".ts", ".tsv", ".arff"])
def test_converter_round_trips(tmp_path, source, target):
  text = {"P.tsv": TSV, "P.ts": TS, "T.arff": ARFF_REL, "F.arff": ARFF_FLAT, "R.arff": ARFF_REG}
  src = _write(tmp_path, source, text[source])
  original = archives.read_series_file(src, missing="interpolate")
  out = str(tmp_path / ("out" + target))
  cannot = (
      target == ".tsv" and (original.regression or original.dimensions > 1) or
      target == ".ts" and any(" " in c for c in original.classes))
  if cannot:
    with pytest.raises(ValueError, match="format"):
      convert.convert(src, out, missing="interpolate")
    assert not os.path.exists(out)  # nothing half-written
    return
  convert.convert(src, out, missing="interpolate")
  back = archives.read_series_file(out)
  assert back.classes == original.classes and back.labels.tolist() == original.labels.tolist()
  assert len(back.sequences) == len(original.sequences)
  for a, b in zip(back.sequences, original.sequences):
    np.testing.assert_array_equal(a, b)
  if target == ".ts":  # the .ts reader itself agrees, as the hand-written .ts did
    assert _seqs(read_ts(out)) == _seqs(original)


@pytest.mark.slow  # end-to-end (a task run, training to a result, or a subprocess)
def test_converter_command_line(tmp_path):
  src = _write(tmp_path, "P_TRAIN.tsv", TSV)
  run = lambda *args: subprocess.run([sys.executable, "-m", "rnn_jax.data.convert", *args],
                                     capture_output=True,
                                     text=True,
                                     timeout=120,
                                     cwd=str(tmp_path))
  out = run(src, str(tmp_path / "P_TRAIN.ts"))
  assert out.returncode == 0 and "3 series, 1 dimension(s), 2 classes" in out.stdout, out.stderr
  assert read_ts(str(tmp_path / "P_TRAIN.ts")).classes == ("1", "2")
  bad = run(src, str(tmp_path / "P.json"))
  assert bad.returncode == 2 and bad.stderr.startswith("error: ") and ".ts, .tsv, .arff" in (
      bad.stderr)


@pytest.mark.slow  # end-to-end (a task run, training to a result, or a subprocess)
@pytest.mark.parametrize("ext", [".tsv", ".arff"])
def test_classify_reads_a_pair_of_archive_files(tmp_path, ext):
  from experiments import classify, configs
  rng = np.random.default_rng(0)
  cases = [
      (k, np.sin(np.linspace(0, (k + 1) * 3, int(rng.integers(18, 25)))) + 0.1 * rng.normal(size=1))
      for k in (0, 1) * 12
  ]
  data = archives.TSData([np.asarray(x)[:, None] for _, x in cases],
                         np.array([k for k, _ in cases], np.int32), ("up", "down"))
  paths = []
  for part in ("TRAIN", "TEST"):
    path = str(tmp_path / f"Toy_{part}{ext}")
    (convert.write_tsv if ext == ".tsv" else convert.write_arff)(
        *((path, data) if ext == ".tsv" else (path, data, "Toy")))
    paths.append(path)
  config = configs.get(
      "classify",
      train_ts=paths[0],
      test_ts=paths[1],
      steps=4,
      eval_every=2,
      hidden_size=4,
      ensemble=1,
      validate_min_class=0)
  report = classify.train_and_evaluate(config, None, log=lambda *a: None)
  assert sorted(report["classes"]) == ["down", "up"] and report["test_size"] == 24
  assert 0 <= report["nn_accuracy"] <= 1 and "1-nearest-neighbour" in classify.result_line(report)
  # the 1-NN separates the frequencies (leave-one-out 100%); it answers unless the network's
  # validation accuracy is as high, and the line says which answered
  assert report["nn_loo_accuracy"] == 1.0
  nn_answers = report["network_val_accuracy"] < 1.0
  assert report["answered_by"] == ("1-NN" if nn_answers else "network")
  assert report["test_accuracy"] == (
      report["nn_accuracy"] if nn_answers else report["network_test_accuracy"])
  assert nn_answers == ("did better out of sample" in classify.result_line(report))


def test_converter_output_reads_the_same_in_independent_readers(tmp_path):
  """What the converter writes, read back by readers that share no code with it: scipy's ARFF
  reader (flat files; it has no relational attributes) and a tab split for the .tsv."""
  arff = pytest.importorskip("scipy.io.arff", reason="scipy comes with statsmodels ([test])")
  # equal lengths (an interior NaN, interpolated, is no padding): a flat file
  equal = "walk\t0.5\tNaN\t1.5\nrun fast\t-1.0\t-2.0\t-3.0\nwalk\t0.25\t0.75\t1.25\n"
  src = _write(tmp_path, "E_TRAIN.tsv", equal)
  data = convert.convert(src, str(tmp_path / "E_TRAIN.arff"), missing="interpolate")
  rows, meta = arff.loadarff(str(tmp_path / "E_TRAIN.arff"))
  names = meta.names()
  values = np.array([[r[n] for n in names[:-1]] for r in rows], float)
  labels = [r[names[-1]].decode() for r in rows]
  np.testing.assert_allclose(values, [[0.5, 1.0, 1.5], [-1.0, -2.0, -3.0], [0.25, 0.75, 1.25]])
  assert len(data.sequences) == 3
  assert labels == ["walk", "run fast", "walk"]
  assert set(meta[names[-1]][1]) == {"walk", "run fast"}
  # regression targets, flat
  reg = convert.convert(_write(tmp_path, "R.arff", ARFF_REG), str(tmp_path / "R_out.arff"))
  rows, meta = arff.loadarff(str(tmp_path / "R_out.arff"))
  assert meta.names()[-1] == "target" and meta["target"][0] == "numeric"
  np.testing.assert_allclose([r["target"] for r in rows], reg.labels)
  # .tsv: label first, tab separated, NaN after a shorter series
  convert.convert(_write(tmp_path, "U.ts", TS), str(tmp_path / "U.tsv"))
  lines = (tmp_path / "U.tsv").read_text().splitlines()
  cells = [line.split("\t") for line in lines]
  assert [c[0] for c in cells] == ["1", "2", "1"] and {len(c) for c in cells} == {5}
  got = [[float(v) for v in c[1:] if v != "NaN"] for c in cells]
  assert got == WANT and cells[2][3:] == ["NaN", "NaN"]
