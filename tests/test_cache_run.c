// The feature cache inside `adbench run` (issue 11 item 11): the size line before extraction,
// cache_max_gb and the free-space check stopping a run before anything is written, and
// cache_dtype: float16 (its own job identity and column; the metric change vs float32 on a
// small synthetic run is printed and must be small). Test doubles: a block-mean backbone, a
// zero-shot and a few-shot method, plugged in through a Registry.
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cache.h"
#include "config.h"
#include "err.h"
#include "image.h"
#include "results.h"
#include "runner.h"
#include "util_test.h"

struct Backbone {
    int grid;
};
static const ParamSpec CB_SPEC[] = {{"grid", PT_INT, "4", 1, 64, "grid side"}, PARAM_END};
static Backbone *cb_open(const Params *p) {
    Backbone *b = malloc(sizeof *b);
    b->grid = params_int(p, "grid");
    return b;
}
// Per cell: the mean and a few high moments of each channel (dim 12): values of many magnitudes,
// so float16 rounding shows.
static int cb_extract(Backbone *b, const char *path, Features *out) {
    ImageU8 im;
    if (image_read_rgb8(path, &im)) return -1;
    int g = b->grid, D = 12;
    memset(out, 0, sizeof *out);
    out->n_layers = 1, out->gh = g, out->gw = g, out->dim = D, out->embed_dim = 3;
    out->patch = calloc((size_t)g * g * D, sizeof(float));
    out->embed = calloc(3, sizeof(float));
    float cell = (float)im.w * im.h / (g * g);
    for (int y = 0; y < im.h; y++)
        for (int x = 0; x < im.w; x++) {
            int p = (y * g / im.h) * g + x * g / im.w;
            for (int c = 0; c < 3; c++) {
                double v = im.data[((size_t)y * im.w + x) * 3 + c] / 255.0 + 0.01 * c;
                for (int k = 0; k < 4; k++) out->patch[p * D + c * 4 + k] += (float)(pow(v, k + 1) * pow(10.0, k - 2) / cell);
            }
        }
    for (int i = 0; i < g * g * D; i++) out->embed[i % 3] += out->patch[i];
    image_u8_free(&im);
    return 0;
}
static const char *cb_key(const Backbone *b) { return b->grid == 4 ? "cachebb|4" : "cachebb|8"; }
static void cb_close(Backbone *b) { free(b); }
static const BackboneDriver CB = {"cachebb", CB_SPEC, cb_open, cb_extract, cb_key, cb_close, NULL};

// Zero-shot: distance of each patch to the mean of that patch over the other images.
static int cz_run(const Params *p, const FeatureBatch *t, const FeatureBatch *train, const MethodContext *ctx,
                  MethodOutput *out) {
    (void)p, (void)train, (void)ctx;
    int P = t->gh * t->gw, D = t->dim;
    out->maps = calloc((size_t)t->n * P, sizeof(float));
    out->image_score = calloc((size_t)t->n, sizeof(float));
    for (int i = 0; i < t->n; i++)
        for (int q = 0; q < P; q++) {
            double d2 = 0;
            for (int c = 0; c < D; c++) {
                double m = 0;
                for (int j = 0; j < t->n; j++)
                    if (j != i) m += t->feat[j][q * D + c];
                double e = t->feat[i][q * D + c] - m / (t->n - 1);
                d2 += e * e;
            }
            out->maps[(size_t)i * P + q] = (float)sqrt(d2);
            if (out->maps[(size_t)i * P + q] > out->image_score[i]) out->image_score[i] = out->maps[(size_t)i * P + q];
        }
    return 0;
}
static const Method CZ = {"cachezero", 0, NULL, cz_run, NULL, 0};
// Few-shot, 2 reference rotations: nearest reference patch at the same position.
static int cf_rot(const Params *p, const char *category) { return (void)p, (void)category, 2; }
static int cf_run(const Params *p, const FeatureBatch *t, const FeatureBatch *r, const MethodContext *ctx,
                  MethodOutput *out) {
    (void)p, (void)ctx;
    nearest_patch_scores(t, r, out);
    return 0;
}
static const Method CF = {"cachefew", 1, NULL, cf_run, cf_rot, 0};

static const BackboneDriver *reg_bb(const char *n) { return !strcmp(n, "cachebb") ? &CB : backbone_find(n); }
static const Method *reg_m(const char *n) {
    return !strcmp(n, "cachezero") ? &CZ : !strcmp(n, "cachefew") ? &CF : method_find(n);
}
static const Registry REG = {NULL, reg_bb, reg_m};

static char *config(const char *root, const char *cache, const char *extra) {
    return ad_sprintf("datasets: [{name: synth, root: %s}]\n"
                      "backbone: {name: cachebb, grid: 4}\n"
                      "methods:\n  - {name: cachezero}\n  - {name: cachefew, shots: 2}\n"
                      "evaluation: {resolution: resized:32}\n"
                      "cache_dir: %s\n%s",
                      root, cache, extra);
}

