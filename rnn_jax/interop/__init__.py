"""Weights to and from Flax linen cells and PyTorch ``nn.RNN``/``nn.GRU``/``nn.LSTM``.

Conventions bridged here (see each cell's docstring for ours):
  * Flax kernels are ``[in, out]``; ours and PyTorch's are ``[out, in]``.
  * Flax/PyTorch GRUs are reset-after with z = 1 − Γu: since 1 − σ(s) = σ(−s),
    the update rows are negated. Use ``gru(reset="after")``.
  * Gate order of LSTMs is (u, f, c̃, o) = (i, f, g, o) everywhere.
  * PyTorch and cuDNN keep two biases per gate; we keep their sum (``interop.torch``,
    ``interop.cudnn``: the flat weight vector of ``jax.experimental.rnn.lstm``).

Whatever cannot be converted exactly (params or variables of another kind, missing or
extra keys, inconsistent shapes) is refused with a ValueError naming what was expected.
"""
from rnn_jax.interop.cudnn import cudnn_apply, cudnn_shape, from_cudnn, to_cudnn
from rnn_jax.interop.flax import FLAX_CELLS, from_flax, to_flax
from rnn_jax.interop.torch import TORCH_KINDS, from_torch, to_torch, torch_like

__all__ = [
    "FLAX_CELLS", "TORCH_KINDS", "cudnn_apply", "cudnn_shape", "from_cudnn", "from_flax",
    "from_torch", "to_cudnn", "to_flax", "to_torch", "torch_like"
]
