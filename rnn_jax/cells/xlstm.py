"""xLSTM's cells (Beck et al. 2024): sLSTM and mLSTM, with exponential input gates.

Both use a stabiliser state m⟨t⟩ so that exp() never overflows; with σ forget gates:

  log f⟨t⟩ = log σ(f̃⟨t⟩),   m⟨t⟩ = max(log f⟨t⟩ + m⟨t−1⟩, ĩ⟨t⟩)
  i′⟨t⟩ = exp(ĩ⟨t⟩ − m⟨t⟩),  f′⟨t⟩ = exp(log f⟨t⟩ + m⟨t−1⟩ − m⟨t⟩)          (both ≤ 1)

sLSTM (scalar memory, recurrent gates; w_ax [4H, D], R [4H, H], b_a [4H] in order i, f, z, o):
  [ĩ, f̃, z̃, õ] = w_ax x⟨t⟩ + R h⟨t−1⟩ + b_a
  c⟨t⟩ = f′ c⟨t−1⟩ + i′ tanh(z̃),  n⟨t⟩ = f′ n⟨t−1⟩ + i′,  h⟨t⟩ = σ(õ) ⊙ c⟨t⟩ / n⟨t⟩
  carry (c, n, m, h). ``stabilize=False`` runs the paper's unstabilised form (i = exp(ĩ),
  f = σ(f̃), m unused): the same h⟨t⟩ wherever exp(ĩ) does not overflow, since c and n are both
  scaled by exp(−m⟨t⟩). init: w_ax Glorot-uniform, R = 0 (xLSTM's "zeros" recurrent init),
  b_f = linspace(3, 6) over the H units, other biases 0. One head (xLSTM's sLSTM uses
  block-diagonal heads in R; here R is dense). R keeps the paper's name, apart from an LSTM's
  w_aa: the converters then refuse sLSTM params instead of reading them as an LSTM's.

mLSTM (matrix memory per head, no recurrent weights; ``heads`` heads of d = H/heads):
  q, k, v, õ = w x⟨t⟩ + b (each [H], split into heads), k ← k/√d,  ĩ, f̃ one scalar per head
  C⟨t⟩ = f′ C⟨t−1⟩ + i′ k vᵀ  [d, d],   n⟨t⟩ = f′ n⟨t−1⟩ + i′ k  [d]
  h̃⟨t⟩ = qᵀ C⟨t⟩ / max(|qᵀ n⟨t⟩|, exp(−m⟨t⟩)),   h⟨t⟩ = σ(õ) ⊙ h̃⟨t⟩
  (with the stabiliser this is the paper's qᵀC / max(|qᵀn|, 1) of the unscaled C, n). w_ax
  [4H + 2·heads, D] and b_a in order (q, k, v, o, ĩ, f̃); init: Glorot-uniform for q, k, v, o,
  zero weights for ĩ, f̃, b_ĩ ~ N(0, 0.1²), b_f̃ = linspace(3, 6) over heads (the xLSTM repo's
  mLSTM cell). carry (C [heads, d, d], n [heads, d], m [heads], h [H]). Because no gate reads
  h⟨t−1⟩, ``rnn_jax.mlstm_unroll`` also computes it in parallel and chunkwise form.

The empty memory starts at m⟨0⟩ = −10³⁰ (standing for −∞, so the first step has m⟨1⟩ = ĩ⟨1⟩,
as the xLSTM repo's rule for n = 0), which keeps the sequential, parallel and chunkwise forms
equal exactly.
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from rnn_jax.cells.base import gate_init, glorot_uniform, make_cell, mv
from rnn_jax.types import Cell, check_positive_int

M_EMPTY = -1e30


def stabilized(log_f, i_tilde, m_prev):
  """(m⟨t⟩, f′, i′) of the module docstring."""
  m = jnp.maximum(log_f + m_prev, i_tilde)
  return m, jnp.exp(log_f + m_prev - m), jnp.exp(i_tilde - m)


def slstm(stabilize: bool = True) -> Cell:
  """sLSTM: params ``w_ax [4H, D]``, ``R [4H, H]``, ``b_a [4H]`` in order (i, f, z, o)."""

  def biases(params, h, dtype, key):
    b = params["b_a"].at[h:2 * h].set(jnp.linspace(3.0, 6.0, h, dtype=dtype))
    return {"w_ax": params["w_ax"], "R": jnp.zeros((4 * h, h), dtype), "b_a": b}

  def gates(params, carry, xp):
    c, n, m, h = carry
    hid = h.shape[-1]
    pre = xp + mv(h, params["R"])
    i_t, f_t = pre[..., :hid], pre[..., hid:2 * hid]
    z, o = jnp.tanh(pre[..., 2 * hid:3 * hid]), jax.nn.sigmoid(pre[..., 3 * hid:])
    log_f = -jax.nn.softplus(-f_t)
    if stabilize:
      m, f, i = stabilized(log_f, i_t, m)
    else:
      f, i = jnp.exp(log_f), jnp.exp(i_t)
    c, n = f * c + i * z, f * n + i
    h = o * c / n
    return (c, n, m, h), h, None

  def initial_carry(hidden_size, dtype=jnp.float32):
    z = jnp.zeros((check_positive_int("hidden_size", hidden_size),), dtype)
    return z, z, jnp.full_like(z, M_EMPTY if stabilize else 0.0), z

  return make_cell(
      "slstm", {"stabilize": stabilize},
      gate_init(4, recurrent=False, bias_fn=biases),
      initial_carry,
      gates,
      hidden_size=lambda params: params["R"].shape[1])


def mlstm_split(xp, heads: int):
  """(q, k/√d, v, õ as [..., heads, d]; ĩ, f̃ as [..., heads]) of a projection xp."""
  hid = (xp.shape[-1] - 2 * heads) // 4
  d = hid // heads
  shape = xp.shape[:-1] + (heads, d)
  q, k, v, o = (xp[..., j * hid:(j + 1) * hid].reshape(shape) for j in range(4))
  return q, k / math.sqrt(d), v, o, xp[..., 4 * hid:4 * hid + heads], xp[..., 4 * hid + heads:]


def mlstm_readout(q, o, num, den, m):
  """h = σ(õ) ⊙ qᵀC / max(|qᵀn|, exp(−m)), heads merged: [..., heads, d] → [..., H]."""
  del q
  h = jax.nn.sigmoid(o) * num / jnp.maximum(jnp.abs(den), jnp.exp(-m))[..., None]
  return h.reshape(h.shape[:-2] + (h.shape[-2] * h.shape[-1],))


def mlstm(heads: int = 1) -> Cell:
  """mLSTM: params ``w_ax [4H + 2·heads, D]``, ``b_a [4H + 2·heads]`` (q, k, v, o, ĩ, f̃)."""
  heads = check_positive_int("heads", heads)

  def init(key, input_size, hidden_size, dtype=jnp.float32):
    d = check_positive_int("input_size", input_size)
    h = check_positive_int("hidden_size", hidden_size)
    if h % heads:
      raise ValueError(f"hidden_size must be a multiple of heads={heads}, got {h}.")
    kw, kb = jax.random.split(key)
    w = jnp.concatenate([glorot_uniform(kw, (4 * h, d), dtype), jnp.zeros((2 * heads, d), dtype)])
    b = jnp.concatenate([
        jnp.zeros((4 * h,), dtype), 0.1 * jax.random.normal(kb, (heads,), dtype),
        jnp.linspace(3.0, 6.0, heads, dtype=dtype)
    ])
    return {"w_ax": w, "b_a": b}

  def gates(params, carry, xp):
    big_c, n, m, _ = carry
    q, k, v, o, i_t, f_t = mlstm_split(xp, heads)
    m, f, i = stabilized(-jax.nn.softplus(-f_t), i_t, m)
    big_c = f[..., None, None] * big_c + i[..., None, None] * (k[..., :, None] * v[..., None, :])
    n = f[..., None] * n + i[..., None] * k
    num = jnp.einsum("...k,...kv->...v", q, big_c)
    h = mlstm_readout(q, o, num, jnp.sum(q * n, axis=-1), m)
    return (big_c, n, m, h), h, None

  def initial_carry(hidden_size, dtype=jnp.float32):
    h = check_positive_int("hidden_size", hidden_size)
    d = h // heads
    return (jnp.zeros((heads, d, d), dtype), jnp.zeros(
        (heads, d), dtype), jnp.full((heads,), M_EMPTY, dtype), jnp.zeros((h,), dtype))

  return make_cell(
      "mlstm", {"heads": heads},
      init,
      initial_carry,
      gates,
      hidden_size=lambda params: (params["b_a"].shape[0] - 2 * heads) // 4)
