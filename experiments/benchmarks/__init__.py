"""Benchmark scripts; what several of them share that defines no flags."""


def merged(old: list[dict], new: list[dict], order: list[str]) -> list[dict]:
  """The rows of ``new`` and those of ``old`` for texts ``new`` did not run, in ``order`` (the
  texts' order; a text no longer there goes last)."""
  ran = {r["text"] for r in new}
  rows = new + [r for r in old if r["text"] not in ran]
  return sorted(rows, key=lambda r: order.index(r["text"]) if r["text"] in order else len(order))
