"""Closed-form BPTT against autodiff through an independent Python loop, finite
differences, truncation by hand, RTRL against the seeds' explicit sum."""
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.test_util import check_grads

import rnn_jax as rj
from tests.helpers import CELL_VARIANTS, max_rel_err, random_params

B, T, D, H, V = 3, 6, 2, 4, 3
LENGTHS = np.array([6, 2, 0])


def _problem(name, loss="squared", dtype=jnp.float64, seed=0):
  cell = CELL_VARIANTS[name]()
  key = jax.random.PRNGKey(seed)
  params = {
      "cell": random_params(cell, key, D, H, dtype, scale=0.5),
      "readout": rj.dense().init(jax.random.fold_in(key, 1), H, V, dtype)
  }
  xs = jax.random.normal(jax.random.fold_in(key, 2), (B, T, D), dtype)
  if loss == "softmax_cross_entropy":
    targets = jax.random.randint(jax.random.fold_in(key, 3), (B, T), 0, V)
  elif loss == "binary_cross_entropy":
    targets = jax.random.uniform(jax.random.fold_in(key, 3), (B, T, V), dtype)
  else:
    targets = jax.random.normal(jax.random.fold_in(key, 3), (B, T, V), dtype)
  carry0 = jax.tree_util.tree_map(
      lambda c: 0.3 * jax.random.normal(jax.random.fold_in(key, 4), (B,) + c.shape, dtype),
      cell.initial_carry(H, dtype))
  return cell, params, xs, targets, carry0


def _per_step(z, y, loss):
  """The seeds' per-step losses written out, independent of rnn_jax.losses."""
  if loss == "squared":
    return 0.5 * jnp.sum((z - y)**2)
  if loss == "binary_cross_entropy":
    return -jnp.sum(y * jax.nn.log_sigmoid(z) + (1 - y) * jax.nn.log_sigmoid(-z))
  return -jax.nn.log_softmax(z)[y]


def loop_loss(cell, params, xs, targets, lengths, carry0, loss="squared", truncate=None):
  """J = (1/B) Σ_b Σ_{t < len_b} L⟨t⟩ by Python loops; truncation by explicit stop_gradient."""
  total = 0.0
  for b in range(xs.shape[0]):
    carry = jax.tree_util.tree_map(lambda c: c[b], carry0)
    for t in range(int(lengths[b])):
      if truncate is not None and t > 0 and t % truncate == 0:
        carry = jax.lax.stop_gradient(carry)
      carry, a = cell.step(params["cell"], carry, xs[b, t])
      z = params["readout"]["w_ya"] @ a + params["readout"]["b_y"]
      total = total + _per_step(z, targets[b, t], loss)
  return total / xs.shape[0]


@pytest.mark.parametrize("name", sorted(CELL_VARIANTS))
def test_bptt_grads_equal_autodiff_of_loop_reference(name, x64):
  cell, params, xs, targets, carry0 = _problem(name)
  j, grads, d_carry = rj.bptt_grads(
      cell, params, xs, targets, lengths=LENGTHS, carry=carry0, return_carry_grad=True)
  ref_j, (ref_g, ref_dc) = jax.value_and_grad(
      loop_loss, argnums=(1, 5))(cell, params, xs, targets, LENGTHS, carry0)
  assert abs(float(j) - float(ref_j)) <= 1e-12 * abs(float(ref_j))
  jax.tree_util.tree_map(lambda a, b: np.testing.assert_equal(a.shape, b.shape), grads, ref_g)
  assert max_rel_err(grads, ref_g) <= 1e-9
  assert max_rel_err(d_carry, ref_dc) <= 1e-9


@pytest.mark.parametrize("loss", ["binary_cross_entropy", "softmax_cross_entropy"])
@pytest.mark.parametrize("name", ["tanh_rnn", "lstm"])
def test_bptt_grads_other_output_losses(name, loss, x64):
  cell, params, xs, targets, carry0 = _problem(name, loss)
  j, grads = rj.bptt_grads(cell, params, xs, targets, loss=loss, lengths=LENGTHS, carry=carry0)
  ref_j, ref_g = jax.value_and_grad(
      loop_loss, argnums=1)(cell, params, xs, targets, LENGTHS, carry0, loss)
  np.testing.assert_allclose(j, ref_j, rtol=1e-12)
  assert max_rel_err(grads, ref_g) <= 1e-9


