"""Reader of the ``.ts`` format of the UEA/UCR time-series classification archive.

A header of ``@key value`` lines (``@dimensions``, ``@classLabel true c1 c2 …`` or
``@targetLabel true`` for regression, ``@equalLength``, ``@missing``, ``@data``), ``#``
comments (and ``%`` ones, as in ARFF files and some archive headers), then one case per line:
the dimensions separated by ``:``, values by ``,``, the class label (or the numeric target)
last. Sequences may differ in length between cases (not between the dimensions of one case).
Missing values are written ``?`` (or ``NaN``).
"""
from __future__ import annotations

import os
from typing import NamedTuple

import numpy as np

from rnn_jax.data.common import (is_number, check_missing_policy, interpolate_nans, missing_report,
                                 pad_sequences)


class TSData(NamedTuple):
  """``sequences``: list of ``[T_i, D]`` float arrays. Classification: ``labels [N]`` int
  indices into ``classes`` (the label strings, in the order the header declares them).
  Regression (``@targetLabel true``): ``labels [N]`` float targets and ``classes == ()``."""
  sequences: list
  labels: np.ndarray
  classes: tuple

  @property
  def dimensions(self) -> int:
    return self.sequences[0].shape[1]

  @property
  def regression(self) -> bool:
    return not self.classes

  def padded(self, dtype=np.float32):
    """``(xs [N, T_max, D], lengths [N])``, zero padded."""
    return pad_sequences(self.sequences, dtype)


def _header(path, lines):
  """``(header dict, index of the first data line)``; ``header["target"]`` is
  "classification" or "regression"."""
  header = {"classes": None, "dims": None, "target": None}
  for i, raw in enumerate(lines):
    line = raw.strip()
    if not line or line.startswith(("#", "%")):
      continue
    where = f"{path}:{i + 1}"
    if not line.startswith("@"):
      raise ValueError(f"{where}: expected a @header line before @data, got {line[:40]!r}.")
    key, _, value = line[1:].partition(" ")
    key, parts = key.lower(), value.split()
    if key == "data":
      if header["target"] is None:
        raise ValueError(f"{path}: the header declares neither @classLabel true … nor "
                         "@targetLabel true.")
      return header, i + 1
    if key in ("classlabel", "targetlabel") and parts and parts[0].lower() == "true":
      header["target"] = "classification" if key == "classlabel" else "regression"
      header["classes"] = tuple(parts[1:]) if key == "classlabel" else None
    elif key == "classlabel" and header["target"] is None:
      raise ValueError(f"{where}: @classLabel false: the cases carry no target to learn.")
    elif key == "dimensions":
      header["dims"] = int(value)
  raise ValueError(f"{path}: no @data section.")


def parse_values(where: str, cells, missing=("?", "nan", "")) -> np.ndarray:
  """``[N]`` floats of text cells, NaN for a cell whose lower case is in ``missing``; ValueError
  naming ``where`` for a cell that is not a number."""
  out = []
  for c in cells:
    c = c.strip()
    if c.lower() in missing:
      out.append(np.nan)
      continue
    try:
      out.append(float(c))
    except ValueError:
      raise ValueError(f"{where}: non-numeric value {c[:20]!r}.") from None
  return np.array(out, np.float64)


def _parse_case(where, line, declared_dims):
  """``(values [T, D] with NaN for missing, label text)`` of one data line."""
  fields = line.split(":")
  if len(fields) < 2:
    raise ValueError(f"{where}: a case needs at least one dimension and a target.")
  *dims, label = fields
  if declared_dims is not None and len(dims) != declared_dims:
    raise ValueError(f"{where}: {len(dims)} dimensions, the header declares {declared_dims}.")
  values = [parse_values(where, d.split(",")) for d in dims]
  if len({len(v) for v in values}) != 1:
    raise ValueError(f"{where}: the dimensions of one case differ in length "
                     f"({sorted({len(v) for v in values})}).")
  case = np.stack(values, axis=1)
  if np.isinf(case).any():
    raise ValueError(f"{where}: infinite values.")
  return case, label.strip()


