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


_FLAX_MODULES = {
    "SimpleCell": (("i", True), ("h", False)),
    "GRUCell": (("ir", True), ("iz", True), ("in", True), ("hr", False), ("hz", False),
                ("hn", True)),
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


_KEYS = {
    1: {"w_ax", "w_aa", "b_a"},  # simple_rnn
    3: {"w_ax", "w_aa", "b_a", "b_cc"},  # gru(reset="after"): what Flax and PyTorch compute
    4: {"w_ax", "w_aa", "b_a"},  # lstm without peepholes
}


def _check_params(params, gates: int, target: str):
  """Our params must be of the cell that ``target`` computes: exactly its keys, and
  w_ax [G·H, D], w_aa [G·H, H], b_a [G·H] with G = ``gates``."""
  if not isinstance(params, dict) or "w_aa" not in params:
    raise ValueError(f"params for {target} must be a dict of cell params with 'w_aa', "
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


def to_flax(params, cell_type: str):
  """Our cell params -> ``{"params": ...}`` for the Flax linen cell ``cell_type``."""
  check_choice("cell_type", cell_type, FLAX_CELLS)
  gates = {"SimpleCell": 1, "GRUCell": 3}.get(cell_type, 4)
  h = _check_params(params, gates, f"Flax {cell_type}")
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
  out, d = [], None
  for l in range(layers):
    fwd = _torch_layer_from(state_dict, kind, f"_l{l}", d)
    h = fwd["w_aa"].shape[1]
    bwd = None
    if bidir:
      bwd = _torch_layer_from(state_dict, kind, f"_l{l}_reverse", fwd["w_ax"].shape[1])
      if bwd["w_aa"].shape[1] != h:
        raise ValueError(f"state_dict: layer {l}'s two directions have different H "
                         f"({h} and {bwd['w_aa'].shape[1]}).")
    h0 = h if l == 0 else h0
    if h != h0:
      raise ValueError(f"state_dict: layer {l} has H={h} but layer 0 has H={h0}; "
                       f"nn.RNN/GRU/LSTM layers share one hidden_size.")
    out.append({"fwd": fwd, "bwd": bwd} if bidir else fwd)
    d = 2 * h if bidir else h
  return out


def _torch_layer_to(p, kind, suffix):
  h = _check_params(p, TORCH_KINDS[kind], f"PyTorch kind {kind!r} (layer {suffix[2:]})")
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
