"""Runs sized to a time budget (experiments.budget; charlm's default when --config.steps is
unset): the plan is the largest step count that fits, it survives a resume, and a budgeted
run trains exactly the steps it planned."""
import json
import os

import numpy as np
import pytest

from experiments import budget
from tests.helpers import tiny_charlm_config


@pytest.mark.parametrize("step_s,eval_s,passes", [(0.18, 1.7, 999), (0.05, 0.0, 37), (1.3, 9.0, 5)])
def test_steps_in_budget_is_the_largest_count_that_fits(step_s, eval_s, passes):
  every = lambda s: max(10, min(passes, s // 20))  # charlm's rule: 20 evaluations or 2 passes
  for seconds in (0.01, 7.0, 61.0, 600.0, 2345.6):
    got = budget.steps_in_budget(seconds, step_s, eval_s, every)
    fits = [
        s for s in range(1,
                         int(seconds / step_s) + 2)
        if s * step_s + (s // every(s)) * eval_s <= seconds
    ]
    assert got == (max(fits) if fits else 1), seconds  # a scan of every count, not a search


def test_steps_in_budget_refuses_a_step_that_takes_no_time():
  with pytest.raises(ValueError, match="step_seconds must be > 0"):
    budget.steps_in_budget(60.0, 0.0, 1.0, lambda s: 10)


def test_seconds_per_call_waits_for_a_compiling_call_and_the_repeats():
  calls = []
  first, typical = budget.seconds_per_call(lambda x: calls.append(x) or np.float32(x), 3, repeats=4)
  assert calls == [3] * 6 and first >= 0 and typical >= 0


def test_plan_is_written_once_and_read_back_on_a_resume(tmp_path):
  measured = {"step_seconds": 0.5, "eval_seconds": 2.0, "reserve_seconds": 10.0}
  every = lambda s: 100
  now = __import__("time").time()
  first = budget.plan(2.0, now, lambda: measured, every, str(tmp_path))
  # 120 s less 10 s reserved (and the few ms since `now`): 0.5 s a step, 2 s per 100 steps
  want = budget.steps_in_budget(110.0, 0.5, 2.0, every)
  assert not first["resumed"] and first["steps"] in (want - 1, want) and first["minutes"] == 2.0
  saved = json.load(open(tmp_path / budget.BUDGET_FILE))
  assert saved == {k: v for k, v in first.items() if k != "resumed"}

  def fails():
    raise AssertionError("a resumed plan is not measured again")

  again = budget.plan(7.0, now, fails, every, str(tmp_path))  # another budget: the plan stands
  assert again["resumed"] and again["steps"] == first["steps"] and again["minutes"] == 2.0
  assert "as planned for 2 minutes" in budget.plan_line(again)
  assert f"{first['steps']:,} steps fit 2 minutes" in budget.plan_line(first)
  assert os.listdir(tmp_path) == [budget.BUDGET_FILE]  # no half file left beside it


@pytest.mark.parametrize("minutes", [0, -1.0])
def test_plan_refuses_a_budget_that_is_not_positive(minutes):
  with pytest.raises(ValueError, match="--config.minutes must be > 0"):
    budget.plan(minutes, 0.0, lambda: {}, lambda s: 10)


@pytest.mark.parametrize("minutes", [0.0, -2, float("nan"), float("inf")])
def test_config_validation_names_a_bad_budget(minutes):
  from experiments import configs
  with pytest.raises(ValueError, match="--config.minutes must be a positive number"):
    configs.validate(configs.get("charlm", minutes=minutes))


@pytest.mark.slow  # end-to-end (a task run, training to a result, or a subprocess)
def test_charlm_without_steps_trains_the_steps_its_budget_planned_and_keeps_them(tmp_path):
  from experiments import charlm
  config = tiny_charlm_config(tmp_path, 9000, seed=2, minutes=0.3, patience=0)
  assert config.steps is None
  lines, workdir = [], str(tmp_path / "run")
  report = charlm.train_and_evaluate(config, workdir, log=lines.append)
  plan = report["budget"]
  assert not plan["resumed"] and plan["steps"] >= 1
  assert report["config"]["steps"] == plan["steps"] == report["final"]["step"]
  assert plan["step_seconds"] > 0 and plan["eval_seconds"] > 0 and plan["reserve_seconds"] > 10
  assert any(l.startswith(f"budget: {plan['steps']:,} steps fit 0.3 minutes") for l in lines)
  again = charlm.train_and_evaluate(config, workdir, log=lambda *a: None)  # the finished run
  assert again["budget"]["resumed"] and again["budget"]["steps"] == plan["steps"]
  assert again["resumed_from"] == plan["steps"]
