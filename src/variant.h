// Readable ablation rows and run selection for `adbench run`.
//
// Variant labels: a variant's grid point (Variant.grid_point, "path=value" components from
// config.c) restricted to the components that concern one job (variant, method m):
// components under methods.<k>. with k != m are dropped (they vary another method), and so
// is seed for jobs the run seed does not affect (zero-shot and full-shot: the seed only picks
// k-shot references). A job that several variants share (same identity, runs once) thus gets
// the same label whichever variant ran it. results.csv: `grid` = the label joined by spaces
// (the grid-point format), `variant` = joined by commas ("methods.0.topmin_max=0.2,seed=1");
// both empty without grids.
//
// --only DATASET/CATEGORY (or DATASET: all its categories), repeatable or comma-separated.
//
// Job counter: "job k/N" over the (unit, method) rows this run still has to compute, with an
// overall ETA = elapsed / done * remaining.
#pragma once

#include <stdio.h>

#include "config.h"

// malloc'd; "" when the variant has no grid or no component concerns method m.
char *variant_label(const Variant *V, int m, char sep);

// Split "a,b" entries of only[0..n_only) and check each against the unit names ("ds/cat";
// cat may be NULL = "all categories, not listed yet" (dry run), which matches any category of
// ds). keep[u] = 1 for selected units. n_only == 0: everything. Returns 0, or -1 + ad_error
// naming the entry and listing the valid names.
int only_select(const char *const *only, int n_only, int n_units, const char *const *ds, const char *const *cat,
                int *keep);

typedef struct {
    int total, done;
    double t0;  // first job's start
} JobCounter;

void job_counter_init(JobCounter *jc, int total);
// Before a job runs: "job k/N: <what> [variant] — d done in T, ETA E" on f (stderr).
void job_counter_next(JobCounter *jc, FILE *f, const char *what, const char *variant);
