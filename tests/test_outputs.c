// The researcher's outputs of `adbench run` (docs/outputs.md): per_image.csv and the raw maps
// (scores equal to what the method returned, one row per test image, maps loadable with the
// right shape), variant / grid labels of ablation rows, --only, the job counter, and progress
// lines without a terminal. Test doubles (a block-mean backbone, a zero-shot and a few-shot
// method) plug into the real runner through a Registry, on synthetic categories.
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "err.h"
#include "image.h"
#include "npy.h"
#include "per_image.h"
#include "results.h"
#include "runner.h"
#include "synth.h"
#include "util_test.h"
#include "variant.h"

// --- test doubles ----------------------------------------------------------------------------

struct Backbone {
    int grid;
};
static const ParamSpec OBB_SPEC[] = {{"grid", PT_INT, "4", 1, 64, "grid side"}, PARAM_END};
static Backbone *obb_open(const Params *p) {
    Backbone *b = malloc(sizeof *b);
    b->grid = params_int(p, "grid");
    return b;
}
static int obb_extract(Backbone *b, const char *path, Features *out) {
    ImageU8 im;
    if (image_read_rgb8(path, &im)) return -1;
    int g = b->grid;
    memset(out, 0, sizeof *out);
    out->n_layers = 1, out->gh = g, out->gw = g, out->dim = 3;
    out->patch = calloc((size_t)g * g * 3, sizeof(float));
    for (int y = 0; y < im.h; y++)
        for (int x = 0; x < im.w; x++) {
            int p = (y * g / im.h) * g + x * g / im.w;
            for (int c = 0; c < 3; c++) out->patch[p * 3 + c] += im.data[((size_t)y * im.w + x) * 3 + c] / 255.0f;
        }
    float cell = (float)im.w * im.h / (g * g);
    for (int i = 0; i < g * g * 3; i++) out->patch[i] /= cell;
    image_u8_free(&im);
    return 0;
}
static const char *obb_key(const Backbone *b) { return b->grid == 4 ? "outbb|4" : "outbb|8"; }
static void obb_close(Backbone *b) { free(b); }
static const BackboneDriver OBB = {"outbb", OBB_SPEC, obb_open, obb_extract, obb_key, obb_close, NULL};

// Zero-shot: |patch - mean over the other images| * gamma; score = max + one diagnostic.
// The scores it returned for the last category are kept for the test to compare.
static float g_scores[256];
static float g_maps[256 * 64];
static int g_n, g_gh, g_gw;
static const ParamSpec OZ_SPEC[] = {{"gamma", PT_DOUBLE, "1", 0, 100, "scale"},
                                    {"sleep_ms", PT_INT, "0", 0, 100000, "sleep per call"},
                                    PARAM_END};
