"""Fields every task reads (the adding problem's values); each task's file starts from these.

Choices are checked against the library's own registries (``experiments.configs.validate``):
``cell`` in ``rnn_jax.cells.CELLS``, ``optimizer`` in ``rnn_jax.optim.OPTIMIZERS``,
``schedule`` in ``rnn_jax.optim.SCHEDULES``, ``backward`` in ``rnn_jax.types.Backward``, ``backend``
in ``rnn_jax.backends.Backend``.
"""
from ml_collections import config_dict


def get_config() -> config_dict.ConfigDict:
  c = config_dict.ConfigDict()
  c.task = "adding"
  c.cell = "lstm"
  c.hidden_size = 64
  c.num_layers = 1
  c.bidirectional = False
  c.steps = 1500
  c.batch_size = 64
  c.learning_rate = 1e-2
  c.optimizer = "adam"
  c.schedule = "constant"  # "cosine": decays to 0 over the run's steps; "wsd": the last fifth
  c.clip_norm = config_dict.placeholder(float)  # clip by global norm; None: off
  c.clip_norm = 1.0
  c.truncate = config_dict.placeholder(int)  # truncated BPTT length k
  c.chrono = config_dict.placeholder(int)  # LSTM chrono initialisation T_max
  c.backward = "auto"  # the closed form where the cell has one (rnn_jax.unrolling.choose_backward)
  c.backend = "auto"  # the loop: "scan", "cudnn", "pallas" or "auto" (rnn_jax.backends)
  c.compute_dtype = "float32"  # "bfloat16": cells compute in bf16, params/carry float32 (TPU)
  c.seed = 0
  c.eval_every = 250
  c.checkpoint_every = 500
  c.devices = config_dict.placeholder(int)  # split the batch over N local devices; None: by shape
  return c
