#!/usr/bin/env bash
# The offline demo (make demo): MuSc vs CoDeGraph vs PatchCore on a synthetic category whose
# defects recur across test images (consistent anomalies), plus the real MVTec AD screw
# category when ../shared/data/mvtec_ad exists. Weight-free "pixel" backbone; a minute or two
# on 2 cores. Extra arguments go to `adbench run` (e.g. --set save_maps=true, --quiet).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${ADBENCH:-./build/adbench}
[ -x "$BIN" ] || { echo "demo: $BIN not found; run make first" >&2; exit 1; }
OUT=${DEMO_OUT:-results/runs/demo}
"$BIN" run configs/demo.yaml --out "$OUT" "$@"
echo
echo "Rows: $OUT/results.csv (one per method x category, plus means)."
echo "Rerunning resumes (finished rows are skipped, features come from cache/features)."
echo "Compare against a published table: $BIN compare $OUT/results.csv results/published/musc_readme.csv"
