"""Closed-form backpropagation through time, written by hand.

  rules   one rule per cell family (its backward and weight gradients); the forward is
          the cell's own gate code
  scan    the forward-with-residuals and reverse scans; ``closed_form_recurrence``, the
          ``jax.custom_vjp`` behind ``unroll(backward="closed_form")``
  model   ``bptt_grads`` (cell + readout + loss entirely by hand) and the RTRL reference
"""
from rnn_jax.bptt.model import bptt_grads, rtrl_w_aa_sensitivity
from rnn_jax.bptt.rules import RULES, Rule, has_closed_form, rule_for
from rnn_jax.bptt.scan import backward_scan, closed_form_recurrence, forward_with_residuals

__all__ = [
    "RULES", "Rule", "backward_scan", "bptt_grads", "closed_form_recurrence",
    "forward_with_residuals", "has_closed_form", "rtrl_w_aa_sensitivity", "rule_for"
]
