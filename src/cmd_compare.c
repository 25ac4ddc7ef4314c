// adbench compare RESULTS.csv PUBLISHED.csv: per-category and mean deltas (ours - published)
// for every metric present in both files, matching rows by dataset, category and method
// (plus any other column the published file shares with the results, e.g. backbone.size).
// Published values are fractions, as in results.csv; deltas are printed in points (x100).
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

static const char *const NOT_KEYS[] = {"source", "dataset", "category", "method", "note", "units", "backbone_name"};

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

static int compare(const char *res_path, const char *pub_path) {
    Table res, pub;
    if (table_read_csv(&res, res_path)) return -1;
    if (table_read_csv(&pub, pub_path)) {
        table_free(&res);
        return -1;
    }
    int rc = -1;
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
    const char *metrics[N_RESULT_METRICS];
    int nm = 0;
    for (int k = 0; k < N_RESULT_METRICS; k++)
        if (table_col(&res, RESULT_METRICS[k]) >= 0 && table_col(&pub, RESULT_METRICS[k]) >= 0) metrics[nm++] = RESULT_METRICS[k];
    if (!nm) {
        ad_error("%s and %s share no metric column (%s, ...)", res_path, pub_path, RESULT_METRICS[0]);
        goto done;
    }
    printf("compare %s vs %s\n", res_path, pub_path);
    printf("metrics compared (columns in both files):");
    for (int k = 0; k < nm; k++) printf(" %s", metrics[k]);
    printf("\nvalues in percent; delta = ours - published; rows matched by dataset, category, method");
    for (int c = 0; c < pub.n_cols; c++)
        if (is_extra_key(&pub, &res, c)) printf(", %s", pub.cols[c]);
    printf("\n");
    // Groups: distinct (dataset, method, source) among published category rows.
    int *done_p = calloc((size_t)pub.n_rows + 1, sizeof *done_p);
    int *used_r = calloc((size_t)res.n_rows + 1, sizeof *used_r);
    int any = 0;
    for (int p0 = 0; p0 < pub.n_rows; p0++) {
        if (done_p[p0] || !strcmp(table_get(&pub, p0, "category"), "mean")) continue;
        const char *ds = table_get(&pub, p0, "dataset"), *me = table_get(&pub, p0, "method"),
                   *src = table_get(&pub, p0, "source");
        // Jobs of this group: results rows matching any published row of the group.
        char **jobs = NULL;
        int nj = 0;
        for (int p = p0; p < pub.n_rows; p++) {
            if (strcmp(table_get(&pub, p, "dataset"), ds) || strcmp(table_get(&pub, p, "method"), me) ||
                strcmp(table_get(&pub, p, "source"), src) || !strcmp(table_get(&pub, p, "category"), "mean"))
                continue;
            for (int r = 0; r < res.n_rows; r++)
                if (row_matches(&res, r, &pub, p, table_get(&pub, p, "category"))) {
                    const char *j = table_get(&res, r, "job");
                    int seen = 0;
                    for (int q = 0; q < nj; q++) seen |= !strcmp(jobs[q], j);
                    if (!seen) jobs = realloc(jobs, (size_t)(nj + 1) * sizeof *jobs), jobs[nj++] = (char *)j;
                }
        }
        printf("\n== %s / %s  (published: %s)\n", ds, me, *src ? src : "?");
        if (!nj) printf("   no results rows match this published table\n");
        for (int q = 0; q < nj; q++) {
            printf("-- job %s\n%-16s", jobs[q], "category");
            for (int k = 0; k < nm; k++) printf(" %24s", metrics[k]);
            printf("\n%-16s", "");
            for (int k = 0; k < nm; k++) printf(" %8s %7s %7s", "ours", "pub", "delta");
            printf("\n");
            double so[N_RESULT_METRICS] = {0}, sp[N_RESULT_METRICS] = {0};
            int cnt[N_RESULT_METRICS] = {0}, ncat = 0, pmean = -1;
            char missing[4096] = "";
            for (int p = p0; p < pub.n_rows; p++) {
                if (strcmp(table_get(&pub, p, "dataset"), ds) || strcmp(table_get(&pub, p, "method"), me) ||
                    strcmp(table_get(&pub, p, "source"), src))
                    continue;
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
                        cell_double(table_get(&res, r, metrics[k]), &o)) {
                        printf(" %8s %7s %7s", "", "-", "");
                        continue;
                    }
                    printf(" %8.2f %7.2f %+7.2f", 100 * o, 100 * v, 100 * (o - v));
                    so[k] += o, sp[k] += v, cnt[k]++;
                }
                printf("\n");
                any = 1;
            }
            if (ncat) {
                printf("%-16s", "mean");
                for (int k = 0; k < nm; k++) {
                    if (!cnt[k]) {
                        printf(" %8s %7s %7s", "", "-", "");
                        continue;
                    }
                    double o = so[k] / cnt[k], v = sp[k] / cnt[k];
                    printf(" %8.2f %7.2f %+7.2f", 100 * o, 100 * v, 100 * (o - v));
                }
                printf("   (over the %d matched categories)\n", ncat);
            }
            if (pmean >= 0) {
                // The published mean against our mean row, when the run has one (all categories).
                int r = -1, npc = 0;
                for (int x = 0; x < res.n_rows && r < 0; x++)
                    if (!strcmp(table_get(&res, x, "job"), jobs[q]) && row_matches(&res, x, &pub, pmean, "mean")) r = x;
                for (int p = p0; p < pub.n_rows; p++)
                    npc += !strcmp(table_get(&pub, p, "dataset"), ds) && !strcmp(table_get(&pub, p, "method"), me) &&
                           !strcmp(table_get(&pub, p, "source"), src) && strcmp(table_get(&pub, p, "category"), "mean");
                // Our mean row counts only when it covers as many categories as the published mean.
                if (r >= 0 && atoi(table_get(&res, r, "n_categories")) != npc) r = -1;
                printf("%-16s", "published mean");
                for (int k = 0; k < nm; k++) {
                    double o, v;
                    if (cell_double(table_get(&pub, pmean, metrics[k]), &v) || isnan(v)) {
                        printf(" %8s %7s %7s", "", "-", "");
                        continue;
                    }
                    if (r >= 0 && !cell_double(table_get(&res, r, metrics[k]), &o))
                        printf(" %8.2f %7.2f %+7.2f", 100 * o, 100 * v, 100 * (o - v));
                    else
                        printf(" %8s %7.2f %7s", "-", 100 * v, "");
                }
                printf("%s\n", r >= 0 ? "   (our mean row)" : "   (no comparable mean row in the results: categories missing)");
                if (r >= 0) used_r[r] = 1;
                any = 1;
            }
            if (*missing) printf("missing in results: %s\n", missing);
        }
        free(jobs);
        for (int p = p0; p < pub.n_rows; p++)
            if (!strcmp(table_get(&pub, p, "dataset"), ds) && !strcmp(table_get(&pub, p, "method"), me) &&
                !strcmp(table_get(&pub, p, "source"), src))
                done_p[p] = 1;
    }
    // Published tables with only a mean row (headline numbers).
    for (int p = 0; p < pub.n_rows; p++) {
        if (done_p[p]) continue;
        const char *ds = table_get(&pub, p, "dataset"), *me = table_get(&pub, p, "method");
        printf("\n== %s / %s mean  (published: %s)\n", ds, me, table_get(&pub, p, "source"));
        int found = 0;
        for (int r = 0; r < res.n_rows; r++) {
            if (!row_matches(&res, r, &pub, p, "mean")) continue;
            found = 1;
            used_r[r] = 1;
            printf("job %s (mean over %s categor%s):", table_get(&res, r, "job"), table_get(&res, r, "n_categories"),
                   strcmp(table_get(&res, r, "n_categories"), "1") ? "ies" : "y");
            for (int k = 0; k < nm; k++) {
                double o, v;
                if (cell_double(table_get(&pub, p, metrics[k]), &v) || isnan(v) ||
                    cell_double(table_get(&res, r, metrics[k]), &o))
                    continue;
                printf("  %s %.2f vs %.2f (%+.2f)", metrics[k], 100 * o, 100 * v, 100 * (o - v));
            }
            printf("\n");
            any = 1;
        }
        if (!found) printf("   no results mean row matches\n");
    }
    // Results categories that no published row covers.
    char extra[4096] = "";
    for (int r = 0; r < res.n_rows; r++) {
        const char *cat = table_get(&res, r, "category");
        if (used_r[r] || !strcmp(cat, "mean")) continue;
        snprintf(extra + strlen(extra), sizeof extra - strlen(extra), "%s%s/%s (%s)", *extra ? ", " : "",
                 table_get(&res, r, "dataset"), cat, table_get(&res, r, "method"));
    }
    if (*extra) printf("\nnot in the published table: %s\n", extra);
    free(done_p);
    free(used_r);
    if (!any) {
        ad_error("%s: no row matches %s by (dataset, category, method). Fix: check the dataset and method names", res_path,
                 pub_path);
        goto done;
    }
    rc = 0;
done:
    table_free(&res);
    table_free(&pub);
    return rc;
}

int cmd_compare(int argc, char **argv) {
    if (argc >= 3 && (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h"))) {
        printf("usage: adbench compare RESULTS.csv PUBLISHED.csv\n"
               "  per-category and mean deltas (ours - published, in points) for the metrics both files have;\n"
               "  published tables live in results/published/ (values are fractions, as in results.csv).\n");
        return 0;
    }
    if (argc != 4) {
        fprintf(stderr, "adbench: error: usage: adbench compare RESULTS.csv PUBLISHED.csv\n");
        return 1;
    }
    if (compare(argv[2], argv[3])) ad_die_user();
    return 0;
}
