// CSV tables (libcsv) with atomic writes, and the mean rows of results.csv.
#include "results.h"

#include <csv.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"  // fnv1a64
#include "err.h"
#include "fsutil.h"

const char *const RESULT_METRICS[8] = {"image_auroc", "image_ap",    "image_f1max", "pixel_auroc",
                                       "pixel_ap",    "pixel_f1max", "pixel_aupro", "pixel_aupro_musc"};

void table_init(Table *t, const char *const *cols, int n_cols) {
    memset(t, 0, sizeof *t);
    t->n_cols = n_cols;
    t->cols = ad_calloc((size_t)(n_cols ? n_cols : 1), sizeof *t->cols);
    for (int i = 0; i < n_cols; i++) t->cols[i] = ad_strdup(cols[i]);
}

void table_free(Table *t) {
    for (int r = 0; r < t->n_rows; r++) {
        for (int c = 0; c < t->n_cols; c++) free(t->rows[r][c]);
        free(t->rows[r]);
    }
    free(t->rows);
    for (int c = 0; c < t->n_cols; c++) free(t->cols[c]);
    free(t->cols);
    memset(t, 0, sizeof *t);
}

int table_col(const Table *t, const char *name) {
    for (int c = 0; c < t->n_cols; c++)
        if (!strcmp(t->cols[c], name)) return c;
    return -1;
}

void table_add_row(Table *t, const char *const *cells) {
    t->rows = ad_realloc(t->rows, (size_t)(t->n_rows + 1) * sizeof *t->rows);
    char **row = ad_calloc((size_t)(t->n_cols ? t->n_cols : 1), sizeof *row);
    for (int c = 0; c < t->n_cols; c++) row[c] = ad_strdup(cells && cells[c] ? cells[c] : "");
    t->rows[t->n_rows++] = row;
}

void table_remove_row(Table *t, int r) {
    for (int c = 0; c < t->n_cols; c++) free(t->rows[r][c]);
    free(t->rows[r]);
    memmove(t->rows + r, t->rows + r + 1, (size_t)(t->n_rows - r - 1) * sizeof *t->rows);
    t->n_rows--;
}

const char *table_get(const Table *t, int r, const char *col) {
    int c = table_col(t, col);
    return c < 0 ? "" : t->rows[r][c];
}

void table_set(Table *t, int r, const char *col, const char *val) {
    int c = table_col(t, col);
    if (c < 0) AD_INTERNAL("table_set: no column '%s'", col);
    free(t->rows[r][c]);
    t->rows[r][c] = ad_strdup(val ? val : "");
}

// --- reading ------------------------------------------------------------------------------

typedef struct {
    Table *t;
    char **fields;
    int n, cap;
    int line, header_done, bad;
    const char *path;
} ReadState;

static void on_field(void *s, size_t len, void *data) {
    ReadState *st = data;
    if (st->n == st->cap) {
        st->cap = st->cap ? 2 * st->cap : 32;
        st->fields = ad_realloc(st->fields, (size_t)st->cap * sizeof *st->fields);
    }
    char *f = ad_malloc(len + 1);
    if (len) memcpy(f, s, len);
    f[len] = 0;
    st->fields[st->n++] = f;
}

static void on_row(int c, void *data) {
    (void)c;
    ReadState *st = data;
    st->line++;
    if (st->bad) goto clear;
    if (st->n == 1 && !*st->fields[0]) goto clear;  // blank line
    if (!st->header_done) {
        table_init(st->t, (const char *const *)st->fields, st->n);
        st->header_done = 1;
    } else if (st->n != st->t->n_cols) {
        st->bad = st->line;
        ad_error("%s:%d: expected %d fields (as in the header), found %d. Fix: the file is damaged; restore it from a copy, or move it away (a rerun recomputes every row; rerunning onto it fails the same way)",
                 st->path, st->line, st->t->n_cols, st->n);
    } else {
        table_add_row(st->t, (const char *const *)st->fields);
    }
clear:
    for (int i = 0; i < st->n; i++) free(st->fields[i]);
    st->n = 0;
}

