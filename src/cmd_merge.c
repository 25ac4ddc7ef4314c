// adbench merge OUT.csv IN1.csv IN2.csv ...: join shard results (same columns), drop their
// mean rows and recompute the means over the merged category rows. Written atomically.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "err.h"
#include "results.h"

static int same_metrics(const Table *a, int ra, const Table *b, int rb) {
    for (int k = 0; k < N_RESULT_METRICS; k++) {
        double x, y;
        const char *sa = table_get(a, ra, RESULT_METRICS[k]), *sb = table_get(b, rb, RESULT_METRICS[k]);
        if (cell_double(sa, &x) || cell_double(sb, &y)) {
            if (strcmp(sa, sb)) return 0;
        } else if (!(x == y || (isnan(x) && isnan(y)))) {
            return 0;
        }
    }
    return 1;
}

static int merge(const char *out, char **in, int n_in) {
    Table acc = {0};
    char **origin = NULL;  // file of each accumulated row
    int rc = -1;
    for (int f = 0; f < n_in; f++) {
        Table t;
        if (table_read_csv(&t, in[f])) goto done;
        if (table_col(&t, "job") < 0 || table_col(&t, "dataset") < 0 || table_col(&t, "category") < 0) {
            ad_error("%s: expected an adbench results CSV (columns job, dataset, category), found header '%s,...'", in[f],
                     t.n_cols ? t.cols[0] : "");
            table_free(&t);
            goto done;
        }
        if (f == 0) {
            table_init(&acc, (const char *const *)t.cols, t.n_cols);
        } else {
            int bad = -1;
            for (int c = 0; c < (t.n_cols < acc.n_cols ? t.n_cols : acc.n_cols) && bad < 0; c++)
                if (strcmp(t.cols[c], acc.cols[c])) bad = c;
            if (bad >= 0 || t.n_cols != acc.n_cols) {
                if (bad >= 0)
                    ad_error("%s: columns differ from %s: column %d is '%s' there but '%s' here. Fix: merge only shards "
                             "of one config run by the same adbench version",
                             in[f], in[0], bad + 1, acc.cols[bad], t.cols[bad]);
                else
                    ad_error("%s: has %d columns but %s has %d. Fix: merge only shards of one config run by the same "
                             "adbench version",
                             in[f], t.n_cols, in[0], acc.n_cols);
                table_free(&t);
                goto done;
            }
        }
        int jc = table_col(&t, "job"), dc = table_col(&t, "dataset"), cc = table_col(&t, "category");
        for (int r = 0; r < t.n_rows; r++) {
            if (!strcmp(t.rows[r][cc], "mean")) continue;
            int dup = -1;
            for (int q = 0; q < acc.n_rows && dup < 0; q++)
                if (!strcmp(acc.rows[q][jc], t.rows[r][jc]) && !strcmp(acc.rows[q][dc], t.rows[r][dc]) &&
                    !strcmp(acc.rows[q][cc], t.rows[r][cc]))
                    dup = q;
            if (dup >= 0) {
                if (!same_metrics(&acc, dup, &t, r)) {
                    ad_error("%s: job %s %s/%s is also in %s with different metrics. Fix: keep one of the two runs",
                             in[f], t.rows[r][jc], t.rows[r][dc], t.rows[r][cc], origin[dup]);
                    table_free(&t);
                    goto done;
                }
                continue;  // same result twice (e.g. a resumed shard): keep the first
            }
            table_add_row(&acc, (const char *const *)t.rows[r]);
            origin = ad_realloc(origin, (size_t)acc.n_rows * sizeof *origin);
            origin[acc.n_rows - 1] = in[f];
        }
        table_free(&t);
    }
    int cats = acc.n_rows;
    results_add_means(&acc, NULL, NULL);
    if (table_write_csv(&acc, out)) goto done;
    printf("merged %d file%s: %d category rows, %d mean rows -> %s\n", n_in, n_in == 1 ? "" : "s", cats,
           acc.n_rows - cats, out);
    rc = 0;
done:
    free(origin);
    table_free(&acc);
    return rc;
}

int cmd_merge(int argc, char **argv) {
    if (argc >= 3 && (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h"))) {
        printf("usage: adbench merge OUT.csv IN1.csv [IN2.csv ...]\n"
               "  joins results CSVs with identical columns (e.g. the results.shard-<i>-of-<n>.csv of a sharded run),\n"
               "  drops their mean rows and adds mean rows over the merged categories. OUT is written atomically.\n");
        return 0;
    }
    if (argc < 4) {
        fprintf(stderr, "adbench: error: usage: adbench merge OUT.csv IN1.csv [IN2.csv ...]\n");
        return 1;
    }
    for (int i = 3; i < argc; i++)
        if (!strcmp(argv[i], argv[2])) {
            fprintf(stderr, "adbench: error: merge: the output %s is also an input. Fix: write to a new file\n", argv[2]);
            return 1;
        }
    if (merge(argv[2], argv + 3, argc - 3)) ad_die_user();
    return 0;
}
