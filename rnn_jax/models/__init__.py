"""Topologies of the seeds, each an (init, apply) pair built from layers."""
from rnn_jax.models.many_to_one import many_to_one, masked_pool
