// Self-describing output folders (issue 11 item 4): OUTDIR/run.log (the console, timestamped,
// one header per invocation, no terminal control) and OUTDIR/config.resolved.yaml (every
// default filled in, auto values noted, accepted again with the same job identities).
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "runlog.h"
#include "util_test.h"

static int count(const char *s, const char *needle) {
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p++) n++;
    return n;
}

// Live bars redraw with \r and clear with ESC [K: the log keeps only finished lines.
Test(runlog, tee_strips_redraws_and_escapes) {
    char *dir = make_tmpdir("runlog");
    cr_assert_eq(runlog_open(dir, "abc123", "9.9"), 0, "%s", ad_last_error());
    FILE *f = runlog_stream();
    fprintf(f, "stage one: 3 images\n");
    fprintf(f, "\r  extract x [####....] 1/2  ETA 0:01 ");
    fprintf(f, "\r  extract x [########] 2/2  ETA 0:00 ");
    fprintf(f, "\r\033[K  extract x                  2 in 1.00 s (2.00/s)\n");
    fprintf(f, "\033[1mbold\033[0m warning\n");
    runlog_error("it broke");
    runlog_close();
    fprintf(runlog_stream(), "after close: console only\n");
    char *path = ad_sprintf("%s/run.log", dir), *log = slurp(path, NULL);
    cr_assert(log);
    cr_expect(!strchr(log, '\r') && !strchr(log, '\033'), "terminal control in run.log:\n%s", log);
    cr_expect(strstr(log, "=== ") && strstr(log, "(commit abc123)"), "no header:\n%s", log);
    cr_expect(strstr(log, "Z stage one: 3 images\n"), "no timestamped line:\n%s", log);
    cr_expect(strstr(log, "Z   extract x                  2 in 1.00 s (2.00/s)\n"), "%s", log);
    cr_expect(!strstr(log, "[####"), "a redrawn bar state was logged:\n%s", log);
    cr_expect(strstr(log, "Z bold warning\n"), "%s", log);
    cr_expect(strstr(log, "Z adbench: error: it broke\n"), "%s", log);
    cr_expect(!strstr(log, "after close"), "%s", log);
    // a second invocation appends under its own header
    cr_assert_eq(runlog_open(dir, "def456", "9.9"), 0);
    fprintf(runlog_stream(), "second\n");
    runlog_close();
    free(log);
    log = slurp(path, NULL);
    cr_expect_eq(count(log, "=== "), 2, "%s", log);
    cr_expect(strstr(log, "stage one") && strstr(log, "(commit def456)") && strstr(log, "Z second\n"), "%s", log);
    rm_rf(dir);
    free(dir), free(path), free(log);
}

// The real CLI on the demo config: the stage lines, warnings and the final error land in
// run.log; a rerun appends.
Test(runlog, run_writes_the_console_to_run_log) {
    char *dir = make_tmpdir("runlog-cli");
    char *cmd = ad_sprintf("run configs/demo.yaml --out %s/out --set cache_dir=%s/cache", dir, dir), *err = NULL;
    cr_assert_eq(run_adbench(cmd, NULL, &err), 0, "%s", err);
    char *path = ad_sprintf("%s/out/run.log", dir), *log = slurp(path, NULL);
    cr_assert(log, "no run.log");
    cr_expect(!strchr(log, '\r') && !strchr(log, '\033'), "terminal control in run.log");
    cr_expect(strstr(log, "=== ") && strstr(log, "run configs/demo.yaml --out"), "no header with argv:\n%s", log);
    const char *want[] = {"adbench run configs/demo.yaml: 1 unit", "  extract synth/woven ", "job 1/3: synth/woven musc",
                          "  score musc ", "  metrics ", "results: "};
    for (size_t k = 0; k < sizeof want / sizeof *want; k++) {
        cr_expect(strstr(log, want[k]), "run.log lacks '%s':\n%s", want[k], log);
        cr_expect(strstr(err, want[k]), "stderr lacks '%s'", want[k]);
    }
    // every console line of the run is in the log (the BLAS line comes before the folder is known)
    for (char *line = strtok(err, "\n"); line; line = strtok(NULL, "\n"))
        if (strncmp(line, "adbench: blas", 13)) cr_expect(strstr(log, line), "'%s' is not in run.log", line);
    free(err), free(log);
    // a failing rerun: header, then the error
    free(cmd);
    cmd = ad_sprintf("run configs/demo.yaml --out %s/out --set 'datasets=[{name: mvtec, root: %s/none}]'", dir, dir);
    cr_assert_eq(run_adbench(cmd, NULL, &err), 1);
    log = slurp(path, NULL);
    cr_expect_eq(count(log, "=== "), 2, "%s", log);
    cr_expect(strstr(log, "adbench: error: configs/demo.yaml:") && strstr(log, "is not a folder"), "%s", log);
    rm_rf(dir);
    free(dir), free(cmd), free(err), free(path), free(log);
}

