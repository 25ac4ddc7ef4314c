// adbench compare RESULTS.csv PUBLISHED.csv [--force]: per-category and mean deltas (ours -
// published) for every metric present in both files, matching rows by dataset, category and
// method (plus any other column the published file shares with the results, e.g.
// method.shots). A row is only compared when the run's setup is the source's: backbone,
// image size and evaluation protocol (the published columns backbone, image_size and
// evaluation.resolution; an empty cell = not stated by the source, not checked); with
// --force the deltas are printed anyway and every such row is marked. A mean is only
// compared with a mean over the same number of categories (published n_categories), always.
// adbench compare A.csv B.csv with two results.csv files: run vs run, rows matched by
// dataset, category and every config column (backbone*, method*, evaluation.*, seed).
// Published values are fractions, as in results.csv; deltas are printed in points (x100).
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "err.h"
#include "results.h"

static int is_metric(const char *c) {
    for (int k = 0; k < N_RESULT_METRICS; k++)
        if (!strcmp(c, RESULT_METRICS[k])) return 1;
    return 0;
}

static const char *const NOT_KEYS[] = {"source", "dataset", "category",     "method", "note", "units",
                                       "backbone", "image_size", "evaluation.resolution", "n_categories"};

// ---- the setup a published number was measured with ---------------------------------------

// Canonical backbone id of a results row: "pixel", "clip-vit-l14-336", "dinov2-vitl14", ...,
// from the backbone column and the weights file name; "vit:<file>" when not recognised,
// "unknown" when the results have no backbone column.
static void backbone_id(const Table *res, int r, char *out, size_t cap) {
    const char *bb = table_get(res, r, "backbone");
    if (!*bb) {
        snprintf(out, cap, "unknown");
        return;
    }
    if (strcmp(bb, "vit")) {
        snprintf(out, cap, "%s", bb);
        return;
    }
    const char *w = table_get(res, r, "backbone.weights"), *base = strrchr(w, '/');
    base = base ? base + 1 : w;
    char n[256];  // lower case, without '-', '_' and '.'
    size_t k = 0;
    for (const char *c = base; *c && k + 1 < sizeof n; c++)
        if (*c != '-' && *c != '_' && *c != '.') n[k++] = (char)tolower((unsigned char)*c);
    n[k] = 0;
    if (strstr(n, "dinov2")) {
        const char *sz = strstr(n, "small") || strstr(n, "vits") ? "s"
                         : strstr(n, "base") || strstr(n, "vitb") ? "b"
                         : strstr(n, "large") || strstr(n, "vitl") ? "l"
                         : strstr(n, "giant") || strstr(n, "vitg") ? "g"
                                                                   : NULL;
        if (sz) {
            snprintf(out, cap, "dinov2-vit%s14%s", sz, strstr(n, "reg") ? "-reg" : "");
            return;
        }
    } else if (strstr(n, "clip") || strstr(n, "vitl14336px")) {
        if (strstr(n, "l14") || strstr(n, "largepatch14")) {
            snprintf(out, cap, "clip-vit-l14%s", strstr(n, "336") ? "-336" : "");
            return;
        }
        if (strstr(n, "b32") || strstr(n, "basepatch32")) {
            snprintf(out, cap, "clip-vit-b32");
            return;
        }
        if (strstr(n, "b16") || strstr(n, "basepatch16")) {
            snprintf(out, cap, "clip-vit-b16");
            return;
        }
    }
    snprintf(out, cap, "vit:%s", *base ? base : "?");
}

// Input size of a results row (image_size, else backbone.size; 0 = the backbone's pretraining size).
static void size_of(const Table *res, int r, const char *bid, char *out, size_t cap) {
    const char *s = table_get(res, r, "image_size");
    if (!*s) s = table_get(res, r, "backbone.size");
    if (!strcmp(s, "0"))
        s = strstr(bid, "dinov2") ? "518" : strstr(bid, "-336") ? "336" : !strncmp(bid, "clip", 4) ? "224" : s;
    snprintf(out, cap, "%s", *s ? s : "unknown");
}

