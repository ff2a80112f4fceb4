"""The backends of ``unroll``: the Pallas time-loop kernel (interpret mode on this CPU), the
cuDNN path (JAX's own reference ``lstm_ref`` standing in for cuDNN), the weight conversion to
cuDNN's flat vector, and ``auto``'s rule. The references are independent computations:
``backend="scan"`` with ``backward="autodiff"`` (``jax.grad`` through ``lax.scan``, not the
closed-form rules the Pallas kernel runs) and ``jax.experimental.rnn.lstm_ref``."""
import chex
import jax
import jax.extend
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import rnn as jax_rnn

import rnn_jax as rj
from rnn_jax.backends import Backend, choose_backend, refusal
from rnn_jax.interop import cudnn_shape, from_cudnn, to_cudnn, torch_like
from rnn_jax.kernels import cudnn_unroll, lstm_reference, pallas_loop

CELLS = {
    "lstm": rj.lstm,
    "gru": rj.gru,
    "simple_rnn_tanh": lambda: rj.simple_rnn("tanh"),
    "simple_rnn_relu": lambda: rj.simple_rnn("relu"),
    "simplified_gru": lambda: rj.make_cell("simplified_gru"),
}


def _weighted_loss(cell, backend, backward, lengths, reverse, truncate=None, remat=None):
  """A loss that reads every output step (with different weights) and the final carry."""

  def loss(params, xs, carry):
    final, ys = rj.unroll(
        cell,
        params,
        xs,
        carry,
        lengths=lengths,
        reverse=reverse,
        backend=backend,
        backward=backward,
        truncate=truncate,
        remat=remat)
    w = jnp.arange(1, ys.shape[1] + 1, dtype=ys.dtype)[None, :, None]
    return jnp.sum(jnp.sin(ys) * w) + sum(jnp.sum(c**2) for c in jax.tree_util.tree_leaves(final))

  return jax.jit(jax.value_and_grad(loss, argnums=(0, 1, 2)))


def _case(cell, batch, time, features, hidden, dtype, seed=0):
  k = jax.random.split(jax.random.PRNGKey(seed), 4)
  params = cell.init(k[0], features, hidden, dtype)
  xs = jax.random.normal(k[1], (batch, time, features), dtype)
  carry = jax.tree_util.tree_map(lambda z: 0.5 * jax.random.normal(k[2], (batch,) + z.shape, dtype),
                                 cell.initial_carry(hidden, dtype))
  return params, xs, carry


# every cell both ways; the reversed runs of the three simplest cells are in the slow set
PALLAS_CASES = [
    pytest.param(n, r, marks=[pytest.mark.slow] if r and n not in ("lstm", "gru") else [])
    for n in sorted(CELLS)
    for r in (False, True)
]


@pytest.mark.parametrize("name,reverse", PALLAS_CASES)
def test_pallas_kernel_equals_scan_float32(name, reverse):
  # Given a cell at odd sizes (H = 7, D = 3, T = 9), lengths that include 0, NaN in the
  # padding and a nonzero initial carry
  cell = CELLS[name]()
  params, xs, carry = _case(cell, 3, 9, 3, 7, jnp.float32)
  lengths = jnp.array([9, 0, 5])
  xs = xs.at[2, 5:].set(jnp.nan)
  # When the Pallas kernel and lax.scan (autodiff) each compute the loss and its gradients
  got = _weighted_loss(cell, "pallas", "auto", lengths, reverse)(params, xs, carry)
  want = _weighted_loss(cell, "scan", "autodiff", lengths, reverse)(params, xs, carry)
  # Then values and gradients agree to float32 rounding, and no NaN leaked
  chex.assert_trees_all_close(got, want, rtol=1e-5, atol=1e-5)
  assert all(bool(jnp.all(jnp.isfinite(g))) for g in jax.tree_util.tree_leaves(got[1][0]))


