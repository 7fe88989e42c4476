#!/usr/bin/env bash
# The benchmark on a CUDA GPU: Blocks against autograd, one training step, all four sizes.
# Usage, from anywhere: OUT=/some/dir tools/gpu_bench.sh   (REPEATS=30 by default)
# Writes the table to $OUT/gpu_bench.txt (OUT defaults to the current directory), and prints it.
# Installs torch only if it is missing, and this package without its dependencies. About 2 minutes on an H100,
# most of it the peak-memory measurement (one fresh process per size).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
OUT=${OUT:-.}
REPEATS=${REPEATS:-30}
mkdir -p "$OUT"

PIP="$PY -m pip install -q --disable-pip-version-check --retries 1 --timeout 15"
$PY -c 'import torch' 2>/dev/null || $PIP torch
$PY -c 'import fastcore' 2>/dev/null || $PIP 'fastcore>=1.5.29,<2'  # backprop.blocks needs it
$PIP --no-deps --no-build-isolation -e . || echo 'gpu_bench: pip install -e . failed; using PYTHONPATH instead' >&2
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

$PY -c 'import torch; assert torch.cuda.is_available(), f"torch {torch.__version__} sees no CUDA device"'
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | sed 's/^/GPU: /' > "$OUT/gpu_bench.txt" || true
$PY -m backprop.benchmark --device cuda --sizes tiny small medium large --repeats "$REPEATS" --threads 1 | tee -a "$OUT/gpu_bench.txt"
