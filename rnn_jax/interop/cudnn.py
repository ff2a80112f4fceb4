"""LSTM weights to and from cuDNN's flat vector, as ``jax.experimental.rnn.lstm`` takes it.

A stack of L layers, each one direction or two (``torch_like("lstm", L, bidirectional)``'s
params: a list per layer of cell params or ``{"fwd", "bwd"}``), is L·(1 or 2) pseudo-layers in
cuDNN's order: layer 0 forward, layer 0 reverse, layer 1 forward, ... The flat vector is every
pseudo-layer's W_ih [4H, D_l] and W_hh [4H, H] (row-major), then every pseudo-layer's b_ih and
b_hh [4H] (``rnn_jax.kernels.cudnn.pack``). Gate order (i, f, g, o) is ours (Γu, Γf, c̃, Γo).
cuDNN adds two biases; we keep their sum: ``to_cudnn`` writes it as b_ih with b_hh = 0, and
``from_cudnn`` adds them, so ``from_cudnn(to_cudnn(p), ...) == p`` exactly and
``to_cudnn(from_cudnn(w, ...))`` is ``w`` with its biases moved into b_ih (the same function).
Peephole LSTMs and other cells have no cuDNN form and are refused (``to_torch``'s checks).

``cudnn_apply`` runs such a whole stack (every layer, both directions) as ONE call of
``jax.experimental.rnn.lstm`` with ``num_layers = L``, computing what the stacked layer's
``apply`` computes, padding semantics included (``unroll(backend="cudnn")`` runs one layer and
direction per call instead).
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from jax.experimental import rnn as jax_rnn

from rnn_jax.interop.torch import from_torch, to_torch
from rnn_jax.kernels import pack, padded_lstm


def cudnn_shape(params) -> dict:
  """``{input_size, hidden_size, num_layers, bidirectional}`` of ``torch_like("lstm")`` params,
  the static arguments ``jax.experimental.rnn.lstm`` asks for."""
  layers = _layers(params)
  first = layers[0]["fwd"] if "fwd" in layers[0] else layers[0]
  return {
      "input_size": int(first["w_ax"].shape[1]),
      "hidden_size": int(first["w_aa"].shape[1]),
      "num_layers": len(layers),
      "bidirectional": "fwd" in layers[0]
  }


def _layers(params) -> list:
  return [params] if isinstance(params, dict) and "w_aa" in params else list(params)


def _pseudo_layers(params) -> list:
  """Each direction's cell params, in cuDNN's order (layer 0 forward, layer 0 reverse, ...)."""
  return [
      d for layer in _layers(params)
      for d in ((layer["fwd"], layer["bwd"]) if "fwd" in layer else (layer,))
  ]


def _flat(params) -> jnp.ndarray:
  """The flat vector, traceable (``jax.grad`` reaches the params through it)."""
  return pack([
      (p["w_ax"], p["w_aa"], p["b_a"], jnp.zeros_like(p["b_a"])) for p in _pseudo_layers(params)
  ])


def to_cudnn(params) -> jnp.ndarray:
  """Params of ``torch_like("lstm", ...)`` (or one ``lstm()`` cell's) -> cuDNN's flat float32
  weights ``[jax.experimental.rnn.get_num_params_in_lstm(...)]``."""
  to_torch(params, "lstm")  # the checks: an LSTM's keys and shapes, no peepholes
  return _flat(params).astype(jnp.float32)


def cudnn_apply(params, xs, carry=None, *, lengths=None, lstm=None):
  """``torch_like("lstm", L, bidirectional).apply(params, xs, carry, lengths=lengths)`` as one
  call of ``lstm`` (default ``jax.experimental.rnn.lstm``: cuDNN, an NVIDIA GPU only;
  ``rnn_jax.kernels.lstm_reference`` runs anywhere). Returns ``(final carries, ys [B, T,
  dirs·H])`` in the stacked layer's form: a list per layer of ``(c, a)``, or of ``((c, a)
  forward, (c, a) backward)``. A length-0 sequence keeps its initial carries and gets zeros."""
  shape = cudnn_shape(params)
  layers, bidirectional = shape["num_layers"], shape["bidirectional"]
  hidden, dirs = shape["hidden_size"], 2 if shape["bidirectional"] else 1
  batch, _, features = xs.shape
  if features != shape["input_size"]:
    raise ValueError(f"xs has D={features} features but the first layer reads "
                     f"{shape['input_size']}.")
  if carry is None:
    zeros = jnp.zeros((batch, hidden), xs.dtype)
    carry = [((zeros, zeros), (zeros, zeros)) if bidirectional else (zeros, zeros)] * layers
  pseudo = [d for layer in carry for d in (layer if bidirectional else (layer,))]
  c_0 = jnp.stack([c for c, _ in pseudo])
  h_0 = jnp.stack([a for _, a in pseudo])
  ys, c_n, h_n = padded_lstm(xs, c_0, h_0, _flat(params), lengths, layers, bidirectional, lstm)
  finals = [(c_n[i], h_n[i]) for i in range(layers * dirs)]
  if bidirectional:
    finals = [(finals[2 * l], finals[2 * l + 1]) for l in range(layers)]
  return finals, ys


def from_cudnn(weights,
               input_size: int,
               hidden_size: int,
               num_layers: int = 1,
               bidirectional: bool = False):
  """cuDNN's flat LSTM weights -> params of ``torch_like("lstm", num_layers, bidirectional)``
  (a list per layer). Refuses a vector of the wrong length, naming the length expected."""
  weights = jnp.asarray(weights)
  want = jax_rnn.get_num_params_in_lstm(input_size, hidden_size, num_layers, bidirectional)
  if weights.ndim != 1 or weights.shape[0] != want:
    raise ValueError(f"weights must be a flat vector of {want} values for an LSTM with "
                     f"input_size={input_size}, hidden_size={hidden_size}, num_layers="
                     f"{num_layers}, bidirectional={bidirectional}; got shape "
                     f"{list(weights.shape)}.")
  w_ih, w_hh, b_ih, b_hh = jax_rnn.unpack_lstm_weights(weights, input_size, hidden_size, num_layers,
                                                       bidirectional)
  sd = {}
  directions = ("", "_reverse") if bidirectional else ("",)
  for l in range(num_layers):
    for d, tail in enumerate(directions):
      i = l * len(directions) + d
      for name, part in (("weight_ih", w_ih), ("weight_hh", w_hh), ("bias_ih", b_ih), ("bias_hh",
                                                                                       b_hh)):
        sd[f"{name}_l{l}{tail}"] = np.asarray(part[i])
  return from_torch(sd, "lstm")
