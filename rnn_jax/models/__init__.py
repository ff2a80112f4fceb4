"""Topologies of the seeds, each a set of pure functions built from cells and layers.

  many_to_one     sequence → vector          (classification, forecasting)
  many_to_many    T_x = T_y                  (tagging, NER)
  one_to_many     vector → sequence          (generation from a seed vector)
  seq2seq         encoder–decoder, T_x ≠ T_y (translation)
  attention_model Bi-LSTM + attention + post-attention LSTM (seed 000)
  language_model  next-token prediction, sampling novel sequences
  forecaster      a linear part (persistence, seasonal naive, AR; linear_part) + an RNN on its
                  residual
"""
from rnn_jax.models.attention import AttentionModel, attention_model
from rnn_jax.models.forecasting import Forecaster, forecaster
from rnn_jax.models.linear_part import LinearPart
from rnn_jax.models.language_model import LanguageModel, language_model
from rnn_jax.models.many_to_many import many_to_many
from rnn_jax.models.many_to_one import many_to_one, masked_pool
from rnn_jax.models.one_to_many import OneToMany, one_to_many
from rnn_jax.models.seq2seq import Seq2Seq, seq2seq

__all__ = [
    "AttentionModel", "Forecaster", "LanguageModel", "LinearPart", "OneToMany", "Seq2Seq",
    "attention_model", "forecaster", "language_model", "many_to_many", "many_to_one", "masked_pool",
    "one_to_many", "seq2seq"
]
