"""The launcher end to end with tiny flags, and the task data generators."""
import json
import math
import os
import subprocess
import sys

import jax
import numpy as np
import pytest

from rnn_jax.data.adding import adding_batch
from rnn_jax.data.copy_memory import DELIMITER, baseline_nats, copy_batch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = {**{k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}, "PYTHONPATH": ROOT}


@pytest.mark.parametrize("task,extra", [("adding", ["--cell=gru"]),
                                        ("copy_memory", ["--length=8", "--cell=lstm"])])
def test_launcher_writes_metrics_checkpoint_plot_and_report(task, extra, tmp_path):
  workdir = str(tmp_path / task)
  out = subprocess.run([
      sys.executable, "-m", "experiments.main", f"--task={task}", "--steps=12", "--eval_every=4",
      "--checkpoint_every=6", "--hidden_size=8", "--batch_size=8", f"--workdir={workdir}", *extra
  ],
                       cwd=ROOT,
                       env=ENV,
                       capture_output=True,
                       timeout=300)
  assert out.returncode == 0, out.stderr.decode()[-2000:]
  assert b"final test" in out.stdout
  assert sorted(os.listdir(os.path.join(workdir, "checkpoints"))) == ["12", "6"]
  rows = [json.loads(l) for l in open(os.path.join(workdir, "metrics.jsonl"))]
  assert [r["step"] for r in rows] == [4, 8, 12]
  assert all(math.isfinite(r["loss"]) and "grad_norm" in r and "param_norm" in r for r in rows)
  report = json.load(open(os.path.join(workdir, "report.json")))
  assert report["task"] == task and report["config"]["steps"] == 12
  with open(os.path.join(workdir, "curves.png"), "rb") as f:
    assert f.read(8) == b"\x89PNG\r\n\x1a\n"
  events = os.listdir(os.path.join(workdir, "tensorboard"))
  assert any(e.startswith("events.out.tfevents") for e in events)


def test_bidirectional_copy_memory_is_refused(tmp_path):
  out = subprocess.run([
      sys.executable, "-m", "experiments.main", "--task=copy_memory", "--bidirectional", "--steps=2"
  ],
                       cwd=ROOT,
                       env=ENV,
                       capture_output=True,
                       timeout=300)
  assert out.returncode != 0 and b"bidirectional" in out.stderr


def test_copy_memory_batches():
  x, y = copy_batch(jax.random.PRNGKey(0), 4, 15)
  assert x.shape == y.shape == (4, 35)
  np.testing.assert_array_equal(y[:, -10:], x[:, :10])  # the symbols to recall
  assert np.all(np.asarray(x[:, 24]) == DELIMITER) and np.all(np.asarray(y[:, :25]) == 0)
  assert np.all((np.asarray(x[:, :10]) >= 1) & (np.asarray(x[:, :10]) <= 8))
  x2, _ = copy_batch(jax.random.PRNGKey(0), 4, 15)
  x3, _ = copy_batch(jax.random.PRNGKey(1), 4, 15)
  np.testing.assert_array_equal(x, x2)
  assert not np.array_equal(x, x3)
  assert baseline_nats(100) == pytest.approx(10 * math.log(8) / 120)
  with pytest.raises(ValueError, match="length"):
    copy_batch(jax.random.PRNGKey(0), 4, 0)


def test_adding_batches_and_train_test_separation():
  x, y = adding_batch(jax.random.PRNGKey(0), 64, 30)
  assert x.shape == (64, 30, 2) and y.shape == (64, 1)
  markers = np.asarray(x[..., 1])
  assert np.all(markers.sum(1) == 2)
  assert np.all(markers[:, :15].sum(1) == 1)  # one marker in each half
  np.testing.assert_allclose(y[:, 0], (x[..., 0] * x[..., 1]).sum(1), rtol=1e-6)
  # the tasks draw test data from fold_in(seed key, 10**6), training data from a split key
  seed = jax.random.PRNGKey(0)
  test_key = jax.random.fold_in(seed, 10**6)
  train_keys = [jax.random.fold_in(jax.random.split(seed, 3)[2], s) for s in range(50)]
  assert all(
      not np.array_equal(jax.random.key_data(test_key), jax.random.key_data(k)) for k in train_keys)