static const char *const OZ_DIAG[] = {"mean_map", "n_hot"};
static int oz_run(const Params *p, const FeatureBatch *t, const FeatureBatch *train, const MethodContext *ctx,
                  MethodOutput *out) {
    (void)train, (void)ctx;
    int ms = params_int(p, "sleep_ms");
    if (ms) {
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    double gamma = params_double(p, "gamma");
    int P = t->gh * t->gw, D = t->dim;
    out->maps = calloc((size_t)t->n * P, sizeof(float));
    out->image_score = calloc((size_t)t->n, sizeof(float));
    out->n_diag = 2;
    out->diag_names = OZ_DIAG;
    out->diag = calloc((size_t)t->n * 2, sizeof(float));
    for (int i = 0; i < t->n; i++) {
        float mx = 0, sum = 0;
        for (int q = 0; q < P; q++) {
            double d2 = 0;
            for (int c = 0; c < D; c++) {
                double m = 0;
                for (int j = 0; j < t->n; j++)
                    if (j != i) m += t->feat[j][q * D + c];
                m /= t->n - 1;
                double e = t->feat[i][q * D + c] - m;
                d2 += e * e;
            }
            float v = (float)(gamma * sqrt(d2)) + 0.001f * (float)i;  // distinct per image
            out->maps[(size_t)i * P + q] = v;
            mx = v > mx ? v : mx;
            sum += v;
        }
        out->image_score[i] = mx / 3.0f;  // not a value of the map: the CSV must hold this one
        out->diag[i * 2] = sum / P;
        out->diag[i * 2 + 1] = (float)i;
    }
    if (t->n <= 256 && t->n * P <= 256 * 64) {
        memcpy(g_scores, out->image_score, (size_t)t->n * sizeof(float));
        memcpy(g_maps, out->maps, (size_t)t->n * P * sizeof(float));
        g_n = t->n, g_gh = t->gh, g_gw = t->gw;
    }
    return 0;
}
static const Method OZ = {"outzero", 0, OZ_SPEC, oz_run, NULL, 0};

// Few-shot: nearest reference patch; no diagnostics.
static int of_run(const Params *p, const FeatureBatch *t, const FeatureBatch *r, const MethodContext *ctx,
                  MethodOutput *out) {
    (void)p, (void)ctx;
    if (!r) return ad_error("no references");
    nearest_patch_scores(t, r, out);
    return 0;
}
static const ParamSpec OF_SPEC[] = {PARAM_END};
static const Method OF = {"outfew", 1, OF_SPEC, of_run, NULL, 0};

static const BackboneDriver *reg_bb(const char *n) { return !strcmp(n, "outbb") ? &OBB : backbone_find(n); }
static const Method *reg_m(const char *n) {
    if (!strcmp(n, "outzero")) return &OZ;
    if (!strcmp(n, "outfew")) return &OF;
    return method_find(n);
}
static const Registry REG = {NULL, reg_bb, reg_m};

// --- fixtures ---------------------------------------------------------------------------------


// quiet: 1 = no console; 0 = console tables into *console (malloc'd), stderr as it is.
static int run_cfg(const char *text, const char *out, const char *const *only, int n_only, int quiet, char **console) {
    Config c;
    if (config_load_string(&c, "t.yaml", text, NULL, 0, &REG)) return -1;
    char *dir = make_tmpdir("outputs-con");
    char *cp = ad_sprintf("%s/console.txt", dir);
    FILE *con = fopen(cp, "w");
    RunOptions o = {out, 0, quiet, 0, 1, &REG, con, only, n_only, 0, 0};
    int rc = runner_run(&c, &o);
    fclose(con);
    if (console) *console = slurp(cp, NULL);
    rm_rf(dir);
    free(dir), free(cp);
    config_free(&c);
    return rc;
}

static int count_tmp(const char *dir) {
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strstr(e->d_name, ".tmp")) n++;
    if (d) closedir(d);
    return n;
}

// --- per-image results --------------------------------------------------------------------------

