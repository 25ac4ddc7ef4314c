#!/usr/bin/env bash
# The offline demo (make demo): MuSc vs CoDeGraph vs PatchCore on a synthetic category whose
# defects recur across test images (consistent anomalies), plus the real MVTec AD screw
# category when ../shared/data/mvtec_ad exists. Weight-free "pixel" backbone, CPU only; a minute
# or two on 2 cores. Extra arguments go to `adbench run` (e.g. --set save_maps=true, --quiet).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${ADBENCH:-./build/adbench}
[ -x "$BIN" ] || { echo "demo: $BIN not found; run make first" >&2; exit 1; }
OUT=${DEMO_OUT:-results/runs/demo}
"$BIN" run configs/demo.yaml --out "$OUT" "$@"
cat <<TXT

What the rows above show (metrics in percent; one row per dataset/category x method, plus means):

  synth/woven   A generated woven texture whose test set holds two defect types that each recur
                in 8 of the 40 test images, plus 8 one-off defects. MuSc scores every test image
                against the others: a recurring defect finds its look-alikes in the other
                defective images, so it scores as normal and MuSc's pixel AP is low. CoDeGraph
                detects those groups of images (neighbour burnout -> image graph -> communities),
                filters them out and recovers the pixel AP. PatchCore uses 4 normal training
                images as references, so recurring defects do not fool it.
  mvtec/screw   The real MVTec AD screw category (only when ../shared/data/mvtec_ad exists;
                elsewhere: bash scripts/demo.sh --set datasets.1.root=data/mvtec_anomaly_detection).
                The "pixel" backbone is raw pixel patches, not a pretrained network: on screw,
                all three methods are expected to be near chance (image AUROC about 50). The row
                shows that a real dataset runs end to end; it is not a measurement of the methods
                (that needs CLIP or DINOv2 weights: configs/musc_codegraph_clip.yaml).
  mean          The mean over the categories of each dataset (here one category each).

Rows: $OUT/results.csv (columns: docs/protocols.md). Rerunning resumes (finished rows are
skipped, features come from cache/features).

Compare two runs of your own: rows are matched by dataset, category and config, so a rerun
on another machine, thread count or commit shows its deltas (expected: zero, or rounding-level):
  $BIN run configs/demo.yaml --out ${OUT}_rerun --set threads=1 --quiet
  $BIN compare ${OUT}_rerun/results.csv $OUT/results.csv
(To study a parameter, sweep it in one run: --set 'methods.0.topmin_max={grid: [0.1, 0.3]}'.)
Published numbers (results/published/) were measured with CLIP/DINOv2 at 518 px; compare
refuses the demo's pixel-backbone rows against them. Run the paper config first:
  bash scripts/fetch_weights.sh clip-hf && $BIN run configs/musc_codegraph_clip.yaml
  $BIN compare results/runs/musc_codegraph_clip/results.csv results/published/musc_readme.csv
TXT
