"""``--task=sunspots``: the ``forecast`` task (``experiments/forecast.py``) under its old name."""
from experiments.forecast import result_line, train_and_evaluate

__all__ = ["result_line", "train_and_evaluate"]
