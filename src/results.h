// Results tables: CSV via libcsv (quoting on write, parsing on read), written atomically
// (temp file in the same folder, fsync, rename) so a crash never leaves a partial CSV.
//
// results.csv columns, in this order:
//   job, dataset, category, n_categories          identity (category "mean" on mean rows)
//   variant                                        grid values of the row's job (variant.h),
//                                                   "methods.0.topmin_max=0.2,seed=1"; "" w/o grids
//   backbone, backbone.<key>..., method, method.<key>..., evaluation.<key>..., seed
//                                                   the flattened job config (ParamSpec
//                                                   defaults filled in; union over jobs)
//   image_auroc, image_ap, image_f1max, pixel_auroc, pixel_ap, pixel_f1max, pixel_aupro,
//   pixel_aupro_musc                               metrics, fractions in [0,1], %.12g
//   n_test, n_train, n_refs, extract_s, score_s, metrics_s, images_per_s, cache_hits, cache_mb
//                                                   timings (see runner.h for definitions)
//   grid, image_size, feature_grid, git_commit, adbench_version, cpu_model, threads,
//   blas_config, config_hash, split_hash,
//   weights_sha256                                 provenance (grid = the grid-point values
//                                                   of the row's job, space-separated, e.g.
//                                                   "backbone.size=224"; image_size = the
//                                                   backbone's size key; feature_grid = "37x37";
//                                                   split_hash = FNV-1a 64 of the category's
//                                                   sample list relative to the root;
//                                                   weights_sha256 = SHA-256 of the backbone's
//                                                   weights file, "" without one)
#pragma once

typedef struct {
    int n_cols;
    char **cols;
    int n_rows;
    char ***rows;  // rows[r][c], owned strings ("" for empty)
} Table;

extern const char *const RESULT_METRICS[8];
#define N_RESULT_METRICS 8

void table_init(Table *t, const char *const *cols, int n_cols);
void table_free(Table *t);
int table_col(const Table *t, const char *name);  // -1 if absent
// Append a row of n_cols strings (copied; NULL = "").
void table_add_row(Table *t, const char *const *cells);
void table_remove_row(Table *t, int r);
const char *table_get(const Table *t, int r, const char *col);  // "" if absent
void table_set(Table *t, int r, const char *col, const char *val);

// Read a CSV with a header line. 0, or -1 + ad_error naming the file and line.
int table_read_csv(Table *t, const char *path);
// Write atomically: path.tmp.<pid> then rename. 0 or -1 + ad_error (no file left behind).
int table_write_csv(const Table *t, const char *path);

// Recompute mean rows (category "mean"): drop existing ones, group category rows by
// (job, dataset) in first-appearance order, sort each group by category name, and append a
// mean row after each group for which complete(job, dataset, n, ctx) is nonzero (complete
// NULL = every group). Means: metrics = unweighted mean over categories (NaN if any is NaN);
// n_test, n_train, n_refs, extract_s, score_s, metrics_s, cache_hits, cache_mb = sums;
// images_per_s = total test images / total test seconds; split_hash = hash of the
// categories' hashes; other columns kept when equal across the group, else empty.
void results_add_means(Table *t, int (*complete)(const char *job, const char *dataset, int n, void *ctx), void *ctx);

// Parse a metric cell: "" / "nan" -> NAN. Returns 0 if numeric (or nan), -1 otherwise.
int cell_double(const char *s, double *out);
