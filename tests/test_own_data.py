"""The generic tasks on data nobody tuned them for: forecast (any CSV column) and classify (any
.ts pair, classification or regression), their adaptive choices and their selection rules."""
import os
import subprocess
import sys

import jax
import numpy as np
import pytest

import rnn_jax as rj
from experiments import classify, configs, forecast
from rnn_jax.data import splits
from rnn_jax.models import classifier
from experiments.selection import auto_steps, best_row, patience_stop, trailing_mean
from rnn_jax.data.series import seasonal_period

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = {**{k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}, "PYTHONPATH": ROOT}
QUIET = lambda *a: None


def _csv(tmp_path, values, name="s.csv"):
  path = tmp_path / name
  path.write_text("t,value\n" + "".join(f"{i},{v}\n" for i, v in enumerate(values)))
  return str(path)


def test_seasonal_period_finds_an_obvious_season_and_nothing_in_noise():
  t = np.arange(240)
  rng = np.random.default_rng(0)
  assert seasonal_period(0.05 * t + np.sin(2 * np.pi * t / 12) + 0.1 * rng.normal(size=240)) == 12
  assert seasonal_period(rng.normal(size=240)) is None
  assert seasonal_period(np.ones(50)) is None
  assert seasonal_period(np.arange(5.0)) is None  # too short for three periods


@pytest.mark.slow  # end-to-end (a task run, training to a result, or a subprocess)
def test_forecast_missing_values_error_drop_interpolate(tmp_path):
  cells = [f"{np.sin(i / 3):.4f}" for i in range(50)]
  cells[7] = ""
  cells[20] = "NA"
  csv = _csv(tmp_path, cells)
  config = configs.get("forecast", csv=csv, column="value", steps=2, eval_every=1, hidden_size=4)
  with pytest.raises(
      ValueError,
      match=r"2 of 50 rows have missing values \(first: row 9, row "
      r"22\); pass missing="):
    forecast.train_and_evaluate(config, None, log=QUIET)
  assert forecast.train_and_evaluate(
      configs.replace(config, missing="drop"), None, log=QUIET)["values"] == 48
  filled = forecast.train_and_evaluate(
      configs.replace(config, missing="interpolate"), None, log=QUIET)
  assert filled["values"] == 50


def _ts(tmp_path, name, cases, header="@classLabel true a b"):
  path = tmp_path / name
  lines = ["@problemName toy", "@dimensions 1", header, "@data"] + cases
  path.write_text("\n".join(lines) + "\n")
  return str(path)


def test_fold_keeps_every_value_and_downsample_follows_the_length():
  seq = np.arange(14.0).reshape(7, 2)
  folded = classifier.fold(seq, 3)
  assert folded.shape == (3, 6)
  np.testing.assert_array_equal(folded.reshape(-1, 2)[:7], seq)
  np.testing.assert_array_equal(folded.reshape(-1, 2)[7:], 0)
  rng = np.random.default_rng(0)
  from rnn_jax.data.ts import TSData
  data = TSData([rng.normal(size=(300, 1)) for _ in range(10)], np.arange(10) % 2, ("a", "b"))
  parts, (k, p) = classify.prepare(configs.get("classify"), data, data)
  assert (k, p) == (3, 1) and parts["train"][0].shape[1:] == (100, 3)  # ceil(300 / 128) = 3
  # unequal lengths: folded by the median (ceil(200 / 128) = 2); the longest's 300 steps
  # pooled by 2 after each of the 2 convolutions, so the recurrence reads 75
  mixed = TSData([rng.normal(size=(n, 1)) for n in (100, 200, 600)], np.arange(3) % 2, ("a", "b"))
  parts, (k, p) = classify.prepare(configs.get("classify"), mixed, mixed)
  assert (k, p) == (2, 2) and parts["train"][0].shape[1:] == (300, 2)
  np.testing.assert_array_equal(parts["train"][1], [50, 100, 300])