@pytest.mark.parametrize("name", ["lstm", pytest.param("gru", marks=pytest.mark.slow)])
def test_pallas_kernel_equals_scan_float64_batch_one(x64, name):
  # Given B = 1 in float64 and truncation every 3 steps of a length T = 8 does not divide
  cell = CELLS[name]()
  params, xs, carry = _case(cell, 1, 8, 2, 5, jnp.float64, seed=3)
  # When both backends differentiate through the truncated recurrence
  got = _weighted_loss(cell, "pallas", "auto", None, False, truncate=3)(params, xs, carry)
  want = _weighted_loss(cell, "scan", "autodiff", None, False, truncate=3)(params, xs, carry)
  # Then they agree to 1e-12
  chex.assert_trees_all_close(got, want, rtol=1e-12, atol=1e-12)


def test_pallas_kernel_inside_remat_chunks_a_length_does_not_divide():
  # Given an LSTM checkpointed in chunks of 3 over T = 8, with lengths
  cell = rj.lstm()
  params, xs, carry = _case(cell, 2, 8, 3, 4, jnp.float32, seed=5)
  lengths = jnp.array([8, 5])
  got = _weighted_loss(cell, "pallas", "auto", lengths, False, remat=3)(params, xs, carry)
  want = _weighted_loss(cell, "scan", "autodiff", lengths, False)(params, xs, carry)
  # Then values and gradients are the unchunked scan's
  chex.assert_trees_all_close(got, want, rtol=1e-5, atol=1e-5)


def test_pallas_loop_pads_a_batch_the_tile_does_not_divide():
  # Given a body with a weight, a two-leaf carry and a tile of 2 rows for B = 5
  k = jax.random.split(jax.random.PRNGKey(1), 4)
  w = jax.random.normal(k[0], (4, 4)) * 0.5
  carry = (jax.random.normal(k[1], (5, 4)), jnp.zeros((5,)))
  xs = jax.random.normal(k[2], (6, 5, 4))

  def body(w, c, x):
    h = jnp.tanh(x + c[0] @ w.T)
    return (h, c[1] + h.sum(-1)), (h, h[:, 0])

  for reverse in (False, True):
    # When pallas_loop (interpret mode) and lax.scan run it
    got = pallas_loop(tile=2)(body, w, carry, xs, reverse)
    want = jax.lax.scan(lambda c, x: body(w, c, x), carry, xs, reverse=reverse)
    # Then the final carries and every output agree
    chex.assert_trees_all_close(got, want, rtol=1e-6, atol=1e-6)


def test_pallas_backend_runs_inside_layers_and_models():
  # Given a bidirectional two-layer GRU and a many-to-one model, each run with backend="pallas"
  layer = rj.stacked([rj.bidirectional(rj.gru())] * 2)
  params = layer.init(jax.random.PRNGKey(0), 3, 4)
  xs = jax.random.normal(jax.random.PRNGKey(1), (2, 5, 3))
  lengths = jnp.array([5, 2])

  def loss(p, backend, backward):
    return jnp.sum(layer.apply(p, xs, lengths=lengths, backend=backend, backward=backward)[1]**2)

  # When both backends differentiate it
  got = jax.jit(jax.value_and_grad(lambda p: loss(p, "pallas", "auto")))(params)
  want = jax.jit(jax.value_and_grad(lambda p: loss(p, "scan", "autodiff")))(params)
  # Then they agree, and the model's logits too
  chex.assert_trees_all_close(got, want, rtol=1e-5, atol=1e-5)
  model = rj.models.many_to_one(rj.lstm(), 3, 4, 2, backend="pallas")
  mp = model.init(jax.random.PRNGKey(2))
  ref = rj.models.many_to_one(rj.lstm(), 3, 4, 2, backend="scan")
  np.testing.assert_allclose(model.apply(mp, xs, lengths), ref.apply(mp, xs, lengths), atol=1e-6)


def test_pallas_jaxpr_holds_one_kernel_per_direction():
  # Given an LSTM's gradient through backend="pallas"
  cell = rj.lstm()
  params, xs, carry = _case(cell, 2, 4, 3, 4, jnp.float32)
  grad = jax.grad(lambda p: jnp.sum(rj.unroll(cell, p, xs, carry, backend="pallas")[1]))
  # When it is traced
  names = _primitives(jax.make_jaxpr(grad)(params).jaxpr)
  # Then the forward and the reverse loop are each one pallas_call, and no loop is left
  # outside the kernels
  assert names.count("pallas_call") == 2
  assert "scan" not in names and "while" not in names


