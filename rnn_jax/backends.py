"""Which loop runs a recurrence: ``unroll(..., backend=...)``, resolved once per call here.

  scan     ``jax.lax.scan`` over time (every cell, every option; the reference)
  cudnn    ``jax.experimental.rnn.lstm``: NVIDIA cuDNN's LSTM, forward and backward
           (``rnn_jax.kernels.cudnn``)
  pallas   the whole time loop in one Pallas kernel, forward and closed-form backward
           (``rnn_jax.kernels.pallas``); interpret mode on a CPU
  auto     the rule below

The rule of ``auto`` (``choose_backend``), written once:

  | platform        | cell and request                                       | auto picks |
  |-----------------|--------------------------------------------------------|------------|
  | gpu (CUDA)      | plain LSTM (no peepholes), float32, batch ≤ 8, none of | cudnn      |
  |                 | truncate, remat, return_carries, backward="closed_form"|            |
  | gpu (CUDA)      | anything else                                          | scan       |
  | cpu, tpu, rocm  | anything                                               | scan       |

Why: on the one GPU measured (an H200, BUILD_NOTES "On a GPU"; one round, PyTorch's cuDNN as
the stand-in for the cuDNN that ``jax.experimental.rnn`` wraps), cuDNN's LSTM step was 9x
faster than our scan at batch 1 (T = 1,000, H = 64: a scan pays a launch chain per step, cuDNN
keeps the loop on chip), and our scan was 2.2x and 1.9x faster than cuDNN at batch 32 and 64.
Between batch 1 and 32 nothing was measured: 8 is where ``auto`` switches until it is.
``pallas`` is never chosen by ``auto``: its kernels have run only in interpret mode here (no
accelerator was lent), and interpret mode on a CPU is within about 10% of ``scan`` either way
(BUILD_NOTES "Backends": 1.11x slower for the LSTM at batch 32, 0.91–0.96x at batch 1, one
run). On a TPU nothing
has been measured. An explicit ``backend`` that cannot serve a request raises a ValueError
saying why (``refusal``); ``auto`` never picks such a backend.
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