int table_read_csv(Table *t, const char *path) {
    memset(t, 0, sizeof *t);
    FILE *f = fopen(path, "rb");
    if (!f) return ad_error("%s: cannot open (%s)", path, strerror(errno));
    struct csv_parser p;
    if (csv_init(&p, CSV_APPEND_NULL)) AD_INTERNAL("csv_init failed");
    ReadState st = {.t = t, .path = path};
    char buf[1 << 16];
    size_t n;
    int rc = 0;
    int first = 1;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        size_t skip = 0;
        // A UTF-8 byte-order mark (spreadsheets write one) is not part of the first column name.
        if (first && n >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3)) skip = 3;
        first = 0;
        if (csv_parse(&p, buf + skip, n - skip, on_field, on_row, &st) != n - skip) {
            rc = ad_error("%s: not a valid CSV file (%s)", path, csv_strerror(csv_error(&p)));
            break;
        }
    }
    if (!rc) csv_fini(&p, on_field, on_row, &st);
    csv_free(&p);
    fclose(f);
    for (int i = 0; i < st.n; i++) free(st.fields[i]);
    free(st.fields);
    if (!rc && st.bad) rc = -1;
    if (!rc && !st.header_done) rc = ad_error("%s: empty file, expected a CSV header line", path);
    if (rc) table_free(t);
    return rc;
}

// --- writing ------------------------------------------------------------------------------

static int write_field(FILE *f, const char *s) {
    // Quote only when needed, through libcsv (doubles embedded quotes).
    if (strpbrk(s, ",\"\r\n") || (*s && (s[0] == ' ' || s[strlen(s) - 1] == ' ')))
        return csv_fwrite(f, s, strlen(s)) == 0 ? 0 : -1;
    return fputs(s, f) < 0 ? -1 : 0;
}

int table_write_csv(const Table *t, const char *path) {
    char *tmp = fs_tmp_name(path);  // pid + random: unique between concurrent writers
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        int rc = ad_error("%s: cannot write (%s). Fix: check that the output folder exists and is writable", tmp,
                          strerror(errno));
        free(tmp);
        return rc;
    }
    int bad = 0;
    for (int c = 0; c < t->n_cols; c++) bad |= (c && fputc(',', f) == EOF) || write_field(f, t->cols[c]);
    bad |= fputc('\n', f) == EOF;
    for (int r = 0; r < t->n_rows; r++) {
        for (int c = 0; c < t->n_cols; c++) bad |= (c && fputc(',', f) == EOF) || write_field(f, t->rows[r][c]);
        bad |= fputc('\n', f) == EOF;
    }
    bad |= fflush(f) != 0;
    bad |= fsync(fileno(f)) != 0 && errno != EINVAL;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path)) {
        unlink(tmp);
        int rc = ad_error("%s: cannot write (disk full?). Fix: free space and rerun (finished rows are kept)", path);
        free(tmp);
        return rc;
    }
    free(tmp);
    return 0;
}

// --- mean rows ------------------------------------------------------------------------------

int cell_double(const char *s, double *out) {
    if (!*s || !strcmp(s, "nan") || !strcmp(s, "NaN") || !strcmp(s, "-nan")) {
        *out = NAN;
        return 0;
    }
    char *end;
    double d = strtod(s, &end);
    if (end == s || *end) return -1;
    *out = d;
    return 0;
}

static const char *const SUM_COLS[] = {"n_test", "n_train", "n_refs", "extract_s", "score_s", "metrics_s",
                                       "cache_hits", "cache_mb"};

static void fmt_num(char *buf, size_t n, double v) {
    if (isnan(v)) snprintf(buf, n, "nan");
    else snprintf(buf, n, "%.12g", v);
}

typedef struct {
    Table *t;
    int jc, dc, cc;
} SortCtx;

