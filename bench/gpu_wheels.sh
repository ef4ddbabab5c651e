#!/usr/bin/env bash
# Downloads, into .whl/, the wheels bench/gpu.sh installs on the GPU machine (Python 3.12, x86-64; about 45 MB, most
# of it bitsandbytes). Run once here, from the repository root, before sending the check.
set -euo pipefail
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_24_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl \
  bitsandbytes==0.50.2 fastcore==2.2.41 tomli-w==1.2.0 pydantic==2.14.4 pydantic-core==2.50.5 annotated-types==0.8.0 \
  typing-inspection==0.4.5 math-verify==0.9.0 latex2sympy2_extended==1.11.0 antlr4-python3-runtime==4.11.0
ls -la .whl
