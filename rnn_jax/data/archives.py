"""The files the time-series classification archives publish, read into ``TSData``, and written.

- ``.ts`` (UEA/UCR, sktime/aeon): ``rnn_jax.data.ts``.
- UCR 2018 ``.tsv``: one series per line, the class label first, then the values, tab
  separated; series shorter than the longest end in ``NaN`` padding (univariate only).
- The older UCR text files (``X_TRAIN``, ``X_TRAIN.txt``, ``.csv``): the same layout, comma or
  white-space separated, labels often written as floats (``1.0000000e+00`` is the class "1").
- UEA/Weka ``.arff``: ``@relation``, ``@attribute`` lines, ``@data``. Flat (one numeric attribute
  per time step, the class attribute last) or relational (multivariate: one ``relational``
  attribute whose rows are the dimensions, a quoted value with the rows separated by ``\\n``).
  The class attribute is the last nominal one (``{a,b,c}``); a last numeric attribute named
  ``target`` (or ``class``, ``label``, ``y``) is a regression target.

In the text formats trailing missing values (``NaN``, ``?``, empty) are padding (a shorter
series); missing values before the last known one are missing values, handled as ``missing``
says (``"error"``, ``"drop"``, ``"interpolate"``). Windows line endings are read as any other.
"""
from __future__ import annotations

import csv
import os
import re

import numpy as np

from rnn_jax.data.common import is_number, check_missing_policy, interpolate_nans, missing_report
from rnn_jax.data.ts import TSData, parse_values, read_ts, read_ts_pair

FORMATS = (".ts", ".tsv (UCR 2018)", ".txt/.csv or no extension (older UCR text)",
           ".arff (UEA/Weka, flat or relational)")
_MISSING = ("nan", "?", "", "na")
_TARGET_NAMES = ("target", "class", "label", "y", "classattribute")


def _read_lines(path: str) -> list[str]:
  if not os.path.isfile(path):
    raise FileNotFoundError(f"{path}: no such file.")
  try:
    with open(path, encoding="utf-8-sig", newline="") as f:
      return f.read().splitlines()
  except UnicodeDecodeError as e:
    raise ValueError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start}); the formats "
                     f"read are {', '.join(FORMATS)}.") from None


def detect_format(path: str) -> str:
  """``"ts"``, ``"arff"`` or ``"ucr"``: by extension, else by content. Raises ValueError naming
  the formats read for anything else."""
  ext = os.path.splitext(path)[1].lower()
  if ext in (".ts", ".arff"):
    return ext[1:]
  if ext in (".tsv", ".txt", ".csv", ""):
    return "ucr" if ext else _sniff(path)
  return _sniff(path)


def _sniff(path: str) -> str:
  for line in _read_lines(path)[:200]:
    s = line.strip().lower()
    if not s or s.startswith(("#", "%")):
      continue
    if s.startswith(("@relation", "@attribute")):
      return "arff"
    if s.startswith("@"):
      return "ts"
    if all(is_number(c) or c.lower() in _MISSING for c in re.split(r"[,\s]+", s)[1:]):
      return "ucr"
    break
  raise ValueError(f"{path}: not a time-series file this reads; the formats read are "
                   f"{', '.join(FORMATS)}.")


def _label(text: str) -> str:
  """A class label as text; a float-written integer (``1.0000000e+00``) as the integer."""
  text = text.strip().strip("'\"")
  if is_number(text) and float(text).is_integer():
    return str(int(float(text)))
  return text


def _values(where: str, cells) -> np.ndarray:
  """Floats with NaN for missing cells; trailing missing cells (padding) cut off."""
  v = parse_values(where, cells, _MISSING)
  known = np.flatnonzero(~np.isnan(v))
  if not len(known):
    raise ValueError(f"{where}: a series with no values.")
  if np.isinf(v).any():
    raise ValueError(f"{where}: infinite values.")
  return v[:known[-1] + 1]


def _finish(path, sequences, labels, where, missing, classes, regression=False) -> TSData:
  """Missing values handled, labels indexed (``classes`` fixes the order, e.g. a training
  file's for its test file)."""
  gaps = [w for s, w in zip(sequences, where) if np.isnan(s).any()]
  if gaps and missing == "error":
    raise ValueError(f"{path}: {missing_report(gaps, 'cases', len(sequences))}; pass "
                     "missing='drop' or 'interpolate' (launcher: --config.missing=...).")
  keep = [missing != "drop" or not np.isnan(s).any() for s in sequences]
  seqs = [np.stack([interpolate_nans(c) for c in s.T], 1) for s, k in zip(sequences, keep) if k]
  labels = [l for l, k in zip(labels, keep) if k]
  if not seqs:
    raise ValueError(f"{path}: no cases (an empty file, or all dropped).")
  if regression:
    return TSData(seqs, np.array([float(l) for l in labels], np.float64), ())
  classes = tuple(classes) if classes else tuple(sorted(set(labels), key=_class_order))
  index = {c: i for i, c in enumerate(classes)}
  unknown = sorted(set(labels) - set(index))
  if unknown:
    raise ValueError(f"{path}: class labels {unknown[:5]} are not among {list(classes)}.")
  return TSData(seqs, np.array([index[l] for l in labels], np.int32), classes)


