// `adbench run`'s results table: columns in their order, rows sorted, the console lines, the
// lock on results.csv, and resume (which rows of an existing results.csv are kept, stale or
// redone). The state is runner.c's Run (run_state.h).
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cache.h"
#include "cli.h"
#include "curves.h"
#include "err.h"
#include "evaluate.h"
#include "fsutil.h"
#include "image.h"
#include "metrics.h"
#include "overlay.h"
#include "per_image.h"
#include "preprocess.h"  // resize_center_crop_u8
#include "progress.h"
#include "provenance.h"
#include "report.h"
#include "results.h"
#include "runlog.h"
#include "sha256.h"
#include "synth_dataset.h"
#include "variant.h"
#include "run_state.h"

static const char *const METRIC_HEAD[] = {"I-AUROC", "I-AP", "I-F1max", "P-AUROC", "P-AP", "P-F1max", "AUPRO", "PRO-MuSc"};

static void print_header(Run *R) {
    if (R->o->quiet || R->header_printed) return;
    R->header_printed = 1;
    fprintf(R->con, "%-30s %-12s %-8s", "dataset/category", "method", "job");
    for (int k = 0; k < N_RESULT_METRICS; k++) fprintf(R->con, " %8s", METRIC_HEAD[k]);
    fprintf(R->con, " %9s  %s\n", "img/s", "variant");
}

void run_print_row(Run *R, int r) {
    if (R->o->quiet) return;
    print_header(R);
    const Table *t = &R->table;
    char name[128];
    snprintf(name, sizeof name, "%s/%s", table_get(t, r, "dataset"), table_get(t, r, "category"));
    fprintf(R->con, "%-30.30s %-12.12s %-8.8s", name, table_get(t, r, "method"), table_get(t, r, "job"));
    for (int k = 0; k < N_RESULT_METRICS; k++) {
        double v;
        if (cell_double(table_get(t, r, RESULT_METRICS[k]), &v) || isnan(v)) fprintf(R->con, " %8s", "-");
        else fprintf(R->con, " %8.2f", 100 * v);
    }
    double ips;
    if (!cell_double(table_get(t, r, "images_per_s"), &ips) && !isnan(ips)) fprintf(R->con, " %9.2f", ips);
    else fprintf(R->con, " %9s", "-");
    fprintf(R->con, "  %s\n", table_get(t, r, "variant"));
    fflush(R->con);
}

// ---------------------------------------------------------------------------------------
// Columns and rows

static int col_rank(const char *k) {
    if (!strcmp(k, "backbone")) return 0;
    if (!strncmp(k, "backbone.", 9)) return 1;
    if (!strcmp(k, "method")) return 2;
    if (!strncmp(k, "method.", 7)) return 3;
    if (!strncmp(k, "evaluation.", 11)) return 4;
    return 5;
}

static const char *const TIMING_COLS[] = {"n_test", "n_train", "n_refs", "extract_s", "score_s",
                                          "metrics_s", "images_per_s", "cache_hits", "cache_mb"};
static const char *const PROV_COLS[] = {"grid", "image_size", "feature_grid", "git_commit", "adbench_version",
                                        "cpu_model", "threads", "blas_config", "config_hash", "split_hash",
                                        "weights_sha256"};