# (lengths, overrides, (fold, pool per convolution)); the default has 2 convolutions
FOLD_AND_POOL = [
    ([128], {}, (1, 1)),
    ([129], {}, (2, 1)),
    ([1460] * 3, {}, (12, 1)),  # equal lengths: folding only
    ([100, 128, 129], {}, (1, 2)),  # median 128: no fold; the longest's 129 steps pooled
    ([100, 300, 300, 1344], {}, (3, 2)),  # median 300: fold 3; 448 → 224 → 112 steps
    ([100, 300, 300, 1344], dict(conv_layers=1), (3, 4)),  # one pooling: 448 → 112
    ([100, 300, 300, 1344], dict(conv_layers=3), (3, 2)),  # 448 → 224 → 112 → 56
    ([100, 300, 1344], dict(conv_layers=0), (11, 1)),  # nothing to pool: fold by the longest
    ([100, 300, 1344], dict(pool_time=1), (11, 1)),
    ([100, 300, 1344], dict(pool_time=2), (3, 2)),  # ceil(1344 / (2² · 128))
    ([100, 300, 1344], dict(downsample=4), (4, 2)),  # 336 steps → 84
    ([100, 300, 1344], dict(downsample=11), (11, 1)),  # 123 steps: not pooled
    ([300, 300, 700], dict(max_steps_in=64), (5, 2)),  # 140 → 35
]


@pytest.mark.parametrize("lengths,overrides,want", FOLD_AND_POOL)
def test_fold_and_pool_rule(lengths, overrides, want):
  assert classify.fold_and_pool(configs.get("classify", **overrides), lengths) == want


def test_pool_time_without_convolutions_is_refused_and_bad_values_named():
  with pytest.raises(ValueError, match="pool_time=2 pools the convolutions' outputs"):
    classify.fold_and_pool(configs.get("classify", conv_layers=0, pool_time=2), [500])
  with pytest.raises(ValueError, match="--config.pool_time must be a positive int"):
    configs.validate(configs.get("classify", pool_time=0))


def test_pooled_model_pools_after_each_convolution_then_recurs():
  import jax.numpy as jnp
  config = configs.get("classify", hidden_size=6)
  model = classify.build_model(config, 2, 3, 4, pool=2)
  params = model.init(jax.random.PRNGKey(0))
  assert set(params) == {"convs", "head"} and len(params["convs"]) == 2
  assert params["convs"][0]["w"].shape == (8, 6, 6) and params["convs"][1]["w"].shape == (8, 6, 6)
  rng = np.random.default_rng(1)
  # 11: odd, so a partly valid last block after each pooling (11 → 6 → 3); 1: one step
  xs = rng.normal(size=(2, 11, 6)).astype(np.float32)
  lengths = np.array([11, 1])
  logits = model.apply(params, jnp.asarray(xs), lengths)
  # Independently: each series alone, unpadded, pooled in numpy after each convolution.
  conv = rj.convolution(8, normalize=True)
  head = rj.models.many_to_one(rj.bidirectional(rj.gru()), 6, 6, 4, pooling="max")
  pool = lambda f: np.stack([f[j:j + 2].max(0) for j in range(0, len(f), 2)])
  for i, n in enumerate(lengths):
    h = xs[i, :n]
    for p in params["convs"]:
      h = pool(np.asarray(conv.apply(p, jnp.asarray(h[None]))[1][0]))
    want = head.apply(params["head"], jnp.asarray(h[None]))
    np.testing.assert_allclose(logits[i], want[0], atol=1e-5)
  # without pooling the encoder is one stack, as before pooling existed
  assert isinstance(
      classify.build_model(config, 2, 3, 4).init(jax.random.PRNGKey(0))["encoder"], list)


