#!/usr/bin/env bash
# The whole test suite (goldens included) under each OpenBLAS kernel the blas guard may pick
# (src/blasguard.c: Cooperlake, SkylakeX, Haswell, Sandybridge, Prescott), one after the other;
# kernels this CPU cannot run are skipped. Not part of `make test` (which keeps the
# environment's OPENBLAS_CORETYPE); about one test-suite run per kernel.
#   bash scripts/test_kernels.sh [KERNEL...]
set -uo pipefail
cd "$(dirname "$0")/.."
make -j2 build/adbench build/test_adbench >/dev/null || exit 1
fail=0
for k in "${@:-Cooperlake SkylakeX Haswell Sandybridge Prescott}"; do
  for kk in $k; do
    got=$(OPENBLAS_CORETYPE=$kk ADBENCH_BLAS_CORE=keep ./build/adbench bench sgemm --size 8 2>/dev/null | sed -n 's/.*(kernel \([^;]*\);.*/\1/p')
    if [ "$got" != "$kk" ]; then echo "== $kk: not available here (OpenBLAS ran $got); skipped"; continue; fi
    echo "== $kk"
    res=$(OPENBLAS_CORETYPE=$kk ADBENCH=$PWD/build/adbench ./build/test_adbench --jobs=2 2>&1 | grep -E '^\[FAIL|Synthesis')
    echo "$res"
    case "$res" in *"[FAIL"*|"") fail=1;; esac
  done
done
exit $fail
