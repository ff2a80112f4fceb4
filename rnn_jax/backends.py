"""Which loop runs a recurrence: ``unroll(..., backend=...)``, resolved once per call here.

  scan     ``jax.lax.scan`` over time (every cell, every option; the reference)
  cudnn    ``jax.experimental.rnn.lstm``: NVIDIA cuDNN's LSTM, forward and backward
           (``rnn_jax.kernels.cudnn``)
  pallas   the whole time loop in one Pallas kernel, forward and closed-form backward
           (``rnn_jax.kernels.pallas``); interpret mode on a CPU
  auto     the rule below

The rule of ``auto`` (``choose_backend``) and of how many local devices a training step splits
its batch over (``device_candidates``; the launcher with ``devices`` unset,
``make_train_step(mesh="auto")``), written once:

  | platform   | cell and request                                | auto picks | devices       |
  |------------|-------------------------------------------------|------------|---------------|
  | gpu (CUDA) | plain LSTM (no peepholes), float32, batch ≤ 8,  | cudnn      | all           |
  |            | none of truncate, remat, return_carries,        |            |               |
  |            | backward="closed_form"                          |            |               |
  | gpu (CUDA) | anything else                                   | scan       | all           |
  | cpu        | anything                                        | scan       | all if W ≤    |
  |            |                                                 |            | 2**25, else 1 |
  |            |                                                 |            | or all, timed |
  | tpu, rocm  | anything                                        | scan       | all           |

W = B × the entries of the params' weight matrices (leaves of rank ≥ 2, embedding tables left
out): the multiply-adds of one time step of a dense model; 2**25 is ``CPU_SPLIT_SURE_WORK``.

"timed": both are compiled and run on the first batch (a few steps each, on copies of the
state) and the faster is kept (``parallel.fastest``); the run says which and the two times.

Why the backend rule: on the one GPU measured (an H200, BUILD_NOTES "On a GPU"; one round,
PyTorch's cuDNN as the stand-in for the cuDNN that ``jax.experimental.rnn`` wraps), cuDNN's LSTM
step was 9x faster than our scan at batch 1 (T = 1,000, H = 64: a scan pays a launch chain per
step, cuDNN keeps the loop on chip), and our scan was 2.2x and 1.9x faster than cuDNN at batch
32 and 64.
Between batch 1 and 32 nothing was measured: 8 is where ``auto`` switches until it is.
``pallas`` is never chosen by ``auto``: its kernels have run only in interpret mode here (no
accelerator was lent), and interpret mode on a CPU is within about 10% of ``scan`` either way
(BUILD_NOTES "Backends": 1.11x slower for the LSTM at batch 32, 0.91–0.96x at batch 1, one
run). On a TPU nothing
has been measured. An explicit ``backend`` that cannot serve a request raises a ValueError
saying why (``refusal``); ``auto`` never picks such a backend.

Why the CPU rule (BUILD_NOTES "Devices by shape"): a CPU split into one device per core runs
each half of the batch on its own core, which pays where one device's small matrix products
leave a core idle; where the products are large, one device already keeps both cores busy and
the split only adds its all-reduce. Which wins there depends on the machine. LSTM training
steps on 2 cores, one device ÷ split over 2 (3 alternated rounds, own processes, an Intel
Xeon, two runs where two numbers are given): W = 1.6M 1.52x, 12.6M (the primary shape)
1.84x–1.97x, 34M 1.18x, 42M 1.10x, 50M 1.25x, 67M 1.00x, 101M 1.10x, 134M (the large shape)
0.96x–1.05x; GRU 9.4M 2.02x–2.14x, 50M 1.00x, 75M 1.02x, 101M 0.97x–0.99x. The issue's AMD Zen
3 measured the large LSTM's split 1.32x slower than one device, and its primary LSTM's 1.47x
faster. At or below 2**25 every measurement favours the split, by ≥ 1.18x; above it no
threshold fits both machines (or both cells), so it is measured there,
where a step of the shapes measured took ≥ 0.1 s, so timing a few costs little beside a run.
The GPU and TPU rows are unmeasured here (no accelerator was lent): they keep data parallelism.
"""
from __future__ import annotations

import enum

import jax
import jax.numpy as jnp

from rnn_jax.bptt import has_closed_form
from rnn_jax.types import Cell, strategy


class Backend(str, enum.Enum):
  AUTO = "auto"
  SCAN = "scan"
  CUDNN = "cudnn"
  PALLAS = "pallas"


GPU_PLATFORMS = ("gpu", "cuda")  # what jax.default_backend() says on an NVIDIA GPU
PLATFORMS = GPU_PLATFORMS + ("cpu", "tpu", "rocm")


def _power_of_two(n: int) -> bool:
  return n > 0 and n & (n - 1) == 0