def test_validation_split_is_stratified_and_disjoint():
  labels = np.array([0] * 10 + [1] * 5 + [2] * 2)
  fit, val = splits.validation_split(labels, 0.2, seed=0, stratify=True)
  assert sorted(np.concatenate([fit, val])) == list(range(17))
  assert np.bincount(labels[val], minlength=3).tolist() == [2, 1, 0]  # a 2-example class stays


def test_kfold_members_partition_the_training_set_and_never_see_their_fold():
  labels = np.array([0] * 11 + [1] * 7 + [2] * 2)
  folds = splits.kfold_split(labels, 3, seed=4, stratify=True)
  for c in range(3):  # each class dealt round the folds: counts differ by at most one
    counts = np.bincount(folds[labels == c], minlength=3)
    assert counts.max() - counts.min() <= 1 and counts.sum() == (labels == c).sum()
  config = configs.get("classify", ensemble=3, seed=4, validate_min_class=0)
  holdout = classify.member_holdouts(labels, config, stratify=True)
  assert holdout.shape == (3, 20) and np.all(holdout.sum(0) == 1)  # held out exactly once
  np.testing.assert_array_equal(holdout, folds[None, :] == np.arange(3)[:, None])
  one = classify.member_holdouts(labels,
                                 configs.get("classify", ensemble=1, seed=4, validate_min_class=0),
                                 True)
  _, val = splits.validation_split(labels, 0.2, seed=4, stratify=True)
  np.testing.assert_array_equal(np.flatnonzero(one[0]), val)
  # each member's standardization comes from its own training examples only
  rng = np.random.default_rng(0)
  x, n = rng.normal(size=(20, 5, 2)), rng.integers(1, 6, 20)
  mean, std = classifier.channel_stats(x, n, holdout)
  changed = np.where(holdout[1][:, None, None], 1e6, x)  # member 1's fold rewritten
  mean2, std2 = classifier.channel_stats(changed, n, holdout)
  np.testing.assert_allclose(mean2[1], mean[1])
  np.testing.assert_allclose(std2[1], std[1])
  assert not np.allclose(mean2[0], mean[0])  # the others train on that fold: theirs move
  rows = np.concatenate([x[i, :n[i]] for i in np.flatnonzero(~holdout[0])])
  np.testing.assert_allclose(mean[0], rows.mean(0), rtol=1e-5)
  np.testing.assert_allclose(std[0], rows.std(0), rtol=1e-5)
  default = configs.get("classify")
  # few-shot: a class of 2 (< validate_min_class = 5) keeps every series in every member's
  # training set; at 5 per class, or for regression targets, the folds are held out again
  for members in (1, 3):
    few = classify.member_holdouts(labels, configs.get("classify", ensemble=members), True)
    assert few.shape == (members, 20) and not few.any()
  assert classify.few_shot(np.repeat([0, 1], [5, 4]), default, True)
  assert not classify.few_shot(np.repeat([0, 1], [5, 5]), default, True)
  assert not classify.few_shot(labels, default, stratify=False)
  assert classify.member_holdouts(np.repeat([0, 1], 5), default, True).sum() == 10
  assert classify.ensemble_size(default, 500) == 3 and classify.ensemble_size(default, 501) == 1
  assert classify.ensemble_size(configs.get("classify", ensemble=2), 10_000) == 2
  # instance-normalized convolutions: by default for classes, not for regression targets
  assert classify.conv_norm(default, regression=False) and not classify.conv_norm(default, True)
  assert classify.conv_norm(configs.get("classify", conv_norm=True), True)
  assert not classify.conv_norm(configs.get("classify", conv_norm=False), False)
  # normalized: a series scaled by 10 gives the same outputs (the product scales, its
  # standardization does not); without normalization it does not
  series, lengths = rng.normal(size=(3, 9, 1)).astype(np.float32), np.array([9, 5, 7])
  for regression in (False, True):
    model = classify.build_model(default, 1, 1, 2, regression)
    params = model.init(jax.random.PRNGKey(0))
    same = np.allclose(
        model.apply(params, 10 * series, lengths), model.apply(params, series, lengths), atol=1e-4)
    assert same == (not regression)
  for field, bad in (("ensemble", 0), ("conv_layers", -1), ("conv_kernel", 0),
                     ("validate_min_class", -1)):
    with pytest.raises(ValueError, match=f"--config.{field} must be"):
      configs.validate(configs.get("classify", **{field: bad}))
  with pytest.raises(ValueError, match="ensemble=30 members need at least 30"):
    classify.member_holdouts(labels, configs.get("classify", ensemble=30, validate_min_class=0),
                             True)


