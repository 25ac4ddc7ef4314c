// MuSc (and CoDeGraph's MuSc stages) against the official code's semantics, stage by stage:
// tests/golden/parity/musc_*.npy, written by tests/gen/gen_parity_musc.py from xrli-U/MuSc
// b1847817 (torch 1.13, numpy 1.24, scikit-learn 1.2, scikit-image 0.19). 10 images, 3 layers of
// 8 x 8 tokens of width 16, r in {1, 3, 5}, evaluation at 40 x 40, published defaults.
// Tolerance: |adbench - upstream| <= 1e-5 * max(|upstream|, 0.1) (unit-vector values and
// distances are O(0.1..1); upstream is float32 from LNAMD to the interval mean).
// `--verbose` logs the largest difference of every stage.
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "image.h"
#include "method.h"
#include "metrics.h"
#include "musc.h"
#include "util_test.h"

extern const Method method_musc, method_codegraph;

#define GOLD "tests/golden/parity/"
enum { N = 10, LY = 3, G = 8, P = G * G, C = 16, E = 16, S = 40, NR = 3, NZ = 2 };
static const int ZI[NZ] = {0, 7};  // images whose LNAMD rows and distances the golden keeps
static const double TOL = 1e-5;

typedef struct {
    float *feats, *embed;
    const float *fp[N], *ep[N];
    FeatureBatch b;
} Set;

// In place: b points into s.
static void load_set(Set *s) {
    size_t n;
    s->feats = golden_f32(GOLD, "musc_feats", &n);
    cr_assert_eq(n, (size_t)N * LY * P * C);
    s->embed = golden_f32(GOLD, "musc_embed", &n);
    cr_assert_eq(n, (size_t)N * E);
    for (int i = 0; i < N; i++) s->fp[i] = s->feats + (size_t)i * LY * P * C, s->ep[i] = s->embed + (size_t)i * E;
    FeatureBatch b = {N, LY, G, G, C, s->fp, E, s->ep, {{0}}};
    s->b = b;
}

static void free_set(Set *s) { free(s->feats), free(s->embed); }

static double *gold(const char *name, size_t expect) {
    size_t n;
    double *v = golden_f64(GOLD, name, &n);
    cr_assert_eq(n, expect, "%s: %zu values, expected %zu", name, n, expect);
    return v;
}

// Asserts got ~ want and returns the largest absolute difference (logged with --verbose).
static double close_to(const float *got, const double *want, size_t n, const char *what) {
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs(got[i] - want[i]);
        cr_assert(d <= TOL * fmax(fabs(want[i]), 0.1), "%s[%zu]: adbench %.9g, upstream %.9g", what, i, got[i], want[i]);
        worst = d > worst ? d : worst;
    }
    cr_log_info("%-28s max |diff| %.3g over %zu values", what, worst, n);
    return worst;
}

// 1. LayerNorm + LNAMD for every degree and layer (images ZI).
Test(parity_musc, lnamd_per_degree_and_layer) {
    Set s;
    load_set(&s);
    double *z = gold("musc_z", (size_t)NR * LY * NZ * P * C);
    static const int R[NR] = {1, 3, 5};
    float ln[P * C], out[P * C];
    for (int r = 0; r < NR; r++)
        for (int l = 0; l < LY; l++)
            for (int q = 0; q < NZ; q++) {
                musc_layernorm(ln, s.fp[ZI[q]] + (size_t)l * P * C, P, C);
                musc_lnamd(out, ln, G, G, C, R[r]);
                char what[64];
                snprintf(what, sizeof what, "LNAMD r=%d layer %d image %d", R[r], l, ZI[q]);
                close_to(out, z + (((size_t)r * LY + l) * NZ + q) * P * C, (size_t)P * C, what);
            }
    free(z);
    free_set(&s);
}

// 2.-3. MSM: the nearest-patch distances to every other image, and the per-layer interval
// average (lowest 30 % of the N-1 minima) of every image.
Test(parity_musc, msm_distances_and_interval_means) {
    Set s;
    load_set(&s);
    double *dk = gold("musc_dist", (size_t)NR * LY * NZ * (N - 1) * P), *msm = gold("musc_msm", (size_t)NR * LY * N * P);
    MuscState st;
    cr_assert_eq(musc_prepare(&st, NULL, &s.b), 0, "%s", ad_last_error());
    cr_assert_eq(st.n_layers, LY);
    cr_assert_eq(st.n_degrees, NR);
    float row[P], v[N];
    double dmax = 0, mmax = 0;
    for (int r = 0; r < NR; r++)
        for (int l = 0; l < LY; l++) {
            const float *d = st.dist[l * NR + r];  // adbench's set k = layer * n_degrees + degree
            for (int q = 0; q < NZ; q++) {
                int i = ZI[q], m = 0;
                for (int j = 0; j < N; j++) {
                    if (j == i) continue;
                    char what[64];
                    snprintf(what, sizeof what, "MSM dist r%d l%d %d->%d", r, l, i, j);
                    double w = close_to(d + ((size_t)i * N + j) * P, dk + ((((size_t)r * LY + l) * NZ + q) * (N - 1) + m) * P, P, what);
                    dmax = w > dmax ? w : dmax;
                    m++;
                }
            }
            for (int i = 0; i < N; i++) {
                for (int p = 0; p < P; p++) {
                    int m = 0;
                    for (int j = 0; j < N; j++)
                        if (j != i) v[m++] = d[((size_t)i * N + j) * P + p];
                    row[p] = musc_interval_mean(v, m, 0.0, 0.3);
                }
                char what[64];
                snprintf(what, sizeof what, "MSM score r%d l%d image %d", r, l, i);
                double w = close_to(row, msm + (((size_t)r * LY + l) * N + i) * P, P, what);
                mmax = w > mmax ? w : mmax;
            }
        }
    cr_log_info("MSM distances max |diff| %.3g, interval means %.3g", dmax, mmax);
    musc_state_free(&st);
    free(dk), free(msm);
    free_set(&s);
}

