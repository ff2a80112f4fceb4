"""Character-level language model: ``python -m experiments.main --task=charlm``.

Embedding 64 → LSTM-256, windows of 100, batch 32, adam 4e-3 held, then decayed linearly over
the last fifth of the steps (``wsd``), clip 1.0; as many steps as fit in ``minutes`` when
``steps`` is unset (``experiments.budget``); judged as the LSTM mixed with the Witten-Bell
n-gram of the same split (``mix_ngram``). The eight plays shipped with the package (what the
README's install gets) are the default text, held out the last 10% of every play (BUILD_NOTES.md
"Session 14" for the figures). Any UTF-8 text: ``--config.text_file=FILE``.
"""
from ml_collections import config_dict

from experiments.configs import base


def get_config():
  c = base.get_config()
  c.task = "charlm"
  c.hidden_size = 256
  c.batch_size = 32
  c.learning_rate = 4e-3
  c.schedule = "wsd"  # constant, then linear to 0 over the last fifth (BUILD_NOTES session 14)
  c.steps = config_dict.placeholder(int)  # None: as many as fit in `minutes` (experiments.budget)
  c.minutes = 10.0  # the run's time budget when `steps` is None: training, evaluations, samples
  c.patience = 5  # stop after this many evaluations without a better held-out bpc; 0: off
  c.length = 100  # training window T
  c.embed_size = 64
  c.dropout = 0.0  # variational dropout on the LSTM's input and output
  c.mix_ngram = True  # judge the mixture of the LSTM and the n-gram (λ fitted, cross-fitted)
  c.stateful = False  # carry the state from one window to the next (TBPTT across batches)
  c.temperature = 0.8  # sampling
  c.eval_every = config_dict.placeholder(int)  # None: every 2 passes or steps/20, the sooner
  c.checkpoint_every = 1000
  c.text_file = config_dict.placeholder(str)  # None: the Shakespeare corpus
  return c
