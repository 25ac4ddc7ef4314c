// The run pipeline. In-process tests plug test doubles (a block-mean backbone and small
// methods) into the real runner through a Registry, on synthetic categories from the real
// generator: CSV contents and atomicity, resume after SIGKILL, shards + merge, errors
// (NaN scores, failing method, bad dataset tree), references and rotations. CLI tests use
// the real components: dry-run of every config in configs/, and the demo config end-to-end.
#include <criterion/criterion.h>
#include <dirent.h>
#include <glob.h>
#include <math.h>
#include <omp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "err.h"
#include "image.h"
#include "results.h"
#include "runner.h"
#include "synth.h"
#include "util_test.h"

// --- test doubles --------------------------------------------------------------------------

struct Backbone {
    int grid;
};
static const ParamSpec FBB_SPEC[] = {{"grid", PT_INT, "4", 1, 64, "grid side"}, PARAM_END};
static Backbone *fbb_open(const Params *p) {
    Backbone *b = malloc(sizeof *b);
    b->grid = params_int(p, "grid");
    return b;
}
// Block means of the RGB image on a grid x grid layout: dim 3, one layer, 3-dim embedding.
static int fbb_extract(Backbone *b, const char *path, Features *out) {
    ImageU8 im;
    if (image_read_rgb8(path, &im)) return -1;
    int g = b->grid;
    memset(out, 0, sizeof *out);
    out->n_layers = 1, out->gh = g, out->gw = g, out->dim = 3, out->embed_dim = 3;
    out->patch = calloc((size_t)g * g * 3, sizeof(float));
    out->embed = calloc(3, sizeof(float));
    for (int y = 0; y < im.h; y++)
        for (int x = 0; x < im.w; x++) {
            int p = (y * g / im.h) * g + x * g / im.w;
            for (int c = 0; c < 3; c++) out->patch[p * 3 + c] += im.data[((size_t)y * im.w + x) * 3 + c] / 255.0f;
        }
    float cell = (float)im.w * im.h / (g * g);
    for (int i = 0; i < g * g * 3; i++) out->patch[i] /= cell, out->embed[i % 3] += out->patch[i];
    image_u8_free(&im);
    return 0;
}
static const char *fbb_key(const Backbone *b) { return b->grid == 4 ? "fakebb|4" : "fakebb|8"; }
static void fbb_close(Backbone *b) { free(b); }
static const BackboneDriver FBB = {"fakebb", FBB_SPEC, fbb_open, fbb_extract, fbb_key, fbb_close, NULL};

// Zero-shot: distance of each patch to the mean of that patch over the other images.
static const ParamSpec FZ_SPEC[] = {
    {"nan", PT_BOOL, "false", 1, 0, "return a NaN score"},
    {"sleep_ms", PT_INT, "0", 0, 100000, "sleep per call"},
    {"fail_category", PT_STRING, "", 1, 0, "return an error on this category"},
    PARAM_END};
static int fz_run(const Params *p, const FeatureBatch *t, const FeatureBatch *train, const MethodContext *ctx,
                  MethodOutput *out) {
    (void)train;
    if (*params_str(p, "fail_category") && !strcmp(params_str(p, "fail_category"), ctx->category))
        return ad_error("planted failure on %s", ctx->category);
    int ms = params_int(p, "sleep_ms");
    if (ms) {
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    int P = t->gh * t->gw, D = t->dim;
    out->maps = calloc((size_t)t->n * P, sizeof(float));
    out->image_score = calloc((size_t)t->n, sizeof(float));
    for (int i = 0; i < t->n; i++) {
        float mx = 0;
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
            out->maps[(size_t)i * P + q] = (float)sqrt(d2);
            mx = out->maps[(size_t)i * P + q] > mx ? out->maps[(size_t)i * P + q] : mx;
        }
        out->image_score[i] = mx;
    }
    if (params_bool(p, "nan")) out->image_score[t->n / 2] = NAN;
    return 0;
}
static const Method FZ = {"fakezero", 0, FZ_SPEC, fz_run, NULL, 0};

// Few-shot: nearest reference patch at the same grid position; checks the batch layout.
static const ParamSpec FF_SPEC[] = {{"rot", PT_INT, "1", 1, 8, "reference rotations"}, PARAM_END};
static int g_train_n;
static int ff_rot(const Params *p, const char *category) {
    (void)category;
    return params_int(p, "rot");
}
static int ff_run(const Params *p, const FeatureBatch *t, const FeatureBatch *r, const MethodContext *ctx,
                  MethodOutput *out) {
    (void)p, (void)ctx;
    if (!r) return ad_error("no references");
    g_train_n = r->n;
    nearest_patch_scores(t, r, out);
    out->half_pixel = 1;
    out->smooth_sigma = 1.0;
    return 0;
}
static const Method FF = {"fakefew", 1, FF_SPEC, ff_run, ff_rot, 0};

// The same backbone with a weights file (read only to check it exists): the runner hashes
// any backbone's "weights" key into weights_sha256.
static const ParamSpec FBBW_SPEC[] = {{"grid", PT_INT, "4", 1, 64, "grid side"},
                                      {"weights", PT_STRING, "", 0, -1, "any file"}, PARAM_END};
static Backbone *fbbw_open(const Params *p) {
    if (access(params_str(p, "weights"), R_OK)) {
        ad_error("%s: cannot open the weights", params_str(p, "weights"));
        return NULL;
    }
    return fbb_open(p);
}
static const BackboneDriver FBBW = {"fakebbw", FBBW_SPEC, fbbw_open, fbb_extract, fbb_key, fbb_close, NULL};

static const BackboneDriver *reg_bb(const char *n) {
    if (!strcmp(n, "fakebb")) return &FBB;
    if (!strcmp(n, "fakebbw")) return &FBBW;
    return backbone_find(n);
}
static const Method *reg_m(const char *n) {
    if (!strcmp(n, "fakezero")) return &FZ;
    if (!strcmp(n, "fakefew")) return &FF;
    return method_find(n);
}
static const Registry REG = {NULL, reg_bb, reg_m};

// --- fixtures -------------------------------------------------------------------------------


static char *config_text(const char *root, const char *cache, const char *method_extra) {
    return ad_sprintf("datasets: [{name: synth, root: %s}]\n"
                      "backbone: {name: fakebb, grid: 4}\n"
                      "methods:\n  - {name: fakezero%s}\n"
                      "evaluation: {resolution: resized:32}\n"
                      "cache_dir: %s\n",
                      root, method_extra, cache);
}