// 1 when every setup property the published row states equals the run's; else 0 and why.
static int setup_ok(const Table *res, int r, const Table *pub, int p, char *why, size_t cap) {
    char bid[300], size[64];
    backbone_id(res, r, bid, sizeof bid);
    size_of(res, r, bid, size, sizeof size);
    const char *prot = table_get(res, r, "evaluation.resolution");
    const char *ours[3] = {bid, size, *prot ? prot : "unknown"};
    static const char *const COLS[3] = {"backbone", "image_size", "evaluation.resolution"};
    static const char *const WHAT[3] = {"backbone", "image size", "protocol"};
    *why = 0;
    for (int k = 0; k < 3; k++) {
        const char *theirs = table_get(pub, p, COLS[k]);
        if (!*theirs || !strcmp(theirs, ours[k])) continue;
        snprintf(why + strlen(why), cap - strlen(why), "%s%s %s (published: %s)", *why ? ", " : "", WHAT[k], ours[k],
                 theirs);
    }
    return !*why;
}

static int is_extra_key(const Table *pub, const Table *res, int c) {
    const char *name = pub->cols[c];
    for (size_t k = 0; k < sizeof NOT_KEYS / sizeof *NOT_KEYS; k++)
        if (!strcmp(name, NOT_KEYS[k])) return 0;
    return !is_metric(name) && table_col(res, name) >= 0;
}

static int row_matches(const Table *res, int r, const Table *pub, int p, const char *cat) {
    if (strcmp(table_get(res, r, "dataset"), table_get(pub, p, "dataset"))) return 0;
    if (strcmp(table_get(res, r, "method"), table_get(pub, p, "method"))) return 0;
    if (strcmp(table_get(res, r, "category"), cat)) return 0;
    for (int c = 0; c < pub->n_cols; c++) {
        if (!is_extra_key(pub, res, c) || !*pub->rows[p][c]) continue;
        if (strcmp(table_get(res, r, pub->cols[c]), pub->rows[p][c])) return 0;
    }
    return 1;
}

// Refusals: per results row, why it was not compared (first reason), for the summary.
typedef struct {
    char **why;  // [res.n_rows], NULL = not refused
} Refusals;

static void refuse(Refusals *rf, int r, const char *why) {
    if (!rf->why[r]) rf->why[r] = ad_strdup(why);
}

static void print_delta(double o, double v) { printf(" %8.2f %7.2f %+7.2f", 100 * o, 100 * v, 100 * (o - v)); }

static int same_group(const Table *pub, int p, const char *ds, const char *me, const char *src) {
    return !strcmp(table_get(pub, p, "dataset"), ds) && !strcmp(table_get(pub, p, "method"), me) &&
           !strcmp(table_get(pub, p, "source"), src);
}