def _primitives(jaxpr):
  """The primitive names of ``jaxpr`` and its sub-jaxprs, not looking inside a pallas_call."""
  names = []
  for eqn in jaxpr.eqns:
    names.append(eqn.primitive.name)
    if eqn.primitive.name == "pallas_call":
      continue
    for sub in jax.extend.core.jaxprs_in_params(eqn.params):
      names += _primitives(sub)
  return names


@pytest.mark.parametrize(
    "layers,bidirectional",
    [(1, False), pytest.param(2, False, marks=pytest.mark.slow), (2, True)])
def test_cudnn_weights_round_trip_and_equal_lstm_ref_both_ways(layers, bidirectional):
  # Given our stacked LSTM and cuDNN's flat weights drawn by JAX (two nonzero biases)
  layer = torch_like("lstm", layers, bidirectional)
  params = layer.init(jax.random.PRNGKey(0), 3, 5)
  xs = jax.random.normal(jax.random.PRNGKey(1), (4, 6, 3))
  lengths = jnp.array([6, 1, 3, 5], jnp.int32)
  zeros = jnp.zeros(((2 if bidirectional else 1) * layers, 4, 5))

  def ref(w):
    unpacked = jax_rnn.unpack_lstm_weights(w, 3, 5, layers, bidirectional)
    return jax_rnn.lstm_ref(xs, zeros, zeros, *unpacked, lengths, 3, 5, layers, 0.0, bidirectional)

  # When converting ours to cuDNN's, and cuDNN's to ours
  flat = to_cudnn(params)
  drawn = jax_rnn.init_lstm_weight(jax.random.PRNGKey(2), 3, 5, layers, bidirectional)
  # Then the length is JAX's count, ours survive the round trip exactly, and each pair of
  # weights computes the same outputs as lstm_ref
  assert flat.shape == (jax_rnn.get_num_params_in_lstm(3, 5, layers, bidirectional),)
  assert cudnn_shape(params) == {
      "input_size": 3,
      "hidden_size": 5,
      "num_layers": layers,
      "bidirectional": bidirectional
  }
  chex.assert_trees_all_equal(from_cudnn(flat, 3, 5, layers, bidirectional), params)
  np.testing.assert_allclose(layer.apply(params, xs, lengths=lengths)[1], ref(flat)[0], atol=2e-6)
  ours = from_cudnn(drawn, 3, 5, layers, bidirectional)
  np.testing.assert_allclose(layer.apply(ours, xs, lengths=lengths)[1], ref(drawn)[0], atol=2e-6)
  # and to_cudnn of that moves the biases into b_ih without changing the function
  np.testing.assert_allclose(ref(to_cudnn(ours))[0], ref(drawn)[0], atol=2e-6)


def test_cudnn_conversion_refusals():
  # Given weights of the wrong length and a peephole LSTM
  with pytest.raises(ValueError, match="flat vector of 200 values"):
    from_cudnn(jnp.zeros(199), 3, 5)
  peep = rj.lstm(peephole=True).init(jax.random.PRNGKey(0), 3, 5)
  # Then each is refused by name
  with pytest.raises(ValueError, match="w_pc"):
    to_cudnn(peep)


@pytest.mark.parametrize("reverse", [pytest.param(False, marks=pytest.mark.slow), True])
def test_cudnn_path_keeps_unroll_semantics(reverse):
  # Given an LSTM with a nonzero initial carry, lengths with 0 and NaN in the padding, run by
  # the cuDNN path on JAX's reference kernel (cuDNN itself needs a GPU)
  cell = rj.lstm()
  params, xs, carry = _case(cell, 3, 7, 3, 5, jnp.float32, seed=4)
  lengths = jnp.array([7, 0, 4])
  xs = xs.at[2, 4:].set(jnp.nan)

  def loss(p, xs, carry, path):
    if path == "cudnn":
      final, ys = cudnn_unroll(p, xs, carry, lengths, reverse, lstm=lstm_reference)
    else:
      final, ys = rj.unroll(
          cell, p, xs, carry, lengths=lengths, reverse=reverse, backward="autodiff")
    w = jnp.arange(1, 8, dtype=ys.dtype)[None, :, None]
    return jnp.sum(jnp.sin(ys) * w) + jnp.sum(final[0]**2) + jnp.sum(final[1]**3), (final, ys)

  # When it and lax.scan compute values, outputs and gradients
  both = jax.jit(jax.value_and_grad(loss, argnums=(0, 1, 2), has_aux=True), static_argnums=3)
  got, want = both(params, xs, carry, "cudnn"), both(params, xs, carry, "scan")
  # Then all agree: the length-0 row keeps its carry and has zero outputs
  chex.assert_trees_all_close(got, want, rtol=2e-5, atol=2e-5)
  (_, (final, ys)), _ = got
  np.testing.assert_array_equal(ys[1], 0.0)
  np.testing.assert_array_equal(final[0][1], carry[0][1])