def _unroll_loss(cell, params, xs, targets, carry0, backward, reverse=False, truncate=None):
  final, ys = rj.unroll(
      cell,
      params["cell"],
      xs,
      carry0,
      lengths=LENGTHS,
      reverse=reverse,
      backward=backward,
      truncate=truncate)
  j = rj.sequence_loss(
      rj.readout_logits(params["readout"], ys), targets, loss="squared", lengths=LENGTHS)
  # the final carry enters the loss too, so its cotangent path is exercised
  return j + 0.7 * sum(jnp.sum(jnp.sin(c)) for c in jax.tree_util.tree_leaves(final))


# Forward in time for every cell; reversed for two in the quick set, the rest in the slow set.
@pytest.mark.parametrize(
    "name,reverse", [(n, False) for n in sorted(CELL_VARIANTS)] +
    [(n, True) if n in ("gru_after", "lstm") else pytest.param(n, True, marks=pytest.mark.slow)
     for n in sorted(CELL_VARIANTS)])
def test_closed_form_backward_of_unroll_equals_autodiff(name, reverse, x64):
  cell, params, xs, targets, carry0 = _problem(name)
  g_ad = jax.grad(
      _unroll_loss, argnums=(1, 2, 4))(cell, params, xs, targets, carry0, "autodiff", reverse)
  g_cf = jax.grad(
      _unroll_loss, argnums=(1, 2, 4))(cell, params, xs, targets, carry0, "closed_form", reverse)
  assert max_rel_err(g_cf, g_ad) <= 1e-9


def _custom_vjp_calls(fn, *args):
  """How many custom-VJP calls the jaxpr of ``fn`` holds (the closed form is one)."""
  return str(jax.make_jaxpr(fn)(*args)).count("custom_vjp_call")


def test_auto_backward_is_the_closed_form_where_a_rule_exists():
  """Seen from outside: the traced loss holds the custom VJP (the closed form) exactly when the
  cell has a rule, and autodiff's holds none (tracing only; that the closed form's gradients
  equal autodiff's is tested above, for every cell)."""
  cells = {
      **{
          k: f() for k, f in CELL_VARIANTS.items()
      }, "exp_rnn": rj.exp_rnn(),
      "bf16_lstm": rj.mixed_precision(rj.lstm())
  }
  for name, cell in cells.items():
    _, params, xs, targets, carry0 = _problem("tanh_rnn", dtype=jnp.float32)
    params = {**params, "cell": cell.init(jax.random.PRNGKey(0), D, H)}
    carry0 = jax.tree_util.tree_map(lambda c: jnp.broadcast_to(c, (B,) + c.shape),
                                    cell.initial_carry(H))
    loss = lambda bw: lambda p: _unroll_loss(cell, p, xs, targets, carry0, bw, False)
    want = 1 if name in CELL_VARIANTS else 0  # no rule: exp_rnn, bfloat16 gates
    assert _custom_vjp_calls(loss("auto"), params) == want, name
    assert _custom_vjp_calls(loss("autodiff"), params) == 0, name


def test_auto_backward_falls_back_to_autodiff():
  from rnn_jax.unrolling import choose_backward
  lstm = rj.lstm()
  assert choose_backward(lstm, "auto") == "closed_form"
  assert choose_backward(rj.gru("before"), "auto") == "closed_form"
  assert choose_backward(rj.exp_rnn(), "auto") == "autodiff"  # no rule
  assert choose_backward(rj.mixed_precision(lstm), "auto") == "autodiff"  # bf16 gates
  assert choose_backward(lstm, "auto", return_carries=True) == "autodiff"
  assert choose_backward(lstm, "autodiff") == "autodiff"  # explicit choices are kept
  with pytest.raises(ValueError, match="backward must be one of .*'auto'"):
    choose_backward(lstm, "fast")
  # carries asked for: auto gives them (the closed form cannot)
  p = lstm.init(jax.random.PRNGKey(0), 2, 3)
  xs = jax.random.normal(jax.random.PRNGKey(1), (2, 4, 2))
  assert rj.unroll(lstm, p, xs, return_carries=True)[2][0].shape == (2, 4, 3)


