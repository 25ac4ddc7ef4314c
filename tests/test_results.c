// Results CSV: libcsv quoting round trip, atomic writes, damaged files, mean rows, and the
// merge / compare commands on synthetic files.
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "results.h"
#include "util_test.h"

static int count_tmp(const char *dir) {
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strstr(e->d_name, ".tmp")) n++;
    if (d) closedir(d);
    return n;
}

Test(results, csv_round_trip_with_quoting) {
    char *dir = make_tmpdir("res");
    char *p = ad_sprintf("%s/r.csv", dir);
    const char *cols[] = {"a", "b,c", "d"};
    Table t;
    table_init(&t, cols, 3);
    const char *r1[] = {"plain", "with, comma", "with \"quote\""};
    const char *r2[] = {"multi\nline", "", " lead"};
    table_add_row(&t, r1);
    table_add_row(&t, r2);
    cr_assert_eq(table_write_csv(&t, p), 0, "%s", ad_last_error());
    cr_assert_eq(count_tmp(dir), 0, "temp file left behind");
    char *txt = slurp(p, NULL);
    cr_assert(!strncmp(txt, "a,\"b,c\",d\nplain,\"with, comma\",\"with \"\"quote\"\"\"\n", 47), "%s", txt);
    free(txt);
    Table u;
    cr_assert_eq(table_read_csv(&u, p), 0, "%s", ad_last_error());
    cr_assert_eq(u.n_cols, 3);
    cr_assert_eq(u.n_rows, 2);
    cr_assert_str_eq(u.cols[1], "b,c");
    for (int c = 0; c < 3; c++) {
        cr_assert_str_eq(u.rows[0][c], r1[c]);
        cr_assert_str_eq(u.rows[1][c], r2[c]);
    }
    cr_assert_str_eq(table_get(&u, 1, "d"), " lead");
    table_free(&u);
    table_free(&t);
    rm_rf(dir);
    free(dir), free(p);
}

Test(results, write_failure_leaves_nothing) {
    const char *cols[] = {"a"};
    Table t;
    table_init(&t, cols, 1);
    cr_assert_eq(table_write_csv(&t, "/nonexistent-dir/results.csv"), -1);
    cr_assert(strstr(ad_last_error(), "/nonexistent-dir/results.csv"), "%s", ad_last_error());
    table_free(&t);
}

Test(results, damaged_csv_names_file_and_line) {
    char *dir = make_tmpdir("res");
    char *p = ad_sprintf("%s/r.csv", dir);
    write_text(p, "a,b,c\n1,2,3\n4,5\n");
    Table t;
    cr_assert_eq(table_read_csv(&t, p), -1);
    char *want = ad_sprintf("%s:3: expected 3 fields (as in the header), found 2", p);
    cr_assert(strstr(ad_last_error(), want), "%s", ad_last_error());
    write_text(p, "");
    cr_assert_eq(table_read_csv(&t, p), -1);
    cr_assert(strstr(ad_last_error(), "empty file"), "%s", ad_last_error());
    rm_rf(dir);
    free(dir), free(p), free(want);
}

static const char *COLS[] = {"job", "dataset", "category", "n_categories", "method", "image_auroc", "pixel_ap",
                             "n_test", "extract_s", "images_per_s", "split_hash", "git_commit", "grid"};

