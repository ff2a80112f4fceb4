"""Numerical equality with Flax's cells (always) and PyTorch's modules (when installed)."""
import importlib.util

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rnn_jax as rj
from rnn_jax import interop

B, T, D, H = 3, 6, 4, 5
HAS_TORCH = importlib.util.find_spec("torch") is not None


@pytest.mark.parametrize("flax_cls,ours", [
    (nn.SimpleCell, lambda: rj.simple_rnn("tanh")),
    (nn.GRUCell, lambda: rj.gru("after")),
    (nn.LSTMCell, rj.lstm),
    (nn.OptimizedLSTMCell, rj.lstm),
])
def test_flax_cells_equal_through_converters(flax_cls, ours):
  # Given a Flax cell run over a sequence with nn.RNN, with random weights
  xs = jax.random.normal(jax.random.PRNGKey(1), (B, T, D))
  rnn = nn.RNN(flax_cls(features=H), return_carry=True)
  variables = rnn.init(jax.random.PRNGKey(0), xs)
  variables = jax.tree_util.tree_map(
      lambda v: v + 0.2 * jax.random.normal(jax.random.PRNGKey(3), v.shape), variables)
  carry_flax, ys_flax = rnn.apply(variables, xs)
  # When converting its cell variables to ours
  cell_vars = variables["params"]["cell"]
  params = interop.from_flax(cell_vars, flax_cls.__name__)
  carry, ys = rj.unroll(ours(), params, xs)
  # Then outputs and carries agree, and the round trip is exact
  np.testing.assert_allclose(ys, ys_flax, atol=1e-5, rtol=1e-5)
  np.testing.assert_allclose(
      jax.tree_util.tree_leaves(carry)[-1],
      jax.tree_util.tree_leaves(carry_flax)[-1],
      atol=1e-5,
      rtol=1e-5)
  back = interop.to_flax(params, flax_cls.__name__)["params"]
  jax.tree_util.tree_map(lambda a, b: np.testing.assert_allclose(a, b, atol=1e-7), back, cell_vars)


def test_flax_converters_reject_what_flax_cannot_express():
  with pytest.raises(ValueError, match="reset-after"):
    interop.to_flax(rj.gru("before").init(jax.random.PRNGKey(0), 2, 3), "GRUCell")
  with pytest.raises(ValueError, match="peephole"):
    interop.to_flax(rj.lstm(peephole=True).init(jax.random.PRNGKey(0), 2, 3), "LSTMCell")
  with pytest.raises(ValueError, match="cell_type"):
    interop.from_flax({}, "ConvLSTMCell")


torch_cases = [("lstm", 2, True), ("gru", 1, False), ("rnn_relu", 1, True)] + [
    pytest.param(*case, marks=pytest.mark.slow)  # the rest in the slow set
    for case in (("lstm", 1, False), ("gru", 2, True), ("rnn_tanh", 2, True))
]


@pytest.mark.skipif(not HAS_TORCH, reason="torch not installed (pip install '.[compare]')")
@pytest.mark.parametrize("kind,layers,bidir", torch_cases)
def test_torch_modules_equal_with_packed_sequences(kind, layers, bidir):
  import torch
  from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
  torch.manual_seed(0)
  cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}.get(kind, torch.nn.RNN)
  extra = {"nonlinearity": kind.split("_")[1]} if kind.startswith("rnn") else {}
  module = cls(D, H, num_layers=layers, bidirectional=bidir, batch_first=True, **extra)
  lengths = np.array([T, 2, 4])
  xs = np.random.default_rng(0).normal(size=(B, T, D)).astype(np.float32)
  packed = pack_padded_sequence(
      torch.from_numpy(xs), torch.from_numpy(lengths), batch_first=True, enforce_sorted=False)
  with torch.no_grad():
    out, state = module(packed)
  out, _ = pad_packed_sequence(out, batch_first=True, total_length=T)
  h_n = (state[0] if kind == "lstm" else state).numpy()
  # ours
  params = interop.from_torch(module.state_dict(), kind)
  layer = interop.torch_like(kind, layers, bidir)
  finals, ys = layer.apply(params, jnp.asarray(xs), lengths=lengths)
  np.testing.assert_allclose(ys, out.numpy(), atol=1e-5, rtol=1e-5)
  hidden = [rj.hidden_of(f) for fin in finals for f in (fin if bidir else (fin,))]
  np.testing.assert_allclose(np.stack(hidden), h_n, atol=1e-5, rtol=1e-5)
  # round trip into a fresh module gives the same outputs
  fresh = cls(D, H, num_layers=layers, bidirectional=bidir, batch_first=True, **extra)
  fresh.load_state_dict({
      k: torch.from_numpy(np.array(v)) for k, v in interop.to_torch(params, kind).items()
  })
  with torch.no_grad():
    out2, _ = fresh(packed)
  np.testing.assert_allclose(
      pad_packed_sequence(out2, batch_first=True, total_length=T)[0], out.numpy(), atol=1e-5)


