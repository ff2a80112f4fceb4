"""``--task=japanese_vowels``: the ``classify`` task (``experiments/classify.py``) under its old
name, on the shipped JapaneseVowels pair by default."""
from experiments.classify import result_line, train_and_evaluate

__all__ = ["result_line", "train_and_evaluate"]