Test(outputs, per_image_csv_and_maps) {
    char *dir = make_tmpdir("outputs");
    char *root = synth_fixture(dir), *out = ad_sprintf("%s/out", dir);
    char *text = ad_sprintf("datasets: [{name: synth, root: %s, categories: [woven0, woven2]}]\n"
                            "backbone: {name: outbb, grid: 4}\n"
                            "methods:\n  - {name: outzero}\n  - {name: outfew, shots: 2}\n"
                            "evaluation: {resolution: resized:32}\ncache_dir: none\n",
                            root);
    cr_assert_eq(run_cfg(text, out, NULL, 0, 1, NULL), 0, "%s", ad_last_error());
    // g_* hold what outzero returned for the last category it ran: woven2.
    cr_assert_eq(g_n, 12);
    char *pi = ad_sprintf("%s/per_image.csv", out), *res = ad_sprintf("%s/results.csv", out);
    Table t, r;
    cr_assert_eq(table_read_csv(&t, pi), 0, "%s", ad_last_error());
    cr_assert_eq(table_read_csv(&r, res), 0, "%s", ad_last_error());
    cr_assert_eq(t.n_rows, 2 * 2 * 12, "2 methods x 2 categories x 12 test images, found %d", t.n_rows);
    const char *cols[] = {"job", "dataset", "category", "method", "variant", "index", "path", "defect", "label", "score",
                          "map", "diag.mean_map", "diag.n_hot"};
    for (size_t k = 0; k < sizeof cols / sizeof *cols; k++) cr_assert(table_col(&t, cols[k]) >= 0, "no column %s", cols[k]);
    // The outzero rows of woven2: in test order, the method's scores, labels and defects.
    char *zjob = NULL, *maps_rel = NULL;
    int seen = 0, anomalous = 0;
    for (int q = 0; q < t.n_rows; q++) {
        if (strcmp(table_get(&t, q, "method"), "outzero") || strcmp(table_get(&t, q, "category"), "woven2")) continue;
        int i = atoi(table_get(&t, q, "index"));
        cr_assert_eq(i, seen, "rows in map order");
        double s;
        cr_assert_eq(cell_double(table_get(&t, q, "score"), &s), 0);
        cr_assert_eq((float)s, g_scores[i], "image %d: CSV score %.9g, method returned %.9g", i, s, (double)g_scores[i]);
        cr_assert_str_eq(table_get(&t, q, "dataset"), "synth");
        cr_assert(strstr(table_get(&t, q, "path"), "/woven2/test/"), "%s", table_get(&t, q, "path"));
        int lab = atoi(table_get(&t, q, "label"));
        cr_assert_eq(lab, strcmp(table_get(&t, q, "defect"), "good") != 0, "label follows the defect folder");
        anomalous += lab;
        cr_assert_eq(atof(table_get(&t, q, "diag.n_hot")), i, "diagnostic column of the method");
        if (!zjob) zjob = ad_strdup(table_get(&t, q, "job")), maps_rel = ad_strdup(table_get(&t, q, "map"));
        seen++;
    }
    cr_assert_eq(seen, 12);
    cr_assert_eq(anomalous, 6);
    // The job id is the results.csv row's.
    int found = 0;
    for (int q = 0; q < r.n_rows; q++)
        found |= !strcmp(table_get(&r, q, "job"), zjob) && !strcmp(table_get(&r, q, "method"), "outzero");
    cr_assert(found, "per-image job %s is not a results.csv job", zjob);
    // The maps: float32 (N, gh, gw), the method's values, at the path the CSV names.
    char *want = ad_sprintf("maps/%s/synth/woven2.npy", zjob);
    cr_assert_str_eq(maps_rel, want);
    char *mp = ad_sprintf("%s/%s", out, maps_rel);
    NpyArray a;
    cr_assert_eq(npy_read(mp, &a), 0, "%s", ad_last_error());
    cr_assert_eq(a.dtype, NPY_F32);
    cr_assert_eq(a.ndim, 3);
    cr_assert(a.shape[0] == 12 && a.shape[1] == 4 && a.shape[2] == 4, "shape (%lld, %lld, %lld)", (long long)a.shape[0],
              (long long)a.shape[1], (long long)a.shape[2]);
    cr_assert_eq(memcmp(a.data, g_maps, 12 * 16 * sizeof(float)), 0, "maps equal what the method returned");
    npy_free(&a);
    // The few-shot method has no diagnostics: its diag cells are empty.
    for (int q = 0; q < t.n_rows; q++)
        if (!strcmp(table_get(&t, q, "method"), "outfew")) cr_assert_str_eq(table_get(&t, q, "diag.n_hot"), "");
    cr_assert_eq(count_tmp(out), 0, "no temp files beside results.csv");
    table_free(&t);
    // Resume: a second run adds nothing and keeps per_image.csv whole.
    cr_assert_eq(run_cfg(text, out, NULL, 0, 1, NULL), 0, "%s", ad_last_error());
    cr_assert_eq(table_read_csv(&t, pi), 0, "%s", ad_last_error());
    cr_assert_eq(t.n_rows, 48);
    table_free(&t);
    // A row redone (its results row removed, as after a crash between the two writes)
    // replaces its per-image rows instead of duplicating them.
    for (int q = r.n_rows - 1; q >= 0; q--)
        if (!strcmp(table_get(&r, q, "job"), zjob) || !strcmp(table_get(&r, q, "category"), "mean")) table_remove_row(&r, q);
    cr_assert_eq(table_write_csv(&r, res), 0);
    cr_assert_eq(run_cfg(text, out, NULL, 0, 1, NULL), 0, "%s", ad_last_error());
    cr_assert_eq(table_read_csv(&t, pi), 0, "%s", ad_last_error());
    cr_assert_eq(t.n_rows, 48);
    table_free(&t);
    table_free(&r);
    rm_rf(dir);
    free(dir), free(root), free(out), free(text), free(pi), free(res), free(zjob), free(maps_rel), free(want), free(mp);
}

