"""Converting between the archives' formats: ``.ts``, UCR ``.tsv`` and UEA/Weka ``.arff``.

  python -m rnn_jax.data.convert X_TRAIN.tsv X_TRAIN.ts        # any format read -> any written
  python -m rnn_jax.data.convert X_TRAIN.arff X_TRAIN.ts --missing=interpolate

In Python: ``convert(source, target)``, or ``write_ts`` / ``write_tsv`` / ``write_arff`` of a
``TSData``. What is read: ``rnn_jax.data.archives.FORMATS``; what is written, by the target's
extension: ``.ts`` (classes or regression targets; unequal lengths and NaN written as ``?``),
``.tsv`` (univariate classes; shorter series padded with ``NaN``) and ``.arff`` (flat for
univariate series of one length, else relational; classes as a nominal attribute, regression
targets as a numeric ``target``). Each file is written to a temporary name and then renamed,
so a failed conversion leaves no half file.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from rnn_jax.data.archives import read_series_file
from rnn_jax.data.ts import TSData


def _cell(v) -> str:
  return "?" if np.isnan(v) else repr(float(v))


def _labels(data: TSData) -> list[str]:
  if data.regression:
    return [repr(float(y)) for y in data.labels]
  return [data.classes[i] for i in data.labels]


def _atomic(path: str, text: str) -> None:
  tmp = path + ".tmp"
  with open(tmp, "w", encoding="utf-8", newline="\n") as f:
    f.write(text)
  os.replace(tmp, path)


def write_ts(path: str, data: TSData, name: str = "problem") -> None:
  """A ``.ts`` file of ``data`` (class labels must not contain white space, ``:`` or ``,``)."""
  bad = [c for c in data.classes if not c or any(ch in c for ch in " \t:,")]
  if bad:
    raise ValueError(f"{path}: the .ts format cannot hold the class labels {bad[:3]} (white "
                     "space, ':' or ',').")
  lengths = {len(s) for s in data.sequences}
  head = [
      f"@problemName {name}", "@timeStamps false",
      f"@missing {str(any(np.isnan(s).any() for s in data.sequences)).lower()}",
      f"@univariate {str(data.dimensions == 1).lower()}", f"@dimensions {data.dimensions}",
      f"@equalLength {str(len(lengths) == 1).lower()}"
  ]
  if len(lengths) == 1:
    head.append(f"@seriesLength {lengths.pop()}")
  head.append(
      "@targetLabel true" if data.regression else f"@classLabel true {' '.join(data.classes)}")
  rows = [
      ":".join(",".join(_cell(v)
                        for v in s[:, d])
               for d in range(s.shape[1])) + f":{y}"
      for s, y in zip(data.sequences, _labels(data))
  ]
  _atomic(path, "\n".join(head + ["@data"] + rows) + "\n")


def write_tsv(path: str, data: TSData) -> None:
  """A UCR 2018 ``.tsv`` file: univariate classes, label first, ``NaN`` padding."""
  if data.regression or data.dimensions != 1:
    raise ValueError(f"{path}: the UCR .tsv format holds univariate classes only; this data is "
                     f"{'regression' if data.regression else f'{data.dimensions}-dimensional'}"
                     " (write .ts or .arff).")
  longest = max(len(s) for s in data.sequences)
  rows = []
  for s, y in zip(data.sequences, _labels(data)):
    cells = ["NaN" if np.isnan(v) else repr(float(v)) for v in s[:, 0]]
    rows.append("\t".join([y] + cells + ["NaN"] * (longest - len(s))))
  _atomic(path, "\n".join(rows) + "\n")


def _quote(text: str) -> str:
  return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def write_arff(path: str, data: TSData, name: str = "problem") -> None:
  """A UEA/Weka ``.arff`` file: flat for univariate series of one length, else relational."""
  lengths = {len(s) for s in data.sequences}
  flat = data.dimensions == 1 and len(lengths) == 1
  target = ("@attribute target numeric" if data.regression else "@attribute classAttribute {" +
            ",".join(_quote(c) for c in data.classes) + "}")
  head = [f"@relation {_quote(name)}"]
  if flat:
    head += [f"@attribute att{t + 1} numeric" for t in range(lengths.pop())]
  else:
    head.append("@attribute relationalAtt relational")
    head += [f"  @attribute t{t + 1} numeric" for t in range(max(lengths))]
    head.append("@end relationalAtt")
  head += [target, "", "@data"]
  rows = []
  for s, y in zip(data.sequences, _labels(data)):
    y = y if data.regression else _quote(y)
    if flat:
      rows.append(",".join(_cell(v) for v in s[:, 0]) + f",{y}")
    else:
      dims = "\\n".join(",".join(_cell(v) for v in s[:, d]) for d in range(s.shape[1]))
      rows.append(f"'{dims}',{y}")
  _atomic(path, "\n".join(head + rows) + "\n")


WRITERS = {".ts": write_ts, ".tsv": write_tsv, ".arff": write_arff}


def convert(source: str, target: str, *, missing: str = "error") -> TSData:
  """Reads ``source`` (any format read) and writes ``target`` (by its extension)."""
  ext = os.path.splitext(target)[1].lower()
  if ext not in WRITERS:
    raise ValueError(f"{target}: writes {', '.join(WRITERS)} files, not {ext or 'no extension'}.")
  data = read_series_file(source, missing=missing)
  name = os.path.basename(source).split(".")[0].replace("_TRAIN", "").replace("_TEST", "")
  writer = WRITERS[ext]
  writer(target, data) if ext == ".tsv" else writer(target, data, name or "problem")
  return data


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(
      prog="python -m rnn_jax.data.convert",
      description=__doc__,
      formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("source")
  parser.add_argument("target")
  parser.add_argument("--missing", default="error", choices=("error", "drop", "interpolate"))
  args = parser.parse_args(argv)
  try:
    data = convert(args.source, args.target, missing=args.missing)
  except (ValueError, FileNotFoundError) as e:
    sys.stderr.write(f"error: {e}\n")
    return 2
  kind = "regression targets" if data.regression else f"{len(data.classes)} classes"
  print(f"{args.target}: {len(data.sequences)} series, {data.dimensions} dimension(s), {kind}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
