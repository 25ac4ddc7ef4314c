// AnomalyDINO against tests/golden/membank/ (tests/gen/gen_membank.py, written from
// upstream's compute_background_mask at dammsi/AnomalyDINO b3435f0: sklearn PCA (both
// svd_flip conventions), real cv2 dilate/MORPH_CLOSE on the (N, 1) column, and on the grid
// for mask_morphology grid; float64 cosine kNN, top-1% mean).
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "err.h"
#include "membank.h"
#include "method.h"
#include "npy.h"
#include "util_test.h"

extern const Method method_anomalydino;

#define GOLD "tests/golden/membank/"

static NpyArray load(const char *name) { return golden_npy(GOLD, name, NULL); }
static float *load_f32(const char *name) { return golden_f32(GOLD, name, NULL); }
static double *load_f64(const char *name) { return golden_f64(GOLD, name, NULL); }

Test(anomalydino, pca_mask_matches_numpy_sklearn_and_cv2_morphology) {
    const char *names[] = {"mask_a", "mask_b", "mask_c"};
    for (int c = 0; c < 3; c++) {
        char nm[64];
        snprintf(nm, sizeof nm, "ad_%s_cfg", names[c]);
        double *cfg = load_f64(nm);
        int gh = (int)cfg[0], gw = (int)cfg[1], D = (int)cfg[2], P = gh * gw;
        snprintf(nm, sizeof nm, "ad_%s_X", names[c]);
        float *X = load_f32(nm);
        snprintf(nm, sizeof nm, "ad_%s_pc1", names[c]);
        double *pc1 = load_f64(nm);
        uint8_t *mask = malloc((size_t)P);
        double *s = malloc((size_t)P * sizeof(double));
        for (int grid = 0; grid <= 1; grid++) {
            snprintf(nm, sizeof nm, grid ? "ad_%s_mask_grid" : "ad_%s_mask", names[c]);
            NpyArray m = load(nm);
            anomalydino_pca_mask(mask, s, X, gh, gw, D, 10, 0.2, 0.35, 3, grid, 0);
            double mx = 0;
            for (int p = 0; p < P; p++) mx = fmax(mx, fabs(pc1[p]));
            for (int p = 0; p < P; p++)
                cr_assert(fabs(s[p] - pc1[p]) <= 1e-6 * mx, "%s pc1[%d]: %g vs %g", names[c], p, s[p], pc1[p]);
            for (int p = 0; p < P; p++)
                cr_assert_eq(mask[p], ((uint8_t *)m.data)[p], "%s %s mask (%d,%d): %d vs %d", names[c],
                             grid ? "grid" : "upstream", p / gw, p % gw, mask[p], ((uint8_t *)m.data)[p]);
            npy_free(&m);
        }
        free(s), free(mask), free(pc1), free(X), free(cfg);
    }
}

// Neither sign passes the centre test and the two svd_flip conventions disagree: the masks
// of sklearn_u (scikit-learn 1.2-1.4) and sklearn_v (>= 1.5) differ, each as the golden.
Test(anomalydino, pca_sign_sklearn_u_and_v) {
    double *cfg = load_f64("ad_sign_cfg");
    int gh = (int)cfg[0], gw = (int)cfg[1], D = (int)cfg[2], P = gh * gw;
    float *X = load_f32("ad_sign_X");
    double *pc1 = load_f64("ad_sign_pc1_u");
    uint8_t *mask = malloc((size_t)P);
    double *s = malloc((size_t)P * sizeof(double));
    int differ = 0;
    for (int sv = 0; sv <= 1; sv++) {
        NpyArray m = load(sv ? "ad_sign_mask_v" : "ad_sign_mask_u");
        anomalydino_pca_mask(mask, s, X, gh, gw, D, 10, 0.2, 0.35, 3, 0, sv);
        double mx = 0;
        for (int p = 0; p < P; p++) mx = fmax(mx, fabs(pc1[p]));
        for (int p = 0; p < P; p++)
            cr_assert(fabs((sv ? -s[p] : s[p]) - pc1[p]) <= 1e-6 * mx, "sign %d pc1[%d]: %g vs %g", sv, p, s[p], pc1[p]);
        for (int p = 0; p < P; p++) {
            cr_assert_eq(mask[p], ((uint8_t *)m.data)[p], "sign %d mask %d", sv, p);
            differ += sv && mask[p] != ((uint8_t *)m.data)[p];
        }
        npy_free(&m);
    }
    NpyArray mu = load("ad_sign_mask_u");
    for (int p = 0; p < P; p++) differ += mask[p] != ((uint8_t *)mu.data)[p];
    cr_assert(differ > 0, "the case must separate the conventions");
    npy_free(&mu);
    free(s), free(mask), free(pc1), free(X), free(cfg);
}

