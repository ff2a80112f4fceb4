"""Named-entity tagging on sentences generated from templates filled by Faker.

Entities: PER (person names), LOC (cities), ORG (companies), tagged BIO per token. Faker's
cities and companies are often built from surnames ("Port Jennifer", "Johnson, Walker and
Kim"), so context, not the word alone, decides the tag. Training and held-out entities share
no name word: each word of an entity belongs to one split by a hash (common parts such as
"West", "Port", "LLC" and "and" to both), so every held-out name is unseen in training and the
tagger must generalise from context and word shape. Needs faker (extra ``[data]``).
"""
from __future__ import annotations

import re
import zlib
from typing import NamedTuple

import numpy as np

from rnn_jax.data.common import optional_import

ENTITY_TYPES = ("PER", "LOC", "ORG")
TAGS = ("O",) + tuple(f"{p}-{e}" for e in ENTITY_TYPES for p in "BI")
TEMPLATES = (
    "{PER} works for {ORG} in {LOC} .",
    "{PER} moved from {LOC} to {LOC} last year .",
    "yesterday {PER} met {PER} at the {ORG} office .",
    "{ORG} opened a new store in {LOC} .",
    "the mayor of {LOC} , {PER} , praised {ORG} .",
    "{PER} said that {ORG} will hire in {LOC} next month .",
    "according to {PER} , {LOC} is growing fast .",
    "{ORG} and {ORG} announced a merger on Monday .",
    "shares of {ORG} fell after {PER} resigned .",
    "{PER} was born in {LOC} and lives in {LOC} .",
    "a spokesperson for {ORG} declined to comment .",
    "{PER} and {PER} founded {ORG} in {LOC} .",
    "police in {LOC} are looking for {PER} .",
    "{LOC} will host the conference , said {PER} of {ORG} .",
    "we visited {LOC} with {PER} .",
    "the weather in {LOC} was terrible .",
    "{PER} called {PER} about the {ORG} contract .",
    "{ORG} sued {ORG} over a patent .",
)
SHARED_WORDS = frozenset(
    "and & , . - inc ltd llc plc group sons co corp north south east west new port lake mount "
    "fort saint st".split())
_TOKEN = re.compile(r"[\w'&.-]+(?<![.])|[^\w\s]")


def tokenize(text: str) -> list[str]:
  """Words (with inner - ' & .), and punctuation as separate tokens; a final dot splits off."""
  return _TOKEN.findall(text)


def word_split(word: str) -> int:
  """0 (training) or 1 (held out) for a name word; -1 for words both splits share."""
  w = word.lower()
  if w in SHARED_WORDS or not any(c.isalpha() for c in w):
    return -1
  return zlib.crc32(w.encode("utf-8")) % 2


def _entity(draw, split: int):
  """A Faker entity whose name words all belong to ``split`` (None: any)."""
  for _ in range(1000):
    words = tokenize(draw())
    if split is None or all(word_split(w) in (-1, split) for w in words):
      return words
  raise ValueError(f"could not draw an entity for split {split} in 1000 tries.")


def ner_sentences(n: int, seed: int, locale: str = "en_US", split: int | None = None):
  """``n`` sentences as ``(tokens, tags)`` lists; deterministic in ``seed``. ``split`` 0 or 1
  keeps entity name words to that half of the vocabulary (see ``word_split``)."""
  faker = optional_import("faker", "faker")
  fake = faker.Faker(locale)
  fake.seed_instance(seed)
  rng = np.random.default_rng(seed)
  fill = {"PER": fake.name, "LOC": fake.city, "ORG": fake.company}
  out = []
  for _ in range(n):
    template = TEMPLATES[rng.integers(len(TEMPLATES))]
    tokens, tags = [], []
    for piece in re.split(r"(\{[A-Z]+\})", template):
      if piece.startswith("{"):
        kind = piece[1:-1]
        words = _entity(fill[kind], split)
        tokens += words
        tags += [f"B-{kind}"] + [f"I-{kind}"] * (len(words) - 1)
      else:
        words = tokenize(piece)
        tokens += words
        tags += ["O"] * len(words)
    out.append((tokens, tags))
  return out


