"""Data parallelism over 8 forced CPU devices, in a subprocess (XLA flags must be set
before jax starts), against the same training on one device."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from rnn_jax import parallel

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.slow  # end-to-end (a task run, training to a result, or a subprocess)
@pytest.mark.parametrize("backward", ["autodiff", "closed_form"])
def test_eight_device_mesh_matches_one_device_and_splits_the_batch(backward):
  env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
  env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
  out = subprocess.run(
      [sys.executable,
       os.path.join(ROOT, "tests", "multidevice_check.py"), backward],
      capture_output=True,
      text=True,
      env=env,
      timeout=300)
  assert out.returncode == 0, out.stderr[-3000:]
  result = json.loads(out.stdout.strip().splitlines()[-1])
  assert result["devices"] == 8 and result["mesh"] == 8
  assert result["placement"] == {"devices": 8, "shard_rows": [4]}  # 32 rows, 4 per device
  np.testing.assert_allclose(result["many"], result["one"], rtol=2e-5, atol=1e-6)
  assert result["one"][-1] != result["one"][0]  # it trained


def test_cpu_flags_respect_a_user_choice(monkeypatch):
  monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=3")
  assert parallel.set_cpu_devices_if_unset() is False
  assert os.environ["XLA_FLAGS"] == "--xla_force_host_platform_device_count=3"
  monkeypatch.setenv("XLA_FLAGS", "--xla_dump_to=/tmp/x")
  assert parallel.set_cpu_devices_if_unset(4) is True
  assert "device_count=4" in os.environ["XLA_FLAGS"] and "dump_to" in os.environ["XLA_FLAGS"]


def test_local_mesh_uses_a_divisor_and_shard_batch_checks():
  import jax
  mesh = parallel.local_mesh(7)
  assert 7 % mesh.devices.size == 0
  x = np.zeros((7, 3), np.float32)
  placed = parallel.shard_batch(x, mesh)
  np.testing.assert_array_equal(np.asarray(placed), x)
  if jax.device_count() > 1:
    with pytest.raises(ValueError, match="not divisible"):
      parallel.shard_batch(np.zeros((jax.device_count() + 1, 2)), parallel.local_mesh())


@pytest.mark.slow  # end-to-end (a task run, training to a result, or a subprocess)
def test_use_cpu_cores_before_jax_starts_and_a_clear_error_after():
  import subprocess
  import sys
  env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
  ok = ("import jax; from rnn_jax.parallel import use_cpu_cores, local_mesh\n"
        "assert use_cpu_cores(2) == 2 and len(jax.devices()) == 2\n"
        "assert local_mesh(8).devices.size == 2\n")
  out = subprocess.run([sys.executable, "-c", ok],
                       env=env,
                       capture_output=True,
                       text=True,
                       timeout=120)
  assert out.returncode == 0, out.stderr[-1500:]
  late = ("import jax, jax.numpy as jnp; jnp.ones(1).block_until_ready()\n"
          "from rnn_jax.parallel import use_cpu_cores\n"
          "try:\n  use_cpu_cores(2)\nexcept RuntimeError as e:\n  print('refused:', e)\n")
  out = subprocess.run([sys.executable, "-c", late],
                       env=env,
                       capture_output=True,
                       text=True,
                       timeout=120)
  assert "refused: JAX already started with 1 CPU device(s)" in out.stdout, out.stderr[-1500:]


def test_initialize_checks_its_arguments_before_starting_anything():
  from rnn_jax import parallel
  with pytest.raises(ValueError, match="go together"):
    parallel.initialize(process_id=1)
  with pytest.raises(ValueError, match=r"process_id must be in \[0, 2\), got 2"):
    parallel.initialize("127.0.0.1:1", 2, 2)


@pytest.mark.slow  # end-to-end (a task run, training to a result, or a subprocess)
def test_train_step_splits_the_batch_over_local_devices_by_default():
  """A notebook's path: use_cpu_cores(2), then make_train_step without a mesh: the state lands on
  both devices and the losses equal a one-device step's."""
  import subprocess
  import sys
  code = """
import jax, jax.numpy as jnp, optax, numpy as np
from rnn_jax.parallel import use_cpu_cores
assert use_cpu_cores(2) == 2
import rnn_jax as rj
from rnn_jax.train import init_state, make_train_step
cell = rj.gru()
params = cell.init(jax.random.PRNGKey(0), 3, 8)
xs = jax.random.normal(jax.random.PRNGKey(1), (6, 5, 3))
loss = lambda p, b, k: (jnp.mean(rj.unroll(cell, p, b)[1] ** 2), {})
tx = optax.adam(1e-2)
runs = {}
for mesh in ("auto", None):
  fresh = jax.tree_util.tree_map(jnp.copy, params)  # the step donates the state it is given
  state = init_state(fresh, tx, jax.random.PRNGKey(2))
  step = make_train_step(loss, tx, mesh=mesh)
  losses = []
  for _ in range(4):
    state, m = step(state, xs)
    losses.append(float(m["loss"]))
  runs[mesh] = (losses, state)
np.testing.assert_allclose(runs["auto"][0], runs[None][0], rtol=1e-6)
assert len(runs["auto"][1].params["w_aa"].sharding.device_set) == 2
assert len(runs[None][1].params["w_aa"].sharding.device_set) == 1
print("ok")
"""
  env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
  out = subprocess.run([sys.executable, "-c", code],
                       env=env,
                       capture_output=True,
                       text=True,
                       timeout=300)
  assert out.returncode == 0 and "ok" in out.stdout, out.stderr[-2000:]


