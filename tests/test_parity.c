// Parity with the official code, stage by stage, on a small fixed feature set per method
// (tests/golden/parity/, written by tests/gen/gen_parity.py from upstream's code paths:
// PatchCore = amazon-science/patchcore-inspection fcaa92f, AnomalyDINO = dammsi/AnomalyDINO
// b3435f0; torch 1.13, numpy 1.24, scikit-learn 1.2, scipy 1.10, OpenCV 4.6). Default
// parameters of each method except the sizes of this small set.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "coreset.h"
#include "err.h"
#include "membank.h"
#include "method.h"
#include "metrics.h"
#include "npy.h"
#include "util_test.h"

extern const Method method_patchcore, method_anomalydino;

#define GOLD "tests/golden/parity/"

static NpyArray load(const char *name) { return golden_npy(GOLD, name, NULL); }
static float *f32(const char *name) { return golden_f32(GOLD, name, NULL); }
static double *f64(const char *name) { return golden_f64(GOLD, name, NULL); }
static void close_f(const float *got, const double *want, size_t n, double tol, const char *what) {
    for (size_t i = 0; i < n; i++)
        cr_assert(fabs(got[i] - want[i]) <= tol * fmax(1.0, fabs(want[i])), "%s[%zu]: got %.9g, upstream %.9g", what,
                  i, got[i], want[i]);
}

// Metrics of our maps/scores (sklearn roc_auc_score upstream, on upstream's own maps).
static void check_metrics(const float *score, const float *maps, const uint8_t *gt, const uint8_t *labels, int n,
                          int H, int W, const char *gold) {
    double *want = f64(gold), sc[64];
    for (int i = 0; i < n; i++) sc[i] = score[i];
    BinaryMetrics im;
    cr_assert_eq(metrics_image(labels, sc, (size_t)n, &im), 0, "%s", ad_last_error());
    cr_assert(fabs(im.auroc - want[0]) <= 1e-6, "image AUROC %.9f, upstream %.9f", im.auroc, want[0]);
    const uint8_t *mk[64];
    const float *mp[64];
    int h[64], w[64];
    for (int i = 0; i < n; i++) mk[i] = gt + (size_t)i * H * W, mp[i] = maps + (size_t)i * H * W, h[i] = H, w[i] = W;
    PixelMetrics px;
    cr_assert_eq(metrics_pixel(mk, mp, h, w, n, 0.3, &px), 0, "%s", ad_last_error());
    cr_assert(fabs(px.auroc - want[1]) <= 1e-6, "pixel AUROC %.9f, upstream %.9f", px.auroc, want[1]);
    free(want);
}

Test(parity, patchcore_stage_by_stage) {
    enum { GH = 8, GW = 8, L = 2, C = 8, NTR = 4, NTE = 8, P = GH * GW, T = 12, H = 32, W = 32 };
    float *tr = f32("pc_train"), *te = f32("pc_test");
    const float *trp[NTR], *tep[NTE];
    for (int i = 0; i < NTR; i++) trp[i] = tr + (size_t)i * L * P * C;
    for (int i = 0; i < NTE; i++) tep[i] = te + (size_t)i * L * P * C;
    FeatureBatch btr = {NTR, L, GH, GW, C, trp, 0, NULL, {{0}}}, bte = {NTE, L, GH, GW, C, tep, 0, NULL, {{0}}};
    // 1. Embedding (PatchMaker + Preprocessing + Aggregator).
    double *emb = f64("pc_embed_test");
    float *e = malloc((size_t)P * T * sizeof(float)), *bank = malloc((size_t)NTR * P * T * sizeof(float));
    for (int i = 0; i < NTE; i++) {
        const float *ly[L] = {tep[i], tep[i] + (size_t)P * C};
        patchcore_embed(e, ly, L, GH, GW, C, 3, 8, T);
        close_f(e, emb + (size_t)i * P * T, (size_t)P * T, 1e-5, "embedding");
    }
    // 2. Bank: the approximate greedy coreset with upstream's draws (seed 0).
    for (int i = 0; i < NTR; i++) {
        const float *ly[L] = {trp[i], trp[i] + (size_t)P * C};
        patchcore_embed(bank + (size_t)i * P * T, ly, L, GH, GW, C, 3, 8, T);
    }
    NpyArray sa = load("pc_sel");
    long nsel = coreset_count(NTR * P, 0.1);
    cr_assert_eq((size_t)nsel, sa.count);
    int sel[NTR * P];
    CoresetConfig cc = {4, 10, 0, CORESET_RNG_UPSTREAM};
    coreset_select(sel, bank, NTR * P, T, nsel, &cc, NULL, NULL);
    for (long i = 0; i < nsel; i++) cr_assert_eq(sel[i], ((int32_t *)sa.data)[i], "coreset pick %ld", i);
    // 3.-5. Distances, maps, image scores through the method (defaults but the sizes).
    Params p = {method_patchcore.params, 0, NULL, NULL};
    cr_assert_eq(params_set(&p, "pre_dim", "8"), 0);
    cr_assert_eq(params_set(&p, "target_dim", "12"), 0);
    cr_assert_eq(params_set(&p, "proj_dim", "4"), 0);
    MethodContext ctx = {.category = "parity", .score_size = 224, .quiet = 1};
    MethodOutput o = {0};
    cr_assert_eq(method_patchcore.run(&p, &bte, &btr, &ctx, &o), 0, "%s", ad_last_error());
    double *patch = f64("pc_patch"), *image = f64("pc_image"), *maps = f64("pc_maps");
    close_f(o.maps, patch, NTE * P, 1e-5, "patch distance");
    close_f(o.image_score, image, NTE, 1e-5, "image score");
    float *m = malloc((size_t)NTE * H * W * sizeof(float));
    for (int i = 0; i < NTE; i++) membank_map_to_resolution(m + (size_t)i * H * W, H, W, o.maps + (size_t)i * P, GH, GW, o.smooth_sigma);
    close_f(m, maps, (size_t)NTE * H * W, 1e-5, "map");
    // 6. Metrics.
    NpyArray gt = load("pc_gt"), lab = load("pc_labels");
    check_metrics(o.image_score, m, gt.data, lab.data, NTE, H, W, "pc_metrics");
    npy_free(&gt), npy_free(&lab), npy_free(&sa);
    free(m), free(maps), free(image), free(patch), free(emb), free(e), free(bank), free(tr), free(te);
    method_output_free(&o);
    params_free(&p);
}