Test(anomalydino, top_percent_mean) {
    float *v = load_f32("ad_top_in");
    double *w = load_f64("ad_top_out");
    double fr[3] = {0.01, 0.001, 0.0005};
    for (int i = 0; i < 3; i++) {
        double g = anomalydino_top_mean(v, 1024, fr[i]);
        cr_assert(fabs(g - w[i]) <= 1e-9 * fmax(1, fabs(w[i])), "frac %g: %.12g vs %.12g", fr[i], g, w[i]);
    }
    float small[3] = {0.5f, 2.f, 1.f};
    cr_assert_eq(anomalydino_top_mean(small, 3, 0.01), 2.0);  // int(0.03) = 0: the max
    free(v), free(w);
}

Test(anomalydino, rotation_and_masking_tables) {
    cr_assert_eq(anomalydino_rotations("agnostic", "bottle"), 8);
    cr_assert_eq(anomalydino_rotations("agnostic", "candle"), 8);
    cr_assert_eq(anomalydino_rotations("informed", "screw"), 8);
    cr_assert_eq(anomalydino_rotations("informed", "hazelnut"), 8);
    cr_assert_eq(anomalydino_rotations("informed", "pill"), 1);
    cr_assert_eq(anomalydino_rotations("informed", "candle"), 1);
    cr_assert_eq(anomalydino_rotations("off", "screw"), 1);
    cr_assert_eq(anomalydino_rotations("sometimes", "screw"), -1);
    cr_assert(strstr(ad_last_error(), "'rotation'") && strstr(ad_last_error(), "sometimes"), "%s", ad_last_error());
    const char *on[] = {"capsule", "hazelnut", "pill", "screw", "toothbrush", "candle", "capsules", "pcb4", "pipe_fryum"};
    const char *off[] = {"bottle", "cable", "carpet", "grid", "leather", "metal_nut", "tile", "transistor", "wood", "zipper"};
    for (size_t i = 0; i < sizeof on / sizeof on[0]; i++) cr_assert_eq(anomalydino_default_masking(on[i]), 1, "%s", on[i]);
    for (size_t i = 0; i < sizeof off / sizeof off[0]; i++) cr_assert_eq(anomalydino_default_masking(off[i]), 0, "%s", off[i]);
    Params p = {method_anomalydino.params, 0, NULL, NULL};
    cr_assert_not_null(method_anomalydino.reference_rotations);
    cr_assert_eq(method_anomalydino.reference_rotations(&p, "bottle"), 8);
    cr_assert_eq(params_set(&p, "rotation", "informed"), 0);
    cr_assert_eq(method_anomalydino.reference_rotations(&p, "bottle"), 1);
    cr_assert_eq(method_anomalydino.reference_rotations(&p, "screw"), 8);
    params_free(&p);
}

typedef struct {
    FeatureBatch tr, te;
    float *trd, *ted;
    const float **trp, **tep;
} RunData;

static void run_data(RunData *d) {
    int gh = 10, gw = 12, D = 24, P = gh * gw;
    d->trd = load_f32("ad_run_train");
    d->ted = load_f32("ad_run_test");
    d->trp = malloc(16 * sizeof(float *));
    d->tep = malloc(5 * sizeof(float *));
    for (int i = 0; i < 16; i++) d->trp[i] = d->trd + (size_t)i * P * D;
    for (int i = 0; i < 5; i++) d->tep[i] = d->ted + (size_t)i * P * D;
    d->tr = (FeatureBatch){16, 1, gh, gw, D, d->trp, 0, NULL, {{0}}};
    d->te = (FeatureBatch){5, 1, gh, gw, D, d->tep, 0, NULL, {{0}}};
}
static void run_data_free(RunData *d) { free(d->trd), free(d->ted), free(d->trp), free(d->tep); }