Test(outputs, per_image_path_names) {
    char *a = per_image_csv_path("out/results.csv"), *b = per_image_csv_path("out/results.shard-1-of-4.csv");
    cr_assert_str_eq(a, "out/per_image.csv");
    cr_assert_str_eq(b, "out/per_image.shard-1-of-4.csv");
    free(a), free(b);
}

// --- ablation rows, job counter, progress without a terminal -------------------------------------


static int row_of(const Table *t, const char *method, const char *variant) {
    for (int q = 0; q < t->n_rows; q++)
        if (!strcmp(table_get(t, q, "method"), method) && !strcmp(table_get(t, q, "variant"), variant) &&
            strcmp(table_get(t, q, "category"), "mean"))
            return q;
    return -1;
}

// gamma varies the zero-shot method only and the seed the 2-shot method only: 4 variants,
// 4 distinct jobs. Every row's grid/variant names only its own job's grid values (before the
// fix, the 2-shot rows carried "methods.0.gamma=..." of the variant that happened to run them).
Test(outputs, variant_and_grid_columns_name_the_rows_own_values) {
    char *dir = make_tmpdir("outputs");
    char *root = synth_fixture(dir), *out = ad_sprintf("%s/out", dir), *log = ad_sprintf("%s/stderr.txt", dir);
    char *text = ad_sprintf("datasets: [{name: synth, root: %s, categories: [woven1]}]\n"
                            "backbone: {name: outbb, grid: 4}\n"
                            "methods:\n  - {name: outzero, sleep_ms: 700, gamma: {grid: [0.5, 2]}}\n"
                            "  - {name: outfew, shots: 2}\n"
                            "seed: {grid: [0, 1]}\n"
                            "evaluation: {resolution: resized:32}\ncache_dir: none\n",
                            root);
    setenv("ADBENCH_PROGRESS_INTERVAL_S", "0.2", 1);
    int saved = redirect_stderr(log);
    char *console = NULL;
    int rc = run_cfg(text, out, NULL, 0, 0, &console);
    restore_stderr(saved);
    unsetenv("ADBENCH_PROGRESS_INTERVAL_S");
    char *err = slurp(log, NULL);
    cr_assert_eq(rc, 0, "%s\n%s", ad_last_error(), err);
    char *res = ad_sprintf("%s/results.csv", out);
    Table t;
    cr_assert_eq(table_read_csv(&t, res), 0, "%s", ad_last_error());
    cr_assert(table_col(&t, "variant") >= 0);
    cr_assert_eq(t.n_rows, 8, "4 jobs x (woven1 + mean), found %d", t.n_rows);
    const char *want[4][3] = {{"outzero", "methods.0.gamma=0.5", "methods.0.gamma=0.5"},
                              {"outzero", "methods.0.gamma=2", "methods.0.gamma=2"},
                              {"outfew", "seed=0", "seed=0"},
                              {"outfew", "seed=1", "seed=1"}};
    for (int k = 0; k < 4; k++) {
        int q = row_of(&t, want[k][0], want[k][1]);
        cr_assert(q >= 0, "no %s row with variant %s", want[k][0], want[k][1]);
        cr_assert_str_eq(table_get(&t, q, "grid"), want[k][2], "%s: grid of another variant", want[k][0]);
        cr_assert(strstr(console, want[k][1]), "the console names variant %s:\n%s", want[k][1], console);
    }
    // per_image.csv carries the same labels.
    char *pi = ad_sprintf("%s/per_image.csv", out);
    Table p;
    cr_assert_eq(table_read_csv(&p, pi), 0, "%s", ad_last_error());
    cr_assert_eq(p.n_rows, 48);
    for (int q = 0; q < p.n_rows; q++)
        cr_assert(!strcmp(table_get(&p, q, "method"), "outzero") ? !strncmp(table_get(&p, q, "variant"), "methods.0.gamma=", 16)
                                                                 : !strncmp(table_get(&p, q, "variant"), "seed=", 5),
                  "%s %s", table_get(&p, q, "method"), table_get(&p, q, "variant"));
    table_free(&p);
    // Job counter and overall ETA on the console (stderr).
    cr_assert(strstr(err, "job 1/4: synth/woven1 outzero"), "%s", err);
    cr_assert(strstr(err, "job 4/4: "), "%s", err);
    cr_assert(strstr(err, "(3 done in "), "%s", err);
    cr_assert(!strstr(err, "job 5/"), "%s", err);
    cr_assert(strstr(err, "[methods.0.gamma=2]"), "%s", err);
    // Progress without a terminal: lines while outzero sleeps (no steps are reported then).
    cr_assert(strstr(err, "score outzero") && strstr(err, "0/12 (0%)"), "periodic score lines:\n%s", err);
    cr_assert(!strchr(err, '\r'), "no live bar without a terminal");
    table_free(&t);
    rm_rf(dir);
    free(dir), free(root), free(out), free(log), free(text), free(console), free(err), free(res), free(pi);
}