def _numpy_ensemble(config, params, fit, scored, classes: int):
  """Independently of classify's ensemble code, for equal-length univariate files: member m
  (``params`` stacked on axis 0) on the training series standardized with the numpy mean and
  std of the series ``fit[m]`` (``[M, N]`` booleans). Returns the accuracy pooled over the
  training series ``scored[m]`` of every member, and the test accuracy of the members' mean
  probabilities."""
  import jax.numpy as jnp
  data_tr, data_te = classify.load(config)[:2]
  x_tr = np.stack(data_tr.sequences).astype(np.float32)
  x_te = np.stack(data_te.sequences).astype(np.float32)
  apply = jax.jit(classify.build_model(config, 1, 1, classes).apply)
  correct, probs = 0, 0.0
  for m in range(len(fit)):
    p_m = jax.tree_util.tree_map(lambda a: a[m], params)
    mu, sd = x_tr[fit[m]].reshape(-1, 1).mean(0), x_tr[fit[m]].reshape(-1, 1).std(0) + 1e-8
    rows = np.flatnonzero(scored[m])
    logits = apply(p_m, jnp.asarray((x_tr[rows] - mu) / sd))
    correct += int(np.sum(np.argmax(logits, -1) == data_tr.labels[rows]))
    probs = probs + jax.nn.softmax(apply(p_m, jnp.asarray((x_te - mu) / sd)), -1) / len(fit)
  return correct / scored.sum(), float(np.mean(np.argmax(probs, -1) == data_te.labels))


@pytest.mark.slow  # end-to-end (a task run, training to a result, or a subprocess)
def test_ensemble_validation_pools_each_members_fold_and_test_averages_probabilities(tmp_path):
  rng = np.random.default_rng(3)

  def cases(n):
    out = []
    for i in range(n):
      up = i % 2
      values = np.linspace(0, 1, 9) * (1 if up else -1) + 0.8 * rng.normal(size=9)
      out.append(",".join(f"{v:.4f}" for v in values) + (":a" if up else ":b"))
    return out

  train, test = _ts(tmp_path, "C_TRAIN.ts", cases(24)), _ts(tmp_path, "C_TEST.ts", cases(10))
  config = configs.get(
      "classify",
      train_ts=train,
      test_ts=test,
      steps=12,
      eval_every=4,
      hidden_size=6,
      ensemble=3,
      conv_layers=1,
      conv_kernel=3,
      patience=0)
  report, params = classify.train_and_evaluate(config, None, log=QUIET, return_params=True)
  best = report["best"]
  assert report["members"] == 3 and report["val_size"] == 24
  # independently: each member on the series of its own fold, standardized with numpy
  holdout = classify.member_holdouts(classify.load(config)[0].labels, config, True)
  val, test_accuracy = _numpy_ensemble(config, params, ~holdout, holdout, 2)
  assert best["eval_val_accuracy"] == pytest.approx(val, abs=1e-6)
  assert best["eval_test_accuracy"] == pytest.approx(test_accuracy, abs=1e-6)
  # the 1-NN answers only when its leave-one-out accuracy beats the smoothed validation figure
  assert report["network_val_accuracy"] == best["eval_val_accuracy_mean"]
  nn_answers = report["nn_loo_accuracy"] > best["eval_val_accuracy_mean"]
  assert report["answered_by"] == ("1-NN" if nn_answers else "network")
  assert report["test_accuracy"] == (report["nn_accuracy"] if nn_answers else test_accuracy)