// 4.-6. Fused maps (mean over layers, then over r), the upsampled-max image scores and RsCIN
// with MVTec's and VisA's windows, stage by stage.
Test(parity_musc, fused_maps_image_scores_rscin) {
    Set s;
    load_set(&s);
    double *patch = gold("musc_patch", (size_t)N * P), *raw = gold("musc_image_raw", N);
    double *mv = gold("musc_image_mvtec", N), *vi = gold("musc_image_visa", N);
    MuscState st;
    cr_assert_eq(musc_prepare(&st, NULL, &s.b), 0, "%s", ad_last_error());
    float maps[N * P], sc[N], out[N];
    musc_score_maps(maps, &st, 0.0, 0.3, NULL);
    close_to(maps, patch, (size_t)N * P, "fused patch maps");
    musc_image_scores(sc, maps, N, G, G, S);
    close_to(sc, raw, N, "image scores (upsampled max)");
    static const int KM[3] = {1, 2, 3}, KV[3] = {1, 8, 9};
    musc_rscin(out, sc, s.ep, N, E, KM, 3);
    close_to(out, mv, N, "RsCIN k {1,2,3}");
    musc_rscin(out, sc, s.ep, N, E, KV, 3);
    close_to(out, vi, N, "RsCIN k {1,8,9}");
    musc_state_free(&st);
    free(patch), free(raw), free(mv), free(vi);
    free_set(&s);
}

// The whole method on its defaults, then the maps at the evaluation resolution (as
// evaluate_maps under resized:S: bilinear, align_corners=True, no smoothing) and the metrics
// (upstream's compute_metrics on its own maps; AU-PRO = its 200-threshold cal_pro_score).
static void check_method(const Method *m, const char *const *set, MethodOutput *o) {
    Set s;
    load_set(&s);
    Params p = {m->params, 0, NULL, NULL};
    for (int t = 0; set && set[t]; t += 2) cr_assert_eq(params_set(&p, set[t], set[t + 1]), 0, "%s", ad_last_error());
    static const int K[3] = {1, 2, 3};
    MethodContext ctx = {.category = "parity", .rscin_k = K, .score_size = S, .quiet = 1};
    cr_assert_eq(m->run(&p, &s.b, NULL, &ctx, o), 0, "%s", ad_last_error());
    double *patch = gold("musc_patch", (size_t)N * P), *raw = gold("musc_image_raw", N), *mv = gold("musc_image_mvtec", N);
    double *want = gold("musc_maps", (size_t)N * S * S), *met = gold("musc_metrics", 4);
    cr_assert(!o->half_pixel && o->smooth_sigma == 0, "MuSc's maps: align_corners=True, no smoothing");
    close_to(o->maps, patch, (size_t)N * P, "run: patch maps");
    close_to(o->image_score, mv, N, "run: image scores (RsCIN)");
    cr_assert_eq(o->n_diag, 1);
    close_to(o->diag, raw, N, "run: scores before RsCIN");
    float *up = malloc((size_t)N * S * S * sizeof(float));
    for (int i = 0; i < N; i++) interp_bilinear(up + (size_t)i * S * S, S, S, o->maps + (size_t)i * P, G, G, 1);
    close_to(up, want, (size_t)N * S * S, "maps at 40 x 40");
    NpyArray gt = golden_npy(GOLD, "musc_gt", NULL), lab = golden_npy(GOLD, "musc_labels", NULL);
    double sc[N];
    for (int i = 0; i < N; i++) sc[i] = o->image_score[i];
    BinaryMetrics im;
    cr_assert_eq(metrics_image(lab.data, sc, N, &im), 0, "%s", ad_last_error());
    const uint8_t *mk[N];
    const float *mp[N];
    int h[N], w[N];
    for (int i = 0; i < N; i++)
        mk[i] = (const uint8_t *)gt.data + (size_t)i * S * S, mp[i] = up + (size_t)i * S * S, h[i] = w[i] = S;
    PixelMetrics px, pu;
    cr_assert_eq(metrics_pixel(mk, mp, h, w, N, 0.3, &px), 0, "%s", ad_last_error());
    double got[4] = {im.auroc, px.auroc, px.ap, px.aupro_musc};
    static const char *const NAME[4] = {"image AUROC", "pixel AUROC", "pixel AP", "AU-PRO (MuSc's)"};
    // MuSc's AU-PRO thresholds the maps at 200 fixed levels: a pixel 1e-7 away from one of
    // them (float32 round-off of the maps) moves it by ~1e-5. On upstream's own maps it is exact.
    static const double MTOL[4] = {1e-9, 1e-6, 1e-6, 5e-5};
    for (int t = 0; t < 4; t++) {
        cr_assert(fabs(got[t] - met[t]) <= MTOL[t], "%s %.9f, upstream %.9f", NAME[t], got[t], met[t]);
        cr_log_info("%-28s %.9f (upstream %.9f)", NAME[t], got[t], met[t]);
    }
    float *wf = malloc((size_t)N * S * S * sizeof(float));
    for (size_t t = 0; t < (size_t)N * S * S; t++) wf[t] = (float)want[t];
    for (int i = 0; i < N; i++) mp[i] = wf + (size_t)i * S * S;
    cr_assert_eq(metrics_pixel(mk, mp, h, w, N, 0.3, &pu), 0, "%s", ad_last_error());
    // (upstream's maps are double; as float32 a few pixels tie: pixel AUROC moves by ~1e-7)
    cr_assert(fabs(pu.auroc - met[1]) <= 1e-6 && fabs(pu.ap - met[2]) <= 1e-9 && fabs(pu.aupro_musc - met[3]) <= 1e-9,
              "metrics of upstream's maps: pixel AUROC %.12f / %.12f, AP %.12f / %.12f, AU-PRO %.12f / %.12f", pu.auroc,
              met[1], pu.ap, met[2], pu.aupro_musc, met[3]);
    free(wf);
    npy_free(&gt), npy_free(&lab);
    free(up), free(patch), free(raw), free(mv), free(want), free(met);
    params_free(&p);
    free_set(&s);
}

