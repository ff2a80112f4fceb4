"""Weights to and from Flax linen cells (``SimpleCell``, ``GRUCell``, ``LSTMCell``,
``OptimizedLSTMCell``).

Flax kernels are ``[in, out]``; ours are ``[out, in]``. Flax's GRU is reset-after with
z = 1 − Γu: since 1 − σ(s) = σ(−s), the update rows are negated (use ``gru(reset="after")``).
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from rnn_jax.interop.common import as_array as _np, check_params
from rnn_jax.types import check_choice

FLAX_CELLS = ("SimpleCell", "GRUCell", "LSTMCell", "OptimizedLSTMCell")


def _unwrap(variables):
  return variables["params"] if "params" in variables else variables


_FLAX_MODULES = {
    "SimpleCell": (("i", True), ("h", False)),
    "GRUCell": (
        ("ir", True), ("iz", True), ("in", True), ("hr", False), ("hz", False), ("hn", True)),
    "LSTMCell": tuple((f"i{g}", False) for g in "ifgo") + tuple((f"h{g}", True) for g in "ifgo"),
}
_FLAX_MODULES["OptimizedLSTMCell"] = _FLAX_MODULES["LSTMCell"]


def _flax_checked(p, cell_type):
  """The variables of ``cell_type`` in ``p``, with their shapes checked: every ``i*``
  kernel [D, H], every ``h*`` kernel [H, H], biases [H] exactly where Flax has them."""
  modules = _FLAX_MODULES[cell_type]
  found = sorted(p)
  for name, has_bias in modules:
    if name not in p:
      raise ValueError(f"variables for Flax {cell_type} need the submodule {name!r} "
                       f"(expected {[n for n, _ in modules]}), found {found}.")
    want = {"kernel", "bias"} if has_bias else {"kernel"}
    if set(p[name]) != want:
      raise ValueError(f"variables for Flax {cell_type}: {name!r} must hold {sorted(want)}, "
                       f"found {sorted(p[name])}.")
  extra = sorted(set(p) - {n for n, _ in modules})
  if extra:
    raise ValueError(f"variables for Flax {cell_type} hold unexpected submodules {extra}; "
                     f"expected {[n for n, _ in modules]}.")
  h = np.shape(p[modules[-1][0]]["kernel"])[-1]
  d = np.shape(p[modules[0][0]]["kernel"])[0]
  for name, has_bias in modules:
    want = (d if name.startswith("i") else h, h)
    got = tuple(np.shape(p[name]["kernel"]))
    if got != want:
      raise ValueError(f"variables for Flax {cell_type}: {name}/kernel must be {list(want)} "
                       f"([in, out] with D={d}, H={h}), found {list(got)}.")
    if has_bias and tuple(np.shape(p[name]["bias"])) != (h,):
      raise ValueError(f"variables for Flax {cell_type}: {name}/bias must be [{h}], "
                       f"found {list(np.shape(p[name]['bias']))}.")
  return p


def from_flax(variables, cell_type: str):
  """Flax linen cell variables (or their ``params``) -> our cell params.

  Variables of another cell type, with missing or extra submodules or inconsistent
  kernel shapes, are refused with a ValueError naming what was expected and found.
  """
  check_choice("cell_type", cell_type, FLAX_CELLS)
  p = _flax_checked(_unwrap(variables), cell_type)
  k = lambda name: _np(p[name]["kernel"]).T
  b = lambda name: _np(p[name]["bias"])
  if cell_type == "SimpleCell":
    return {"w_ax": k("i"), "w_aa": k("h"), "b_a": b("i")}
  if cell_type == "GRUCell":
    return {
        "w_ax": jnp.concatenate([-k("iz"), k("ir"), k("in")]),
        "w_aa": jnp.concatenate([-k("hz"), k("hr"), k("hn")]),
        "b_a": jnp.concatenate([-b("iz"), b("ir"), b("in")]),
        "b_cc": b("hn")
    }
  gates = "ifgo"
  return {
      "w_ax": jnp.concatenate([k("i" + g) for g in gates]),
      "w_aa": jnp.concatenate([k("h" + g) for g in gates]),
      "b_a": jnp.concatenate([b("h" + g) for g in gates])
  }


def to_flax(params, cell_type: str):
  """Our cell params -> ``{"params": ...}`` for the Flax linen cell ``cell_type``."""
  check_choice("cell_type", cell_type, FLAX_CELLS)
  gates = {"SimpleCell": 1, "GRUCell": 3}.get(cell_type, 4)
  h = check_params(params, gates, f"Flax {cell_type}")
  blk = lambda a, i: a[i * h:(i + 1) * h]
  dense = lambda w, bias=None: ({"kernel": w.T} if bias is None else {"kernel": w.T, "bias": bias})
  wx, wa, ba = params["w_ax"], params["w_aa"], params["b_a"]
  if cell_type == "SimpleCell":
    out = {"i": dense(wx, ba), "h": dense(wa)}
  elif cell_type == "GRUCell":
    out = {
        "iz": dense(-blk(wx, 0), -blk(ba, 0)),
        "ir": dense(blk(wx, 1), blk(ba, 1)),
        "in": dense(blk(wx, 2), blk(ba, 2)),
        "hz": dense(-blk(wa, 0)),
        "hr": dense(blk(wa, 1)),
        "hn": dense(blk(wa, 2), params["b_cc"])
    }
  else:
    out = {}
    for i, g in enumerate("ifgo"):
      out["i" + g] = dense(blk(wx, i))
      out["h" + g] = dense(blk(wa, i), blk(ba, i))
  return {"params": out}
