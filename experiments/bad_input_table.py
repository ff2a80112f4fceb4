"""Prints the bad-input table of BUILD_NOTES.md from the errors actually raised.

  python -m experiments.bad_input_table

Each row is also a test (the "test" column names its file). Flags are checked by
tests/test_resilience.py in a subprocess (absl reports them before jax starts).
"""
import jax
import jax.numpy as jnp
import numpy as np

import rnn_jax as rj
from rnn_jax import decoding, interop, parallel, parallel_time, runs
from rnn_jax.data import series, text, ts
from rnn_jax.data.adding import adding_batch
from rnn_jax.models import attention_model, language_model, seq2seq
from rnn_jax.optim import OptimConfig, make_optimizer
from rnn_jax.tbptt import tbptt_windows


def _files():
  """Small bad files in a temporary folder: {name: path}."""
  import tempfile
  folder = tempfile.mkdtemp(prefix="rnn_jax_bad_")
  header = "@problemName toy\n@dimensions 2\n@classLabel true a b\n@data\n"
  contents = {
      "values.ts": header + "1,2:3,?:a\n",
      "long.ts": header + ",".join(["1"] * 50) + ":" + ",".join(["1"] * 50) + ":a\n",
      "TRAIN.ts": header + "1,2:3,4:a\n",
      "TEST.ts": header.replace("@dimensions 2\n", "") + "1,2:a\n",
      "empty.txt": "",
      "prices.csv": "day,price\n1,3.5\n2,3.5 EUR\n",
      "gaps.csv": "day,price\n1,3.5\n2,\n3,NA\n4,4.0\n",
      "REG.ts": "@problemName r\n@dimensions 2\n@targetLabel true\n@data\n1,2:3,4:0.5\n",
      "OTHER_TEST.ts": header.replace(" a b", " a z") + "1,2:3,4:z\n",
  }
  paths = {}
  for name, content in contents.items():
    paths[name] = f"{folder}/{name}"
    with open(paths[name], "w") as f:
      f.write(content)
  paths["workdir"] = f"{folder}/workdir"
  runs.claim(paths["workdir"], runs.identity({"hidden_size": 8}))
  paths["latin1.txt"] = f"{folder}/latin1.txt"
  with open(paths["latin1.txt"], "wb") as f:
    f.write("caf\xe9".encode("latin-1"))
  return paths


