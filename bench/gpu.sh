#!/usr/bin/env bash
# The GPU check (bench/gpu.py) on a lent machine, from the repository root. That machine has torch, transformers,
# peft and tensorboard but none of the packages below: bench/gpu_wheels.sh downloads them here into .whl/ (ignored
# by git), they travel with the working tree, and this script installs them before the run.
set -euo pipefail
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site:$PWD
else
  export PYTHONPATH=$PWD
fi
export PYTHONUNBUFFERED=1
python3 bench/gpu.py "$@"