def test_torch_converters_reject_bad_state_dicts():
  with pytest.raises(ValueError, match="weight_ih_l0"):
    interop.from_torch({"foo": np.zeros(3)}, "lstm")
  with pytest.raises(ValueError, match="kind"):
    interop.from_torch({}, "transformer")


def _torch_sd(kind, layers=1, bidir=False, h=3, d=2, bias=True):
  """A state dict laid out as PyTorch's nn.RNN/GRU/LSTM lays it out (numpy arrays)."""
  g = {"lstm": 4, "gru": 3}.get(kind, 1)
  rng = np.random.default_rng(0)
  sd = {}
  for l in range(layers):
    for sfx in [f"_l{l}"] + ([f"_l{l}_reverse"] if bidir else []):
      d_in = d if l == 0 else h * (2 if bidir else 1)
      sd["weight_ih" + sfx] = rng.normal(size=(g * h, d_in)).astype(np.float32)
      sd["weight_hh" + sfx] = rng.normal(size=(g * h, h)).astype(np.float32)
      if bias:
        sd["bias_ih" + sfx] = rng.normal(size=(g * h,)).astype(np.float32)
        sd["bias_hh" + sfx] = rng.normal(size=(g * h,)).astype(np.float32)
  return sd


def _without(sd, key):
  return {k: v for k, v in sd.items() if k != key}


@pytest.mark.parametrize("sd,kind,match", [
    (_torch_sd("lstm"), "gru", r"kind 'gru' \(3 gate.*found \[12, 3\]"),
    (_torch_sd("lstm"), "rnn_tanh", r"kind 'rnn_tanh' \(1 gate.*found \[12, 3\]"),
    (_torch_sd("gru"), "lstm", r"kind 'lstm' \(4 gate.*found \[9, 3\]"),
    (_torch_sd("gru"), "rnn_relu", r"kind 'rnn_relu'"),
    (_without(_torch_sd("gru"), "bias_hh_l0"), "gru", r"not 'bias_hh_l0'.*bias=False"),
    (_without(_torch_sd("lstm"), "bias_ih_l0"), "lstm", r"not 'bias_ih_l0'"),
    (_without(_torch_sd("lstm", 2), "weight_ih_l1"), "lstm", r"needs 'weight_ih_l1'"),
    (_without(_torch_sd("gru", 2), "weight_hh_l1"), "gru", r"needs 'weight_hh_l1'"),
    (_without(_torch_sd("lstm", 1, True),
              "weight_ih_l0_reverse"), "lstm", r"needs 'weight_ih_l0_reverse'"),
    ({
        **_torch_sd("lstm"), "weight_hr_l0": np.zeros((3, 3))
    }, "lstm", r"proj_size"),
    ({
        **_torch_sd("lstm"), "cell.weight": np.zeros(3)
    }, "lstm", r"'cell.weight' is not one"),
    ({
        **_torch_sd("rnn_tanh", 2), "weight_ih_l1": np.zeros((3, 4), np.float32)
    }, "rnn_tanh", r"weight_ih_l1 reads 4 features but the layer below gives 3"),
])
def test_from_torch_refuses_dicts_of_another_kind_or_incomplete(sd, kind, match):
  with pytest.raises(ValueError, match=match):
    interop.from_torch(sd, kind)


def test_from_torch_bias_false_has_zero_biases_and_round_trips():
  sd = _torch_sd("gru", 2, True, bias=False)
  params = interop.from_torch(sd, "gru")
  for layer in params:
    for p in layer.values():
      np.testing.assert_array_equal(p["b_a"], 0.0)
      np.testing.assert_array_equal(p["b_cc"], 0.0)
  back = interop.to_torch(params, "gru")
  for k, v in sd.items():
    np.testing.assert_allclose(back[k], v, atol=1e-7)
  np.testing.assert_array_equal(back["bias_ih_l1_reverse"], 0.0)