def cases():
  key = jax.random.PRNGKey(0)
  f = _files()
  cell = rj.gru()
  p = cell.init(key, 3, 4)
  xs = jnp.zeros((2, 5, 3))
  lm = language_model(rj.lstm(), 7, 4)
  lp = lm.init(key)
  s2s_args = dict(encoder_hidden=8)
  att = attention_model(6, 5, pre_hidden=4, post_hidden=8)
  ap = att.init(key)
  z = jnp.zeros((2, 5, 4))
  st = lm.initial_state(lp, 2)
  t0 = jnp.zeros((2,), jnp.int32)
  return [
      ("cells", "unknown activation", lambda: rj.simple_rnn("sigmoid"), "test_cells.py"),
      ("cells", "unknown recurrent init", lambda: rj.simple_rnn("tanh", "zeros"), "test_cells.py"),
      ("cells", "unknown GRU reset variant", lambda: rj.gru("middle"), "test_cells.py"),
      ("cells", "unknown cell name", lambda: rj.make_cell("transformer"), "test_cells.py"),
      ("cells", "input_size 0", lambda: rj.lstm().init(key, 0, 4), "test_cells.py"),
      ("cells", "negative hidden_size", lambda: rj.lstm().init(key, 3, -1), "test_cells.py"),
      ("cells", "unknown readout g_y", lambda: rj.dense("relu"), "test_cells.py"),
      ("unroll", "xs of rank 2", lambda: rj.unroll(cell, p, xs[0]), "test_unrolling.py"),
      ("unroll", "lengths of shape [B, 1]",
       lambda: rj.unroll(cell, p, xs, lengths=np.zeros((2, 1), np.int32)), "test_unrolling.py"),
      ("unroll", "a length > T", lambda: rj.unroll(cell, p, xs, lengths=np.array([1, 6])),
       "test_unrolling.py"),
      ("unroll", "a negative length", lambda: rj.unroll(cell, p, xs, lengths=np.array([-1, 2])),
       "test_unrolling.py"),
      ("unroll", "float lengths", lambda: rj.unroll(cell, p, xs, lengths=np.ones(2, np.float32)),
       "test_unrolling.py"),
      ("unroll", "input size not matching params", lambda: rj.unroll(cell, p, jnp.zeros(
          (2, 5, 4))), "test_unrolling.py"),
      ("unroll", "carry of the wrong batch size", lambda: rj.unroll(cell, p, xs, jnp.zeros(
          (3, 4))), "test_unrolling.py"),
      ("unroll", "NaN at a valid step", lambda: rj.unroll(cell, p, xs.at[0, 0, 0].set(np.nan)),
       "test_unrolling.py"),
      ("unroll", "unroll=0", lambda: rj.unroll(cell, p, xs, unroll=0), "test_unrolling.py"),
      ("unroll", "truncate=0", lambda: rj.unroll(cell, p, xs, truncate=0), "test_unrolling.py"),
      ("unroll", "unknown backward", lambda: rj.unroll(cell, p, xs, backward="magic"),
       "test_unrolling.py"),
      ("unroll", "bad remat", lambda: rj.unroll(cell, p, xs, remat="cbrt"), "test_remat.py"),
      ("layers", "unknown merge", lambda: rj.bidirectional(cell, merge="max"), "test_layers.py"),
      ("layers", "dropout_rate 1", lambda: rj.stacked([cell], dropout_rate=1.0), "test_layers.py"),
      ("layers", "residual across sizes",
       lambda: rj.stacked([cell, rj.bidirectional(cell)], residual=True).init(key, 3, 4),
       "test_layers.py"),
      ("losses", "unknown loss", lambda: rj.sequence_loss(z, z, loss="hinge"), "test_losses.py"),
      ("losses", "targets of the wrong shape",
       lambda: rj.sequence_loss(z, z[:, :-1], loss="squared"), "test_losses.py"),
      ("losses", "unknown reduction",
       lambda: rj.sequence_loss(z, z, loss="squared", reduction="median"), "test_losses.py"),
      ("losses", "token id outside the vocabulary",
       lambda: rj.sequence_loss(z, jnp.full(
           (2, 5), 4), loss="softmax_cross_entropy"), "test_losses.py"),
      ("bptt", "truncate=0", lambda: rj.bptt_grads(
          cell, {
              "cell": p,
              "readout": rj.dense().init(key, 4, 2)
          },
          xs,
          jnp.zeros((2, 5, 2)),
          truncate=0), "test_bptt.py"),
      ("models", "token ids outside the vocabulary", lambda: lm.loss(lp, jnp.full(
          (2, 4), 7)), "test_models.py"),
      ("models", "float tokens", lambda: lm.loss(lp, jnp.zeros((2, 4))), "test_models.py"),
      ("models", "encoder/decoder layer mismatch",
       lambda: seq2seq([rj.lstm()], [rj.lstm(), rj.lstm()], 5, 5, **s2s_args), "test_models.py"),
      ("models", "src/tgt batch mismatch",
       lambda: seq2seq([rj.gru()], [rj.gru()], 5, 5, **s2s_args).apply(
           seq2seq([rj.gru()], [rj.gru()], 5, 5, **s2s_args).init(key), jnp.zeros(
               (2, 3), jnp.int32), None, jnp.zeros((3, 4), jnp.int32)), "test_models.py"),
      ("models", "attention without T_y", lambda: att.apply(ap, jnp.zeros(
          (2, 3), jnp.int32), None), "test_models.py"),
      ("decoding", "max_len 0", lambda: decoding.greedy(lm.step_fn, lp, st, t0, max_len=0),
       "test_decoding.py"),
      ("decoding", "beam width 0",
       lambda: decoding.beam_search(lm.step_fn, lp, st, t0, beam_width=0, max_len=3),
       "test_decoding.py"),
      ("decoding", "negative temperature",
       lambda: decoding.sample(lm.step_fn, lp, st, t0, key, max_len=3, temperature=-1.0),
       "test_decoding.py"),
      ("decoding", "top_k 0",
       lambda: decoding.sample(lm.step_fn, lp, st, t0, key, max_len=3, top_k=0),
       "test_decoding.py"),
      ("optim", "unknown optimizer", lambda: make_optimizer(OptimConfig("lbfgs")), "test_optim.py"),
      ("optim", "clip_norm 0", lambda: make_optimizer(OptimConfig(clip_norm=0.0)), "test_optim.py"),
      ("tbptt", "k2 < k1", lambda: tbptt_windows(10, 4, 2), "test_tbptt.py"),
      ("interop", "not an RNN state dict", lambda: interop.from_torch({"foo": np.zeros(3)}, "lstm"),
       "test_interop.py"),
      ("interop", "reset-before GRU to Flax",
       lambda: interop.to_flax(rj.gru("before").init(key, 2, 3), "GRUCell"), "test_interop.py"),
      ("parallel_time", "associative scan of a GRU",
       lambda: parallel_time.associative_unroll(cell, p, xs), "test_parallel_time.py"),
      ("data", "adding batch_size 0", lambda: adding_batch(key, 0, 10), "test_resilience.py"),
      ("data", "adding length 1", lambda: adding_batch(key, 4, 1), "test_resilience.py"),
      ("data", ".ts with a missing value", lambda: ts.read_ts(f["values.ts"]), "test_data.py"),
      ("data", ".ts sequence over max_length", lambda: ts.read_ts(f["long.ts"], max_length=40),
       "test_data.py"),
      ("data", ".ts pair with different dimensions",
       lambda: ts.read_ts_pair(f["TRAIN.ts"], f["TEST.ts"]), "test_data.py"),
      ("data", "CSV column with blank / NA cells",
       lambda: series.read_csv_column(f["gaps.csv"], "price"), "test_own_data.py"),
      ("data", ".ts pair: classification vs regression",
       lambda: ts.read_ts_pair(f["TRAIN.ts"], f["REG.ts"]), "test_data.py"),
      ("data", ".ts pair: test classes the training file lacks",
       lambda: ts.read_ts_pair(f["TRAIN.ts"], f["OTHER_TEST.ts"]), "test_data.py"),
      ("data", "unknown missing-value policy",
       lambda: series.read_csv_column(f["gaps.csv"], "price", missing="zero"), "test_data.py"),
      ("runs", "workdir of another run",
       lambda: runs.claim(f["workdir"], runs.identity({"hidden_size": 16})), "test_runs.py"),
      ("cells", "mixed_precision with an integer dtype",
       lambda: rj.mixed_precision(rj.lstm(), jnp.int32), "test_precision.py"),
      ("parallel", "process_id without the other two", lambda: parallel.initialize(process_id=1),
       "test_distributed.py"),
      ("data", "empty text file", lambda: text.read_text_file(f["empty.txt"]), "test_data.py"),
      ("data", "text file not UTF-8", lambda: text.read_text_file(f["latin1.txt"]), "test_data.py"),
      ("data", "CSV column not numeric", lambda: series.read_csv_column(f["prices.csv"], "price"),
       "test_data.py"),
      ("data", "CSV column missing", lambda: series.read_csv_column(f["prices.csv"], "cost"),
       "test_data.py"),
      ("unroll", "closed-form backward of exp_rnn",
       lambda: rj.unroll(rj.exp_rnn(), rj.exp_rnn().init(key, 3, 4), xs, backward="closed_form"),
       "test_cells.py"),
      ("optim", "cosine schedule without decay_steps",
       lambda: make_optimizer(OptimConfig(schedule="cosine")), "test_optim.py"),
  ]


def main():
  print("| module | bad input | error | test |")
  print("|---|---|---|---|")
  for module, what, call, test in cases():
    try:
      call()
      message = "NO ERROR"
    except ValueError as err:
      message = str(err).replace("|", "\\|").replace("\n", " ")
    print(f"| {module} | {what} | {message[:160]} | {test} |")


if __name__ == "__main__":
  main()