static SortCtx g_sort;  // qsort has no context argument in C11; used only inside results_add_means
static int cmp_rows(const void *a, const void *b) {
    char *const *ra = *(char **const *)a, *const *rb = *(char **const *)b;
    return strcmp(ra[g_sort.cc], rb[g_sort.cc]);
}

void results_add_means(Table *t, int (*complete)(const char *job, const char *dataset, int n, void *ctx), void *ctx) {
    int jc = table_col(t, "job"), dc = table_col(t, "dataset"), cc = table_col(t, "category");
    if (jc < 0 || dc < 0 || cc < 0) AD_INTERNAL("results table lacks job/dataset/category columns");
    for (int r = t->n_rows - 1; r >= 0; r--)
        if (!strcmp(t->rows[r][cc], "mean")) table_remove_row(t, r);
    int n = t->n_rows;
    char ***old = t->rows;
    int *used = ad_calloc((size_t)(n ? n : 1), sizeof *used);
    char ***rows = ad_malloc((size_t)(2 * n + 1) * sizeof *rows);
    int out = 0;
    for (int r = 0; r < n; r++) {
        if (used[r]) continue;
        int start = out;
        for (int q = r; q < n; q++)
            if (!used[q] && !strcmp(old[q][jc], old[r][jc]) && !strcmp(old[q][dc], old[r][dc])) {
                used[q] = 1;
                rows[out++] = old[q];
            }
        int g = out - start;
        g_sort = (SortCtx){t, jc, dc, cc};
        qsort(rows + start, (size_t)g, sizeof *rows, cmp_rows);
        if (complete && !complete(old[r][jc], old[r][dc], g, ctx)) continue;
        // Mean row.
        char **m = ad_calloc((size_t)t->n_cols, sizeof *m);
        for (int c = 0; c < t->n_cols; c++) {
            const char *name = t->cols[c];
            int is_metric = 0, is_sum = 0;
            for (int k = 0; k < N_RESULT_METRICS; k++) is_metric |= !strcmp(name, RESULT_METRICS[k]);
            for (size_t k = 0; k < sizeof SUM_COLS / sizeof *SUM_COLS; k++) is_sum |= !strcmp(name, SUM_COLS[k]);
            char buf[64];
            if (c == cc) {
                m[c] = ad_strdup("mean");
            } else if (!strcmp(name, "n_categories")) {
                m[c] = ad_sprintf("%d", g);
            } else if (is_metric || is_sum) {
                double acc = 0;
                int empty = 1;
                for (int k = start; k < out; k++) {
                    double v;
                    if (!*rows[k][c]) continue;
                    if (cell_double(rows[k][c], &v)) v = NAN;
                    acc += v;
                    empty = 0;
                }
                if (empty) m[c] = ad_strdup("");
                else {
                    fmt_num(buf, sizeof buf, is_metric ? acc / g : acc);
                    m[c] = ad_strdup(buf);
                }
            } else if (!strcmp(name, "images_per_s")) {
                int ntc = table_col(t, "n_test");
                double imgs = 0, secs = 0;
                for (int k = start; k < out; k++) {
                    double ips, nt;
                    if (ntc < 0 || cell_double(rows[k][c], &ips) || cell_double(rows[k][ntc], &nt) || !(ips > 0)) continue;
                    imgs += nt;
                    secs += nt / ips;
                }
                if (secs > 0) fmt_num(buf, sizeof buf, imgs / secs);
                else buf[0] = 0;
                m[c] = ad_strdup(buf);
            } else if (!strcmp(name, "split_hash")) {
                uint64_t h = FNV1A64_INIT;
                for (int k = start; k < out; k++) h = fnv1a64(h, rows[k][c], strlen(rows[k][c]) + 1);
                m[c] = ad_sprintf("%016llx", (unsigned long long)h);
            } else {
                int same = 1;
                for (int k = start + 1; k < out; k++) same &= !strcmp(rows[k][c], rows[start][c]);
                m[c] = ad_strdup(same ? rows[start][c] : "");
            }
        }
        rows[out++] = m;
    }
    free(used);
    free(old);
    t->rows = rows;
    t->n_rows = out;
}