def entity_spans(tags) -> set:
  """``{(type, start, end)}`` of the BIO tags (an I- without its B- starts a span, as in
  conlleval)."""
  spans, start, kind = set(), None, None
  for i, tag in enumerate(list(tags) + ["O"]):
    prefix, _, typ = tag.partition("-")
    if start is not None and (prefix != "I" or typ != kind):
      spans.add((kind, start, i))
      start = None
    if prefix == "B" or (prefix == "I" and start is None):
      start, kind = i, typ
  return spans


def entity_f1(true_tags, pred_tags) -> dict:
  """Entity-level precision, recall and F1 over sentences (exact span and type)."""
  tp = n_pred = n_true = 0
  for t, p in zip(true_tags, pred_tags):
    ts, ps = entity_spans(t), entity_spans(p)
    tp, n_pred, n_true = tp + len(ts & ps), n_pred + len(ps), n_true + len(ts)
  precision = tp / n_pred if n_pred else 0.0
  recall = tp / n_true if n_true else 0.0
  f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
  return {"precision": precision, "recall": recall, "f1": f1}


class NERData(NamedTuple):
  """``words [N, T]`` ids (0 pad, 1 unknown), ``shapes [N, T, 4]`` (capitalised, all caps,
  has digit, punctuation), ``tags [N, T]`` ids into ``TAGS``, ``lengths [N]``, the
  sentences, and the word vocabulary."""
  words: np.ndarray
  shapes: np.ndarray
  tags: np.ndarray
  lengths: np.ndarray
  sentences: list
  vocab: tuple


def word_shape(word: str) -> list[float]:
  return [
      float(word[:1].isupper()),
      float(word.isupper() and len(word) > 1),
      float(any(c.isdigit() for c in word)),
      float(not any(c.isalnum() for c in word))
  ]


def encode_ner(sentences, vocab=None, min_count: int = 2, max_length: int | None = None):
  """Ids for the sentences; the vocabulary (lowercased words seen ``min_count`` times) comes
  from the training sentences."""
  if vocab is None:
    counts = {}
    for tokens, _ in sentences:
      for w in tokens:
        counts[w.lower()] = counts.get(w.lower(), 0) + 1
    vocab = tuple(sorted(w for w, c in counts.items() if c >= min_count))
  index = {w: i + 2 for i, w in enumerate(vocab)}
  t = max_length or max(len(s) for s, _ in sentences)
  n = len(sentences)
  words, tags = np.zeros((n, t), np.int32), np.zeros((n, t), np.int32)
  shapes, lengths = np.zeros((n, t, 4), np.float32), np.zeros((n,), np.int32)
  for i, (tokens, tg) in enumerate(sentences):
    tokens, tg = tokens[:t], tg[:t]
    lengths[i] = len(tokens)
    words[i, :len(tokens)] = [index.get(w.lower(), 1) for w in tokens]
    shapes[i, :len(tokens)] = [word_shape(w) for w in tokens]
    tags[i, :len(tokens)] = [TAGS.index(x) for x in tg]
  return NERData(words, shapes, tags, lengths, list(sentences), vocab)


def load_ner(n_train: int = 4000, n_test: int = 500, seed: int = 0, locale: str = "en_US"):
  """Training and held-out sets; held-out entities use only name words never seen in training."""
  train = encode_ner(ner_sentences(n_train, seed, locale, split=0))
  test_sentences = ner_sentences(n_test, seed + 1, locale, split=1)
  t = max(train.words.shape[1], max(len(s) for s, _ in test_sentences))
  return (encode_ner(train.sentences, train.vocab,
                     max_length=t), encode_ner(test_sentences, train.vocab, max_length=t))
