"""Training-step speed with every contender in its own process, set up as its users run it.

  python -m experiments.benchmarks.contenders --shapes=primary,large,latency --cells=lstm,gru \
      --rounds=3 --out=contenders.json

One training step = forward over the whole sequence + loss mean(a⟨t⟩²) + gradients of all
params (the definition of ``../shared/baselines``). Each measurement is a fresh process
(``--worker=NAME``) that builds its contender, calls it twice (compilation), then times
``--reps`` calls and prints their median. Processes are alternated: round r runs every
contender once, in an order rotated by r, so drift hits all alike; the table gives the median
over rounds and ratios (peer ms / our ms: > 1 means we are faster).

Contenders, each with the settings its users get:
  pytorch          torch.nn.LSTM / nn.GRU, batch_first, PyTorch's default threads
  pytorch cuda     the same on the GPU (cuDNN), waiting for the GPU after each step; only
                   when named in --contenders (the JAX contenders use JAX's default device)
  flax             flax.linen.nn.RNN(OptimizedLSTMCell / GRUCell), jax.jit(jax.grad), default
                   XLA flags, one device
  rnn_jax          the plain library path: rj.unroll (backward="auto") + jax.grad, one
                   device, default flags: what a notebook gets (the GRU is
                   rj.gru("after"), the form both peers compute)
  rnn_jax autodiff the same with backward="autodiff" (ablation)
  rnn_jax scan, rnn_jax cudnn, rnn_jax pallas
                   the same with that backend named (``rnn_jax.backends``; "rnn_jax" is
                   backend="auto"); cudnn needs an NVIDIA GPU and the LSTM, pallas runs in
                   interpret mode on a CPU (slow: it is there to be measured on a GPU)
  keras jax        Keras 3 on its JAX backend (KERAS_BACKEND=jax): keras.layers.LSTM / GRU
                   (return_sequences), jax.jit(jax.grad) of its stateless_call, default
                   settings: its LSTM takes jax.experimental.rnn's cuDNN path on a GPU.
                   Needs ``pip install keras`` (not a dependency of rnn_jax)
  rnn_jax cores    rnn_jax.parallel.use_cpu_cores() before JAX starts, then the same loss
                   with the batch split over all local devices (parallel.local_mesh): what
                   the launcher did at every shape before session 18
  rnn_jax one of cores
                   use_cpu_cores(), then everything on the first of those devices: what the
                   launcher does with --config.devices=1
  rnn_jax launcher use_cpu_cores(), then the devices parallel.auto_meshes gives by shape
                   (rnn_jax.backends.device_candidates; the faster of one and all, timed
                   in the process, where it gives two): what the launcher and
                   make_train_step(mesh="auto") do
Also, unless --gemm=false: the float32 large-matmul rate of XLA and PyTorch/oneDNN (own
processes), whose best is the machine's practical peak; each row's GFLOP/s is reported
against it.
"""
from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time

from absl import app, flags

from experiments.benchmarks.timing import (JAX_GEMM, SHAPES, TORCH_GEMM, torch_train_step,
                                           train_flops)

_SHAPES = flags.DEFINE_list(
    "shapes", ["primary", "large", "latency"],
    "Shape presets (primary, large, latency) or B_T_D_H, e.g. 8_100_64_64.")
_CELLS = flags.DEFINE_list("cells", ["lstm", "gru"], "Cells: lstm, gru, rnn.")
_CONTENDERS = flags.DEFINE_list("contenders", None, "Subset of contenders (default: all).")
_ROUNDS = flags.DEFINE_integer("rounds", 3, "Alternated rounds.", lower_bound=1)
_REPS = flags.DEFINE_integer("reps", 5, "Timed calls per process.", lower_bound=1)
_GEMM = flags.DEFINE_bool("gemm", True, "Also measure the float32 large-matmul peak.")
_TIMEOUT = flags.DEFINE_integer("timeout", 900, "Seconds one process may take.")
_OUT = flags.DEFINE_string("out", None, "Write every measurement and the table as JSON here.")
_WORKER = flags.DEFINE_string("worker", None, "Internal: run one contender and print its time.")
_SHAPE = flags.DEFINE_string("shape", None, "Internal: the worker's shape preset.")
_CELL = flags.DEFINE_string("cell", None, "Internal: the worker's cell.")

OURS = "rnn_jax"


def shape_of(name: str) -> tuple:
  """A preset's (B, T, D, H), or that of a name "B_T_D_H"; ValueError otherwise."""
  if name in SHAPES:
    return SHAPES[name]
  parts = name.split("_")
  if len(parts) != 4 or not all(p.isdigit() and int(p) > 0 for p in parts):
    raise ValueError(f"shape {name!r} is neither a preset {sorted(SHAPES)} nor B_T_D_H.")
  return tuple(int(p) for p in parts)


def _data(shape):
  import jax
  b, t, d, _ = shape
  return jax.random.normal(jax.random.PRNGKey(1), (b, t, d))


