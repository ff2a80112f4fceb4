"""Japanese Vowels (Kudo, Toyama & Shimbo 1999; UCI → UEA archive), shipped in the package.

Nine speakers, 12 LPC cepstrum coefficients per frame, 7–29 frames: 270 training and 370 test
utterances, the official split. Classify the speaker (many-to-one with masks).
"""
from __future__ import annotations

from rnn_jax.data.common import shipped_file
from rnn_jax.data.ts import TSData, read_ts_pair


def load_japanese_vowels() -> tuple[TSData, TSData]:
  """``(train, test)`` as read from the shipped ``.ts`` files (official split)."""
  return read_ts_pair(
      shipped_file("JapaneseVowels_TRAIN.ts"), shipped_file("JapaneseVowels_TEST.ts"))