void run_build_columns(Run *R, char ***cols_out, int *n_out) {
    int n = 0, cap = 64;
    char **cols = ad_malloc((size_t)cap * sizeof *cols);
#define PUSH(s)                                                   \
    do {                                                          \
        if (n == cap) cap *= 2, cols = ad_realloc(cols, (size_t)cap * sizeof *cols); \
        cols[n++] = ad_strdup(s);                                 \
    } while (0)
    PUSH("job");
    PUSH("dataset");
    PUSH("category");
    PUSH("n_categories");
    PUSH("variant");  // grid values of the row's job (variant.h); empty without grids
    int cfg_start = n;
    for (int j = 0; j < R->n_jobs; j++)
        for (int i = 0; i < R->jobs[j].kv.n; i++) {
            const char *k = R->jobs[j].kv.keys[i];
            int seen = 0;
            for (int c = cfg_start; c < n && !seen; c++) seen = !strcmp(cols[c], k);
            if (!seen) PUSH(k);
        }
    // Order config columns: backbone, backbone.*, method, method.*, evaluation.*, seed.
    for (int a = cfg_start + 1; a < n; a++)
        for (int b = a; b > cfg_start; b--) {
            int ra = col_rank(cols[b - 1]), rb = col_rank(cols[b]);
            if (ra < rb || (ra == rb && strcmp(cols[b - 1], cols[b]) <= 0)) break;
            char *t = cols[b];
            cols[b] = cols[b - 1], cols[b - 1] = t;
        }
    for (int k = 0; k < N_RESULT_METRICS; k++) PUSH(RESULT_METRICS[k]);
    for (size_t k = 0; k < sizeof TIMING_COLS / sizeof *TIMING_COLS; k++) PUSH(TIMING_COLS[k]);
    for (size_t k = 0; k < sizeof PROV_COLS / sizeof *PROV_COLS; k++) PUSH(PROV_COLS[k]);
#undef PUSH
    *cols_out = cols;
    *n_out = n;
}

int run_find_row(const Run *R, const char *job, const char *ds, const char *cat) {
    const Table *t = &R->table;
    int jc = table_col(t, "job"), dc = table_col(t, "dataset"), cc = table_col(t, "category");
    for (int r = 0; r < t->n_rows; r++)
        if (!strcmp(t->rows[r][jc], job) && !strcmp(t->rows[r][dc], ds) && !strcmp(t->rows[r][cc], cat)) return r;
    return -1;
}

// Rows this run knows are sorted by (unit, method); others keep their order, after them.
static long row_key(const Run *R, int r) {
    const Table *t = &R->table;
    const char *job = table_get(t, r, "job"), *ds = table_get(t, r, "dataset"), *cat = table_get(t, r, "category");
    for (int j = 0; j < R->n_jobs; j++) {
        if (strcmp(R->jobs[j].id, job) || R->jobs[j].dup) continue;
        for (int u = 0; u < R->n_units; u++) {
            const Unit *U = &R->units[u];
            if (U->v == R->jobs[j].v && U->category && !strcmp(U->dsname, ds) && !strcmp(U->category, cat))
                return (long)u * 1000 + R->jobs[j].m;
        }
    }
    return 1000000000L + r;
}

static void sort_rows(Run *R) {
    Table *t = &R->table;
    long *key = ad_malloc((size_t)(t->n_rows ? t->n_rows : 1) * sizeof *key);
    for (int r = 0; r < t->n_rows; r++) key[r] = row_key(R, r);
    for (int a = 1; a < t->n_rows; a++)
        for (int b = a; b > 0 && key[b - 1] > key[b]; b--) {
            long k = key[b];
            key[b] = key[b - 1], key[b - 1] = k;
            char **x = t->rows[b];
            t->rows[b] = t->rows[b - 1], t->rows[b - 1] = x;
        }
    free(key);
}

// Expected categories of (job, dataset): the units of the job's variant for that dataset.
int run_group_complete(const char *job, const char *ds, int n, void *ctx) {
    Run *R = ctx;
    if (R->o->shard_n > 1) return 0;  // shards: adbench merge adds the means
    for (int j = 0; j < R->n_jobs; j++) {
        if (strcmp(R->jobs[j].id, job)) continue;
        int expect = 0;
        for (int u = 0; u < R->n_units; u++)
            if (R->units[u].v == R->jobs[j].v && !strcmp(R->units[u].dsname, ds)) expect++;
        return n == expect;
    }
    return 0;
}

int run_write_results(Run *R) {
    sort_rows(R);
    results_add_means(&R->table, run_group_complete, R);
    return table_write_csv(&R->table, R->csv_path);
}

