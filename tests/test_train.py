"""The training loop: resume equals uninterrupted, damaged checkpoints, non-finite
steps, clean stop on SIGTERM."""
import json
import os
import signal
import subprocess
import sys
import time
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import adding
from experiments import configs
from experiments.runner import initial_state
from tests.helpers import model_rows
from rnn_jax import checkpoint as ckpt
from rnn_jax.optim import OptimConfig, make_optimizer
from rnn_jax.train import StopTraining, fit, init_state, make_train_step

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = configs.get(
    "adding",
    hidden_size=8,
    steps=24,
    batch_size=8,
    length=12,
    eval_every=4,
    checkpoint_every=4,
    eval_batches=1)


def _final_params(workdir):
  mngr = ckpt.manager(workdir)
  step = mngr.latest_step()
  return step, mngr.restore(step)


@pytest.mark.slow  # end-to-end (a task run, training to a result, or a subprocess)
def test_resume_equals_uninterrupted_bit_for_bit(tmp_path):
  full = adding.train_and_evaluate(TINY, str(tmp_path / "a"), log=lambda *_: None)
  # interrupted after 10 steps (last checkpoint at 8), then resumed to the end
  adding.train_and_evaluate(
      configs.replace(TINY, steps=10), str(tmp_path / "b"), log=lambda *_: None)
  resumed = adding.train_and_evaluate(TINY, str(tmp_path / "b"), log=lambda *_: None)
  assert resumed["resumed_from"] == 10
  # the short run also logged its own last step (10); every shared row is identical
  assert [r for r in model_rows(resumed["history"]) if r["step"] != 10
         ] == model_rows(full["history"])
  sa, pa = _final_params(str(tmp_path / "a"))
  sb, pb = _final_params(str(tmp_path / "b"))
  assert sa == sb == 24
  jax.tree_util.tree_map(np.testing.assert_array_equal, pa, pb)
  rows = [json.loads(l) for l in open(tmp_path / "b" / "metrics.jsonl")]
  assert [r["step"] for r in rows] == [4, 8, 10, 12, 16, 20, 24]  # no duplicates after resume
  # wall time counts both sessions: it never goes back at the resume, and the report has it all
  clock = [r["eval_seconds"] for r in rows]
  assert clock == sorted(clock) and resumed["seconds"] >= clock[-1] > clock[2]


@pytest.mark.slow  # end-to-end (a task run, training to a result, or a subprocess)
def test_stateful_charlm_carries_state_and_resumes_bit_for_bit(tmp_path):
  from experiments import charlm
  from experiments import configs
  text = tmp_path / "t.txt"
  text.write_text("to be or not to be, that is the question. " * 40)
  config = configs.get(
      "charlm",
      text_file=str(text),
      stateful=True,
      hidden_size=8,
      embed_size=4,
      length=10,
      batch_size=4,
      steps=12,
      eval_every=4,
      checkpoint_every=4,
      schedule="constant")  # a cosine schedule depends on --steps, which the short run changes
  quiet = lambda *_: None
  full = charlm.train_and_evaluate(config, str(tmp_path / "a"), log=quiet)
  charlm.train_and_evaluate(configs.replace(config, steps=6), str(tmp_path / "b"), log=quiet)
  resumed = charlm.train_and_evaluate(config, str(tmp_path / "b"), log=quiet)
  assert resumed["resumed_from"] == 6
  assert [r for r in model_rows(resumed["history"]) if r["step"] != 6
         ] == model_rows(full["history"])
  (_, a), (_, b) = _final_params(str(tmp_path / "a")), _final_params(str(tmp_path / "b"))
  jax.tree_util.tree_map(np.testing.assert_array_equal, a, b)
  carry = jax.tree_util.tree_leaves(a["carry"] if isinstance(a, dict) else a.carry)
  assert carry and all(np.abs(c).sum() > 0 for c in carry)  # the carry was kept and saved


