"""First names from Faker's locale providers, for character-level name generation."""
from __future__ import annotations

import numpy as np

from rnn_jax.data.common import optional_import

END = "\n"  # the end-of-name token; a name is generated until the model emits it


def first_names(locales=("en_US",)) -> list[str]:
  """Distinct first names of the locales' person providers (Faker, extra ``[data]``), sorted."""
  optional_import("faker", "faker")
  names = set()
  for locale in locales:
    try:
      module = optional_import(f"faker.providers.person.{locale}", "faker")
    except ImportError:
      raise ValueError(f"Faker has no person provider for locale {locale!r}.") from None
    provider = module.Provider
    for attr in ("first_names", "first_names_female", "first_names_male"):
      names.update(getattr(provider, attr, ()) or ())
  names = sorted(n for n in names if n and END not in n)
  if not names:
    raise ValueError(f"no first names found for locales {list(locales)}.")
  return names


def split_names(names, held_out: float = 0.1, seed: int = 0):
  """``(train, test)`` disjoint lists of names, shuffled by ``seed``."""
  names = list(names)
  order = np.random.default_rng(seed).permutation(len(names))
  n_test = max(1, int(round(len(names) * held_out)))
  return [names[i] for i in order[n_test:]], [names[i] for i in order[:n_test]]
