"""Date translation with attention: ``python -m experiments.main --task=dates``.

H = 64, batch 100, adam 2e-2 with cosine decay, 600 steps, one device: 99.9% exact match on
1,000 held-out dates in 16 s on a 2-core CPU (extra ``[data]``).
"""
from experiments.configs import base


def get_config():
  c = base.get_config()
  c.task = "dates"
  c.batch_size = 100
  c.learning_rate = 2e-2
  c.schedule = "cosine"
  c.steps = 600
  c.eval_every = 100
  c.checkpoint_every = 300
  c.devices = 1  # this small model is 2x faster on one device than split over two
  c.locales = "en_US,en_GB,de_DE,fr_FR,es_ES,it_IT"  # Babel locales, comma-separated
  return c
