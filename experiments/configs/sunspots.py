"""Alias of ``forecast`` on the yearly sunspots with the last 40 years held out (1969–2008):
``python -m experiments.main --task=sunspots``. Same fields as ``experiments/configs/forecast.py``.
"""
from experiments.configs import forecast


def get_config():
  c = forecast.get_config()
  c.task = "sunspots"
  c.test_size = 40
  return c
