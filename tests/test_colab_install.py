"""The Colab notebook's install cell keeps the runtime's jax: run against a fresh virtual
environment whose "preinstalled" jax/jaxlib are an older release (as on a Colab runtime that
lags PyPI), it installs the built wheel with every preinstalled jax-family version pinned, the
versions are unchanged afterwards, and rnn_jax works on that jax (unroll, closed-form BPTT,
the jitted train step, rnn_jax.linen)."""
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile

import pytest

from tests.conftest import CLEAN_ENV

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PREINSTALLED = "0.7.2"  # an older jax than the index's newest, with wheels for 3.11 and 3.12
SMOKE = """
import jax, jax.numpy as jnp, rnn_jax as rj
from rnn_jax import linen, optim, train
assert jax.__version__ == "%s", jax.__version__
cell = rj.lstm()
p = {"cell": cell.init(jax.random.PRNGKey(0), 3, 5),
     "readout": rj.dense().init(jax.random.PRNGKey(1), 5, 2)}
xs, ys = jnp.ones((2, 7, 3)), jnp.zeros((2, 7, 2))
j, g = rj.bptt_grads(cell, p, xs, ys, lengths=[7, 4])
tx = optim.make_optimizer(optim.OptimConfig("adam", 1e-2, 1.0, skip_nonfinite=10))
def loss_fn(params, batch, key):
  _, out = rj.unroll(cell, params["cell"], batch[0], backward="closed_form")
  return rj.sequence_loss(rj.readout_logits(params["readout"], out), batch[1], loss="squared"), {}
state = train.init_state(p, tx, jax.random.PRNGKey(2))
step = train.make_train_step(loss_fn, tx, 1.0)
for _ in range(3):
  state, m = step(state, (xs, ys))
assert bool(jnp.isfinite(m["loss"])) and float(m["loss"]) < float(j) * 2
print("smoke ok")
""" % PREINSTALLED


def _install_cell() -> str:
  nbformat = pytest.importorskip("nbformat", reason="nbformat is in the [test] extra")
  nb = nbformat.read(os.path.join(ROOT, "experiments", "notebooks", "rnn_jax_colab.ipynb"), 4)
  source = next(c.source for c in nb.cells if c.cell_type == "code")
  assert "install_rnn_jax" in source and "-c" in source
  return source


@pytest.mark.slow
def test_install_cell_keeps_the_preinstalled_jax(dist, tmp_path):
  venv = tmp_path / "runtime"
  subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
  py = str(venv / "bin" / "python")
  pre = subprocess.run(
      [py, "-m", "pip", "install", "-q", f"jax=={PREINSTALLED}", f"jaxlib=={PREINSTALLED}"],
      capture_output=True,
      text=True,
      timeout=900,
      env=CLEAN_ENV)
  if pre.returncode != 0:
    pytest.skip(f"jax {PREINSTALLED} cannot be installed from the package index here: "
                f"{pre.stderr[-300:]}")
  cell = tmp_path / "install_cell.py"
  cell.write_text(_install_cell())
  done = subprocess.run([sys.executable, str(cell)],
                        cwd=str(tmp_path),
                        capture_output=True,
                        text=True,
                        timeout=900,
                        env={
                            **CLEAN_ENV, "RNN_JAX_INSTALL": "1",
                            "RNN_JAX_ARCHIVE": str(dist[1]),
                            "RNN_JAX_PYTHON": py
                        })
  assert done.returncode == 0, done.stdout[-1000:] + done.stderr[-2000:]
  assert f"jax=={PREINSTALLED}" in done.stdout and f"jaxlib=={PREINSTALLED}" in done.stdout
  versions = subprocess.run(
      [py, "-c", "import importlib.metadata as m; print(m.version('jax'), m.version('jaxlib'))"],
      capture_output=True,
      text=True,
      check=True).stdout.split()
  assert versions == [PREINSTALLED, PREINSTALLED], versions
  smoke = subprocess.run([py, "-c", SMOKE],
                         cwd=str(tmp_path),
                         capture_output=True,
                         text=True,
                         timeout=300,
                         env=CLEAN_ENV)
  assert smoke.returncode == 0 and "smoke ok" in smoke.stdout, smoke.stderr[-2000:]


@pytest.mark.parametrize("pins,message", [
    (["jax==0.6.2", "jaxlib==0.6.2"], "This runtime has jax 0.6.2, older than the 0.7.2 that "
     "rnn_jax needs"),
])
def test_install_cell_says_in_one_sentence_when_the_runtime_cannot_be_used(pins, message):
  namespace = {}
  exec(compile(_install_cell(), "install cell", "exec"), namespace)  # does not install here
  namespace["preinstalled"] = lambda python, names=None: pins
  with pytest.raises(SystemExit, match=message):
    namespace["install_rnn_jax"](archive="rnnjax_lab-0.1.0.tar.gz")


def test_install_cell_installs_the_data_extra_every_later_cell_needs():
  source = _install_cell()
  assert "source + '[data]'" in source  # faker and babel for the dates cell
  setup = open(os.path.join(ROOT, "setup.cfg")).read()
  assert "jax>=0.7.2" in setup and "MIN_JAX = (0, 7, 2)" in source  # the same minimum


def test_install_cell_refuses_a_wheel_and_finds_the_sources_in_an_archive(tmp_path, monkeypatch):
  monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # what it unpacks stays in tmp_path
  namespace = {}
  exec(compile(_install_cell(), "install cell", "exec"), namespace)  # does not install here
  with pytest.raises(SystemExit, match="A wheel holds only the library.*upload the sdist"):
    namespace["unpack"]("rnnjax_lab-0.1.0-py3-none-any.whl")
  # a repository .zip, as a code host's "download ZIP" lays it out: one top folder
  archive = tmp_path / "rnn_jax-main.zip"
  with zipfile.ZipFile(archive, "w") as z:
    for name in ("rnn_jax-main/setup.cfg", "rnn_jax-main/rnn_jax/__init__.py",
                 "rnn_jax-main/experiments/__init__.py", "rnn_jax-main/README.md"):
      z.writestr(name, "")
  found = namespace["unpack"](str(archive))
  assert found.endswith("rnn_jax-main") and os.path.isfile(os.path.join(found, "setup.cfg"))
  # an sdist without experiments/ (or any other archive) is named, with what to upload
  bare = tmp_path / "bare.tar.gz"
  with tarfile.open(bare, "w:gz") as t:
    src = tmp_path / "lib"
    (src / "rnn_jax").mkdir(parents=True)
    (src / "setup.cfg").write_text("")
    t.add(str(src), arcname="rnnjax_lab-0.1.0")
  with pytest.raises(SystemExit, match="holds no rnn_jax sources with experiments/"):
    namespace["unpack"](str(bare))
