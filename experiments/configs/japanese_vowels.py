"""Alias of ``classify`` on the shipped JapaneseVowels pair:
``python -m experiments.main --task=japanese_vowels``. Same fields as
``experiments/configs/classify.py``.
"""
from experiments.configs import classify


def get_config():
  c = classify.get_config()
  c.task = "japanese_vowels"
  return c
