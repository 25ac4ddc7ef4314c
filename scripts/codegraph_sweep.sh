#!/usr/bin/env bash
# CoDeGraph vs MuSc on synthetic consistent anomalies, swept over the number m of test images
# that share one defect type (docs: ../shared/docs/codegraph.md, "How we know it works here").
#
# Each point is one synthetic category: n_good normal + n_unique unique-defect + m consistent
# test images (N = n_good + n_unique + m); m = 0 is the unique-defects-only set. MuSc's 30 %
# interval is defeated once m - 1 >= 0.3 (N - 1). Features: the weight-free pixel backbone.
#
#   scripts/codegraph_sweep.sh [OUT_CSV] [options]
#     --ms "0 1 2 4 ..."   m values (default: 0 1 2 4 6 8 10 12 14 16 20 24 32)
#     --seeds "0 1"        synth seeds (default 0)
#     --kind texture|object  synth kind (default texture); --shape patch|blob|... (default patch)
#     --methods YAML       extra method entries, e.g. '{name: codegraph, burnout_window: 0}'
#                          (0 = MuSc's window, the draft's choice; the default is 0.5)
#     --adbench PATH       binary (default build/adbench)
#     --from RESULTS.csv   only aggregate an earlier run's results.csv (no run)
# Writes OUT_CSV (default results/codegraph_synth_sweep.csv): one row per (seed, m, method
# variant) with pixel AP, pixel F1-max, AU-PRO, image AUROC; prints a markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=results/codegraph_synth_sweep.csv
MS="0 1 2 4 6 8 10 12 14 16 20 24 32"
SEEDS="0"
KIND=texture
SHAPE=patch
EXTRA=""
BIN=${ADBENCH:-build/adbench}
NGOOD=24
NUNIQUE=8
SIZE=128
FROM=""
if [[ $# -gt 0 && $1 != --* ]]; then OUT=$1; shift; fi
while [[ $# -gt 0 ]]; do
  case $1 in
    --ms) MS=$2; shift 2 ;;
    --seeds) SEEDS=$2; shift 2 ;;
    --kind) KIND=$2; shift 2 ;;
    --shape) SHAPE=$2; shift 2 ;;
    --methods) EXTRA="$EXTRA
  - $2"; shift 2 ;;
    --adbench) BIN=$2; shift 2 ;;
    --from) FROM=$2; shift 2 ;;
    *) echo "codegraph_sweep.sh: unknown option '$1'" >&2; exit 1 ;;
  esac
done
if [[ -n $FROM ]]; then
  RES=$FROM
else
[[ -x $BIN ]] || { echo "codegraph_sweep.sh: $BIN not found. Fix: make (or --adbench PATH)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/codegraph_sweep.XXXXXX)
CFG=$WORK/sweep.yaml
{
  echo "name: codegraph_sweep"
  echo "datasets:"
  for seed in $SEEDS; do
    for m in $MS; do
      if [[ $m -eq 0 ]]; then cons="n_consistent_types: 0"; else cons="consistent: \"$SHAPE:$m\""; fi
      printf '  - name: synth\n    synth: {seed: %s, size: %s, kind: %s, categories: [%s_s%s_m%02d], n_train: 2, n_good: %s, n_unique: %s, %s}\n' \
        "$seed" "$SIZE" "$KIND" "$KIND" "$seed" "$m" "$NGOOD" "$NUNIQUE" "$cons"
    done
  done
  cat <<EOF
backbone: {name: pixel, size: $SIZE, patch: 8, stride: 8, scales: [1, 2]}
methods:
  - name: musc
  - name: codegraph$EXTRA
evaluation: {resolution: resized:$SIZE, mask_rule: auto, pro_limit: 0.3, image_score: method}
seed: 0
cache_dir: $WORK/cache
out_dir: $WORK/run
EOF
} > "$CFG"
"$BIN" run "$CFG" --quiet
RES=$WORK/run/results.csv
fi

# Columns by name (results.csv is written by the runner; quoted fields hold no commas we need).
mkdir -p "$(dirname "$OUT")"
awk -F, -v OFS=, '
  function col(name) { return idx[name] }
  NR == 1 {
    # split on commas outside quotes
    for (i = 1; i <= NF; i++) idx[$i] = i
    print "kind,seed,m,n_test,method,variant,pixel_ap,pixel_f1max,pixel_aupro,image_auroc,score_s"
    next
  }
  {
    line = $0; n = 0; f = ""; q = 0
    for (i = 1; i <= length(line); i++) {
      c = substr(line, i, 1)
      if (c == "\"") { q = !q; continue }
      if (c == "," && !q) { v[++n] = f; f = ""; continue }
      f = f c
    }
    v[++n] = f
    cat = v[col("category")]
    if (cat == "mean") next
    split(cat, parts, "_")
    kind = parts[1]; seed = substr(parts[2], 2); m = substr(parts[3], 2) + 0
    variant = "default"
    if (v[col("method.burnout_window")] != "") variant = "window=" v[col("method.burnout_window")]
    if (("method.max_share" in idx) && v[col("method.max_share")] != "" && v[col("method.max_share")] != "0.5")
      variant = variant " max_share=" v[col("method.max_share")]
    if (v[col("method.community")] == "false") variant = "community=false"
    print kind, seed, m, v[col("n_test")], v[col("method")], variant, v[col("pixel_ap")], v[col("pixel_f1max")],
          v[col("pixel_aupro")], v[col("image_auroc")], v[col("score_s")]
  }' "$RES" | { read -r h; echo "$h"; sort -t, -k1,1 -k2,2n -k3,3n -k5,5r -k6,6; } > "$OUT"

echo "results: $OUT (from $RES; CoDeGraph diagnostics beside it)"
# Markdown: one row per (seed, m), MuSc vs each CoDeGraph variant (percent).
awk -F, 'NR > 1 {
    key = $1 "," $2 "," $3; name = $5 ($6 == "default" ? "" : "[" $6 "]")
    if (!(key in seen)) { seen[key] = 1; keys[++nk] = key; nt[key] = $4 }
    if (!(name in seenm)) { seenm[name] = 1; names[++nm] = name }
    val[key, name] = sprintf("%.1f / %.1f / %.1f / %.1f", 100 * $7, 100 * $8, 100 * $9, 100 * $10)
  }
  END {
    printf "| kind | seed | m | N |"; for (j = 1; j <= nm; j++) printf " %s P-AP / P-F1 / AU-PRO / I-AUROC |", names[j]; print ""
    printf "|---|---|---|---|"; for (j = 1; j <= nm; j++) printf "---|"; print ""
    for (i = 1; i <= nk; i++) {
      split(keys[i], k, ",")
      printf "| %s | %s | %s | %s |", k[1], k[2], k[3], nt[keys[i]]
      for (j = 1; j <= nm; j++) printf " %s |", val[keys[i], names[j]]
      print ""
    }
  }' "$OUT"
