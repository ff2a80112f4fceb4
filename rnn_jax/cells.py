"""Recurrent cells as pure functions of ONE example (no batch axis).

Every cell is a :class:`rnn_jax.types.Cell`. Weight matrices keep the seeds'
orientation (column vectors): ``w_ax`` is ``[G, D]`` and ``w_aa`` is ``[G, H]``,
so ``w_aa @ a⟨t−1⟩`` reads as in the notes (and as PyTorch's ``weight_hh``).
Fused matrices stack gate blocks of ``H`` rows in the order documented per cell.

Biases are folded into ``project`` (``w_ax x⟨t⟩ + b``), which ``unroll`` hoists
out of the time loop.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from rnn_jax.types import Cell, check_choice, check_positive_int

_ACTIVATIONS = {"tanh": jnp.tanh, "relu": jax.nn.relu}
_READOUTS = ("identity", "sigmoid", "softmax")


def _glorot(key, rows, cols, dtype):
  lim = jnp.sqrt(6.0 / (rows + cols)).astype(dtype)
  return jax.random.uniform(key, (rows, cols), dtype, -lim, lim)


def _recurrent_blocks(key, blocks, hidden, dtype, how="orthogonal"):
  """``blocks`` stacked H×H blocks, each orthogonal (or the identity)."""
  if how == "identity":
    return jnp.tile(jnp.eye(hidden, dtype=dtype), (blocks, 1))
  keys = jax.random.split(key, blocks)
  ortho = jax.nn.initializers.orthogonal()
  return jnp.concatenate([ortho(k, (hidden, hidden), dtype) for k in keys], axis=0)


def _gate_init(gates, recurrent_init="orthogonal", bias_fn=None, input_std=None):
  """init(key, D, H) for a cell with ``gates`` fused blocks of H rows; w_ax Glorot-uniform, or
  N(0, input_std²) when ``input_std`` is given."""

  def init(key, input_size, hidden_size, dtype=jnp.float32):
    d = check_positive_int("input_size", input_size)
    h = check_positive_int("hidden_size", hidden_size)
    kx, ka = jax.random.split(key)
    params = {
        "w_ax": (_glorot(kx, gates * h, d, dtype) if input_std is None else
                 jax.random.normal(kx, (gates * h, d), dtype) * jnp.asarray(input_std, dtype)),
        "w_aa": _recurrent_blocks(ka, gates, h, dtype, recurrent_init),
        "b_a": jnp.zeros((gates * h,), dtype),
    }
    if bias_fn is not None:  # its own key: the weights above do not depend on it
      params = bias_fn(params, h, dtype, jax.random.fold_in(key, 2))
    return params

  return init


def _zeros_carry(hidden_size, dtype=jnp.float32):
  return jnp.zeros((check_positive_int("hidden_size", hidden_size),), dtype)


def _mv(v, w):
  """w @ v for v of shape [..., K] and w [G, K].

  A single vector uses ``w @ v``: on XLA CPU ``v @ w.T`` with a 1-D ``v`` was
  measured 8x slower inside a scan (the transpose is materialised every step).
  Batches use the row-vector form ``v @ wᵀ``.
  """
  return w @ v if v.ndim == 1 else v @ w.T


def _project(params, x):
  return _mv(x, params["w_ax"]) + params["b_a"]


def _make(kind, options, init, initial_carry, recur, project=None, prepare=None, hidden_size=None):
  project = project or _project

  def step(params, carry, x):
    p = params if prepare is None else prepare(params)
    return recur(p, carry, project(p, x))

  return Cell(
      init=init,
      initial_carry=initial_carry,
      step=step,
      project=project,
      recur=recur,
      kind=kind,
      options=tuple(sorted(options.items())),
      hidden_size=hidden_size,
      prepare=prepare)


def simple_rnn(activation: str = "tanh",
               recurrent_init: str = "orthogonal",
               input_std: float | None = None) -> Cell:
  """Vanilla (Elman) RNN cell.

    a⟨t⟩ = g(w_aa a⟨t−1⟩ + w_ax x⟨t⟩ + b_a),   g ∈ {tanh, relu}

  Params: ``w_ax [H, D]``, ``w_aa [H, H]``, ``b_a [H]``. Carry: ``a [H]``.
  ``activation="relu", recurrent_init="identity"`` is the IRNN of Le, Jaitly &
  Hinton (2015), "A Simple Way to Initialize Recurrent Networks of ReLUs"; ``make_cell("irnn")``
  also draws w_ax from N(0, 0.001²) as they did (``input_std``; default: Glorot-uniform), which
  keeps a⟨t⟩ small while the identity w_aa carries it over hundreds of steps.
  """
  check_choice("activation", activation, _ACTIVATIONS)
  check_choice("recurrent_init", recurrent_init, ("orthogonal", "identity"))
  g = _ACTIVATIONS[activation]

  def recur(params, a_prev, xp):
    a = g(xp + _mv(a_prev, params["w_aa"]))
    return a, a

  if input_std is not None and not input_std > 0:
    raise ValueError(f"input_std must be > 0 or None, got {input_std!r}.")
  return _make("simple_rnn", {"activation": activation},
               _gate_init(1, recurrent_init, input_std=input_std), _zeros_carry, recur)


def _modrelu(z, b):
  """modReLU (Arjovsky et al. 2016), real form: sign(z) · relu(|z| + b)."""
  return jnp.sign(z) * jax.nn.relu(jnp.abs(z) + b)


def exp_rnn() -> Cell:
  """Orthogonal RNN with modReLU, parametrised by the matrix exponential (expRNN,
  Lezcano-Casado & Martínez-Rubio 2019).

    a⟨t⟩ = modrelu(w_aa a⟨t−1⟩ + w_ax x⟨t⟩; b_a),   w_aa = expm(A − Aᵀ),
    modrelu(z; b) = sign(z) · relu(|z| + b)

  A − Aᵀ is skew-symmetric, so w_aa is orthogonal for every A: ‖w_aa v‖ = ‖v‖ and all
  eigenvalues of w_aa lie on the unit circle, the products of Jacobians through time neither
  explode nor (apart from g′ of modReLU) vanish. Gradient descent on A keeps w_aa exactly
  orthogonal. Params: ``w_ax [H, D]``, ``log_w_aa [H, H]`` (A), ``b_a [H]`` (the modReLU bias);
  A starts as Henaff et al.'s (2016) block-diagonal rotations by angles θ ~ U(−π, π).
  ``prepare`` computes w_aa once per unroll. Backward: autodiff (no closed form).
  """

  def init(key, input_size, hidden_size, dtype=jnp.float32):
    d = check_positive_int("input_size", input_size)
    h = check_positive_int("hidden_size", hidden_size)
    kx, ka, kb = jax.random.split(key, 3)
    theta = jax.random.uniform(ka, (h // 2,), dtype, -jnp.pi, jnp.pi)
    rows = jnp.arange(h // 2) * 2
    skew = jnp.zeros((h, h), dtype).at[rows, rows + 1].set(theta)  # expm: 2×2 rotations by θ
    return {
        "w_ax": jax.random.normal(kx, (h, d), dtype) * jnp.sqrt(2.0 / d).astype(dtype),
        "log_w_aa": skew,
        "b_a": jax.random.uniform(kb, (h,), dtype, -0.01, 0.01)
    }

  def prepare(params):
    if "w_aa" in params:
      return params
    a = params["log_w_aa"]
    return {"w_ax": params["w_ax"], "w_aa": jax.scipy.linalg.expm(a - a.T), "b_a": params["b_a"]}

  def project(params, x):
    return _mv(x, params["w_ax"])

  def recur(params, a_prev, xp):
    a = _modrelu(xp + _mv(a_prev, params["w_aa"]), params["b_a"])
    return a, a

  return _make("exp_rnn", {}, init, _zeros_carry, recur, project, prepare,
               lambda p: p["w_ax"].shape[0])


def gru(reset: str = "before") -> Cell:
  """Full gated recurrent unit (Cho et al. 2014), as in the seeds.

    Γu = σ(w_u [c⟨t−1⟩, x⟨t⟩] + b_u)
    Γr = σ(w_r [c⟨t−1⟩, x⟨t⟩] + b_r)
    c̃⟨t⟩ = tanh(w_c [Γr * c⟨t−1⟩, x⟨t⟩] + b_c)               (reset="before")
    c̃⟨t⟩ = tanh(w_cx x⟨t⟩ + b_c + Γr * (w_cc c⟨t−1⟩ + b_cc))  (reset="after")
    c⟨t⟩ = a⟨t⟩ = Γu * c̃⟨t⟩ + (1 − Γu) * c⟨t−1⟩

  ``reset="after"`` is the variant of cuDNN, PyTorch and Flax (whose
  ``z = 1 − Γu``). Params: ``w_ax [3H, D]``, ``w_aa [3H, H]``, ``b_a [3H]``,
  gate order (u, r, c̃); ``reset="after"`` adds ``b_cc [H]``, the recurrent
  candidate bias inside the reset. Carry: ``c [H]``.
  """
  check_choice("reset", reset, ("before", "after"))

  def add_b_cc(params, h, dtype, key):
    return {**params, "b_cc": jnp.zeros((h,), dtype)}

  def recur(params, c_prev, xp):
    h = c_prev.shape[-1]
    w = params["w_aa"]
    ur = jax.nn.sigmoid(xp[..., :2 * h] + _mv(c_prev, w[:2 * h]))
    u, r = ur[..., :h], ur[..., h:]
    if reset == "before":
      c_tilde = jnp.tanh(xp[..., 2 * h:] + _mv(r * c_prev, w[2 * h:]))
    else:
      c_tilde = jnp.tanh(xp[..., 2 * h:] + r * (_mv(c_prev, w[2 * h:]) + params["b_cc"]))
    c = u * c_tilde + (1.0 - u) * c_prev
    return c, c

  init = _gate_init(3, bias_fn=add_b_cc if reset == "after" else None)
  return _make("gru", {"reset": reset}, init, _zeros_carry, recur)


def simplified_gru() -> Cell:
  """The seeds' simplified GRU (update gate only, no reset gate).

    Γu = σ(w_u [c⟨t−1⟩, x⟨t⟩] + b_u)
    c̃⟨t⟩ = tanh(w_c [c⟨t−1⟩, x⟨t⟩] + b_c)
    c⟨t⟩ = a⟨t⟩ = Γu * c̃⟨t⟩ + (1 − Γu) * c⟨t−1⟩

  Params: ``w_ax [2H, D]``, ``w_aa [2H, H]``, ``b_a [2H]``, order (u, c̃).
  """

  def recur(params, c_prev, xp):
    h = c_prev.shape[-1]
    pre = xp + _mv(c_prev, params["w_aa"])
    u, c_tilde = jax.nn.sigmoid(pre[..., :h]), jnp.tanh(pre[..., h:])
    c = u * c_tilde + (1.0 - u) * c_prev
    return c, c

  return _make("simplified_gru", {}, _gate_init(2), _zeros_carry, recur)


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
    with recurrent neural networks", eqs. 7–11): Γu and Γf read c⟨t−1⟩, Γo reads the NEW c⟨t⟩,
    so Γo is computed after c⟨t⟩. TensorFlow's ``use_peepholes`` is this form.
  * ``peephole="seeds"``: the lecture's variant, c⟨t−1⟩ into all three gates.
  * ``peephole=False`` / ``None``: no peepholes, no ``w_pc``.

  The closed-form rule in ``rnn_jax.bptt`` follows the same choice. Carry:
  ``(c, a)``, each ``[H]``.
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
    z = _zeros_carry(hidden_size, dtype)
    return (z, z)

  def recur(params, carry, xp):
    c_prev, a_prev = carry
    h = c_prev.shape[-1]
    pre = xp + _mv(a_prev, params["w_aa"])
    if peephole is not None:
      p = params["w_pc"]
      pre_u = pre[..., :h] + p[:h] * c_prev
      pre_f = pre[..., h:2 * h] + p[h:2 * h] * c_prev
    else:
      pre_u, pre_f = pre[..., :h], pre[..., h:2 * h]
    c = jax.nn.sigmoid(pre_u) * jnp.tanh(pre[..., 2 * h:3 * h]) + jax.nn.sigmoid(pre_f) * c_prev
    pre_o = pre[..., 3 * h:]
    if peephole is not None:
      pre_o = pre_o + p[2 * h:] * (c if peephole == "gers" else c_prev)
    a = jax.nn.sigmoid(pre_o) * jnp.tanh(c)
    return (c, a), a

  return _make("lstm", {
      "peephole": peephole,
      "chrono": chrono
  }, _gate_init(4, bias_fn=bias), initial_carry, recur)


def hidden_of(carry):
  """a⟨t⟩ of a carry: the carry itself, or the last element of a tuple (LSTM)."""
  return carry[-1] if isinstance(carry, tuple) else carry


# --------------------------------------------------------------------- readout


def _readout_init(key, hidden_size, output_size, dtype=jnp.float32):
  h = check_positive_int("hidden_size", hidden_size)
  v = check_positive_int("output_size", output_size)
  return {"w_ya": _glorot(key, v, h, dtype), "b_y": jnp.zeros((v,), dtype)}


def readout_logits(params, a):
  """z_y = w_ya a⟨t⟩ + b_y for ``a`` of shape ``[..., H]`` -> ``[..., V]``."""
  z = jnp.einsum("...h,vh->...v", a, params["w_ya"])
  return z + params["b_y"].reshape((1,) * (z.ndim - 1) + (-1,))


def dense(output: str = "identity"):
  """Readout ŷ⟨t⟩ = g_y(w_ya a⟨t⟩ + b_y), g_y ∈ {identity, sigmoid, softmax}.

  Returns ``(init, apply)``: ``init(key, hidden_size, output_size) ->
  {"w_ya": [V, H], "b_y": [V]}``; ``apply(params, a) -> ŷ`` for any leading
  axes of ``a``. Losses take the logits (``readout_logits``) for stability.
  """
  check_choice("output", output, _READOUTS)
  g_y = {
      "identity": lambda z: z,
      "sigmoid": jax.nn.sigmoid,
      "softmax": functools.partial(jax.nn.softmax, axis=-1)
  }[output]

  def apply(params, a):
    return g_y(readout_logits(params, a))

  return _readout_init, apply


def _min_cells():
  from rnn_jax import parallel_time  # parallel_time builds on this module
  return {"min_gru": parallel_time.min_gru, "min_lstm": parallel_time.min_lstm}


CELLS = {
    "simple_rnn":
        simple_rnn,
    "rnn":
        simple_rnn,
    "irnn":
        functools.partial(simple_rnn, activation="relu", recurrent_init="identity", input_std=1e-3),
    "gru":
        gru,
    "simplified_gru":
        simplified_gru,
    "lstm":
        lstm,
    "exp_rnn":
        exp_rnn,
}


def make_cell(name: str, **options) -> Cell:
  """Builds a cell by name (``simple_rnn``, ``irnn``, ``gru``, ``simplified_gru``, ``lstm``,
  ``exp_rnn``, ``min_gru``, ``min_lstm``)."""
  cells = {**CELLS, **_min_cells()}
  check_choice("cell", name, cells)
  return cells[name](**options)
