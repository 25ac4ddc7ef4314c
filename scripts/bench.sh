#!/usr/bin/env bash
# make bench: every benchmark, each printed as ratios to baselines measured in the same run
# (OpenBLAS sgemm peak inside adbench; PyTorch / sklearn through tests/gen/bench_*.py when
# the Python stack of `scripts/setup.sh --dev` is installed). Timings on a shared machine are
# noisy: compare the ratios, not the seconds.
#   bash scripts/bench.sh [quick]      quick = smaller sizes, for a smoke run
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${ADBENCH:-./build/adbench}
[ -x "$BIN" ] || { echo "bench: $BIN not found; run make first" >&2; exit 1; }
quick=${1:-}
run() { echo; echo "== $*"; "$@" || echo "(failed: $*)"; }

run "$BIN" bench sgemm
if [ "$quick" = quick ]; then
    run "$BIN" bench metrics --images 100
    run "$BIN" bench msm --quick
    run "$BIN" bench coreset --quick
    run "$BIN" bench codegraph
    run "$BIN" bench vit --blocks 2 --reps 1
    run "$BIN" bench resnet --model resnet18 --batch 1 --reps 1
else
    run /usr/bin/time -v "$BIN" bench metrics
    run "$BIN" bench msm
    run "$BIN" bench coreset
    run "$BIN" bench codegraph
    run "$BIN" bench vit
    run /usr/bin/time -v "$BIN" bench resnet
fi
if /usr/bin/python3 -c 'import torch, sklearn' 2>/dev/null; then
    run /usr/bin/python3 tests/gen/bench_metrics_sklearn.py "$BIN" ${quick:+4 256}
    if [ "$quick" = quick ]; then
        run /usr/bin/python3 tests/gen/bench_torch_vit.py --adbench "$BIN" --blocks 2 --reps 1
        run /usr/bin/python3 tests/gen/bench_torch_resnet.py --adbench "$BIN" --model resnet18 --batch 1 --reps 1
    else
        run /usr/bin/python3 tests/gen/bench_torch_vit.py --adbench "$BIN"
        run /usr/bin/python3 tests/gen/bench_torch_resnet.py --adbench "$BIN"
    fi
else
    echo; echo "PyTorch/sklearn baselines skipped: run 'bash scripts/setup.sh --dev' first."
fi
