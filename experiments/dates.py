"""Date translation with attention: ``python -m experiments.main --task=dates``.

Human-readable dates ("sonntag, 4. märz 2001", "3/4/01", "4 de marzo de 2001") → ISO
"2001-03-04", in six locales (``--config.locales``) and ten Babel formats. The model of the seeds:
pre-attention Bi-LSTM (n_a = H/2 each way) over the characters, the attention of
``rnn_jax.models.attention`` (softmax over the valid input steps), a post-attention LSTM
(n_s = H) and a softmax over 11 characters at each of the T_y = 10 output steps. 10,000
training pairs; 1,000 held-out pairs whose input string never occurs in training. Metric:
exact match of the whole date. Picture: ``attention.png``, α⟨t,t'⟩ for held-out examples.
Default: H = 64, batch 100, adam 2e-2 with cosine decay, 600 steps, one device: 99.9% exact
match on 1,000 held-out dates (99.4% at step 300) in 16 s on a 2-core CPU; 55,008 parameters.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from experiments.common import cell_for
from experiments.outputs import pyplot, save_figure
from experiments.runner import dataset_batches, Task, run_task
from rnn_jax.data.dates import ISO_CHARS, T_Y, decode_iso, load_dates
from rnn_jax.models import attention_model


def build_model(config, src_vocab):
  return attention_model(
      src_vocab,
      len(ISO_CHARS),
      pre_hidden=max(1, config.hidden_size // 2),
      post_hidden=config.hidden_size,
      energy_hidden=10,
      pre_cell=cell_for(config),
      post_cell=cell_for(config))


def train_and_evaluate(config, workdir: str | None = None, log=print, return_params=False):
  locales = tuple(l.strip() for l in config.locales.split(",") if l.strip())
  train, test = load_dates(seed=config.seed, locales=locales)
  model = build_model(config, len(train.src_chars) + 2)

  def predict_logits(params, src, lengths):
    return model.apply(params, src, lengths, num_steps=T_Y)[0]

  def metrics(params, src, lengths, tgt):
    logits = predict_logits(params, src, lengths)
    right = jnp.argmax(logits, -1) == tgt
    ce = optax.softmax_cross_entropy_with_integer_labels(logits, tgt).mean()
    return ce, right.mean(), right.all(-1).mean()

  test_arrays = tuple(map(jnp.asarray, (test.src, test.src_lengths, test.tgt)))
  evaluate = jax.jit(
      lambda p, *a: dict(zip(("nats", "char_accuracy", "exact_match"), metrics(p, *a))))

  def loss_fn(params, batch, key):
    return metrics(params, *batch)[0], {}

  report, params = run_task(
      config,
      workdir,
      Task(
          name="dates",
          model=model,
          loss_fn=loss_fn,
          make_batch=dataset_batches(config.batch_size, train.src, train.src_lengths, train.tgt),
          jit_batch=False,
          evaluate=lambda p: evaluate(p, *test_arrays),
          summary=lambda r: (f"step {r['step']:5d}  train {r['loss']:.4f} nats  held-out exact "
                             f"match {100 * r['eval_exact_match']:.2f}%"),
          extra_report={
              "locales":
                  list(locales),
              "train_size":
                  len(train.pairs),
              "test_size":
                  len(test.pairs),
              "params":
                  int(
                      sum(
                          x.size
                          for x in jax.tree_util.tree_leaves(model.init(jax.random.PRNGKey(0)))))
          }),
      log=log)
  if report["final"]:
    report["exact_match"] = report["final"]["eval_exact_match"]
  if not report["interrupted"]:
    logits, alphas = jax.jit(lambda p, s, n: model.apply(p, s, n, num_steps=T_Y))(params,
                                                                                  *test_arrays[:2])
    predicted = np.asarray(jnp.argmax(logits, -1))
    wrong = np.flatnonzero((predicted != test.tgt).any(-1))
    report["examples"] = [(test.pairs[i][0], decode_iso(predicted[i]), test.pairs[i][1])
                          for i in list(range(6)) + list(wrong[:6])]
    if workdir:
      plot_attention(test, predicted, np.asarray(alphas), workdir)
  return (report, params) if return_params else report


def plot_attention(test, predicted, alphas, workdir, count=4):
  """α⟨t,t'⟩ (rows: output characters, columns: input characters) for held-out examples."""
  plt = pyplot()
  fig, axes = plt.subplots(1, count, figsize=(4 * count, 3.4))
  for ax, i in zip(axes, range(count)):
    human = test.pairs[i][0]
    n = len(human)
    ax.imshow(alphas[i, :, :n], cmap="viridis", aspect="auto", vmin=0, vmax=1)
    ax.set_xticks(range(n), list(human), fontsize=7)
    ax.set_yticks(range(T_Y), list(decode_iso(predicted[i])), fontsize=7)
    ax.set_title(f"{human!r} → {decode_iso(predicted[i])}", fontsize=8)
  fig.suptitle("attention weights α⟨t,t'⟩ on held-out dates")
  fig.tight_layout()
  save_figure(fig, workdir, "attention.png")


def result_line(report) -> str:
  return (f"final held-out exact match {100 * report['exact_match']:.2f}% on "
          f"{report['test_size']} dates ({', '.join(report['locales'])}; {report['params']} "
          f"parameters) in {report['seconds']:.0f}s")