static int compare(const char *res_path, const char *pub_path, int force) {
    Table res, pub;
    if (table_read_csv(&res, res_path)) return -1;
    if (table_read_csv(&pub, pub_path)) {
        table_free(&res);
        return -1;
    }
    int rc = -1;
    Refusals rf = {calloc((size_t)res.n_rows + 1, sizeof(char *))};
    int *done_p = calloc((size_t)pub.n_rows + 1, sizeof *done_p);
    int *used_r = calloc((size_t)res.n_rows + 1, sizeof *used_r);
    const char *need[] = {"dataset", "category", "method"};
    for (int k = 0; k < 3; k++) {
        if (table_col(&res, need[k]) < 0) {
            ad_error("%s: expected a column '%s' (an adbench results.csv)", res_path, need[k]);
            goto done;
        }
        if (table_col(&pub, need[k]) < 0) {
            ad_error("%s: expected a column '%s' (published tables: source,dataset,category,method,<metrics>)", pub_path,
                     need[k]);
            goto done;
        }
    }
    const char *setup_cols[] = {"backbone", "image_size", "evaluation.resolution", "n_categories"};
    for (int k = 0; k < 4; k++)
        if (table_col(&pub, setup_cols[k]) < 0) {
            ad_error("%s: expected a column '%s' (published tables state backbone, image_size, evaluation.resolution "
                     "and n_categories). Fix: add the column with what the source states (empty cell = not stated)",
                     pub_path, setup_cols[k]);
            goto done;
        }
    const char *metrics[N_RESULT_METRICS];
    int nm = 0;
    for (int k = 0; k < N_RESULT_METRICS; k++)
        if (table_col(&res, RESULT_METRICS[k]) >= 0 && table_col(&pub, RESULT_METRICS[k]) >= 0) metrics[nm++] = RESULT_METRICS[k];
    if (!nm) {
        ad_error("%s and %s share no metric column (%s, ...)", res_path, pub_path, RESULT_METRICS[0]);
        goto done;
    }
    printf("compare %s vs %s%s\n", res_path, pub_path, force ? "  (--force)" : "");
    printf("metrics compared (columns in both files):");
    for (int k = 0; k < nm; k++) printf(" %s", metrics[k]);
    printf("\nvalues in percent; delta = ours - published; rows matched by dataset, category, method");
    for (int c = 0; c < pub.n_cols; c++)
        if (is_extra_key(&pub, &res, c)) printf(", %s", pub.cols[c]);
    printf("\nonly runs with the source's backbone, image size and protocol are compared%s\n",
           force ? "; --force: rows marked ! are NOT the published setup" : "");
    char why[1024];
    int any = 0;
    for (int p0 = 0; p0 < pub.n_rows; p0++) {
        if (done_p[p0] || !strcmp(table_get(&pub, p0, "category"), "mean")) continue;
        const char *ds = table_get(&pub, p0, "dataset"), *me = table_get(&pub, p0, "method"),
                   *src = table_get(&pub, p0, "source");
        // Jobs of this group: results rows matching any published row of the group.
        char **jobs = NULL;
        int nj = 0;
        for (int p = p0; p < pub.n_rows; p++) {
            if (!same_group(&pub, p, ds, me, src) || !strcmp(table_get(&pub, p, "category"), "mean")) continue;
            for (int r = 0; r < res.n_rows; r++)
                if (row_matches(&res, r, &pub, p, table_get(&pub, p, "category"))) {
                    if (!setup_ok(&res, r, &pub, p, why, sizeof why) && !force) {
                        refuse(&rf, r, why);
                        continue;
                    }
                    const char *j = table_get(&res, r, "job");
                    int seen = 0;
                    for (int q = 0; q < nj; q++) seen |= !strcmp(jobs[q], j);
                    if (!seen) jobs = realloc(jobs, (size_t)(nj + 1) * sizeof *jobs), jobs[nj++] = (char *)j;
                }
        }
        printf("\n== %s / %s  (published: %s)\n", ds, me, *src ? src : "?");
        if (!nj) printf("   no results rows with this table's setup\n");
        for (int q = 0; q < nj; q++) {
            // The job's setup, from its first row that matches this group.
            const char *mark = "";
            for (int x = 0; x < res.n_rows; x++)
                if (!strcmp(table_get(&res, x, "job"), jobs[q]) && row_matches(&res, x, &pub, p0, table_get(&res, x, "category")) &&
                    !setup_ok(&res, x, &pub, p0, why, sizeof why)) {
                    mark = " !";
                    break;
                }
            if (*mark) printf("-- job %s  ! FORCED: not the published setup: %s\n%-16s", jobs[q], why, "category");
            else printf("-- job %s\n%-16s", jobs[q], "category");
            for (int k = 0; k < nm; k++) printf(" %24s", metrics[k]);
            printf("\n%-16s", "");
            for (int k = 0; k < nm; k++) printf(" %8s %7s %7s", "ours", "pub", "delta");
            printf("\n");
            double so[N_RESULT_METRICS] = {0}, sp[N_RESULT_METRICS] = {0};
            int cnt[N_RESULT_METRICS] = {0}, ncat = 0, pmean = -1;
            char missing[4096] = "";
            for (int p = p0; p < pub.n_rows; p++) {
                if (!same_group(&pub, p, ds, me, src)) continue;
                const char *cat = table_get(&pub, p, "category");
                if (!strcmp(cat, "mean")) {
                    pmean = p;
                    continue;
                }
                int r = -1;
                for (int x = 0; x < res.n_rows && r < 0; x++)
                    if (!strcmp(table_get(&res, x, "job"), jobs[q]) && row_matches(&res, x, &pub, p, cat)) r = x;
                if (r < 0) {
                    snprintf(missing + strlen(missing), sizeof missing - strlen(missing), "%s%s", *missing ? ", " : "", cat);
                    continue;
                }
                used_r[r] = 1;
                ncat++;
                printf("%-16.16s", cat);
                for (int k = 0; k < nm; k++) {
                    double o, v;
                    if (cell_double(table_get(&pub, p, metrics[k]), &v) || isnan(v) ||
                        cell_double(table_get(&res, r, metrics[k]), &o) || isnan(o)) {
                        printf(" %8s %7s %7s", "", "-", "");
                        continue;
                    }
                    print_delta(o, v);
                    so[k] += o, sp[k] += v, cnt[k]++;
                }
                printf("%s\n", mark);
                any = 1;
            }
            if (ncat) {
                printf("%-16s", "mean");
                for (int k = 0; k < nm; k++) {
                    if (!cnt[k]) {
                        printf(" %8s %7s %7s", "", "-", "");
                        continue;
                    }
                    print_delta(so[k] / cnt[k], sp[k] / cnt[k]);
                }
                printf("   (over the %d matched categories)%s\n", ncat, mark);
            }
            if (pmean >= 0) {
                // The published mean against our mean row, when the run has one (all categories).
                int r = -1, npc = 0;
                for (int x = 0; x < res.n_rows && r < 0; x++)
                    if (!strcmp(table_get(&res, x, "job"), jobs[q]) && row_matches(&res, x, &pub, pmean, "mean")) r = x;
                for (int p = p0; p < pub.n_rows; p++)
                    npc += same_group(&pub, p, ds, me, src) && strcmp(table_get(&pub, p, "category"), "mean");
                // Our mean row counts only when it covers as many categories as the published mean.
                if (r >= 0 && atoi(table_get(&res, r, "n_categories")) != npc) {
                    used_r[r] = 1;
                    r = -1;
                }
                printf("%-16s", "published mean");
                for (int k = 0; k < nm; k++) {
                    double o, v;
                    if (cell_double(table_get(&pub, pmean, metrics[k]), &v) || isnan(v)) {
                        printf(" %8s %7s %7s", "", "-", "");
                        continue;
                    }
                    if (r >= 0 && !cell_double(table_get(&res, r, metrics[k]), &o) && !isnan(o)) print_delta(o, v);
                    else printf(" %8s %7.2f %7s", "-", 100 * v, "");
                }
                printf("%s%s\n", r >= 0 ? "   (our mean row)" : "   (no comparable mean row in the results: categories missing)",
                       r >= 0 ? mark : "");
                if (r >= 0) used_r[r] = 1;
                any = 1;
            }
            if (*missing) printf("missing in results: %s\n", missing);
        }
        free(jobs);
        for (int p = p0; p < pub.n_rows; p++)
            if (same_group(&pub, p, ds, me, src)) done_p[p] = 1;
    }
    // Published tables with only a mean row (headline numbers).
    for (int p = 0; p < pub.n_rows; p++) {
        if (done_p[p]) continue;
        const char *ds = table_get(&pub, p, "dataset"), *me = table_get(&pub, p, "method");
        const char *pnc = table_get(&pub, p, "n_categories");
        int header = 0;
        for (int r = 0; r < res.n_rows; r++) {
            if (!row_matches(&res, r, &pub, p, "mean")) continue;
            const char *nc = table_get(&res, r, "n_categories");
            // A mean over other categories is never the published mean, --force or not.
            if (*pnc && strcmp(nc, pnc)) {
                snprintf(why, sizeof why, "a mean over %s categor%s (the published mean is over %s)", *nc ? nc : "?",
                         strcmp(nc, "1") ? "ies" : "y", pnc);
                refuse(&rf, r, why);
                continue;
            }
            int ok = setup_ok(&res, r, &pub, p, why, sizeof why);
            if (!ok && !force) {
                refuse(&rf, r, why);
                continue;
            }
            if (!header) printf("\n== %s / %s mean  (published: %s)\n", ds, me, table_get(&pub, p, "source"));
            header = 1;
            used_r[r] = 1;
            printf("job %s (mean over %s categor%s):", table_get(&res, r, "job"), nc, strcmp(nc, "1") ? "ies" : "y");
            for (int k = 0; k < nm; k++) {
                double o, v;
                if (cell_double(table_get(&pub, p, metrics[k]), &v) || isnan(v) ||
                    cell_double(table_get(&res, r, metrics[k]), &o))
                    continue;
                printf("  %s %.2f vs %.2f (%+.2f)", metrics[k], 100 * o, 100 * v, 100 * (o - v));
            }
            if (!ok) printf("  ! FORCED: not the published setup: %s", why);
            printf("\n");
            any = 1;
        }
    }
    // Rows that matched a published row by name but were not compared: one line per job.
    int n_ref = 0;
    const char *first_why = NULL;
    for (int r = 0; r < res.n_rows; r++) {
        if (!rf.why[r] || used_r[r]) continue;
        int dup = 0;
        for (int x = 0; x < r && !dup; x++)
            dup = rf.why[x] && !used_r[x] && !strcmp(table_get(&res, x, "job"), table_get(&res, r, "job")) &&
                  !strcmp(table_get(&res, x, "dataset"), table_get(&res, r, "dataset")) && !strcmp(rf.why[x], rf.why[r]);
        if (dup) continue;
        if (!n_ref++)
            printf("\nnot compared (the published numbers were measured with another setup%s):\n",
                   force ? "" : "; --force prints backbone/size/protocol mismatches anyway, marked");
        if (!first_why) first_why = rf.why[r];
        printf("  job %s %s (%s): %s\n", table_get(&res, r, "job"), table_get(&res, r, "dataset"),
               table_get(&res, r, "method"), rf.why[r]);
    }
    // Results categories that no published row covers.
    char extra[4096] = "";
    for (int r = 0; r < res.n_rows; r++) {
        const char *cat = table_get(&res, r, "category");
        if (used_r[r] || rf.why[r] || !strcmp(cat, "mean")) continue;
        snprintf(extra + strlen(extra), sizeof extra - strlen(extra), "%s%s/%s (%s)", *extra ? ", " : "",
                 table_get(&res, r, "dataset"), cat, table_get(&res, r, "method"));
    }
    if (*extra) printf("\nnot in the published table: %s\n", extra);
    if (!any) {
        if (first_why)
            ad_error("%s: no row is comparable with %s: %s. Fix: run with the published setup (see the source column), "
                     "or pass --force to print the deltas marked",
                     res_path, pub_path, first_why);
        else
            ad_error("%s: no row matches %s by (dataset, category, method). Fix: check the dataset and method names",
                     res_path, pub_path);
        goto done;
    }
    rc = 0;
done:
    for (int r = 0; r < res.n_rows; r++) free(rf.why[r]);
    free(rf.why);
    free(done_p);
    free(used_r);
    table_free(&res);
    table_free(&pub);
    return rc;
}

