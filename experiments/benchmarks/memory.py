"""Training memory against sequence length, and DEER's iteration counts in both dtypes.

  python -m experiments.benchmarks.memory

1. Compiled temporaries (``jax.jit(...).lower(...).compile().memory_analysis()``) of the
   gradient of a loss on the final state of an LSTM (B=4, D=8, H=32), with and without
   ``remat="sqrt"``, at lengths that ⌈√T⌉ divides (1,024, 16,384, 65,536) and at lengths it
   does not (1,000, 8,000, 64,000).
2. DEER (Newton and quasi-Newton) on an LSTM whose cell state grows to |c| of tens of units
   (forget and input biases 4 and 2), T=64, B=3, float32 and float64: iterations to the
   default relative tolerance, and the largest output error against the sequential unroll.
"""
from __future__ import annotations

from absl import app, flags

_LENGTHS = flags.DEFINE_list("lengths", ["1000", "1024", "8000", "16384", "64000", "65536"],
                             "Sequence lengths for the memory table.")
_PLAIN_MAX = flags.DEFINE_integer("plain_max_length", 16384,
                                  "Compile the no-remat gradient only up to this T.")


def temp_bytes(t: int, remat, backward: str) -> int:
  import jax
  import jax.numpy as jnp

  import rnn_jax as rj
  cell = rj.lstm()
  params = cell.init(jax.random.PRNGKey(0), 8, 32)
  xs = jnp.zeros((4, t, 8))

  def loss(p, xs):
    final, _ = rj.unroll(cell, p, xs, remat=remat, backward=backward)
    return jnp.sum(final[1]**2)

  return jax.jit(jax.grad(loss)).lower(params, xs).compile().memory_analysis().temp_size_in_bytes


def deer_counts():
  """{(dtype, quasi): (iterations per example, max |ys − sequential|, max |c|)}."""
  import jax
  import jax.numpy as jnp

  import rnn_jax as rj
  from rnn_jax import parallel_time as pt
  jax.config.update("jax_enable_x64", True)
  cell, h = rj.lstm(), 16
  p64 = cell.init(jax.random.PRNGKey(0), 4, h, jnp.float64)
  p64["b_a"] = p64["b_a"].at[:h].set(2.0).at[h:2 * h].set(4.0)
  xs64 = jax.random.normal(jax.random.PRNGKey(1), (3, 64, 4), jnp.float64)
  out = {}
  for dtype in (jnp.float32, jnp.float64):
    p = jax.tree_util.tree_map(lambda v: v.astype(dtype), p64)
    xs = xs64.astype(dtype)
    final, y_seq = rj.unroll(cell, p, xs)
    for quasi in (False, True):
      _, ys, iters = pt.deer_unroll(cell, p, xs, quasi=quasi)
      out[(jnp.dtype(dtype).name, quasi)] = ([int(i) for i in iters],
                                             float(jnp.max(jnp.abs(ys - y_seq))),
                                             float(jnp.max(jnp.abs(final[0]))))
  jax.config.update("jax_enable_x64", False)
  return out


def main(argv):
  del argv
  lengths = [int(t) for t in _LENGTHS.value]
  print("| | " + " | ".join(f"T={t:,}" for t in lengths) + " |")
  print("|---|" + "---|" * len(lengths))
  rows = [("autodiff, no remat", None, "autodiff"),
          ("autodiff, remat=\"sqrt\"", "sqrt", "autodiff"),
          ("closed form, remat=\"sqrt\"", "sqrt", "closed_form")]
  for name, remat, backward in rows:
    cells = []
    for t in lengths:
      if remat is None and t > _PLAIN_MAX.value:
        cells.append("—")
      else:
        cells.append(f"{temp_bytes(t, remat, backward) / 1e6:.2f} MB")
    print(f"| {name} | " + " | ".join(cells) + " |")
  print()
  print(
      "| DEER on an LSTM, T=64 | iterations (3 sequences) | max error vs sequential | max abs(c) |")
  print("|---|---|---|---|")
  for (dtype, quasi), (iters, err, cmax) in deer_counts().items():
    kind = "quasi-Newton" if quasi else "Newton"
    print(f"| {kind}, {dtype} | {iters} | {err:.1e} | {cmax:.1f} |")


if __name__ == "__main__":
  app.run(main)