def test_stateful_step_hands_the_carry_on_without_gradient():
  tx = make_optimizer(OptimConfig("sgd", 0.1))

  def loss(p, batch, key, carry):  # carry ← 0.5·carry + w·x; loss = Σ carry²
    new = 0.5 * carry + p["w"] * batch
    return jnp.sum(new**2), ({}, new)

  state = init_state({"w": jnp.ones(())}, tx, jax.random.PRNGKey(0), carry=jnp.zeros((2,)))
  step = make_train_step(loss, tx, stateful=True, jit=False)
  x = jnp.array([1.0, 2.0])
  s1, _ = step(state, x)
  np.testing.assert_allclose(s1.carry, [1.0, 2.0])  # w = 1 before the update
  # gradient at step 2 is ∂/∂w Σ(0.5·c1 + w·x)² with c1 held constant (no BPTT across batches)
  w1 = float(s1.params["w"])
  c2 = 0.5 * s1.carry + w1 * x
  expected_grad = float(jnp.sum(2 * c2 * x))
  s2, m = step(s1, x)
  np.testing.assert_allclose(float(s2.params["w"]), w1 - 0.1 * expected_grad, rtol=1e-6)
  np.testing.assert_allclose(s2.carry, c2, rtol=1e-6)


def _tiny_state_and_step(skip_nonfinite=None):
  params = {"w": jnp.ones((3,))}
  tx = make_optimizer(OptimConfig("sgd", 0.1, skip_nonfinite=skip_nonfinite))
  loss = lambda p, batch, key: (jnp.sum((p["w"] * batch)**2), {})
  return init_state(params, tx, jax.random.PRNGKey(0)), make_train_step(loss, tx)


