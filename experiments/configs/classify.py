"""Classifying any .ts pair: ``python -m experiments.main --task=classify`` (JapaneseVowels by
default; ``--config.train_ts=X_TRAIN.ts --config.test_ts=X_TEST.ts`` for another UEA/UCR
problem; ``@targetLabel true`` files are regression). Two convolutions (kernel 8, 64
features; instance-normalized for classes) over the folded steps, a bidirectional GRU-64 with
max pooling (long series folded so the median one has at most 128 steps; series of unequal
lengths whose longest would have more: each convolution's output max-pooled over time so the
GRU reads at most 128 steps); an ensemble of 3 members trained on cross-validation folds for
training files of up to 500 series (all members on all series when a class has fewer than 5);
validation, training length, early stopping (on the mean of 3 evaluations) and folding adapt
to the data (see ``experiments/classify.py``). Fields left None are chosen from the data.
"""
from ml_collections import config_dict

from experiments.configs import base


def get_config():
  c = base.get_config()
  c.task = "classify"
  c.cell = "gru"
  c.bidirectional = True
  c.conv_layers = 2  # convolutions over the (folded) steps before the recurrence; 0: none
  c.conv_kernel = 8
  # Standardize each convolution's features over each series' valid steps (invariance to a
  # series' level and scale); None: on for classes, off for regression (targets that may
  # depend on the level).
  c.conv_norm = config_dict.placeholder(bool)
  c.pooling = "max"  # over a⟨t⟩ at valid steps: "max", "mean" or "last"
  c.batch_size = 32
  c.learning_rate = 3e-3
  c.steps = config_dict.placeholder(int)  # None: from the data (epochs, clamped)
  c.epochs = 100
  c.eval_every = config_dict.placeholder(int)  # None: about 40 evaluations
  c.checkpoint_every = 300
  c.smooth_evals = 3  # an evaluation's score: mean validation score of it and the 2 before it
  c.patience = 10  # evaluations without a better validation score before stopping; 0: off
  c.ensemble = config_dict.placeholder(int)  # members, each validated on its own fold
  # (cross-validation), probabilities averaged; None: 3 up to 500 training series, else 1
  c.val_fraction = 0.2  # with ensemble=1: validation examples carved from the training file
  # Hold validation series out only if every class has at least this many training series;
  # below it (few-shot files) every member trains on all of them and stops `patience`
  # evaluations after fitting them, and the last evaluation is reported. 0: always hold out.
  c.validate_min_class = 5
  # Fold k raw steps into one input step of k·D features; None: the median series keeps at
  # most max_steps_in steps (without convolutions: the longest).
  c.downsample = config_dict.placeholder(int)
  # Max-pool each convolution's output over blocks of this many steps; None: just enough that
  # the longest series gives the recurrence at most max_steps_in steps (1: equal lengths).
  c.pool_time = config_dict.placeholder(int)
  c.derivative = False  # add x⟨t⟩ − x⟨t−1⟩ as input channels
  c.max_steps_in = 128  # recurrent steps of the longest series, after folding and pooling
  c.train_ts = config_dict.placeholder(str)  # None: the shipped JapaneseVowels pair
  c.test_ts = config_dict.placeholder(str)
  c.missing = "error"  # "?" values: "error", "drop" or "interpolate"
  return c