Test(results, mean_rows) {
    Table t;
    table_init(&t, COLS, 13);
    const char *a[] = {"j1", "mvtec", "zipper", "1", "musc", "0.9", "0.5", "10", "2", "5", "aa", "c1", "x"};
    const char *b[] = {"j1", "mvtec", "bottle", "1", "musc", "0.7", "nan", "30", "3", "10", "bb", "c1", "y"};
    const char *c[] = {"j2", "mvtec", "bottle", "1", "musc", "0.5", "0.1", "30", "3", "10", "bb", "c1", "y"};
    table_add_row(&t, a);
    table_add_row(&t, b);
    table_add_row(&t, c);
    results_add_means(&t, NULL, NULL);
    cr_assert_eq(t.n_rows, 5);
    // Group j1: categories sorted by name, then its mean.
    cr_assert_str_eq(table_get(&t, 0, "category"), "bottle");
    cr_assert_str_eq(table_get(&t, 1, "category"), "zipper");
    cr_assert_str_eq(table_get(&t, 2, "category"), "mean");
    double v;
    cr_assert_eq(cell_double(table_get(&t, 2, "image_auroc"), &v), 0);
    cr_assert_float_eq(v, 0.8, 1e-12);
    cr_assert_str_eq(table_get(&t, 2, "pixel_ap"), "nan", "a NaN category makes the mean NaN");
    cr_assert_str_eq(table_get(&t, 2, "n_test"), "40");
    cr_assert_str_eq(table_get(&t, 2, "extract_s"), "5");
    // 40 images over 10/5 + 30/10 = 5 seconds.
    cr_assert_eq(cell_double(table_get(&t, 2, "images_per_s"), &v), 0);
    cr_assert_float_eq(v, 8.0, 1e-12);
    cr_assert_str_eq(table_get(&t, 2, "n_categories"), "2");
    cr_assert_str_eq(table_get(&t, 2, "git_commit"), "c1", "equal values are kept");
    cr_assert_str_eq(table_get(&t, 2, "grid"), "", "differing values are blanked");
    cr_assert_eq(strlen(table_get(&t, 2, "split_hash")), 16);
    cr_assert_str_eq(table_get(&t, 4, "category"), "mean");
    cr_assert_str_eq(table_get(&t, 4, "job"), "j2");
    // Idempotent: recomputing gives the same table.
    results_add_means(&t, NULL, NULL);
    cr_assert_eq(t.n_rows, 5);
    table_free(&t);
}

static int only_j2(const char *job, const char *ds, int n, void *ctx) {
    (void)ds, (void)n, (void)ctx;
    return !strcmp(job, "j2");
}

Test(results, mean_rows_only_for_complete_groups) {
    Table t;
    table_init(&t, COLS, 13);
    const char *a[] = {"j1", "mvtec", "zipper", "1", "musc", "0.9", "0.5", "10", "2", "5", "aa", "c1", "x"};
    const char *c[] = {"j2", "mvtec", "bottle", "1", "musc", "0.5", "0.1", "30", "3", "10", "bb", "c1", "y"};
    table_add_row(&t, a);
    table_add_row(&t, c);
    results_add_means(&t, only_j2, NULL);
    cr_assert_eq(t.n_rows, 3);
    cr_assert_str_eq(table_get(&t, 2, "job"), "j2");
    cr_assert_str_eq(table_get(&t, 2, "category"), "mean");
    table_free(&t);
}

static char *write_csv(const char *dir, const char *name, const char *text) {
    char *p = ad_sprintf("%s/%s", dir, name);
    write_text(p, text);
    return p;
}

Test(results, merge_joins_shards_and_recomputes_means) {
    char *dir = make_tmpdir("merge");
    const char *head = "job,dataset,category,n_categories,method,image_auroc,n_test\n";
    char *s0 = ad_sprintf("%sj1,mvtec,bottle,1,musc,0.9,10\n", head);
    char *s1 = ad_sprintf("%sj1,mvtec,cable,1,musc,0.7,20\nj1,mvtec,mean,1,musc,0.7,20\n", head);
    char *a = write_csv(dir, "s0.csv", s0), *b = write_csv(dir, "s1.csv", s1);
    char *out = ad_sprintf("%s/all.csv", dir);
    char *args = ad_sprintf("merge %s %s %s", out, a, b), *o = NULL, *e = NULL;
    cr_assert_eq(run_adbench(args, &o, &e), 0, "%s", e);
    cr_assert(strstr(o, "2 category rows, 1 mean rows"), "%s", o);
    Table t;
    cr_assert_eq(table_read_csv(&t, out), 0, "%s", ad_last_error());
    cr_assert_eq(t.n_rows, 3);
    cr_assert_str_eq(table_get(&t, 2, "category"), "mean");
    cr_assert_str_eq(table_get(&t, 2, "image_auroc"), "0.8");
    cr_assert_str_eq(table_get(&t, 2, "n_test"), "30");
    cr_assert_str_eq(table_get(&t, 2, "n_categories"), "2");
    table_free(&t);
    cr_assert_eq(count_tmp(dir), 0);
    free(args), free(o), free(e);
    // Different columns: a clear error, no output.
    char *c = write_csv(dir, "bad.csv", "job,dataset,category,n_categories,method,image_ap,n_test\n");
    char *out2 = ad_sprintf("%s/none.csv", dir);
    args = ad_sprintf("merge %s %s %s", out2, a, c);
    cr_assert_eq(run_adbench(args, &o, &e), 1);
    char *want = ad_sprintf("%s: columns differ from %s: column 6 is 'image_auroc' there but 'image_ap' here", c, a);
    cr_assert(strstr(e, want), "%s", e);
    cr_assert_null(slurp(out2, NULL), "no output file on error");
    free(args), free(o), free(e), free(want);
    // The same category with different metrics in two inputs.
    char *d = write_csv(dir, "dup.csv", "job,dataset,category,n_categories,method,image_auroc,n_test\nj1,mvtec,bottle,1,musc,0.5,10\n");
    args = ad_sprintf("merge %s %s %s", out2, a, d);
    cr_assert_eq(run_adbench(args, &o, &e), 1);
    cr_assert(strstr(e, "job j1 mvtec/bottle is also in"), "%s", e);
    free(args), free(o), free(e);
    rm_rf(dir);
    free(dir), free(s0), free(s1), free(a), free(b), free(c), free(d), free(out), free(out2);
}

