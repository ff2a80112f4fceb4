"""Speaker classification from .ts files: ``python -m experiments.main --task=japanese_vowels``.

Bidirectional GRU-64, batch 32, adam 3e-3, 600 steps: 97.3% test accuracy on JapaneseVowels in
6 s on a 2-core CPU. Any .ts pair: ``--config.train_ts=X_TRAIN.ts --config.test_ts=X_TEST.ts``.
"""
from ml_collections import config_dict

from experiments.configs import base


def get_config():
  c = base.get_config()
  c.task = "japanese_vowels"
  c.cell = "gru"
  c.bidirectional = True
  c.batch_size = 32
  c.learning_rate = 3e-3
  c.steps = 600
  c.eval_every = 100
  c.checkpoint_every = 300
  c.train_ts = config_dict.placeholder(str)  # None: the shipped JapaneseVowels pair
  c.test_ts = config_dict.placeholder(str)
  return c
