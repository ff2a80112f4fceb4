"""Named-entity tagging: ``python -m experiments.main --task=ner``.

Many-to-many (T_x = T_y): each token is [embedding of the lowercased word (unknown words share
one vector); 4 shape features (capitalised, all caps, digit, punctuation)], a bidirectional LSTM
reads the sentence both ways and a softmax over the 7 BIO tags (O, B-/I- PER, LOC, ORG) tags
every valid token. Sentences come from templates filled by Faker (people, cities, companies;
``rnn_jax.data.ner``); held-out entities use only name words never seen in training, so the
tag must come from context and shape. Metric: entity-level F1 (exact span
and type). Training replaces 25% of the known words by the unknown word (word dropout), so the
tagger learns to tag unseen names from context. Picture: ``tags.png``, the token-level confusion
matrix of the tags. Default: bidirectional LSTM-64, embedding 64, batch 32, adam 5e-3, 600
steps: entity F1 99.75% on 500 held-out sentences in 13 s on a 2-core CPU.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import rnn_jax as rj
from experiments.common import make_layer
from experiments.outputs import save_confusion
from experiments.runner import dataset_batches, Task, run_task
from rnn_jax.data.ner import TAGS, entity_f1, load_ner
from rnn_jax.models import many_to_many
from rnn_jax.models.common import init_embedding
from rnn_jax.types import Model

WORD_DROPOUT = 0.25


def build_model(config, vocab_size):
  """Embedding + shape features → (bi)directional tagger; params ``{"embedding", "tagger"}``."""
  tagger = many_to_many(
      make_layer(config),
      config.embed_size + 4,
      config.hidden_size,
      len(TAGS),
      backward=config.backward,
      backend=config.backend)

  def init(key):
    k1, k2 = jax.random.split(key)
    return {
        "embedding": init_embedding(k1, vocab_size, config.embed_size),
        "tagger": tagger.init(k2)
    }

  def apply(params, words, shapes, lengths):
    xs = jnp.concatenate([params["embedding"][words], shapes], -1)
    return tagger.apply(params["tagger"], xs, lengths)

  return Model(init, apply)


def train_and_evaluate(config, workdir: str | None = None, log=print, return_params=False):
  train, test = load_ner(seed=config.seed)
  model = build_model(config, len(train.vocab) + 2)
  apply = model.apply

  def loss(params, words, shapes, tags, lengths):
    logits = apply(params, words, shapes, lengths)
    return rj.sequence_loss(
        logits, tags, loss="softmax_cross_entropy", lengths=lengths, reduction="token_mean")

  test_arrays = tuple(map(jnp.asarray, (test.words, test.shapes, test.tags, test.lengths)))
  predict = jax.jit(lambda p, w, s, n: jnp.argmax(apply(p, w, s, n), -1))
  test_loss = jax.jit(loss)

  def evaluate(params):
    pred = np.asarray(predict(params, test_arrays[0], test_arrays[1], test_arrays[3]))
    scores = entity_f1(tag_lists(test.tags, test.lengths), tag_lists(pred, test.lengths))
    return {
        "f1": scores["f1"],
        "precision": scores["precision"],
        "recall": scores["recall"],
        "nats": float(test_loss(params, *test_arrays))
    }

  report, params = run_task(
      config,
      workdir,
      Task(
          name="ner",
          model=model,
          loss_fn=lambda p, b, k: (loss(p, *word_dropout(k, *b)), {}),
          make_batch=dataset_batches(config.batch_size, train.words, train.shapes, train.tags,
                                     train.lengths),
          jit_batch=False,
          evaluate=evaluate,
          summary=lambda r: (f"step {r['step']:5d}  train {r['loss']:.4f} nats  held-out entity F1 "
                             f"{100 * r['eval_f1']:.2f}%"),
          extra_report={
              "train_size": len(train.sentences),
              "test_size": len(test.sentences),
              "unknown_word_rate_test": float((test.words[test.words > 0] == 1).mean())
          }),
      log=log)
  if report["final"]:
    report["entity_f1"] = report["final"]["eval_f1"]
  if not report["interrupted"]:
    pred = np.asarray(predict(params, test_arrays[0], test_arrays[1], test_arrays[3]))
    report["examples"] = [
        " ".join(f"{w}/{TAGS[t]}" if TAGS[t] != "O" else w
                 for w, t in zip(test.sentences[i][0], pred[i]))
        for i in range(5)
    ]
    if workdir:
      plot_tag_confusion(test.tags, pred, test.lengths, workdir)
  return (report, params) if return_params else report


def word_dropout(key, words, shapes, tags, lengths, rate=WORD_DROPOUT):
  """Training only: each known word becomes the unknown word with probability ``rate``, so
  the tagger learns to tag unknown words from context and shape."""
  drop = jax.random.bernoulli(key, rate, words.shape) & (words > 1)
  return jnp.where(drop, 1, words), shapes, tags, lengths


def tag_lists(tag_ids, lengths):
  return [[TAGS[t] for t in row[:n]] for row, n in zip(np.asarray(tag_ids), lengths)]


def plot_tag_confusion(tags, predicted, lengths, workdir):
  valid = np.arange(tags.shape[1])[None, :] < lengths[:, None]
  save_confusion(tags[valid], predicted[valid], TAGS, workdir, "tags.png", "held-out tokens",
                 " tag")


def result_line(report) -> str:
  return (f"final held-out entity F1 {100 * report['entity_f1']:.2f}% on "
          f"{report['test_size']} sentences ({100 * report['unknown_word_rate_test']:.0f}% "
          f"unknown words) in {report['seconds']:.0f}s")