// --- config.resolved.yaml ------------------------------------------------------------------

#include <glob.h>

#include "config.h"
#include "results.h"
#include "vit_test.h"

// Every shipped config: the resolved YAML loads again with the same variants and the same
// flattened job configs (= job ids), and names every default.
Test(resolved, every_config_resolves_to_the_same_jobs) {
    glob_t g;
    cr_assert_eq(glob("configs/*.yaml", 0, NULL, &g), 0, "no configs/ (run from the repository root)");
    for (size_t k = 0; k < g.gl_pathc; k++) {
        Config a, b;
        cr_assert_eq(config_load(&a, g.gl_pathv[k], NULL, 0, NULL), 0, "%s", ad_last_error());
        char *y = config_resolved_yaml(&a, "results/runs/x", NULL, 0);
        cr_assert(y, "%s: %s", g.gl_pathv[k], ad_last_error());
        cr_assert_eq(config_load_string(&b, "resolved.yaml", y, NULL, 0, NULL), 0, "%s: the resolved YAML is rejected: %s\n%s",
                     g.gl_pathv[k], ad_last_error(), y);
        cr_expect(strstr(y, "pro_limit: ") && strstr(y, "\nseed:") && strstr(y, "cache_dtype: ") &&
                      strstr(y, "out_dir: \"results/runs/x\"") && (!strncmp(y, "name: ", 6) || strstr(y, "\nname: ")),
                  "%s: defaults missing:\n%s", g.gl_pathv[k], y);
        cr_assert_eq(a.n_variants, b.n_variants, "%s: %d vs %d variants", g.gl_pathv[k], a.n_variants, b.n_variants);
        for (int v = 0; v < a.n_variants; v++) {
            cr_assert_eq(a.variants[v].n_methods, b.variants[v].n_methods);
            cr_expect_str_eq(a.variants[v].grid_point, b.variants[v].grid_point, "%s: [%s] vs [%s]", g.gl_pathv[k], a.variants[v].grid_point, b.variants[v].grid_point);
            for (int m = 0; m < a.variants[v].n_methods; m++) {
                KeyVals x, z;
                job_flatten(&a.variants[v], m, &x);
                job_flatten(&b.variants[v], m, &z);
                cr_assert_eq(x.n, z.n, "%s variant %d method %d", g.gl_pathv[k], v, m);
                for (int i = 0; i < x.n; i++) {
                    cr_expect_str_eq(x.keys[i], z.keys[i]);
                    cr_expect_str_eq(x.vals[i], z.vals[i], "%s variant %d: %s", g.gl_pathv[k], v, x.keys[i]);
                }
                keyvals_free(&x), keyvals_free(&z);
            }
        }
        // resolving the resolved file changes nothing but the header
        char *y2 = config_resolved_yaml(&b, "results/runs/x", NULL, 0);
        cr_expect_str_eq(y2, y, "%s: not a fixed point", g.gl_pathv[k]);
        free(y), free(y2);
        config_free(&a), config_free(&b);
    }
    globfree(&g);
}

// Quoting: values that YAML would read otherwise come back as the same strings.
Test(resolved, odd_strings_round_trip) {
    const char *text = "name: 'odd: name # x'\n"
                       "description: \"tab\\there\\nnewline \\\"q\\\" \\\\ back\"\n"
                       "datasets: [{name: mvtec, root: 'data dir/with: colon', categories: ['#a', 'b,c', '-', yes]}]\n"
                       "backbone: {name: pixel, size: {grid: [64, 128]}}\n"
                       "methods: [{name: musc, topmin_max: {grid: [0.1, 0.2]}}]\n"
                       "cache_dir: none\n";
    Config a, b;
    cr_assert_eq(config_load_string(&a, "odd.yaml", text, NULL, 0, NULL), 0, "%s", ad_last_error());
    char *y = config_resolved_yaml(&a, NULL, NULL, 0);
    cr_assert(y);
    cr_assert_eq(config_load_string(&b, "r.yaml", y, NULL, 0, NULL), 0, "%s\n%s", ad_last_error(), y);
    cr_expect_str_eq(b.name, "odd: name # x");
    cr_assert_eq(b.n_variants, 4, "grids kept as grids:\n%s", y);
    const DatasetConfig *d = &b.variants[0].datasets[0];
    cr_expect_str_eq(d->root, "data dir/with: colon");
    cr_assert_eq(d->n_categories, 4);
    cr_expect_str_eq(d->categories[0], "#a");
    cr_expect_str_eq(d->categories[1], "b,c");
    cr_expect_str_eq(d->categories[2], "-");
    cr_expect_str_eq(d->categories[3], "yes");
    cr_expect(!b.variants[0].cache_dir, "cache_dir: none lost");
    cr_expect_str_eq(b.variants[3].grid_point, a.variants[3].grid_point);
    free(y);
    config_free(&a), config_free(&b);
}

