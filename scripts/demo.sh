#!/usr/bin/env bash
# The offline demo (make demo), CPU only. Part 1: MuSc vs CoDeGraph vs PatchCore on a synthetic
# category whose defects recur across test images (consistent anomalies), weight-free "pixel"
# backbone. Part 2: the real MVTec AD screw category (../shared/data/mvtec_ad): PatchCore on the
# real ImageNet ResNet-18 when ../shared/data/weights holds it, else the pixel backbone. Two to
# three minutes on 2 cores. Extra arguments go to `adbench run` (e.g. --set save_maps=true, --quiet).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${ADBENCH:-./build/adbench}
[ -x "$BIN" ] || { echo "demo: $BIN not found; run make first" >&2; exit 1; }
OUT=${DEMO_OUT:-results/runs/demo}
WEIGHTS=../shared/data/weights/resnet18-imagenet1k-v1-bnfolded-layer1to3.safetensors
echo "Part 1: a synthetic consistent-anomaly category, weight-free pixel backbone"
"$BIN" run configs/demo.yaml --out "$OUT" "$@"
echo
if [ -f "$WEIGHTS" ]; then
    echo "Part 2: PatchCore on real pretrained features (torchvision ImageNet ResNet-18), MVTec AD screw"
    OUT2="$OUT/screw_resnet18"
    "$BIN" run configs/demo_resnet18.yaml --out "$OUT2" "$@"
else
    echo "Part 2: MVTec AD screw on the pixel backbone ($WEIGHTS not found)"
    OUT2="$OUT/screw_pixel"
    "$BIN" run configs/demo_screw_pixel.yaml --out "$OUT2" "$@"
fi
cat <<TXT

What the rows above show (metrics in percent; one row per dataset/category x method, plus means):

  synth/woven   A generated woven texture whose test set holds two defect types that each recur
                in 8 of the 40 test images, plus 8 one-off defects. MuSc scores every test image
                against the others: a recurring defect finds its look-alikes in the other
                defective images, so it scores as normal and MuSc's pixel AP is low. CoDeGraph
                detects those groups of images (neighbour burnout -> image graph -> communities),
                filters them out and recovers the pixel AP. PatchCore uses 4 normal training
                images as references, so recurring defects do not fool it.
  mvtec/screw   The real MVTec AD screw category (320 train, 160 test images; skipped when
                ../shared/data/mvtec_ad is absent). With the ImageNet ResNet-18 (part 2 above):
                PatchCore full-shot (1 % coreset) and 4-shot on pretrained CNN features, evaluated
                as patchcore-inspection does (Resize 256 + CenterCrop 224): real anomaly detection
                on real data. Without those weights the rows use the "pixel" backbone (raw pixel
                patches, not a pretrained network) and are expected to be near chance (image
                AUROC about 50): they show that a real dataset runs end to end, nothing more.
  mean          The mean over the categories of each dataset (here one category each).

Pictures of part 1: $OUT/report.html (open it in a browser: results table, ROC/PR/PRO curves,
bars per metric) and one heat-map overlay per test image in $OUT/pictures/synth/woven/<method>/.
Rows: $OUT/results.csv and $OUT2/results.csv (columns: docs/protocols.md). Rerunning resumes
(finished rows are skipped, features come from cache/features). The full real-feature study
(k-shot sweeps, AnomalyDINO, MuSc, CoDeGraph on ResNet-18): configs/real_resnet18_screw.yaml.

Compare two runs of your own: rows are matched by dataset, category and config, so a rerun
on another machine, thread count or commit shows its deltas (expected: zero, or rounding-level):
  $BIN run configs/demo.yaml --out ${OUT}_rerun --set threads=1 --quiet
  $BIN compare ${OUT}_rerun/results.csv $OUT/results.csv
(To study a parameter, sweep it in one run: --set 'methods.0.topmin_max={grid: [0.1, 0.3]}'.)
Published numbers (results/published/) were measured with CLIP/DINOv2 at 518 px or WideResNet-50
at 224; compare refuses the demo's rows against them. Run a paper config first:
  bash scripts/fetch_weights.sh clip-hf && $BIN run configs/musc_codegraph_clip.yaml
  $BIN compare results/runs/musc_codegraph_clip/results.csv results/published/musc_readme.csv
TXT
