"""Recurrences run by kernels other than ``jax.lax.scan`` (``unroll(..., backend=...)``).

  pallas  the whole time loop in one Pallas kernel (``pallas_loop``), forward and the closed-form
          backward of ``rnn_jax.bptt``; interpret mode on a CPU
  cudnn   the LSTM through ``jax.experimental.rnn`` (cuDNN), with ``unroll``'s padding semantics

``rnn_jax.backends`` decides which of them a call may use.
"""
from rnn_jax.kernels.cudnn import cudnn_unroll, lstm_reference, pack, padded_lstm
from rnn_jax.kernels.pallas import batch_tile, pallas_loop, pallas_recurrence

__all__ = [
    "batch_tile", "cudnn_unroll", "lstm_reference", "pack", "padded_lstm", "pallas_loop",
    "pallas_recurrence"
]
