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


torch_cases = [("lstm", 1, False), ("lstm", 2, True), ("gru", 2, True), ("gru", 1, False),
               ("rnn_tanh", 2, True), ("rnn_relu", 1, True)]


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
