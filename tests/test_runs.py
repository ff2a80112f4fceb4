"""A workdir knows what it holds (rnn_jax.runs and the launcher): another run's workdir is
refused before anything is written, extending a run resumes, --restart moves the old run
aside, and library noise goes to the workdir's run.log instead of the console."""
import datetime
import json
import hashlib
import os
import subprocess
import sys

import pytest

from experiments import configs
from experiments.runner import run_identity
from rnn_jax import runs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = {**{k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}, "PYTHONPATH": ROOT}
SMALL = [
    "--config.eval_every=4", "--config.checkpoint_every=4", "--config.length=6",
    "--config.batch_size=4", "--config.eval_batches=1"
]


def _snapshot(workdir):
  """{relative path: bytes} of every file under workdir."""
  out = {}
  for d, _, files in os.walk(workdir):
    for f in files:
      p = os.path.join(d, f)
      out[os.path.relpath(p, workdir)] = open(p, "rb").read()
  return out


def test_identity_differences_name_fields_and_data(tmp_path):
  a, b = tmp_path / "a.txt", tmp_path / "b.txt"
  a.write_text("abcabc")
  b.write_text("cbacba")  # same size, same vocabulary, other text
  one = runs.identity({"hidden_size": 8, "steps": 10, "text_file": str(a)}, [str(a)], ["steps"])
  digest = "sha256:" + hashlib.sha256(b"abcabc").hexdigest()  # computed apart
  assert "steps" not in one["fields"] and one["data"] == [digest]
  assert one["fields"]["text_file"] == digest  # the content, not the path
  same = runs.identity({"hidden_size": 8, "steps": 99, "text_file": str(a)}, [str(a)], ["steps"])
  assert runs.differences(one, same) == []
  other = runs.identity({"hidden_size": 16, "text_file": str(a)}, [str(a)])
  assert runs.differences(one, other) == ["hidden_size: 8 -> 16"]
  b_bytes = runs.identity({"hidden_size": 8, "text_file": str(b)}, [str(b)])
  assert runs.differences(one, b_bytes) == [
      f"text_file: a file with other contents ({digest[:15]}… -> "
      f"sha256:{hashlib.sha256(b'cbacba').hexdigest()[:8]}…)"
  ]
  # the same bytes under another spelling: relative, a symlink, a copy
  os.symlink(a, tmp_path / "link.txt")
  (tmp_path / "copy.txt").write_bytes(a.read_bytes())
  for p in (os.path.relpath(a), str(tmp_path / "link.txt"), str(tmp_path / "copy.txt")):
    assert runs.differences(one, runs.identity({"hidden_size": 8, "text_file": p}, [p])) == []
  a.write_text("abcabd")  # the same path, other bytes
  changed = runs.identity({"hidden_size": 8, "text_file": str(a)}, [str(a)])
  assert runs.differences(one, changed)[0].startswith("text_file: a file with other contents")
  # a record written before data was identified by content still matches its data
  old = {"fields": {"hidden_size": 8, "text_file": str(b)}, "data": {str(b): b_bytes["data"][0]}}
  assert runs.differences(old, b_bytes) == []


def test_claim_records_accepts_the_same_run_and_refuses_another(tmp_path):
  workdir = str(tmp_path / "run")
  ident = runs.identity({"cell": "lstm", "hidden_size": 8})
  runs.claim(workdir, ident)
  assert runs.recorded(workdir) == ident
  runs.claim(workdir, runs.identity({"cell": "lstm", "hidden_size": 8}))  # a resume
  before = _snapshot(workdir)
  with pytest.raises(runs.WorkdirMismatch) as err:
    runs.claim(workdir, runs.identity({"cell": "gru", "hidden_size": 8}))
  message = str(err.value)
  assert len(message.splitlines()) <= 3
  assert "cell: 'lstm' -> 'gru'" in message and "--restart" in message and "--workdir" in message
  assert _snapshot(workdir) == before
  # A workdir with checkpoints but no identity (an older run) is not resumed blindly.
  legacy = tmp_path / "legacy"
  (legacy / "checkpoints").mkdir(parents=True)
  with pytest.raises(runs.WorkdirMismatch, match="without an identity record"):
    runs.claim(str(legacy), ident)
  # A process other than the first only checks.
  fresh = str(tmp_path / "fresh")
  runs.claim(fresh, ident, write=False)
  assert not os.path.exists(fresh)