Test(parity, anomalydino_stage_by_stage) {
    enum { GH = 10, GW = 10, D = 16, NREF = 8, NTE = 8, P = GH * GW, H = 40, W = 40 };
    float *ref = f32("ad_ref"), *te = f32("ad_test");
    const float *rp[NREF], *tp[NTE];
    for (int i = 0; i < NREF; i++) rp[i] = ref + (size_t)i * P * D;
    for (int i = 0; i < NTE; i++) tp[i] = te + (size_t)i * P * D;
    FeatureBatch br = {NREF, 1, GH, GW, D, rp, 0, NULL, {{0}}}, bt = {NTE, 1, GH, GW, D, tp, 0, NULL, {{0}}};
    // 1. Masks (compute_background_mask on the (N, 1) column).
    NpyArray mk = load("ad_masks");
    uint8_t mask[P];
    for (int i = 0; i < NTE; i++) {
        anomalydino_pca_mask(mask, NULL, tp[i], GH, GW, D, 10, 0.2, 0.35, 3, 0, 0);
        for (int q = 0; q < P; q++)
            cr_assert_eq(mask[q], ((uint8_t *)mk.data)[i * P + q], "image %d mask patch %d", i, q);
    }
    // 2.-4. Distances (bank = every unit reference token), maps, image scores: the method
    // on its defaults, category screw (masking auto = on, rotation agnostic = 8 entries).
    Params p = {method_anomalydino.params, 0, NULL, NULL};
    MethodContext ctx = {.category = "screw", .quiet = 1};
    MethodOutput o = {0};
    cr_assert_eq(method_anomalydino.run(&p, &bt, &br, &ctx, &o), 0, "%s", ad_last_error());
    double *patch = f64("ad_patch"), *image = f64("ad_image"), *maps = f64("ad_maps");
    close_f(o.maps, patch, NTE * P, 1e-5, "patch distance");
    close_f(o.image_score, image, NTE, 1e-5, "image score");
    float *m = malloc((size_t)NTE * H * W * sizeof(float));
    for (int i = 0; i < NTE; i++) membank_map_to_resolution(m + (size_t)i * H * W, H, W, o.maps + (size_t)i * P, GH, GW, o.smooth_sigma);
    close_f(m, maps, (size_t)NTE * H * W, 1e-5, "map");
    // 5. Metrics.
    NpyArray gt = load("ad_gt"), lab = load("ad_labels");
    check_metrics(o.image_score, m, gt.data, lab.data, NTE, H, W, "ad_metrics");
    npy_free(&gt), npy_free(&lab), npy_free(&mk);
    free(m), free(maps), free(image), free(patch), free(ref), free(te);
    method_output_free(&o);
    params_free(&p);
}
