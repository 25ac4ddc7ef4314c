// The state of one `adbench run` (runner.c) shared with the files that write its tables
// (run_table.c: columns, rows, resume, lock) and its resolved config (run_resolved.c). Private
// to those three files.
#pragma once
#include <stdio.h>

#include "backbone.h"
#include "cache.h"
#include "config.h"
#include "provenance.h"
#include "results.h"
#include "runner.h"
#include "variant.h"

// ---------------------------------------------------------------------------------------
// Run state

typedef struct {
    int v, d;
    char *category;  // NULL: "all" (dry-run only)
    const DatasetAdapter *ad;
    const char *dsname;
    char *root;
} Unit;

typedef struct {
    int v, m;
    char *id;
    KeyVals kv;
    int dup;  // same identity as an earlier job: runs once
} Job;

typedef struct {
    const Config *cfg;
    const RunOptions *o;
    FILE *con;
    int mode;  // progress mode
    Unit *units;
    int n_units;
    Job *jobs;
    int n_jobs;
    int *job_of;  // [variant * max_methods + m]
    int max_m;
    char *out_dir, *csv_path;
    Table table;
    Provenance prov;
    // open backbone
    char *bb_key;
    const BackboneDriver *drv;
    Backbone *bb;
    FeatureCache *cache;
    // totals
    double t_extract, t_score, t_metrics, t0;
    long n_images, n_hits;
    int rows_new, header_printed;
    JobCounter jc;        // "job k/N" + overall ETA (variant.h)
    int *keep;            // --only: units selected (NULL: all)
    char *per_image_csv;  // per_image.csv beside csv_path (per_image.h)
    char **wsha;          // [variant]: SHA-256 of the backbone's weights file ("" without one)
    int bb_v;             // the variant that opened the backbone
    KeyVals resolved;     // "backbone.<key>" -> "value\tgrid point" of automatic backbone keys
    int n_opens;          // backbones noted in resolved
} Run;

static inline Job *job_at(Run *R, int v, int m) { return &R->jobs[R->job_of[v * R->max_m + m]]; }

// run_table.c
void run_print_row(Run *R, int r);
void run_build_columns(Run *R, char ***cols_out, int *n_out);
int run_find_row(const Run *R, const char *job, const char *ds, const char *cat);
int run_group_complete(const char *job, const char *ds, int n, void *ctx);
int run_write_results(Run *R);
int run_lock_results(const char *csv);
void run_weights_digests(Run *R);
int run_load_existing(Run *R);

// run_resolved.c
int run_write_resolved(Run *R);