// The setup of MuSc's README table as a run writes it (results.csv config columns).
#define CLIP518_COLS "backbone,backbone.size,backbone.weights,evaluation.resolution,image_size"
#define CLIP518 "vit,518,weights/clip-vit-large-patch14-336.safetensors,resized:518,518"
#define PIXEL128 "pixel,128,,resized:128,128"

Test(results, compare_against_published_table) {
    char *dir = make_tmpdir("cmp");
    // MuSc README: bottle 99.92 AUROC-cls, cable 98.99; mean 97.77.
    char *res = write_csv(dir, "r.csv",
                          "job,dataset,category,n_categories," CLIP518_COLS ",method,image_auroc,pixel_ap,pixel_aupro\n"
                          "j1,mvtec,bottle,1," CLIP518 ",musc,0.9990,0.8300,0.5\n"
                          "j1,mvtec,cable,1," CLIP518 ",musc,0.9800,nan,0.5\n"
                          "j1,mvtec,mean,2," CLIP518 ",musc,0.9895,nan,0.5\n"
                          "j1,mvtec,extra_cat,1," CLIP518 ",musc,0.5,0.5,0.5\n");
    char *args = ad_sprintf("compare %s results/published/musc_readme.csv", res), *o = NULL, *e = NULL;
    cr_assert_eq(run_adbench(args, &o, &e), 0, "%s", e);
    cr_assert(strstr(o, "metrics compared (columns in both files): image_auroc pixel_ap\n"), "%s", o);
    // bottle: 99.90 vs 99.92 -> -0.02; pixel AP 83.00 vs 83.04 -> -0.04.
    cr_assert(strstr(o, "bottle              99.90   99.92   -0.02    83.00   83.04   -0.04"), "%s", o);
    cr_assert(strstr(o, "cable               98.00   98.99   -0.99") && !strstr(o, "nan"), "NaN ours: no delta: %s", o);
    cr_assert(strstr(o, "missing in results: capsule, carpet, grid"), "%s", o);
    cr_assert(strstr(o, "not in the published table: mvtec/extra_cat (musc)"), "%s", o);
    cr_assert(strstr(o, "no comparable mean row"), "a 2-category mean is not the 15-category mean: %s", o);
    free(args), free(o), free(e);
    // A headline table (mean rows only) against our mean row.
    char *cg = write_csv(dir, "cg.csv",
                         "job,dataset,category,n_categories," CLIP518_COLS ",method,image_auroc,pixel_ap\n"
                         "j2,mvtec,bottle,1," CLIP518 ",codegraph,0.99,0.7\n"
                         "j2,mvtec,mean,15," CLIP518 ",codegraph,0.98,0.7\n");
    args = ad_sprintf("compare %s results/published/codegraph_headline.csv", cg);
    cr_assert_eq(run_adbench(args, &o, &e), 0, "%s", e);
    cr_assert(strstr(o, "job j2 (mean over 15 categories):  image_auroc 98.00 vs 98.30 (-0.30)  pixel_ap 70.00 vs 68.10 (+1.90)"),
              "%s", o);
    free(args), free(o), free(e), free(cg);
    // No matching row at all: an error.
    char *none = write_csv(dir, "n.csv", "job,dataset,category,n_categories,method,image_auroc\nj,visa,candle,1,patchcore,0.9\n");
    args = ad_sprintf("compare %s results/published/codegraph_headline.csv", none);
    cr_assert_eq(run_adbench(args, &o, &e), 1);
    cr_assert(strstr(e, "no row matches"), "%s", e);
    free(args), free(o), free(e);
    rm_rf(dir);
    free(dir), free(res), free(none);
}

