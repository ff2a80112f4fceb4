"""Helpers the data loaders share: optional packages, shipped files, padding, splits."""
from __future__ import annotations

import importlib
import os

import numpy as np

FILES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "files")


def optional_import(module: str, package: str, extra: str = "data"):
  """Imports ``module``, or raises an ImportError that says what to install."""
  try:
    return importlib.import_module(module)
  except ImportError as e:
    raise ImportError(f"this data set needs the optional package '{package}' (import "
                      f"{module!r} failed: {e}). Install the extra: pip install -e \".[{extra}]\" "
                      f"(or pip install {package}).") from e


def shipped_file(name: str) -> str:
  """Absolute path of a data file that ships inside the package."""
  path = os.path.join(FILES, name)
  if not os.path.exists(path):
    raise FileNotFoundError(f"shipped data file {path} is missing; reinstall the package.")
  return path


def pad_sequences(sequences, dtype=np.float32):
  """List of ``[T_i, D]`` arrays → ``(xs [N, T_max, D], lengths [N])``, zero padded."""
  if not len(sequences):
    raise ValueError("pad_sequences needs at least one sequence.")
  dims = {s.shape[1:] for s in sequences}
  if len(dims) != 1:
    raise ValueError(f"sequences must share their feature shape, got {sorted(dims)}.")
  lengths = np.array([len(s) for s in sequences], np.int32)
  xs = np.zeros((len(sequences), int(lengths.max())) + sequences[0].shape[1:], dtype)
  for i, s in enumerate(sequences):
    xs[i, :len(s)] = s
  return xs, lengths


def stratified_split(labels, test_per_class: int, seed: int):
  """Indices ``(train, test)``: ``test_per_class`` random examples of every class held out."""
  labels = np.asarray(labels)
  rng = np.random.default_rng(seed)
  test = []
  for c in np.unique(labels):
    idx = np.flatnonzero(labels == c)
    if len(idx) <= test_per_class:
      raise ValueError(f"class {c} has {len(idx)} examples; cannot hold out {test_per_class}.")
    test.extend(rng.choice(idx, test_per_class, replace=False))
  test = np.sort(np.array(test))
  train = np.setdiff1d(np.arange(len(labels)), test)
  return rng.permutation(train), rng.permutation(test)


def standardize(train, *others, lengths=None):
  """Per-feature mean/std from the valid steps of ``train`` (``[N, T, D]``), applied to all.

  Padding stays exactly zero. Returns the standardized arrays and ``(mean, std)``.
  """
  if lengths is None:
    flat = train.reshape(-1, train.shape[-1])
  else:
    flat = np.concatenate([x[:n] for x, n in zip(train, lengths)])
  mean, std = flat.mean(0), flat.std(0) + 1e-8

  def apply(x, n=None):
    z = (x - mean) / std
    if x.ndim == 3:
      valid = (np.arange(x.shape[1])[None, :] < (n if n is not None else x.shape[1])[:, None])
      z = np.where(valid[..., None], z, 0.0)
    return z.astype(x.dtype)

  return mean, std, apply


MISSING = ("error", "drop", "interpolate")


def is_number(text: str) -> bool:
  """Whether ``float(text)`` reads it."""
  try:
    float(text)
    return True
  except ValueError:
    return False


def check_missing_policy(missing: str) -> str:
  if missing not in MISSING:
    raise ValueError(f"missing must be one of {MISSING}, got {missing!r}.")
  return missing


def interpolate_nans(values) -> np.ndarray:
  """A 1-D float array with its NaNs replaced by linear interpolation between the nearest
  known values (the nearest known value before the first or after the last one; zeros when
  none is known)."""
  values = np.asarray(values, np.float64)
  known = np.flatnonzero(~np.isnan(values))
  if len(known) == len(values):
    return values
  if not len(known):
    return np.zeros_like(values)
  return np.interp(np.arange(len(values)), known, values[known])


def missing_report(where: list[str], what: str, total: int) -> str:
  """``"N of TOTAL WHAT have missing values (first: a, b, c)"``."""
  first = ", ".join(where[:3]) + (", ..." if len(where) > 3 else "")
  return f"{len(where)} of {total} {what} have missing values (first: {first})"
