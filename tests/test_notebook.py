"""The Colab notebook runs top to bottom in the environment its own install cell makes.

The "runtime" is a fresh virtual environment holding only what a Colab runtime brings (jax,
jaxlib, a Jupyter kernel), none of rnn_jax or its other dependencies. Its kernel executes every
cell with a tiny config: the install cell clones a local repository through ``REPO_URL`` (a
``file://`` URL, at this checkout's HEAD) and installs ``rnnjax-lab[data]`` into that same
environment; every later cell imports what it installed, never the test suite's packages.
"""
import importlib.metadata
import json
import os
import re
import subprocess
import sys

import pytest

from tests.conftest import CLEAN_ENV

pytestmark = pytest.mark.slow  # end-to-end: CI runs these once (`pytest -m slow`)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXECUTE = """
import sys, nbformat, nbclient
nb = nbformat.read(sys.argv[1], 4)
nb.cells.append(nbformat.v4.new_code_cell(
    "import sys, rnn_jax, experiments; print('WHERE', sys.executable, rnn_jax.__file__, "
    "experiments.__file__)"))
nbclient.NotebookClient(nb, timeout=900, kernel_name='python3',
                        resources={'metadata': {'path': sys.argv[3]}}).execute()
nbformat.write(nb, sys.argv[2])
"""


def test_notebook_runs_every_cell_in_the_install_cells_own_environment(tmp_path):
  pytest.importorskip("nbformat", reason="nbformat is in the [test] extra")
  head = subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"], capture_output=True, text=True)
  if head.returncode:
    pytest.skip("not a git checkout: the REPO_URL route needs a repository to clone")
  # The repository REPO_URL names: this checkout's committed state.
  repo = tmp_path / "repo.git"
  subprocess.run(["git", "clone", "--bare", "-q", ROOT, str(repo)], check=True, timeout=300)
  runtime = tmp_path / "runtime"
  subprocess.run([sys.executable, "-m", "venv", str(runtime)], check=True, timeout=300)
  py = str(runtime / "bin" / "python")
  jax_version = importlib.metadata.version("jax")  # the suite's, so pip finds it in its cache
  pre = subprocess.run([
      py, "-m", "pip", "install", "-q", f"jax=={jax_version}", f"jaxlib=={jax_version}",
      "ipykernel", "nbclient", "nbformat"
  ],
                       capture_output=True,
                       text=True,
                       timeout=1200,
                       env=CLEAN_ENV)
  assert pre.returncode == 0, pre.stderr[-2000:]
  work, temp, data = tmp_path / "work", tmp_path / "temp", tmp_path / "jupyter"
  for d in (work, temp, data):
    d.mkdir()
  executed = tmp_path / "executed.ipynb"
  env = {
      **CLEAN_ENV,
      "RNN_JAX_INSTALL": "1",
      "RNN_JAX_REPO_URL": repo.as_uri(),
      "RNN_JAX_NOTEBOOK_SMOKE": "1",
      "RNN_JAX_WORKDIR": str(work),
      "TMPDIR": str(temp),  # the clone goes to TMPDIR/rnn_jax
      # the runtime's own kernel spec first, and no user-level one
      "JUPYTER_PATH": str(runtime / "share" / "jupyter"),
      "JUPYTER_DATA_DIR": str(data),
      "JAX_PLATFORMS": "cpu",
  }
  done = subprocess.run([
      py, "-c", EXECUTE,
      os.path.join(ROOT, "experiments", "notebooks", "rnn_jax_colab.ipynb"),
      str(executed),
      str(tmp_path)
  ],
                        capture_output=True,
                        text=True,
                        timeout=1800,
                        env=env,
                        cwd=str(tmp_path))
  assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
  nb = json.loads(executed.read_text())
  outputs = "".join("".join(o.get("text", "")) for c in nb["cells"] if c["cell_type"] == "code"
                    for o in c.get("outputs", []))
  # every cell ran in the runtime's interpreter, on what the install cell put there
  where = re.search(r"WHERE (\S+) (\S+) (\S+)", outputs)
  assert where, outputs[-2000:]
  assert where.group(1).startswith(str(runtime)), where.group(1)
  assert where.group(2).startswith(str(runtime)), where.group(2)  # rnn_jax: installed
  assert where.group(3).startswith(str(temp / "rnn_jax")), where.group(3)  # the clone
  assert f"kept jax=={jax_version}, jaxlib=={jax_version}" in outputs
  assert "backend: cpu" in outputs and "final test MSE" in outputs
  assert "final held-out exact match" in outputs  # the dates cell: faker and babel installed
  diffs = [float(d) for d in re.findall(r"max relative gradient difference (\S+)", outputs)]
  assert len(diffs) == 3 and max(diffs) < 1e-5, diffs  # closed form = autodiff, 3 cells
  images = [
      o for c in nb["cells"] for o in c.get("outputs", []) if "image/png" in o.get("data", {})
  ]
  assert len(images) == 3, "learning curves, gradient flow or attention heat-map not displayed"
  assert (work / "report.json").exists() and (work / "dates" / "attention.png").exists()
  assert (work / "gradient_flow.png").exists()
