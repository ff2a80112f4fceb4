"""Small test utilities: every cell variant, perturbed params, tree comparisons."""
import chex
import jax
import jax.numpy as jnp
import numpy as np

import rnn_jax as rj

CELL_VARIANTS = {
    "tanh_rnn": lambda: rj.simple_rnn("tanh"),
    "relu_rnn": lambda: rj.simple_rnn("relu", "orthogonal"),
    "irnn": lambda: rj.simple_rnn("relu", "identity"),
    "gru_before": lambda: rj.gru("before"),
    "gru_after": lambda: rj.gru("after"),
    "simplified_gru": rj.simplified_gru,
    "lstm": rj.lstm,
    "lstm_peephole": lambda: rj.lstm(peephole=True),
    "lstm_peephole_seeds": lambda: rj.lstm(peephole="seeds"),
}


def random_params(cell, key, d, h, dtype=jnp.float32, scale=0.3):
  """init, then every leaf perturbed (so zero-initialised leaves are exercised too)."""
  p = cell.init(key, d, h, dtype)
  leaves, tree = jax.tree_util.tree_flatten(p)
  keys = jax.random.split(jax.random.fold_in(key, 7), len(leaves))
  leaves = [l + scale * jax.random.normal(k, l.shape, l.dtype) for l, k in zip(leaves, keys)]
  return jax.tree_util.tree_unflatten(tree, leaves)


def assert_trees_close(a, b, rtol=1e-5, atol=1e-5):
  chex.assert_trees_all_close(
      jax.tree_util.tree_map(np.asarray, a),
      jax.tree_util.tree_map(np.asarray, b),
      rtol=rtol,
      atol=atol)


def max_rel_err(a, b):
  """max over leaves of ‖a − b‖∞ / max(‖b‖∞, tiny)."""
  errs = jax.tree_util.tree_map(
      lambda x, y: float(jnp.max(jnp.abs(x - y)) / max(float(jnp.max(jnp.abs(y))), 1e-30)), a, b)
  return max(jax.tree_util.tree_leaves(errs))


def model_rows(history):
  """Metrics rows without ``eval_seconds`` (wall time, which no two runs share): what
  "bit for bit" compares."""
  return [{k: v for k, v in row.items() if k != "eval_seconds"} for row in history]


def tiny_charlm_config(tmp_path, chars: int, seed: int = 1, **changes):
  """A charlm config on ``chars`` random characters of a 9-symbol alphabet written to
  ``tmp_path/t.txt``, with a model small enough to train in seconds; ``changes`` on top."""
  from experiments import configs
  path = tmp_path / "t.txt"
  path.write_text("".join(np.random.default_rng(seed).choice(list("abcd efg\n"), chars)))
  small = dict(hidden_size=8, embed_size=4, length=16, batch_size=4)
  return configs.get("charlm", text_file=str(path), **{**small, **changes})
