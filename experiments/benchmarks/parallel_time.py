"""Sequential scan vs parallel-in-time evaluation, time against sequence length T.

  python -m experiments.benchmarks.parallel_time --lengths=256,1024,4096,16384

minGRU: forward + gradient, sequential ``unroll`` vs the log-space associative scan.
GRU: forward only, sequential ``unroll`` vs DEER (Newton) and quasi-DEER, with the
number of iterations to convergence. Median ms of interleaved repetitions; JSON with
--out. On a 2-core CPU the parallel paths are expected to lose (they do more work
and there is little parallel hardware); the same command on a GPU/TPU shows whether
the O(log T) depth pays off there.
"""
from __future__ import annotations

import json

from absl import app, flags, logging

from experiments.benchmarks.timing import time_interleaved

_LENGTHS = flags.DEFINE_list("lengths", ["256", "1024", "4096", "16384"], "Sequence lengths.")
_DEER_MAX_T = flags.DEFINE_integer("deer_max_length", 4096, "Skip DEER above this T.")
_B = flags.DEFINE_integer("batch_size", 8, "Batch size.")
_H = flags.DEFINE_integer("hidden_size", 64, "Hidden size (DEER uses --deer_hidden).")
_DEER_H = flags.DEFINE_integer("deer_hidden", 16, "Hidden size for the DEER runs.")
_REPS = flags.DEFINE_integer("reps", 5, "Repetitions.")
_OUT = flags.DEFINE_string("out", None, "JSON output.")


def _median_ms(fns, reps):
  import jax
  blocking = {k: (lambda f=f: jax.block_until_ready(f())) for k, f in fns.items()}
  return time_interleaved(blocking, rounds=reps, reps=1, warmup=1)


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  import jax
  import jax.numpy as jnp
  import rnn_jax as rj
  from rnn_jax import parallel_time as pt
  results = {"device": jax.devices()[0].platform, "min_gru": {}, "gru_deer": {}}
  b, h = _B.value, _H.value
  for t in map(int, _LENGTHS.value):
    cell = rj.min_gru()
    p = cell.init(jax.random.PRNGKey(0), h, h)
    xs = jax.random.normal(jax.random.PRNGKey(1), (b, t, h))
    # xs is an argument: closed over, it would be a constant folded at compile time
    seq = jax.jit(jax.value_and_grad(lambda p, x: jnp.mean(rj.unroll(cell, p, x)[1]**2)))
    par = jax.jit(
        jax.value_and_grad(lambda p, x: jnp.mean(pt.associative_unroll(cell, p, x)[1]**2)))
    med = _median_ms({
        "sequential": lambda: seq(p, xs),
        "associative": lambda: par(p, xs)
    }, _REPS.value)
    results["min_gru"][t] = med
    print(
        f"minGRU T={t:6d} fwd+grad: sequential {med['sequential']:9.1f} ms, "
        f"associative {med['associative']:9.1f} ms (x{med['sequential'] / med['associative']:.2f})")
    if t <= _DEER_MAX_T.value:
      gcell, hd = rj.gru(), _DEER_H.value
      gp = gcell.init(jax.random.PRNGKey(0), hd, hd)
      gx = jax.random.normal(jax.random.PRNGKey(1), (b, t, hd))
      seq_f = jax.jit(lambda p, x: rj.unroll(gcell, p, x)[1])
      deer_f = jax.jit(lambda p, x: pt.deer_unroll(gcell, p, x))
      quasi_f = jax.jit(lambda p, x: pt.deer_unroll(gcell, p, x, quasi=True))
      med = _median_ms(
          {
              "sequential": lambda: seq_f(gp, gx),
              "deer": lambda: deer_f(gp, gx),
              "quasi_deer": lambda: quasi_f(gp, gx)
          }, max(2, _REPS.value // 2))
      med["deer_iterations"] = int(deer_f(gp, gx)[2].max())
      med["quasi_iterations"] = int(quasi_f(gp, gx)[2].max())
      results["gru_deer"][t] = med
      print(f"GRU-{hd} T={t:6d} forward: sequential {med['sequential']:8.1f} ms, DEER "
            f"{med['deer']:8.1f} ms ({med['deer_iterations']} it), quasi-DEER "
            f"{med['quasi_deer']:8.1f} ms ({med['quasi_iterations']} it)")
  if _OUT.value:
    with open(_OUT.value, "w") as f:
      json.dump(results, f, indent=1)


if __name__ == "__main__":
  app.run(main)