// Exclusive flock on "<csv>.lock" holding our pid; returns the fd (kept open for the run) or
// -1 with ad_error naming the other process.
int run_lock_results(const char *csv) {
    char *lp = ad_sprintf("%s.lock", csv);
    int fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) {
        ad_error("%s: cannot create the lock file (%s). Fix: check that the output folder is writable", lp, strerror(errno));
        free(lp);
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB)) {
        int e = errno;
        char pid[32] = "";
        ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = 0;
        pid[strcspn(pid, "\n")] = 0;
        if (e == EWOULDBLOCK)
            ad_error("%s: another adbench run (pid %s) is writing this results file; two runs into one folder would lose "
                     "rows. Fix: wait for it to finish, or use another --out",
                     csv, *pid ? pid : "unknown");
        else
            ad_error("%s: cannot lock %s (%s)", csv, lp, strerror(e));
        close(fd);
        free(lp);
        return -1;
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
    if (ftruncate(fd, 0) || pwrite(fd, pid, (size_t)n, 0) != n) {}
    free(lp);
    return fd;
}

// Would this run compute the row (job, dataset, category)? Units of this shard and --only.
static int row_in_scope(const Run *R, const char *job, const char *ds, const char *cat) {
    for (int u = 0; u < R->n_units; u++) {
        const Unit *U = &R->units[u];
        if ((R->o->shard_n > 1 && u % R->o->shard_n != R->o->shard_i) || (R->keep && !R->keep[u])) continue;
        if (strcmp(U->dsname, ds) || !U->category || strcmp(U->category, cat)) continue;
        for (int m = 0; m < R->cfg->variants[U->v].n_methods; m++)
            if (!strcmp(R->jobs[R->job_of[U->v * R->max_m + m]].id, job)) return 1;
    }
    return 0;
}

// Load an existing results file for resume; its columns must be a subset of ours.
// The variant whose job has this id (-1: none of this config's).
static int variant_of_job(const Run *R, const char *id) {
    for (int j = 0; j < R->n_jobs; j++)
        if (!strcmp(R->jobs[j].id, id)) return R->jobs[j].v;
    return -1;
}

// R->wsha[v]: the digest of each variant's weights file (sha256.h: a file is read once,
// later variants and the driver's open get the cached digest). A file that cannot be read
// gets "" here; opening the backbone reports it.
void run_weights_digests(Run *R) {
    const Config *cfg = R->cfg;
    R->wsha = ad_calloc((size_t)cfg->n_variants, sizeof *R->wsha);
    for (int v = 0; v < cfg->n_variants; v++) {
        const Variant *V = &cfg->variants[v];
        const char *w = params_find(V->backbone.params.spec, "weights") ? params_str(&V->backbone.params, "weights") : "";
        char hex[65] = "";
        sha256_cache_configure(V->cache_dir, R->o->quiet);
        if (w && *w && sha256_file_cached(hex, w, NULL)) {
            ad_clear_error();
            hex[0] = 0;
        }
        R->wsha[v] = ad_strdup(hex);
    }
}

