"""``charlm`` with default flags on texts that no default was chosen on, beside the n-gram.

  python -m experiments.benchmarks.unseen_text                 # the held-out texts
  python -m experiments.benchmarks.unseen_text --set=dev       # the texts the defaults saw
  python -m experiments.benchmarks.unseen_text --texts=ja,http  # some; the table keeps the rest

Every text is built on the machine from what the install brings (the Python standard library
and Babel's CLDR locale data, which the ``[data]`` extra installs), so anyone can rebuild it:
``code<TAB>name`` lines of a locale's display names of territories, languages, scripts and
currencies; the start of a set of standard-library modules' source; docstrings of public
names. Each run is ``experiments.charlm`` with its default config and only ``text_file`` set.
The table carries the Witten–Bell n-gram of the split (whole held-out part), the model's best
held-out bits/char on its evaluation windows (the LSTM mixed with the n-gram, as the task reports
it), the LSTM alone at that step, the mixture's weight λ, the n-gram on the same windows, the
state-carried figures of both on the same characters, and the seconds the run took.
"""
from __future__ import annotations

import glob
import inspect
import json
import os
import sysconfig
import time

from absl import app, flags

from experiments.benchmarks import merged

_SET = flags.DEFINE_enum("set", "heldout", ["heldout", "dev"], "Which texts.")
_ONLY = flags.DEFINE_list("texts", None, "Run only the texts whose names contain these words.")
_OUT = flags.DEFINE_string("outdir", "experiments/results", "Where the table and JSON go.")
_WORK = flags.DEFINE_string("workdir", "/tmp/unseen_text", "Where the texts are written.")


def babel_names(locales) -> str:
  """One ``code<TAB>name`` line per display name of each locale (Babel's CLDR data)."""
  import babel  # the [data] extra
  lines = []
  for code in locales:
    locale = babel.Locale.parse(code)
    for table in (locale.territories, locale.languages, locale.scripts, locale.currencies):
      lines += [f"{key}\t{name}\n" for key, name in sorted(table.items())]
  return "".join(lines)


def stdlib_source(pattern: str, chars: int) -> str:
  """The first ``chars`` characters of the standard library's files matching ``pattern``,
  concatenated in sorted order."""
  root = sysconfig.get_paths()["stdlib"]
  paths = sorted(glob.glob(os.path.join(root, pattern)))
  return "".join(open(p, encoding="utf-8").read() for p in paths)[:chars]


def docstrings(modules, chars: int, least: int = 200) -> str:
  """``inspect.getdoc`` of the modules' public names whose docs exceed ``least`` characters."""
  import importlib
  parts = []
  for name in modules:
    module = importlib.import_module(name)
    for attr in sorted(a for a in dir(module) if not a.startswith("_")):
      doc = inspect.getdoc(getattr(module, attr, None)) or ""
      if len(doc) > least:
        parts.append(f"{name}.{attr}\n{doc}\n\n")
  return "".join(parts)[:chars]


def pydoc_topics(start: int, stop: int) -> str:
  """Characters ``start:stop`` of the help topics of ``pydoc_data.topics``, in their order."""
  from pydoc_data.topics import topics
  return "".join(topics.values())[start:stop]


TEXTS = {
    "heldout": {
        "Babel ja + ar display names (non-Latin, two scripts)":
            lambda: babel_names(["ja", "ar"]),
        "Babel ko + th + he display names (non-Latin, three scripts)":
            lambda: babel_names(["ko", "th", "he"]),
        "stdlib http/*.py (120,000) + json/*.py (60,000) source (code)":
            lambda: stdlib_source("http/*.py", 120_000) + stdlib_source("json/*.py", 60_000),
        "docstrings of argparse, collections, functools, itertools, logging, unittest, typing "
        "(prose)":
            lambda: docstrings([
                "argparse", "collections", "functools", "itertools", "logging", "unittest", "typing"
            ], 120_000),
    },
    "dev": {
        "Babel el + hi display names": lambda: babel_names(["el", "hi"]),
        "stdlib email/*.py source": lambda: stdlib_source("email/*.py", 150_000),
        "pydoc_data.topics characters 300,000-400,000": lambda: pydoc_topics(300_000, 400_000),
    },
}


def run_text(name: str, text: str, workdir: str) -> dict:
  from experiments import charlm, configs
  path = os.path.join(workdir, "".join(c if c.isalnum() else "_" for c in name)[:60] + ".txt")
  with open(path, "w", encoding="utf-8") as f:
    f.write(text)
  start = time.time()
  report = charlm.train_and_evaluate(configs.get("charlm", text_file=path), None, log=print)
  keep = ("heldout_bpc", "rnn_bpc", "mix_weight", "heldout_bpc_stateful", "ngram_bpc",
          "ngram_windows_bpc", "ngram_stateful_bpc", "ngram_order", "best_step", "vocab_size")
  return {"text": name, "chars": len(text), "seconds": round(time.time() - start, 1),
          **{k: report.get(k) for k in keep}}  # yapf: disable


def table(rows) -> str:
  out = [
      "| text | characters (symbols) | n-gram | model: LSTM + n-gram, best held-out windows "
      "(step) | LSTM alone | λ | n-gram, same windows | model ÷ n-gram | state carried: model "
      "/ n-gram, same characters | time |", "|---|---|---|---|---|---|---|---|---|---|"
  ]
  for r in rows:
    stateful = "—" if r["heldout_bpc_stateful"] is None else (
        f"{r['heldout_bpc_stateful']:.3f} / {r['ngram_stateful_bpc']:.3f}")
    out.append(f"| {r['text']} | {r['chars']:,} ({r['vocab_size']}) | {r['ngram_order']}-gram, "
               f"{r['ngram_bpc']:.3f} | {r['heldout_bpc']:.3f} ({r['best_step']:,}) | "
               f"{r['rnn_bpc']:.3f} | {r['mix_weight']:.2f} | {r['ngram_windows_bpc']:.3f} | "
               f"{r['heldout_bpc'] / r['ngram_windows_bpc']:.3f} | {stateful} | "
               f"{r['seconds']:.0f} s |")
  return "\n".join(out)


def main(_):
  os.makedirs(_WORK.value, exist_ok=True)
  os.makedirs(_OUT.value, exist_ok=True)
  rows = []
  for name, build in TEXTS[_SET.value].items():
    if _ONLY.value and not any(w.lower() in name.lower() for w in _ONLY.value):
      continue
    rows.append(run_text(name, build(), _WORK.value))
    print(table(rows[-1:]), flush=True)
  stem = os.path.join(_OUT.value, f"unseen_text_{_SET.value}")
  if _ONLY.value and os.path.exists(stem + ".json"):  # a partial run keeps the other rows
    with open(stem + ".json") as f:
      rows = merged(json.load(f), rows, list(TEXTS[_SET.value]))
  with open(stem + ".json", "w") as f:
    json.dump(rows, f, indent=1)
  with open(stem + ".md", "w") as f:
    f.write(table(rows) + "\n")
  print(table(rows))


if __name__ == "__main__":
  app.run(main)