def test_baseline_answers_only_when_it_did_better_out_of_sample():
  assert classifier.baseline_answers(0.80, 0.81)
  assert not classifier.baseline_answers(0.80, 0.80)  # equal: the network
  assert not classifier.baseline_answers(None, 1.0)  # no validation: nothing to compare


@pytest.mark.slow  # end-to-end (a task run, training to a result, or a subprocess)
def test_few_shot_members_fit_every_series_and_stop_once_they_fit_them(tmp_path):
  rng = np.random.default_rng(5)

  def cases(n):  # three shapes, n of each
    shapes = (np.linspace(-1, 1, 9), -np.linspace(-1, 1, 9), np.cos(np.linspace(0, 6, 9)))
    return [
        ",".join(f"{v:.4f}"
                 for v in shape + 0.3 * rng.normal(size=9)) + f":{name}"
        for name, shape in zip("abc", shapes)
        for _ in range(n)
    ]

  train = _ts(tmp_path, "F_TRAIN.ts", cases(2), "@classLabel true a b c")
  test = _ts(tmp_path, "F_TEST.ts", cases(5), "@classLabel true a b c")
  config = configs.get(
      "classify",
      train_ts=train,
      test_ts=test,
      steps=400,
      eval_every=5,
      hidden_size=8,
      ensemble=2,
      conv_layers=1,
      conv_kernel=3,
      patience=4)
  report, params = classify.train_and_evaluate(config, None, log=QUIET, return_params=True)
  assert not report["validated"] and report["val_size"] == 0 and report["smallest_class"] == 2
  assert "no validation: its smallest class has 2 training series" in classify.result_line(report)
  rows = report["history"]
  assert all("eval_val_accuracy" not in r for r in rows)
  # stopped 4 evaluations after the first best mean fit (mean of the last 3), long before 400
  fit = [r["eval_train_accuracy"] for r in rows]
  means = [np.mean(fit[max(0, i - 2):i + 1]) for i in range(len(fit))]
  first_best = int(np.argmax(means))
  assert report["stopped_early"] and len(rows) == first_best + 5 and means[first_best] == 1.0
  assert report["best"] == rows[-1] and report["best_step"] == rows[-1]["step"] < 400
  assert report["test_accuracy"] == rows[-1]["eval_test_accuracy"]
  # independently: both members on all 6 training series, standardized with all of them
  every = np.ones((2, 6), bool)
  fit_accuracy, test_accuracy = _numpy_ensemble(config, params, every, every, 3)
  assert rows[-1]["eval_train_accuracy"] == pytest.approx(fit_accuracy, abs=1e-6)
  assert report["test_accuracy"] == pytest.approx(test_accuracy, abs=1e-6)


@pytest.mark.slow  # end-to-end (a task run, training to a result, or a subprocess)
def test_classify_regression_ts_reports_rmse_beside_the_mean(tmp_path):
  rng = np.random.default_rng(2)

  def cases(n):
    out = []
    for _ in range(n):
      slope = rng.normal()
      out.append(",".join(f"{slope * t + 0.1 * rng.normal():.4f}" for t in range(8)) +
                 f":{slope:.4f}")
    return out

  train = _ts(tmp_path, "R_TRAIN.ts", cases(40), "@targetLabel true")
  test = _ts(tmp_path, "R_TEST.ts", cases(20), "@targetLabel true")
  config = configs.get(
      "classify", train_ts=train, test_ts=test, steps=150, eval_every=25, hidden_size=16)
  report = classify.train_and_evaluate(config, str(tmp_path / "w"), log=QUIET)
  assert report["regression"] and report["test_rmse"] < 0.5 * report["mean_baseline_rmse"]
  assert os.path.exists(tmp_path / "w" / "predictions.png")
  assert classify.result_line(report).startswith("final test RMSE")