def test_move_aside_keeps_everything_and_never_overwrites(tmp_path):
  workdir = tmp_path / "run"
  (workdir / "checkpoints" / "4").mkdir(parents=True)
  (workdir / "checkpoints" / "4" / "x").write_text("params")
  (workdir / "metrics.jsonl").write_text('{"step": 4}\n')
  (workdir / "curves.png").write_bytes(b"png")
  (workdir / "unrelated_dir").mkdir()
  now = datetime.datetime(2026, 1, 2, 3, 4, 5)
  first = runs.move_aside(str(workdir), now)
  assert os.path.basename(first) == "previous-20260102-030405"
  assert open(os.path.join(first, "checkpoints", "4", "x")).read() == "params"
  assert sorted(os.listdir(workdir)) == ["previous-20260102-030405", "unrelated_dir"]
  (workdir / "metrics.jsonl").write_text('{"step": 8}\n')
  second = runs.move_aside(str(workdir), now)  # same second: a new folder, not a merge
  assert second.endswith("-1") and open(os.path.join(first,
                                                     "metrics.jsonl")).read() == ('{"step": 4}\n')
  assert runs.move_aside(str(workdir), now) is None  # nothing left to move
  assert runs.move_aside(str(tmp_path / "missing")) is None


def test_run_identity_ignores_run_length_and_fingerprints_named_files(tmp_path):
  text = tmp_path / "t.txt"
  text.write_text("hello world " * 50)
  base = configs.get("charlm", text_file=str(text), steps=300)
  longer = configs.replace(base, steps=600, minutes=3.0, eval_every=7, checkpoint_every=9)
  assert runs.differences(run_identity(base), run_identity(longer)) == []
  bigger = configs.replace(base, hidden_size=base.hidden_size + 1)
  assert runs.differences(run_identity(base), run_identity(bigger)) == [
      f"hidden_size: {base.hidden_size} -> {base.hidden_size + 1}"
  ]
  assert run_identity(base)["data"] == [runs.file_fingerprint(str(text))]
  resampled = configs.replace(base, temperature=0.5, learning_rate=1e-3)  # not identity
  assert runs.differences(run_identity(base), run_identity(resampled)) == []


def _launch(workdir, *args):
  cmd = [sys.executable, "-m", "experiments.main", *SMALL, f"--workdir={workdir}", *args]
  return subprocess.run(cmd, cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_launcher_refuses_resumes_logs_and_restarts(tmp_path):
  workdir = str(tmp_path / "run")
  first = _launch(workdir, "--config.steps=8", "--config.hidden_size=8")
  assert first.returncode == 0, first.stderr[-2000:]
  assert sorted(os.listdir(os.path.join(workdir, "checkpoints"))) == ["4", "8"]
  before = _snapshot(workdir)

  # Another model in the same workdir: refused in <= 3 lines, exit 2, nothing written.
  other = _launch(workdir, "--config.steps=8", "--config.hidden_size=16")
  assert other.returncode == 2, other.stderr[-2000:]
  lines = other.stderr.strip().splitlines()
  assert len(lines) <= 3 and "hidden_size: 8 -> 16" in lines[0], other.stderr[-2000:]
  assert _snapshot(workdir) == before

  # The newest checkpoint damaged, the run extended: resumes from step 4, no traceback on the
  # console, orbax's messages in run.log, one run in metrics.jsonl.
  for d, _, files in os.walk(os.path.join(workdir, "checkpoints", "8")):
    for f in files:
      p = os.path.join(d, f)
      data = open(p, "rb").read()
      open(p, "wb").write(data[:len(data) // 3])
  longer = _launch(workdir, "--config.steps=12", "--config.hidden_size=8")
  assert longer.returncode == 0, longer.stderr[-2000:]
  assert "resumed from step 4" in longer.stdout
  assert "Traceback" not in longer.stderr and len(longer.stderr.splitlines()) <= 5, longer.stderr
  assert "unreadable" in open(os.path.join(workdir, "run.log")).read()
  steps = [json.loads(line)["step"] for line in open(os.path.join(workdir, "metrics.jsonl"))]
  assert steps == [4, 8, 12]

  # --restart: the old run moved aside whole, the new one starts from step 0.
  again = _launch(workdir, "--config.steps=4", "--config.hidden_size=16", "--restart")
  assert again.returncode == 0, again.stderr[-2000:]
  (previous,) = [d for d in os.listdir(workdir) if d.startswith("previous-")]
  kept = os.path.join(workdir, previous)
  assert sorted(os.listdir(os.path.join(kept, "checkpoints"))) == ["12", "4", "8"]
  assert [json.loads(line)["step"] for line in open(os.path.join(kept, "metrics.jsonl"))] == steps
  assert runs.recorded(workdir)["fields"]["hidden_size"] == 16
  assert [json.loads(line)["step"] for line in open(os.path.join(workdir, "metrics.jsonl"))] == [4]
