#!/usr/bin/env bash
# On a CUDA GPU: the gradient checks and the compiled step's checks (tools/gpu_check.py), then the compiled step
# benchmark (backprop.compiled_benchmark) with eager and compiled autograd, the eager and compiled Block steps and
# the matmul floor. Writes gpu_check.txt and gpu_compiled_bench.txt to $OUT (default: here).
# Needs torch with CUDA and fastcore importable (PYTHONPATH may name them); uses this checkout's backprop.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
OUT=${OUT:-.}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | sed 's/^/GPU: /' | tee "$OUT/gpu_check.txt"
$PY -c 'import torch; print("torch", torch.__version__)' | tee -a "$OUT/gpu_check.txt"
timeout 200 $PY tools/gpu_check.py 2>&1 | tee -a "$OUT/gpu_check.txt"
timeout 180 $PY -c "
from backprop.compiled_benchmark import run, format_results
v = ('autograd', 'autograd, compiled', 'Blocks', 'Blocks, compiled', 'matmuls')
print(format_results(run(threads=(1,), repeats=10, min_time=0.02, device='cuda', variants=v)))
" 2>&1 | tee "$OUT/gpu_compiled_bench.txt"