// ---- run vs run --------------------------------------------------------------------------

static int is_config_col(const char *c) {
    return !strcmp(c, "backbone") || !strncmp(c, "backbone.", 9) || !strcmp(c, "method") || !strncmp(c, "method.", 7) ||
           !strncmp(c, "evaluation.", 11) || !strcmp(c, "seed");
}

// The first config column (present in both files) whose values differ between row ra of a
// and row rb of b; NULL when none.
static const char *config_diff(const Table *a, int ra, const Table *b, int rb) {
    for (int c = 0; c < a->n_cols; c++) {
        const char *k = a->cols[c];
        if (!is_config_col(k) || table_col(b, k) < 0) continue;
        if (strcmp(a->rows[ra][c], table_get(b, rb, k))) return k;
    }
    return NULL;
}

static int same_cell(const Table *a, int ra, const Table *b, int rb, const char *col) {
    return !strcmp(table_get(a, ra, col), table_get(b, rb, col));
}

static int compare_runs(const char *a_path, const char *b_path) {
    Table a, b;
    if (table_read_csv(&a, a_path)) return -1;
    if (table_read_csv(&b, b_path)) {
        table_free(&a);
        return -1;
    }
    int rc = -1;
    int *used_b = calloc((size_t)b.n_rows + 1, sizeof *used_b);
    const char *need[] = {"dataset", "category", "method", "n_categories"};
    for (int k = 0; k < 4; k++)
        for (int f = 0; f < 2; f++)
            if (table_col(f ? &b : &a, need[k]) < 0) {
                ad_error("%s: expected a column '%s' (an adbench results.csv). Fix: pass two results.csv files, or a "
                         "published table (results/published/*.csv) as the second file",
                         f ? b_path : a_path, need[k]);
                goto done;
            }
    const char *metrics[N_RESULT_METRICS];
    int nm = 0;
    for (int k = 0; k < N_RESULT_METRICS; k++)
        if (table_col(&a, RESULT_METRICS[k]) >= 0 && table_col(&b, RESULT_METRICS[k]) >= 0) metrics[nm++] = RESULT_METRICS[k];
    if (!nm) {
        ad_error("%s and %s share no metric column (%s, ...)", a_path, b_path, RESULT_METRICS[0]);
        goto done;
    }
    printf("compare runs: A = %s, B = %s\n", a_path, b_path);
    printf("metrics compared (columns in both files):");
    for (int k = 0; k < nm; k++) printf(" %s", metrics[k]);
    printf("\nvalues in percent; delta = A - B; rows matched by dataset, category and every config column (backbone*, "
           "method*, evaluation.*, seed); means only over the same number of categories\n");
    for (int f = 0; f < 2; f++) {
        const Table *x = f ? &b : &a, *y = f ? &a : &b;
        char only[2048] = "";
        for (int c = 0; c < x->n_cols; c++)
            if (is_config_col(x->cols[c]) && table_col(y, x->cols[c]) < 0)
                snprintf(only + strlen(only), sizeof only - strlen(only), "%s%s", *only ? ", " : "", x->cols[c]);
        if (*only) printf("config columns only in %s (not used for matching): %s\n", f ? "B" : "A", only);
    }
    int any = 0;
    char last[512] = "";
    char unmatched[4096] = "";
    const char *first_diff = NULL;
    int fd_a = -1, fd_b = -1;
    for (int r = 0; r < a.n_rows; r++) {
        int s = -1;
        for (int x = 0; x < b.n_rows && s < 0; x++) {
            if (used_b[x] || !same_cell(&a, r, &b, x, "dataset") || !same_cell(&a, r, &b, x, "category")) continue;
            const char *d = config_diff(&a, r, &b, x);
            if (d) {
                if (!first_diff) first_diff = d, fd_a = r, fd_b = x;
                continue;
            }
            if (!strcmp(table_get(&a, r, "category"), "mean") && !same_cell(&a, r, &b, x, "n_categories")) continue;
            s = x;
        }
        if (s < 0) {
            snprintf(unmatched + strlen(unmatched), sizeof unmatched - strlen(unmatched), "%s%s/%s (%s, job %s)",
                     *unmatched ? ", " : "", table_get(&a, r, "dataset"), table_get(&a, r, "category"),
                     table_get(&a, r, "method"), table_get(&a, r, "job"));
            continue;
        }
        used_b[s] = 1;
        char group[512];
        snprintf(group, sizeof group, "%s|%s|%s", table_get(&a, r, "job"), table_get(&b, s, "job"), table_get(&a, r, "dataset"));
        if (strcmp(group, last)) {
            snprintf(last, sizeof last, "%s", group);
            printf("\n== %s / %s  (A job %s, B job %s)\n%-16s", table_get(&a, r, "dataset"), table_get(&a, r, "method"),
                   table_get(&a, r, "job"), table_get(&b, s, "job"), "category");
            for (int k = 0; k < nm; k++) printf(" %24s", metrics[k]);
            printf("\n%-16s", "");
            for (int k = 0; k < nm; k++) printf(" %8s %7s %7s", "A", "B", "delta");
            printf("\n");
        }
        const char *cat = table_get(&a, r, "category");
        char label[64];
        if (!strcmp(cat, "mean")) snprintf(label, sizeof label, "mean (%s)", table_get(&a, r, "n_categories"));
        else snprintf(label, sizeof label, "%s", cat);
        printf("%-16.16s", label);
        for (int k = 0; k < nm; k++) {
            double o, v;
            if (cell_double(table_get(&a, r, metrics[k]), &o) || cell_double(table_get(&b, s, metrics[k]), &v) ||
                isnan(o) || isnan(v)) {
                printf(" %8s %7s %7s", "-", "-", "");
                continue;
            }
            print_delta(o, v);
        }
        printf("\n");
        any = 1;
    }
    if (*unmatched) printf("\nonly in A (no B row with the same dataset, category and config): %s\n", unmatched);
    char only_b[4096] = "";
    for (int x = 0; x < b.n_rows; x++)
        if (!used_b[x])
            snprintf(only_b + strlen(only_b), sizeof only_b - strlen(only_b), "%s%s/%s (%s, job %s)", *only_b ? ", " : "",
                     table_get(&b, x, "dataset"), table_get(&b, x, "category"), table_get(&b, x, "method"),
                     table_get(&b, x, "job"));
    if (*only_b) printf("only in B: %s\n", only_b);
    if (!any) {
        if (first_diff)
            ad_error("%s: no row has the config of a row of %s (e.g. %s/%s: %s = '%s' in A, '%s' in B). Fix: compare "
                     "runs of the same config (run vs run matches config columns exactly)",
                     a_path, b_path, table_get(&a, fd_a, "dataset"), table_get(&a, fd_a, "category"), first_diff,
                     table_get(&a, fd_a, first_diff), table_get(&b, fd_b, first_diff));
        else
            ad_error("%s and %s share no (dataset, category). Fix: compare runs over the same datasets", a_path, b_path);
        goto done;
    }
    rc = 0;
done:
    free(used_b);
    table_free(&a);
    table_free(&b);
    return rc;
}

