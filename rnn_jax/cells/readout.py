"""The readout ŷ⟨t⟩ = g_y(w_ya a⟨t⟩ + b_y)."""
from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp

from rnn_jax.cells.base import glorot_uniform
from rnn_jax.types import Array, PyTree, check_choice, check_positive_int

READOUTS = ("identity", "sigmoid", "softmax")


class Readout(NamedTuple):
  """``init(key, hidden_size, output_size, dtype=float32) -> {"w_ya": [V, H], "b_y": [V]}``;
  ``apply(params, a) -> ŷ`` for any leading axes of ``a``; ``output`` names g_y."""

  init: callable
  apply: callable
  output: str


def readout_init(key, hidden_size, output_size, dtype=jnp.float32) -> PyTree:
  """``{"w_ya": [V, H] Glorot-uniform, "b_y": [V] zeros}``."""
  h = check_positive_int("hidden_size", hidden_size)
  v = check_positive_int("output_size", output_size)
  return {"w_ya": glorot_uniform(key, (v, h), dtype), "b_y": jnp.zeros((v,), dtype)}


def readout_logits(params, a) -> Array:
  """z_y = w_ya a⟨t⟩ + b_y for ``a`` of shape ``[..., H]`` -> ``[..., V]``."""
  z = jnp.einsum("...h,vh->...v", a, params["w_ya"])
  return z + params["b_y"].reshape((1,) * (z.ndim - 1) + (-1,))


def dense(output: str = "identity") -> Readout:
  """Readout ŷ⟨t⟩ = g_y(w_ya a⟨t⟩ + b_y), g_y ∈ {identity, sigmoid, softmax}.

  Losses take the logits (``readout_logits``) for stability.
  """
  check_choice("output", output, READOUTS)
  g_y = {
      "identity": lambda z: z,
      "sigmoid": jax.nn.sigmoid,
      "softmax": functools.partial(jax.nn.softmax, axis=-1)
  }[output]

  def apply(params, a):
    return g_y(readout_logits(params, a))

  return Readout(readout_init, apply, output)