@pytest.mark.slow  # end-to-end (a task run, training to a result, or a subprocess)
def test_regression_too_small_to_hold_out_reports_its_fit_not_a_validation(tmp_path):
  header = "@targetLabel true"
  train = _ts(tmp_path, "T_TRAIN.ts", ["1,2,3:1.5", "3,2,1:0.5"], header)
  test = _ts(tmp_path, "T_TEST.ts", ["1,2,3:1.0"], header)
  config = configs.get(
      "classify", train_ts=train, test_ts=test, ensemble=1, steps=8, eval_every=4, hidden_size=4)
  report = classify.train_and_evaluate(config, None, log=QUIET)
  assert not report["validated"] and report["val_size"] == 0
  assert all("eval_train_rmse" in r and "eval_val_rmse" not in r for r in report["history"])
  assert report["best_step"] == 8 and report["test_rmse"] == report["history"][-1]["eval_test_rmse"]
  assert "no validation: 2 training series are too few" in classify.result_line(report)


def test_launcher_aliases_and_one_line_data_errors(tmp_path):
  train = _ts(tmp_path, "A_TRAIN.ts", ["1,2,3:a", "3,2,1:b"])
  other = _ts(tmp_path, "B_TEST.ts", ["1,2:3"], "@targetLabel true")
  out = subprocess.run([
      sys.executable, "-m", "experiments.main", "--task=japanese_vowels",
      f"--config.train_ts={train}", f"--config.test_ts={other}"
  ],
                       cwd=ROOT,
                       env=ENV,
                       capture_output=True,
                       text=True,
                       timeout=300)
  assert out.returncode == 2
  assert out.stderr.strip().splitlines() == [
      f"FATAL: {train} and {other} do not match: classification vs regression targets."
  ]
  assert configs.get("sunspots").test_size == 40 and configs.ALIASES["sunspots"] == "forecast"
  assert set(configs.get("japanese_vowels").keys()) == set(configs.get("classify").keys())


def test_selection_rules():
  rows = [{
      "step": s,
      "acc": a,
      "nats": n
  } for s, a, n in [(10, 0.5, 1.0), (20, 0.8, 0.7), (30, 0.8, 0.6), (40, 0.7, 0.5), (50, 0.8, 0.9)]]
  assert best_row(rows, "acc", "max", "nats")["step"] == 30  # equal accuracy: lower loss
  assert best_row(rows, "nats", "min")["step"] == 40
  assert best_row([{"step": 1, "x": 1.0}, {"step": 2, "x": 1.0}], "x")["step"] == 1
  stop = patience_stop("acc", "max", 2)
  assert not stop(rows[:3]) and stop(rows[:4])  # 30 and 40 came after the first 0.8 (20)
  # a saturated accuracy whose loss keeps falling: patience runs out all the same
  saturated = [{"step": 10 * i, "acc": 1.0, "nats": 1.0 / i} for i in range(1, 6)]
  assert best_row(saturated, "acc", "max", "nats")["step"] == 50  # reported: the lowest loss
  assert not patience_stop("acc", "max", 4)(saturated[:4]) and patience_stop("acc", "max", 4)(
      saturated)
  assert not patience_stop("acc", "max", 0)(rows)
  assert auto_steps(50, 32, 100, 1000, 4000) == 1000 and auto_steps(10_000, 32, 100, 1,
                                                                    4000) == 4000


