"""Forecasting any series: ``python -m experiments.main --task=forecast`` (extra ``[data]`` for
the default sunspots). Any numeric CSV column: ``--config.csv=FILE --config.column=NAME``.

GRU-32 on the change over persistence; window, split, training length and early stopping
adapt to the series (see ``experiments/forecast.py``). Fields left None are chosen from the
data: ``steps`` (``epochs`` passes, 300..3,000 steps), ``eval_every`` (~40 evaluations),
``length`` (the window), ``test_size`` (15% of the series).
"""
from ml_collections import config_dict

from experiments.configs import base


def get_config():
  c = base.get_config()
  c.task = "forecast"
  c.cell = "gru"
  c.hidden_size = 32
  c.batch_size = 32
  c.learning_rate = 3e-3
  c.steps = config_dict.placeholder(int)  # None: from the data (epochs, clamped)
  c.epochs = 60
  c.eval_every = config_dict.placeholder(int)  # None: about 40 evaluations
  c.checkpoint_every = 500
  c.patience = 10  # evaluations without a better validation RMSE before stopping; 0: off
  c.length = config_dict.placeholder(int)  # the input window; None: from the series
  c.horizon = 1  # forecast the next `horizon` values
  c.test_size = config_dict.placeholder(int)  # held-out tail; None: 15% of the series
  c.val_fraction = 0.15  # validation tail carved from the training part
  c.csv = config_dict.placeholder(str)  # None: the yearly sunspots
  c.column = config_dict.placeholder(str)  # header name or 0-based index; None: the only numeric
  c.time_column = config_dict.placeholder(str)  # a date/time column; None: detected; "": none
  c.missing = "error"  # blank / NA cells: "error", "drop" or "interpolate"
  c.logs = True  # also ARs of log y where the series is > 0, taken only by a clear margin
  # keep persistence unless the linear part chosen beats it on validation by more than this
  # many standard errors of the paired difference; 0: the lowest error wins
  c.persistence_margin = 1.0
  return c