Test(outputs, variant_label_keeps_values_with_spaces) {
    Config c;
    const char *text = "datasets: [{name: synth, root: x}]\nbackbone: {name: outbb, grid: {grid: [4, 8]}}\n"
                       "methods:\n  - {name: outzero, gamma: {grid: [1, 3]}}\n  - {name: outfew, shots: {grid: [0, 2]}}\n"
                       "seed: {grid: [0, 1]}\n";
    cr_assert_eq(config_load_string(&c, "t.yaml", text, NULL, 0, &REG), 0, "%s", ad_last_error());
    cr_assert_eq(c.n_variants, 16);
    // Variant 15: grid=8, gamma=3, shots=2, seed=1.
    const Variant *V = &c.variants[15];
    char *z = variant_label(V, 0, ','), *f = variant_label(V, 1, ','), *fs = variant_label(V, 1, ' ');
    cr_assert_str_eq(z, "backbone.grid=8,methods.0.gamma=3");
    cr_assert_str_eq(f, "backbone.grid=8,methods.1.shots=2,seed=1");
    cr_assert_str_eq(fs, "backbone.grid=8 methods.1.shots=2 seed=1");
    free(z), free(f), free(fs);
    // Full-shot (shots 0): the seed does not concern it.
    char *f0 = variant_label(&c.variants[13], 1, ',');  // grid=8, gamma=3, shots=0, seed=1
    cr_assert_str_eq(f0, "backbone.grid=8,methods.1.shots=0");
    free(f0);
    config_free(&c);
}

// --- --only ----------------------------------------------------------------------------------------

Test(outputs, only_runs_a_subset_and_rejects_unknown_names) {
    char *dir = make_tmpdir("outputs");
    char *root = synth_fixture(dir), *out = ad_sprintf("%s/out", dir);
    char *text = ad_sprintf("datasets: [{name: synth, root: %s}]\nbackbone: {name: outbb, grid: 4}\n"
                            "methods: [{name: outzero}]\nevaluation: {resolution: resized:32}\ncache_dir: none\n",
                            root);
    const char *bad[] = {"synth/woven1", "synth/nope"};
    cr_assert_eq(run_cfg(text, out, bad, 2, 1, NULL), -1);
    cr_assert(strstr(ad_last_error(), "--only synth/nope: no such dataset/category in this config; valid: synth/woven0, "
                                      "synth/woven1, synth/woven2"),
              "%s", ad_last_error());
    char *res = ad_sprintf("%s/results.csv", out);
    cr_assert_eq(access(res, F_OK), -1, "nothing runs when an --only name is unknown");
    const char *one[] = {"synth/woven1"};
    cr_assert_eq(run_cfg(text, out, one, 1, 1, NULL), 0, "%s", ad_last_error());
    Table t;
    cr_assert_eq(table_read_csv(&t, res), 0, "%s", ad_last_error());
    cr_assert_eq(t.n_rows, 1, "one category, no mean of a partial dataset");
    cr_assert_str_eq(table_get(&t, 0, "category"), "woven1");
    table_free(&t);
    // Comma-separated: the other two; the dataset is then complete and gets its mean.
    const char *two[] = {"synth/woven0, synth/woven2"};
    cr_assert_eq(run_cfg(text, out, two, 1, 1, NULL), 0, "%s", ad_last_error());
    cr_assert_eq(table_read_csv(&t, res), 0, "%s", ad_last_error());
    cr_assert_eq(t.n_rows, 4);
    table_free(&t);
    rm_rf(dir);
    free(dir), free(root), free(out), free(text), free(res);
}

