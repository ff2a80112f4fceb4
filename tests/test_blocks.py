"""The papers' residual blocks: the Mamba and Hawk blocks against their equations written out
in NumPy (with the cells of tests/modern_reference.py), decoding step by step, lengths, and the
parallel forms inside them."""
import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rnn_jax as rj
from rnn_jax.blocks import KINDS, block
from tests import modern_reference as ref
from tests.helpers import random_params

B, T, D, H = 3, 9, 5, 6
LENGTHS = jnp.array([9, 4, 0])


def _np_block(kind, p, x):
  """One sequence x [T, D] through the block, from the module docstring's equations."""
  p = jax.tree_util.tree_map(lambda v: np.asarray(v, np.float64), p)
  silu = lambda z: z / (1 + np.exp(-z))
  gelu = lambda z: np.asarray(jax.nn.gelu(jnp.asarray(z)))  # the tanh approximation, as jax
  u = x @ p["w_in"].T if "w_in" in p else x
  n = u / np.sqrt(np.mean(u * u, -1, keepdims=True) + 1e-6) * p["norm"]
  z = n @ p["w_mix"].T
  e = p["w_out"].shape[1]
  xi, gate = z[:, :e], z[:, e:]
  padded = np.concatenate([np.zeros((3, e)), xi])
  conv = np.stack([sum(p["conv_w"][j] * padded[t + j] for j in range(4)) for t in range(len(x))])
  conv = conv + p["conv_b"]
  if kind == "mamba":
    ys, _ = ref.s6(p["cell"], silu(conv), np.zeros(p["cell"]["A_log"].shape))
    out = (ys * silu(gate)) @ p["w_out"].T
    return u + out
  ys, _ = ref.rg_lru(p["cell"], conv, np.zeros(e))
  v = u + (ys * gelu(gate)) @ p["w_out"].T
  m = v / np.sqrt(np.mean(v * v, -1, keepdims=True) + 1e-6) * p["mlp_norm"]
  return v + (gelu(m @ p["w_gate"].T) * (m @ p["w_up"].T)) @ p["w_down"].T


@pytest.mark.parametrize("kind", [pytest.param("mamba", marks=pytest.mark.slow), "hawk"])
def test_block_equals_its_equations(kind, x64):
  layer = block(kind)
  p = random_params(layer, jax.random.PRNGKey(0), D, H, jnp.float64, scale=0.2)
  xs = jax.random.normal(jax.random.PRNGKey(1), (B, T, D), jnp.float64)
  _, ys = jax.jit(layer.apply)(p, xs)
  for b in range(B):
    np.testing.assert_allclose(ys[b], _np_block(kind, p, np.asarray(xs[b])), rtol=1e-9, atol=1e-11)


SLOW = pytest.mark.slow  # end-to-end (every block kind; one stays in the quick set)


@pytest.mark.parametrize("kind",
                         [k if k == "lru" else pytest.param(k, marks=SLOW) for k in sorted(KINDS)])
def test_block_decodes_step_by_step_and_respects_lengths(kind):
  layer = block(kind)
  p = layer.init(jax.random.PRNGKey(0), D, H)
  xs = jax.random.normal(jax.random.PRNGKey(1), (B, T, D))
  apply = jax.jit(layer.apply)  # compiled once per shape, not op by op
  _, full = apply(p, xs)
  carry, ys = apply(p, xs[:, :5])
  steps = [ys]
  step = jax.jit(layer.step)  # one compilation for every step
  for t in range(5, T):
    carry, y = step(p, carry, xs[:, t])
    steps.append(y[:, None])
  np.testing.assert_allclose(jnp.concatenate(steps, 1), full, atol=2e-5)
  # lengths: padded outputs 0, NaN padding harmless (values and gradients), final carry = the
  # carry after the last valid step
  garbage = jnp.where(jnp.arange(T)[None, :, None] < LENGTHS[:, None, None], xs, jnp.nan)
  final, ys = apply(p, garbage, lengths=LENGTHS)
  assert np.all(np.asarray(ys[1, 4:]) == 0) and np.all(np.asarray(ys[2]) == 0)
  np.testing.assert_allclose(ys[1, :4], full[1, :4], atol=2e-5)
  short, _ = apply(p, xs[1:2, :4])
  chex.assert_trees_all_close(jax.tree_util.tree_map(lambda c: c[1:2], final), short, atol=2e-5)
  zero = layer.initial_carry(p, 1)
  chex.assert_trees_all_close(jax.tree_util.tree_map(lambda c: c[2:3], final), zero)
  grads = jax.jit(jax.grad(lambda q: jnp.sum(apply(q, garbage, lengths=LENGTHS)[1]**2)))(p)
  chex.assert_tree_all_finite(grads)


@pytest.mark.parametrize(
    "kind", [pytest.param("mamba", marks=SLOW),
             pytest.param("mlstm", marks=SLOW), "lru"])
def test_parallel_blocks_equal_sequential_ones(kind):
  seq, par = block(kind), block(kind, parallel=True)
  p = seq.init(jax.random.PRNGKey(0), D, H)
  xs = jax.random.normal(jax.random.PRNGKey(1), (B, T, D))
  loss = lambda layer: lambda q: jnp.sum(jnp.sin(layer.apply(q, xs, lengths=LENGTHS)[1]))
  chex.assert_trees_all_close(
      jax.jit(jax.value_and_grad(loss(par)))(p),
      jax.jit(jax.value_and_grad(loss(seq)))(p),
      rtol=1e-4,
      atol=1e-5)


@pytest.mark.slow  # end-to-end (a two-block language model, its loss and greedy decoding)
def test_blocks_stack_into_a_language_model_and_refuse_bad_arguments():
  lm = rj.models.language_model([block("mamba"), block("hawk")], 13, 8)
  p = lm.init(jax.random.PRNGKey(0))
  tokens = jax.random.randint(jax.random.PRNGKey(1), (2, 10), 0, 13)
  assert np.isfinite(float(lm.loss(p, tokens)))
  out, _ = rj.decoding.greedy(lm.step_fn, p, lm.initial_state(p, 2), tokens[:, 0], max_len=4)
  chex.assert_shape(out, (2, 4))
  with pytest.raises(ValueError, match="kind"):
    block("transformer")
  with pytest.raises(ValueError, match="expand"):
    block("mamba", expand=0)