@pytest.mark.skipif(not HAS_TORCH, reason="torch not installed (pip install '.[compare]')")
def test_torch_bias_false_module_equals_ours():
  import torch
  torch.manual_seed(0)
  module = torch.nn.LSTM(D, H, num_layers=2, batch_first=True, bias=False)
  xs = np.random.default_rng(1).normal(size=(B, T, D)).astype(np.float32)
  with torch.no_grad():
    out, _ = module(torch.from_numpy(xs))
  params = interop.from_torch(module.state_dict(), "lstm")
  _, ys = interop.torch_like("lstm", 2).apply(params, jnp.asarray(xs))
  np.testing.assert_allclose(ys, out.numpy(), atol=1e-5)


@pytest.mark.parametrize("make,kind,match", [
    (lambda: rj.gru("after"), "lstm", r"'lstm'.*keys \['b_a', 'w_aa', 'w_ax'\].*'b_cc'"),
    (lambda: rj.lstm(), "gru", r"keys \['b_a', 'b_cc', 'w_aa', 'w_ax'\].*found"),
    (lambda: rj.lstm(), "rnn_tanh", r"w_aa of shape \[3, 3\], found \[12, 3\]"),
    (lambda: rj.gru("before"), "gru", r"reset-after"),
    (lambda: rj.lstm(peephole=True), "lstm", r"peephole"),
    (lambda: rj.simple_rnn(), "lstm", r"w_aa of shape \[12, 3\], found \[3, 3\]"),
])
def test_to_torch_refuses_params_of_another_kind(make, kind, match):
  params = make().init(jax.random.PRNGKey(0), 2, 3)
  with pytest.raises(ValueError, match=match):
    interop.to_torch(params, kind)
  with pytest.raises(ValueError, match=match):
    interop.to_torch([{"fwd": params, "bwd": params}], kind)


@pytest.mark.parametrize("make,cell_type,match", [
    (lambda: rj.gru("after"), "LSTMCell", r"Flax LSTMCell must have keys.*'b_cc'"),
    (lambda: rj.gru("after"), "OptimizedLSTMCell", r"Flax OptimizedLSTMCell"),
    (lambda: rj.lstm(), "GRUCell", r"reset-after|keys"),
    (lambda: rj.lstm(), "SimpleCell", r"w_aa of shape \[3, 3\], found \[12, 3\]"),
    (lambda: rj.simple_rnn(), "GRUCell", r"keys"),
])
def test_to_flax_refuses_params_of_another_kind(make, cell_type, match):
  with pytest.raises(ValueError, match=match):
    interop.to_flax(make().init(jax.random.PRNGKey(0), 2, 3), cell_type)


def _flax_vars(cls):
  xs = jnp.zeros((1, 2, 2))
  return nn.RNN(cls(features=3)).init(jax.random.PRNGKey(0), xs)["params"]["cell"]


@pytest.mark.parametrize("cls,declared,match", [
    (nn.LSTMCell, "GRUCell", r"GRUCell need the submodule 'ir'"),
    (nn.GRUCell, "LSTMCell", r"LSTMCell need the submodule 'ii'"),
    (nn.SimpleCell, "GRUCell", r"need the submodule"),
    (nn.GRUCell, "SimpleCell", r"need the submodule 'i'"),
])
def test_from_flax_refuses_variables_of_another_cell(cls, declared, match):
  with pytest.raises(ValueError, match=match):
    interop.from_flax(_flax_vars(cls), declared)


def test_from_flax_refuses_incomplete_or_inconsistent_variables():
  v = dict(_flax_vars(nn.GRUCell))
  with pytest.raises(ValueError, match=r"need the submodule 'hz'"):
    interop.from_flax({k: x for k, x in v.items() if k != "hz"}, "GRUCell")
  with pytest.raises(ValueError, match=r"'hn' must hold \['bias', 'kernel'\]"):
    interop.from_flax({**v, "hn": {"kernel": v["hn"]["kernel"]}}, "GRUCell")
  with pytest.raises(ValueError, match=r"hr/kernel must be \[3, 3\].*found \[3, 4\]"):
    interop.from_flax({**v, "hr": {"kernel": jnp.zeros((3, 4))}}, "GRUCell")
  with pytest.raises(ValueError, match=r"unexpected submodules \['extra'\]"):
    interop.from_flax({**v, "extra": {"kernel": jnp.zeros((3, 3))}}, "GRUCell")