// Runs text; stderr (progress and stage lines) goes to err_path when given.
static int run(const char *text, const char *out, const char *err_path) {
    Config c;
    if (config_load_string(&c, "t.yaml", text, NULL, 0, &REG)) return -1;
    FILE *devnull = fopen("/dev/null", "w");
    RunOptions o = {out, 0, err_path ? 0 : 1, 0, 1, &REG, devnull, NULL, 0, 0, 0};
    int saved = err_path ? redirect_stderr(err_path) : -1;
    int rc = runner_run(&c, &o);
    if (err_path) restore_stderr(saved);
    fclose(devnull);
    config_free(&c);
    return rc;
}

static int count_feat(const char *dir) {
    int n = 0;
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char *p = ad_sprintf("%s/%s", dir, e->d_name);
        struct stat st;
        if (!stat(p, &st) && S_ISDIR(st.st_mode)) n += count_feat(p);
        else if (strstr(e->d_name, ".feat")) n++;
        free(p);
    }
    closedir(d);
    return n;
}

static double metric(const Table *t, const char *method, const char *cat, const char *col) {
    for (int r = 0; r < t->n_rows; r++)
        if (!strcmp(table_get(t, r, "method"), method) && !strcmp(table_get(t, r, "category"), cat)) {
            double v = NAN;
            cell_double(table_get(t, r, col), &v);
            return v;
        }
    return NAN;
}

Test(cache_run, size_line_then_float16_run_is_its_own_job_with_a_small_metric_change) {
    char *dir = make_tmpdir("cacherun");
    char *root = synth_fixture(dir), *cache = ad_sprintf("%s/cache", dir);
    char *o32 = ad_sprintf("%s/o32", dir), *o16 = ad_sprintf("%s/o16", dir), *log = ad_sprintf("%s/err.txt", dir);
    char *t32 = config(root, cache, ""), *t16 = config(root, cache, "cache_dtype: float16\n");
    cr_assert_eq(run(t32, o32, log), 0, "%s", ad_last_error());
    char *err = slurp(log, NULL);
    // 12 test images + 2 shots x 2 rotations per category; entry = 128 + 4 x (4*4*12 + 3) = 908
    // bytes: 16 x 908 = 14.5 kB
    cr_expect(strstr(err, "cache: synth/") && strstr(err, "will add ~14.5 kB (float32, 16 images) to ") &&
              strstr(err, cache) && strstr(err, " free"), "%s", err);
    cr_expect_eq(count_feat(cache), 3 * 16);
    free(err);
    // Rerun (into another folder, so every job runs): everything cached, no size line.
    char *o32b = ad_sprintf("%s/o32b", dir);
    cr_assert_eq(run(t32, o32b, log), 0, "%s", ad_last_error());
    err = slurp(log, NULL);
    cr_expect(!strstr(err, "will add"), "all cached, yet: %s", err);
    free(err);
    cr_assert_eq(run(t16, o16, log), 0, "%s", ad_last_error());
    err = slurp(log, NULL);
    cr_expect(strstr(err, "~8.3 kB (float16, 16 images)"), "16 x (128 + 2 x 195) bytes: %s", err);
    free(err);
    cr_expect_eq(count_feat(cache), 2 * 3 * 16, "float16 entries are separate");
    char *c32 = ad_sprintf("%s/results.csv", o32), *c16 = ad_sprintf("%s/results.csv", o16);
    Table a, b;
    cr_assert_eq(table_read_csv(&a, c32), 0);
    cr_assert_eq(table_read_csv(&b, c16), 0);
    int col16 = table_col(&b, "cache_dtype");
    cr_assert(col16 >= 0, "float16 rows must say so");
    cr_expect_str_eq(table_get(&b, 0, "cache_dtype"), "float16");
    cr_expect(table_col(&a, "cache_dtype") < 0, "float32 runs keep their columns (and job ids)");
    cr_expect_str_neq(table_get(&a, 0, "job"), table_get(&b, 0, "job"), "float16 is part of the job identity");
    double ca = 0, cb = 0;
    cell_double(table_get(&a, 0, "cache_mb"), &ca), cell_double(table_get(&b, 0, "cache_mb"), &cb);
    cr_expect(fabs(cb / ca - 518.0 / 908) < 1e-3, "cache_mb %g (float16) vs %g", cb, ca);
    const char *cols[3] = {"image_auroc", "pixel_auroc", "pixel_aupro"};
    const char *ms[2] = {"cachezero", "cachefew"};
    double worst = 0;
    for (int m = 0; m < 2; m++)
        for (int k = 0; k < 3; k++) {
            double x = metric(&a, ms[m], "mean", cols[k]), y = metric(&b, ms[m], "mean", cols[k]);
            cr_assert(!isnan(x) && !isnan(y), "%s %s", ms[m], cols[k]);
            double d = fabs(x - y);
            worst = d > worst ? d : worst;
            printf("cache_run: %s mean %s float32 %.6f float16 %.6f (delta %+.2e)\n", ms[m], cols[k], x, y, y - x);
            cr_expect(d < 0.01, "%s %s: float16 changed it by %g", ms[m], cols[k], d);
        }
    printf("cache_run: worst |delta| float16 vs float32 = %.2e\n", worst);
    table_free(&a), table_free(&b);
    rm_rf(dir);
    free(dir), free(root), free(cache), free(o32), free(o32b), free(o16), free(log), free(t32), free(t16), free(c32),
        free(c16);
}