def test_auto_backward_under_forward_mode_and_second_order(x64):
  """jacfwd and hessian (forward over reverse) need autodiff; auto sees the tangents."""
  cell, params, xs, targets, carry0 = _problem("lstm")
  loss = lambda s, bw: _unroll_loss(cell, {
      **params, "cell": jax.tree_util.tree_map(lambda w: w * s, params["cell"])
  }, xs, targets, carry0, bw, False)
  for transform in (jax.jacfwd, jax.hessian):
    got = jax.jit(transform(lambda s: loss(s, "auto")))(1.0)  # the transform inside the jit
    want = jax.jit(transform(lambda s: loss(s, "autodiff")))(1.0)
    np.testing.assert_allclose(got, want, rtol=1e-9)
  with pytest.raises(TypeError, match="forward-mode"):  # explicit closed form: JAX refuses
    jax.jacfwd(lambda s: loss(s, "closed_form"))(1.0)


@pytest.mark.parametrize(  # against autodiff for every cell above; three here in the quick set
    "name", [
        n if n in ("gru_after", "lstm_peephole",
                   "tanh_rnn") else pytest.param(n, marks=pytest.mark.slow)
        for n in sorted(CELL_VARIANTS)
    ])
def test_closed_form_matches_finite_differences(name, x64):
  cell, params, xs, targets, carry0 = _problem(name)
  f = lambda p, c: _unroll_loss(cell, p, xs, targets, c, "closed_form")
  check_grads(f, (params, carry0), order=1, modes=["rev"], atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize(  # each cell and each k once in the quick set, the rest slow
    "name,k", [(n, k) if (n, k) in (("tanh_rnn", 1), ("gru_before", 2),
                                    ("lstm", 4)) else pytest.param(n, k, marks=pytest.mark.slow)
               for n in ("tanh_rnn", "gru_before", "lstm")
               for k in (1, 2, 4)])
def test_truncated_bptt_equals_hand_truncated_loop(name, k, x64):
  cell, params, xs, targets, carry0 = _problem(name)
  ref = jax.grad(loop_loss, argnums=1)(cell, params, xs, targets, LENGTHS, carry0, "squared", k)
  _, by_hand = rj.bptt_grads(cell, params, xs, targets, lengths=LENGTHS, carry=carry0, truncate=k)
  assert max_rel_err(by_hand, ref) <= 1e-9
  for backward in ("autodiff", "closed_form"):

    def loss(p):
      _, ys = rj.unroll(cell, p["cell"], xs, carry0, lengths=LENGTHS, truncate=k, backward=backward)
      return rj.sequence_loss(
          rj.readout_logits(p["readout"], ys), targets, loss="squared", lengths=LENGTHS)

    assert max_rel_err(jax.grad(loss)(params), ref) <= 1e-9


def test_truncation_at_or_beyond_T_is_full_bptt(x64):
  cell, params, xs, targets, carry0 = _problem("lstm")
  full = rj.bptt_grads(cell, params, xs, targets, lengths=LENGTHS, carry=carry0)[1]
  for k in (T, T + 5):
    cut = rj.bptt_grads(cell, params, xs, targets, lengths=LENGTHS, carry=carry0, truncate=k)[1]
    jax.tree_util.tree_map(np.testing.assert_array_equal, cut, full)
  short = rj.bptt_grads(cell, params, xs, targets, lengths=LENGTHS, carry=carry0, truncate=2)[1]
  assert max_rel_err(short, full) > 1e-3  # truncation really changes the gradient


def test_custom_vjp_gives_same_updates_through_optimizer_steps(x64):
  cell, params, xs, targets, carry0 = _problem("lstm")
  tx = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(1e-2))

  def run(backward):
    p, s = params, tx.init(params)
    grad_fn = jax.jit(jax.grad(lambda p: _unroll_loss(cell, p, xs, targets, carry0, backward)))
    for _ in range(5):
      u, s = tx.update(grad_fn(p), s, p)
      p = optax.apply_updates(p, u)
    return p

  assert max_rel_err(run("closed_form"), run("autodiff")) <= 1e-9


