"""The papers' equations for LRU, S5, RG-LRU, S6, sLSTM and mLSTM, one step at a time, in
float64 NumPy: written from the papers (notation of the cells' docstrings), sharing no code
with rnn_jax. Each returns (outputs [T, H], final state) from inputs xs [T, D] and an initial
state in the paper's own (unscaled, complex where the paper's is) form."""
import numpy as np


def _np(params):
  return {k: np.asarray(v, np.float64) for k, v in params.items()}


def sigmoid(z):
  return 1.0 / (1.0 + np.exp(-z))


def lru(params, xs, h):
  p = _np(params)
  lam = np.exp(-np.exp(p["nu_log"]) + 1j * np.exp(p["theta_log"]))
  b = p["B_re"] + 1j * p["B_im"]
  c = p["C_re"] + 1j * p["C_im"]
  ys = []
  for x in np.asarray(xs, np.float64):
    h = lam * h + np.exp(p["gamma_log"]) * (b @ x)
    ys.append((c @ h).real + p["D"] @ x)
  return np.array(ys), h


def s5(params, xs, h):
  p = _np(params)
  lam = p["Lambda_re"] + 1j * p["Lambda_im"]
  delta = np.exp(p["log_step"])
  lam_bar = np.exp(lam * delta)
  b_bar = ((lam_bar - 1.0) / lam)[:, None] * (p["B_re"] + 1j * p["B_im"])
  c = p["C_re"] + 1j * p["C_im"]
  ys = []
  for x in np.asarray(xs, np.float64):
    h = lam_bar * h + b_bar @ x
    ys.append(2.0 * (c @ h).real + p["D"] @ x)
  return np.array(ys), h


def rg_lru(params, xs, h, c=8.0):
  p = _np(params)
  n = p["Lambda"].shape[0]
  ys = []
  for x in np.asarray(xs, np.float64):
    z = p["w_ax"] @ x + p["b_a"]
    r, i, xt = sigmoid(z[:n]), sigmoid(z[n:2 * n]), z[2 * n:]
    a = sigmoid(p["Lambda"])**(c * r)
    h = a * h + np.sqrt(1.0 - a**2) * (i * xt)
    ys.append(h)
  return np.array(ys), h


def s6(params, xs, h):
  p = _np(params)
  hid, n = p["A_log"].shape
  a_cont = -np.exp(p["A_log"])
  ys = []
  for x in np.asarray(xs, np.float64):
    z = p["w_ax"] @ x
    u, dt = z[:hid], np.log1p(np.exp(z[hid:2 * hid] + p["b_delta"]))
    b, c = z[2 * hid:2 * hid + n], z[2 * hid + n:]
    h = np.exp(dt[:, None] * a_cont) * h + (dt * u)[:, None] * b[None, :]
    ys.append(h @ c + p["D"] * u)
  return np.array(ys), h


def slstm(params, xs, state):
  """The unstabilised sLSTM of the paper: i = exp(ĩ), f = σ(f̃); state (c, n, h)."""
  p = _np(params)
  c, n, h = state
  hid = h.shape[0]
  ys = []
  for x in np.asarray(xs, np.float64):
    z = p["w_ax"] @ x + p["R"] @ h + p["b_a"]
    i, f = np.exp(z[:hid]), sigmoid(z[hid:2 * hid])
    c = f * c + i * np.tanh(z[2 * hid:3 * hid])
    n = f * n + i
    h = sigmoid(z[3 * hid:]) * c / n
    ys.append(h)
  return np.array(ys), (c, n, h)


def mlstm(params, xs, state, heads):
  """The unstabilised mLSTM of the paper, per head: C = f C + i v kᵀ, n = f n + i k,
  h̃ = C q / max(|nᵀq|, 1), h = σ(õ) ⊙ h̃; state (C [heads, d, d] as v kᵀ, n [heads, d])."""
  p = _np(params)
  big_c, n = state
  hid = (p["b_a"].shape[0] - 2 * heads) // 4
  d = hid // heads
  ys = []
  for x in np.asarray(xs, np.float64):
    z = p["w_ax"] @ x + p["b_a"]
    q, k, v, o = (z[j * hid:(j + 1) * hid].reshape(heads, d) for j in range(4))
    k = k / np.sqrt(d)
    i, f = np.exp(z[4 * hid:4 * hid + heads]), sigmoid(z[4 * hid + heads:])
    out = []
    for j in range(heads):
      big_c[j] = f[j] * big_c[j] + i[j] * np.outer(v[j], k[j])
      n[j] = f[j] * n[j] + i[j] * k[j]
      out.append(sigmoid(o[j]) * (big_c[j] @ q[j]) / max(abs(n[j] @ q[j]), 1.0))
    ys.append(np.concatenate(out))
  return np.array(ys), (big_c, n)