int run_load_existing(Run *R) {
    if (access(R->csv_path, F_OK)) return 0;
    Table old;
    if (table_read_csv(&old, R->csv_path)) return ad_error_prefix("resume");
    int *map = ad_malloc((size_t)old.n_cols * sizeof *map);
    for (int c = 0; c < old.n_cols; c++) {
        map[c] = table_col(&R->table, old.cols[c]);
        if (map[c] < 0) {
            ad_error("%s: column '%s' is not produced by this config/version, so its rows cannot be resumed. Fix: use "
                     "another --out folder, or move the old results.csv away",
                     R->csv_path, old.cols[c]);
            free(map);
            table_free(&old);
            return -1;
        }
    }
    int cc = table_col(&old, "category"), cj = table_col(&old, "job"), cd = table_col(&old, "dataset");
    int cg = table_col(&old, "git_commit"), cw = table_col(&old, "weights_sha256");
    const char **cells = ad_calloc((size_t)R->table.n_cols, sizeof *cells);
    int n_stale = 0, n_stale_w = 0, n_dropped = 0, n_unknown_w = 0;
    const char *stale_commit = NULL, *stale_w_old = NULL, *stale_w_now = NULL, *stale_w_file = NULL;
    for (int r = 0; r < old.n_rows; r++) {
        if (cc >= 0 && !strcmp(old.rows[r][cc], "mean")) continue;
        // Rows this run would compute: --force reruns them all; --rerun-stale those that an
        // other adbench commit made or other weights (a file replaced under the same path):
        // they resume silently otherwise, hiding the change.
        int mine = cj >= 0 && cd >= 0 && cc >= 0 && row_in_scope(R, old.rows[r][cj], old.rows[r][cd], old.rows[r][cc]);
        int stale = mine && cg >= 0 && strcmp(old.rows[r][cg], R->prov.git_commit);
        if (stale && !stale_commit) stale_commit = old.rows[r][cg];
        n_stale += stale;
        // Weights: an empty cell (older CSVs, weight-free backbones) is unknown, not stale.
        int v = mine ? variant_of_job(R, old.rows[r][cj]) : -1;
        const char *now = v >= 0 ? R->wsha[v] : "", *was = cw >= 0 ? old.rows[r][cw] : "";
        int stale_w = mine && *now && *was && strcmp(was, now);
        n_unknown_w += mine && *now && !*was;
        if (stale_w && !stale_w_old) {
            stale_w_old = was, stale_w_now = now;
            stale_w_file = params_str(&R->cfg->variants[v].backbone.params, "weights");
        }
        n_stale_w += stale_w;
        stale |= stale_w;
        if (mine && (R->o->force || (stale && R->o->rerun_stale))) {
            n_dropped++;
            continue;
        }
        for (int c = 0; c < R->table.n_cols; c++) cells[c] = "";
        for (int c = 0; c < old.n_cols; c++) cells[map[c]] = old.rows[r][c];
        table_add_row(&R->table, cells);
    }
    free(cells);
    free(map);
    if (n_stale_w && !R->o->force && !R->o->rerun_stale)
        fprintf(runlog_stream(),
                "adbench: warning: %s: %d row%s to resume %s made with other weights: %s had sha256 %.12s..., now "
                "%.12s...; kept. Fix: --rerun-stale reruns them, --force reruns every row of this config\n",
                R->csv_path, n_stale_w, n_stale_w == 1 ? "" : "s", n_stale_w == 1 ? "was" : "were", stale_w_file,
                stale_w_old, stale_w_now);
    if (n_unknown_w && !R->o->quiet)
        fprintf(runlog_stream(),
                "note: %s: %d resumed row%s no weights_sha256 (written by an older adbench); kept as they are, "
                "not checked against the current weights\n",
                R->csv_path, n_unknown_w, n_unknown_w == 1 ? " has" : "s have");
    if (n_stale && !R->o->force && !R->o->rerun_stale && stale_commit)
        fprintf(runlog_stream(),
                "adbench: warning: %s: %d row%s to resume %s made by adbench commit %s, not this one (%s); kept. "
                "Fix: --rerun-stale reruns them, --force reruns every row of this config\n",
                R->csv_path, n_stale, n_stale == 1 ? "" : "s", n_stale == 1 ? "was" : "were", stale_commit,
                R->prov.git_commit);
    else if (n_dropped && !R->o->quiet)
        fprintf(runlog_stream(), "note: %s: %d row%s rerun (%s)\n", R->csv_path, n_dropped, n_dropped == 1 ? "" : "s",
                R->o->force ? "--force" : "--rerun-stale: made by another commit or other weights");
    table_free(&old);
    return 0;
}

// ---------------------------------------------------------------------------------------
// Units and jobs

