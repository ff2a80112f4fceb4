"""Run in a subprocess with 8 forced host devices (see test_parallel.py).

Trains the same LSTM for a few steps on one device and on an 8-device mesh and
prints both loss trajectories and how the batch was placed, as JSON.
"""
import json
import os
import sys

os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=8"
os.environ["JAX_PLATFORMS"] = "cpu"

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

import rnn_jax as rj  # noqa: E402
from rnn_jax import parallel  # noqa: E402
from rnn_jax.data.adding import adding_batch  # noqa: E402
from rnn_jax.models import many_to_one  # noqa: E402
from rnn_jax.optim import OptimConfig, make_optimizer  # noqa: E402
from rnn_jax.train import init_state, make_train_step  # noqa: E402


def run(mesh, backward):
  model = many_to_one(rj.lstm(), 2, 16, 1, backward=backward)
  tx = make_optimizer(OptimConfig("adam", 1e-2, clip_norm=1.0))
  state = init_state(model.init(jax.random.PRNGKey(0)), tx, jax.random.PRNGKey(1))
  loss_fn = lambda p, batch, key: (jnp.mean((model.apply(p, batch[0]) - batch[1])**2), {})
  step = make_train_step(loss_fn, tx, 1.0, mesh=mesh)
  if mesh is not None:
    state = parallel.replicate(state, mesh)
  losses, placement = [], None
  for i in range(5):
    batch = adding_batch(jax.random.PRNGKey(100 + i), 32, 20)
    if mesh is not None:
      batch = parallel.shard_batch(batch, mesh)
      placement = {
          "devices": len(batch[0].sharding.device_set),
          "shard_rows": sorted({s.data.shape[0] for s in batch[0].addressable_shards})
      }
    state, metrics = step(state, batch)
    losses.append(float(metrics["loss"]))
  return losses, placement


if __name__ == "__main__":
  backward = sys.argv[1] if len(sys.argv) > 1 else "autodiff"
  one, _ = run(None, backward)
  mesh = parallel.local_mesh(32)
  many, placement = run(mesh, backward)
  print(
      json.dumps({
          "devices": jax.device_count(),
          "mesh": int(mesh.devices.size),
          "one": one,
          "many": many,
          "placement": placement
      }))