@pytest.mark.parametrize("window", [1, 3, 7])
def test_trailing_mean_selection_outranks_a_lucky_early_evaluation(window):
  values = np.random.default_rng(window).uniform(size=6)
  rows = [{"step": 25 * (i + 1), "acc": float(v)} for i, v in enumerate(values)]
  rows.insert(2, {"step": 60, "loss": 1.0})  # a row without the score is skipped
  got = [r["acc_mean"] for r in trailing_mean(rows, "acc", window)]
  # independent: a cumulative sum, differences over the window
  c = np.concatenate([[0.0], np.cumsum(values)])
  lo = np.maximum(np.arange(1, 7) - window, 0)
  np.testing.assert_allclose(got, (c[1:] - c[lo]) / (np.arange(1, 7) - lo))
  assert "acc_mean" not in rows[0]  # copies: the history itself is not changed
  # A pooled validation set of 36 series (ArrowHead, seed 2): 83.3% at step 50 by luck, then
  # 83.3% again from step 175 on. The lowest validation loss among equal accuracies chose step
  # 50 (test 72.6%); the trailing mean of three picks a step of the plateau.
  curve = [(25, 0.583, 0.79), (50, 0.833, 0.62), (75, 0.75, 0.59), (100, 0.806, 0.60),
           (125, 0.833, 0.63), (150, 0.806, 0.66), (175, 0.833, 0.68), (200, 0.833, 0.70),
           (225, 0.833, 0.71), (250, 0.833, 0.73)]
  history = [{"step": s, "acc": a, "nats": n} for s, a, n in curve]
  assert best_row(history, "acc", "max", "nats")["step"] == 50
  picked = best_row(trailing_mean(history, "acc", 3), "acc_mean", "max", "nats")["step"]
  assert picked == 225


def test_help_lists_the_chosen_tasks_fields_and_defaults():
  out = subprocess.run([sys.executable, "-m", "experiments.main", "--task=forecast", "--help"],
                       cwd=ROOT,
                       env=ENV,
                       capture_output=True,
                       text=True,
                       timeout=120)
  assert out.returncode == 0
  assert "--config.horizon=1" in out.stdout and "--config.missing='error'" in out.stdout
  assert "--config.test_size=None" in out.stdout and "--restart" in out.stdout


def test_unseen_benchmark_writes_ts_files_the_reader_reads_back_unchanged(tmp_path):
  from experiments.benchmarks.unseen_ts import write_ts
  from rnn_jax.data.ts import read_ts_pair
  rng = np.random.default_rng(5)
  x_tr, x_te = rng.normal(size=(7, 13)) * 1e3, rng.normal(size=(4, 13))
  y_tr, y_te = ["2", "10", "2", "-1", "10", "2", "-1"], ["10", "-1", "2", "2"]
  write_ts(str(tmp_path / "P_TRAIN.ts"), "P", x_tr, y_tr)
  write_ts(str(tmp_path / "P_TEST.ts"), "P", x_te, y_te)
  train, test = read_ts_pair(str(tmp_path / "P_TRAIN.ts"), str(tmp_path / "P_TEST.ts"))
  assert not train.regression and sorted(train.classes) == ["-1", "10", "2"]
  for data, x, y in ((train, x_tr, y_tr), (test, x_te, y_te)):
    np.testing.assert_array_equal(np.stack(data.sequences)[:, :, 0], x)  # bit for bit
    assert [train.classes[i] for i in data.labels] == y


def test_few_shot_rerun_of_some_problems_keeps_the_other_rows(tmp_path):
  import json
  from experiments.benchmarks import few_shot
  row = lambda name, shots, acc: {
      "data": name,
      "shots": shots,
      "all": [acc, 0.0],
      "holdout": [acc, 0.0],
      "all_seconds": 1.0,
      "holdout_seconds": 1.0,
      "train": 4,
      "test": 9
  }
  path = tmp_path / "few_shot.json"
  path.write_text(
      json.dumps(
          [row("ACSF1", 2, 0.5),
           row("PLAID", 2, 0.2),
           row("ACSF1", 4, 0.7),
           row("PLAID", 4, 0.4)]))
  merged = few_shot.merge_rows(str(path), [row("PLAID", 4, 0.9), row("PLAID", 2, 0.8)])
  assert [(r["data"], r["shots"], r["all"][0]) for r in merged] == [("ACSF1", 2, 0.5),
                                                                    ("PLAID", 2, 0.8),
                                                                    ("ACSF1", 4, 0.7),
                                                                    ("PLAID", 4, 0.9)]
  assert "1 seed(s) per cell" in few_shot.markdown(merged)


