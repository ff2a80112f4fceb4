"""Character-level language model on Shakespeare: ``python -m experiments.main --task=charlm``.

Embedding(V, 64) → LSTM-256 → softmax over the V characters; J = Σ_t −log ŷ⟨t⟩[y⟨t⟩] over training
windows of T = 100 characters at random offsets of the first 90% of every work (zero initial state).
Held out: the last 10% of every work (``split_works``), so that every play and edition format is
represented; with ``--config.text_file`` the last 10% of the file. Metrics in bits per character:
every ``eval_every`` steps (default ``sized_to_text``: every two passes over the training part or
20 evaluations over the run, the sooner) on 512 fixed held-out windows of 100 characters (fewer
on a held-out part under ~13,000 characters: about 4 readings of each, at least 64; zero state, as
the Flax baseline measures, whatever the training window), and at the end on the whole held-out
part with the state carried across windows. Sampled text (temperature 0.8, primed with a speaker's
name) is printed and saved as ``samples.txt``. Beside every figure: the held-out bits/char of an
interpolated Witten-Bell character n-gram (``rnn_jax.baselines.best_witten_bell``) fitted on the
same training part, its order 2-7 chosen on that part's last 10% (the eight plays: a 5-gram, 2.174
bits/char, 14 s).

``--config.mix_ngram`` (default True): the model is the mixture λ·P_LSTM + (1 − λ)·P_n-gram of
the network and that n-gram, the way the forecaster holds its linear part. At each evaluation λ is
fitted by EM on the held-out targets, and each half of them is scored with the λ of the other half
(``rnn_jax.baselines.cross_fitted_mixture``), so no target is scored with a weight fitted on it.
This mixture is what the run is judged on (the best step, ``heldout_bpc``); early stopping
follows the network alone (``eval_bpc``), which is reported beside it (``rnn_bpc``), and samples
come from the network alone. The n-gram is also scored on the very targets each figure scores
(``ngram_windows_bpc``, ``ngram_stateful_bpc``): the held-out windows overlap and miss some
characters, so their n-gram figure differs a little from the one on the whole held-out part.
On a small text, which the network memorises within a few passes, λ falls toward 0 and the
mixture stays near the n-gram's figure; ``--config.mix_ngram=False`` judges the network alone.

``--config.stateful=True``: the training text is read as B contiguous streams and the state is
carried from one window to the next (truncated BPTT across batches; ``rnn_jax.train`` keeps the
carry in the checkpointed TrainState, so resuming stays exact).

Corpus: all 42 works when the ``shakespeare`` 0.6 package is installed, else the eight plays
shipped in the package (rnn_jax/data/files/shakespeare). Any UTF-8 file: ``--config.text_file=...``.
Default: LSTM-256, batch 32, adam 4e-3 held, then decayed linearly over the last fifth of the
steps (``wsd``), clip 1.0, and as many steps as fit in ``--config.minutes`` (10) on the machine
it runs on (``experiments.budget``: one training step and one evaluation are timed first, the plan
is printed, kept in the report and in the workdir's budget.json); ``--config.steps=N`` fixes the
length instead. Results: BUILD_NOTES.md, "Session 14" (the budget on the default corpus) and
"Results" (11,000 steps, cosine decay, the LSTM alone: 2.067 bits/char on held-out windows, 2.007
with the state carried, ~11 minutes on a faster 2-core CPU).
"""
from __future__ import annotations

import math
import time

import jax
import jax.numpy as jnp
import numpy as np

from experiments import budget, configs
from experiments.common import cell_for
from experiments.outputs import save_text
from experiments.runner import Task, run_task
from experiments.selection import auto_eval_every, best_row, patience_stop
import rnn_jax as rj
from rnn_jax.data.text import CharVocab, read_text_file, shakespeare_works, split_works
from rnn_jax.decoding import prime, sample
from rnn_jax.models import language_model

EVAL_WINDOWS = 512
EVAL_LENGTH = 100  # held-out windows as the Flax baseline measures them, whatever the window


def build_model(config, vocab_size):
  return language_model(
      [cell_for(config)] * config.num_layers,
      vocab_size,
      config.hidden_size,
      embed_size=config.embed_size,
      dropout_rate=config.dropout,
      backward=config.backward,
      backend=config.backend,
      truncate=config.truncate)