def test_corrupted_latest_checkpoint_falls_back_to_previous(tmp_path):
  state, step = _tiny_state_and_step()
  fit(state,
      step,
      lambda s: jnp.full((3,), 0.1),
      steps=6,
      workdir=str(tmp_path),
      checkpoint_every=3,
      log=lambda *_: None)
  latest = tmp_path / "checkpoints" / "6"
  files = [p for p in latest.rglob("*") if p.is_file() and p.stat().st_size > 0]
  for f in files:  # truncate every data file of the newest step
    f.write_bytes(f.read_bytes()[:max(0, f.stat().st_size // 3)])
  with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    restored_step, restored = ckpt.restore_latest(ckpt.manager(str(tmp_path)), state)
  assert restored_step == 3
  assert any("step 6" in str(w.message) and "unreadable" in str(w.message) for w in caught)
  assert int(restored.step) == 3


def test_half_written_checkpoint_never_becomes_latest(tmp_path):
  state, step = _tiny_state_and_step()
  fit(state,
      step,
      lambda s: jnp.full((3,), 0.1),
      steps=3,
      workdir=str(tmp_path),
      checkpoint_every=3,
      log=lambda *_: None)
  # what an interrupted orbax save leaves behind: a temporary step directory
  tmp = tmp_path / "checkpoints" / "9.orbax-checkpoint-tmp-1234567"
  tmp.mkdir()
  (tmp / "partial").write_bytes(b"\0" * 10)
  step_found, _ = ckpt.restore_latest(ckpt.manager(str(tmp_path)), state)
  assert step_found == 3
  assert not tmp.exists()  # cleaned up when the manager opened the directory


def test_nonfinite_steps_are_skipped_then_training_stops(tmp_path):
  state, step = _tiny_state_and_step(skip_nonfinite=100)
  nan_from = 5
  batch = lambda s: jnp.full((3,), jnp.nan if s >= nan_from else 0.1)
  with pytest.raises(StopTraining, match="3 consecutive steps with non-finite"):
    fit(state,
        step,
        batch,
        steps=20,
        workdir=str(tmp_path),
        checkpoint_every=1,
        max_bad_steps=3,
        log=lambda *_: None)
  last_step, restored = ckpt.restore_latest(ckpt.manager(str(tmp_path)), state)
  assert last_step == nan_from  # the last good step's checkpoint is intact
  assert bool(jnp.all(jnp.isfinite(restored.params["w"])))
  # an exploding learning rate: params would overflow; the step is skipped, not applied
  tx = make_optimizer(OptimConfig("sgd", 1e38, skip_nonfinite=100))
  loss = lambda p, b, k: (jnp.sum((p["w"] * b)**2), {})
  st = init_state({"w": jnp.ones((3,))}, tx, jax.random.PRNGKey(0))
  st2, metrics = make_train_step(loss, tx)(st, jnp.full((3,), 1e20))
  assert not np.isfinite(float(metrics["loss"])) or not np.isfinite(float(metrics["grad_norm"]))
  np.testing.assert_array_equal(st2.params["w"], jnp.ones((3,)))


class _Probe:
  """A metric that records the loop step at which anything reads its value."""

  def __init__(self, value, now, reads):
    self.value, self.now, self.reads = value, now, reads

  def _read(self):
    self.reads.add(self.now[0])
    return np.asarray(self.value)

  def __array__(self, dtype=None, copy=None):
    return self._read() if dtype is None else self._read().astype(dtype)

  __float__ = lambda self: float(self._read())
  __int__ = lambda self: int(self._read())
  __bool__ = lambda self: bool(self._read())


@pytest.mark.parametrize("skip_nonfinite", [None, 100])
def test_fit_reads_step_metrics_only_at_evaluations_and_every_max_bad_steps(skip_nonfinite):
  """The loop does not wait for each step: a step's metrics are read (in one transfer with the
  steps before it) at evaluations and every max_bad_steps steps; the stop is still reported at
  the exact step where the count was reached."""
  state, step = _tiny_state_and_step(skip_nonfinite)
  now, reads = [0], set()

  def probed_step(state, batch):
    state, metrics = step(state, batch)
    now[0] += 1
    return state, {k: _Probe(v, now, reads) for k, v in metrics.items()}

  kwargs = dict(steps=40, eval_every=20, max_bad_steps=3, log=lambda *_: None)
  fit(state, probed_step, lambda s: jnp.full((3,), 0.1), **kwargs)
  assert reads == {3, 6, 9, 12, 15, 18, 20, 23, 26, 29, 32, 35, 38, 40}
  state, step = _tiny_state_and_step(skip_nonfinite)  # the first fit donated the state
  now[0] = 0
  nan_from = 9  # batches 9, 10, 11 (steps 10, 11, 12) are non-finite: 3 in a row at step 12
  batch = lambda s: jnp.full((3,), jnp.nan if s >= nan_from else 0.1)
  with pytest.raises(StopTraining, match=r"3 consecutive .* \(last at step 12\)"):
    fit(state, probed_step, batch, **kwargs)
  assert now[0] == 12  # noticed at the read after step 12


@pytest.mark.slow  # a subprocess killed by a signal
def test_sigterm_saves_and_exits_cleanly_then_resumes(tmp_path):
  workdir = str(tmp_path / "run")
  env = {**os.environ, "PYTHONPATH": ROOT}
  cmd = [
      sys.executable, "-m", "experiments.main", "--config.steps=100000", "--config.eval_every=5",
      "--config.checkpoint_every=1000", "--config.hidden_size=8", "--config.length=10",
      "--config.batch_size=8", f"--workdir={workdir}"
  ]
  proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
  deadline = time.time() + 120
  metrics = os.path.join(workdir, "metrics.jsonl")
  while time.time() < deadline and not (os.path.exists(metrics) and os.path.getsize(metrics) > 0):
    time.sleep(0.2)
  proc.send_signal(signal.SIGTERM)
  out, err = proc.communicate(timeout=120)
  assert proc.returncode == 0, err.decode()[-2000:]
  assert b"interrupted: checkpoint saved" in out
  step, _ = ckpt.restore_latest(ckpt.manager(workdir), adding_state_like())
  assert step is not None and step > 0
  assert not os.path.exists(os.path.join(workdir, "report.json"))


def adding_state_like():
  cfg = configs.get("adding", hidden_size=8, length=10, batch_size=8)
  return initial_state(cfg, adding.build_model(cfg))[0]


def test_early_stopping_saves_where_it_stops_and_a_resume_stays_stopped(tmp_path):
  state, step = _tiny_state_and_step()
  stop_at_second_eval = lambda history: len(history) >= 2
  kwargs = dict(
      workdir=str(tmp_path),
      eval_every=2,
      checkpoint_every=100,
      log=lambda *_: None,
      stop_when=stop_at_second_eval)
  final, info = fit(state, step, lambda s: jnp.full((3,), 0.1), steps=20, **kwargs)
  assert info["stopped_early"] == 4 and int(final.step) == 4
  assert [r["step"] for r in info["history"]] == [2, 4]
  assert sorted(os.listdir(tmp_path / "checkpoints")) == ["4"]  # saved although 4 % 100 != 0
  again, info = fit(state, step, lambda s: jnp.full((3,), 0.1), steps=40, **kwargs)
  assert info["resumed_from"] == 4 and info["stopped_early"] == 4 and int(again.step) == 4