def read_ts(path: str,
            *,
            max_length: int = 100_000,
            classes=None,
            missing: str = "error") -> TSData:
  """Parses a ``.ts`` file; every problem raises ValueError naming the file and line.

  ``max_length`` bounds the steps of one sequence (memory); ``classes`` (from the training
  file) fixes the label order for a test file. ``missing`` says what to do with ``?`` values:
  ``"error"`` (counts the cases and names the first lines), ``"drop"`` (leaves those cases
  out) or ``"interpolate"`` (linear in time within each dimension of a case, the nearest known
  value at the ends).
  """
  check_missing_policy(missing)
  if not os.path.isfile(path):
    raise FileNotFoundError(f"{path}: no such .ts file.")
  try:
    with open(path, encoding="utf-8") as f:
      lines = f.read().splitlines()
  except UnicodeDecodeError as e:
    raise ValueError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start}); "
                     f"is this a .ts file?") from None
  header, start = _header(path, lines)
  sequences, labels, gaps = [], [], []
  for num in range(start, len(lines)):
    line = lines[num].strip()
    if not line or line.startswith(("#", "%")):
      continue
    case, label = _parse_case(f"{path}:{num + 1}", line, header["dims"])
    if len(case) > max_length:
      raise ValueError(f"{path}:{num + 1}: a sequence of {len(case)} steps exceeds max_length="
                       f"{max_length}.")
    if np.isnan(case).any():
      gaps.append(f"line {num + 1}")
      if missing == "drop":
        continue
      if missing == "interpolate":
        case = np.stack([interpolate_nans(c) for c in case.T], axis=1)
    sequences.append(case)
    labels.append(label)
  if gaps and missing == "error":
    raise ValueError(f"{path}: {missing_report(gaps, 'cases', len(sequences))}; pass "
                     "missing='drop' or 'interpolate' (launcher: --config.missing=...).")
  if not sequences:
    raise ValueError(f"{path}: no cases (empty file, no @data section, or all dropped).")
  dims = {s.shape[1] for s in sequences}
  if len(dims) != 1:
    raise ValueError(f"{path}: cases have different numbers of dimensions {sorted(dims)}.")
  if header["target"] == "regression":
    try:
      return TSData(sequences, np.array([float(l) for l in labels], np.float64), ())
    except ValueError:
      bad = next(l for l in labels if not is_number(l))
      raise ValueError(f"{path}: @targetLabel true, but a target is {bad!r}, not a number.")
  classes = tuple(classes) if classes else header["classes"] or tuple(sorted(set(labels)))
  index = {c: i for i, c in enumerate(classes)}
  unknown = sorted(set(labels) - set(index))
  if unknown:
    raise ValueError(f"{path}: class labels {unknown[:5]} are not among {list(classes)}.")
  return TSData(sequences, np.array([index[l] for l in labels], np.int32), classes)


def read_ts_pair(train_path: str, test_path: str, reader=None, **kwargs) -> tuple[TSData, TSData]:
  """Train and test files of one problem (``reader``: ``read_ts`` by default; any reader with
  its signature, e.g. ``rnn_jax.data.archives.read_series_file``). Refused, naming both files:
  another kind of target (classes vs numbers), another number of dimensions, or test classes
  the training file does not declare."""
  reader = reader or read_ts
  train = reader(train_path, **kwargs)
  test = reader(test_path, **kwargs)
  both = f"{train_path} and {test_path}"
  if train.regression != test.regression:
    kinds = ["regression" if d.regression else "classification" for d in (train, test)]
    raise ValueError(f"{both} do not match: {kinds[0]} vs {kinds[1]} targets.")
  if test.dimensions != train.dimensions:
    raise ValueError(f"{both} do not match: {train.dimensions} vs {test.dimensions} "
                     "dimensions.")
  if train.regression:
    return train, test
  extra = sorted(set(test.classes[i] for i in test.labels) - set(train.classes))
  if extra:
    raise ValueError(f"{both} do not match: test classes {extra[:5]} are not among the "
                     f"training classes {list(train.classes)}.")
  test = reader(test_path, classes=train.classes, **kwargs)
  return train, test
