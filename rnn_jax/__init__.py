"""rnn_jax: recurrent networks as pure JAX functions.

cells (one example) → unroll (lax.scan over time, vmap over batch) → layers
(bidirectional, stacked) → losses / bptt / diagnostics → optim / training.
Importing the package has no side effects (no flags, no jax.config changes).
"""
from rnn_jax.types import Cell
from rnn_jax.cells import (dense, exp_rnn, gru, hidden_of, lstm, make_cell, readout_logits,
                           simple_rnn, simplified_gru)
from rnn_jax.unrolling import flip_sequences, time_mask, unroll
from rnn_jax.layers import Layer, bidirectional, recurrent, stacked
from rnn_jax.losses import per_step_loss, sequence_loss
from rnn_jax.bptt import bptt_grads, rtrl_w_aa_sensitivity
from rnn_jax.parallel_time import associative_unroll, deer_unroll, min_gru, min_lstm

__version__ = "0.1.0"

__all__ = [
    "Cell", "Layer", "associative_unroll", "bidirectional", "bptt_grads", "deer_unroll", "dense",
    "exp_rnn", "flip_sequences", "gru", "hidden_of", "lstm", "make_cell", "min_gru", "min_lstm",
    "per_step_loss", "readout_logits", "recurrent", "rtrl_w_aa_sensitivity", "sequence_loss",
    "simple_rnn", "simplified_gru", "stacked", "time_mask", "unroll"
]