static int run_text_opts(const char *text, const char *out, int shard_i, int shard_n, int force, int rerun_stale) {
    Config c;
    if (config_load_string(&c, "t.yaml", text, NULL, 0, &REG)) return -1;
    FILE *devnull = fopen("/dev/null", "w");
    RunOptions o = {out, 0, 1, shard_i, shard_n, &REG, devnull, NULL, 0, force, rerun_stale};
    int rc = runner_run(&c, &o);
    fclose(devnull);
    config_free(&c);
    return rc;
}
static int run_text(const char *text, const char *out, int shard_i, int shard_n) {
    return run_text_opts(text, out, shard_i, shard_n, 0, 0);
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

static int find(const Table *t, const char *job, const char *ds, const char *cat) {
    for (int r = 0; r < t->n_rows; r++)
        if (!strcmp(table_get(t, r, "job"), job) && !strcmp(table_get(t, r, "dataset"), ds) &&
            !strcmp(table_get(t, r, "category"), cat))
            return r;
    return -1;
}

// Every row of a has a row in b with the same metric values (and vice versa by counts).
static void assert_same_metrics(const Table *a, const Table *b) {
    cr_assert_eq(a->n_rows, b->n_rows, "%d vs %d rows", a->n_rows, b->n_rows);
    for (int r = 0; r < a->n_rows; r++) {
        int q = find(b, table_get(a, r, "job"), table_get(a, r, "dataset"), table_get(a, r, "category"));
        cr_assert(q >= 0, "row %s/%s missing", table_get(a, r, "dataset"), table_get(a, r, "category"));
        for (int k = 0; k < N_RESULT_METRICS; k++)
            cr_assert_str_eq(table_get(a, r, RESULT_METRICS[k]), table_get(b, q, RESULT_METRICS[k]), "%s %s",
                             table_get(a, r, "category"), RESULT_METRICS[k]);
        cr_assert_str_eq(table_get(a, r, "split_hash"), table_get(b, q, "split_hash"));
    }
}

// --- in-process tests -------------------------------------------------------------------------

Test(runner, writes_rows_means_and_provenance) {
    char *dir = make_tmpdir("runner");
    char *root = synth_fixture(dir), *cache = ad_sprintf("%s/cache", dir), *out = ad_sprintf("%s/out", dir);
    char *text = config_text(root, cache, "");
    cr_assert_eq(run_text(text, out, 0, 1), 0, "%s", ad_last_error());
    char *csv = ad_sprintf("%s/results.csv", out);
    Table t;
    cr_assert_eq(table_read_csv(&t, csv), 0, "%s", ad_last_error());
    cr_assert_eq(t.n_rows, 4, "3 categories + 1 mean");
    cr_assert_str_eq(table_get(&t, 3, "category"), "mean");
    cr_assert_str_eq(table_get(&t, 3, "n_categories"), "3");
    const char *must[] = {"job", "backbone", "backbone.grid", "method", "method.nan", "evaluation.resolution", "seed",
                          "image_auroc", "pixel_aupro", "pixel_aupro_musc", "extract_s", "score_s", "metrics_s",
                          "images_per_s", "git_commit", "adbench_version", "cpu_model", "threads", "blas_config",
                          "config_hash", "split_hash", "image_size", "feature_grid", "cache_mb"};
    for (size_t k = 0; k < sizeof must / sizeof *must; k++) cr_assert(table_col(&t, must[k]) >= 0, "no column %s", must[k]);
    for (int r = 0; r < 3; r++) {
        cr_assert_str_eq(table_get(&t, r, "n_test"), "12");
        cr_assert_str_eq(table_get(&t, r, "feature_grid"), "4x4");
        cr_assert_str_eq(table_get(&t, r, "evaluation.resolution"), "resized:32");
        cr_assert(*table_get(&t, r, "blas_config"));
        for (int k = 0; k < N_RESULT_METRICS; k++) {
            double v;
            cr_assert_eq(cell_double(table_get(&t, r, RESULT_METRICS[k]), &v), 0);
            cr_assert(v >= 0 && v <= 1, "%s = %g", RESULT_METRICS[k], v);
        }
    }
    // Different categories have different sample lists.
    cr_assert_str_neq(table_get(&t, 0, "split_hash"), table_get(&t, 1, "split_hash"));
    cr_assert_eq(count_tmp(out), 0);
    table_free(&t);
    // A second run skips everything (resume) and reads features from the cache.
    cr_assert_eq(run_text(text, out, 0, 1), 0, "%s", ad_last_error());
    Table u;
    cr_assert_eq(table_read_csv(&u, csv), 0);
    cr_assert_eq(u.n_rows, 4);
    table_free(&u);
    rm_rf(dir);
    free(dir), free(root), free(cache), free(out), free(text), free(csv);
}

Test(runner, resume_after_sigkill_equals_uninterrupted_run) {
    char *dir = make_tmpdir("runner");
    // OpenMP's thread pool does not survive fork(): this process must not start it before
    // forking the run, so the data (generated in parallel) comes from a child as well.
    char *root = ad_sprintf("%s/data", dir), *cache = ad_sprintf("%s/cache", dir);
    pid_t gen = fork();
    if (gen == 0) {
        free(synth_fixture(dir));
        _exit(0);
    }
    int gst;
    waitpid(gen, &gst, 0);
    cr_assert(WIFEXITED(gst) && WEXITSTATUS(gst) == 0, "generating the data failed");
    char *a = ad_sprintf("%s/a", dir), *b = ad_sprintf("%s/b", dir);
    char *text = config_text(root, cache, ", sleep_ms: 400");
    char *csv_b = ad_sprintf("%s/results.csv", b);
    pid_t pid = fork();
    if (pid == 0) _exit(run_text(text, b, 0, 1) ? 3 : 0);
    // Kill the run as soon as its first row is on disk.
    int rows = 0;
    for (int i = 0; i < 12000 && rows < 1; i++) {  // up to 2 min on a loaded machine
        usleep(10000);
        Table t;
        if (!access(csv_b, F_OK) && !table_read_csv(&t, csv_b)) {
            rows = t.n_rows;
            table_free(&t);
        }
    }
    kill(pid, SIGKILL);
    int st;
    waitpid(pid, &st, 0);
    cr_assert(WIFSIGNALED(st), "the run finished before it could be killed");
    Table t;
    cr_assert_eq(table_read_csv(&t, csv_b), 0, "the killed run left a damaged CSV: %s", ad_last_error());
    cr_assert(t.n_rows >= 1 && t.n_rows < 3, "expected a partial run, found %d rows", t.n_rows);
    table_free(&t);
    cr_assert_eq(count_tmp(b), 0, "a killed run must not leave temp files next to results.csv");
    // Rerun: finishes the rest.
    cr_assert_eq(run_text(text, b, 0, 1), 0, "%s", ad_last_error());
    // Uninterrupted reference run.
    cr_assert_eq(run_text(text, a, 0, 1), 0, "%s", ad_last_error());
    char *csv_a = ad_sprintf("%s/results.csv", a);
    Table ta, tb;
    cr_assert_eq(table_read_csv(&ta, csv_a), 0);
    cr_assert_eq(table_read_csv(&tb, csv_b), 0);
    cr_assert_eq(ta.n_rows, 4);
    assert_same_metrics(&ta, &tb);
    // Same row order too.
    for (int r = 0; r < ta.n_rows; r++) cr_assert_str_eq(table_get(&ta, r, "category"), table_get(&tb, r, "category"));
    table_free(&ta);
    table_free(&tb);
    rm_rf(dir);
    free(dir), free(root), free(cache), free(a), free(b), free(text), free(csv_b), free(csv_a);
}

Test(runner, shards_and_merge_round_trip) {
    char *dir = make_tmpdir("runner");
    char *root = synth_fixture(dir), *cache = ad_sprintf("%s/cache", dir);
    char *full = ad_sprintf("%s/full", dir), *sh = ad_sprintf("%s/sh", dir);
    char *text = config_text(root, cache, "");
    cr_assert_eq(run_text(text, full, 0, 1), 0, "%s", ad_last_error());
    cr_assert_eq(run_text(text, sh, 0, 2), 0, "%s", ad_last_error());
    cr_assert_eq(run_text(text, sh, 1, 2), 0, "%s", ad_last_error());
    char *s0 = ad_sprintf("%s/results.shard-0-of-2.csv", sh), *s1 = ad_sprintf("%s/results.shard-1-of-2.csv", sh);
    Table t0, t1;
    cr_assert_eq(table_read_csv(&t0, s0), 0, "%s", ad_last_error());
    cr_assert_eq(table_read_csv(&t1, s1), 0, "%s", ad_last_error());
    cr_assert_eq(t0.n_rows, 2, "round-robin: units 0 and 2, no mean rows in shards");
    cr_assert_eq(t1.n_rows, 1);
    table_free(&t0);
    table_free(&t1);
    char *merged = ad_sprintf("%s/merged.csv", sh);
    char *args = ad_sprintf("merge %s %s %s", merged, s0, s1), *o, *e;
    cr_assert_eq(run_adbench(args, &o, &e), 0, "%s", e);
    char *fcsv = ad_sprintf("%s/results.csv", full);
    Table tf, tm;
    cr_assert_eq(table_read_csv(&tf, fcsv), 0);
    cr_assert_eq(table_read_csv(&tm, merged), 0);
    assert_same_metrics(&tf, &tm);
    table_free(&tf);
    table_free(&tm);
    rm_rf(dir);
    free(dir), free(root), free(cache), free(full), free(sh), free(text), free(s0), free(s1), free(merged), free(args);
    free(o), free(e), free(fcsv);
}

Test(runner, same_metrics_for_any_thread_count) {
    char *dir = make_tmpdir("runner");
    char *root = synth_fixture(dir), *cache = ad_sprintf("%s/cache", dir);
    char *o1 = ad_sprintf("%s/t1", dir), *o2 = ad_sprintf("%s/t2", dir);
    char *base = config_text(root, cache, "");
    char *t1 = ad_sprintf("%sthreads: 1\nevaluation: {resolution: native}\n", base);
    char *t2 = ad_sprintf("%sthreads: 2\nevaluation: {resolution: native}\n", base);
    // evaluation appears twice: keep only the last one by replacing the first.
    char *p1 = strstr(t1, "evaluation: {resolution: resized:32}\n"), *p2 = strstr(t2, "evaluation: {resolution: resized:32}\n");
    memset(p1, ' ', strlen("evaluation: {resolution: resized:32}")), p1[0] = '#';
    memset(p2, ' ', strlen("evaluation: {resolution: resized:32}")), p2[0] = '#';
    cr_assert_eq(run_text(t1, o1, 0, 1), 0, "%s", ad_last_error());
    cr_assert_eq(run_text(t2, o2, 0, 1), 0, "%s", ad_last_error());
    char *c1 = ad_sprintf("%s/results.csv", o1), *c2 = ad_sprintf("%s/results.csv", o2);
    Table a, b;
    cr_assert_eq(table_read_csv(&a, c1), 0);
    cr_assert_eq(table_read_csv(&b, c2), 0);
    cr_assert_str_eq(table_get(&a, 0, "threads"), "1");
    cr_assert_str_eq(table_get(&b, 0, "threads"), "2");
    cr_assert_str_eq(table_get(&a, 0, "evaluation.resolution"), "native");
    assert_same_metrics(&a, &b);
    table_free(&a);
    table_free(&b);
    rm_rf(dir);
    free(dir), free(root), free(cache), free(o1), free(o2), free(base), free(t1), free(t2), free(c1), free(c2);
}

Test(runner, nan_scores_give_one_error_and_no_csv) {
    char *dir = make_tmpdir("runner");
    char *root = synth_fixture(dir), *cache = ad_sprintf("%s/cache", dir), *out = ad_sprintf("%s/out", dir);
    char *text = config_text(root, cache, ", nan: true");
    cr_assert_eq(run_text(text, out, 0, 1), -1);
    const char *msg = ad_last_error();
    cr_assert(strstr(msg, "synth/woven0: method fakezero returned a non-finite (NaN/Inf) score for test image 6"), "%s",
              msg);
    char *csv = ad_sprintf("%s/results.csv", out);
    cr_assert_eq(access(csv, F_OK), -1, "no CSV when the first category fails");
    cr_assert_eq(count_tmp(out), 0);
    rm_rf(dir);
    free(dir), free(root), free(cache), free(out), free(text), free(csv);
}

Test(runner, failing_job_keeps_finished_rows_whole) {
    char *dir = make_tmpdir("runner");
    char *root = synth_fixture(dir), *cache = ad_sprintf("%s/cache", dir), *out = ad_sprintf("%s/out", dir);
    char *text = config_text(root, cache, ", fail_category: woven1");
    cr_assert_eq(run_text(text, out, 0, 1), -1);
    cr_assert(strstr(ad_last_error(), "synth/woven1: method fakezero: planted failure on woven1"), "%s", ad_last_error());
    char *csv = ad_sprintf("%s/results.csv", out);
    Table t;
    cr_assert_eq(table_read_csv(&t, csv), 0, "%s", ad_last_error());
    cr_assert_eq(t.n_rows, 1, "only the finished category, no mean row");
    cr_assert_str_eq(table_get(&t, 0, "category"), "woven0");
    table_free(&t);
    cr_assert_eq(count_tmp(out), 0);
    rm_rf(dir);
    free(dir), free(root), free(cache), free(out), free(text), free(csv);
}

Test(runner, bad_dataset_tree_is_one_clear_error) {
    char *dir = make_tmpdir("runner");
    // An MVTec category whose defect folder has no ground_truth masks.
    char *p = ad_sprintf("%s/mv/cat/train/good", dir);
    char *cmd = ad_sprintf("mkdir -p '%s' '%s/mv/cat/test/good' '%s/mv/cat/test/crack'", p, dir, dir);
    cr_assert_eq(system(cmd), 0);
    ImageU8 im = {8, 8, 3, calloc(8 * 8 * 3, 1)};
    const char *files[] = {"train/good/000.png", "test/good/000.png", "test/crack/000.png"};
    for (int i = 0; i < 3; i++) {
        char *f = ad_sprintf("%s/mv/cat/%s", dir, files[i]);
        cr_assert_eq(image_write_png(f, &im), 0);
        free(f);
    }
    free(im.data);
    char *text = ad_sprintf("datasets: [{name: mvtec, root: %s/mv}]\nbackbone: {name: fakebb}\n"
                            "methods: [{name: fakezero}]\ncache_dir: none\n",
                            dir);
    char *out = ad_sprintf("%s/out", dir);
    cr_assert_eq(run_text(text, out, 0, 1), -1);
    cr_assert(strstr(ad_last_error(), "mvtec/cat") && strstr(ad_last_error(), "crack"), "%s", ad_last_error());
    char *csv = ad_sprintf("%s/results.csv", out);
    cr_assert_eq(access(csv, F_OK), -1);
    // A missing root names the config line and the fix.
    char *t2 = ad_sprintf("datasets: [{name: mvtec, root: %s/none}]\nbackbone: {name: fakebb}\n"
                          "methods: [{name: fakezero}]\n",
                          dir);
    cr_assert_eq(run_text(t2, out, 0, 1), -1);
    cr_assert(strstr(ad_last_error(), "t.yaml:1: datasets[0] (mvtec): root") &&
                  strstr(ad_last_error(), "is not a folder. Fix:"),
              "%s", ad_last_error());
    rm_rf(dir);
    free(dir), free(p), free(cmd), free(text), free(out), free(csv), free(t2);
}

Test(runner, references_with_rotations) {
    char *dir = make_tmpdir("runner");
    char *root = synth_fixture(dir), *cache = ad_sprintf("%s/cache", dir), *out = ad_sprintf("%s/out", dir);
    char *text = ad_sprintf("datasets: [{name: synth, root: %s, categories: [woven2]}]\n"
                            "backbone: {name: fakebb, grid: 8}\n"
                            "methods: [{name: fakefew, shots: 2, rot: 4}]\n"
                            "evaluation: {resolution: native}\nseed: 1\ncache_dir: %s\n",
                            root, cache);
    g_train_n = -1;
    cr_assert_eq(run_text(text, out, 0, 1), 0, "%s", ad_last_error());
    cr_assert_eq(g_train_n, 8, "2 references x 4 rotations");
    char *csv = ad_sprintf("%s/results.csv", out);
    Table t;
    cr_assert_eq(table_read_csv(&t, csv), 0);
    cr_assert_str_eq(table_get(&t, 0, "n_train"), "2");
    cr_assert_str_eq(table_get(&t, 0, "n_refs"), "8");
    cr_assert_str_eq(table_get(&t, 0, "method.shots"), "2");
    table_free(&t);
    // seed 1, shots 2 -> train images 2 and 3; shots 3 with seed 1 needs 3..5: only 4 exist.
    char *bad = ad_sprintf("datasets: [{name: synth, root: %s, categories: [woven2]}]\n"
                           "backbone: {name: fakebb}\nmethods: [{name: fakefew, shots: 3}]\nseed: 1\ncache_dir: none\n",
                           root);
    cr_assert_eq(run_text(bad, out, 0, 1), -1);
    cr_assert(strstr(ad_last_error(), "fakefew with shots 3 and seed 1 needs train images 3..5, but the category has 4"),
              "%s", ad_last_error());
    rm_rf(dir);
    free(dir), free(root), free(cache), free(out), free(text), free(csv), free(bad);
}

Test(runner, mask_rules) {
    unsigned char m[5] = {0, 1, 128, 254, 255};
    unsigned char a[5], b[5];
    memcpy(a, m, 5);
    memcpy(b, m, 5);
    mask_binarise(a, 5, "eq255");
    mask_binarise(b, 5, "gt0");
    unsigned char ea[5] = {0, 0, 0, 0, 1}, eb[5] = {0, 1, 1, 1, 1};
    cr_assert(!memcmp(a, ea, 5));
    cr_assert(!memcmp(b, eb, 5));
}

// --- CLI tests (real components) ----------------------------------------------------------------

Test(runner, dry_run_every_config) {
    glob_t g;
    cr_assert_eq(glob("configs/*.yaml", 0, NULL, &g), 0, "no configs/*.yaml (tests run from the repo root)");
    cr_assert(g.gl_pathc >= 6, "expected the paper configs, found %zu files", g.gl_pathc);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        char *args = ad_sprintf("run %s --dry-run --out /nonexistent/out", g.gl_pathv[i]), *o, *e;
        int rc = run_adbench(args, &o, &e);
        cr_assert_eq(rc, 0, "%s: %s", g.gl_pathv[i], e);
        cr_assert(strstr(o, "dry run: no weights or datasets were opened"), "%s", o);
        cr_assert(strstr(o, "job "), "%s lists no job", g.gl_pathv[i]);
        free(args), free(o), free(e);
    }
    globfree(&g);
}

