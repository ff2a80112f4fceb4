"""Suite-wide settings: CPU, rank promotion raises (a mis-broadcast mask fails loudly)."""
import os
import shutil
import subprocess
import sys

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_numpy_rank_promotion", "raise")
# The suite compiles hundreds of small programs and runs each a few times: XLA's backend
# optimisations (LLVM passes) cost more time than they save there. Speed is measured in
# experiments/benchmarks with the defaults, never here.
jax.config.update("jax_disable_most_optimizations", True)


@pytest.fixture
def x64():
  """float64 for the tests whose tolerances need it; restored afterwards."""
  jax.config.update("jax_enable_x64", True)
  try:
    yield
  finally:
    jax.config.update("jax_enable_x64", False)


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The environment a fresh process gets: no PYTHONPATH into the clone, no XLA device flags.
CLEAN_ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "XLA_FLAGS")}


@pytest.fixture(scope="session")
def dist(tmp_path_factory):
  """``(wheel, sdist)`` of ``python -m build`` (isolated: the build a user runs): the sdist,
  then the wheel built from that sdist, so a file missing from the sdist is missing from the
  wheel too."""
  out = tmp_path_factory.mktemp("dist")
  # From a copy of the sources: setuptools writes build/ and *.egg-info beside them, and two
  # xdist workers (test_packaging, test_colab_install) may build at the same time.
  src = str(tmp_path_factory.mktemp("src") / "rnn_jax_src")
  shutil.copytree(
      ROOT,
      src,
      ignore=shutil.ignore_patterns(".*", "build", "dist", "*.egg-info", "__pycache__", "tests",
                                    "results"))
  done = subprocess.run([sys.executable, "-m", "build", "--outdir",
                         str(out), src],
                        capture_output=True,
                        timeout=900,
                        env=CLEAN_ENV)
  assert done.returncode == 0, done.stderr.decode()[-2000:]
  (wheel,) = [out / f for f in os.listdir(out) if f.endswith(".whl")]
  (sdist,) = [out / f for f in os.listdir(out) if f.endswith(".tar.gz")]
  return wheel, sdist
