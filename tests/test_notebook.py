"""The Colab notebook runs end to end on CPU with a tiny config (so it cannot rot)."""
import os
import re

import pytest

pytestmark = pytest.mark.slow  # end-to-end: CI runs these once (`pytest -m slow`)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_notebook_executes_end_to_end(tmp_path, monkeypatch):
  nbformat = pytest.importorskip("nbformat", reason="nbformat is in the [test] extra")
  nbclient = pytest.importorskip("nbclient", reason="nbclient is in the [test] extra")
  monkeypatch.setenv("RNN_JAX_NOTEBOOK_SMOKE", "1")
  monkeypatch.setenv("RNN_JAX_WORKDIR", str(tmp_path))
  monkeypatch.setenv("PYTHONPATH", ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
  nb = nbformat.read(os.path.join(ROOT, "experiments", "notebooks", "rnn_jax_colab.ipynb"), 4)
  nbclient.NotebookClient(
      nb, timeout=300, kernel_name="python3", resources={
          "metadata": {
              "path": ROOT
          }
      }).execute()
  outputs = "".join(
      o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
  assert "backend: cpu" in outputs and "final test MSE" in outputs
  assert "final held-out exact match" in outputs
  diffs = [float(d) for d in re.findall(r"max relative gradient difference (\S+)", outputs)]
  assert len(diffs) == 3 and max(diffs) < 1e-5, diffs  # closed form = autodiff, 3 cells
  images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
  assert len(images) == 3, "learning curves, gradient flow or attention heat-map not displayed"
  assert os.path.exists(tmp_path / "report.json")
  assert os.path.exists(tmp_path / "dates" / "attention.png")
  assert os.path.exists(tmp_path / "gradient_flow.png")