Test(runner, cli_errors) {
    char *o, *e;
    cr_assert_eq(run_adbench("run configs/demo.yaml --dry-run --set methods.0.topmin_mx=0.2", &o, &e), 1);
    cr_assert(strstr(e, "adbench: error: --set: unknown key 'topmin_mx' in methods[0] (musc); did you mean 'topmin_max'?"),
              "%s", e);
    free(o), free(e);
    cr_assert_eq(run_adbench("run configs/demo.yaml --dry-run --shard 2/2", &o, &e), 1);
    cr_assert(strstr(e, "--shard 2/2: expected i/n with 0 <= i < n"), "%s", e);
    free(o), free(e);
    cr_assert_eq(run_adbench("run configs/demo.yaml --bogus", &o, &e), 1);
    cr_assert(strstr(e, "unknown option '--bogus'"), "%s", e);
    free(o), free(e);
    cr_assert_eq(run_adbench("run /nonexistent.yaml", &o, &e), 1);
    cr_assert(strstr(e, "/nonexistent.yaml: cannot open the config"), "%s", e);
    free(o), free(e);
    cr_assert_eq(run_adbench("run configs/demo.yaml --dry-run --shard 1/3", &o, &e), 0, "%s", e);
    cr_assert(strstr(o, "shard 1/3:"), "%s", o);
    free(o), free(e);
}

