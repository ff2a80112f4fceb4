"""The residual blocks that the papers of the new cells train, as layers ``stacked`` composes.

Every block is pre-norm and residual on a stream of width H (``hidden_size``; inputs of another
width D are first mapped to H by ``w_in``):

  u = x (or w_in x),   v = u + mixer(RMSNorm(u)),   y = v + MLP(RMSNorm(v))   (MLP optional)

with RMSNorm(u) = u / √(mean(u²) + 10⁻⁶) ⊙ scale, the gated MLP W_down (GeLU(W_gate n) ⊙ W_up n)
of width ``mlp_expand``·H, and one mixer per paper (E = round(``expand``·H) inner units):

  hawk   (De et al. 2024, Griffin's recurrent block): W_o (RG-LRU(Conv₄(W_a n)) ⊙ GeLU(W_g n));
         MLP expansion 3.
  mamba  (Gu & Dao 2023, the Mamba block): [x, z] = W_in n; W_o (S6(SiLU(Conv₄(x))) ⊙ SiLU(z));
         expansion 2, no MLP.
  mlstm  (Beck et al. 2024, pre-up-projection block): [x, z] = W_up n; c = SiLU(Conv₄(x));
         W_down ((mLSTM(c) + s ⊙ c) ⊙ SiLU(z)) with a learnt skip s; expansion 2, no MLP.
  slstm  (Beck et al. 2024, post-up-projection block): W_o sLSTM(SiLU(Conv₄(n))); MLP
         expansion 4/3.
  lru, s5 (Orvieto et al. 2023; Smith et al. 2023): GLU(GeLU(cell(n))) = W₁g ⊙ σ(W₂g); no MLP.

Conv₄ is a causal depthwise convolution of width 4 over time. Simplifications, all documented
here: the mLSTM block feeds the convolved c to q, k and v alike (xLSTM takes v from x before the
convolution) and has no per-head group norm; the sLSTM block has one head and no group norm;
Griffin's gates are block-diagonal, here dense; no dropout.

Each block is causal and decodes step by step (``step``): its carry is (the last 3 inputs of its
convolution [B, 3, E], the cell's carry). ``apply`` with a carry continues from it, and with
``lengths`` its final carry is the one after each sequence's last valid step, so ``apply`` over
a prefix, then ``step`` over the rest, equals ``apply`` over the whole. ``parallel=True`` runs
the linear cells through ``linear_unroll`` and the mLSTM through ``mlstm_unroll`` (chunk 64).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from rnn_jax.cells import lru, mlstm, rg_lru, s5, s6, slstm
from rnn_jax.cells.base import glorot_uniform, lead
from rnn_jax.layers import Layer
from rnn_jax.parallel_forms import linear_unroll, mlstm_unroll
from rnn_jax.recurrence import batch_carry, time_mask
from rnn_jax.types import check_choice, check_positive_int
from rnn_jax.unrolling import unroll

WIDTH = 4  # the causal convolution's width
KINDS = {  # cell, expand (E/H), branches of the in-projection, convolution, mlp_expand
    "hawk": (rg_lru, 1.0, 2, True, 3.0),
    "mamba": (s6, 2.0, 2, True, None),
    "mlstm": (mlstm, 2.0, 2, True, None),
    "slstm": (slstm, 1.0, 1, True, 4.0 / 3.0),
    "lru": (lru, 1.0, 1, False, None),
    "s5": (s5, 1.0, 1, False, None),
}


def rms_norm(scale, u, eps: float = 1e-6):
  return u * jax.lax.rsqrt(jnp.mean(u * u, axis=-1, keepdims=True) + eps) * lead(scale, u)


def _dense(key, rows, cols, dtype):
  return glorot_uniform(key, (rows, cols), dtype)


def causal_conv(params, u, buffer):
  """Depthwise causal convolution: y⟨t⟩ = Σ_j w_j ⊙ u⟨t − 3 + j⟩ + b over [buffer, u]."""
  full = jnp.concatenate([buffer, u], axis=1)
  time = u.shape[1]
  out = sum(lead(params["conv_w"][j], u) * full[:, j:j + time] for j in range(WIDTH))
  return out + lead(params["conv_b"], u)


def block(kind: str, *, expand: float | None = None, parallel: bool = False) -> Layer:
  """A residual block of ``kind`` in ``KINDS`` (module docstring) as a :class:`Layer` of
  output width H = ``hidden_size``."""
  check_choice("kind", kind, KINDS)
  make, default_expand, branches, conv, mlp_expand = KINDS[kind]
  expand = default_expand if expand is None else expand
  if not expand > 0:
    raise ValueError(f"expand must be > 0, got {expand!r}.")

  def cell_of(e):
    """The block's cell for E inner units (the mLSTM takes 4 heads, or as many as divide E)."""
    return make(heads=next(n for n in (4, 2, 1) if e % n == 0)) if kind == "mlstm" else make()

  def inner(hidden):
    return max(1, round(expand * hidden))

  def init(key, input_size, hidden_size, dtype=jnp.float32):
    d = check_positive_int("input_size", input_size)
    h = check_positive_int("hidden_size", hidden_size)
    e = inner(h)
    k = jax.random.split(key, 8)
    p = {
        "norm": jnp.ones((h,), dtype),
        "w_mix": _dense(k[0], branches * e, h, dtype),
        "cell": cell_of(e).init(k[1], e, e, dtype),
        "w_out": _dense(k[2], h, e, dtype)
    }
    if d != h:
      p["w_in"] = _dense(k[3], h, d, dtype)
    if conv:
      p["conv_w"] = jax.random.normal(k[4], (WIDTH, e), dtype) / WIDTH
      p["conv_b"] = jnp.zeros((e,), dtype)
    if kind in ("lru", "s5"):
      p["w_glu"] = _dense(k[5], h, e, dtype)
    if kind == "mlstm":
      p["skip"] = jnp.ones((e,), dtype)
    if mlp_expand:
      m = max(1, round(mlp_expand * h))
      p.update(
          mlp_norm=jnp.ones((h,), dtype),
          w_gate=_dense(k[6], m, h, dtype),
          w_up=_dense(k[7], m, h, dtype),
          w_down=_dense(jax.random.fold_in(key, 9), h, m, dtype))
    return p

  def run_cell(p, xs, carry, lengths, options):
    cell = cell_of(xs.shape[-1])
    if parallel and cell.linear is not None:
      return linear_unroll(cell, p, xs, carry, lengths=lengths)
    if parallel and kind == "mlstm":
      return mlstm_unroll(cell, p, xs, carry, lengths=lengths, chunk=64)
    return unroll(cell, p, xs, carry, lengths=lengths, **options)

  def mixer(p, n, carry, lengths, options):
    """(new carry, mixer output [B, T, H]) from the normed stream n [B, T, H]."""
    buffer, cell_carry = carry
    e = p["w_out"].shape[1]
    z = n @ p["w_mix"].T
    x, gate = z[..., :e], z[..., e:]
    if conv:
      c = causal_conv(p, x, buffer)
      buffer = _last_inputs(jnp.concatenate([buffer, x], axis=1), lengths, x.shape[1])
      x = c if kind == "hawk" else jax.nn.silu(c)
    final, ys = run_cell(p["cell"], x, cell_carry, lengths, options)
    if kind == "hawk":
      ys = ys * jax.nn.gelu(gate)
    elif kind == "mamba":
      ys = ys * jax.nn.silu(gate)
    elif kind == "mlstm":
      ys = (ys + lead(p["skip"], x) * x) * jax.nn.silu(gate)
    elif kind in ("lru", "s5"):
      g = jax.nn.gelu(ys)
      return (buffer, final), (g @ p["w_out"].T) * jax.nn.sigmoid(g @ p["w_glu"].T)
    return (buffer, final), ys @ p["w_out"].T

  def apply(params, xs, carry=None, *, lengths=None, key=None, **options):
    del key
    if xs.ndim != 3:
      raise ValueError(f"xs must have shape [B, T, D], got {xs.shape}.")
    carry = initial_carry(params, xs.shape[0], xs.dtype) if carry is None else carry
    if lengths is not None:  # nothing after a length is read (not even NaN, nor in gradients)
      xs = jnp.where(time_mask(jnp.asarray(lengths), xs.shape[1])[..., None], xs, 0.0)
    u = xs @ params["w_in"].T if "w_in" in params else xs
    carry, mixed = mixer(params, rms_norm(params["norm"], u), carry, lengths, options)
    v = u + mixed
    if mlp_expand:
      n = rms_norm(params["mlp_norm"], v)
      v = v + (jax.nn.gelu(n @ params["w_gate"].T) * (n @ params["w_up"].T)) @ params["w_down"].T
    if lengths is not None:
      v = jnp.where(time_mask(jnp.asarray(lengths), v.shape[1])[..., None], v, 0.0)
    return carry, v

  def initial_carry(params, batch, dtype=jnp.float32):
    e = params["w_out"].shape[1]
    return (jnp.zeros((batch, WIDTH - 1, e),
                      dtype), batch_carry(cell_of(e).initial_carry(e, dtype), batch))

  def step(params, carry, x):
    carry, y = apply(params, x[:, None, :], carry)
    return carry, y[:, 0]

  return Layer(init, apply, lambda h: h, initial_carry, step)


def _last_inputs(full, lengths, time):
  """The last WIDTH − 1 rows of ``full [B, WIDTH − 1 + T, E]`` before each sequence's end."""
  if lengths is None:
    return full[:, time:]
  end = jnp.asarray(lengths)[:, None] + jnp.arange(WIDTH - 1)[None, :]  # [B, WIDTH − 1]
  return jnp.take_along_axis(full, end[..., None], axis=1)
