"""The whole time loop inside one Pallas kernel: ``pallas_loop`` and the recurrence built on it.

``lax.scan`` on a GPU launches the step's kernels once per time step (~17 µs of launch chain a
step on the H200 of BUILD_NOTES "On a GPU"). Here one ``pallas_call`` runs every step: each
program of its grid owns a tile of ``tile`` batch rows, loads the recurrent weights once, and
loops over T with the carry held in the kernel (registers or on-chip memory), reading x⟨t⟩ and
writing y⟨t⟩ in place. The backward is the closed-form rules of ``rnn_jax.bptt`` run by the same
loop in reverse, so the kernel computes exactly what ``backward="closed_form"`` computes.

  pallas_loop(tile, interpret)      a drop-in for the ``loop`` of ``rnn_jax.bptt.scan``
  pallas_recurrence(cell, ...)      ``closed_form_recurrence`` with both loops in kernels

What is tiled and what is not. The batch is split over the grid (rows padded with zeros up to a
multiple of ``tile``, then dropped). The hidden axis is not: every step reads all of a⟨t−1⟩, so
a program holds the whole w_aa [G·H, H] (G gate blocks); splitting H across programs would need
a barrier between programs at every step, which a Pallas grid does not offer. On a CPU the
kernel runs in Pallas' interpret mode (``interpret=True``): the same code, executed as ordinary
JAX operations, which is how the tests check it. On a GPU (Triton) block shapes must be powers
of two; ``rnn_jax.backends`` only sends such shapes here. Neither the GPU nor the TPU lowering
has been run by this project: no accelerator was lent (BUILD_NOTES "Backends").
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.experimental import pallas as pl

from rnn_jax.bptt import closed_form_recurrence

_tree = jax.tree_util


def batch_tile(batch: int, platform: str) -> int:
  """Rows per program. A CPU (interpret mode): the whole batch, one program, the fewest
  interpreted loops. A TPU (Mosaic): the whole batch up to 128 rows, else 128 (a block's
  second-minor dimension must be a multiple of 8 or the whole axis). A GPU (Triton): 16, the
  smallest operand of its dot, the batch padded up to a multiple of 16."""
  if platform == "cpu":
    return max(batch, 1)
  if platform == "tpu":
    return max(batch, 1) if batch <= 128 else 128
  return 16


def _pad_rows(a, axis: int, rows: int):
  if rows == 0:
    return a
  pad = [(0, 0)] * a.ndim
  pad[axis] = (0, rows)
  return jnp.pad(a, pad)


def pallas_loop(tile: int | None = None, interpret: bool | None = None):
  """``loop(body, consts, carry, xs, reverse) -> (final, ys)``, the semantics of
  ``jax.lax.scan(lambda c, x: body(consts, c, x), carry, xs, reverse=reverse)`` where every
  leaf of ``carry`` is ``[B, ...]`` and every leaf of ``xs`` is ``[T, B, ...]`` (None leaves
  allowed), run as one ``pallas_call``. ``consts`` (the weights) are read whole by every
  program. ``tile``: batch rows per program (default ``batch_tile``); ``interpret``: default
  True on a CPU."""

  def loop(body, consts, carry, xs, reverse=False):
    platform = jax.default_backend()
    run_interpreted = platform == "cpu" if interpret is None else interpret
    c_leaves, c_def = _tree.tree_flatten(consts)
    i_leaves, i_def = _tree.tree_flatten(carry)
    x_leaves, x_def = _tree.tree_flatten(xs)
    if not x_leaves:
      raise ValueError("pallas_loop needs at least one [T, B, ...] input.")
    time, batch = x_leaves[0].shape[:2]
    for name, leaves, axis in (("carry", i_leaves, 0), ("xs", x_leaves, 1)):
      for a in leaves:
        if a.ndim <= axis or a.shape[axis] != batch or (axis and a.shape[0] != time):
          raise ValueError(f"pallas_loop: every {name} leaf must be "
                           f"{'[T, B, ...]' if axis else '[B, ...]'} with T={time}, B={batch}; "
                           f"found {a.shape}.")
    rows = tile or batch_tile(batch, platform)
    pad = -batch % rows
    i_leaves = [_pad_rows(a, 0, pad) for a in i_leaves]
    x_leaves = [_pad_rows(a, 1, pad) for a in x_leaves]
    total = batch + pad
    spec = lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype)
    tile_carry = _tree.tree_unflatten(
        i_def, [jax.ShapeDtypeStruct((rows,) + a.shape[1:], a.dtype) for a in i_leaves])
    tile_x = _tree.tree_unflatten(
        x_def, [jax.ShapeDtypeStruct((rows,) + a.shape[2:], a.dtype) for a in x_leaves])
    new_shape, y_shape = jax.eval_shape(body,
                                        _tree.tree_unflatten(c_def, [spec(a) for a in c_leaves]),
                                        tile_carry, tile_x)
    if _tree.tree_structure(new_shape) != i_def:
      raise ValueError("pallas_loop: body must return a carry of the structure it was given.")
    y_leaves, y_def = _tree.tree_flatten(y_shape)
    nc, ni, nx = len(c_leaves), len(i_leaves), len(x_leaves)

    def kernel(*refs):
      c_refs, i_refs = refs[:nc], refs[nc:nc + ni]
      x_refs, f_refs = refs[nc + ni:nc + ni + nx], refs[nc + ni + nx:nc + 2 * ni + nx]
      y_refs = refs[nc + 2 * ni + nx:]
      k = _tree.tree_unflatten(c_def, [r[...] for r in c_refs])  # the weights: loaded once

      def step(i, c):
        t = time - 1 - i if reverse else i
        c, y = body(k, c, _tree.tree_unflatten(x_def, [r[t] for r in x_refs]))
        for r, v in zip(y_refs, _tree.tree_leaves(y)):
          r[t] = v
        return c

      final = jax.lax.fori_loop(0, time, step, _tree.tree_unflatten(i_def,
                                                                    [r[...] for r in i_refs]))
      for r, v in zip(f_refs, _tree.tree_leaves(final)):
        r[...] = v

    whole = lambda a: pl.BlockSpec(a.shape, lambda b, n=a.ndim: (0,) * n)
    rows_of = lambda s: pl.BlockSpec((rows,) + s[1:], lambda b, n=len(s): (b,) + (0,) * (n - 1))
    steps_of = lambda s: pl.BlockSpec(
        (s[0], rows) + s[2:], lambda b, n=len(s): (0, b) + (0,) * (n - 2))
    y_out = [jax.ShapeDtypeStruct((time, total) + s.shape[1:], s.dtype) for s in y_leaves]
    out = pl.pallas_call(
        kernel,
        out_shape=[spec(a) for a in i_leaves] + y_out,
        grid=(total // rows,),
        in_specs=[whole(a) for a in c_leaves] + [rows_of(a.shape) for a in i_leaves] +
        [steps_of(a.shape) for a in x_leaves],
        out_specs=[rows_of(a.shape) for a in i_leaves] + [steps_of(s.shape) for s in y_out],
        interpret=run_interpreted)(*c_leaves, *i_leaves, *x_leaves)
    final = [a[:batch] for a in out[:ni]]
    ys = [a[:, :batch] for a in out[ni:]]
    return _tree.tree_unflatten(i_def, final), _tree.tree_unflatten(y_def, ys)

  return loop


def pallas_recurrence(cell,
                      params,
                      inputs,
                      carry,
                      mask=None,
                      keep=None,
                      *,
                      tile: int | None = None,
                      interpret: bool | None = None):
  """``closed_form_recurrence`` over hoisted projections ``inputs [T, B, G]`` with its forward
  and its reverse loop each one Pallas kernel (``pallas_loop``). Truncation's ``keep [T]`` is
  broadcast to ``[T, B]`` (a kernel's inputs are tiled by batch row)."""
  if keep is not None:
    keep = jnp.broadcast_to(keep[:, None], inputs.shape[:2]).astype(keep.dtype)
  return closed_form_recurrence(
      cell, params, inputs, carry, mask, keep, loop=pallas_loop(tile, interpret))