// The demo config, shrunk with --set to keep CI fast: synthetic category only, 64 px.
Test(runner, demo_config_end_to_end, .timeout = 300) {
    char *dir = make_tmpdir("demo");
    char *args = ad_sprintf("run configs/demo.yaml --out %s/out --quiet --set cache_dir=%s/cache "
                            "--set datasets.0.synth.size=64 "
                            "--set datasets.0.synth.n_good=8 --set datasets.0.synth.n_unique=4 "
                            "--set 'datasets.0.synth.consistent=patch:4' --set backbone.size=64",
                            dir, dir);
    char *o, *e;
    int rc = run_adbench(args, &o, &e);
    cr_assert_eq(rc, 0, "%s", e);
    char *csv = ad_sprintf("%s/out/results.csv", dir);
    Table t;
    cr_assert_eq(table_read_csv(&t, csv), 0, "%s", ad_last_error());
    cr_assert_eq(t.n_rows, 6, "musc, codegraph, patchcore x (woven + mean)");
    const char *methods[3] = {"musc", "codegraph", "patchcore"};
    for (int m = 0; m < 3; m++) {
        int r = -1;
        for (int q = 0; q < t.n_rows; q++)
            if (!strcmp(table_get(&t, q, "method"), methods[m]) && !strcmp(table_get(&t, q, "category"), "woven")) r = q;
        cr_assert(r >= 0, "no row for %s", methods[m]);
        double v;
        cr_assert_eq(cell_double(table_get(&t, r, "image_auroc"), &v), 0);
        cr_assert(v >= 0 && v <= 1);
        cr_assert_str_eq(table_get(&t, r, "n_test"), "16");
    }
    table_free(&t);
    // Resume: a rerun adds nothing.
    free(o), free(e);
    cr_assert_eq(run_adbench(args, &o, &e), 0, "%s", e);
    cr_assert(strstr(e, "(0 new rows)"), "%s", e);
    free(o), free(e), free(args), free(csv);
    rm_rf(dir);
    free(dir);
}