AUTO_TABLE = [
    # (platform, cell, dtype, options, expected)
    ("gpu", "lstm", jnp.float32, {}, Backend.CUDNN),
    ("cuda", "lstm", jnp.float32, {
        "batch": 8
    }, Backend.CUDNN),
    ("gpu", "lstm", jnp.float32, {
        "batch": 9
    }, Backend.SCAN),
    ("gpu", "lstm", jnp.float32, {
        "batch": 32
    }, Backend.SCAN),
    ("gpu", "lstm", jnp.float64, {}, Backend.SCAN),
    ("gpu", "lstm_peephole", jnp.float32, {}, Backend.SCAN),
    ("gpu", "gru", jnp.float32, {}, Backend.SCAN),
    ("gpu", "lstm", jnp.float32, {
        "truncate": 4
    }, Backend.SCAN),
    ("gpu", "lstm", jnp.float32, {
        "remat": "sqrt"
    }, Backend.SCAN),
    ("gpu", "lstm", jnp.float32, {
        "return_carries": True
    }, Backend.SCAN),
    ("gpu", "lstm", jnp.float32, {
        "backward": "closed_form"
    }, Backend.SCAN),
    ("rocm", "lstm", jnp.float32, {}, Backend.SCAN),
    ("cpu", "lstm", jnp.float32, {}, Backend.SCAN),
    ("tpu", "lstm", jnp.float32, {}, Backend.SCAN),
    ("tpu", "gru", jnp.float32, {}, Backend.SCAN),
]


def _cell_and_params(name):
  cell = rj.lstm(peephole=True) if name == "lstm_peephole" else CELLS[name]()
  return cell, cell.init(jax.random.PRNGKey(0), 3, 16)


@pytest.mark.parametrize("platform,name,dtype,options,expected", AUTO_TABLE)
def test_auto_rule_table(platform, name, dtype, options, expected):
  # Given a platform name, a cell and a request; then auto picks the table's backend
  cell, params = _cell_and_params(name)
  got = choose_backend(cell, "auto", platform=platform, dtype=dtype, params=params, **options)
  assert got == expected


REFUSALS = [
    ("cudnn", "cpu", "lstm", {}, "NVIDIA GPU"),
    ("cudnn", "gpu", "gru", {}, "LSTM only"),
    ("cudnn", "gpu", "lstm_peephole", {}, "peepholes"),
    ("cudnn", "gpu", "lstm", {
        "dtype": jnp.float64
    }, "float32 only"),
    ("cudnn", "gpu", "lstm", {
        "truncate": 3
    }, "no truncate"),
    ("cudnn", "gpu", "lstm", {
        "backward": "closed_form"
    }, "own backward"),
    ("cudnn", "gpu", "lstm", {
        "return_carries": True
    }, "return_carries"),
    ("pallas", "cpu", "lstm", {
        "backward": "autodiff"
    }, "closed form"),
    ("pallas", "gpu", "gru", {}, "power of two"),
    ("pallas", "cpu", "lstm", {
        "return_carries": True
    }, "return_carries"),
]


@pytest.mark.parametrize("backend,platform,name,options,match", REFUSALS)
def test_explicit_backend_that_cannot_serve_is_refused(backend, platform, name, options, match):
  # Given an explicit backend and a request it cannot serve; then a ValueError says why
  cell, params = _cell_and_params(name)
  request = {"dtype": jnp.float32, "params": params, **options}
  with pytest.raises(ValueError, match=match):
    choose_backend(cell, backend, platform=platform, **request)
  # while the same request is served by scan
  assert refusal(Backend.SCAN, cell, platform=platform, **request) is None


