"""Human-readable dates → ISO 8601 (YYYY-MM-DD), the attention task of the seeds.

Dates drawn by Faker between 1950-01-01 and 2049-12-31 (a fixed range, so a seed gives the
same data on any day), rendered by Babel in several formats and locales with the calendar year
``y`` (never the week-year ``YYYY``), lowercased. Babel's ``short`` format is used for the first
locale only: the numeric short formats of different locales collide (en_US ``3/4/01`` is 4 March
in es_ES), and an input that means two dates cannot be translated. Held-out inputs never occur
in the training set. Needs faker and babel (extra ``[data]``).
"""
from __future__ import annotations

import datetime
from typing import NamedTuple

import numpy as np

from rnn_jax.data.common import optional_import

FORMATS = ("short", "medium", "long", "full", "d MMM y", "d MMMM y", "dd MMM y", "d MMM, y",
           "MMMM d y", "dd.MM.y")
LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT")
ISO_CHARS = "0123456789-"
T_Y = 10
FIRST, LAST = datetime.date(1950, 1, 1), datetime.date(2049, 12, 31)


class DateData(NamedTuple):
  """Encoded pairs: ``src [N, T_x]`` (char ids, 0-padded), ``src_lengths [N]``,
  ``tgt [N, 10]`` (ids into ``ISO_CHARS``); ``pairs`` the strings; ``src_chars`` the input
  vocabulary (id 0 = padding, 1 = unknown, then the characters)."""
  src: np.ndarray
  src_lengths: np.ndarray
  tgt: np.ndarray
  pairs: list
  src_chars: str


def render(date: datetime.date, fmt: str, locale: str) -> str:
  babel_dates = optional_import("babel.dates", "babel")
  return babel_dates.format_date(date, format=fmt, locale=locale).lower()


def date_pairs(n: int, seed: int, locales=LOCALES, formats=FORMATS, exclude=frozenset()):
  """``n`` distinct (human, iso) pairs whose human string is not in ``exclude``."""
  faker = optional_import("faker", "faker")
  if n < 1:
    raise ValueError(f"n must be >= 1, got {n}.")
  if not locales:
    raise ValueError("locales must name at least one Babel locale.")
  fake = faker.Faker()
  fake.seed_instance(seed)
  rng = np.random.default_rng(seed)
  choices = [(l, f) for i, l in enumerate(locales) for f in formats if f != "short" or i == 0]
  pairs, seen = [], set(exclude)
  for _ in range(50 * n):
    if len(pairs) == n:
      break
    d = fake.date_between_dates(FIRST, LAST)
    locale, fmt = choices[rng.integers(len(choices))]
    human = render(d, fmt, locale)
    if human not in seen:
      seen.add(human)
      pairs.append((human, d.isoformat()))
  if len(pairs) < n:
    raise ValueError(f"could only draw {len(pairs)} distinct dates of the {n} asked for.")
  return pairs


def encode_dates(pairs, src_chars: str | None = None, max_length: int | None = None) -> DateData:
  """Char ids for the pairs; ``src_chars`` from the training pairs (unseen chars → 1)."""
  if src_chars is None:
    src_chars = "".join(sorted({c for h, _ in pairs for c in h}))
  table = {c: i + 2 for i, c in enumerate(src_chars)}
  t_x = max_length or max(len(h) for h, _ in pairs)
  src = np.zeros((len(pairs), t_x), np.int32)
  lengths = np.zeros((len(pairs),), np.int32)
  tgt = np.zeros((len(pairs), T_Y), np.int32)
  for i, (human, iso) in enumerate(pairs):
    ids = [table.get(c, 1) for c in human[:t_x]]
    src[i, :len(ids)], lengths[i] = ids, len(ids)
    tgt[i] = [ISO_CHARS.index(c) for c in iso]
  return DateData(src, lengths, tgt, list(pairs), src_chars)


def load_dates(n_train: int = 10_000,
               n_test: int = 1_000,
               seed: int = 0,
               locales=LOCALES,
               formats=FORMATS) -> tuple[DateData, DateData]:
  """Training and held-out sets (no held-out input string occurs in training)."""
  train = date_pairs(n_train, seed, locales, formats)
  test = date_pairs(n_test, seed + 1, locales, formats, exclude={h for h, _ in train})
  tr = encode_dates(train)
  t_x = max(tr.src.shape[1], max(len(h) for h, _ in test))
  return encode_dates(train, tr.src_chars, t_x), encode_dates(test, tr.src_chars, t_x)


def decode_iso(ids) -> str:
  return "".join(ISO_CHARS[int(i)] for i in np.asarray(ids))
