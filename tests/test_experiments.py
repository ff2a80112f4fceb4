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
from rnn_jax.data.selective_copy import baseline_nats as selective_baseline
from rnn_jax.data.selective_copy import selective_copy_batch
from rnn_jax.data.recall import induction_batch, mqar_batch
from tests.helpers import tiny_charlm_config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = {**{k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}, "PYTHONPATH": ROOT}


def _ts_pair(tmp_path):
  """A small two-class .ts pair (class b: rising series, class a: falling)."""
  rng = np.random.default_rng(0)
  paths = []
  for name, n in (("TOY_TRAIN.ts", 24), ("TOY_TEST.ts", 10)):
    lines = ["@problemName toy", "@dimensions 2", "@classLabel true a b", "@data"]
    for i in range(n):
      t = rng.integers(4, 9)
      sign = 1 if i % 2 else -1
      dims = [np.cumsum(sign * rng.random(t)), rng.normal(size=t)]
      lines.append(":".join(",".join(f"{v:.4f}" for v in d) for d in dims) + f":{'ab'[i % 2]}")
    paths.append(tmp_path / name)
    paths[-1].write_text("\n".join(lines) + "\n")
  return [f"--config.train_ts={paths[0]}", f"--config.test_ts={paths[1]}"]


def _csv(tmp_path):
  path = tmp_path / "series.csv"
  t = np.arange(120)
  path.write_text("t,value\n" + "".join(f"{i},{np.sin(i / 4):.5f}\n" for i in t))
  return [f"--config.csv={path}", "--config.column=value", "--config.length=6"]


def _text(tmp_path):
  path = tmp_path / "corpus.txt"
  path.write_text("the quick brown fox jumps over the lazy dog. " * 60, encoding="utf-8")
  return [f"--config.text_file={path}", "--config.length=16", "--config.embed_size=8"]


LAUNCHES = [
    ("adding", lambda tmp: ["--config.cell=gru"], None),
    ("copy_memory", lambda tmp: ["--config.length=8"], None),  # the default: exp_rnn, autodiff
    ("classify", _ts_pair, "confusion.png"),
    ("forecast", _csv, "forecast.png"),
    ("charlm", _text, "samples.txt"),
    ("dates", lambda tmp: ["--config.locales=en_US,de_DE"], "attention.png"),
]


@pytest.mark.slow
@pytest.mark.parametrize("task,extra,picture", LAUNCHES)
def test_launcher_writes_metrics_checkpoint_plot_and_report(task, extra, picture, tmp_path):
  workdir = str(tmp_path / task)
  out = subprocess.run([
      sys.executable, "-m", "experiments.main", f"--task={task}", "--config.steps=12",
      "--config.eval_every=4", "--config.checkpoint_every=6", "--config.hidden_size=8",
      "--config.batch_size=8", f"--workdir={workdir}", *extra(tmp_path)
  ],
                       cwd=ROOT,
                       env=ENV,
                       capture_output=True,
                       timeout=300)
  assert out.returncode == 0, out.stderr.decode()[-2000:]
  assert b"final " in out.stdout
  assert sorted(os.listdir(os.path.join(workdir, "checkpoints"))) == ["12", "6"]
  rows = [json.loads(l) for l in open(os.path.join(workdir, "metrics.jsonl"))]
  assert [r["step"] for r in rows] == [4, 8, 12]
  assert all(math.isfinite(r["loss"]) and "grad_norm" in r and "param_norm" in r for r in rows)
  assert all(any(k.startswith("eval_") for k in r) for r in rows)
  report = json.load(open(os.path.join(workdir, "report.json")))
  assert report["task"] == task and report["config"]["steps"] == 12
  assert report["config"]["hidden_size"] == 8  # the flag replaced the task default
  for name in ["curves.png"] + ([picture] if picture and picture.endswith(".png") else []):
    with open(os.path.join(workdir, name), "rb") as f:
      assert f.read(8) == b"\x89PNG\r\n\x1a\n", name
  if picture == "samples.txt":
    assert len(open(os.path.join(workdir, picture), encoding="utf-8").read()) > 100
  events = os.listdir(os.path.join(workdir, "tensorboard"))
  assert any(e.startswith("events.out.tfevents") for e in events)
  assert not [f for f in os.listdir(workdir) if ".tmp" in f]  # no half-written files


@pytest.mark.slow  # end-to-end (a task run, training to a result, or a subprocess)
@pytest.mark.parametrize("task,picture,key", [("mnist", "digits.png", "test_accuracy"),
                                              ("ner", "tags.png", "entity_f1"),
                                              ("names", "names.png", "heldout_bpc")])
