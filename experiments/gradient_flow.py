"""Vanishing and exploding gradients, measured and plotted (seed 000, seed 004).

  python -m experiments.gradient_flow --outdir=experiments/results/gradient_flow

Writes ``gradient_flow.png`` and ``gradient_flow.json``:
  (a) ‖∂L⟨T⟩/∂s⟨t⟩‖ against the distance T − t for a tanh RNN, an IRNN, a GRU and
      an LSTM on adding-problem inputs, at initialisation and after training;
  (b) ‖∂s⟨T⟩/∂s⟨t⟩‖ for a tanh RNN whose w_aa = ρ·Q (Q orthogonal) for several
      spectral radii ρ: vanishing below 1, exploding above;
  (c) for ρ = 1.5, the raw gradient norm of a few SGD steps and the norm after
      clipping by global norm (G_max = 1), with the cosine between the two.
"""
from __future__ import annotations

import json
import os

from absl import app, flags, logging

_OUT = flags.DEFINE_string("outdir", "experiments/results/gradient_flow", "Output folder.")
_T = flags.DEFINE_integer("length", 150, "Sequence length T for the flow curves.", lower_bound=2)
_TRAIN = flags.DEFINE_integer(
    "train_steps",
    1500, "Adding-problem steps before the 'trained' "
    "curves (0 = only at init).",
    lower_bound=0)


def _cells():
  import rnn_jax as rj
  return {
      "tanh RNN": rj.simple_rnn("tanh"),
      "IRNN": rj.simple_rnn("relu", "identity"),
      "GRU": rj.gru(),
      "LSTM": rj.lstm()
  }


