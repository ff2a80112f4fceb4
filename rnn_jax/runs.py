"""What a workdir holds: the identity of the run whose checkpoints are in it.

A run's identity is the set of settings that decide what its parameters mean: the config
fields that shape params and data (cell, sizes, task, seed, ...), each data file standing as
the fingerprint of its bytes (SHA-256) instead of its path, so that a relative or absolute
spelling, a symlink or a byte-identical copy is the same data, and one byte edited is not.
``claim`` records it in ``workdir/identity.json`` on the first run and refuses, before
anything is written, a later run whose identity differs: its checkpoints would either fail
to restore or, worse, restore into a model of other data (a vocabulary of the same size,
other characters). Settings that only say how long or how a run goes on (the caller's
``ignore``: for the launcher ``steps``, evaluation and checkpoint intervals, devices, the
backward pass, the learning rate, sampling temperature) are not part of it, so a run can be
extended or re-tuned in place. ``move_aside`` starts over
without losing the old run.
"""
from __future__ import annotations

import datetime
import hashlib
import json
import os
from typing import Iterable, Mapping

IDENTITY_FILE = "identity.json"
# What a workdir holds for a run: moved together by ``move_aside``.
RUN_FILES = ("checkpoints", "metrics.jsonl", "report.json", "tensorboard", IDENTITY_FILE, "run.log")


class WorkdirMismatch(ValueError):
  """The workdir holds another run (its identity differs from this one's)."""


def file_fingerprint(path: str, chunk: int = 1 << 20) -> str:
  """``sha256:<hex>`` of a file's bytes."""
  h = hashlib.sha256()
  with open(path, "rb") as f:
    for block in iter(lambda: f.read(chunk), b""):
      h.update(block)
  return "sha256:" + h.hexdigest()


def identity(fields: Mapping, files: Iterable[str] = (), ignore: Iterable[str] = ()) -> dict:
  """``{"fields": {...}, "data": [fingerprints]}``: the config ``fields`` minus ``ignore``
  (values as JSON would write them; a field naming one of ``files`` holds that file's
  fingerprint instead of its path) and the sorted fingerprints of ``files``."""
  ignore, files = set(ignore), set(files)
  prints = {os.path.realpath(p): file_fingerprint(p) for p in files}
  kept = {}
  for k, v in sorted(fields.items()):
    if k not in ignore:
      is_file = isinstance(v, str) and v in files
      kept[k] = prints[os.path.realpath(v)] if is_file else v
  return json.loads(json.dumps({"fields": kept, "data": sorted(prints.values())}, default=str))


def _normalised(ident: Mapping) -> dict:
  """An identity as ``identity`` writes it now. Records written before data was identified by
  content held ``data`` as {absolute path: fingerprint} and paths in the fields."""
  data = ident.get("data", [])
  if not isinstance(data, Mapping):
    return dict(ident)
  fields = {}
  for k, v in ident.get("fields", {}).items():
    match = [
        fp for p, fp in data.items() if isinstance(v, str) and v and
        (p == os.path.abspath(v) or p.endswith(os.sep + v.lstrip("./")))
    ]
    fields[k] = match[0] if match else v
  return {"fields": fields, "data": sorted(data.values())}


def recorded(workdir: str) -> dict | None:
  """The identity stored in ``workdir``, or None (no file)."""
  path = os.path.join(workdir, IDENTITY_FILE)
  if not os.path.exists(path):
    return None
  with open(path, encoding="utf-8") as f:
    return json.load(f)


def differences(old: Mapping, new: Mapping) -> list[str]:
  """``"name: old -> new"`` for every field or data file that differs."""
  old, new = _normalised(old), _normalised(new)
  out = []
  of, nf = old.get("fields", {}), new.get("fields", {})
  for k in sorted(set(of) | set(nf)):
    a, b = of.get(k, "<absent>"), nf.get(k, "<absent>")
    if a != b and all(str(v).startswith("sha256:") for v in (a, b)):
      out.append(f"{k}: a file with other contents ({a[:15]}… -> {b[:15]}…)")
    elif a != b:
      out.append(f"{k}: {a!r} -> {b!r}")
  if sorted(old.get("data", [])) != sorted(new.get("data", [])) and not out:
    out.append("data files differ (their contents)")
  return out


def holds_a_run(workdir: str) -> bool:
  """True when ``workdir`` has checkpoints or metrics of some run."""
  return any(os.path.exists(os.path.join(workdir, f)) for f in ("checkpoints", "metrics.jsonl"))


def claim(workdir: str, ident: Mapping, write: bool = True) -> None:
  """Makes ``workdir`` this run's: records ``ident`` in a new or empty workdir, accepts the same
  identity (a resume), and raises ``WorkdirMismatch`` (one message of at most three lines,
  naming what differs and what to do) for another run's workdir, before anything is written.
  ``write=False``: check only (the processes of a multi-process run other than the first)."""
  old = recorded(workdir)
  if old is None and holds_a_run(workdir):
    raise WorkdirMismatch(
        f"workdir {workdir} holds a run without an identity record ({IDENTITY_FILE}), so it "
        "cannot be resumed safely.\nUse another --workdir, or --restart to move that run "
        "aside (into a previous-<time> folder) and start over.")
  if old is not None:
    diff = differences(old, ident)
    if diff:
      shown = "; ".join(diff[:6]) + ("; ..." if len(diff) > 6 else "")
      raise WorkdirMismatch(
          f"workdir {workdir} holds another run ({shown}).\nUse another --workdir, or "
          "--restart to move that run aside (into a previous-<time> folder) and start over.")
    return
  if write:
    os.makedirs(workdir, exist_ok=True)
    tmp = os.path.join(workdir, IDENTITY_FILE + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
      json.dump(dict(ident), f, indent=1, sort_keys=True)
    os.replace(tmp, os.path.join(workdir, IDENTITY_FILE))


def move_aside(workdir: str, now: datetime.datetime | None = None) -> str | None:
  """Moves the run in ``workdir`` (its checkpoints, metrics, report, TensorBoard events,
  identity and log; pictures too) into ``workdir/previous-<UTC time>/`` and returns that
  folder; None when there was nothing to move. Nothing is deleted."""
  if not os.path.isdir(workdir):
    return None
  names = [
      n for n in sorted(os.listdir(workdir))
      if n in RUN_FILES or n.endswith((".png", ".txt", ".json"))
  ]
  if not names:
    return None
  now = now or datetime.datetime.now(datetime.timezone.utc)
  dest = os.path.join(workdir, "previous-" + now.strftime("%Y%m%d-%H%M%S"))
  i = 1
  while os.path.exists(dest):
    dest = os.path.join(workdir, f"previous-{now.strftime('%Y%m%d-%H%M%S')}-{i}")
    i += 1
  os.makedirs(dest)
  for n in names:
    os.replace(os.path.join(workdir, n), os.path.join(dest, n))
  return dest
