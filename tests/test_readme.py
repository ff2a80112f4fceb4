"""The README's Python snippets run, in order, in one namespace (the public API as shown)."""
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_readme_python_snippets_run():
  text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
  blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
  assert len(blocks) >= 2
  namespace = {}
  for block in blocks:
    exec(compile(block, "README.md", "exec"), namespace)  # pylint: disable=exec-used
  assert namespace["ys"].shape[:2] == namespace["xs"].shape[:2]
  # the recurrences snippet: the associative scan equals the sequential unroll
  chex_close = __import__("numpy").testing.assert_allclose
  chex_close(namespace["ys_par"], namespace["ys_seq"], rtol=1e-5, atol=1e-5)
  assert namespace["ys_deep"].shape == (8, 20, 16)
  # the backends snippet: the Pallas kernel computes the scan's outputs; cuDNN's weight count
  rj = namespace["rj"]
  _, ys_scan = rj.unroll(
      namespace["cell"],
      namespace["params"],
      namespace["xs"],
      lengths=namespace["lengths"],
      backend="scan")
  chex_close(namespace["ys_kernel"], ys_scan, rtol=1e-5, atol=1e-6)
  from jax.experimental import rnn as jax_rnn
  assert namespace["flat"].shape == (jax_rnn.get_num_params_in_lstm(3, 16, 1, False),)
  # the gradients snippet: closed-form BPTT equals jax.grad of the loss it writes out
  import chex
  assert abs(float(namespace["J"]) - float(namespace["loss"](namespace["model"]))) < 1e-5
  chex.assert_trees_all_close(namespace["grads"], namespace["auto"], rtol=1e-5, atol=1e-6)


def _own_data_files(folder):
  """Small files under the names the README's "Your own data" commands use."""
  import numpy as np
  rng = np.random.default_rng(0)
  for part, n in (("TRAIN", 24), ("TEST", 16)):
    rows = []
    for i in range(n):
      k = i % 2
      x = np.sin(np.linspace(0, 3 + 3 * k, 30)) + 0.1 * rng.normal(size=30)
      rows.append("\t".join([str(k + 1)] + [f"{v:.4f}" for v in x]))
    (folder / f"X_{part}.tsv").write_text("\n".join(rows) + "\n")
  day = np.arange(200)
  values = 10 + 3 * np.sin(2 * np.pi * day / 7) + rng.normal(0, 0.5, 200)
  (folder / "series.csv").write_text("date,value\n" + "".join(
      f"{np.datetime64('2023-01-02') + int(d)},{v:.3f}\n" for d, v in zip(day, values)))
  (folder / "book.txt").write_text(open(os.path.join(ROOT, "README.md"), encoding="utf-8").read())


@pytest.mark.slow
def test_readme_own_data_commands_run_as_shown(tmp_path):
  text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
  block = re.search(r"<!-- own-data -->\n```bash\n(.*?)```", text, flags=re.S).group(1)
  commands = [c for c in block.splitlines() if c.strip()]
  assert len(commands) == 3
  _own_data_files(tmp_path)
  env = {
      **{
          k: v for k, v in os.environ.items() if k != "XLA_FLAGS"
      }, "PYTHONPATH": ROOT,
      "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
  }
  for command in commands:
    out = subprocess.run(
        command, shell=True, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, (command, out.stderr[-2000:])
    lines = out.stdout.strip().splitlines()
    assert lines[0].split(":")[0] in ("classify", "forecast", "charlm"), lines[:2]  # plan line
    assert lines[-1].startswith("final "), lines[-3:]
  assert (tmp_path / "runs" / "book" / "report.json").exists()


@pytest.mark.slow
def test_readme_quick_subset_runs_as_shown_with_the_count_it_gives():
  text = " ".join(open(os.path.join(ROOT, "README.md"), encoding="utf-8").read().split())
  found = re.search(r"A subset in under a minute while editing: `([^`]+)` \((\d+) tests", text)
  assert found, "README names no quick subset"
  command, count = found.group(1), found.group(2)
  if not os.path.exists(os.path.join(ROOT, ".venv", "bin", "python")):  # not the README's venv
    command = command.replace(".venv/bin/python", sys.executable)
  env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "PYTEST_XDIST_WORKER")}
  out = subprocess.run(
      command.split(), cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
  assert out.returncode == 0 and f"{count} passed" in out.stdout, out.stdout[-2000:]