Test(anomalydino, end_to_end_distances_scores_and_threads) {
    RunData d;
    run_data(&d);
    const char *cases[6][7] = {{"a", "1", "on", "0.01", "false", "upstream", "sklearn_u"},
                               {"b", "2", "off", "0.1", "false", "upstream", "sklearn_u"},
                               {"c", "1", "auto", "0.05", "false", "upstream", "sklearn_u"},
                               {"d", "1", "on", "0.01", "true", "upstream", "sklearn_u"},
                               {"e", "1", "on", "0.01", "true", "grid", "sklearn_u"},
                               {"f", "1", "on", "0.01", "true", "upstream", "sklearn_v"}};
    MethodContext ctx = {.category = "bottle", .quiet = 1};  // bottle: auto = no masking
    for (int c = 0; c < 6; c++) {
        Params p = {method_anomalydino.params, 0, NULL, NULL};
        if (c != 0) {  // case a runs on the defaults (upstream morphology, sklearn_u)
            cr_assert_eq(params_set(&p, "mask_morphology", cases[c][5]), 0);
            cr_assert_eq(params_set(&p, "pca_sign", cases[c][6]), 0);
        }
        cr_assert_eq(params_set(&p, "mask_ref", cases[c][4]), 0);
        cr_assert_eq(params_set(&p, "num_nn", cases[c][1]), 0);
        cr_assert_eq(params_set(&p, "masking", cases[c][2]), 0);
        cr_assert_eq(params_set(&p, "top_frac", cases[c][3]), 0);
        char nm[64];
        snprintf(nm, sizeof nm, "ad_run_%s_maps", cases[c][0]);
        double *wm = load_f64(nm);
        snprintf(nm, sizeof nm, "ad_run_%s_scores", cases[c][0]);
        double *ws = load_f64(nm);
        MethodOutput o[2];
        for (int t = 1; t <= 2; t++) {
            omp_set_num_threads(t);
            openblas_set_num_threads(t);
            memset(&o[t - 1], 0, sizeof o[0]);
            cr_assert_eq(method_anomalydino.run(&p, &d.te, &d.tr, &ctx, &o[t - 1]), 0, "%s", ad_last_error());
            for (int r = 0; r < 5 * 120; r++)
                cr_assert(fabs(o[t - 1].maps[r] - wm[r]) <= 1e-5, "case %s patch %d: %g vs %g", cases[c][0], r,
                          o[t - 1].maps[r], wm[r]);
            for (int i = 0; i < 5; i++)
                cr_assert(fabs(o[t - 1].image_score[i] - ws[i]) <= 1e-5, "case %s image %d: %g vs %g", cases[c][0], i,
                          o[t - 1].image_score[i], ws[i]);
        }
        cr_assert(!memcmp(o[0].maps, o[1].maps, 5 * 120 * sizeof(float)), "case %s: threads differ", cases[c][0]);
        cr_assert(!memcmp(o[0].image_score, o[1].image_score, 5 * sizeof(float)));
        cr_assert_eq(o[0].half_pixel, 1);
        cr_assert_eq(o[0].smooth_sigma, 4.0);
        method_output_free(&o[0]);
        method_output_free(&o[1]);
        free(wm), free(ws);
        params_free(&p);
    }
    omp_set_num_threads(2);
    run_data_free(&d);
}

Test(anomalydino, bad_inputs_name_the_key) {
    RunData d;
    run_data(&d);
    MethodContext ctx = {.category = "screw", .quiet = 1};
    MethodOutput o = {0};
    Params p = {method_anomalydino.params, 0, NULL, NULL};
    cr_assert_eq(method_anomalydino.run(&p, &d.te, NULL, &ctx, &o), -1);
    cr_assert(strstr(ad_last_error(), "screw") && strstr(ad_last_error(), "reference"), "%s", ad_last_error());
    FeatureBatch tr = d.tr;
    tr.n = 12;  // not a multiple of the 8 rotations
    cr_assert_eq(method_anomalydino.run(&p, &d.te, &tr, &ctx, &o), -1);
    cr_assert(strstr(ad_last_error(), "8 rotated") && strstr(ad_last_error(), "12"), "%s", ad_last_error());
    cr_assert_eq(params_set(&p, "masking", "maybe"), 0);
    cr_assert_eq(method_anomalydino.run(&p, &d.te, &d.tr, &ctx, &o), -1);
    cr_assert(strstr(ad_last_error(), "'masking'") && strstr(ad_last_error(), "maybe"), "%s", ad_last_error());
    cr_assert_eq(params_set(&p, "masking", "off"), 0);
    cr_assert_eq(params_set(&p, "layer", "3"), 0);
    cr_assert_eq(method_anomalydino.run(&p, &d.te, &d.tr, &ctx, &o), -1);
    cr_assert(strstr(ad_last_error(), "'layer'"), "%s", ad_last_error());
    cr_assert_eq(params_set(&p, "layer", "0"), 0);
    cr_assert_eq(params_set(&p, "mask_morphology", "2d"), 0);
    cr_assert_eq(method_anomalydino.run(&p, &d.te, &d.tr, &ctx, &o), -1);
    cr_assert(strstr(ad_last_error(), "'mask_morphology'") && strstr(ad_last_error(), "2d"), "%s", ad_last_error());
    cr_assert_eq(params_set(&p, "mask_morphology", "grid"), 0);
    cr_assert_eq(params_set(&p, "pca_sign", "u"), 0);
    cr_assert_eq(method_anomalydino.run(&p, &d.te, &d.tr, &ctx, &o), -1);
    cr_assert(strstr(ad_last_error(), "'pca_sign'"), "%s", ad_last_error());
    cr_assert_eq(params_set(&p, "pca_sign", "sklearn_v"), 0);
    cr_assert_eq(params_set(&p, "mask_kernel", "4"), 0);
    cr_assert_eq(method_anomalydino.run(&p, &d.te, &d.tr, &ctx, &o), -1);
    cr_assert(strstr(ad_last_error(), "mask_kernel"), "%s", ad_last_error());
    cr_assert_null(o.maps);
    params_free(&p);
    run_data_free(&d);
}
