"""rnn_jax: recurrent networks as pure JAX functions.

types → cells (one example) → recurrence (masks, carries, the scan) → bptt (closed-form
rules) → unroll (lax.scan over time, vmap over batch) → layers (bidirectional, stacked) →
models / decoding → losses / optim / checkpoint → train. Importing the package has no side
effects (no flags, no jax.config changes); every subpackage is reachable as an attribute.
"""
from rnn_jax.types import Backward, Cell
from rnn_jax.backends import Backend
from rnn_jax.cells import (Readout, dense, exp_rnn, gru, hidden_of, lru, lstm, make_cell, min_gru,
                           min_lstm, mixed_precision, mlstm, readout_logits, rg_lru, s5, s6,
                           simple_rnn, simplified_gru, slstm)
from rnn_jax.recurrence import flip_sequences, time_mask
from rnn_jax.unrolling import unroll
from rnn_jax.layers import Layer, bidirectional, convolution, pool_time, recurrent, stacked
from rnn_jax.losses import per_step_loss, sequence_loss
from rnn_jax.bptt import bptt_grads, rtrl_w_aa_sensitivity
from rnn_jax.parallel_time import associative_unroll, deer_unroll
from rnn_jax.parallel_forms import linear_unroll, mlstm_unroll
from rnn_jax import (associative, backends, baselines, blocks, bptt, cells, checkpoint, data,
                     decoding, diagnostics, interop, kernels, layers, losses, models, optim,
                     parallel, parallel_forms, parallel_time, recurrence, runs, tbptt, train, types,
                     unrolling)

__version__ = "0.1.0"

__all__ = [
    "Backend",
    "Backward",
    "Cell",
    "Layer",
    "Readout",
    "associative_unroll",
    "bidirectional",
    "convolution",
    "bptt_grads",
    "deer_unroll",
    "dense",
    "exp_rnn",
    "flip_sequences",
    "gru",
    "hidden_of",
    "linear_unroll",
    "lru",
    "lstm",
    "make_cell",
    "min_gru",
    "min_lstm",
    "mixed_precision",
    "mlstm",
    "mlstm_unroll",
    "per_step_loss",
    "pool_time",
    "readout_logits",
    "recurrent",
    "rg_lru",
    "rtrl_w_aa_sensitivity",
    "s5",
    "s6",
    "sequence_loss",
    "simple_rnn",
    "simplified_gru",
    "slstm",
    "stacked",
    "time_mask",
    "unroll",
    # subpackages and modules
    "associative",
    "backends",
    "baselines",
    "blocks",
    "bptt",
    "cells",
    "checkpoint",
    "data",
    "decoding",
    "diagnostics",
    "interop",
    "kernels",
    "layers",
    "losses",
    "models",
    "optim",
    "parallel",
    "parallel_forms",
    "parallel_time",
    "recurrence",
    "runs",
    "tbptt",
    "train",
    "types",
    "unrolling"
]