// The run seed only picks k-shot references: a seed grid multiplies k-shot jobs only.
Test(runner, seed_grid_runs_zero_and_full_shot_jobs_once) {
    char *dir = make_tmpdir("runner-seed");
    char *cfg = ad_sprintf("%s/c.yaml", dir);
    write_text(cfg, "name: s\n"
                    "datasets: [{name: mvtec, root: nowhere, categories: [screw]}]\n"
                    "backbone: {name: pixel}\n"
                    "methods:\n  - {name: musc}\n  - {name: patchcore, shots: 0}\n  - {name: patchcore, shots: 2}\n"
                    "seed: {grid: [0, 1, 2]}\n");
    char *cmd = ad_sprintf("run %s --dry-run", cfg), *out = NULL, *err = NULL;
    cr_assert_eq(run_adbench(cmd, &out, &err), 0, "%s", err);
    char *all = ad_sprintf("%s%s", out ? out : "", err ? err : "");
    cr_expect(strstr(all, "3 variants, 5 jobs"), "musc 1 + full-shot 1 + 2-shot x 3 seeds:\n%s", all);
    free(all), free(out), free(err), free(cmd), free(cfg);
    rm_rf(dir);
    free(dir);
}

// Issue 12 item 3: seed * shots overflowed an int: seed 1610612736 with shots 4 read far
// outside train[] (SIGSEGV); seed 1073741824 wrapped to 0 and silently used train[0..3].
Test(runner, seed_times_shots_does_not_overflow) {
    char *dir = make_tmpdir("runner");
    char *root = synth_fixture(dir), *out = ad_sprintf("%s/out", dir);
    const char *seeds[] = {"1610612736", "1073741824"};
    for (int i = 0; i < 2; i++) {
        char *bad = ad_sprintf("datasets: [{name: synth, root: %s, categories: [woven2]}]\n"
                               "backbone: {name: fakebb}\nmethods: [{name: fakefew, shots: 4}]\nseed: %s\ncache_dir: none\n",
                               root, seeds[i]);
        cr_assert_eq(run_text(bad, out, 0, 1), -1, "seed %s accepted", seeds[i]);
        char *want = ad_sprintf("needs train images %lld..%lld, but the category has 4", atoll(seeds[i]) * 4,
                                atoll(seeds[i]) * 4 + 3);
        cr_assert(strstr(ad_last_error(), want), "%s", ad_last_error());
        free(want), free(bad);
    }
    rm_rf(dir);
    free(dir), free(root), free(out);
}

// Issue 12 item 4: when generating a synth set failed, synth_ensure ran system("rm -rf '<root>.tmp'"):
// a root with quotes ran commands and removed unrelated folders. Generation is made to fail
// here by a root path so long that the category folders exceed PATH_MAX.
static char *long_root(const char *dir, const char *last) {
    char *p = ad_strdup(dir);
    while (strlen(p) + 201 + strlen(last) < 4070) {
        char *q = ad_sprintf("%s/%0200d", p, 0);
        free(p);
        p = q;
    }
    size_t pad = 4070 - strlen(p) - strlen(last) - 1;
    char *q = ad_sprintf("%s/%0*d%s", p, (int)pad, 0, last);
    free(p);
    return q;
}

Test(runner, synth_cleanup_runs_no_shell) {
    char *dir = make_tmpdir("runner");
    char *pwned = ad_sprintf("%s/PWNED", dir), *victim = ad_sprintf("%s/victim", dir);
    cr_assert_eq(mkdir(victim, 0777), 0);
    setenv("ADB_PWNED", pwned, 1);
    setenv("ADB_VICTIM", victim, 1);
    const char *lasts[] = {"q'$(touch \"$ADB_PWNED\")'", "x' \"$ADB_VICTIM\" 'y"};
    for (int i = 0; i < 2; i++) {
        char *root = long_root(dir, lasts[i]);
        char *text = ad_sprintf("datasets:\n  - name: synth\n    root: %s\n    synth: {size: 32, n_train: 2}\n"
                                "backbone: {name: fakebb}\nmethods: [{name: fakezero}]\ncache_dir: none\n",
                                root);
        char *out = ad_sprintf("%s/out", dir);
        cr_assert_eq(run_text(text, out, 0, 1), -1, "generation under a %zu-byte path should fail", strlen(root));
        cr_expect(strstr(ad_last_error(), "datasets[0] (synth)"), "%s", ad_last_error());
        // the temporary folder is gone
        char *parent = ad_strdup(root);
        *strrchr(parent, '/') = 0;
        cr_expect_eq(count_tmp(parent), 0, "temporary folder left in %s", parent);
        free(parent), free(out), free(text), free(root);
    }
    struct stat st;
    cr_expect_neq(stat(pwned, &st), 0, "a command in the dataset root was run by a shell");
    cr_expect_eq(stat(victim, &st), 0, "an unrelated folder was removed");
    unsetenv("ADB_PWNED");
    unsetenv("ADB_VICTIM");
    rm_rf(dir);
    free(dir), free(pwned), free(victim);
}