def test_tasks_in_process_with_tiny_configs(task, picture, key, tmp_path):
  import importlib
  from experiments import configs
  module = importlib.import_module(f"experiments.{task}")
  config = configs.get(task, steps=6, eval_every=3, checkpoint_every=6, hidden_size=8, batch_size=8)
  if "embed_size" in config:
    config = configs.replace(config, embed_size=8)
  report = module.train_and_evaluate(config, str(tmp_path), log=lambda line: None)
  assert math.isfinite(report[key]) and [r["step"] for r in report["history"]] == [3, 6]
  assert os.path.exists(tmp_path / picture) and os.path.exists(tmp_path / "report.json")
  assert module.result_line(report).startswith("final ")


@pytest.mark.parametrize("argv,message", [
    (["--config.hiden_size=128"], "--config.hiden_size is not a field of the 'adding' config; did "
     "you mean --config.hidden_size? (its fields: backend, backward, batch_size,"),
    (["--steps=10"], "unknown flag --steps: the task's fields are set as --config.FIELD=VALUE; did "
     "you mean --config.steps=10?"),
    (["--steps", "10"], "did you mean --config.steps=10?"),
    (["--nobidirectional"], "did you mean --config.bidirectional=false?"),
    (["--config.hidden_size=big"], "--config.hidden_size=big: hidden_size takes an integer (int; "
     "default 64), got 'big'."),
    (["--task=forecast", "--config.length", "two"], "length takes an integer (int; default None)"),
    (["--config.learning_rate=fast"], "learning_rate takes a number (float; default 0.01)"),
    (["--config.bidirectional=maybe"], "bidirectional takes true or false (bool; default False)"),
    (["--config.bidirectional=True", "--config.steps=3", "--workdir=/x"], None),
])
def test_override_errors_are_one_clean_line(argv, message):
  from experiments import configs
  task = next((a.split("=")[1] for a in argv if a.startswith("--task=")), "adding")
  got = configs.override_error(["main"] + argv, task, ("task", "workdir"))
  assert got == message if message is None else message in got
  assert got is None or ("\n" not in got and "\\" not in got)


@pytest.mark.parametrize("flags,message", [
    (["--config.hiden_size=1"], "FATAL Flags parsing error: --config.hiden_size is not a field of "
     "the 'adding' config; did you mean --config.hidden_size?"),
    (["--task=sunspots", "--config.csv=/no/such.csv", "--config.column=x"
     ], "--config.csv must name an existing file"),
    (["--task=sunspots", "--config.column=x"], "--config.column names a column of --config.csv"),
    (["--task=dates", "--config.text_file=README.md"
     ], "--config.text_file is not a field of the 'dates' config"),
    (["--task=japanese_vowels", "--config.train_ts=README.md"
     ], "--config.train_ts and --config.test_ts go together"),
    (["--task=nope"], "--task"),
    (["--config.cell=transformer"], "--config.cell must be one of"),
    (["--config.hidden_size=-3"], "--config.hidden_size must be a positive int"),
])
def test_bad_data_flags_fail_before_training(flags, message):
  out = subprocess.run([sys.executable, "-m", "experiments.main", *flags],
                       cwd=ROOT,
                       env=ENV,
                       capture_output=True,
                       timeout=120)
  assert out.returncode != 0 and message in out.stderr.decode(), out.stderr.decode()[-1500:]


def test_bad_data_files_get_errors_naming_file_and_problem(tmp_path):
  bad = tmp_path / "prices.csv"
  bad.write_text("day,price\n1,3.5\n2,3.5 EUR\n")
  out = subprocess.run([
      sys.executable, "-m", "experiments.main", "--task=sunspots", f"--config.csv={bad}",
      "--config.column=price", "--config.steps=2"
  ],
                       cwd=ROOT,
                       env=ENV,
                       capture_output=True,
                       timeout=120)
  err = out.stderr.decode()
  assert out.returncode != 0 and f"{bad}:3: column 'price' holds '3.5 EUR'" in err, err[-1500:]


def test_default_configs():
  from experiments import configs
  for task in configs.TASKS:
    config = configs.get(task)
    assert config.task == task and (config.steps is None or config.steps > 0)
    configs.validate(config)  # every shipped default passes its own checks
  assert configs.get("copy_memory").cell == "exp_rnn"
  assert configs.get("dates", steps=3).steps == 3
  with pytest.raises(ValueError, match="task must be one of"):
    configs.get("nope")
  with pytest.raises(AttributeError, match="'text_file' does not exist for task 'adding'"):
    configs.get("adding", text_file="x.txt")  # task-only fields live in their task's file
  assert configs.get("charlm", text_file="x.txt").text_file == "x.txt"