def _rnn_jax(kind, shape, backward="auto", cores=False, backend="auto", split=True):
  if cores:
    from rnn_jax import parallel
    parallel.use_cpu_cores()  # before JAX starts: one CPU device per core
  import jax
  import jax.numpy as jnp
  import rnn_jax as rj
  from rnn_jax import parallel
  _, _, d, h = shape
  # the GRU with Γr applied after w_aa's product: the form Flax's GRUCell and PyTorch's GRU compute
  cell = {"lstm": rj.lstm(), "gru": rj.gru("after"), "rnn": rj.simple_rnn()}[kind]
  params, xs = cell.init(jax.random.PRNGKey(0), d, h), _data(shape)
  loss = lambda p, x: jnp.mean(rj.unroll(cell, p, x, backward=backward, backend=backend)[1]**2)

  if not (cores and split and jax.local_device_count() > 1):
    grad = jax.jit(jax.grad(loss))
    return lambda: jax.block_until_ready(grad(params, xs))
  on = lambda mesh: parallel.placed_call(jax.grad(loss), mesh, (params, xs))
  if split != "auto":
    return on(parallel.local_mesh(xs.shape[0]))
  # the launcher: the devices the rule gives, the faster of two timed where it asks
  runs = {int(m.devices.size): on(m) for m in parallel.auto_meshes(xs.shape[0], params)}
  return runs[parallel.fastest(runs)[0]]


def _flax(kind, shape):
  import flax.linen as nn
  import jax
  import jax.numpy as jnp
  cell_cls = {"lstm": nn.OptimizedLSTMCell, "gru": nn.GRUCell, "rnn": nn.SimpleCell}[kind]
  model = nn.RNN(cell_cls(features=shape[3]))
  xs = _data(shape)
  params = model.init(jax.random.PRNGKey(0), xs)
  grad = jax.jit(jax.grad(lambda p, x: jnp.mean(model.apply(p, x)**2)))
  return lambda: jax.block_until_ready(grad(params, xs))


def _keras(kind, shape):
  import os
  os.environ.setdefault("KERAS_BACKEND", "jax")
  import jax
  import jax.numpy as jnp
  import keras
  _, t, d, h = shape
  layer = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU, "rnn": keras.layers.SimpleRNN}[kind]
  model = keras.Sequential([keras.Input((t, d)), layer(h, return_sequences=True)])
  trainable = [v.value for v in model.trainable_variables]
  frozen = [v.value for v in model.non_trainable_variables]
  xs = _data(shape)

  def loss(weights, x):
    ys, _ = model.stateless_call(weights, frozen, x)
    return jnp.mean(ys**2)

  grad = jax.jit(jax.grad(loss))
  return lambda: jax.block_until_ready(grad(trainable, xs))


WORKERS = {
    "pytorch": torch_train_step,
    "pytorch cuda": lambda kind, shape: torch_train_step(kind, shape, device="cuda"),
    "flax": _flax,
    OURS: _rnn_jax,
    f"{OURS} autodiff": lambda kind, shape: _rnn_jax(kind, shape, backward="autodiff"),
    f"{OURS} cores": lambda kind, shape: _rnn_jax(kind, shape, cores=True),
    f"{OURS} one of cores": lambda kind, shape: _rnn_jax(kind, shape, cores=True, split=False),
    f"{OURS} launcher": lambda kind, shape: _rnn_jax(kind, shape, cores=True, split="auto"),
    f"{OURS} scan": lambda kind, shape: _rnn_jax(kind, shape, backend="scan"),
    f"{OURS} cudnn": lambda kind, shape: _rnn_jax(kind, shape, backend="cudnn"),
    f"{OURS} pallas": lambda kind, shape: _rnn_jax(kind, shape, backend="pallas"),
    "keras jax": _keras,
}
# without --contenders: what runs on a CPU as its users run it
DEFAULT = ["pytorch", "flax", OURS, f"{OURS} autodiff", f"{OURS} launcher"]
OUR_NAMES = [
    OURS, f"{OURS} cores", f"{OURS} one of cores", f"{OURS} launcher", f"{OURS} scan",
    f"{OURS} cudnn", f"{OURS} pallas"
]
PEERS = ["pytorch", "pytorch cuda", "keras jax", "flax"]


def worker(name: str, kind: str, shape_name: str, reps: int) -> dict:
  """Builds one contender, warms it up and returns the median ms of ``reps`` calls."""
  fn = WORKERS[name](kind, shape_of(shape_name))
  fn()
  fn()  # compiled and warm
  times = []
  for _ in range(reps):
    t0 = time.perf_counter()
    fn()
    times.append(1e3 * (time.perf_counter() - t0))
  return {"contender": name, "cell": kind, "shape": shape_name, "ms": statistics.median(times)}


