#!/bin/bash
# The GPU measurements of BUILD_NOTES.md ("On a GPU"), as one bounded script:
#   OUT=/some/folder bash experiments/benchmarks/gpu_run.sh [parallel] [tests] [contenders] [backends]
# (no argument: all four). Needs a CUDA JAX, flax, and PyTorch with CUDA; every part has its
# own time limit. The tests run with float32 products at full precision
# (JAX_DEFAULT_MATMUL_PRECISION=highest): they compare paths to 1e-5, below TF32's rounding.
set -o pipefail
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD XLA_PYTHON_CLIENT_PREALLOCATE=false
OUT=${OUT:-/tmp/gpu_run}
PARTS=${*:-parallel tests contenders backends}
mkdir -p "$OUT"
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  python3 -c "import jax, flax, torch; print('jax', jax.__version__, jax.devices(), 'flax', flax.__version__, 'torch', torch.__version__)"
} 2>&1 | tee "$OUT/env.txt"
if [[ $PARTS == *parallel* ]]; then
  timeout 150 python3 -m experiments.benchmarks.parallel_time --lengths=1024,4096,16384,65536 \
    --deer_max_length=16384 --reps=5 --out="$OUT/parallel_time_gpu.json" 2>&1 |
    tee "$OUT/parallel_time.log"
  timeout 80 python3 -m experiments.benchmarks.parallel_time --lengths=4096,65536 \
    --batch_size=64 --hidden_size=256 --deer_max_length=0 --reps=3 \
    --out="$OUT/parallel_time_gpu_wide.json" 2>&1 | tee "$OUT/parallel_time_wide.log"
fi
if [[ $PARTS == *tests* ]]; then
  JAX_PLATFORMS=cuda JAX_DEFAULT_MATMUL_PRECISION=highest timeout 100 python3 -m pytest -q -n 0 \
    -p no:cacheprovider tests/test_parallel_time.py 2>&1 | tail -15 | tee "$OUT/tests.log"
fi
if [[ $PARTS == *contenders* ]]; then
  timeout 200 python3 -m experiments.benchmarks.contenders \
    --contenders="pytorch cuda,flax,rnn_jax,rnn_jax autodiff" --shapes=primary,large,latency \
    --cells=lstm --rounds=1 --reps=10 --nogemm --timeout=60 --out="$OUT/contenders_gpu.json" 2>&1 |
    tee "$OUT/contenders.log"
fi
if [[ $PARTS == *backends* ]]; then
  # unroll's backends (rnn_jax = backend="auto": cuDNN for the LSTM on a GPU) against PyTorch's
  # cuDNN, Keras 3 on JAX (its cuDNN path; a missing keras leaves its column empty) and Flax;
  # 3 alternated rounds, each contender in its own process
  timeout 480 python3 -m experiments.benchmarks.contenders \
    --contenders="pytorch cuda,keras jax,flax,rnn_jax,rnn_jax scan,rnn_jax pallas" \
    --shapes=primary,latency --cells=lstm,gru --rounds=3 --reps=5 --nogemm --timeout=60 \
    --out="$OUT/backends_gpu.json" 2>&1 | tee "$OUT/backends.log"
fi
