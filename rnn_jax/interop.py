"""Weights to and from Flax linen cells and PyTorch ``nn.RNN``/``nn.GRU``/``nn.LSTM``.

Conventions bridged here (see each cell's docstring for ours):
  * Flax kernels are ``[in, out]``; ours and PyTorch's are ``[out, in]``.
  * Flax/PyTorch GRUs are reset-after with z = 1 − Γu: since 1 − σ(s) = σ(−s),
    the update rows are negated. Use ``gru(reset="after")``.
  * Gate order of LSTMs is (u, f, c̃, o) = (i, f, g, o) everywhere.
  * PyTorch keeps two biases per gate; we keep their sum (and, for the GRU
    candidate, the recurrent one separately as ``b_cc``). ``to_torch`` puts the
    sum in ``bias_ih`` and zeros (or ``b_cc``) in ``bias_hh``: same function.

PyTorch is never imported here: state dicts may hold tensors or arrays.
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from rnn_jax.cells import gru, lstm, simple_rnn
from rnn_jax.layers import bidirectional, stacked
from rnn_jax.types import check_choice

FLAX_CELLS = ("SimpleCell", "GRUCell", "LSTMCell", "OptimizedLSTMCell")
TORCH_KINDS = {"rnn_tanh": 1, "rnn_relu": 1, "gru": 3, "lstm": 4}


def _np(x):
  if hasattr(x, "detach"):
    x = x.detach().cpu().numpy()
  return jnp.asarray(np.asarray(x))


def _unwrap(variables):
  return variables["params"] if "params" in variables else variables


def from_flax(variables, cell_type: str):
  """Flax linen cell variables (or their ``params``) -> our cell params."""
  check_choice("cell_type", cell_type, FLAX_CELLS)
  p = _unwrap(variables)
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
  h = params["w_aa"].shape[1]
  blk = lambda a, i: a[i * h:(i + 1) * h]
  dense = lambda w, bias=None: ({"kernel": w.T} if bias is None else {"kernel": w.T, "bias": bias})
  wx, wa, ba = params["w_ax"], params["w_aa"], params["b_a"]
  if cell_type == "SimpleCell":
    out = {"i": dense(wx, ba), "h": dense(wa)}
  elif cell_type == "GRUCell":
    if "b_cc" not in params:
      raise ValueError("Flax's GRUCell is reset-after: convert params of gru(reset='after').")
    out = {
        "iz": dense(-blk(wx, 0), -blk(ba, 0)),
        "ir": dense(blk(wx, 1), blk(ba, 1)),
        "in": dense(blk(wx, 2), blk(ba, 2)),
        "hz": dense(-blk(wa, 0)),
        "hr": dense(blk(wa, 1)),
        "hn": dense(blk(wa, 2), params["b_cc"])
    }
  else:
    if "w_pc" in params:
      raise ValueError("Flax LSTM cells have no peepholes: convert params of lstm(peephole=False).")
    out = {}
    for i, g in enumerate("ifgo"):
      out["i" + g] = dense(blk(wx, i))
      out["h" + g] = dense(blk(wa, i), blk(ba, i))
  return {"params": out}


def _torch_layer_from(sd, kind, suffix):
  w_ih, w_hh = _np(sd["weight_ih" + suffix]), _np(sd["weight_hh" + suffix])
  g = TORCH_KINDS[kind]
  h = w_hh.shape[1]
  zeros = jnp.zeros((g * h,), w_ih.dtype)
  b_ih = _np(sd["bias_ih" + suffix]) if "bias_ih" + suffix in sd else zeros
  b_hh = _np(sd["bias_hh" + suffix]) if "bias_hh" + suffix in sd else zeros
  if kind != "gru":
    return {"w_ax": w_ih, "w_aa": w_hh, "b_a": b_ih + b_hh}
  blk = lambda a, i: a[i * h:(i + 1) * h]  # PyTorch order (r, z, n)
  return {
      "w_ax":
          jnp.concatenate([-blk(w_ih, 1), blk(w_ih, 0), blk(w_ih, 2)]),
      "w_aa":
          jnp.concatenate([-blk(w_hh, 1), blk(w_hh, 0), blk(w_hh, 2)]),
      "b_a":
          jnp.concatenate(
              [-(blk(b_ih, 1) + blk(b_hh, 1)),
               blk(b_ih, 0) + blk(b_hh, 0),
               blk(b_ih, 2)]),
      "b_cc":
          blk(b_hh, 2)
  }


def _torch_shape(state_dict):
  keys = [k for k in state_dict if k.startswith("weight_ih_l")]
  if not keys:
    raise ValueError("state_dict has no 'weight_ih_l0': not an nn.RNN/GRU/LSTM state dict.")
  if any(k.startswith("weight_hr") for k in state_dict):
    raise ValueError("LSTMs with proj_size are not supported.")
  layers = 1 + max(int(k[len("weight_ih_l"):].split("_")[0]) for k in keys)
  return layers, any(k.endswith("_reverse") for k in keys)


def from_torch(state_dict, kind: str):
  """PyTorch ``nn.RNN``/``nn.GRU``/``nn.LSTM`` state dict -> params of ``torch_like``.

  ``kind``: ``rnn_tanh``, ``rnn_relu``, ``gru``, ``lstm``. Returns a list with
  one entry per layer: cell params, or ``{"fwd", "bwd"}`` when bidirectional.
  """
  check_choice("kind", kind, TORCH_KINDS)
  layers, bidir = _torch_shape(state_dict)
  out = []
  for l in range(layers):
    fwd = _torch_layer_from(state_dict, kind, f"_l{l}")
    out.append({
        "fwd": fwd,
        "bwd": _torch_layer_from(state_dict, kind, f"_l{l}_reverse")
    } if bidir else fwd)
  return out


def _torch_layer_to(p, kind, suffix):
  h = p["w_aa"].shape[1]
  to = lambda a: np.asarray(a)
  if kind != "gru":
    return {
        "weight_ih" + suffix: to(p["w_ax"]),
        "weight_hh" + suffix: to(p["w_aa"]),
        "bias_ih" + suffix: to(p["b_a"]),
        "bias_hh" + suffix: np.zeros_like(to(p["b_a"]))
    }
  if "b_cc" not in p:
    raise ValueError("PyTorch's GRU is reset-after: convert params of gru(reset='after').")
  blk = lambda a, i: to(a[i * h:(i + 1) * h])
  reorder = lambda a: np.concatenate([blk(a, 1), -blk(a, 0), blk(a, 2)])
  zeros = np.zeros((h,), to(p["b_a"]).dtype)
  return {
      "weight_ih" + suffix: reorder(p["w_ax"]),
      "weight_hh" + suffix: reorder(p["w_aa"]),
      "bias_ih" + suffix: reorder(p["b_a"]),
      "bias_hh" + suffix: np.concatenate([zeros, zeros, to(p["b_cc"])])
  }


def to_torch(params, kind: str):
  """Params of ``torch_like`` (a list per layer) -> a state dict of numpy arrays.

  Load it with ``module.load_state_dict({k: torch.from_numpy(v) ...})``.
  """
  check_choice("kind", kind, TORCH_KINDS)
  if isinstance(params, dict):
    params = [params]
  sd = {}
  for l, p in enumerate(params):
    if "fwd" in p:
      sd.update(_torch_layer_to(p["fwd"], kind, f"_l{l}"))
      sd.update(_torch_layer_to(p["bwd"], kind, f"_l{l}_reverse"))
    else:
      sd.update(_torch_layer_to(p, kind, f"_l{l}"))
  return sd


def torch_like(kind: str, num_layers: int = 1, bidirectional_: bool = False):
  """The stacked layer that computes what the PyTorch module computes.

  Its outputs equal PyTorch's ``output`` (padded steps are 0, as
  ``pad_packed_sequence`` gives), its final carries PyTorch's ``h_n``/``c_n``.
  """
  check_choice("kind", kind, TORCH_KINDS)
  cell = {
      "rnn_tanh": lambda: simple_rnn("tanh"),
      "rnn_relu": lambda: simple_rnn("relu"),
      "gru": lambda: gru(reset="after"),
      "lstm": lambda: lstm(forget_bias=0.0)
  }[kind]()
  layer = bidirectional(cell, cell, "concat") if bidirectional_ else cell
  return stacked([layer] * num_layers)
