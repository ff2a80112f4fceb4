"""The layering of rnn_jax, checked from the source (ast), not from what happens to import.

types → cells → recurrence → bptt → unrolling → layers → models/decoding → training: every
import of an rnn_jax module points down (or sideways within a layer), the module graph has no
cycle, no rnn_jax module is imported inside a function, no private name crosses a module, and
no module exceeds 300 lines.
"""
import ast
import os

import pytest

import rnn_jax as rj

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PKG = os.path.join(ROOT, "rnn_jax")

# Lower numbers are lower layers; a module may import modules of its own rank or below.
RANKS = {
    "rnn_jax.types": 0,
    "rnn_jax.cells": 1,
    "rnn_jax.recurrence": 2,
    "rnn_jax.losses": 2,
    "rnn_jax.baselines": 2,
    "rnn_jax.associative": 2,
    "rnn_jax.bptt": 3,
    "rnn_jax.kernels": 3,
    "rnn_jax.backends": 3,
    "rnn_jax.unrolling": 4,
    "rnn_jax.parallel_time": 4,
    "rnn_jax.parallel_forms": 4,
    "rnn_jax.layers": 5,
    "rnn_jax.blocks": 5,
    "rnn_jax.diagnostics": 6,
    "rnn_jax.tbptt": 6,
    "rnn_jax.interop": 6,
    "rnn_jax.models": 6,
    "rnn_jax.decoding": 6,
    "rnn_jax.optim": 7,
    "rnn_jax.checkpoint": 7,
    "rnn_jax.runs": 7,
    "rnn_jax.parallel": 7,
    "rnn_jax.data": 7,
    "rnn_jax.train": 8,
    "rnn_jax.linen": 9,
    "rnn_jax": 10,
}


def _modules():
  """{dotted name: path} of every module under rnn_jax/."""
  out = {}
  for d, _, files in os.walk(PKG):
    for f in files:
      if f.endswith(".py"):
        path = os.path.join(d, f)
        rel = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
        out[rel[:-len(".__init__")] if rel.endswith(".__init__") else rel] = path
  return out


MODULES = _modules()


def _rank(name):
  parts = name.split(".")
  for i in range(len(parts), 0, -1):
    if ".".join(parts[:i]) in RANKS:
      return RANKS[".".join(parts[:i])]
  raise AssertionError(f"{name} has no layer in tests/test_architecture.py RANKS")


def _imports(name, path):
  """[(target module, names, node, at module level)] of the rnn_jax imports in a module."""
  tree = ast.parse(open(path, encoding="utf-8").read())
  top = set(id(n) for n in tree.body)
  out = []
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      for a in node.names:
        if a.name.startswith("rnn_jax"):
          out.append((a.name, [], node, id(node) in top))
    elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("rnn_jax"):
      for a in node.names:  # `from rnn_jax import losses` imports the module rnn_jax.losses
        sub = f"{node.module}.{a.name}"
        target = sub if sub in MODULES else node.module
        out.append((target, [a.name], node, id(node) in top))
  return out


def _graph():
  return {
      name: sorted({t for t, _, _, _ in _imports(name, path) if t != name})
      for name, path in MODULES.items()
  }


def test_every_import_points_down_the_layers():
  wrong = [(a, b) for a, targets in _graph().items() for b in targets if _rank(b) > _rank(a)]
  assert not wrong, f"imports that point up the layers: {wrong}"


def test_module_graph_has_no_cycle():
  graph = _graph()
  state, stack = {}, []

  def visit(n):
    state[n] = "open"
    stack.append(n)
    for m in graph.get(n, []):
      # a package's own submodules are below it: importing rnn_jax.cells.base from
      # rnn_jax.cells.gru runs rnn_jax.cells first, which is not a cycle in the source
      if state.get(m) == "open":
        raise AssertionError(f"import cycle: {' -> '.join(stack[stack.index(m):] + [m])}")
      if m not in state:
        visit(m)
    stack.pop()
    state[n] = "done"

  for n in graph:
    if n not in state:
      visit(n)


def test_no_function_level_imports_of_rnn_jax():
  inner = [(name, node.lineno)
           for name, path in MODULES.items()
           for _, _, node, at_top in _imports(name, path)
           if not at_top]
  assert not inner, f"rnn_jax imported inside a function: {inner}"


def test_no_private_names_across_modules():
  private = [(name, node.lineno, n)
             for name, path in MODULES.items()
             for _, names, node, _ in _imports(name, path)
             for n in names
             if n.startswith("_")]
  assert not private, f"private names imported from another module: {private}"


def test_no_module_exceeds_300_lines():
  long = {
      name: n
      for name, path in MODULES.items()
      if (n := sum(1 for _ in open(path, encoding="utf-8"))) > 300
  }
  assert not long, f"modules over 300 lines: {long}"


@pytest.mark.parametrize("sub", [
    "bptt", "cells", "checkpoint", "data", "decoding", "diagnostics", "interop", "layers", "losses",
    "models", "optim", "parallel", "parallel_time", "recurrence", "tbptt", "train", "unrolling"
])
def test_import_rnn_jax_exposes_every_subpackage(sub):
  assert getattr(rj, sub).__name__ == f"rnn_jax.{sub}"


def test_every_token_model_is_a_decoder():
  from rnn_jax import models
  from rnn_jax.types import Decoder
  lm = models.language_model(rj.gru(), 5, 4)
  s2s = models.seq2seq([rj.gru()], [rj.gru()], 5, 6, encoder_hidden=4)
  att = models.attention_model(5, 6, pre_hidden=3, post_hidden=4)
  one = models.one_to_many(rj.gru(), 3, 5, 4)
  for m in (lm, s2s, att, one):
    assert isinstance(m, Decoder), type(m).__name__
