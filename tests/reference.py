"""Independent float64 numpy references: Python loops over time, one example at a time.

Written from the seeds' equations with separate per-gate matrices, sharing no
code with rnn_jax (only the documented param layout is read).
"""
import numpy as np


def sigmoid(z):
  return 1.0 / (1.0 + np.exp(-z))


def gates(params, names):
  """Split fused [G, ...] params into named per-gate blocks of H rows."""
  p = {k: np.asarray(v, np.float64) for k, v in params.items()}
  h = p["w_aa"].shape[1]
  out = {}
  for i, n in enumerate(names):
    out[n] = (p["w_ax"][i * h:(i + 1) * h], p["w_aa"][i * h:(i + 1) * h],
              p["b_a"][i * h:(i + 1) * h])
  return out, p


def run_cell(kind, options, params, xs, carry0=None):
  """xs: [T, D] one sequence. Returns (list of carries after each step, list of y)."""
  xs = np.asarray(xs, np.float64)
  opts = dict(options)
  carries, ys = [], []
  if kind == "simple_rnn":
    (g, p) = gates(params, ["a"])
    wx, wa, b = g["a"]
    act = np.tanh if opts.get("activation", "tanh") == "tanh" else (lambda z: np.maximum(z, 0))
    a = np.zeros(wa.shape[1]) if carry0 is None else np.asarray(carry0, np.float64)
    for x in xs:
      a = act(wa @ a + wx @ x + b)
      carries.append(a)
      ys.append(a)
  elif kind == "gru":
    g, p = gates(params, ["u", "r", "c"])
    c = np.zeros(p["w_aa"].shape[1]) if carry0 is None else np.asarray(carry0, np.float64)
    for x in xs:
      gu = sigmoid(g["u"][1] @ c + g["u"][0] @ x + g["u"][2])
      gr = sigmoid(g["r"][1] @ c + g["r"][0] @ x + g["r"][2])
      if opts["reset"] == "before":
        ct = np.tanh(g["c"][1] @ (gr * c) + g["c"][0] @ x + g["c"][2])
      else:
        ct = np.tanh(g["c"][0] @ x + g["c"][2] + gr * (g["c"][1] @ c + p["b_cc"]))
      c = gu * ct + (1 - gu) * c
      carries.append(c)
      ys.append(c)
  elif kind == "simplified_gru":
    g, p = gates(params, ["u", "c"])
    c = np.zeros(p["w_aa"].shape[1]) if carry0 is None else np.asarray(carry0, np.float64)
    for x in xs:
      gu = sigmoid(g["u"][1] @ c + g["u"][0] @ x + g["u"][2])
      ct = np.tanh(g["c"][1] @ c + g["c"][0] @ x + g["c"][2])
      c = gu * ct + (1 - gu) * c
      carries.append(c)
      ys.append(c)
  elif kind == "lstm":
    g, p = gates(params, ["u", "f", "c", "o"])
    h = p["w_aa"].shape[1]
    if carry0 is None:
      c, a = np.zeros(h), np.zeros(h)
    else:
      c, a = (np.asarray(v, np.float64) for v in carry0)
    peep = p.get("w_pc")
    for x in xs:
      pre = {n: g[n][1] @ a + g[n][0] @ x + g[n][2] for n in "ufco"}
      if peep is not None:  # Γu, Γf read c⟨t−1⟩; Γo reads c⟨t−1⟩ ("seeds") or c⟨t⟩ ("gers")
        pre["u"] = pre["u"] + peep[:h] * c
        pre["f"] = pre["f"] + peep[h:2 * h] * c
        if opts["peephole"] == "seeds":
          pre["o"] = pre["o"] + peep[2 * h:] * c
      gu, gf = sigmoid(pre["u"]), sigmoid(pre["f"])
      ct = np.tanh(pre["c"])
      c = gu * ct + gf * c
      if peep is not None and opts["peephole"] == "gers":
        pre["o"] = pre["o"] + peep[2 * h:] * c
      go = sigmoid(pre["o"])
      a = go * np.tanh(c)
      carries.append((c, a))
      ys.append(a)
  else:
    raise ValueError(kind)
  return carries, ys


def run_batch(cell, params, xs, lengths=None, reverse=False, carry0=None):
  """Reference of rnn_jax.unroll semantics for a batch: returns (finals, ys [B, T, H])."""
  xs = np.asarray(xs, np.float64)
  bsz, t, _ = xs.shape
  h = np.asarray(params["w_aa"]).shape[1]
  lengths = [t] * bsz if lengths is None else [int(v) for v in lengths]
  ys = np.zeros((bsz, t, h))
  finals = []
  for b in range(bsz):
    n = lengths[b]
    seq = xs[b, :n][::-1] if reverse else xs[b, :n]
    c0 = None if carry0 is None else _index(carry0, b)
    carries, out = run_cell(cell.kind, cell.options, params, seq, c0)
    if n:
      out = np.stack(out)
      ys[b, :n] = out[::-1] if reverse else out
      finals.append(carries[-1])
    else:
      finals.append(
          c0 if c0 is not None else ((np.zeros(h),
                                      np.zeros(h)) if cell.kind == "lstm" else np.zeros(h)))
  return finals, ys


def _index(carry, b):
  if isinstance(carry, tuple):
    return tuple(np.asarray(c)[b] for c in carry)
  return np.asarray(carry)[b]


def stack_finals(finals):
  if isinstance(finals[0], tuple):
    return tuple(np.stack([f[i] for f in finals]) for i in range(len(finals[0])))
  return np.stack(finals)