def _spawn(args: list[str], timeout: int) -> dict | None:
  try:
    out = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout)
  except subprocess.TimeoutExpired:
    print(f"  timed out after {timeout} s: {' '.join(args)}", file=sys.stderr)
    return None
  if out.returncode != 0:
    print(f"  failed: {' '.join(args)}: {out.stderr.strip()[-400:]}", file=sys.stderr)
    return None
  return json.loads(out.stdout.strip().splitlines()[-1])


def gemm_peak(rounds: int, timeout: int) -> dict:
  """float32 large-matmul GFLOP/s of XLA and PyTorch, best over ``rounds`` own processes."""
  best = {}
  for _ in range(rounds):
    for code in (JAX_GEMM, TORCH_GEMM):
      r = _spawn(["-c", code, "float32"], timeout)
      if r is not None:
        best[r["who"]] = max(best.get(r["who"], 0.0), r["gflops"])
  return best


def rotated(items: list, r: int) -> list:
  """``items`` started at position r (mod len): round r's order."""
  k = r % len(items)
  return items[k:] + items[:k]


def table(runs: list[dict], peak: float | None) -> list[dict]:
  """One row per (shape, cell): median ms over rounds of each contender, ratios to rnn_jax."""
  rows = []
  for shape in dict.fromkeys(r["shape"] for r in runs):
    for kind in dict.fromkeys(r["cell"] for r in runs if r["shape"] == shape):
      times = {}
      for r in runs:
        if r["shape"] == shape and r["cell"] == kind:
          times.setdefault(r["contender"], []).append(r["ms"])
      ms = {name: statistics.median(v) for name, v in times.items()}
      row = {"shape": shape, "cell": kind, "rounds": min(map(len, times.values())), "ms": ms}
      flops = train_flops(kind, *shape_of(shape))
      row["gflops"] = {name: flops / (v / 1e3) / 1e9 for name, v in ms.items()}
      if peak:
        row["fraction_of_peak"] = {name: g / peak for name, g in row["gflops"].items()}
      row["ratios"] = {
          f"{peer} / {ours}": ms[peer] / ms[ours] for ours in OUR_NAMES if ours in ms
          for peer in PEERS if peer in ms
      }
      rows.append(row)
  return rows


def print_table(rows: list[dict], peak: float | None) -> None:
  names = list(dict.fromkeys(n for row in rows for n in row["ms"]))
  print("\nmedian ms per training step (own processes); x = peer ms / ours (> 1: we are faster)")
  print("| shape | cell | " + " | ".join(names) + " | ratios |")
  print("|---" * (len(names) + 3) + "|")
  for row in rows:
    cells = " | ".join(f"{row['ms'][n]:.1f}" if n in row["ms"] else "-" for n in names)
    ratios = ", ".join(f"{k} x{v:.2f}" for k, v in row["ratios"].items())
    print(f"| {row['shape']} {shape_of(row['shape'])} | {row['cell']} | {cells} | {ratios} |")
  if peak:
    print(f"\nGFLOP/s against the measured peak {peak:.0f} GFLOP/s (best float32 large matmul):")
    for row in rows:
      best = max(row["gflops"], key=row["gflops"].get)
      print(f"  {row['shape']:8s} {row['cell']:5s} " +
            ", ".join(f"{n} {g:.0f} ({100 * g / peak:.0f}%)" for n, g in row["gflops"].items()) +
            f"; fastest: {best}")


def main(argv):
  del argv
  if _WORKER.value:
    print(json.dumps(worker(_WORKER.value, _CELL.value, _SHAPE.value, _REPS.value)))
    return
  names = _CONTENDERS.value or DEFAULT
  unknown = sorted(set(names) - set(WORKERS))
  for shape in _SHAPES.value:
    try:
      shape_of(shape)
    except ValueError:
      unknown.append(shape)
  if unknown:
    raise app.UsageError(f"unknown contenders/shapes {unknown}; contenders: {list(WORKERS)}, "
                         f"shapes: {list(SHAPES)} or B_T_D_H")
  peaks = gemm_peak(_ROUNDS.value, _TIMEOUT.value) if _GEMM.value else {}
  peak = max(peaks.values()) if peaks else None
  for who, g in peaks.items():
    print(f"float32 large matmul {who}: {g:.0f} GFLOP/s", flush=True)
  runs = []
  for shape in _SHAPES.value:
    for kind in _CELLS.value:
      for r in range(_ROUNDS.value):
        for name in rotated(names, r):
          result = _spawn([
              "-m", "experiments.benchmarks.contenders", f"--worker={name}", f"--cell={kind}",
              f"--shape={shape}", f"--reps={_REPS.value}"
          ], _TIMEOUT.value)
          if result is not None:
            result["round"] = r
            runs.append(result)
            print(json.dumps(result), flush=True)
  rows = table(runs, peak)
  print_table(rows, peak)
  if _OUT.value:
    with open(_OUT.value, "w") as f:
      json.dump({"peaks": peaks, "runs": runs, "table": rows}, f, indent=1)


if __name__ == "__main__":
  app.run(main)