Test(outputs, only_cli) {
    char *o, *e;
    cr_assert_eq(run_adbench("run configs/demo.yaml --dry-run --only nope/x", &o, &e), 1);
    cr_assert(strstr(e, "adbench: error: --only nope/x: no such dataset/category in this config; valid: "), "%s", e);
    free(o), free(e);
    cr_assert_eq(run_adbench("run configs/demo.yaml --dry-run --only synth", &o, &e), 0, "%s", e);
    cr_assert(strstr(o, "only: synth/*[v1]"), "the dry run lists the selection:\n%s", o);
    free(o), free(e);
    // The dry run names each job's variant.
    cr_assert_eq(run_adbench("run configs/demo.yaml --dry-run --set 'methods.0.topmin_max={grid: [0.1, 0.3]}'", &o, &e), 0,
                 "%s", e);
    cr_assert(strstr(o, " [methods.0.topmin_max=0.3]"), "%s", o);
    free(o), free(e);
    cr_assert_eq(run_adbench("run configs/demo.yaml --dry-run --only", &o, &e), 1);
    cr_assert(strstr(e, "option '--only' needs a value"), "%s", e);
    free(o), free(e);
    cr_assert_eq(run_adbench("run --help", &o, &e), 0);
    cr_assert(strstr(o, "--only DS/CAT"), "%s", o);
    free(o), free(e);
}

// MuSc reports its image score before RsCIN as a per-image diagnostic.
Test(outputs, musc_diagnostic_score_before_rscin) {
    char *dir = make_tmpdir("outputs");
    char *root = synth_fixture(dir), *out = ad_sprintf("%s/out", dir);
    char *text = ad_sprintf("datasets: [{name: synth, root: %s, categories: [woven0]}]\n"
                            "backbone: {name: pixel, size: 32, patch: 4, stride: 4}\n"
                            "methods: [{name: musc, degrees: [1]}]\n"
                            "evaluation: {resolution: resized:32}\ncache_dir: none\n",
                            root);
    cr_assert_eq(run_cfg(text, out, NULL, 0, 1, NULL), 0, "%s", ad_last_error());
    char *pi = ad_sprintf("%s/per_image.csv", out);
    Table t;
    cr_assert_eq(table_read_csv(&t, pi), 0, "%s", ad_last_error());
    cr_assert_eq(t.n_rows, 12);
    int differ = 0;
    for (int q = 0; q < t.n_rows; q++) {
        double raw, s;
        cr_assert_eq(cell_double(table_get(&t, q, "diag.score_before_rscin"), &raw), 0, "%s",
                     table_get(&t, q, "diag.score_before_rscin"));
        cr_assert_eq(cell_double(table_get(&t, q, "score"), &s), 0);
        cr_assert(isfinite(raw));
        differ += raw != s;
    }
    cr_assert(differ > 0, "RsCIN (on by default) changes the scores of some images");
    table_free(&t);
    rm_rf(dir);
    free(dir), free(root), free(out), free(text), free(pi);
}