def test_unroll_refusals_name_the_backend():
  cell = rj.lru()
  params = cell.init(jax.random.PRNGKey(0), 2, 4)
  xs = jnp.ones((1, 3, 2))
  with pytest.raises(ValueError, match="backend='pallas' cannot run this: .*'lru'"):
    rj.unroll(cell, params, xs, backend="pallas")
  with pytest.raises(ValueError, match="backend must be one of"):
    rj.unroll(cell, params, xs, backend="triton")
  lstm = rj.lstm()
  p = lstm.init(jax.random.PRNGKey(0), 2, 4)
  with pytest.raises(ValueError, match="backend='cudnn' cannot run this: cuDNN runs on"):
    rj.unroll(lstm, p, xs, backend="cudnn")
  with pytest.raises(ValueError, match="forward-mode"):
    jax.jvp(lambda x: rj.unroll(lstm, p, x, backend="pallas")[1], (xs,), (xs,))


@pytest.mark.slow  # README's snippet runs backend="pallas" in the quick set
def test_config_field_backend_reaches_the_model():
  # Given the adding task for 2 steps, run with --config.backend=pallas and =scan
  from experiments import adding, configs
  small = dict(
      steps=2,
      eval_every=2,
      checkpoint_every=2,
      hidden_size=8,
      batch_size=4,
      length=12,
      eval_batches=1)
  reports = {
      b:
          adding.train_and_evaluate(
              configs.get("adding", backend=b, **small), None, log=lambda *a: None)
      for b in ("pallas", "scan")
  }
  # Then both train the same (the same losses and test error), and a bad value is refused
  np.testing.assert_allclose(
      reports["pallas"]["final"]["eval_mse"], reports["scan"]["final"]["eval_mse"], rtol=1e-5)
  with pytest.raises(ValueError, match="--config.backend must be one of"):
    configs.validate(configs.get("adding", backend="triton"))


def test_batch_tile_rule():
  from rnn_jax.kernels import batch_tile
  assert [batch_tile(b, "cpu") for b in (1, 5, 300)] == [1, 5, 300]
  assert [batch_tile(b, "tpu") for b in (1, 5, 128, 300)] == [1, 5, 128, 128]
  assert [batch_tile(b, "gpu") for b in (1, 300)] == [16, 16]


@pytest.mark.parametrize("layers,bidirectional",
                         [pytest.param(1, False, marks=pytest.mark.slow), (2, True)])
def test_cudnn_apply_runs_a_whole_stack_in_one_call(layers, bidirectional):
  # Given our stacked LSTM with nonzero initial carries, lengths with 0 and NaN in the padding
  layer = torch_like("lstm", layers, bidirectional)
  params = layer.init(jax.random.PRNGKey(0), 3, 5)
  xs = jax.random.normal(jax.random.PRNGKey(1), (3, 6, 3)).at[2, 4:].set(jnp.nan)
  lengths = jnp.array([6, 0, 4])
  leaves, tree = jax.tree_util.tree_flatten(layer.initial_carry(params, 3))
  carry = jax.tree_util.tree_unflatten(
      tree, [0.5 * jax.random.normal(jax.random.PRNGKey(k), z.shape) for k, z in enumerate(leaves)])

  def loss(p, carry, fused):
    if fused:
      final, ys = rj.interop.cudnn_apply(p, xs, carry, lengths=lengths, lstm=lstm_reference)
    else:
      final, ys = layer.apply(p, xs, carry, lengths=lengths, backward="autodiff")
    total = jnp.sum(jnp.sin(ys) * jnp.arange(1, 7, dtype=ys.dtype)[None, :, None])
    return total + sum(jnp.sum(c**2) for c in jax.tree_util.tree_leaves(final)), final

  # When one fused call (JAX's reference kernel in cuDNN's place) and the stacked layer run it
  both = jax.jit(jax.value_and_grad(loss, argnums=(0, 1), has_aux=True), static_argnums=2)
  got, want = both(params, carry, True), both(params, carry, False)
  # Then values, final carries (the same structure) and gradients agree
  chex.assert_trees_all_close(got, want, rtol=2e-5, atol=2e-5)