def test_device_candidates_split_on_a_cpu_and_time_both_above_the_threshold():
  from rnn_jax import backends
  h, d, v = 64, 32, 1000
  params = {  # a language model's shapes: the embedding table does no multiply-adds
      "embedding": np.zeros((v, d)),
      "cell": {
          "w_ax": np.zeros((4 * h, d)),
          "w_aa": np.zeros((4 * h, h)),
          "b": np.zeros(4 * h)
      },
      "readout": {
          "w_ya": np.zeros((v, h)),
          "b_y": np.zeros(v)
      }
  }
  entries = 4 * h * d + 4 * h * h + v * h  # written out by hand
  assert backends.matmul_entries(params) == entries
  at_limit = backends.CPU_SPLIT_SURE_WORK // entries  # the largest batch at or under it
  assert backends.device_candidates(at_limit, params, 2, "cpu") == (2,)
  assert backends.device_candidates(at_limit + 1, params, 2, "cpu") == (1, 2)
  assert backends.device_candidates(at_limit + 1, params, 1, "cpu") == (1,)
  assert backends.device_candidates(at_limit + 1, params, 8, "gpu") == (8,)
  assert backends.device_candidates(at_limit + 1, params, 4, "tpu") == (4,)
  with pytest.raises(ValueError, match="available and batch"):
    backends.device_candidates(0, params, 2, "cpu")


def test_fastest_takes_the_lowest_median_of_timed_calls():
  """A fake clock: each run advances it by its own durations; the first call is not timed."""
  now = [0.0]
  durations = {"a": iter([9.0, 3.0, 3.0, 100.0]), "b": iter([1.0, 2.0, 50.0, 2.5])}
  calls = {"a": 0, "b": 0}

  def run(key):

    def go():
      calls[key] += 1
      now[0] += next(durations[key])

    return go

  key, medians = parallel.fastest({k: run(k) for k in ("a", "b")}, 3, clock=lambda: now[0])
  assert medians == {"a": 3.0, "b": 2.5} and key == "b"  # medians of the 3 timed calls
  assert calls == {"a": 4, "b": 4}
  with pytest.raises(ValueError, match="calls >= 1"):
    parallel.fastest({"a": run("a")}, 0)


def _on_two_devices(code: str, timeout: int) -> list[str]:
  """The stdout lines of ``python -c code`` with 2 forced CPU host devices."""
  env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
  env.update(XLA_FLAGS="--xla_force_host_platform_device_count=2", JAX_PLATFORMS="cpu")
  env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
  out = subprocess.run([sys.executable, "-c", code],
                       capture_output=True,
                       text=True,
                       env=env,
                       timeout=timeout)
  assert out.returncode == 0, out.stderr[-2000:]
  return out.stdout.strip().splitlines()


def test_auto_meshes_and_the_timed_choice_on_two_cpu_devices():
  """Two forced host devices in a subprocess: a small model's batch is split; above the
  threshold (weights as zero-stride arrays) one device and two are candidates; 7 rows cannot
  be split. jit_step_auto then times both on copies, takes one of them, and takes its step
  from the caller's state (the timing neither advanced nor donated it)."""
  code = """
import numpy as np, jax, jax.numpy as jnp
from rnn_jax import parallel, backends
small = {'w_aa': np.zeros((8, 8))}
big = {'w_aa': np.broadcast_to(np.float32(0), (1 << 13, 1 << 13))}
sizes = lambda ms: [int(m.devices.size) for m in ms]
print(jax.local_device_count(), sizes(parallel.auto_meshes(32, small)),
      sizes(parallel.auto_meshes(32, big)), sizes(parallel.auto_meshes(7, small)))
backends.CPU_SPLIT_SURE_WORK = 0  # every model is timed
step = lambda s, b: ((s[0] + jnp.mean(b), s[1] @ s[1]), {})
auto = parallel.jit_step_auto(step)
state = (jnp.zeros(()), jnp.eye(4))
new, _ = auto(state, jnp.ones((32, 3)))
n, timings = auto.choices[32]
print(n in (1, 2), sorted(timings) == [1, 2], float(new[0]))
"""
  lines = _on_two_devices(code, 120)
  # 32 × 2**26 entries is above the threshold; 7 rows cannot be split over 2 devices
  assert lines[-2] == "2 [2] [1, 2] [1]"
  # one step from the caller's state (0 + mean 1): the timed steps ran on copies, which each
  # took 4 steps, and left the state to be donated by this call alone
  assert lines[-1] == "True True 1.0"


@pytest.mark.slow  # end-to-end (a task run in a subprocess)
def test_the_launcher_times_one_device_and_two_where_the_rule_asks_and_says_so():
  """A small adding run on 2 forced host devices with the threshold at 0: both meshes are
  timed, the report keeps the two times and the devices taken (the faster), and the first
  console line names them."""
  code = """
import json
from rnn_jax import backends
backends.CPU_SPLIT_SURE_WORK = 0
from experiments import adding, configs
small = dict(steps=4, eval_every=2, checkpoint_every=2, hidden_size=8, batch_size=4, length=12,
             eval_batches=1)
lines = []
report = adding.train_and_evaluate(configs.get("adding", **small), None, log=lines.append)
print(json.dumps({"devices": report["devices"], "timed": report["devices_timed"],
                  "line": lines[0]}))
"""
  result = json.loads(_on_two_devices(code, 300)[-1])
  timed = {int(k): v for k, v in result["timed"].items()}
  assert sorted(timed) == [1, 2] and all(t > 0 for t in timed.values())
  assert result["devices"] == min(timed, key=timed.get)
  assert "(timed: 1 device " in result["line"] and ", 2 devices " in result["line"]
  assert ("one device"
          if result["devices"] == 1 else "batch split over 2 devices") in result["line"]
