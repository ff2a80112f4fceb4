"""Recurrent cells as pure functions of ONE example (no batch axis), and the readout.

One module per family: ``elman`` (simple_rnn, IRNN, exp_rnn), ``gru`` (gru, simplified_gru),
``lstm``, ``minimal`` (min_gru, min_lstm), ``diagonal`` (lru, s5), ``selective`` (rg_lru,
s6), ``xlstm`` (slstm, mlstm); ``base`` holds what they share, ``readout`` the
output layer and ``precision`` the bfloat16 compute policy (``mixed_precision``).
``make_cell(name)`` is the one registry of cell names (the launcher's choices come from
``CELLS``).
"""
from __future__ import annotations

import functools

from rnn_jax.cells.base import mv, project
from rnn_jax.cells.diagonal import lru, s5
from rnn_jax.cells.elman import exp_rnn, simple_rnn
from rnn_jax.cells.gru import gru, simplified_gru
from rnn_jax.cells.lstm import PEEPHOLES, lstm, peephole_form
from rnn_jax.cells.minimal import MIN_CELLS, min_gru, min_lstm
from rnn_jax.cells.precision import mixed_precision
from rnn_jax.cells.readout import READOUTS, Readout, dense, readout_init, readout_logits
from rnn_jax.cells.selective import rg_lru, s6
from rnn_jax.cells.xlstm import mlstm, slstm
from rnn_jax.types import Cell, check_choice

CELLS = {
    "simple_rnn":
        simple_rnn,
    "rnn":
        simple_rnn,
    "irnn":
        functools.partial(simple_rnn, activation="relu", recurrent_init="identity", input_std=1e-3),
    "gru":
        gru,
    "simplified_gru":
        simplified_gru,
    "lstm":
        lstm,
    "exp_rnn":
        exp_rnn,
    "min_gru":
        min_gru,
    "min_lstm":
        min_lstm,
    "lru":
        lru,
    "s5":
        s5,
    "rg_lru":
        rg_lru,
    "s6":
        s6,
    "slstm":
        slstm,
    "mlstm":
        mlstm,
}
LINEAR_CELLS = ("lru", "s5", "rg_lru", "s6")  # s⟨t⟩ = a⟨t⟩ ⊙ s⟨t−1⟩ + b⟨t⟩: Cell.linear


def make_cell(name: str, **options) -> Cell:
  """Builds a cell by name: one of ``sorted(CELLS)``."""
  check_choice("cell", name, CELLS)
  return CELLS[name](**options)


def hidden_of(carry):
  """a⟨t⟩ of a carry: the carry itself, or the last element of a tuple (LSTM)."""
  return carry[-1] if isinstance(carry, tuple) else carry


__all__ = [
    "CELLS", "LINEAR_CELLS", "MIN_CELLS", "PEEPHOLES", "READOUTS", "Readout", "dense", "exp_rnn",
    "gru", "hidden_of", "lru", "lstm", "make_cell", "min_gru", "min_lstm", "mixed_precision",
    "mlstm", "mv", "peephole_form", "project", "readout_init", "readout_logits", "rg_lru", "s5",
    "s6", "simple_rnn", "simplified_gru", "slstm"
]