def test_bidirectional_copy_memory_is_refused(tmp_path):
  out = subprocess.run([
      sys.executable, "-m", "experiments.main", "--task=copy_memory", "--config.bidirectional=True",
      "--config.steps=2"
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


@pytest.mark.parametrize(
    "chars,steps,eval_every,want",
    [
        (23_000, 11_000, None, 14),  # 2·23,000 / (32·100) = 14 steps: two passes
        (930_000, 11_000, None, 550),  # the eight plays: 20 evaluations come sooner
        (3_000, 11_000, None, 10),  # never closer than 10 steps
        (23_000, 100, None, 10),  # a short run: 100 / 20 = 5, floored at 10
        (23_000, 11_000, 77, 77),  # an explicit cadence is kept
    ])
def test_charlm_evaluates_a_small_text_every_two_passes(chars, steps, eval_every, want):
  from experiments import charlm, configs
  config = configs.get("charlm", steps=steps, eval_every=eval_every)
  assert (config.batch_size, config.length) == (32, 100)
  assert charlm.sized_to_text(config, chars).eval_every == want


def test_selective_copy_batches():
  x, y = selective_copy_batch(jax.random.PRNGKey(0), 64, 20, 5, 6)
  x, y = np.asarray(x), np.asarray(y)
  assert x.shape == (64, 25) and y.shape == (64, 5)
  assert np.all(x[:, 20:] == 7)  # the K markers (V + 1)
  for row, target in zip(x, y):  # the targets are the data tokens, in order of appearance
    np.testing.assert_array_equal(row[:20][row[:20] != 0], target)
  assert y.min() >= 1 and y.max() <= 6
  firsts = [int(np.flatnonzero(r[:20])[0]) for r in x]
  assert len(set(firsts)) > 5  # positions vary from example to example
  assert selective_baseline(6) == pytest.approx(math.log(6))
  with pytest.raises(ValueError, match="num_tokens"):
    selective_copy_batch(jax.random.PRNGKey(0), 4, 3, 5, 6)


@pytest.mark.slow  # end-to-end (trains selective copying at toy size, in-process)
@pytest.mark.parametrize("cell", ["s6", "lru"])
def test_selective_copy_learns_at_toy_size(cell):
  """T = 16, K = 2, V = 4, H = 32, 300 steps: below 0.8 nats per answer token, against the
  memoryless ln 4 = 1.386 (measured: S6 0.57, LRU 0.63)."""
  from experiments import configs
  from experiments.selective_copy import train_and_evaluate
  config = configs.get(
      "selective_copy",
      cell=cell,
      length=16,
      num_tokens=2,
      vocab=4,
      hidden_size=32,
      steps=300,
      eval_every=100,
      checkpoint_every=1000)
  report = train_and_evaluate(config, None, log=lambda *a, **k: None)
  assert report["final"]["eval_nats"] < 0.8


def test_induction_heads_batches():
  x, y, w = (np.asarray(a) for a in induction_batch(jax.random.PRNGKey(0), 64, 10, 5))
  assert x.shape == y.shape == w.shape == (64, 10)
  assert np.all(x[:, -1] == 6) and np.all(w[:, -1] == 1) and w.sum() == 64
  for row, target in zip(x, y):  # written out: the token after the first trigger
    first = int(np.flatnonzero(row == 6)[0])
    assert first <= 7 and np.sum(row == 6) == 2
    assert target[-1] == row[first + 1] and 1 <= target[-1] <= 5
  with pytest.raises(ValueError, match="length"):
    induction_batch(jax.random.PRNGKey(0), 4, 3, 5)


def test_mqar_batches():
  x, y, w = (np.asarray(a) for a in mqar_batch(jax.random.PRNGKey(0), 32, 5, 3, 9, 4))
  assert x.shape == (32, 13) and w[:, :10].sum() == 0 and np.all(w[:, 10:] == 1)
  for row, target in zip(x, y):
    keys, values = row[0:10:2], row[1:10:2]
    assert len(set(keys)) == 5 and keys.min() >= 1 and keys.max() <= 9
    assert values.min() >= 10 and values.max() <= 13
    lookup = dict(zip(keys, values))
    assert len(set(row[10:])) == 3
    for q, t in zip(row[10:], target[10:]):
      assert lookup[q] == t
  with pytest.raises(ValueError, match="num_queries"):
    mqar_batch(jax.random.PRNGKey(0), 4, 3, 4, 9, 4)


@pytest.mark.slow  # end-to-end (trains the two recall tasks at toy size, in-process)
@pytest.mark.parametrize("task,cell,changes,threshold", [
    ("induction_heads", "lstm", dict(length=12, vocab=4, eval_factors=(4,)), 0.6),
    ("mqar", "s6", dict(length=4, num_queries=4, num_keys=8, num_values=8), 1.7),
])
def test_recall_tasks_learn_at_toy_size(task, cell, changes, threshold):
  """300 steps, H = 32: below the threshold in nats per answer (memoryless: induction ln 4 =
  1.386, MQAR ln 8 = 2.079; measured: LSTM 0.149 on induction, S6 1.354 on MQAR)."""
  import importlib
  from experiments import configs
  config = configs.get(
      task, cell=cell, hidden_size=32, steps=300, eval_every=100, checkpoint_every=1000, **changes)
  report = importlib.import_module(f"experiments.{task}").train_and_evaluate(
      config, None, log=lambda *a, **k: None)
  assert report["final"]["eval_nats"] < threshold


def test_recall_tasks_take_a_residual_block():
  from experiments import configs
  from experiments.common import make_layer
  config = configs.get("selective_copy", block="hawk", num_layers=2, hidden_size=8)
  configs.validate(config)
  layer = make_layer(config)
  params = layer.init(jax.random.PRNGKey(0), 10, 8)
  assert len(params) == 2 and "conv_w" in params[0]  # two Hawk blocks, not the S6 cell
  _, ys = layer.apply(params, jax.numpy.ones((2, 5, 10)))
  assert ys.shape == (2, 5, 8)
  with pytest.raises(ValueError, match="--config.block must be one of"):
    configs.validate(configs.get("mqar", block="transformer"))


def test_charlm_judges_the_mixture_with_each_half_scored_by_the_other_halfs_weight():
  from experiments import charlm
  rng = np.random.default_rng(0)
  logp = np.log(rng.uniform(0.05, 1.0, (6, 9)))  # 6 windows in text order, 9 targets each
  ngram = rng.uniform(0.05, 1.0, (6, 9))**2
  row = charlm.held_out_row(logp, ngram, mix=True)
  assert row["bpc"] == pytest.approx(-logp.mean() / math.log(2))
  # independently: a grid search for each half's weight, applied to the other half
  p, q = np.exp(logp).ravel(), ngram.ravel()
  grid = np.linspace(0, 1, 20001)
  best = lambda a, b: grid[np.argmax(np.log(grid[:, None] * a + (1 - grid[:, None]) * b).sum(1))]
  lam_a, lam_b = best(p[:27], q[:27]), best(p[27:], q[27:])
  want = -(np.log2(lam_b * p[:27] +
                   (1 - lam_b) * q[:27]).sum() + np.log2(lam_a * p[27:] +
                                                         (1 - lam_a) * q[27:]).sum()) / 54
  assert row["mix_bpc"] == pytest.approx(want, abs=1e-4)
  assert row["mix_weight"] == pytest.approx(best(p, q), abs=1e-4)
  assert "mix_bpc" not in charlm.held_out_row(logp, ngram, mix=False)


@pytest.mark.slow  # end-to-end (a task run, training to a result, or a subprocess)
def test_charlm_reports_the_mixture_the_lstm_and_the_ngram_on_the_same_windows(tmp_path):
  from experiments import charlm, configs
  config = tiny_charlm_config(tmp_path, 12000, steps=20, eval_every=10)
  report = charlm.train_and_evaluate(config, None, log=lambda *a: None)
  best = report["best"]
  assert report["heldout_bpc"] == best["eval_mix_bpc"] == min(
      r["eval_mix_bpc"] for r in report["history"])
  assert report["rnn_bpc"] == best["eval_bpc"] and 0 <= report["mix_weight"] <= 1
  assert report["ngram_windows_bpc"] > 0 and report["ngram_stateful_bpc"] is not None
  assert "mixed with the n-gram" in charlm.result_line(report)
  alone = charlm.train_and_evaluate(
      configs.replace(config, mix_ngram=False), None, log=lambda *a: None)
  assert "mix_weight" not in alone and alone["heldout_bpc"] == alone["rnn_bpc"]