def load_works(config):
  """``(works, source)``: the user's one file, or the Shakespeare corpus one string per work."""
  if config.text_file:
    return [read_text_file(config.text_file)], config.text_file
  return shakespeare_works(), "shakespeare"


def train_and_evaluate(config, workdir: str | None = None, log=print, return_params=False):
  started = time.time()
  if config.bidirectional:
    raise ValueError(
        "--config.bidirectional=True cannot be a language model (it would see the next "
        "character).")
  works, source = load_works(config)
  text = "".join(works)
  vocab = CharVocab.of(text)
  train_ids, held_ids = split_works([vocab.encode(w) for w in works], 0.1)
  window = config.length + 1  # T inputs and T targets
  if len(train_ids) <= window or len(held_ids) <= window:
    raise ValueError(f"{source}: {len(text)} characters are too few for windows of "
                     f"{config.length} (--config.length); need > {10 * (window + 1)}.")
  # The reference every report carries: an interpolated Witten-Bell n-gram on the same split,
  # its order (2-7) chosen on the last 10% of the training part.
  all_ids = np.concatenate([train_ids, held_ids])
  order, ngram_bpc = rj.baselines.best_witten_bell(all_ids, len(train_ids), vocab.size)
  ngram_p = rj.baselines.witten_bell_probs(all_ids, len(train_ids), order, vocab.size)
  model = build_model(config, vocab.size)
  rng = np.random.default_rng(1234)
  eval_window = min(EVAL_LENGTH + 1, len(held_ids) - 1)
  # 512 windows, or fewer on a small held-out part: each character is read ~4 times at most
  count = min(EVAL_WINDOWS, max(64, 4 * len(held_ids) // eval_window))
  starts = np.sort(rng.integers(0, len(held_ids) - eval_window, count))  # in text order
  held_windows = jnp.asarray(np.stack([held_ids[s:s + eval_window] for s in starts]))
  # the n-gram's probability of each target of each window (targets start one after the window)
  ngram_windows = ngram_p[starts[:, None] + np.arange(1, eval_window)[None, :]]
  log_probs = jax.jit(model.log_probs)
  evaluate = lambda p: held_out_row(log_probs(p, held_windows), ngram_windows, config.mix_ngram)
  ngram_on_windows = float(-np.mean(np.log2(ngram_windows)))  # the same targets as the model
  train_j = jnp.asarray(train_ids)

  @jax.jit
  def draw(key, data):
    s = jax.random.randint(key, (config.batch_size,), 0, data.shape[0] - window)
    return data[s[:, None] + jnp.arange(window)[None, :]]

  params0, k = model.init(jax.random.PRNGKey(0)), jax.random.PRNGKey(1)  # to time one step
  grad = jax.value_and_grad(lambda p, tokens, key: model.loss(p, tokens, key=key))
  one_step = budget.step_on_the_run_devices(grad, params0, draw(k, train_j), k, config.batch_size,
                                            config.devices)
  config, plan = budget.planned(config, workdir, started, one_step, lambda: evaluate(params0),
                                lambda c: sized_to_text(c, len(train_ids)).eval_every)
  if plan is not None:
    log(budget.plan_line(plan))
  config = sized_to_text(config, len(train_ids))
  if config.stateful:
    make_batch, loss_fn, carry = stateful_training(model, train_ids, config)
  else:  # random windows from zero state; the key turns dropout on (if any)
    make_batch, carry = (lambda key: draw(key, train_j)), None

    def loss_fn(params, tokens, key):
      nats = model.loss(params, tokens, key=key)
      return nats, {"train_bpc": nats / math.log(2)}

  key = "eval_mix_bpc" if config.mix_ngram else "eval_bpc"  # what the run is judged on
  report, params = run_task(
      config,
      workdir,
      Task(
          name="charlm",
          model=model,
          loss_fn=loss_fn,
          make_batch=make_batch,
          jit_batch=False,
          initial_carry=carry,
          batch_from_step=config.stateful,
          evaluate=evaluate,
          summary=lambda r: (f"step {r['step']:5d}  train {r['train_bpc']:.3f} bpc  "
                             f"held-out {r['eval_bpc']:.3f} bpc{mixed_summary(r, order)} "
                             f"({order}-gram {ngram_on_windows:.3f})"),
          # patience follows the LSTM's own figure: early on the mixture sits at the n-gram
          # while the LSTM still learns, and must not stop it
          stop_when=patience_stop("eval_bpc", "min", config.patience),
          select=lambda history: best_row(history, key, "min"),
          extra_report={
              "data": source,
              "network": config.cell.upper(),
              "chars": len(text),
              "vocab_size": vocab.size,
              "ngram_order": order,
              "ngram_bpc": ngram_bpc,
              "ngram_windows_bpc": ngram_on_windows,
              **({
                  "budget": plan
              } if plan is not None else {}),
              "reference": f"reference: a Witten-Bell {order}-gram, {ngram_bpc:.3f} held-out "
                           f"bits/char"
          }),
      log=log)
  if report["best"]:  # the best held-out evaluation, not the last (a small text overfits)
    best = report["best"]
    report["heldout_bpc"], report["rnn_bpc"] = best[key], best["eval_bpc"]
    report["best_step"] = best["step"]
    if config.mix_ngram:
      report["mix_weight"] = best["eval_mix_weight"]
  if not report["interrupted"]:
    stateful = stateful_log_probs(model, params, held_ids, config.length)
    if stateful is not None:
      logp, targets = stateful
      row = held_out_row(logp, ngram_p[targets], config.mix_ngram)
      report["heldout_bpc_stateful"] = row["mix_bpc" if config.mix_ngram else "bpc"]
      report["ngram_stateful_bpc"] = float(-np.mean(np.log2(ngram_p[targets])))
    report["sample"] = sample_text(model, params, vocab, config, text)
    log(report["sample"])
    if workdir:
      save_text(workdir, "samples.txt", report["sample"] + "\n")
  return (report, params) if return_params else report


def sized_to_text(config, train_chars: int):
  """``config`` with ``eval_every`` chosen, when unset (None), from the training part's size N
  (characters): every two passes over it (2·N / (B·T) steps) or 20 evaluations over the run,
  whichever comes more often, at least 10 steps apart. A small text is so evaluated before it is
  memorised: 23,000 training characters are read 7 times in 50 steps, and with 20 evaluations
  alone the first came at step 550; the eight plays keep their 20 (every 550 steps)."""
  if config.eval_every is not None:
    return config
  passes = 2 * train_chars // (config.batch_size * config.length)
  return configs.replace(
      config, eval_every=max(10, min(passes, auto_eval_every(config.steps, 20, 10))))


def stateful_training(model, train_ids, config):
  """``(make_batch(step), loss_fn, initial_carry)`` for training with the state carried.

  The training text is cut into B contiguous streams; step s reads window s of every stream
  (wrapping around after the last one, where the carry starts again from zeros), and the final
  carry of one window is the initial carry of the next.
  """
  streams, length = config.batch_size, config.length
  per_stream = len(train_ids) // streams
  windows = (per_stream - 1) // length
  if windows < 1:
    raise ValueError(
        f"--config.stateful: {len(train_ids)} training characters give each of "
        f"{streams} streams fewer than {length + 1} (--config.batch_size, --config.length).")
  data = jnp.asarray(train_ids[:streams * per_stream].reshape(streams, per_stream))

  @jax.jit
  def stream_batch(step, data):
    pos = (step % windows) * length
    tokens = jax.lax.dynamic_slice_in_dim(data, pos, length + 1, axis=1)
    return tokens, jnp.full((streams,), step % windows == 0)  # reset the carry at a wrap

  def loss_fn(params, batch, key, carry):
    tokens, reset = batch
    carry = jax.tree_util.tree_map(lambda c: jnp.where(reset[:, None], jnp.zeros_like(c), c), carry)
    logits, finals = model.apply(params, tokens[:, :-1], None, carry, key=key)
    loss = rj.sequence_loss(
        logits, tokens[:, 1:], loss="softmax_cross_entropy", reduction="token_mean")
    return loss, ({"train_bpc": loss / math.log(2)}, finals)

  carry = model.initial_state(model.init(jax.random.PRNGKey(0)), streams)
  return (lambda step: stream_batch(jnp.int32(step), data)), loss_fn, carry


def held_out_row(log_probs, ngram_probs, mix: bool) -> dict:
  """``{"bpc"}``: the model's bits per character from its natural-log probabilities of the
  held-out targets; with ``mix``, also ``"mix_bpc"`` and ``"mix_weight"``: the mixture
  λ·P_model + (1 − λ)·P_n-gram, each half of the targets (in text order) scored with the λ fitted
  on the other half (``rnn_jax.baselines.cross_fitted_mixture``), and λ fitted on all."""
  logp = np.asarray(log_probs, np.float64)
  row = {"bpc": float(-logp.mean() / math.log(2))}
  if mix:
    row["mix_bpc"], row["mix_weight"] = rj.baselines.cross_fitted_mixture(np.exp(logp), ngram_probs)
  return row


def mixed_summary(row, order) -> str:
  if "eval_mix_bpc" not in row:
    return ""
  return f", mixed with the {order}-gram {row['eval_mix_bpc']:.3f} (λ {row['eval_mix_weight']:.2f})"


def stateful_log_probs(model, params, ids, length, streams=32):
  """``(log_probs [S, n], targets [S, n])`` over ``ids`` read as ``streams`` (S) contiguous
  streams in windows of ``length``, the carry passed from one window to the next:
  ``targets[s, j]`` is the index in ``ids`` of the character ``log_probs[s, j]`` scores (the rows
  in text order). None when a stream is shorter than one window."""
  per = (len(ids) - 1) // streams
  chunks = per // length
  if chunks < 1:
    return None
  rows = jnp.asarray(ids[:streams * per + 1])
  starts = np.arange(streams) * per

  @jax.jit
  def chunk(carry, i):
    idx = jnp.asarray(starts)[:, None] + i * length + jnp.arange(length + 1)[None, :]
    tokens = rows[idx]
    logits, carry = model.apply(params, tokens[:, :-1], carry=carry)
    logp = jax.nn.log_softmax(logits.astype(jnp.float32), axis=-1)
    return carry, jnp.take_along_axis(logp, tokens[:, 1:, None], axis=-1)[..., 0]

  carry, parts = model.initial_state(params, streams), []
  for i in range(chunks):
    carry, logp = chunk(carry, i)
    parts.append(np.asarray(logp))
  targets = starts[:, None] + 1 + np.arange(chunks * length)[None, :]
  return np.concatenate(parts, axis=1), targets


def sample_text(model, params, vocab, config, text, length=600):
  """``length`` sampled characters after a prefix (a speaker's cue when the text has one)."""
  prefix = "\n\nHam.\n" if "\nHam." in text else text[:min(len(text), 20)]
  prefix_ids = jnp.asarray(vocab.encode(prefix))[None, :]
  state, start = prime(model.step_fn, params, model.initial_state(params, 1), prefix_ids)
  tokens, _ = sample(
      model.step_fn,
      params,
      state,
      start,
      jax.random.PRNGKey(config.seed + 7),
      max_len=length,
      temperature=config.temperature)
  return prefix + vocab.decode(tokens[0])


def result_line(report) -> str:
  stateful = report.get("heldout_bpc_stateful")
  extra = (f", {stateful:.3f} with state carried (n-gram {report['ngram_stateful_bpc']:.3f} "
           f"on those characters)" if stateful is not None else "")
  mixed = (f": the {report['network']} mixed with the n-gram (λ {report['mix_weight']:.2f}; the "
           f"{report['network']} alone {report['rnn_bpc']:.3f})" if "mix_weight" in report else "")
  return (f"final held-out {report['heldout_bpc']:.3f} bits/char{mixed} (the best evaluation, "
          f"step {report['best_step']}) vs {report['ngram_windows_bpc']:.3f} for a Witten-Bell "
          f"{report['ngram_order']}-gram of the same split on the same windows "
          f"({report['ngram_bpc']:.3f} on the whole held-out part){extra} ({report['data']}, "
          f"{report['chars']} chars) in {report['seconds']:.0f}s")