def test_rtrl_equals_the_seeds_explicit_sum_for_a_scalar_rnn(x64):
  # H = D = 1: ∂a⟨t⟩/∂w_aa = Σ_{i=1..t} w_aa^{i−1} [Π_{j=0..i−1} g′(z⟨t−j⟩)] a⟨t−i⟩
  w_aa, w_ax, b = 0.9, 0.7, 0.1
  params = {"w_aa": jnp.array([[w_aa]]), "w_ax": jnp.array([[w_ax]]), "b_a": jnp.array([b])}
  xs = np.array([0.5, -1.0, 0.3, 0.8, -0.2])
  a, zs = [0.0], []
  for x in xs:
    zs.append(w_aa * a[-1] + w_ax * x + b)
    a.append(np.tanh(zs[-1]))
  g_prime = [1 - np.tanh(z)**2 for z in zs]
  explicit = []
  for t in range(1, len(xs) + 1):
    total = 0.0
    for i in range(1, t + 1):
      total += w_aa**(i - 1) * np.prod([g_prime[t - 1 - j] for j in range(i)]) * a[t - i]
    explicit.append(total)
  s = rj.rtrl_w_aa_sensitivity(params, jnp.asarray(xs)[:, None])
  np.testing.assert_allclose(s[:, 0, 0, 0], explicit, rtol=1e-12)


def test_rtrl_equals_forward_mode_jacobian(x64):
  cell = rj.simple_rnn("tanh")
  params = random_params(cell, jax.random.PRNGKey(0), 2, 3, jnp.float64)
  xs = jax.random.normal(jax.random.PRNGKey(1), (5, 2), jnp.float64)
  states = lambda w: rj.unroll(cell, {**params, "w_aa": w}, xs[None])[1][0]
  jac = jax.jacfwd(states)(params["w_aa"])  # [T, H, H, H]
  np.testing.assert_allclose(rj.rtrl_w_aa_sensitivity(params, xs), jac, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("call,match", [
    (lambda c, p, x, y: rj.bptt_grads(c, p, x, y, truncate=0), "truncate"),
    (lambda c, p, x, y: rj.bptt_grads(c, p, x, y[:, :-1]), "targets must have shape"),
    (lambda c, p, x, y: rj.bptt_grads(c, p, x, y, loss="hinge"), "loss must be one of"),
    (lambda c, p, x, y: rj.bptt_grads(c, p, x[0], y), "xs must have rank 3"),
    (lambda c, p, x, y: rj.bptt_grads(c, p, x, y, lengths=np.array([1, 2, 99])), "lengths"),
])
def test_bad_input(call, match):
  cell, params, xs, targets, _ = _problem("tanh_rnn", dtype=jnp.float32)
  with pytest.raises(ValueError, match=match):
    call(cell, params, xs, targets)


def test_bptt_grads_names_the_params_layout_it_expects():
  cell = rj.gru()
  cell_params = cell.init(jax.random.PRNGKey(0), 2, 3)
  xs = jnp.zeros((1, 4, 2))
  targets = jnp.zeros((1, 4, 1))
  with pytest.raises(ValueError, match=r"params must be \{'cell': cell params, 'readout'"):
    rj.bptt_grads(cell, cell_params, xs, targets)  # the cell's params alone
  readout = rj.dense().init(jax.random.PRNGKey(1), 3, 1)
  j, grads = rj.bptt_grads(
      cell, {
          "cell": cell_params,
          "readout": readout
      }, xs, targets, lengths=[4])
  assert set(grads) == {"cell", "readout"} and np.isfinite(float(j))
