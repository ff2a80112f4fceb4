"""Selective copying: ``python -m experiments.main --task=selective_copy``.

K = 4 tokens of V = 8 scattered among T = 64 noise steps; one layer of S6 (Mamba's recurrence)
with H = 64. Any cell of ``rnn_jax.cells.CELLS`` runs with ``--config.cell``.
"""
from experiments.configs import base


def get_config():
  c = base.get_config()
  c.task = "selective_copy"
  c.cell = "s6"
  c.block = ""  # or a residual block of rnn_jax.blocks (hawk, mamba, mlstm, slstm, lru, s5)
  c.hidden_size = 64
  c.batch_size = 64
  c.learning_rate = 3e-3
  c.steps = 1000
  c.length = 64  # T, the steps among which the tokens are scattered
  c.num_tokens = 4  # K
  c.vocab = 8  # V
  c.eval_batches = 4
  return c
