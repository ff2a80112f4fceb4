"""Induction heads: ``python -m experiments.main --task=induction_heads``.

V = 16 tokens, trained at L = 64, evaluated at 64, 256 and 1,024 steps; one layer of S6 (H = 64).
"""
from experiments.configs import base


def get_config():
  c = base.get_config()
  c.task = "induction_heads"
  c.cell = "s6"
  c.block = ""  # or a residual block of rnn_jax.blocks (hawk, mamba, mlstm, slstm, lru, s5)
  c.hidden_size = 64
  c.batch_size = 64
  c.learning_rate = 3e-3
  c.steps = 1000
  c.length = 64  # L during training
  c.vocab = 16  # V
  c.eval_factors = (4, 16)  # also evaluated at 4L and 16L
  c.eval_batches = 2
  return c