// Issue 12 item 4: no shell anywhere (system/popen took user paths: dataset roots, folders).
Test(runner, no_shell_in_the_sources) {
    glob_t g;
    const char *pats[] = {"src/*.c", "src/*.cpp", "backbones/*.c", "methods/*.c", "datasets/*.c"};
    for (int p = 0; p < 5; p++) glob(pats[p], p ? GLOB_APPEND : 0, NULL, &g);
    cr_assert(g.gl_pathc > 20);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        char *text = slurp(g.gl_pathv[i], NULL);
        cr_assert(text);
        cr_expect(!strstr(text, "system(") && !strstr(text, "popen("), "%s calls a shell", g.gl_pathv[i]);
        free(text);
    }
    globfree(&g);
}

// Issue 12 item 5: an internal error on an OpenMP worker called exit(2), which ran library
// destructors under the other threads (then a segfault). It must _exit after the message:
// an atexit handler (standing for those destructors) must not run.
static void atexit_marker(void) { fputs("ATEXIT-RAN\n", stdout), fflush(stdout); }
Test(runner, internal_error_in_a_worker_thread_exits_at_once) {
    int fd[2];
    cr_assert_eq(pipe(fd), 0);
    pid_t pid = fork();
    if (!pid) {
        dup2(fd[1], 1), dup2(fd[1], 2);
        atexit(atexit_marker);
#pragma omp parallel num_threads(4)
        {
            if (omp_get_thread_num() == 1) AD_INTERNAL("planted failure");
            for (volatile long i = 0; i < 200000000L; i = i + 1) {}
        }
        _exit(0);
    }
    close(fd[1]);
    char buf[4096];
    size_t n = 0;
    ssize_t r;
    while (n < sizeof buf - 1 && (r = read(fd[0], buf + n, sizeof buf - 1 - n)) > 0) n += (size_t)r;
    buf[n] = 0;
    close(fd[0]);
    int st;
    waitpid(pid, &st, 0);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 2, "status %d: %s", st, buf);
    cr_expect(strstr(buf, "internal error at tests/test_runner.c") && strstr(buf, "planted failure"), "%s", buf);
    cr_expect(!strstr(buf, "ATEXIT-RAN"), "exit() ran the atexit handlers: %s", buf);
}

// Issue 12 item 6: resume skipped a row on (job, dataset, category) alone: after the data
// changed, the stale row stayed ("0 new rows", n_test 6 vs 7). It is recomputed when the
// split_hash differs.
Test(runner, resume_recomputes_rows_of_a_changed_split) {
    char *dir = make_tmpdir("runner");
    char *root = synth_fixture(dir), *out = ad_sprintf("%s/out", dir), *csv = ad_sprintf("%s/results.csv", out);
    char *text = config_text(root, "none", "");
    cr_assert_eq(run_text(text, out, 0, 1), 0, "%s", ad_last_error());
    Table a;
    cr_assert_eq(table_read_csv(&a, csv), 0);
    int r = find(&a, table_get(&a, 0, "job"), "synth", "woven0");
    cr_assert(r >= 0);
    char *n_before = ad_strdup(table_get(&a, r, "n_test")), *h_before = ad_strdup(table_get(&a, r, "split_hash"));
    // one more normal test image in woven0
    char *src = ad_sprintf("%s/woven0/test/good/000.png", root), *dst = ad_sprintf("%s/woven0/test/good/900.png", root);
    size_t n;
    char *png = slurp(src, &n);
    cr_assert(png);
    FILE *f = fopen(dst, "wb");
    fwrite(png, 1, n, f);
    fclose(f);
    cr_assert_eq(run_text(text, out, 0, 1), 0, "%s", ad_last_error());
    Table b;
    cr_assert_eq(table_read_csv(&b, csv), 0);
    int rows = 0;
    for (int i = 0; i < b.n_rows; i++) rows += !strcmp(table_get(&b, i, "category"), "woven0");
    cr_expect_eq(rows, 1, "one woven0 row, found %d", rows);
    int q = find(&b, table_get(&a, 0, "job"), "synth", "woven0");
    cr_assert(q >= 0);
    cr_expect_eq(atoi(table_get(&b, q, "n_test")), atoi(n_before) + 1, "n_test %s, before %s", table_get(&b, q, "n_test"),
                 n_before);
    cr_expect_str_neq(table_get(&b, q, "split_hash"), h_before);
    // the unchanged categories are resumed as they were
    cr_expect_str_eq(table_get(&b, find(&b, table_get(&a, 0, "job"), "synth", "woven1"), "image_auroc"),
                     table_get(&a, find(&a, table_get(&a, 0, "job"), "synth", "woven1"), "image_auroc"));
    table_free(&a), table_free(&b);
    rm_rf(dir);
    free(dir), free(root), free(out), free(csv), free(text), free(n_before), free(h_before), free(src), free(dst), free(png);
}

// Issue 12 item 7: two runs into one out_dir each printed "1 new row" and one's rows were
// lost. The results file is locked; the second run is refused naming the first one's pid.
Test(runner, second_run_into_a_locked_folder_is_refused) {
    char *dir = make_tmpdir("runner");
    char *root = synth_fixture(dir), *out = ad_sprintf("%s/out", dir), *lock = ad_sprintf("%s/results.csv.lock", out);
    cr_assert_eq(mkdir(out, 0777), 0);
    int fd = open(lock, O_RDWR | O_CREAT, 0666);
    cr_assert(fd >= 0);
    cr_assert_eq(flock(fd, LOCK_EX | LOCK_NB), 0);
    cr_assert_eq(write(fd, "424242\n", 7), 7);
    char *text = config_text(root, "none", "");
    cr_assert_eq(run_text(text, out, 0, 1), -1, "a second writer was let in");
    cr_expect(strstr(ad_last_error(), "another adbench run (pid 424242)") && strstr(ad_last_error(), "results.csv"), "%s",
              ad_last_error());
    close(fd);  // the first run ends: the folder is free again
    cr_assert_eq(run_text(text, out, 0, 1), 0, "%s", ad_last_error());
    rm_rf(dir);
    free(dir), free(root), free(out), free(lock), free(text);
}

