"""Shared types, the shape legend, and boundary validation.

Shape legend (used in every docstring of the package):

  B  batch size                      T  time steps (T_x for inputs, T_y for outputs)
  D  input features of x⟨t⟩          H  hidden units of a⟨t⟩ / c⟨t⟩
  G  fused gate rows (G = k·H)       V  vocabulary / output size of ŷ⟨t⟩

Arrays are batch-major: ``xs`` is ``[B, T, D]``, ``lengths`` is ``[B]`` ints.
Cells see ONE example: ``x⟨t⟩`` is ``[D]``, ``a⟨t⟩`` is ``[H]``.
"""
from __future__ import annotations

import enum
from typing import Any, Callable, NamedTuple, Protocol, runtime_checkable

import jax
import jax.numpy as jnp
import numpy as np

PyTree = Any
Array = jax.Array
Carry = Any  # one array (a⟨t⟩ or c⟨t⟩) or a tuple of arrays ((c⟨t⟩, a⟨t⟩) for the LSTM)


# ---------------------------------------------------------------- cell signatures
class Init(Protocol):

  def __call__(self, key: Array, input_size: int, hidden_size: int, dtype=...) -> PyTree:
    ...


class InitialCarry(Protocol):

  def __call__(self, hidden_size: int, dtype=...) -> Carry:
    ...


class Step(Protocol):

  def __call__(self, params: PyTree, carry: Carry, x: Array) -> tuple[Carry, Array]:
    ...


class Project(Protocol):

  def __call__(self, params: PyTree, x: Array) -> Array:
    ...


class Recur(Protocol):

  def __call__(self, params: PyTree, carry: Carry, xp: Array) -> tuple[Carry, Array]:
    ...


class Gates(Protocol):

  def __call__(self, params: PyTree, carry: Carry, xp: Array) -> tuple[Carry, Array, Any]:
    ...


class LinearForm(NamedTuple):
  """A cell whose state s⟨t⟩ = a⟨t⟩ ⊙ s⟨t−1⟩ + b⟨t⟩ is linear in s⟨t−1⟩ (elementwise, real or
  complex), with a⟨t⟩ and b⟨t⟩ computed from x⟨t⟩ alone. For one example or a batch of rows:

  - ``coefficients(params, xp) -> (a, b)``: shaped like the state (complex for LRU and S5);
  - ``state_of(carry) -> s``: the state inside a carry;
  - ``emit(params, s, xp) -> (carry, y)``: the carry holding ``s`` and the output y⟨t⟩.
  """
  coefficients: Callable
  state_of: Callable
  emit: Callable


class Cell(NamedTuple):
  """A recurrent cell: pure functions for one example (no batch axis).

  Attributes:
    init: ``(key, input_size, hidden_size, dtype=float32) -> params``.
    initial_carry: ``(hidden_size, dtype=float32) -> carry`` (zeros, a⟨0⟩ = 0).
    step: ``(params, carry, x) -> (carry, y)``; x is ``[D]``, y is ``a⟨t⟩`` ``[H]``.
    project: ``(params, x) -> xp``: the part of the step that depends on x⟨t⟩
      only (w_ax x⟨t⟩ + b). ``unroll`` hoists it out of the time loop as one
      large matrix product over all B·T rows when that is faster.
    recur: ``(params, carry, xp) -> (carry, y)``: the rest of the step, so
      ``step(p, c, x) == recur(p, c, project(p, x))``.
    kind: name of the cell family (``simple_rnn``, ``gru``, ...); keys the
      closed-form backward in ``rnn_jax.bptt``.
    options: hashable tuple of the cell's static options.
    hidden_size: ``params -> H``; None: ``w_aa.shape[1]``.
    prepare: ``params -> params`` that project/recur read, applied once per unroll (not
      per step), e.g. a parametrised w_aa = expm(A − Aᵀ). ``step`` applies it itself.
    gates: ``(params, carry, xp) -> (carry, y, residuals)``: the gate code, written once
      for one example or a batch of rows; ``recur`` is its first two outputs and the
      closed-form rules read the residuals (each cell documents them).
    linear: a :class:`LinearForm` for the diagonal linear recurrences (LRU, S5, RG-LRU,
      S6), which ``rnn_jax.linear_unroll`` runs as one associative scan; None otherwise.
  """

  init: Init
  initial_carry: InitialCarry
  step: Step
  project: Project
  recur: Recur
  kind: str
  options: tuple = ()
  hidden_size: Callable[[PyTree], int] | None = None
  prepare: Callable[[PyTree], PyTree] | None = None
  gates: Gates | None = None
  linear: Any = None

  def option(self, name: str, default=None):
    return dict(self.options).get(name, default)

  def hidden_of_params(self, params) -> int:
    """H of this cell's params."""
    return self.hidden_size(params) if self.hidden_size else params["w_aa"].shape[1]


