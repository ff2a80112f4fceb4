"""The diagonal linear recurrence h⟨t⟩ = a⟨t⟩ ⊙ h⟨t−1⟩ + b⟨t⟩, forward and backward.

Forward: ``lax.associative_scan`` over the pairs (a, b) with (a₁, b₁) ∘ (a₂, b₂) =
(a₂a₁, a₂b₁ + b₂) (O(log T) depth), or a sequential ``lax.scan``.

Backward in closed form (``backward="closed_form"``). With g⟨t⟩ = ∂L/∂h⟨t⟩ from the outputs,
BPTT through this recurrence reduces to the reverse-time linear recurrence

  δ⟨T⟩ = g⟨T⟩,   δ⟨t⟩ = a⟨t+1⟩ ⊙ δ⟨t+1⟩ + g⟨t⟩

(δ⟨t⟩ is the total derivative ∂L/∂h⟨t⟩), itself one more associative (or sequential) scan, and
then, elementwise:

  ∂L/∂b⟨t⟩ = δ⟨t⟩,   ∂L/∂a⟨t⟩ = δ⟨t⟩ ⊙ h⟨t−1⟩,   ∂L/∂h⟨0⟩ = a⟨1⟩ ⊙ δ⟨1⟩.

For complex a, b, h these are JAX's cotangents (the transpose of the linear map, not its
conjugate: JAX's convention for holomorphic functions). Gradients of the parameters that made
a and b (λ, Δ, gates, projections) follow from these by the chain rule, which the caller
leaves to autodiff: they are per-step, not recurrent.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from rnn_jax.types import check_choice

METHODS = ("parallel", "sequential")
BACKWARDS = ("autodiff", "closed_form")


def _forward(a, b, h0, method):
  if method == "sequential":

    def body(h, ab):
      h = ab[0] * h + ab[1]
      return h, h

    return jax.lax.scan(body, h0, (a, b))[1]

  def combine(first, second):
    a1, b1 = first
    a2, b2 = second
    return a2 * a1, a2 * b1 + b2

  big_a, big_b = jax.lax.associative_scan(combine, (a, b), axis=0)
  return big_a * h0[None] + big_b


@functools.partial(jax.custom_vjp, nondiff_argnums=(3,))
def _closed_form(a, b, h0, method):
  return _forward(a, b, h0, method)


def _closed_form_fwd(a, b, h0, method):
  hs = _forward(a, b, h0, method)
  return hs, (a, hs, h0)


def _closed_form_bwd(method, res, g):
  a, hs, h0 = res
  a_next = jnp.concatenate([a[1:], jnp.zeros_like(a[:1])], axis=0)  # a⟨t+1⟩, 0 after T
  delta = _forward(a_next[::-1], g[::-1], jnp.zeros_like(h0), method)[::-1]
  h_prev = jnp.concatenate([h0[None], hs[:-1]], axis=0)
  return delta * h_prev, delta, a[0] * delta[0]


_closed_form.defvjp(_closed_form_fwd, _closed_form_bwd)


def linear_scan(a, b, h0, *, method: str = "parallel", backward: str = "autodiff"):
  """h⟨1..T⟩ of h⟨t⟩ = a⟨t⟩ ⊙ h⟨t−1⟩ + b⟨t⟩ from h⟨0⟩ = ``h0``.

  ``a`` and ``b`` are time-major ``[T, ...]`` (real or complex, same shape), ``h0`` is
  ``[...]``; returns ``hs [T, ...]``. ``method``: "parallel" (associative scan) or
  "sequential" (``lax.scan``); ``backward``: "autodiff" (JAX differentiates the forward scan)
  or "closed_form" (the reverse-time scan of the module docstring, by the same method).
  """
  check_choice("method", method, METHODS)
  check_choice("backward", backward, BACKWARDS)
  if a.shape != b.shape or a.shape[1:] != h0.shape:
    raise ValueError(f"a and b must be [T, ...] of one shape and h0 their [...]: got a "
                     f"{list(a.shape)}, b {list(b.shape)}, h0 {list(h0.shape)}.")
  if a.shape[0] == 0:
    return b
  if backward == "closed_form":
    return _closed_form(a, b, h0, method)
  return _forward(a, b, h0, method)
