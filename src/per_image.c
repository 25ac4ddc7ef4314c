// per_image.csv and the raw maps (contract in per_image.h).
#include "per_image.h"

#include <csv.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "fsutil.h"
#include "npy.h"
#include "results.h"

static const char *const BASE_COLS[] = {"job",    "dataset", "category", "method", "variant", "index",
                                        "path",   "defect",  "label",    "score",  "map"};
#define N_BASE (int)(sizeof BASE_COLS / sizeof *BASE_COLS)

char *per_image_csv_path(const char *results_csv) {
    const char *slash = strrchr(results_csv, '/');
    const char *base = slash ? slash + 1 : results_csv;
    int dl = (int)(base - results_csv);
    const char *rest = !strncmp(base, "results", 7) ? base + 7 : ".csv";
    return ad_sprintf("%.*sper_image%s", dl, results_csv, rest);
}

char *per_image_maps_rel(const PerImageKey *k) {
    return ad_sprintf("maps/%s/%s/%s.npy", k->job, k->dataset, k->category);
}

static int write_maps(const char *path, const float *maps, int n, int gh, int gw) {
    char *dir = ad_strdup(path);
    *strrchr(dir, '/') = 0;
    if (fs_mkdirs(dir)) {
        free(dir);
        return -1;
    }
    free(dir);
    int64_t shape[3] = {n, gh, gw};
    return npy_write_atomic(path, NPY_F32, 3, shape, maps);
}

// Existing per-image table (or an empty one), with every column of cols present.
static int load_table(Table *t, const char *path, const char *const *cols, int n_cols) {
    if (access(path, F_OK)) {
        table_init(t, cols, n_cols);
        return 0;
    }
    Table old;
    if (table_read_csv(&old, path)) return ad_error_prefix("per-image results (move the file away to start anew)");
    for (int c = 0; c < N_BASE; c++)
        if (table_col(&old, BASE_COLS[c]) < 0) {
            ad_error("%s: expected a per-image table with column '%s'. Fix: move the file away (it is rewritten)", path,
                     BASE_COLS[c]);
            table_free(&old);
            return -1;
        }
    // Union of columns: the old order, then new ones.
    int n = old.n_cols;
    const char **u = ad_malloc((size_t)(old.n_cols + n_cols) * sizeof *u);
    for (int c = 0; c < old.n_cols; c++) u[c] = old.cols[c];
    for (int c = 0; c < n_cols; c++)
        if (table_col(&old, cols[c]) < 0) u[n++] = cols[c];
    table_init(t, u, n);
    const char **cells = ad_calloc((size_t)n, sizeof *cells);
    for (int r = 0; r < old.n_rows; r++) {
        for (int c = 0; c < n; c++) cells[c] = c < old.n_cols ? old.rows[r][c] : "";
        table_add_row(t, cells);
    }
    free(cells);
    free(u);
    table_free(&old);
    return 0;
}

int per_image_save(const char *out_dir, const char *per_image_csv, const PerImageKey *k, const Category *C,
                   const MethodOutput *mo, int gh, int gw) {
    int n = C->n_test;
    char *rel = per_image_maps_rel(k);
    char *maps_path = ad_sprintf("%s/%s", out_dir, rel);
    if (write_maps(maps_path, mo->maps, n, gh, gw)) {
        free(rel), free(maps_path);
        return -1;
    }
    free(maps_path);
    int nd = mo->diag && mo->diag_names ? mo->n_diag : 0;
    const char **cols = ad_malloc((size_t)(N_BASE + nd) * sizeof *cols);
    char **dcols = ad_calloc((size_t)(nd ? nd : 1), sizeof *dcols);
    for (int c = 0; c < N_BASE; c++) cols[c] = BASE_COLS[c];
    for (int d = 0; d < nd; d++) cols[N_BASE + d] = dcols[d] = ad_sprintf("diag.%s", mo->diag_names[d]);
    Table t;
    int rc = load_table(&t, per_image_csv, cols, N_BASE + nd);
    if (!rc) {
        int jc = table_col(&t, "job"), dc = table_col(&t, "dataset"), cc = table_col(&t, "category");
        for (int r = t.n_rows - 1; r >= 0; r--)
            if (!strcmp(t.rows[r][jc], k->job) && !strcmp(t.rows[r][dc], k->dataset) && !strcmp(t.rows[r][cc], k->category))
                table_remove_row(&t, r);
        int *at = ad_malloc((size_t)(N_BASE + nd) * sizeof *at);
        for (int c = 0; c < N_BASE + nd; c++) at[c] = table_col(&t, cols[c]);
        const char **cells = ad_calloc((size_t)t.n_cols, sizeof *cells);
        char bufs[4][64];
        for (int i = 0; i < n; i++) {
            const Sample *s = &C->test[i];
            for (int c = 0; c < t.n_cols; c++) cells[c] = "";
            snprintf(bufs[0], sizeof bufs[0], "%d", i);
            snprintf(bufs[1], sizeof bufs[1], "%d", s->label != 0);
            snprintf(bufs[2], sizeof bufs[2], "%.9g", (double)mo->image_score[i]);
            const char *vals[N_BASE] = {k->job, k->dataset,  k->category, k->method,  k->variant ? k->variant : "",
                                        bufs[0], s->path,    s->defect ? s->defect : "", bufs[1], bufs[2], rel};
            for (int c = 0; c < N_BASE; c++) cells[at[c]] = vals[c];
            char **dv = ad_calloc((size_t)(nd ? nd : 1), sizeof *dv);
            for (int d = 0; d < nd; d++) {
                dv[d] = ad_sprintf("%.9g", (double)mo->diag[(size_t)i * nd + d]);
                cells[at[N_BASE + d]] = dv[d];
            }
            table_add_row(&t, cells);
            for (int d = 0; d < nd; d++) free(dv[d]);
            free(dv);
        }
        free(cells);
        free(at);
        rc = table_write_csv(&t, per_image_csv);  // temp file + fsync + rename
        table_free(&t);
    }
    for (int d = 0; d < nd; d++) free(dcols[d]);
    free(dcols);
    free(cols);
    free(rel);
    return rc;
}