# --------------------------------------------------------------- layer signatures
class LayerApply(Protocol):

  def __call__(self,
               params: PyTree,
               xs: Array,
               carry: PyTree = None,
               *,
               lengths: Array | None = None,
               key: Array | None = None,
               **unroll_options) -> tuple[PyTree, Array]:
    ...


class LayerCarry(Protocol):

  def __call__(self, params: PyTree, batch: int, dtype=...) -> PyTree:
    ...


class LayerStep(Protocol):

  def __call__(self, params: PyTree, carry: PyTree, x: Array) -> tuple[PyTree, Array]:
    ...


# ----------------------------------------------------------------- decoding
class DecoderStep(Protocol):

  def __call__(self, params: PyTree, state: PyTree, tokens: Array) -> tuple[PyTree, Array]:
    ...


@runtime_checkable
class Decoder(Protocol):
  """What ``rnn_jax.decoding`` needs of a model: ``step_fn(params, state, tokens [B]) ->
  (state, logits [B, V])``, the state being the model's own (a list of carries, or a
  NamedTuple such as ``AttentionState``). Every token-producing model implements it
  (language_model, one_to_many, seq2seq, attention_model)."""
  step_fn: DecoderStep


# ------------------------------------------------------------- strategy choices
class Backward(str, enum.Enum):
  """How ``unroll`` differentiates: autodiff through the scan, the closed-form rules, or
  ``auto`` (the closed form where it applies, autodiff elsewhere: ``unrolling.choose_backward``)."""
  AUTO = "auto"
  AUTODIFF = "autodiff"
  CLOSED_FORM = "closed_form"


def strategy(enum_cls, name: str, value):
  """``value`` (a member or its string) as a member of ``enum_cls``; ValueError naming the
  argument and the choices otherwise."""
  try:
    return enum_cls(value)
  except ValueError:
    raise ValueError(f"{name} must be one of {sorted(m.value for m in enum_cls)!r}, "
                     f"got {value!r}.") from None


def check_choice(name: str, value, choices) -> None:
  if value not in choices:
    raise ValueError(f"{name} must be one of {sorted(choices)!r}, got {value!r}.")


def check_positive_int(name: str, value) -> int:
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
    raise ValueError(f"{name} must be a positive int, got {value!r}.")
  return int(value)


def check_rank(name: str, x, rank: int, layout: str) -> None:
  nd = np.ndim(x)
  if nd != rank:
    raise ValueError(f"{name} must have rank {rank} ({layout}), got shape {tuple(np.shape(x))}.")


def check_lengths(lengths, batch: int, time: int):
  """Validates ``lengths`` ([B] ints in [0, T]) and returns it as int32 array.

  The range check runs when ``lengths`` is concrete (outside jit); under jit
  the shape and dtype are still checked.
  """
  if lengths is None:
    return None
  if isinstance(lengths, (list, tuple)):
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in lengths):
      raise ValueError(f"lengths must be ints (one per sequence), got {list(lengths)!r}.")
    lengths = np.asarray(lengths, np.int32).reshape(len(lengths))
  shape = tuple(np.shape(lengths))
  if shape != (batch,):
    raise ValueError(f"lengths must have shape [B]=({batch},), got {shape}.")
  dtype = jnp.result_type(lengths)
  if not jnp.issubdtype(dtype, jnp.integer):
    raise ValueError(f"lengths must be integers, got dtype {dtype}.")
  if not isinstance(lengths, jax.core.Tracer):
    arr = np.asarray(lengths)
    if arr.size and (arr.min() < 0 or arr.max() > time):
      raise ValueError(
          f"lengths must lie in [0, T={time}], got min {arr.min()} and max {arr.max()}.")
  return jnp.asarray(lengths, jnp.int32)


def check_finite(name: str, x, lengths=None) -> None:
  """Raises if a concrete ``x`` holds NaN or inf at a valid step (no-op under jit).

  With ``lengths`` (``x`` batch-major ``[B, T, ...]``), steps after each length are
  padding and may hold anything.
  """
  if isinstance(x, jax.core.Tracer) or isinstance(lengths, jax.core.Tracer):
    return
  arr = np.asarray(x)
  if not jnp.issubdtype(arr.dtype, jnp.floating):
    return
  bad = ~np.isfinite(arr)
  if lengths is not None:
    valid = np.arange(arr.shape[1])[None, :] < np.asarray(lengths)[:, None]
    bad = bad & valid.reshape(valid.shape + (1,) * (arr.ndim - 2))
  if bad.any():
    idx = tuple(int(i) for i in np.argwhere(bad)[0])
    raise ValueError(f"{name} contains non-finite values (NaN or inf) at valid positions, "
                     f"first at index {idx}.")


class Model(NamedTuple):
  """A model as a pair of pure functions.

  ``init(key) -> params``; ``apply(params, *inputs, lengths=None, key=None) ->
  outputs``. A ``key`` turns dropout on; without one the model is deterministic.
  """

  init: Callable[..., PyTree]
  apply: Callable[..., Any]
