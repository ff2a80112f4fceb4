"""Training/validation splits of N labelled examples (NumPy, seeded): a held-out fraction,
k-fold ids, and the ``[M, N]`` hold-out masks of an M-member ensemble.

``stratify``: each class is split on its own, so every part keeps the class proportions.
"""
from __future__ import annotations

import numpy as np


def _groups(labels, stratify: bool):
  labels = np.asarray(labels)
  if not stratify:
    return [np.arange(len(labels))]
  return [np.flatnonzero(labels == c) for c in np.unique(labels)]


def validation_split(labels, fraction: float, seed: int, stratify: bool):
  """Indices ``(fit, val)``: ``fraction`` of the examples held out (at least one), per class
  when ``stratify`` (classes with fewer than 3 examples stay whole in the training part)."""
  rng = np.random.default_rng(seed)
  val = []
  for idx in _groups(labels, stratify):
    take = int(round(fraction * len(idx))) if len(idx) >= 3 else 0
    val.extend(rng.choice(idx, max(take, 1 if len(idx) >= 3 else 0), replace=False))
  val = np.sort(np.array(val, int))
  return np.setdiff1d(np.arange(len(labels)), val), val


def kfold_split(labels, folds: int, seed: int, stratify: bool) -> np.ndarray:
  """Fold id in ``[0, folds)`` of every example: each class (or, without ``stratify``, the
  whole set) shuffled and dealt round the folds from a random fold, so every fold gets
  ``⌊n_c / folds⌋`` or one more of each class."""
  rng = np.random.default_rng(seed)
  fold = np.empty(len(labels), int)
  for idx in _groups(labels, stratify):
    fold[rng.permutation(idx)] = (rng.integers(folds) + np.arange(len(idx))) % folds
  return fold


def member_holdouts(labels,
                    members: int,
                    val_fraction: float,
                    seed: int,
                    stratify: bool,
                    hold_none: bool = False) -> np.ndarray:
  """``[M, N]`` booleans: the examples member m does NOT train on (its validation examples).
  One member: ``val_fraction`` held out (``validation_split``); M ≥ 2 members: M-fold
  cross-validation (``kfold_split``), every example held out by exactly one member.
  ``hold_none``: none held out (every member trains on every example)."""
  n = len(labels)
  if hold_none:
    return np.zeros((members, n), bool)
  if members == 1:
    _, val = validation_split(labels, val_fraction, seed, stratify)
    holdout = np.zeros((1, n), bool)
    holdout[0, val] = True
    return holdout
  if members > n:
    raise ValueError(f"ensemble={members} members need at least {members} training examples, "
                     f"got {n}.")
  return kfold_split(labels, members, seed, stratify)[None, :] == np.arange(members)[:, None]
