"""One formatter (yapf, settings in setup.cfg) and one line length (100), enforced."""
import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _python_files():
  out = subprocess.run(["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True)
  if out.returncode != 0:  # not a git checkout (e.g. an sdist): walk the tree
    return [
        os.path.join(d, f)
        for top in ("rnn_jax", "experiments", "tests")
        for d, _, fs in os.walk(os.path.join(ROOT, top))
        for f in fs
        if f.endswith(".py")
    ]
  return [os.path.join(ROOT, f) for f in out.stdout.split()]


def test_lines_fit_in_100_characters():
  long = [
      f"{os.path.relpath(f, ROOT)}:{i}" for f in _python_files()
      for i, line in enumerate(open(f, encoding="utf-8"), 1) if len(line.rstrip("\n")) > 100
  ]
  assert not long, f"lines over 100 characters: {long}"


@pytest.mark.slow  # ~35 s of pure Python: CI runs it once
def test_code_is_yapf_formatted():
  yapf = pytest.importorskip("yapf.yapflib.yapf_api", reason="yapf is in the [test] extra")
  style = os.path.join(ROOT, "setup.cfg")
  changed = [
      os.path.relpath(f, ROOT)
      for f in _python_files()
      if yapf.FormatFile(f, style_config=style, print_diff=True)[0]
  ]
  assert not changed, f"run `yapf -i -r rnn_jax experiments tests`: {changed}"