def _class_order(label: str):
  return (0, float(label), "") if is_number(label) else (1, 0.0, label)


def read_ucr_text(path: str, *, classes=None, missing: str = "error") -> TSData:
  """A UCR ``.tsv`` or older UCR text file (see the module docstring): univariate series."""
  check_missing_policy(missing)
  sequences, labels, where = [], [], []
  for num, line in enumerate(_read_lines(path), 1):
    if not line.strip():
      continue
    cells = line.split("\t") if "\t" in line else re.split(r"\s*,\s*|\s+", line.strip())
    if len(cells) < 2:
      raise ValueError(f"{path}:{num}: a label and at least one value expected.")
    sequences.append(_values(f"{path}:{num}", cells[1:])[:, None])
    labels.append(_label(cells[0]))
    where.append(f"line {num}")
  return _finish(path, sequences, labels, where, missing, classes)


def _arff_header(path, lines):
  """``(attributes [(name, kind)], relational [(name, kind)] or None, first data line)``."""
  attrs, inner = [], None  # inner: the relational attribute's own attributes, while open
  in_relational = False
  for i, raw in enumerate(lines):
    s = raw.strip()
    if not s or s.startswith("%"):
      continue
    low = s.lower()
    if low.startswith("@data"):
      return attrs, inner, i + 1
    if low.startswith("@end"):
      in_relational = False
    elif low.startswith("@attribute"):
      m = re.match(r"@attribute\s+('[^']*'|\"[^\"]*\"|\S+)\s+(.*)$", s, re.I)
      if not m:
        raise ValueError(f"{path}:{i + 1}: cannot read the attribute line {s[:60]!r}.")
      name, kind = m.group(1).strip("'\""), m.group(2).strip()
      if in_relational:
        inner.append((name, kind))
      elif kind.lower().startswith("relational"):
        inner, in_relational = [], True
        attrs.append((name, "relational"))
      else:
        attrs.append((name, kind))
  raise ValueError(f"{path}: no @data section.")


def _nominal(kind: str):
  if kind.startswith("{"):
    return [_label(c) for c in next(csv.reader([kind.strip("{} ")], skipinitialspace=True))]
  return None


def read_arff(path: str, *, classes=None, missing: str = "error") -> TSData:
  """A UEA/Weka ``.arff`` file, flat or relational (see the module docstring)."""
  check_missing_policy(missing)
  lines = _read_lines(path)
  attrs, inner, start = _arff_header(path, lines)
  kinds = [k for _, k in attrs]
  nominal = [i for i, k in enumerate(kinds) if _nominal(k) is not None]
  if nominal:
    target, regression = nominal[-1], False
  elif attrs and attrs[-1][0].lower() in _TARGET_NAMES and kinds[-1].lower() in ("numeric", "real"):
    target, regression = len(attrs) - 1, True
  else:
    raise ValueError(f"{path}: no class attribute: the last nominal attribute ({{a,b,...}}) is "
                     "the class, or a numeric one named 'target' for regression.")
  declared = _nominal(kinds[target]) if not regression else None
  sequences, labels, where = [], [], []
  for num, line in enumerate(lines[start:], start + 1):
    line = line.strip()
    if not line or line.startswith("%"):
      continue
    quote = '"' if line.startswith('"') else "'"  # a relational value is quoted either way
    row = next(csv.reader([line], quotechar=quote, skipinitialspace=True))
    where_ = f"{path}:{num}"
    if len(row) != len(attrs):
      raise ValueError(f"{where_}: {len(row)} values, the header declares {len(attrs)} "
                       "attributes.")
    series = [c for i, c in enumerate(row) if i != target]
    if inner is not None:
      dims = [_values(where_, d.split(",")) for d in re.split(r"\\n|\n", series[0])]
      length = max(len(d) for d in dims)
      case = np.full((length, len(dims)), np.nan)
      for j, d in enumerate(dims):
        case[:len(d), j] = d
    else:
      case = _values(where_, series)[:, None]
    sequences.append(case)
    labels.append(row[target].strip() if regression else _label(row[target]))
    where.append(f"line {num}")
  return _finish(path, sequences, labels, where, missing, classes or declared, regression)


def read_series_file(path: str, *, classes=None, missing: str = "error") -> TSData:
  """Any of ``FORMATS``, chosen by ``detect_format``."""
  kind = detect_format(path)
  reader = {"ts": read_ts, "arff": read_arff, "ucr": read_ucr_text}[kind]
  return reader(path, classes=classes, missing=missing)


def read_pair(train_path: str, test_path: str, **kwargs) -> tuple[TSData, TSData]:
  """A training and a test file of one problem in any of ``FORMATS`` (each by its own
  extension or content), with ``read_ts_pair``'s checks."""
  return read_ts_pair(train_path, test_path, reader=read_series_file, **kwargs)
