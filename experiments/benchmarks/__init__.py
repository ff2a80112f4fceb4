"""Benchmark scripts; what several of them share that defines no flags."""


def merged(old: list[dict], new: list[dict], order: list[str], key: str = "text") -> list[dict]:
  """The rows of ``new`` and those of ``old`` whose ``key`` (a text, a series) ``new`` did not
  run, in ``order`` (the keys' order; a key no longer there goes last)."""
  ran = {r[key] for r in new}
  rows = new + [r for r in old if r[key] not in ran]
  return sorted(rows, key=lambda r: order.index(r[key]) if r[key] in order else len(order))