// Another backbone, size or protocol than the source's: refused (exit 1 when nothing else is
// compared); --force prints the deltas with every row marked; a mean over other categories
// is refused for every table, --force or not.
Test(results, compare_refuses_another_setup) {
    char *dir = make_tmpdir("cmp-setup");
    char *px = write_csv(dir, "px.csv",
                         "job,dataset,category,n_categories," CLIP518_COLS ",method,image_auroc,pixel_ap\n"
                         "jp,mvtec,screw,1," PIXEL128 ",musc,0.5,0.01\n"
                         "jp,mvtec,mean,1," PIXEL128 ",musc,0.5,0.01\n"
                         "jc,mvtec,screw,1," PIXEL128 ",codegraph,0.5,0.01\n"
                         "jc,mvtec,mean,1," PIXEL128 ",codegraph,0.5,0.01\n");
    char *args = ad_sprintf("compare %s results/published/musc_readme.csv", px), *o, *e;
    cr_assert_eq(run_adbench(args, &o, &e), 1, "%s", o);
    cr_assert(strstr(e, "no row is comparable with results/published/musc_readme.csv: backbone pixel (published: "
                        "clip-vit-l14-336), image size 128 (published: 518), protocol resized:128 (published: "
                        "resized:518). Fix:") && strstr(e, "--force"),
              "%s", e);
    cr_assert(!strstr(o, "screw           "), "a refused row was compared: %s", o);
    free(args), free(o), free(e);
    // --force: compared, every row and the job marked.
    args = ad_sprintf("compare %s results/published/musc_readme.csv --force", px);
    cr_assert_eq(run_adbench(args, &o, &e), 0, "%s", e);
    cr_assert(strstr(o, "-- job jp  ! FORCED: not the published setup: backbone pixel"), "%s", o);
    cr_assert(strstr(o, "screw               50.00   82.17  -32.17     1.00   ") && strstr(o, " !\n"), "%s", o);
    for (const char *p = strstr(o, "\nscrew"); p; p = strstr(p + 1, "\nscrew")) {
        const char *eol = strchr(p + 1, '\n');
        cr_assert(eol && eol[-1] == '!' && eol[-2] == ' ', "unmarked forced row: %.*s", (int)(eol - p), p);
    }
    // The 1-category mean is not the 15-category mean, even with --force.
    cr_assert(strstr(o, "(no comparable mean row in the results: categories missing)"), "%s", o);
    free(args), free(o), free(e);
    // Headline tables (mean rows only): the 1-category mean is refused whatever the flag.
    for (int f = 0; f < 2; f++) {
        args = ad_sprintf("compare %s results/published/codegraph_headline.csv%s", px, f ? " --force" : "");
        cr_assert_eq(run_adbench(args, &o, &e), 1, "%s", o);
        cr_assert(strstr(e, "a mean over 1 category (the published mean is over 15)"), "%s", e);
        cr_assert(!strstr(o, "vs 68.10"), "%s", o);
        free(args), free(o), free(e);
    }
    // The same run at the source's setup and all 15 categories is compared.
    char *cg = write_csv(dir, "cg15.csv",
                         "job,dataset,category,n_categories," CLIP518_COLS ",method,image_auroc,pixel_ap\n"
                         "j2,mvtec,mean,15," CLIP518 ",codegraph,0.98,0.7\n"
                         "j3,mvtec,mean,15,vit,518,weights/dinov2-large.safetensors,resized:518,518,codegraph,0.9,0.72\n");
    args = ad_sprintf("compare %s results/published/codegraph_headline.csv", cg);
    cr_assert_eq(run_adbench(args, &o, &e), 0, "%s", e);
    cr_assert(strstr(o, "job j2 (mean over 15 categories):  image_auroc 98.00 vs 98.30"), "%s", o);
    cr_assert(strstr(o, "job j3 (mean over 15 categories):  pixel_ap 72.00 vs 71.90 (+0.10)"), "DINOv2 row: %s", o);
    // j2 (CLIP) is not compared with the DINOv2 headline, nor j3 with the CLIP one.
    cr_assert(!strstr(o, "job j2 (mean over 15 categories):  pixel_ap 70.00 vs 71.90"), "%s", o);
    cr_assert(!strstr(o, "job j3 (mean over 15 categories):  image_auroc 90.00 vs 98.30"), "%s", o);
    free(args), free(o), free(e);
    // A published table must state the setup columns.
    char *bad = write_csv(dir, "pub.csv", "source,dataset,category,method,image_auroc\nS,mvtec,mean,musc,0.9\n");
    args = ad_sprintf("compare %s %s", cg, bad);
    cr_assert_eq(run_adbench(args, &o, &e), 1);
    cr_assert(strstr(e, "pub.csv: expected a column 'backbone'") && strstr(e, "Fix:"), "%s", e);
    free(args), free(o), free(e);
    rm_rf(dir);
    free(dir), free(px), free(cg), free(bad);
}