// Shards write their own per-image table; together they hold every test image once.
Test(outputs, shards_write_their_own_per_image_tables) {
    char *dir = make_tmpdir("outputs");
    char *root = synth_fixture(dir), *out = ad_sprintf("%s/out", dir);
    char *text = ad_sprintf("datasets: [{name: synth, root: %s}]\nbackbone: {name: outbb, grid: 4}\n"
                            "methods: [{name: outzero}]\nevaluation: {resolution: resized:32}\ncache_dir: none\n",
                            root);
    for (int i = 0; i < 2; i++) {
        Config c;
        cr_assert_eq(config_load_string(&c, "t.yaml", text, NULL, 0, &REG), 0, "%s", ad_last_error());
        FILE *devnull = fopen("/dev/null", "w");
        RunOptions o = {out, 0, 1, i, 2, &REG, devnull, NULL, 0, 0, 0};
        cr_assert_eq(runner_run(&c, &o), 0, "%s", ad_last_error());
        fclose(devnull);
        config_free(&c);
    }
    int total = 0;
    for (int i = 0; i < 2; i++) {
        char *p = ad_sprintf("%s/per_image.shard-%d-of-2.csv", out, i);
        Table t;
        cr_assert_eq(table_read_csv(&t, p), 0, "%s", ad_last_error());
        total += t.n_rows;
        table_free(&t);
        free(p);
    }
    cr_assert_eq(total, 36, "3 categories x 12 images over both shards");
    char *pi = ad_sprintf("%s/per_image.csv", out);
    cr_assert_eq(access(pi, F_OK), -1, "no unsharded table from shard runs");
    cr_assert_eq(count_tmp(out), 0);
    rm_rf(dir);
    free(dir), free(root), free(out), free(text), free(pi);
}

// Through the CLI with real components: per_image.csv has one row per test image, and the
// maps file has the shape results.csv's feature_grid names.
Test(outputs, cli_run_writes_per_image_outputs) {
    char *dir = make_tmpdir("outputs-cli");
    char *cfg = ad_sprintf("%s/c.yaml", dir);
    char *text = ad_sprintf("name: t\n"
                            "datasets: [{name: synth, synth: {size: 32, categories: [woven], n_train: 2, n_good: 4, "
                            "n_unique: 2}}]\n"
                            "backbone: {name: pixel, size: 32, patch: 4, stride: 4}\n"
                            "methods: [{name: patchcore, shots: 1}]\n"
                            "evaluation: {resolution: resized:32}\ncache_dir: %s/cache\n",
                            dir);
    cr_assert_eq(write_text(cfg, text), 0);
    char *args = ad_sprintf("run %s --out %s/out", cfg, dir), *o, *e;
    cr_assert_eq(run_adbench(args, &o, &e), 0, "%s", e);
    cr_assert(strstr(e, "job 1/1: synth/woven patchcore"), "%s", e);
    char *res = ad_sprintf("%s/out/results.csv", dir), *pi = ad_sprintf("%s/out/per_image.csv", dir);
    Table r, t;
    cr_assert_eq(table_read_csv(&r, res), 0, "%s", ad_last_error());
    cr_assert_eq(table_read_csv(&t, pi), 0, "%s", ad_last_error());
    int n = atoi(table_get(&r, 0, "n_test"));
    cr_assert(n > 0);
    cr_assert_eq(t.n_rows, n, "one row per test image: %d vs n_test %d", t.n_rows, n);
    int gh = 0, gw = 0;
    cr_assert_eq(sscanf(table_get(&r, 0, "feature_grid"), "%dx%d", &gh, &gw), 2);
    char *mp = ad_sprintf("%s/out/%s", dir, table_get(&t, 0, "map"));
    NpyArray a;
    cr_assert_eq(npy_read(mp, &a), 0, "%s", ad_last_error());
    cr_assert(a.dtype == NPY_F32 && a.ndim == 3 && a.shape[0] == n && a.shape[1] == gh && a.shape[2] == gw,
              "maps shape (%lld, %lld, %lld), expected (%d, %d, %d)", (long long)a.shape[0], (long long)a.shape[1],
              (long long)a.shape[2], n, gh, gw);
    npy_free(&a);
    table_free(&r);
    table_free(&t);
    rm_rf(dir);
    free(dir), free(cfg), free(text), free(args), free(o), free(e), free(res), free(pi), free(mp);
}
