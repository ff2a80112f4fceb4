"""What both converters share: array conversion and the check of our params' kind."""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np


def as_array(x):
  """A torch tensor, numpy array or jax array as a jax array (PyTorch is never imported)."""
  if hasattr(x, "detach"):
    x = x.detach().cpu().numpy()
  return jnp.asarray(np.asarray(x))


_KEYS = {
    1: {"w_ax", "w_aa", "b_a"},  # simple_rnn
    3: {"w_ax", "w_aa", "b_a", "b_cc"},  # gru(reset="after"): what Flax and PyTorch compute
    4: {"w_ax", "w_aa", "b_a"},  # lstm without peepholes
}


def check_params(params, gates: int, target: str):
  """Our params must be of the cell that ``target`` computes: exactly its keys, and
  w_ax [G·H, D], w_aa [G·H, H], b_a [G·H] with G = ``gates``."""
  if not isinstance(params, dict) or "w_aa" not in params:
    raise ValueError(
        f"params for {target} must be a dict of cell params with 'w_aa', "
        f"got {type(params).__name__} {sorted(params) if isinstance(params, dict) else ''}.")
  want = _KEYS[gates]
  got = set(params)
  if got != want:
    hint = ""
    if "w_pc" in got:
      hint = " (no peepholes there: convert params of lstm(peephole=False))"
    elif gates == 3 and "b_cc" not in got:
      hint = " (it is reset-after: convert params of gru(reset='after'))"
    raise ValueError(f"params for {target} must have keys {sorted(want)}{hint}, "
                     f"found {sorted(got)}.")
  h = np.shape(params["w_aa"])[-1]
  d = np.shape(params["w_ax"])[-1]
  shapes = {"w_ax": (gates * h, d), "w_aa": (gates * h, h), "b_a": (gates * h,), "b_cc": (h,)}
  for k in ("w_aa", "w_ax", "b_a", "b_cc"):
    if k in got and tuple(np.shape(params[k])) != shapes[k]:
      raise ValueError(f"params for {target} ({gates} gate block(s) of H={h} rows) need "
                       f"{k} of shape {list(shapes[k])}, found {list(np.shape(params[k]))}.")
  return h