def test_few_shot_subsets_copy_k_cases_per_class_verbatim(tmp_path):
  from experiments.benchmarks.few_shot import subset_ts
  from rnn_jax.data.ts import read_ts
  cases = [f"{i},{i + 1}:{i * 2},{i}:{'abc'[i % 3]}" for i in range(13)]  # 2 dims, 3 classes
  source = tmp_path / "S_TRAIN.ts"
  source.write_text("% note\n@problemName s\n@dimensions 2\n@classLabel true a b c\n@data\n" +
                    "\n".join(cases[:5] + ["# a comment"] + cases[5:]) + "\n")
  full = read_ts(str(source))
  keep = subset_ts(str(source), str(tmp_path / "K_TRAIN.ts"), full.labels, 2, seed=3)
  part = read_ts(str(tmp_path / "K_TRAIN.ts"))
  assert len(keep) == 6 and np.all(np.bincount(part.labels) == 2)
  np.testing.assert_array_equal(part.labels, full.labels[keep])
  for i, seq in zip(keep, part.sequences):
    np.testing.assert_array_equal(seq, full.sequences[i])
  with pytest.raises(ValueError, match="class 1 has 4 cases, fewer than 5"):
    subset_ts(str(source), str(tmp_path / "X_TRAIN.ts"), full.labels, 5, seed=0)


def test_ensemble_metrics_equal_a_numpy_loop_over_members_and_examples():
  from rnn_jax.models import classifier
  rng = np.random.default_rng(5)
  m, n, n_te, v = 3, 11, 7, 4
  out, test_out = rng.normal(size=(m, n, v)), rng.normal(size=(m, n_te, v))
  y, y_te = rng.integers(0, v, n), rng.integers(0, v, n_te)
  pool = np.zeros((m, n))
  pool[np.arange(n) % m, np.arange(n)] = 1.0  # each example validated by one member
  got = classifier.ensemble_metrics(out, y, test_out, y_te, pool, False)
  nats = correct = 0.0
  for i in range(n):
    member = i % m
    z = out[member, i] - out[member, i].max()
    nats += np.log(np.exp(z).sum()) - z[y[i]]
    correct += float(np.argmax(out[member, i]) == y[i])
  probs = np.exp(test_out) / np.exp(test_out).sum(-1, keepdims=True)
  mean = probs.mean(0)
  assert float(got["val_nats"]) == pytest.approx(nats / n, rel=1e-5)
  assert float(got["val_accuracy"]) == pytest.approx(correct / n)
  assert float(got["test_nats"]) == pytest.approx(
      -np.mean(np.log(mean[np.arange(n_te), y_te])), rel=1e-5)
  assert float(got["test_accuracy"]) == pytest.approx(np.mean(mean.argmax(-1) == y_te))
  # regression: outputs in each member's standardised scale
  mu, sd = rng.normal(size=(m, 1)), 1 + rng.random((m, 1))
  yr, yr_te = rng.normal(size=n), rng.normal(size=n_te)
  got = classifier.ensemble_metrics(out[..., :1], yr, test_out[..., :1], yr_te, np.ones((m, n)),
                                    True, mu, sd, "train")
  fit = [(out[j, i, 0] * sd[j, 0] + mu[j, 0] - yr[i])**2 for j in range(m) for i in range(n)]
  pred = np.mean([test_out[j, :, 0] * sd[j, 0] + mu[j, 0] for j in range(m)], 0)
  assert float(got["train_rmse"]) == pytest.approx(np.sqrt(np.mean(fit)), rel=1e-5)
  assert float(got["test_rmse"]) == pytest.approx(np.sqrt(np.mean((pred - yr_te)**2)), rel=1e-5)
