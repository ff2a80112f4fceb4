"""Combinators that build sequence layers from cells, like ``optax.chain``.

A :class:`Layer` maps a whole batch of sequences ``xs [B, T, D]`` to
``(final_carry, ys [B, T, F])`` (``apply``, for training: every layer runs its
cells through ``rnn_jax.unrolling.unroll``, so lengths, reverse, truncation and
the backward choice mean the same everywhere), and, when it is causal, advances
one step ``x⟨t⟩ [B, D] -> y⟨t⟩ [B, F]`` (``step``, for decoding). ``stacked`` is
the one deep-RNN abstraction: the models' decoders are stacked layers too.

  recurrent(cell)                 one direction
  bidirectional(fwd, bwd, merge)  →a⟨t⟩ over x⟨1..T⟩, ←a⟨t⟩ over x⟨T..1⟩ (within lengths), merged
  stacked([l1, l2, ...])          deep RNN: layer l's outputs are layer l+1's inputs,
                                  optional residual connections and variational dropout
  convolution(kernel_size)        a local (non-recurrent) front end: y⟨t⟩ = relu of a
                                  'same' 1-D convolution of x⟨t−⌊K/2⌋..⟩ within lengths
                                  (optionally instance-normalized per sequence)

``pool_time(ys, lengths, size)`` shortens a layer's output between layers (max over blocks of
``size`` valid steps, lengths divided accordingly), e.g. convolutions at full resolution, then
a recurrence over ``size`` times fewer steps.
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp

from rnn_jax.recurrence import broadcast_carry
from rnn_jax.types import (Cell, Init, LayerApply, LayerCarry, LayerStep, check_choice,
                           check_positive_int)
from rnn_jax.unrolling import unroll

MERGES = {
    "concat": lambda f, b: jnp.concatenate([f, b], axis=-1),
    "sum": lambda f, b: f + b,
    "mean": lambda f, b: 0.5 * (f + b),
    "mul": lambda f, b: f * b,
}


class Layer(NamedTuple):
  """``init(key, input_size, hidden_size, dtype) -> params``;
  ``apply(params, xs, carry=None, *, lengths=None, key=None, **unroll_options)
  -> (final_carry, ys)``; ``output_size(hidden_size) -> F``;
  ``initial_carry(params, batch, dtype) -> carry`` (zeros, batch-major);
  ``step(params, carry, x [B, D]) -> (carry, y [B, F])``: one time step, for decoding
  (raises for a layer that needs the whole sequence, such as a bidirectional one)."""

  init: Init
  apply: LayerApply
  output_size: Callable[[int], int]
  initial_carry: LayerCarry
  step: LayerStep


def recurrent(cell: Cell, reverse: bool = False) -> Layer:
  """One cell over time (``reverse`` within lengths)."""

  def apply(params, xs, carry=None, *, lengths=None, key=None, **options):
    del key
    return unroll(cell, params, xs, carry, lengths=lengths, reverse=reverse, **options)

  def initial_carry(params, batch, dtype=jnp.float32):
    return broadcast_carry(cell, params, batch, dtype)

  def step(params, carry, x):
    if reverse:
      raise ValueError("a reversed layer reads the sequence from its end: it has no step.")
    return jax.vmap(cell.step, (None, 0, 0))(params, carry, x)

  return Layer(cell.init, apply, lambda h: h, initial_carry, step)


def bidirectional(fwd_cell: Cell, bwd_cell: Cell | None = None, merge: str = "concat") -> Layer:
  """Bidirectional RNN with separate params ``{"fwd": ..., "bwd": ...}``.

  ŷ⟨t⟩ reads merge(→a⟨t⟩, ←a⟨t⟩); ←a runs from each sequence's own last valid
  step back to t = 1, so padding never reaches it. Carry: ``(fwd, bwd)``.
  """
  check_choice("merge", merge, MERGES)
  bwd_cell = fwd_cell if bwd_cell is None else bwd_cell

  def init(key, input_size, hidden_size, dtype=jnp.float32):
    kf, kb = jax.random.split(key)
    return {
        "fwd": fwd_cell.init(kf, input_size, hidden_size, dtype),
        "bwd": bwd_cell.init(kb, input_size, hidden_size, dtype)
    }

  def apply(params, xs, carry=None, *, lengths=None, key=None, **options):
    del key
    cf, cb = (None, None) if carry is None else carry
    ff, yf = unroll(fwd_cell, params["fwd"], xs, cf, lengths=lengths, **options)
    fb, yb = unroll(bwd_cell, params["bwd"], xs, cb, lengths=lengths, reverse=True, **options)
    return (ff, fb), MERGES[merge](yf, yb)

  def initial_carry(params, batch, dtype=jnp.float32):
    return (broadcast_carry(fwd_cell, params["fwd"], batch,
                            dtype), broadcast_carry(bwd_cell, params["bwd"], batch, dtype))

  def step(params, carry, x):
    raise ValueError("a bidirectional layer reads the whole sequence (←a⟨t⟩ needs x⟨t..T⟩): "
                     "it cannot decode step by step.")

  return Layer(init, apply, (lambda h: 2 * h) if merge == "concat" else (lambda h: h),
               initial_carry, step)


def convolution(kernel_size: int, activation: str = "relu", normalize: bool = False) -> Layer:
  """A 1-D convolution over time as a layer (no recurrence), e.g. a front end for a RNN.

  y⟨t⟩ = g(Σ_{j<K} W_j x⟨t + j − ⌊(K−1)/2⌋⟩ + b) with g = relu (or ``"identity"``):
  'same' padding, and steps at or past a sequence's length read as zeros, so padding never
  reaches a valid output (outputs at padded steps are zero). ``hidden_size`` is the number
  of output features F. Params ``{"w": [K, D, F], "b": [F]}`` (He-normal w, zero b).
  Carry: ``None``. Not causal: it has no ``step``.

  ``normalize=True``: instance normalization, y⟨t⟩ = g(n⟨t⟩ + b) where n⟨t⟩ is the product
  Σ_j W_j x⟨·⟩ of each sequence standardized per feature over that sequence's own valid steps
  (mean 0, variance 1 with ε = 1e-5; population variance). Nothing is carried between
  examples (unlike batch normalization: no running statistics, the same in training and
  evaluation); b becomes the threshold of g on the standardized value. A sequence of length 0
  gives zeros.
  """
  k = check_positive_int("kernel_size", kernel_size)
  check_choice("activation", activation, ("relu", "identity"))
  if not isinstance(normalize, bool):
    raise ValueError(f"normalize must be True or False, got {normalize!r}.")
  g = jax.nn.relu if activation == "relu" else (lambda z: z)

  def init(key, input_size, hidden_size, dtype=jnp.float32):
    d = check_positive_int("input_size", input_size)
    f = check_positive_int("hidden_size", hidden_size)
    w = jax.random.normal(key, (k, d, f), dtype) * jnp.sqrt(2.0 / (k * d)).astype(dtype)
    return {"w": w, "b": jnp.zeros((f,), dtype)}

  def apply(params, xs, carry=None, *, lengths=None, key=None, **options):
    del carry, key, options
    if xs.ndim != 3:
      raise ValueError(f"xs must have shape [B, T, D], got {xs.shape}.")
    valid = None
    if lengths is not None:
      valid = (jnp.arange(xs.shape[1])[None, :] < jnp.asarray(lengths)[:, None])[:, :, None]
      xs = jnp.where(valid, xs, jnp.zeros((), xs.dtype))
    left = (k - 1) // 2
    padded = jnp.pad(xs, ((0, 0), (left, k - 1 - left), (0, 0)))
    time = xs.shape[1]
    # im2col: window [B, T, K·D] of x⟨t−left .. t−left+K−1⟩, then one matrix product (a plain
    # dot under vmap too, where XLA's CPU grouped convolution is slow).
    windows = jnp.concatenate([padded[:, j:j + time] for j in range(k)], axis=-1)
    w = params["w"].astype(xs.dtype)
    ys = windows @ w.reshape(-1, w.shape[-1])
    if normalize:
      ys = _instance_standardize(ys, valid)
    ys = g(ys + params["b"].astype(xs.dtype)[None, None, :])
    if valid is not None:
      ys = jnp.where(valid, ys, jnp.zeros((), ys.dtype))
    return None, ys

  def initial_carry(params, batch, dtype=jnp.float32):
    del params, batch, dtype
    return None

  def step(params, carry, x):
    raise ValueError("a convolution reads neighbouring steps on both sides: it cannot decode "
                     "step by step.")

  return Layer(init, apply, lambda h: h, initial_carry, step)


def _instance_standardize(ys, valid, eps: float = 1e-5):
  """``ys [B, T, F]`` standardized per sequence and feature over the valid steps."""
  mask = jnp.ones(ys.shape[:2] + (1,), ys.dtype) if valid is None else valid.astype(ys.dtype)
  count = jnp.maximum(jnp.sum(mask, axis=1, keepdims=True), 1.0)
  mean = jnp.sum(ys * mask, axis=1, keepdims=True) / count
  var = jnp.sum(((ys - mean) * mask)**2, axis=1, keepdims=True) / count
  return (ys - mean) * jax.lax.rsqrt(var + eps)


def pool_time(ys, lengths, size: int):
  """Max pooling over time within lengths: ``ys [B, T, F] -> [B, ⌈T/size⌉, F]`` and
  ``lengths -> ⌈lengths/size⌉``.

  Output step j is the maximum of ys⟨j·size .. j·size + size − 1⟩ over the steps of that
  block that lie before the sequence's length (a partly valid last block ignores its padding);
  steps at or past the new length are zero. ``lengths`` None: every step is valid.
  """
  size = check_positive_int("size", size)
  if ys.ndim != 3:
    raise ValueError(f"ys must have shape [B, T, F], got {ys.shape}.")
  batch, time, features = ys.shape
  lengths = jnp.full((batch,), time, jnp.int32) if lengths is None else jnp.asarray(lengths)
  if lengths.shape != (batch,):
    raise ValueError(f"lengths must have shape [B] = ({batch},), got {lengths.shape}.")
  blocks = -(-time // size)
  padded = jnp.pad(ys, ((0, 0), (0, blocks * size - time), (0, 0)))
  valid = (jnp.arange(blocks * size)[None, :] < lengths[:, None])[:, :, None]
  low = jnp.array(-jnp.inf, ys.dtype)
  pooled = jnp.where(valid, padded, low).reshape(batch, blocks, size, features).max(axis=2)
  new_lengths = -(-lengths // size)
  kept = (jnp.arange(blocks)[None, :] < new_lengths[:, None])[:, :, None]
  return jnp.where(kept, pooled, jnp.zeros((), ys.dtype)), new_lengths


def variational_dropout(key, xs, rate: float):
  """Drops features of ``xs [B, T, F]`` with ONE mask per sequence, reused at every t."""
  keep = jax.random.bernoulli(key, 1.0 - rate, (xs.shape[0], 1, xs.shape[2]))
  return jnp.where(keep, xs / (1.0 - rate), jnp.zeros((), xs.dtype))


def _as_layer(layer) -> Layer:
  if isinstance(layer, Cell):
    return recurrent(layer)
  if isinstance(layer, Layer):
    return layer
  raise ValueError(f"stacked layers must be Cells or Layers, got {type(layer).__name__}.")


def stacked(layers: Sequence, *, residual: bool = False, dropout_rate: float = 0.0) -> Layer:
  """Deep RNN: ``layers`` (cells or layers) applied one after the other.

  ``hidden_size`` at init is one int or one per layer.

  ``residual=True``: for layers l = 2..L, output_l = layer_l(h_{l−1}) + h_{l−1}.
  Layer 1 never gets a skip connection, even when D equals its output size (its
  input is the raw x⟨t⟩); layers 2..L must keep their input size, else init raises.

  ``dropout_rate``: variational dropout (one mask per sequence and feature,
  reused at every step) on the inputs of layers 2..L only, i.e. between layers.
  Unlike Gal & Ghahramani (2016), layer 1's input x⟨t⟩ and the recurrent
  connections a⟨t−1⟩ → a⟨t⟩ are NOT dropped (drop x⟨t⟩ yourself with
  ``variational_dropout`` before ``apply`` if you want it). Dropout is on only
  when ``apply`` gets a ``key``; no key = evaluation.

  Params and carries are lists, one entry per layer.
  """
  layers = [_as_layer(l) for l in layers]
  if not layers:
    raise ValueError("stacked needs at least one layer.")
  if not 0.0 <= dropout_rate < 1.0:
    raise ValueError(f"dropout_rate must lie in [0, 1), got {dropout_rate!r}.")

  def sizes(hidden_size):
    hs = [hidden_size] * len(layers) if isinstance(hidden_size, int) else list(hidden_size)
    if len(hs) != len(layers):
      raise ValueError(f"hidden_size must be an int or {len(layers)} ints, got {hidden_size!r}.")
    return [check_positive_int("hidden_size", h) for h in hs]

  def init(key, input_size, hidden_size, dtype=jnp.float32):
    keys = jax.random.split(key, len(layers))
    params, d = [], check_positive_int("input_size", input_size)
    for layer, k, h in zip(layers, keys, sizes(hidden_size)):
      params.append(layer.init(k, d, h, dtype))
      out = layer.output_size(h)
      if residual and len(params) > 1 and out != d:
        raise ValueError(f"residual=True needs equal sizes between layers; layer "
                         f"{len(params)} maps {d} features to {out}.")
      d = out
    return params

  def check(params):
    if len(params) != len(layers):
      raise ValueError(f"params must be a list of {len(layers)} layer params, got {len(params)}.")

  def apply(params, xs, carry=None, *, lengths=None, key=None, **options):
    check(params)
    carry = [None] * len(layers) if carry is None else carry
    finals, h = [], xs
    for i, (layer, p, c) in enumerate(zip(layers, params, carry)):
      if i > 0 and key is not None and dropout_rate > 0.0:
        h = variational_dropout(jax.random.fold_in(key, i), h, dropout_rate)
      final, out = layer.apply(p, h, c, lengths=lengths, **options)
      h = out + h if residual and i > 0 else out
      finals.append(final)
    return finals, h

  def initial_carry(params, batch, dtype=jnp.float32):
    check(params)
    return [layer.initial_carry(p, batch, dtype) for layer, p in zip(layers, params)]

  def step(params, carry, x):
    """One step through every layer (no dropout: decoding is evaluation)."""
    check(params)
    new, h = [], x
    for i, (layer, p, c) in enumerate(zip(layers, params, carry)):
      c, out = layer.step(p, c, h)
      h = out + h if residual and i > 0 else out
      new.append(c)
    return new, h

  def output_size(hidden_size):
    return layers[-1].output_size(sizes(hidden_size)[-1])

  return Layer(init, apply, output_size, initial_carry, step)
