// The experiment pipeline behind `adbench run`.
//
// Units of work are (variant, dataset, category) triples in config order; each runs every
// method of its variant (a *job* = variant x method) on features extracted once:
//   adapter lists samples -> backbone features through the feature cache (test images; and
//   for few/full-shot methods the references train[seed*shots, (seed+1)*shots), each rotated
//   by 360/R degrees R times when Method.reference_rotations says so) -> Method.run ->
//   patch maps upsampled to the evaluation resolution -> metrics -> one results row.
//
// Evaluation protocols (docs/datasets_metrics.md §B7):
//   native     maps bilinearly upsampled (align_corners=False) to each image's own size;
//              masks binarised > 0 (mask_rule auto).
//   resized:S  maps upsampled to S x S with align_corners=True (MuSc); masks resized with
//              Pillow's bilinear filter (pil_resize_u8), then == 255 (eq255: MVTec, BTAD,
//              RAD, synth) or > 0 (gt0: VisA) — auto takes the dataset adapter's rule.
//   A method may ask for align_corners=False (MethodOutput.half_pixel) and a Gaussian blur
//   in pixels of the evaluation resolution (MethodOutput.smooth_sigma).
//   image_score: method = the method's score; max = max of the map at the evaluation size.
//   MethodContext.score_size = S for resized:S; for native, the backbone's size key (518
//   when it has none or it is 0).
//
// Timing columns (per (job, category) row):
//   extract_s     wall seconds to obtain the row's features (test + references), cache reads
//                 included; test features are shared by the methods of a category, so
//                 every method's row counts them.
//   score_s       wall seconds of Method.run.
//   metrics_s     upsampling, mask loading/resizing and the metrics.
//   images_per_s  steady-state test throughput: n_test / (n_test * t_img + score_s), where
//                 t_img = mean extraction time of the test images excluding the first
//                 (warm-up) one. cache_hits says how many features came from the cache.
//
// Resume: rows already in results.csv (same job id, dataset and category) are skipped, so
// rerunning after a crash or Ctrl-C finishes the rest. The CSV is rewritten atomically after
// every row: a crash never leaves a partial file. Any error stops the run with one message.
// Rows of another commit or other weights are kept with a warning (--rerun-stale reruns them).
// The folder also gets config.resolved.yaml (config.h) and run.log (runlog.h).
//
// Per-image outputs (per_image.csv, maps/<job>/<dataset>/<category>.npy) and the variant /
// grid labels: per_image.h, variant.h, docs/outputs.md.
//
// Shards (--shard i/n, 0 <= i < n): unit k (in config order) runs on shard k mod n and
// writes <out>/results.shard-<i>-of-<n>.csv; `adbench merge` joins them and adds the means.
#pragma once
#include <stdio.h>

#include "config.h"
#include "evaluate.h"  // mask_binarise (kept visible to runner users)
#include "method.h"

typedef struct {
    const char *out_dir;  // --out (NULL: the config's out_dir)
    int dry_run;          // list jobs; open neither weights nor datasets
    int quiet;            // no progress, no tables (errors and the final line only)
    int shard_i, shard_n; // shard_n <= 1: everything
    const Registry *reg;  // NULL = built-in registries
    FILE *out;            // console tables (stdout when NULL)
    const char *const *only;  // --only DATASET/CATEGORY entries (comma-separated lists); NULL: all
    int n_only;
    int force;        // rerun every row of this config that results.csv already holds
    int rerun_stale;  // rerun the rows another adbench commit (git_commit) or other weights (weights_sha256) made
} RunOptions;

// Runs every unit. Returns 0, or -1 + ad_error (the results written so far stay valid).
int runner_run(const Config *cfg, const RunOptions *o);

// `adbench predict` (src/cmd_predict.c): the run's feature extraction (through the feature
// cache) and method dispatch on an in-memory category, without metrics or CSV. Methods of
// variant 0 of cfg (only the one named `method` when non-NULL), in config order, score
// C->test; few/full-shot methods take their references from C->train as a run does
// (shots/seed). After each method, cb gets its index in cfg->variants[0].methods and its output
// (n_test scores, maps of gh x gw); a nonzero return stops. 0, or -1 + ad_error.
typedef int (*PredictFn)(void *user, int m, const MethodOutput *mo, int gh, int gw);
int runner_predict(const Config *cfg, const Category *C, const char *method, int quiet, PredictFn cb, void *user);