// Two results.csv files: matched by dataset, category and config columns (not job or provenance).
Test(results, compare_run_vs_run) {
    char *dir = make_tmpdir("cmp-runs");
    char *a = write_csv(dir, "a.csv",
                        "job,dataset,category,n_categories,backbone,backbone.size,method,method.topmin_max,seed,"
                        "image_auroc,pixel_ap,git_commit\n"
                        "ja,synth,woven,1,pixel,128,musc,0.3,0,0.90,0.50,aaa\n"
                        "ja,synth,mean,1,pixel,128,musc,0.3,0,0.90,0.50,aaa\n"
                        "jb,synth,woven,1,pixel,128,musc,0.2,0,0.80,0.40,aaa\n");
    char *b = write_csv(dir, "b.csv",
                        "job,dataset,category,n_categories,backbone,backbone.size,method,method.topmin_max,seed,"
                        "image_auroc,pixel_ap,git_commit\n"
                        "jx,synth,woven,1,pixel,128,musc,0.3,0,0.85,0.55,bbb\n"
                        "jx,synth,mean,2,pixel,128,musc,0.3,0,0.85,0.55,bbb\n"
                        "jy,synth,woven,1,pixel,224,musc,0.2,0,0.70,0.40,bbb\n");
    char *args = ad_sprintf("compare %s %s", a, b), *o, *e;
    cr_assert_eq(run_adbench(args, &o, &e), 0, "%s", e);
    cr_assert(strstr(o, "compare runs: A = "), "%s", o);
    cr_assert(strstr(o, "(A job ja, B job jx)"), "other job hash and git commit still match: %s", o);
    cr_assert(strstr(o, "woven               90.00   85.00   +5.00    50.00   55.00   -5.00"), "%s", o);
    // Means over 1 and 2 categories are not compared; jb (topmin 0.2 at 128) has no twin (jy is at 224).
    cr_assert(!strstr(o, "mean (1)   "), "%s", o);
    cr_assert(strstr(o, "only in A (no B row with the same dataset, category and config): synth/mean (musc, job ja), "
                        "synth/woven (musc, job jb)"),
              "%s", o);
    cr_assert(strstr(o, "only in B: synth/mean (musc, job jx), synth/woven (musc, job jy)"), "%s", o);
    free(args), free(o), free(e);
    // Nothing in common: one line naming the first differing config column.
    char *c = write_csv(dir, "c.csv",
                        "job,dataset,category,n_categories,backbone,backbone.size,method,method.topmin_max,seed,"
                        "image_auroc\njz,synth,woven,1,pixel,64,musc,0.3,0,0.5\n");
    args = ad_sprintf("compare %s %s", c, b);
    cr_assert_eq(run_adbench(args, &o, &e), 1);
    cr_assert(strstr(e, "no row has the config of a row of") && strstr(e, "backbone.size = '64' in A, '128' in B") &&
                  strstr(e, "Fix:"),
              "%s", e);
    free(args), free(o), free(e);
    args = ad_sprintf("compare %s %s --force", a, b);
    cr_assert_eq(run_adbench(args, &o, &e), 1);
    cr_assert(strstr(e, "--force applies to published tables only"), "%s", e);
    free(args), free(o), free(e);
    rm_rf(dir);
    free(dir), free(a), free(b), free(c);
}