// Issue 12 item 14: job de-duplication compared every job with every earlier one: --dry-run
// of 65,536 variants took 26 s here (266 s in the report). Hashed now: about 2 s.
Test(runner, dry_run_of_65536_variants_is_fast, .timeout = 600) {
    char *dir = make_tmpdir("runner"), *cfg = ad_sprintf("%s/big.yaml", dir);
    char grids[4][256];
    for (int k = 0; k < 4; k++) {
        int m = 0;
        m += snprintf(grids[k] + m, sizeof grids[k] - (size_t)m, "{grid: [");
        for (int i = 0; i < 16; i++)
            m += k == 3 ? snprintf(grids[k] + m, sizeof grids[k] - (size_t)m, "%s0.%02d", i ? ", " : "", 10 + i)
                        : snprintf(grids[k] + m, sizeof grids[k] - (size_t)m, "%s%d", i ? ", " : "", k ? 1 + i : 16 + i);
        snprintf(grids[k] + m, sizeof grids[k] - (size_t)m, "]}");
    }
    char *text = ad_sprintf("name: big\ndatasets: [{name: mvtec, root: /nonexistent, categories: [screw]}]\n"
                            "backbone: {name: pixel, size: %s, patch: %s, stride: %s}\n"
                            "methods:\n  - {name: musc, topmin_max: %s}\ncache_dir: none\n",
                            grids[0], grids[1], grids[2], grids[3]);
    write_text(cfg, text);
    char *args = ad_sprintf("run %s --dry-run > %s/out.txt", cfg, dir);
    // CPU time of the child (the machine may be shared: wall time is not the program's)
    struct rusage r0, r1;
    getrusage(RUSAGE_CHILDREN, &r0);
    char *e;
    int rc = run_adbench(args, NULL, &e);
    getrusage(RUSAGE_CHILDREN, &r1);
    double s = (double)(r1.ru_utime.tv_sec - r0.ru_utime.tv_sec + r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) +
               1e-6 * (double)(r1.ru_utime.tv_usec - r0.ru_utime.tv_usec + r1.ru_stime.tv_usec - r0.ru_stime.tv_usec);
    cr_assert_eq(rc, 0, "%s", e);
    double limit = strstr(adbench_bin(), "asan") ? 60 : 15;
    cr_expect(s < limit, "dry run of 65,536 variants took %.1f s of CPU (limit %.0f s)", s, limit);
    cr_log_info("dry run of 65,536 variants: %.2f s of CPU", s);
    rm_rf(dir);
    free(dir), free(cfg), free(text), free(args), free(e);
}

// Issue 12 item 10: a 16x16 mask of a 32x32 image was resized and scored under resized:S
// (native already refused it). The same size check in every protocol.
Test(runner, mask_of_another_size_is_refused_under_resized) {
    char *dir = make_tmpdir("runner");
    char *root = synth_fixture(dir), *out = ad_sprintf("%s/out", dir);
    char *pat = ad_sprintf("%s/woven0/ground_truth/*/*.png", root);
    glob_t g;
    cr_assert_eq(glob(pat, 0, NULL, &g), 0, "no masks under %s", pat);
    ImageU8 m = {16, 16, 1, calloc(256, 1)};
    for (int i = 0; i < 256; i++) m.data[i] = i % 3 ? 0 : 255;
    cr_assert_eq(image_write_png(g.gl_pathv[0], &m), 0, "%s", ad_last_error());
    image_u8_free(&m);
    char *text = config_text(root, "none", "");  // resized:32
    cr_assert_eq(run_text(text, out, 0, 1), -1, "a 16x16 mask of a 32x32 image was scored");
    cr_expect(strstr(ad_last_error(), g.gl_pathv[0]) && strstr(ad_last_error(), "mask is 16x16") &&
                  strstr(ad_last_error(), "is 32x32"),
              "%s", ad_last_error());
    globfree(&g);
    rm_rf(dir);
    free(dir), free(root), free(out), free(pat), free(text);
}

// Issue 12 item 19: an unreadable image was named twice ("<path>: <path>: expected ...").
Test(runner, unreadable_image_is_named_once) {
    char *dir = make_tmpdir("runner");
    char *root = synth_fixture(dir), *out = ad_sprintf("%s/out", dir);
    char *img = ad_sprintf("%s/woven1/test/good/000.png", root);
    write_text(img, "garbage");
    char *text = config_text(root, "none", "");
    cr_assert_eq(run_text(text, out, 0, 1), -1);
    const char *e = ad_last_error(), *first = strstr(e, img);
    cr_assert(first, "%s", e);
    cr_expect(!strstr(first + strlen(img), img), "path printed twice: %s", e);
    rm_rf(dir);
    free(dir), free(root), free(out), free(img), free(text);
}

// Issue 11 item 7: resume skipped rows made by another adbench commit without a word. They
// are kept with a warning; --rerun-stale reruns them; --force reruns every row.
// Sets column col of (job, dataset, category) rows matching cat ("" = every non-mean row).
static void poke_csv(const char *csv, const char *cat, const char *col, const char *value) {
    Table t;
    cr_assert_eq(table_read_csv(&t, csv), 0);
    int c = table_col(&t, col);
    cr_assert(c >= 0);
    for (int r = 0; r < t.n_rows; r++) {
        const char *rc = table_get(&t, r, "category");
        if (!strcmp(rc, "mean") || (*cat && strcmp(rc, cat))) continue;
        free(t.rows[r][c]);
        t.rows[r][c] = ad_strdup(value);
    }
    cr_assert_eq(table_write_csv(&t, csv), 0);
    table_free(&t);
}

static char *cell_of(const char *csv, const char *cat, const char *col) {
    Table t;
    cr_assert_eq(table_read_csv(&t, csv), 0);
    char *v = NULL;
    for (int r = 0; r < t.n_rows && !v; r++)
        if (!strcmp(table_get(&t, r, "category"), cat)) v = ad_strdup(table_get(&t, r, col));
    table_free(&t);
    cr_assert(v, "no %s row in %s", cat, csv);
    return v;
}

Test(runner, stale_rows_are_kept_with_a_warning_rerun_stale_and_force_rerun_them) {
    char *dir = make_tmpdir("runner");
    char *root = synth_fixture(dir), *out = ad_sprintf("%s/out", dir), *csv = ad_sprintf("%s/results.csv", out);
    char *log = ad_sprintf("%s/stderr.txt", dir);
    char *text = config_text(root, "none", "");
    cr_assert_eq(run_text(text, out, 0, 1), 0, "%s", ad_last_error());
    char *commit = cell_of(csv, "woven0", "git_commit"), *auroc = cell_of(csv, "woven0", "image_auroc");
    // woven0's row "made by another commit", with a marker value a rerun would overwrite
    poke_csv(csv, "woven0", "git_commit", "0123456789abcdef-stale");
    poke_csv(csv, "woven0", "image_auroc", "0.125");
    int saved = redirect_stderr(log);
    int rc = run_text(text, out, 0, 1);
    restore_stderr(saved);
    cr_assert_eq(rc, 0, "%s", ad_last_error());
    size_t n;
    char *err = slurp(log, &n);
    cr_assert(err);
    cr_expect(strstr(err, "1 row to resume was made by adbench commit 0123456789abcdef-stale") && strstr(err, "--rerun-stale"),
              "no stale warning: %s", err);
    char *v = cell_of(csv, "woven0", "image_auroc");
    cr_expect_str_eq(v, "0.125", "a stale row was rerun without --rerun-stale");
    free(v);
    // --rerun-stale: the row is computed again by this commit
    cr_assert_eq(run_text_opts(text, out, 0, 1, 0, 1), 0, "%s", ad_last_error());
    v = cell_of(csv, "woven0", "image_auroc");
    cr_expect_str_eq(v, auroc, "--rerun-stale kept the stale row");
    free(v);
    v = cell_of(csv, "woven0", "git_commit");
    cr_expect_str_eq(v, commit);
    free(v);
    // --force: every row again, even those of this commit
    poke_csv(csv, "", "image_auroc", "0.125");
    cr_assert_eq(run_text_opts(text, out, 0, 1, 1, 0), 0, "%s", ad_last_error());
    Table t;
    cr_assert_eq(table_read_csv(&t, csv), 0);
    int rows = 0;
    for (int r = 0; r < t.n_rows; r++) {
        rows++;
        cr_expect_str_neq(table_get(&t, r, "image_auroc"), "0.125", "row %d (%s) was not rerun by --force", r,
                          table_get(&t, r, "category"));
    }
    cr_expect(rows >= 3, "expected the categories and their mean, found %d rows", rows);
    table_free(&t);
    rm_rf(dir);
    free(dir), free(root), free(out), free(csv), free(log), free(text), free(commit), free(auroc), free(err);
}

