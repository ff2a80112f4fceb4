"""Long short-term memory, with the paper's and the seeds' peephole connections."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from rnn_jax.cells.base import gate_init, lead, make_cell, rec, zeros_carry
from rnn_jax.types import Cell, check_choice

PEEPHOLES = ("gers", "seeds")


def peephole_form(peephole) -> str | None:
  """Normalises ``lstm(peephole=...)``: None, "gers" (also True) or "seeds"."""
  if peephole is None or peephole is False:
    return None
  if peephole is True:
    return "gers"
  check_choice("peephole", peephole, PEEPHOLES)
  return peephole


def lstm(peephole: bool | str | None = False,
         forget_bias: float = 1.0,
         chrono: int | None = None) -> Cell:
  """Long short-term memory (Hochreiter & Schmidhuber 1997), as in the seeds.

    Γu = σ(w_u [a⟨t−1⟩, x⟨t⟩] + b_u)        (update / input gate)
    Γf = σ(w_f [a⟨t−1⟩, x⟨t⟩] + b_f)        (forget gate)
    c̃⟨t⟩ = tanh(w_c [a⟨t−1⟩, x⟨t⟩] + b_c)
    Γo = σ(w_o [a⟨t−1⟩, x⟨t⟩] + b_o)        (output gate)
    c⟨t⟩ = Γu * c̃⟨t⟩ + Γf * c⟨t−1⟩
    a⟨t⟩ = Γo * tanh(c⟨t⟩)

  Params: ``w_ax [4H, D]``, ``w_aa [4H, H]``, ``b_a [4H]``, gate order
  (u, f, c̃, o), the same as PyTorch's and Flax's (i, f, g, o). ``forget_bias``
  is added to ``b_f`` at init only (Gers et al. 2000; Jozefowicz et al. 2015).

  Peepholes add the cell state to the gate pre-activations through diagonal
  weights ``w_pc [3H]`` for (Γu, Γf, Γo):

  * ``peephole="gers"`` (or ``True``): the paper's form (Gers & Schmidhuber 2000,
    "Recurrent nets that time and count"; Graves 2013, "Generating sequences
    with recurrent neural networks", eqs. 7–11): Γu and Γf read c⟨t−1⟩, Γo reads
    the NEW c⟨t⟩, so Γo is computed after c⟨t⟩. TensorFlow's ``use_peepholes`` is
    this form.
  * ``peephole="seeds"``: the lecture's variant, c⟨t−1⟩ into all three gates.
  * ``peephole=False`` / ``None``: no peepholes, no ``w_pc``.

  The closed-form rule in ``rnn_jax.bptt`` follows the same choice. Carry:
  ``(c, a)``, each ``[H]``. Gate residuals: ([Γu, Γf, c̃, Γo] ``[..., 4H]``, tanh c⟨t⟩, c⟨t⟩).
  ``chrono=T_max`` replaces the forget bias by chrono initialisation (Tallec &
  Ollivier 2018): b_f ~ log U(1, T_max − 1) and b_u = −b_f, so the units start
  with memories spread over time scales up to T_max steps.
  """
  forget_bias = float(forget_bias)
  peephole = peephole_form(peephole)
  if chrono is not None and (isinstance(chrono, bool) or not isinstance(chrono, int) or chrono < 3):
    raise ValueError(f"chrono must be an int T_max >= 3 or None, got {chrono!r}.")

  def bias(params, h, dtype, key):
    if chrono is None:
      b = params["b_a"].at[h:2 * h].set(forget_bias)
    else:
      b_f = jnp.log(jax.random.uniform(key, (h,), dtype, 1.0, chrono - 1.0))
      b = params["b_a"].at[h:2 * h].set(b_f).at[:h].set(-b_f)
    params = {**params, "b_a": b}
    if peephole is not None:
      params["w_pc"] = jnp.zeros((3 * h,), dtype)
    return params

  def initial_carry(hidden_size, dtype=jnp.float32):
    z = zeros_carry(hidden_size, dtype)
    return (z, z)

  def gates(params, carry, xp):
    c_prev, a_prev = carry
    h = c_prev.shape[-1]
    pre = xp + rec(params, a_prev, "all", slice(None))
    pre_uf = pre[..., :2 * h]
    if peephole is not None:
      p = lead(params["w_pc"], c_prev)
      pre_uf = pre_uf + jnp.concatenate([p[..., :h] * c_prev, p[..., h:2 * h] * c_prev], axis=-1)
    uf = jax.nn.sigmoid(pre_uf)
    c_tilde = jnp.tanh(pre[..., 2 * h:3 * h])
    c = uf[..., :h] * c_tilde + uf[..., h:] * c_prev
    pre_o = pre[..., 3 * h:]
    if peephole is not None:
      pre_o = pre_o + p[..., 2 * h:] * (c if peephole == "gers" else c_prev)
    o = jax.nn.sigmoid(pre_o)
    tanh_c = jnp.tanh(c)
    a = o * tanh_c
    return (c, a), a, (jnp.concatenate([uf, c_tilde, o], axis=-1), tanh_c, c)

  return make_cell("lstm", {
      "peephole": peephole,
      "chrono": chrono
  }, gate_init(4, bias_fn=bias), initial_carry, gates)