Test(results, published_tables_are_fractions) {
    const char *files[] = {"results/published/musc_readme.csv", "results/published/musc_sweep.csv",
                           "results/published/musc_paper.csv", "results/published/codegraph_headline.csv",
                           "results/published/patchcore_readme.csv", "results/published/anomalydino_abstract.csv"};
    for (size_t f = 0; f < sizeof files / sizeof *files; f++) {
        Table t;
        cr_assert_eq(table_read_csv(&t, files[f]), 0, "%s", ad_last_error());
        cr_assert(table_col(&t, "source") >= 0 && table_col(&t, "dataset") >= 0 && table_col(&t, "method") >= 0);
        // The setup each source states (backbone always; empty size/protocol = not stated).
        const char *setup[] = {"backbone", "image_size", "evaluation.resolution", "n_categories"};
        for (int k = 0; k < 4; k++) cr_assert(table_col(&t, setup[k]) >= 0, "%s lacks %s", files[f], setup[k]);
        for (int r = 0; r < t.n_rows; r++) {
            cr_assert(*table_get(&t, r, "backbone"), "%s row %d: no backbone", files[f], r);
            int nc = atoi(table_get(&t, r, "n_categories"));
            cr_assert(strcmp(table_get(&t, r, "category"), "mean") ? nc == 1 : nc > 1, "%s row %d: n_categories %d",
                      files[f], r, nc);
        }
        int nm = 0;
        for (int k = 0; k < N_RESULT_METRICS; k++) {
            int c = table_col(&t, RESULT_METRICS[k]);
            if (c < 0) continue;
            nm++;
            for (int r = 0; r < t.n_rows; r++) {
                double v;
                cr_assert_eq(cell_double(t.rows[r][c], &v), 0, "%s row %d", files[f], r);
                cr_assert(isnan(v) || (v > 0 && v <= 1), "%s row %d %s = %g is not a fraction", files[f], r,
                          RESULT_METRICS[k], v);
            }
        }
        cr_assert(nm > 0, "%s has no metric column", files[f]);
        table_free(&t);
    }
    // Spot checks against algorithms.md §2.3.
    Table t;
    table_read_csv(&t, "results/published/musc_readme.csv");
    cr_assert_eq(t.n_rows, 33);  // 15 + 12 + 3 categories + 3 means
    cr_assert_str_eq(table_get(&t, 9, "category"), "screw");
    cr_assert_str_eq(table_get(&t, 9, "image_auroc"), "0.8217");
    cr_assert_str_eq(table_get(&t, 9, "pixel_aupro_musc"), "0.9440");
    table_free(&t);
}

// Issue 12 item 22: a published CSV saved with a UTF-8 byte-order mark failed with "expected a
// column 'dataset'": the BOM stuck to the first column name. It is stripped.
Test(results, utf8_bom_is_stripped) {
    char *dir = make_tmpdir("results"), *p = ad_sprintf("%s/bom.csv", dir);
    write_text(p, "\xEF\xBB\xBF" "dataset,category,image_auroc\nmvtec,screw,0.9\n");
    Table t;
    cr_assert_eq(table_read_csv(&t, p), 0, "%s", ad_last_error());
    cr_expect_eq(table_col(&t, "dataset"), 0, "first column is '%s'", t.cols[0]);
    cr_expect_str_eq(table_get(&t, 0, "dataset"), "mvtec");
    table_free(&t);
    rm_rf(dir);
    free(dir), free(p);
}

// Issue 12 item 19: "rerun" was the advice for a damaged results CSV, and a rerun onto it fails
// the same way. The advice is to restore it or move it away.
Test(results, damaged_csv_advice_does_not_say_rerun) {
    char *dir = make_tmpdir("results"), *p = ad_sprintf("%s/r.csv", dir);
    write_text(p, "job,dataset,category\na,b,c\nx,y\n");
    Table t;
    cr_assert_eq(table_read_csv(&t, p), -1);
    cr_expect(strstr(ad_last_error(), "move it away") && !strstr(ad_last_error(), "rerun or restore"), "%s",
              ad_last_error());
    rm_rf(dir);
    free(dir), free(p);
}