// Issue 11 item 4/7: weights_sha256 is the SHA-256 of the backbone's weights file (coreutils
// sha256sum agrees); rows made with other weights (the file replaced under the same path) are
// kept with a warning naming the file and both digests, and --rerun-stale reruns them. A CSV
// written before the column existed still resumes (rows kept, a note).
static char *write_bytes(const char *path, size_t n, unsigned seed) {
    FILE *f = fopen(path, "wb");
    cr_assert(f);
    srand(seed);
    for (size_t i = 0; i < n; i++) fputc(rand() & 255, f);
    fclose(f);
    return sha256sum_of(path);
}

// The cell (row of category cat, column col) is want (same = 1) or is not (same = 0).
static void expect_cell(const char *csv, const char *cat, const char *col, int same, const char *want, const char *why) {
    char *v = cell_of(csv, cat, col);
    cr_expect((strcmp(v, want) == 0) == same, "%s/%s is '%s': %s", cat, col, v, why);
    free(v);
}

Test(runner, weights_sha256_column_and_rows_of_other_weights_are_stale) {
    char *dir = make_tmpdir("runner");
    char *root = synth_fixture(dir), *out = ad_sprintf("%s/out", dir), *csv = ad_sprintf("%s/results.csv", out);
    char *w = ad_sprintf("%s/w.safetensors", dir), *log = ad_sprintf("%s/stderr.txt", dir);
    char *d1 = write_bytes(w, 5000, 1);
    char *text = ad_sprintf("datasets: [{name: synth, root: %s}]\n"
                            "backbone: {name: fakebbw, grid: 4, weights: %s}\n"
                            "methods:\n  - {name: fakezero}\n"
                            "evaluation: {resolution: resized:32}\n"
                            "cache_dir: %s/cache\n",
                            root, w, dir);
    cr_assert_eq(run_text(text, out, 0, 1), 0, "%s", ad_last_error());
    expect_cell(csv, "woven0", "weights_sha256", 1, d1, "not sha256sum of the weights");
    expect_cell(csv, "mean", "weights_sha256", 1, d1, "the mean row keeps the common digest");
    // the digest is cached under the feature cache folder
    char *cached = ad_sprintf("%s/cache/sha256", dir);
    struct stat st;
    cr_expect_eq(stat(cached, &st), 0, "no digest cache in %s", cached);
    // other weights under the same path
    struct timespec ts = {0, 20 * 1000000L};
    nanosleep(&ts, NULL);
    char *d2 = write_bytes(w, 5000, 2);
    cr_assert_str_neq(d1, d2);
    poke_csv(csv, "woven0", "image_auroc", "0.125");
    int saved = redirect_stderr(log);
    int rc = run_text(text, out, 0, 1);
    restore_stderr(saved);
    cr_assert_eq(rc, 0, "%s", ad_last_error());
    char *err = slurp(log, NULL);
    char p1[13], p2[13];
    snprintf(p1, sizeof p1, "%s", d1), snprintf(p2, sizeof p2, "%s", d2);
    cr_expect(err && strstr(err, "made with other weights") && strstr(err, "w.safetensors") && strstr(err, p1) &&
                  strstr(err, p2) && strstr(err, "--rerun-stale"),
              "no stale-weights warning naming the file and both digests: %s", err ? err : "");
    free(err);
    char *rl = ad_sprintf("%s/run.log", out);  // warnings go to run.log too
    err = slurp(rl, NULL);
    cr_expect(err && strstr(err, "Z adbench: warning: ") && strstr(err, "made with other weights"), "run.log: %s",
              err ? err : "(none)");
    free(err), free(rl);
    expect_cell(csv, "woven0", "image_auroc", 1, "0.125", "a row of other weights was rerun without --rerun-stale");
    expect_cell(csv, "woven0", "weights_sha256", 1, d1, "the kept row lost its digest");
    // --rerun-stale: computed again with the current weights
    cr_assert_eq(run_text_opts(text, out, 0, 1, 0, 1), 0, "%s", ad_last_error());
    expect_cell(csv, "woven0", "image_auroc", 0, "0.125", "--rerun-stale kept the row of other weights");
    expect_cell(csv, "woven0", "weights_sha256", 1, d2, "the rerun row has not the current digest");
    // a results.csv of an older adbench (no weights_sha256 column) still resumes
    Table t, o;
    cr_assert_eq(table_read_csv(&t, csv), 0);
    int wc = table_col(&t, "weights_sha256");
    cr_assert(wc >= 0);
    const char **cols = calloc((size_t)t.n_cols, sizeof *cols), **cells = calloc((size_t)t.n_cols, sizeof *cells);
    for (int c = 0, k = 0; c < t.n_cols; c++)
        if (c != wc) cols[k++] = t.cols[c];
    table_init(&o, cols, t.n_cols - 1);
    for (int r = 0; r < t.n_rows; r++) {
        for (int c = 0, k = 0; c < t.n_cols; c++)
            if (c != wc) cells[k++] = !strcmp(t.cols[c], "image_auroc") ? "0.25" : t.rows[r][c];
        table_add_row(&o, cells);
    }
    cr_assert_eq(table_write_csv(&o, csv), 0);
    table_free(&t), table_free(&o);
    free(cols), free(cells);
    saved = redirect_stderr(log);
    rc = run_text_opts(text, out, 0, 1, 0, 1);  // even --rerun-stale: unknown is not stale
    restore_stderr(saved);
    cr_assert_eq(rc, 0, "%s", ad_last_error());
    expect_cell(csv, "woven0", "image_auroc", 1, "0.25", "a row without a digest was rerun");
    rm_rf(dir);
    free(dir), free(root), free(out), free(csv), free(w), free(log), free(d1), free(d2), free(text), free(cached);
}
