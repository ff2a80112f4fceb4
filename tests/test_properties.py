"""Property-based padding invariants (hypothesis): random cells, batch sizes, lengths."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import rnn_jax as rj
from tests import reference
from tests.helpers import CELL_VARIANTS, random_params

SETTINGS = settings(
    max_examples=8, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
D, H = 2, 3


@st.composite
def problems(draw):
  name = draw(st.sampled_from(sorted(CELL_VARIANTS)))
  batch = draw(st.integers(1, 4))
  time = draw(st.integers(1, 6))
  lengths = np.array(draw(st.lists(st.integers(0, time), min_size=batch, max_size=batch)))
  seed = draw(st.integers(0, 2**16))
  garbage = draw(st.sampled_from([np.nan, np.inf, 1e6, -3.0]))
  return name, batch, time, lengths, seed, garbage


def _data(name, batch, time, seed):
  cell = CELL_VARIANTS[name]()
  params = random_params(cell, jax.random.PRNGKey(seed), D, H)
  xs = jax.random.normal(jax.random.PRNGKey(seed + 1), (batch, time, D))
  ys = jax.random.normal(jax.random.PRNGKey(seed + 2), (batch, time, 2))
  readout = rj.dense().init(jax.random.PRNGKey(seed + 3), H, 2)
  return cell, params, xs, ys, readout


# Slow set: each example compiles; the quick set checks the same claims at fixed shapes
# (tests/test_unrolling.py::test_garbage_after_lengths_changes_nothing and
# tests/test_layers.py::test_bidirectional_is_forward_plus_padding_aware_reverse).
@pytest.mark.slow
@settings(SETTINGS, max_examples=5)  # the slowest property (each example compiles a grad)
@given(problems())
def test_garbage_after_lengths_changes_nothing(problem):
  name, batch, time, lengths, seed, garbage = problem
  cell, params, xs, ys, readout = _data(name, batch, time, seed)
  pad = (np.arange(time)[None, :] >= lengths[:, None])[:, :, None]

  def loss(p, x, y):
    final, out = rj.unroll(cell, p, x, lengths=lengths)
    j = rj.sequence_loss(rj.readout_logits(readout, out), y, loss="squared", lengths=lengths)
    return j, (final, out)

  value_and_grad = jax.jit(jax.value_and_grad(loss, has_aux=True))  # one compilation for both
  (j1, a1), g1 = value_and_grad(params, xs, ys)
  (j2, a2), g2 = value_and_grad(params, jnp.where(pad, garbage, xs), jnp.where(pad, garbage, ys))
  assert float(j1) == float(j2)
  for a, b in zip(jax.tree_util.tree_leaves((a1, g1)), jax.tree_util.tree_leaves((a2, g2))):
    np.testing.assert_array_equal(a, b)


@SETTINGS
@given(problems())
def test_reverse_of_reverse_is_identity(problem):
  _, batch, time, lengths, seed, _ = problem
  xs = jax.random.normal(jax.random.PRNGKey(seed), (batch, time, 2))
  twice = rj.flip_sequences(rj.flip_sequences(xs, jnp.asarray(lengths)), jnp.asarray(lengths))
  np.testing.assert_array_equal(twice, xs)


@pytest.mark.slow  # see above
@SETTINGS
@given(problems())
def test_bidirectional_is_forward_plus_padding_aware_reverse(problem):
  name, batch, time, lengths, seed, _ = problem
  cell, params, xs, _, _ = _data(name, batch, time, seed)
  layer = rj.bidirectional(cell)
  both = {"fwd": params, "bwd": random_params(cell, jax.random.PRNGKey(seed + 9), D, H)}
  _, ys = layer.apply(both, xs, lengths=lengths)
  _, fwd = reference.run_batch(cell, both["fwd"], xs, lengths)
  _, bwd = reference.run_batch(cell, both["bwd"], xs, lengths, reverse=True)
  np.testing.assert_allclose(ys, np.concatenate([fwd, bwd], -1), rtol=1e-4, atol=1e-5)
