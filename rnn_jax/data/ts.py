"""Reader of the ``.ts`` format of the UEA/UCR time-series classification archive.

A header of ``@key value`` lines (``@dimensions``, ``@classLabel true c1 c2 …``,
``@equalLength``, ``@missing``, ``@data``), ``#`` comments, then one case per line:
the dimensions separated by ``:``, values by ``,``, the class label last. Sequences
may differ in length between cases (not between the dimensions of one case).
"""
from __future__ import annotations

import os
from typing import NamedTuple

import numpy as np

from rnn_jax.data.common import pad_sequences


class TSData(NamedTuple):
  """``sequences``: list of ``[T_i, D]`` float arrays; ``labels [N]`` int indices into
  ``classes`` (the label strings, in the order the header declares them)."""
  sequences: list
  labels: np.ndarray
  classes: tuple

  @property
  def dimensions(self) -> int:
    return self.sequences[0].shape[1]

  def padded(self, dtype=np.float32):
    """``(xs [N, T_max, D], lengths [N])``, zero padded."""
    return pad_sequences(self.sequences, dtype)


def read_ts(path: str, *, max_length: int = 100_000, classes=None) -> TSData:
  """Parses a ``.ts`` file; every problem raises ValueError naming the file and line.

  ``max_length`` bounds the steps of one sequence (memory); ``classes`` (from the
  training file) fixes the label order for a test file.
  """
  if not os.path.isfile(path):
    raise FileNotFoundError(f"{path}: no such .ts file.")
  try:
    with open(path, encoding="utf-8") as f:
      lines = f.read().splitlines()
  except UnicodeDecodeError as e:
    raise ValueError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start}); "
                     f"is this a .ts file?") from None
  header, sequences, labels, declared_dims = {}, [], [], None
  in_data = False
  for num, raw in enumerate(lines, 1):
    line = raw.strip()
    if not line or line.startswith("#"):
      continue
    where = f"{path}:{num}"
    if not in_data:
      if not line.startswith("@"):
        raise ValueError(f"{where}: expected a @header line before @data, got {line[:40]!r}.")
      key, _, value = line[1:].partition(" ")
      key = key.lower()
      if key == "data":
        in_data = True
      elif key == "classlabel":
        parts = value.split()
        if not parts or parts[0].lower() != "true":
          raise ValueError(f"{where}: only classification files (@classLabel true …) are "
                           f"supported.")
        header["classes"] = tuple(parts[1:])
      elif key == "dimensions":
        declared_dims = int(value)
      else:
        header[key] = value.strip()
      continue
    fields = line.split(":")
    if len(fields) < 2:
      raise ValueError(f"{where}: a case needs at least one dimension and a class label.")
    *dims, label = fields
    if declared_dims is not None and len(dims) != declared_dims:
      raise ValueError(f"{where}: {len(dims)} dimensions, the header declares {declared_dims}.")
    try:
      values = [np.array([float(v) for v in d.split(",")], np.float64) for d in dims]
    except ValueError:
      bad = next(v for d in dims for v in d.split(",") if not _is_float(v))
      raise ValueError(f"{where}: non-numeric value {bad!r} (missing values '?' are not "
                       f"supported).") from None
    if len({len(v) for v in values}) != 1:
      raise ValueError(f"{where}: the dimensions of one case differ in length "
                       f"({sorted({len(v) for v in values})}).")
    if len(values[0]) > max_length:
      raise ValueError(f"{where}: a sequence of {len(values[0])} steps exceeds max_length="
                       f"{max_length}.")
    if not all(np.isfinite(v).all() for v in values):
      raise ValueError(f"{where}: non-finite values (nan/inf).")
    sequences.append(np.stack(values, axis=1))
    labels.append(label.strip())
  if not sequences:
    raise ValueError(f"{path}: no cases (empty file or no @data section).")
  dims = {s.shape[1] for s in sequences}
  if len(dims) != 1:
    raise ValueError(f"{path}: cases have different numbers of dimensions {sorted(dims)}.")
  classes = tuple(classes) if classes is not None else header.get("classes") or tuple(
      sorted(set(labels)))
  index = {c: i for i, c in enumerate(classes)}
  unknown = sorted(set(labels) - set(index))
  if unknown:
    raise ValueError(f"{path}: class labels {unknown[:5]} are not among {list(classes)}.")
  return TSData(sequences, np.array([index[l] for l in labels], np.int32), classes)


def read_ts_pair(train_path: str, test_path: str, **kwargs) -> tuple[TSData, TSData]:
  """Train and test files of one problem; the test file must match the training file's
  dimensions and classes."""
  train = read_ts(train_path, **kwargs)
  test = read_ts(test_path, classes=train.classes, **kwargs)
  if test.dimensions != train.dimensions:
    raise ValueError(f"{test_path}: {test.dimensions} dimensions, but {train_path} has "
                     f"{train.dimensions}.")
  return train, test


def _is_float(text: str) -> bool:
  try:
    float(text)
    return True
  except ValueError:
    return False