static int planted_free(const char *d, uint64_t *f) {
    (void)d;
    *f = 20000;  // 20 kB: less than one category's features
    return 0;
}

Test(cache_run, cache_max_gb_and_a_full_disk_stop_before_anything_is_written) {
    char *dir = make_tmpdir("cacherun");
    char *root = synth_fixture(dir), *cache = ad_sprintf("%s/cache", dir), *out = ad_sprintf("%s/o", dir);
    char *t = config(root, cache, "cache_max_gb: 0.00001\n");  // 10 kB
    cr_assert_eq(run(t, out, NULL), -1, "a tiny cache_max_gb must stop the run");
    const char *e = ad_last_error();
    cr_expect(strstr(e, cache) && strstr(e, "cache_max_gb: 1e-05") && strstr(e, "cache_dtype: float16") &&
                  strstr(e, "cache_dir: none") && strstr(e, "delete old entries"),
              "%s", e);
    cr_expect_eq(count_feat(cache), 0, "nothing may be written");
    char *csv = ad_sprintf("%s/results.csv", out);
    struct stat st;
    cr_expect(stat(csv, &st) != 0, "no results.csv after the refusal");
    // A larger limit runs.
    free(t);
    t = config(root, cache, "cache_max_gb: 1\n");
    cr_assert_eq(run(t, out, NULL), 0, "%s", ad_last_error());
    // No limit, a planted nearly full disk: the same stop for a new backbone key.
    free(t);
    char *out2 = ad_sprintf("%s/o2", dir);
    t = config(root, cache, "");
    char *t8 = ad_sprintf("%s", t);
    char *g = strstr(t8, "grid: 4");
    g[6] = '8';
    int (*saved)(const char *, uint64_t *) = cache_free_space;
    cache_free_space = planted_free;
    int rc = run(t8, out2, NULL);
    cache_free_space = saved;
    cr_assert_eq(rc, -1);
    e = ad_last_error();
    cr_expect(strstr(e, cache) && strstr(e, "20.0 kB free") && strstr(e, "free disk space"), "%s", e);
    cr_expect_eq(count_feat(cache), 3 * 16, "only the first run's entries");
    rm_rf(dir);
    free(dir), free(root), free(cache), free(out), free(out2), free(t), free(t8), free(csv);
}

Test(cache_run, config_keys_are_validated) {
    Config c;
    char *t = config("/nonexistent", "/tmp/x", "cache_dtype: float8\n");
    cr_assert_eq(config_load_string(&c, "t.yaml", t, NULL, 0, &REG), -1);
    cr_expect(strstr(ad_last_error(), "t.yaml:8") && strstr(ad_last_error(), "cache_dtype: expected float32 or float16"),
              "%s", ad_last_error());
    free(t);
    t = config("/nonexistent", "/tmp/x", "cache_max_gb: -1\n");
    cr_assert_eq(config_load_string(&c, "t.yaml", t, NULL, 0, &REG), -1);
    cr_expect(strstr(ad_last_error(), "cache_max_gb: expected a number of GB >= 0"), "%s", ad_last_error());
    free(t);
    t = config("/nonexistent", "/tmp/x", "cache_dtype: float16\ncache_max_gb: 2.5\n");
    cr_assert_eq(config_load_string(&c, "t.yaml", t, NULL, 0, &REG), 0, "%s", ad_last_error());
    cr_expect(c.variants[0].cache_f16 == 1 && c.variants[0].cache_max_gb == 2.5);
    KeyVals kv;
    job_flatten(&c.variants[0], 0, &kv);
    cr_expect_str_eq(keyvals_get(&kv, "cache_dtype"), "float16");
    keyvals_free(&kv);
    config_free(&c);
    free(t);
    // float32 (the default) adds no key: job ids of existing results are unchanged.
    t = config("/nonexistent", "/tmp/x", "cache_dtype: float32\n");
    cr_assert_eq(config_load_string(&c, "t.yaml", t, NULL, 0, &REG), 0, "%s", ad_last_error());
    job_flatten(&c.variants[0], 0, &kv);
    cr_expect_null(keyvals_get(&kv, "cache_dtype"));
    keyvals_free(&kv);
    config_free(&c);
    free(t);
}
