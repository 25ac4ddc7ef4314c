// Per-image outputs of `adbench run`, beside results.csv (docs/outputs.md):
//   per_image.csv   one row per test image of every (job, dataset, category) row of
//                   results.csv: job, dataset, category, method, variant, index, path, defect,
//                   label, score (the method's own image score, %.9g: float32 round-trips),
//                   map (the maps file, relative to the output folder), then the method's
//                   per-image diagnostics as diag.<name> columns (empty where a method has none).
//                   Shards write per_image.shard-<i>-of-<n>.csv.
//   maps/<job>/<dataset>/<category>.npy
//                   float32, shape (N, gh, gw): the raw anomaly maps at the method's grid,
//                   before upsampling and smoothing, in the order of the rows (index 0..N-1).
// Both are written atomically (temp file <name>.tmp.<pid>.<random>, then rename), before
// the results.csv row: a crash leaves either the old files or the new ones, and a resumed
// run that redoes a row replaces its per-image rows.
#pragma once

#include "dataset.h"
#include "method.h"

typedef struct {
    const char *job, *dataset, *category, *method, *variant;
} PerImageKey;

// per_image[.shard-i-of-n].csv beside results_csv (results[.shard-i-of-n].csv). malloc'd.
char *per_image_csv_path(const char *results_csv);
// Relative path of the maps file under the output folder. malloc'd.
char *per_image_maps_rel(const PerImageKey *k);
// Write the maps file and replace the (job, dataset, category) rows of per_image_csv.
// mo holds n = C->n_test scores and maps of gh x gw. Returns 0 or -1 + ad_error.
int per_image_save(const char *out_dir, const char *per_image_csv, const PerImageKey *k, const Category *C,
                   const MethodOutput *mo, int gh, int gw);
