"""Whole-program guarantees, each in fresh processes: SIGKILL at random moments (saves
included) and resume equals an uninterrupted run; the same seed gives the same bits in
two processes; bad flags and bad data get clear errors."""
import json
import os
import random
import signal
import subprocess
import sys
import time
import warnings

import jax
import numpy as np
import pytest

from experiments import adding
from experiments import configs
from experiments.runner import initial_state
from rnn_jax import checkpoint as ckpt
from rnn_jax.data.adding import adding_batch
from tests.helpers import model_rows

pytestmark = pytest.mark.slow  # end-to-end: CI runs these once (`pytest -m slow`)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = {**{k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}, "PYTHONPATH": ROOT}
ARGS = [
    "--config.steps=40", "--config.eval_every=4", "--config.checkpoint_every=1",
    "--config.hidden_size=8", "--config.length=10", "--config.batch_size=8"
]


def _cmd(workdir, seed=0, *extra):
  return [
      sys.executable, "-m", "experiments.main", *ARGS, f"--config.seed={seed}",
      f"--workdir={workdir}", *extra
  ]


def _run(workdir, seed=0, *extra):
  out = subprocess.run(
      _cmd(workdir, seed, *extra), cwd=ROOT, env=ENV, capture_output=True, timeout=300)
  assert out.returncode == 0, out.stderr.decode()[-2000:]
  with open(os.path.join(workdir, "report.json")) as f:
    return json.load(f)


def _like():
  cfg = configs.get("adding", hidden_size=8, length=10, batch_size=8)
  return initial_state(cfg, adding.build_model(cfg))[0]


def _latest_params(workdir):
  with warnings.catch_warnings():
    warnings.simplefilter("error")  # an unreadable checkpoint would warn: make it fail
    step, state = ckpt.restore_latest(ckpt.manager(workdir), _like())
  return step, state


def test_killed_at_random_moments_resumes_to_the_uninterrupted_result(tmp_path):
  clean = _run(str(tmp_path / "clean"))
  workdir = str(tmp_path / "killed")
  rng, last_step, kills = random.Random(7), 0, 0
  for _ in range(3):
    proc = subprocess.Popen(
        _cmd(workdir), cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ckdir, deadline = os.path.join(workdir, "checkpoints"), time.time() + 120
    while time.time() < deadline and proc.poll() is None and not (os.path.isdir(ckdir) and any(
        n.isdigit() for n in os.listdir(ckdir))):
      time.sleep(0.05)
    time.sleep(rng.uniform(0.0, 0.6))  # saves happen every step: kills often land in one
    if proc.poll() is None:
      proc.send_signal(signal.SIGKILL)
      kills += 1
    proc.wait(timeout=60)
    step, _ = _latest_params(workdir)  # never unreadable, never lost
    assert step is not None and step >= last_step
    last_step = step
  assert kills >= 1
  resumed = _run(workdir)
  assert model_rows(resumed["history"]) == model_rows(clean["history"])
  _, a = _latest_params(str(tmp_path / "clean"))
  _, b = _latest_params(workdir)
  jax.tree_util.tree_map(np.testing.assert_array_equal, a.params, b.params)


def test_same_seed_same_bits_in_two_processes_and_seeds_differ(tmp_path):
  once = "--config.checkpoint_every=40"  # the final save only: bits, not saves, are tested here
  r1, r2 = _run(str(tmp_path / "1"), 3, once), _run(str(tmp_path / "2"), 3, once)
  assert model_rows(r1["history"]) == model_rows(r2["history"])
  p1, p2 = _latest_params(str(tmp_path / "1"))[1], _latest_params(str(tmp_path / "2"))[1]
  jax.tree_util.tree_map(np.testing.assert_array_equal, p1, p2)
  r3 = _run(str(tmp_path / "3"), 4, once)
  assert model_rows(r3["history"]) != model_rows(r1["history"])


@pytest.mark.parametrize("flag,expected", [
    ("--config.hidden_size=0", "hidden_size"),
    ("--task=copy_memory_xl", "task"),
    ("--config.cell=transformer", "cell"),
    ("--config.learning_rate=-1", "learning_rate"),
    ("--config.steps=0", "steps"),
    ("--config.batch_size=-4", "batch_size"),
    ("--config.length=1", "length"),
    ("--config.truncate=0", "truncate"),
    ("--config.optimizer=lbfgs", "optimizer"),
])
def test_bad_flags_get_clear_errors(flag, expected):
  out = subprocess.run([sys.executable, "-m", "experiments.main", flag],
                       cwd=ROOT,
                       env=ENV,
                       capture_output=True,
                       timeout=120)
  assert out.returncode != 0
  err = out.stderr.decode()
  assert f"--config.{expected}" in err or f"flag --{expected}" in err, err[-1500:]
  assert len(err.strip().splitlines()) <= 2, err  # one line (and a help hint), no usage dump


@pytest.mark.parametrize("kwargs,match", [
    (dict(batch_size=0, length=10), "batch_size"),
    (dict(batch_size=4, length=1), "length"),
    (dict(batch_size=4, length=2.5), "length"),
])
def test_bad_data_loader_arguments(kwargs, match):
  with pytest.raises(ValueError, match=match):
    adding_batch(jax.random.PRNGKey(0), **kwargs)