def _flow(cell, params, readout, xs, ys):
  import jax.numpy as jnp
  from rnn_jax import diagnostics
  out = diagnostics.batched(cell, readout=readout)(params, xs, ys)
  return jnp.exp(jnp.mean(jnp.log(out["dL_ds"] + 1e-30), axis=0))  # geometric mean over batch


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  import jax
  import jax.numpy as jnp
  import numpy as np
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  from experiments import adding
  from experiments import configs
  from rnn_jax import diagnostics
  from rnn_jax.data.adding import adding_batch
  import rnn_jax as rj

  os.makedirs(_OUT.value, exist_ok=True)
  T = _T.value
  xs, ys = adding_batch(jax.random.PRNGKey(123), 16, T)
  results = {"length": T, "flow": {}, "spectral": {}, "clipping": {}}

  # (a) per cell, at init and after training on the adding problem (T=100)
  for name, cell in _cells().items():
    kind = {"tanh RNN": "simple_rnn", "IRNN": "irnn", "GRU": "gru", "LSTM": "lstm"}[name]
    cfg = configs.get(
        "adding",
        cell=kind,
        steps=max(_TRAIN.value, 1),
        length=100,
        eval_every=10**9,
        learning_rate=1e-4 if kind == "irnn" else 1e-2)
    model = adding.build_model(cfg)
    init = model.init(jax.random.PRNGKey(cfg.seed))
    entry = {"init": np.asarray(_flow(cell, init["encoder"], init["readout"], xs, ys)).tolist()}
    if _TRAIN.value:
      report, params = adding.train_and_evaluate(cfg, None, log=lambda *_: None, return_params=True)
      entry["trained"] = np.asarray(_flow(cell, params["encoder"], params["readout"], xs,
                                          ys)).tolist()
      entry["test_mse"] = report["test_mse"]
    results["flow"][name] = entry
    print(f"{name:9s} ‖∂L⟨T⟩/∂s⟨T−100⟩‖ init {entry['init'][T - 101]:.2e}" +
          (f"  trained {entry['trained'][T - 101]:.2e} (test MSE {entry['test_mse']:.4f})" if _TRAIN
           .value else ""))

  # (b) spectral radius of w_aa
  cell = rj.simple_rnn("tanh")
  base = cell.init(jax.random.PRNGKey(0), 2, 32)
  small = 0.01 * xs
  for rho in (0.8, 0.95, 1.0, 1.1, 1.5):
    p = {**base, "w_aa": rho * base["w_aa"]}
    flow = diagnostics.batched(cell)(p, small)["ds_ds"]
    curve = np.exp(np.mean(np.log(np.asarray(flow) + 1e-30), axis=0))
    results["spectral"][str(rho)] = {
        "radius": diagnostics.spectral_radius(p["w_aa"]),
        "ds_ds": curve.tolist()
    }
    print(f"ρ = {rho:4.2f}: ‖∂s⟨T⟩/∂s⟨T−50⟩‖ = {curve[T - 51]:.3e}")

  # (c) clipping an exploding gradient
  from rnn_jax.models import many_to_one
  from rnn_jax.optim import OptimConfig, gradient_metrics, make_optimizer
  model = many_to_one(cell, 2, 32, 1)
  params = model.init(jax.random.PRNGKey(0))
  params["encoder"] = {**params["encoder"], "w_aa": 1.5 * params["encoder"]["w_aa"]}
  tx = make_optimizer(OptimConfig("sgd", 1.0, clip_norm=1.0))
  loss = lambda p, x, y: jnp.mean((model.apply(p, x) - y)**2)
  state = tx.init(params)
  raw, clipped, cosines = [], [], []
  for i in range(10):
    x, y = adding_batch(jax.random.PRNGKey(1000 + i), 32, 50)
    x = 0.05 * x
    g = jax.grad(loss)(params, x, y)
    u, state = tx.update(g, state, params)
    flat = lambda t: np.concatenate([np.ravel(v) for v in jax.tree_util.tree_leaves(t)])
    raw.append(float(gradient_metrics(g)["grad_norm"]))
    clipped.append(float(np.linalg.norm(flat(u))))
    cosines.append(float(-flat(u) @ flat(g) / (np.linalg.norm(flat(u)) * np.linalg.norm(flat(g)))))
    params = jax.tree_util.tree_map(lambda p_, u_: p_ + 0.01 * u_, params, u)
  results["clipping"] = {"raw_norm": raw, "clipped_norm": clipped, "cosine": cosines}
  print(f"clipping: raw ‖g‖ in [{min(raw):.3g}, {max(raw):.3g}], clipped ‖g*‖ ≤ "
        f"{max(clipped):.3f}, cos(g, g*) ≥ {min(cosines):.6f}")

  fig, axes = plt.subplots(1, 3, figsize=(16, 4.5))
  dist = np.arange(T - 1, -1, -1)
  for name, entry in results["flow"].items():
    line, = axes[0].semilogy(dist, entry["init"], "--", label=f"{name} (init)")
    if "trained" in entry:
      axes[0].semilogy(
          dist, entry["trained"], "-", color=line.get_color(), label=f"{name} (trained)")
  axes[0].set(
      xlabel="distance T − t",
      ylabel="‖∂L⟨T⟩/∂s⟨t⟩‖ (geo. mean over batch)",
      title="(a) gradient reaching step t")
  axes[0].legend(fontsize=7)
  for rho, entry in results["spectral"].items():
    axes[1].semilogy(dist, entry["ds_ds"], label=f"ρ(w_aa) = {float(rho):.2f}")
  axes[1].set(xlabel="distance T − t", ylabel="‖∂s⟨T⟩/∂s⟨t⟩‖₂", title="(b) tanh RNN, w_aa = ρ·Q")
  axes[1].legend(fontsize=8)
  steps = np.arange(1, len(raw) + 1)
  axes[2].semilogy(steps, raw, "o-", label="raw ‖g‖")
  axes[2].semilogy(steps, clipped, "s-", label="clipped ‖g*‖ (G_max = 1)")
  axes[2].set(xlabel="SGD step", ylabel="norm", title="(c) clipping by global norm, ρ = 1.5")
  axes[2].legend(fontsize=8)
  fig.tight_layout()
  fig.savefig(os.path.join(_OUT.value, "gradient_flow.png"), dpi=110)
  with open(os.path.join(_OUT.value, "gradient_flow.json"), "w") as f:
    json.dump(results, f)
  print("wrote", os.path.join(_OUT.value, "gradient_flow.png"))


if __name__ == "__main__":
  app.run(main)
