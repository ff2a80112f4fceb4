"""Multi-query associative recall: ``python -m experiments.main --task=mqar``.

P = 8 pairs of K = 32 keys and V = 32 values, Q = 8 queries; one layer of S6 (H = 64).
"""
from experiments.configs import base


def get_config():
  c = base.get_config()
  c.task = "mqar"
  c.cell = "s6"
  c.block = ""  # or a residual block of rnn_jax.blocks (hawk, mamba, mlstm, slstm, lru, s5)
  c.hidden_size = 64
  c.batch_size = 64
  c.learning_rate = 3e-3
  c.steps = 1000
  c.length = 8  # P, the key–value pairs (L = 2P + Q)
  c.num_queries = 8  # Q (at most P)
  c.num_keys = 32  # K
  c.num_values = 32  # V
  c.eval_batches = 4
  return c
