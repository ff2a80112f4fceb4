"""Weights to and from PyTorch ``nn.RNN``/``nn.GRU``/``nn.LSTM`` state dicts.

PyTorch keeps two biases per gate; we keep their sum (and, for the GRU candidate, the
recurrent one separately as ``b_cc``). ``to_torch`` puts the sum in ``bias_ih`` and zeros
(or ``b_cc``) in ``bias_hh``: the same function. PyTorch is never imported here: state dicts
may hold tensors or arrays.
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from rnn_jax.cells import gru, lstm, simple_rnn
from rnn_jax.interop.common import as_array as _np, check_params
from rnn_jax.layers import bidirectional, stacked
from rnn_jax.types import check_choice

TORCH_KINDS = {"rnn_tanh": 1, "rnn_relu": 1, "gru": 3, "lstm": 4}


def _torch_key(sd, key, kind):
  if key not in sd:
    raise ValueError(f"state_dict for kind {kind!r} needs {key!r}; found {sorted(sd)}.")
  return _np(sd[key])


def _torch_layer_from(sd, kind, suffix, input_size=None):
  """One direction of one layer; shapes checked against ``kind`` (G gate blocks of H rows)."""
  w_ih = _torch_key(sd, "weight_ih" + suffix, kind)
  w_hh = _torch_key(sd, "weight_hh" + suffix, kind)
  g = TORCH_KINDS[kind]
  h = w_hh.shape[-1] if w_hh.ndim == 2 else -1
  d = w_ih.shape[-1] if w_ih.ndim == 2 else -1
  if w_hh.shape != (g * h, h) or w_ih.shape != (g * h, d):
    raise ValueError(
        f"state_dict for kind {kind!r} ({g} gate block(s) of H rows): weight_hh{suffix} must be "
        f"[{g}·H, H] and weight_ih{suffix} [{g}·H, D]; found {list(w_hh.shape)} and "
        f"{list(w_ih.shape)}. Is the module of another kind?")
  if input_size is not None and d != input_size:
    raise ValueError(f"state_dict: weight_ih{suffix} reads {d} features but the layer below "
                     f"gives {input_size}.")
  has = ["bias_ih" + suffix in sd, "bias_hh" + suffix in sd]
  if has[0] != has[1]:
    missing = "bias_hh" if has[0] else "bias_ih"
    raise ValueError(f"state_dict for kind {kind!r} has one bias of layer {suffix[1:]} but not "
                     f"{missing + suffix!r}: a module has both biases (bias=True) or neither "
                     f"(bias=False).")
  zeros = jnp.zeros((g * h,), w_ih.dtype)  # bias=False: both absent, zero biases
  b_ih = _torch_key(sd, "bias_ih" + suffix, kind) if has[0] else zeros
  b_hh = _torch_key(sd, "bias_hh" + suffix, kind) if has[1] else zeros
  for name, b in (("bias_ih", b_ih), ("bias_hh", b_hh)):
    if b.shape != (g * h,):
      raise ValueError(f"state_dict for kind {kind!r}: {name}{suffix} must be [{g * h}], "
                       f"found {list(b.shape)}.")
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


_TORCH_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def _torch_shape(state_dict):
  """(layers, bidirectional) from every key; refuses keys nn.RNN/GRU/LSTM never have."""
  if not any(k.startswith("weight_ih_l") for k in state_dict):
    raise ValueError("state_dict has no 'weight_ih_l0': not an nn.RNN/GRU/LSTM state dict.")
  if any(k.startswith("weight_hr") for k in state_dict):
    raise ValueError("LSTMs with proj_size are not supported.")
  layers, bidir = set(), False
  for key in state_dict:
    name, _, rest = key.partition("_l")
    index, _, tail = rest.partition("_")
    if name not in _TORCH_NAMES or not index.isdigit() or tail not in ("", "reverse"):
      raise ValueError(f"state_dict key {key!r} is not one of an nn.RNN/GRU/LSTM "
                       f"(expected {{weight,bias}}_{{ih,hh}}_l<k>[_reverse]).")
    layers.add(int(index))
    bidir = bidir or tail == "reverse"
  return 1 + max(layers), bidir


def from_torch(state_dict, kind: str):
  """PyTorch ``nn.RNN``/``nn.GRU``/``nn.LSTM`` state dict -> params of ``torch_like``.

  ``kind``: ``rnn_tanh``, ``rnn_relu``, ``gru``, ``lstm``. Returns a list with
  one entry per layer: cell params, or ``{"fwd", "bwd"}`` when bidirectional.

  Refused with a ValueError naming the key and the shape expected and found: a
  dict of another kind (weights without G·H rows), a layer or direction with a
  missing weight (every layer 0..L−1 needs both weights, in both directions when
  any ``_reverse`` key exists), one bias without the other (``bias=False``
  modules have neither: their biases are zeros), and keys no such module has.
  """
  check_choice("kind", kind, TORCH_KINDS)
  layers, bidir = _torch_shape(state_dict)
  out, d, h0 = [], None, None
  for l in range(layers):
    fwd = _torch_layer_from(state_dict, kind, f"_l{l}", d)
    h = fwd["w_aa"].shape[1]
    bwd = None
    if bidir:
      bwd = _torch_layer_from(state_dict, kind, f"_l{l}_reverse", fwd["w_ax"].shape[1])
      if bwd["w_aa"].shape[1] != h:
        raise ValueError(f"state_dict: layer {l}'s two directions have different H "
                         f"({h} and {bwd['w_aa'].shape[1]}).")
    h0 = h if h0 is None else h0
    if h != h0:
      raise ValueError(f"state_dict: layer {l} has H={h} but layer 0 has H={h0}; "
                       f"nn.RNN/GRU/LSTM layers share one hidden_size.")
    out.append({"fwd": fwd, "bwd": bwd} if bidir else fwd)
    d = 2 * h if bidir else h
  return out


def _torch_layer_to(p, kind, suffix):
  h = check_params(p, TORCH_KINDS[kind], f"PyTorch kind {kind!r} (layer {suffix[2:]})")
  to = lambda a: np.asarray(a)
  if kind != "gru":
    return {
        "weight_ih" + suffix: to(p["w_ax"]),
        "weight_hh" + suffix: to(p["w_aa"]),
        "bias_ih" + suffix: to(p["b_a"]),
        "bias_hh" + suffix: np.zeros_like(to(p["b_a"]))
    }
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
    if isinstance(p, dict) and ("fwd" in p or "bwd" in p):
      if set(p) != {"fwd", "bwd"}:
        raise ValueError(f"params[{l}] of a bidirectional layer must have keys ['bwd', 'fwd'], "
                         f"found {sorted(p)}.")
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