// The CLI on a tiny random-weight CLIP over a size grid: config.resolved.yaml names the
// defaults and what act: auto became per grid point (quick_gelu at the pretraining size,
// exact gelu elsewhere); rerunning it resumes every row; weights_sha256 = sha256sum.
Test(resolved, run_writes_config_resolved_yaml_that_resumes, .timeout = 120) {
    char *dir = make_tmpdir("resolved");
    char *w = vit_test_model(dir, "clip_openai", "f32"), *err = NULL;
    char *cmd = ad_sprintf("synth --out %s/data --size 64 --n-train 2 --n-good 4 --consistent blob:2 --n-unique 2", dir);
    cr_assert_eq(run_adbench(cmd, NULL, &err), 0, "%s", err);
    free(cmd), free(err);
    char *cfg = ad_sprintf("%s/c.yaml", dir), *txt = ad_sprintf("datasets: [{name: synth, root: %s/data}]\n"
                                                               "backbone: {name: vit, weights: %s, size: {grid: [0, 64]}, layers: [1, 2]}\n"
                                                               "methods: [{name: musc}]\n"
                                                               "evaluation: {resolution: resized:64}\n"
                                                               "cache_dir: %s/cache\n",
                                                               dir, w, dir);
    write_text(cfg, txt);
    cmd = ad_sprintf("run %s --out %s/out", cfg, dir);
    cr_assert_eq(run_adbench(cmd, NULL, &err), 0, "%s", err);
    // one file for both grid points: read once, not per variant nor again when the driver opens it
    cr_expect(count(err, "hashing weights ") == 1 && strstr(err, "once; cached for later runs"), "%s", err);
    free(err);
    char *rp = ad_sprintf("%s/out/config.resolved.yaml", dir), *y = slurp(rp, NULL);
    cr_assert(y, "no %s", rp);
    cr_expect(strstr(y, "act: auto  # resolved: quick_gelu (backbone.size=0); gelu (backbone.size=64)"), "%s", y);
    cr_expect(strstr(y, "norm: auto  # resolved: false"), "%s", y);
    cr_expect(strstr(y, "topmin_max: 0.3") && strstr(y, "pro_limit: 0.3") && strstr(y, "mask_rule: auto  # resolved: eq255"),
              "defaults missing:\n%s", y);
    cr_expect(strstr(y, "grid: [0, 64]"), "the grid is not kept:\n%s", y);
    char *csv = ad_sprintf("%s/out/results.csv", dir), *ref = sha256sum_of(w);
    Table t;
    cr_assert_eq(table_read_csv(&t, csv), 0);
    int rows = t.n_rows;
    for (int r = 0; r < t.n_rows; r++) cr_expect_str_eq(table_get(&t, r, "weights_sha256"), ref, "row %d", r);
    table_free(&t);
    // the resolved file, from the same folder: every row is skipped, nothing rehashed
    free(cmd);
    cmd = ad_sprintf("run %s", rp);
    cr_assert_eq(run_adbench(cmd, NULL, &err), 0, "%s", err);
    cr_expect(strstr(err, "(0 new rows)"), "the resolved config did not resume every row:\n%s", err);
    cr_expect(!strstr(err, "hashing weights"), "the weights were hashed again:\n%s", err);
    cr_assert_eq(table_read_csv(&t, csv), 0);
    cr_expect_eq(t.n_rows, rows);
    table_free(&t);
    char *lp = ad_sprintf("%s/out/run.log", dir), *log = slurp(lp, NULL);
    cr_expect(log && count(log, "=== ") == 2 && strstr(log, "hashing weights"), "%s", log ? log : "(no run.log)");
    // a refused resume (another config whose columns differ) leaves the folder's resolved config alone
    char *y1 = slurp(rp, NULL), *cfg2 = ad_sprintf("%s/c2.yaml", dir),
         *txt2 = ad_sprintf("datasets: [{name: synth, root: %s/data}]\n"
                            "backbone: {name: vit, weights: %s, layers: [1, 2]}\n"
                            "methods: [{name: patchcore, shots: 1}]\n"
                            "cache_dir: %s/cache\n",
                            dir, w, dir);
    write_text(cfg2, txt2);
    free(cmd), free(err);
    cmd = ad_sprintf("run %s --out %s/out", cfg2, dir);
    cr_expect_eq(run_adbench(cmd, NULL, &err), 1, "the resume was not refused:\n%s", err);
    cr_expect(strstr(err, "cannot be resumed"), "%s", err);
    char *y2 = slurp(rp, NULL);
    cr_expect(y1 && y2 && !strcmp(y1, y2), "a refused run replaced config.resolved.yaml:\n%s", y2 ? y2 : "(none)");
    free(y1), free(y2), free(cfg2), free(txt2);
    rm_rf(dir);
    free(dir), free(w), free(cmd), free(err), free(cfg), free(txt), free(rp), free(y), free(csv), free(ref), free(lp), free(log);
}
