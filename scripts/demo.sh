#!/usr/bin/env bash
# The offline demo (make demo): MuSc vs CoDeGraph vs PatchCore on a synthetic category whose
# defects recur across test images (consistent anomalies), weight-free "pixel" backbone; then
# the real MVTec AD screw category: PatchCore on the real ImageNet ResNet-18 when
# ../shared/data/weights holds it, else the pixel backbone. Two to three minutes on 2 cores. Extra arguments go to `adbench run` (e.g. --set save_maps=true, --quiet).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${ADBENCH:-./build/adbench}
[ -x "$BIN" ] || { echo "demo: $BIN not found; run make first" >&2; exit 1; }
OUT=${DEMO_OUT:-results/runs/demo}
"$BIN" run configs/demo.yaml --out "$OUT" "$@"
echo
if [ -f ../shared/data/weights/resnet18-imagenet1k-v1-bnfolded-layer1to3.safetensors ]; then
    echo "Part 2: PatchCore on real pretrained features (torchvision ImageNet ResNet-18), MVTec AD screw"
    "$BIN" run configs/demo_resnet18.yaml --out "$OUT/screw_resnet18" "$@"
else
    echo "Part 2: MVTec AD screw on the pixel backbone (no real weights found; near chance by design)"
    "$BIN" run configs/demo_screw_pixel.yaml --out "$OUT/screw_pixel" "$@"
fi
echo
echo "Rows: $OUT/results.csv (one per method x category, plus means)."
echo "Rerunning resumes (finished rows are skipped, features come from cache/features)."
echo "Compare against a published table: $BIN compare $OUT/results.csv results/published/musc_readme.csv"