static const char USAGE[] = "usage: adbench compare RESULTS.csv PUBLISHED.csv [--force]\n"
                            "       adbench compare A/results.csv B/results.csv\n";

int cmd_compare(int argc, char **argv) {
    const char *files[2] = {NULL, NULL};
    int nf = 0, force = 0;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("%s"
                   "  RESULTS vs a published table (results/published/*.csv, values are fractions as in results.csv):\n"
                   "    per-category and mean deltas (ours - published, in points) for the metrics both files have.\n"
                   "    Only rows whose backbone, image size and evaluation protocol are the source's are compared\n"
                   "    (columns backbone, image_size, evaluation.resolution of the table; empty = not stated);\n"
                   "    --force prints the others too, each marked '!'. A mean is only compared with a mean over\n"
                   "    the same number of categories (n_categories), with or without --force.\n"
                   "  A vs B (two results.csv files, run vs run): rows matched by dataset, category and every\n"
                   "    config column (backbone*, method*, evaluation.*, seed); delta = A - B.\n",
                   USAGE);
            return 0;
        }
        if (!strcmp(argv[i], "--force")) force = 1;
        else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "adbench: error: compare: unknown option '%s'; expected --force. Fix: see adbench compare --help\n",
                    argv[i]);
            return 1;
        } else if (nf < 2) files[nf++] = argv[i];
        else nf = 3;
    }
    if (nf != 2) {
        fprintf(stderr, "adbench: error: compare: expected two CSV files. Fix: adbench compare RESULTS.csv "
                        "PUBLISHED.csv [--force], or adbench compare A/results.csv B/results.csv\n");
        return 1;
    }
    Table second;
    if (table_read_csv(&second, files[1])) ad_die_user();
    int runs = table_col(&second, "source") < 0 && table_col(&second, "job") >= 0;
    table_free(&second);
    if (runs && force) {
        fprintf(stderr, "adbench: error: compare: --force applies to published tables only; %s is a results.csv (run vs "
                        "run matches config columns exactly). Fix: drop --force\n",
                files[1]);
        return 1;
    }
    if (runs ? compare_runs(files[0], files[1]) : compare(files[0], files[1], force)) ad_die_user();
    return 0;
}
