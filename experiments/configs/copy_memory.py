"""Copy memory: ``python -m experiments.main --task=copy_memory``.

expRNN-190, T=100, batch 128, rmsprop 3e-4, 1,000 steps: 0.0001 nats, every symbol right, in
86–131 s on a 2-core CPU (memoryless baseline 0.173).
"""
from experiments.configs import base


def get_config():
  c = base.get_config()
  c.task = "copy_memory"
  c.cell = "exp_rnn"
  c.hidden_size = 190
  c.batch_size = 128
  c.learning_rate = 3e-4
  c.optimizer = "rmsprop"
  c.steps = 1000
  c.length = 100  # T, the blank steps between the symbols and the delimiter
  c.eval_batches = 4
  return c