def gate_blocks(cell: Cell, params) -> int:
  """G: the gate blocks of H rows in ``w_aa [G·H, H]`` (4 for an LSTM, 3 for a GRU)."""
  w_aa = params.get("w_aa") if isinstance(params, dict) else None
  return 1 if w_aa is None else w_aa.shape[0] // max(w_aa.shape[1], 1)


def refusal(backend: Backend,
            cell: Cell,
            *,
            platform: str,
            dtype,
            params=None,
            truncate=None,
            remat=None,
            return_carries: bool = False,
            backward: str = "auto") -> str | None:
  """Why ``backend`` cannot run this request, or None when it can."""
  backward = str(getattr(backward, "value", backward))
  if backend == Backend.SCAN:
    return None
  if return_carries:
    return "return_carries=True needs backend='scan' (the kernels return the final carry only)"
  if backend == Backend.CUDNN:
    if platform not in GPU_PLATFORMS:
      return f"cuDNN runs on an NVIDIA GPU; this platform is {platform!r}"
    if cell.kind != "lstm" or cell.option("peephole") or cell.option("compute_dtype"):
      return (f"jax.experimental.rnn offers cuDNN's LSTM only (no peepholes, no "
              f"mixed_precision); the cell is {cell.kind!r}"
              f"{' with peepholes' if cell.option('peephole') else ''}")
    if jnp.dtype(dtype) != jnp.float32:
      return f"jax.experimental.rnn's LSTM takes float32 only; xs is {jnp.dtype(dtype).name}"
    if truncate is not None or remat is not None:
      return "cuDNN runs the whole sequence in one call: no truncate, no remat"
    if backward == "closed_form":
      return "cuDNN brings its own backward; backward='closed_form' needs backend='scan'"
    return None
  if backend == Backend.PALLAS:
    if not has_closed_form(cell):
      return (f"the Pallas kernels run the cells with closed-form rules (rnn_jax.bptt: "
              f"simple_rnn, gru, simplified_gru, lstm); the cell is {cell.kind!r}"
              f"{' in mixed precision' if cell.option('compute_dtype') else ''}")
    if backward == "autodiff":
      return "the Pallas kernels' backward is the closed form: use backward='auto'"
    if platform not in GPU_PLATFORMS:
      return None
    hidden, gates = cell.hidden_of_params(params), gate_blocks(cell, params)
    if not (_power_of_two(hidden) and _power_of_two(gates * hidden) and hidden >= 16):
      return (f"Pallas on Triton loads only arrays whose size is a power of two (and dots of "
              f"at least 16): H = {hidden} with {gates} gate block(s) is not")
    return None
  raise ValueError(f"no rule for backend {backend!r}")


# auto's cuDNN switch: see the module docstring
CUDNN_MAX_BATCH = 8
# the CPU devices rule: the work per time step (multiply-adds) up to which the split is taken
# without timing
CPU_SPLIT_SURE_WORK = 2**25


def matmul_entries(params) -> int:
  """The entries of ``params``' weight matrices: leaves of rank ≥ 2 outside any key named
  ``embedding`` (a lookup table does no multiply-adds)."""
  count = 0
  for path, leaf in jax.tree_util.tree_flatten_with_path(params)[0]:
    names = [str(getattr(k, "key", getattr(k, "name", ""))) for k in path]
    if getattr(leaf, "ndim", 0) >= 2 and "embedding" not in names:
      count += int(leaf.size)
  return count


def device_candidates(batch: int,
                      params,
                      available: int,
                      platform: str | None = None) -> tuple[int, ...]:
  """The device counts a training step of ``batch`` rows may split over, of ``available``
  local devices: one count, or ``(1, available)`` where the rule of the module docstring says
  to time both (``local_mesh`` then takes the most devices of a count that divide ``batch``)."""
  if available < 1 or batch < 1:
    raise ValueError(f"available and batch must be >= 1, got {available} and {batch}.")
  platform = platform or jax.default_backend()
  if (platform == "cpu" and available > 1 and batch * matmul_entries(params) > CPU_SPLIT_SURE_WORK):
    return (1, available)
  return (available,)


def choose_backend(cell: Cell,
                   backend,
                   *,
                   platform: str | None = None,
                   batch: int = 1,
                   **request) -> Backend:
  """The backend ``unroll`` runs (never ``auto``): ``backend`` itself when it can serve the
  request (else a ValueError naming why), or for ``"auto"`` the rule of the module docstring
  (``batch``: B). ``request``: the keywords of ``refusal``."""
  backend = strategy(Backend, "backend", backend)
  platform = platform or jax.default_backend()
  if backend == Backend.AUTO:
    if batch <= CUDNN_MAX_BATCH and refusal(
        Backend.CUDNN, cell, platform=platform, **request) is None:
      return Backend.CUDNN
    return Backend.SCAN
  reason = refusal(backend, cell, platform=platform, **request)
  if reason is not None:
    raise ValueError(f"backend={backend.value!r} cannot run this: {reason}.")
  return backend