Test(parity_musc, method_on_defaults_maps_and_metrics) {
    MethodOutput o = {0};
    check_method(&method_musc, NULL, &o);
    method_output_free(&o);
}

// CoDeGraph shares MuSc's LNAMD, MSM, fusion and RsCIN (musc.h): with community detection off
// it is upstream MuSc on this set too, and MuSc's output bit for bit.
Test(parity_musc, codegraph_shared_stages_are_upstream_musc) {
    static const char *const OFF[] = {"community", "false", NULL};
    MethodOutput a = {0}, b = {0};
    check_method(&method_musc, NULL, &a);
    check_method(&method_codegraph, OFF, &b);
    cr_assert(!memcmp(a.maps, b.maps, (size_t)N * P * sizeof(float)), "codegraph (community off) maps != musc");
    cr_assert(!memcmp(a.image_score, b.image_score, N * sizeof(float)), "codegraph (community off) scores != musc");
    method_output_free(&a), method_output_free(&b);
}

// divide_num 2 with upstream's script seed (42): datasets/mvtec.py sub_datasets' split by
// anomaly folder, each subset scored alone, RsCIN once over all images.
Test(parity_musc, divide_num_split_and_subset_scores) {
    static const char *const DEFECT[N] = {"good", "good", "good", "good", "good", "good", "hole", "hole", "scratch", "scratch"};
    NpyArray ord = golden_npy(GOLD, "musc_div2_order", NULL);
    cr_assert_eq(ord.count, (size_t)N);
    int subset[N], order[N];
    musc_split(subset, order, N, 2, 42, DEFECT);
    for (int i = 0; i < N; i++) cr_assert_eq(order[i], ((const int32_t *)ord.data)[i], "upstream order[%d]", i);
    Set s;
    load_set(&s);
    Params p = {method_musc.params, 0, NULL, NULL};
    cr_assert_eq(params_set(&p, "divide_num", "2"), 0);
    cr_assert_eq(params_set(&p, "seed", "42"), 0);
    static const int K[3] = {1, 2, 3};
    MethodContext ctx = {.category = "parity", .rscin_k = K, .score_size = S, .defect = DEFECT, .quiet = 1};
    MethodOutput o = {0};
    cr_assert_eq(method_musc.run(&p, &s.b, NULL, &ctx, &o), 0, "%s", ad_last_error());
    double *patch = gold("musc_div2_patch", (size_t)N * P), *img = gold("musc_div2_image", N);
    close_to(o.maps, patch, (size_t)N * P, "divide_num 2: patch maps");
    close_to(o.image_score, img, N, "divide_num 2: image scores");
    method_output_free(&o);
    params_free(&p);
    free(patch), free(img);
    npy_free(&ord);
    free_set(&s);
}
