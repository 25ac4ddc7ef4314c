// MuSc stages (methods/musc.c) against the NumPy reference in tests/gen/gen_musc.py
// (golden files in tests/golden/musc/), plus determinism and error cases.
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "knn.h"
#include "method.h"
#include "musc.h"
#include "npy.h"

#define GN 12
#define GL 2
#define GH 6
#define GW 7
#define GP (GH * GW)
#define GD 24
#define GK (GL * 3)

static float *load(const char *name, size_t expect) {
    char path[256];
    snprintf(path, sizeof path, "tests/golden/musc/%s", name);
    NpyArray a;
    cr_assert_eq(npy_read(path, &a), 0, "%s", ad_last_error());
    cr_assert_eq(a.count, expect, "%s: %zu values, expected %zu", path, a.count, expect);
    float *f = npy_as_f32(&a);
    npy_free(&a);
    return f;
}

static void assert_close(const float *got, const float *want, size_t n, float tol, const char *what) {
    for (size_t t = 0; t < n; t++)
        cr_assert(fabsf(got[t] - want[t]) <= tol, "%s[%zu]: %.9g vs reference %.9g", what, t, got[t], want[t]);
}

static FeatureBatch batch_of(const float *feats, const float **ptrs, int n) {
    for (int i = 0; i < n; i++) ptrs[i] = feats + (size_t)i * GL * GP * GD;
    FeatureBatch b = {n, GL, GH, GW, GD, ptrs, 0, NULL, {{0}}};
    return b;
}

Test(musc, layernorm_and_lnamd_per_degree) {
    float *feats = load("feats.npy", (size_t)GN * GL * GP * GD);
    float *ln = load("ln.npy", (size_t)GN * GL * GP * GD);
    float *z = load("z.npy", (size_t)GK * GN * GP * GD);
    float out[GP * GD];
    int deg[3] = {1, 3, 5};
    for (int i = 0; i < GN; i++)
        for (int l = 0; l < GL; l++) {
            size_t off = ((size_t)i * GL + l) * GP * GD;
            musc_layernorm(out, feats + off, GP, GD);
            assert_close(out, ln + off, GP * GD, 1e-5f, "layernorm");
            for (int r = 0; r < 3; r++) {
                musc_lnamd(out, ln + off, GH, GW, GD, deg[r]);
                assert_close(out, z + ((size_t)(l * 3 + r) * GN + i) * GP * GD, GP * GD, 1e-5f, "lnamd");
            }
        }
    free(feats), free(ln), free(z);
}

Test(musc, msm_distances) {
    float *z = load("z.npy", (size_t)GK * GN * GP * GD);
    float *dist = load("dist.npy", (size_t)GK * GN * GN * GP);
    float *d = malloc((size_t)GN * GN * GP * sizeof(float));
    for (int k = 0; k < GK; k++) {
        musc_msm(d, z + (size_t)k * GN * GP * GD, GN, GP, GD);
        assert_close(d, dist + (size_t)k * GN * GN * GP, (size_t)GN * GN * GP, 1e-5f, "msm dist");
    }
    free(z), free(dist), free(d);
}

Test(musc, interval_average_per_set) {
    float *dist = load("dist.npy", (size_t)GK * GN * GN * GP);
    float *per_set = load("per_set.npy", (size_t)GK * GN * GP);
    float v[GN];
    for (int k = 0; k < GK; k++)
        for (int i = 0; i < GN; i++)
            for (int p = 0; p < GP; p++) {
                int m = 0;
                for (int j = 0; j < GN; j++)
                    if (j != i) v[m++] = dist[(((size_t)k * GN + i) * GN + j) * GP + p];
                float got = musc_interval_mean(v, m, 0.0, 0.3);
                float want = per_set[((size_t)k * GN + i) * GP + p];
                cr_assert(fabsf(got - want) <= 1e-6f, "set %d image %d patch %d: %g vs %g", k, i, p, got, want);
            }
    // Selection against a full sort on tie-rich data: [2, 7) of 0..19 shuffled with repeats.
    float w[20];
    for (int t = 0; t < 20; t++) w[t] = (float)((t * 7) % 20 / 2);  // pairs of equal values
    cr_assert_float_eq(musc_interval_mean(w, 20, 0.1, 0.35), (1 + 1 + 2 + 2 + 3) / 5.f, 1e-7);
    cr_assert(isnan(musc_interval_mean(w, 0, 0, 0.3)));
    free(dist), free(per_set);
}

Test(musc, prepare_and_fused_maps) {
    float *feats = load("feats.npy", (size_t)GN * GL * GP * GD);
    float *z = load("z.npy", (size_t)GK * GN * GP * GD);
    float *dist = load("dist.npy", (size_t)GK * GN * GN * GP);
    float *maps = load("maps.npy", (size_t)GN * GP);
    float *maps_b = load("maps_lo01_hi05.npy", (size_t)GN * GP);
    const float *ptrs[GN];
    FeatureBatch b = batch_of(feats, ptrs, GN);
    MuscState s;
    cr_assert_eq(musc_prepare(&s, NULL, &b), 0, "%s", ad_last_error());  // NULL params: defaults
    cr_assert_eq(s.n_sets, GK);
    for (int k = 0; k < GK; k++) {
        assert_close(s.Z[k], z + (size_t)k * GN * GP * GD, (size_t)GN * GP * GD, 1e-5f, "Z");
        for (int i = 0; i < GN; i++)
            for (int j = 0; j < GN; j++)
                if (i != j)
                    assert_close(s.dist[k] + ((size_t)i * GN + j) * GP, dist + (((size_t)k * GN + i) * GN + j) * GP, GP,
                                 1e-5f, "dist");
    }
    float got[GN * GP];
    musc_score_maps(got, &s, 0.0, 0.3, NULL);
    assert_close(got, maps, GN * GP, 1e-5f, "maps [0,0.3)");
    musc_score_maps(got, &s, 0.1, 0.5, NULL);
    assert_close(got, maps_b, GN * GP, 1e-5f, "maps [0.1,0.5)");
    musc_state_free(&s);
    free(feats), free(z), free(dist), free(maps), free(maps_b);
}

Test(musc, upsampled_max_image_scores) {
    float *maps = load("maps.npy", (size_t)GN * GP);
    float *scores = load("scores.npy", 2 * GN);
    float got[GN];
    musc_image_scores(got, maps, GN, GH, GW, 37);
    assert_close(got, scores, GN, 1e-6f, "score S=37");
    musc_image_scores(got, maps, GN, GH, GW, 50);
    assert_close(got, scores + GN, GN, 1e-6f, "score S=50");
    free(maps), free(scores);
}

Test(musc, rscin_both_windows_both_embeddings) {
    float *scores = load("scores.npy", 2 * GN);
    float *clip = load("clip_emb.npy", GN * 16), *dino = load("dino_emb.npy", GN * 16);
    float *want = load("rscin.npy", 4 * GN);
    const float *ce[GN], *de[GN];
    for (int i = 0; i < GN; i++) ce[i] = clip + i * 16, de[i] = dino + i * 16;
    int k123[3] = {1, 2, 3}, k189[3] = {1, 8, 9};
    float got[GN];
    musc_rscin(got, scores, ce, GN, 16, k123, 3);
    assert_close(got, want, GN, 1e-5f, "rscin clip {1,2,3}");
    musc_rscin(got, scores, ce, GN, 16, k189, 3);
    assert_close(got, want + GN, GN, 1e-5f, "rscin clip {1,8,9}");
    musc_rscin(got, scores, de, GN, 16, k123, 3);
    assert_close(got, want + 2 * GN, GN, 1e-5f, "rscin dino {1,2,3}");
    musc_rscin(got, scores, de, GN, 16, k189, 3);
    assert_close(got, want + 3 * GN, GN, 1e-5f, "rscin dino {1,8,9}");
    // No embedding, or only zero windows: the raw scores.
    int k0[3] = {0, 0, 0};
    musc_rscin(got, scores, NULL, GN, 16, k123, 3);
    cr_assert(!memcmp(got, scores, sizeof got));
    musc_rscin(got, scores, ce, GN, 16, k0, 3);
    cr_assert(!memcmp(got, scores, sizeof got));
    free(scores), free(clip), free(dino), free(want);
}

Test(musc, divide_num_split_matches_python_random) {
    NpyArray a;
    cr_assert_eq(npy_read("tests/golden/musc/split.npy", &a), 0, "%s", ad_last_error());
    int n = 34, rows = (int)a.shape[0];
    cr_assert_eq(a.shape[1], 3 + 2 * n);
    const int64_t *v = a.data;
    const char *groups[34];
    for (int i = 0; i < n; i++) groups[i] = i < 7 ? "broken" : i < 20 ? "good" : i < 25 ? "scratch" : "thread";
    for (int r = 0; r < rows; r++) {
        const int64_t *row = v + (size_t)r * (3 + 2 * n);
        int subset[34], order[34];
        musc_split(subset, order, n, (int)row[0], (int)row[1], row[2] ? groups : NULL);
        for (int i = 0; i < n; i++) {
            cr_assert_eq(subset[i], row[3 + i], "case %d image %d: subset %d, python %d", r, i, subset[i], (int)row[3 + i]);
            cr_assert_eq(order[i], row[3 + n + i], "case %d position %d: image %d, python %d", r, i, order[i],
                         (int)row[3 + n + i]);
        }
    }
    npy_free(&a);
}

Test(musc, fewer_than_five_images_is_an_error) {
    float *feats = load("feats.npy", (size_t)GN * GL * GP * GD);
    const float *ptrs[GN];
    FeatureBatch b = batch_of(feats, ptrs, 4);
    MuscState s;
    cr_assert_eq(musc_prepare(&s, NULL, &b), -1);
    cr_assert(strstr(ad_last_error(), "at least 5 images"), "%s", ad_last_error());
    cr_assert(strstr(ad_last_error(), "found 4"), "%s", ad_last_error());
    // Through the method: the message names the category.
    const Method *m = method_find("musc");
    Params p = {m->params, 0, NULL, NULL};
    int ks[3] = {1, 2, 3};
    MethodContext ctx = {NULL, "screw", ks, 37, NULL, 1};
    MethodOutput out = {0};
    cr_assert_eq(m->run(&p, &b, NULL, &ctx, &out), -1);
    cr_assert(strstr(ad_last_error(), "screw") && strstr(ad_last_error(), "at least 5"), "%s", ad_last_error());
    // divide_num that leaves a subset below 5 names the subset.
    b.n = GN;
    cr_assert_eq(params_set(&p, "divide_num", "3"), 0);
    cr_assert_eq(m->run(&p, &b, NULL, &ctx, &out), -1);
    cr_assert(strstr(ad_last_error(), "divide_num 3") && strstr(ad_last_error(), "found 4"), "%s", ad_last_error());
    // Even LNAMD degree.
    cr_assert_eq(params_set(&p, "divide_num", "1"), 0);
    cr_assert_eq(params_set(&p, "degrees", "[1,2]"), 0);
    cr_assert_eq(m->run(&p, &b, NULL, &ctx, &out), -1);
    cr_assert(strstr(ad_last_error(), "degrees") && strstr(ad_last_error(), "odd"), "%s", ad_last_error());
    params_free(&p);
    free(feats);
}

// The method equals its stages run by hand (what CoDeGraph does with detection off), bit for bit.
Test(musc, method_run_equals_stages_and_reference) {
    float *feats = load("feats.npy", (size_t)GN * GL * GP * GD);
    float *maps = load("maps.npy", (size_t)GN * GP);
    float *clip = load("clip_emb.npy", GN * 16);
    float *want = load("rscin.npy", 4 * GN);
    const float *ptrs[GN], *ce[GN];
    for (int i = 0; i < GN; i++) ce[i] = clip + i * 16;
    FeatureBatch b = batch_of(feats, ptrs, GN);
    b.embed_dim = 16, b.embed = ce;
    const Method *m = method_find("musc");
    Params p = {m->params, 0, NULL, NULL};
    int ks[3] = {1, 2, 3};
    MethodContext ctx = {NULL, "synthetic", ks, 37, NULL, 1};
    MethodOutput out = {0};
    cr_assert_eq(m->run(&p, &b, NULL, &ctx, &out), 0, "%s", ad_last_error());
    assert_close(out.maps, maps, GN * GP, 1e-5f, "run maps");
    assert_close(out.image_score, want, GN, 1e-5f, "run scores");

    MuscState s;
    cr_assert_eq(musc_prepare(&s, &p, &b), 0);
    float m2[GN * GP], raw[GN], sc[GN];
    musc_score_maps(m2, &s, 0.0, 0.3, NULL);
    musc_image_scores(raw, m2, GN, GH, GW, 37);
    musc_rscin(sc, raw, ce, GN, 16, ks, 3);
    cr_assert(!memcmp(m2, out.maps, sizeof m2));
    cr_assert(!memcmp(sc, out.image_score, sizeof sc));
    // rscin: false gives the raw upsampled maxima.
    MethodOutput o2 = {0};
    cr_assert_eq(params_set(&p, "rscin", "false"), 0);
    cr_assert_eq(m->run(&p, &b, NULL, &ctx, &o2), 0);
    cr_assert(!memcmp(raw, o2.image_score, sizeof raw));
    musc_state_free(&s);
    method_output_free(&out), method_output_free(&o2);
    params_free(&p);
    free(feats), free(maps), free(clip), free(want);
}

Test(musc, divide_num_scores_each_subset_alone) {
    float *feats = load("feats.npy", (size_t)GN * GL * GP * GD);
    const float *ptrs[GN];
    FeatureBatch b = batch_of(feats, ptrs, GN);
    const char *defect[GN];
    for (int i = 0; i < GN; i++) defect[i] = i < 6 ? "good" : "crack";  // 6 + 6: each subset gets 3 + 3
    const Method *m = method_find("musc");
    Params p = {m->params, 0, NULL, NULL};
    cr_assert_eq(params_set(&p, "divide_num", "2"), 0);
    int ks[3] = {1, 2, 3};
    MethodContext ctx = {NULL, "synthetic", ks, 37, defect, 1};
    MethodOutput out = {0};
    cr_assert_eq(m->run(&p, &b, NULL, &ctx, &out), 0, "%s", ad_last_error());
    int subset[GN];
    musc_split(subset, NULL, GN, 2, 0, defect);
    for (int t = 0; t < 2; t++) {
        const float *sp[GN];
        int ids[GN], n = 0;
        for (int i = 0; i < GN; i++)
            if (subset[i] == t) ids[n] = i, sp[n++] = ptrs[i];
        cr_assert_eq(n, 6);
        FeatureBatch sb = b;
        sb.n = n, sb.feat = sp;
        MuscState s;
        cr_assert_eq(musc_prepare(&s, &p, &sb), 0);
        float mm[GN * GP];
        musc_score_maps(mm, &s, 0.0, 0.3, NULL);
        for (int q = 0; q < n; q++) cr_assert(!memcmp(mm + q * GP, out.maps + ids[q] * GP, GP * sizeof(float)));
        musc_state_free(&s);
    }
    method_output_free(&out);
    params_free(&p);
    free(feats);
}

Test(musc, recompute_pair_and_exclusion) {
    float *feats = load("feats.npy", (size_t)GN * GL * GP * GD);
    float *dist = load("dist.npy", (size_t)GK * GN * GN * GP);
    const float *ptrs[GN];
    FeatureBatch b = batch_of(feats, ptrs, GN);
    MuscState s;
    cr_assert_eq(musc_prepare(&s, NULL, &b), 0);
    float before[GP];
    memcpy(before, s.dist[2] + (3 * GN + 5) * GP, sizeof before);
    musc_recompute_pair(&s, 3, 5, NULL);  // all valid: the same values
    cr_assert(!memcmp(before, s.dist[2] + (3 * GN + 5) * GP, sizeof before));
    uint8_t valid[GP];
    for (int q = 0; q < GP; q++) valid[q] = q % 3 != 0;
    musc_recompute_pair(&s, 3, 5, valid);
    for (int k = 0; k < GK; k++) {
        float a[GP];
        knn_max_ip_ref(a, NULL, s.Z[k] + 3 * GP * GD, GP, s.Z[k] + 5 * GP * GD, GP, GD, valid);
        for (int p = 0; p < GP; p++) {
            float want = sqrtf(fmaxf(0.f, 2.f - 2.f * a[p]));
            float got = s.dist[k][(3 * GN + 5) * GP + p];
            cr_assert(fabsf(got - want) <= 1e-5f, "set %d patch %d: %g vs %g", k, p, got, want);
            cr_assert(got >= dist[((k * GN + 3) * GN + 5) * GP + p] - 1e-6f, "filtering cannot bring a neighbour closer");
        }
        // The other direction is untouched.
        assert_close(s.dist[k] + (5 * GN + 3) * GP, dist + ((k * GN + 5) * GN + 3) * GP, GP, 1e-5f, "j->i");
    }
    // Exclusion: dropping image 7 from image 0's references equals scoring without it.
    uint8_t ex[GN * GN] = {0};
    ex[0 * GN + 7] = 1;
    float m1[GN * GP], m0[GN * GP];
    musc_score_maps(m1, &s, 0.0, 0.3, ex);
    musc_score_maps(m0, &s, 0.0, 0.3, NULL);
    cr_assert(!memcmp(m1 + GP, m0 + GP, (GN - 1) * GP * sizeof(float)), "other images unchanged");
    for (int p = 0; p < GP; p++) {
        double acc_deg = 0;
        for (int r = 0; r < 3; r++) {
            double acc_l = 0;
            for (int l = 0; l < GL; l++) {
                float v[GN];
                int m = 0;
                for (int j = 1; j < GN; j++)
                    if (j != 7) v[m++] = s.dist[l * 3 + r][(0 * GN + j) * GP + p];
                cr_assert_eq(m, 10);
                acc_l += musc_interval_mean(v, m, 0.0, 0.3);  // K = floor(0.3 * 10) = 3
            }
            acc_deg += acc_l / GL;
        }
        cr_assert(fabsf(m1[p] - (float)(acc_deg / 3)) <= 1e-6f, "patch %d", p);
    }
    musc_state_free(&s);
    free(feats), free(dist);
}

Test(musc, same_for_1_and_2_threads) {
    float *feats = load("feats.npy", (size_t)GN * GL * GP * GD);
    const float *ptrs[GN];
    FeatureBatch b = batch_of(feats, ptrs, GN);
    float m1[GN * GP], m2[GN * GP];
    MuscState s;
    omp_set_num_threads(1);
    cr_assert_eq(musc_prepare(&s, NULL, &b), 0);
    musc_score_maps(m1, &s, 0.0, 0.3, NULL);
    float *d1 = malloc((size_t)GN * GN * GP * sizeof(float));
    memcpy(d1, s.dist[4], (size_t)GN * GN * GP * sizeof(float));
    musc_state_free(&s);
    omp_set_num_threads(2);
    cr_assert_eq(musc_prepare(&s, NULL, &b), 0);
    musc_score_maps(m2, &s, 0.0, 0.3, NULL);
    cr_assert(!memcmp(d1, s.dist[4], (size_t)GN * GN * GP * sizeof(float)));
    cr_assert(!memcmp(m1, m2, sizeof m1));
    musc_state_free(&s);
    free(d1), free(feats);
}

// Scoring progress: one report per feature set, increasing, ending at 1; none once unhooked.
typedef struct { int calls; double last; int monotonic; } ProgressLog;
static void log_progress(void *user, double f) {
    ProgressLog *l = user;
    if (f <= l->last) l->monotonic = 0;
    l->last = f;
    l->calls++;
}

Test(musc, reports_progress_per_feature_set) {
    float *feats = load("feats.npy", (size_t)GN * GL * GP * GD);
    const float *ptrs[GN];
    FeatureBatch b = batch_of(feats, ptrs, GN);
    ProgressLog log = {0, 0.0, 1};
    method_set_progress(log_progress, &log);
    MuscState s;
    cr_assert_eq(musc_prepare(&s, NULL, &b), 0, "%s", ad_last_error());
    method_set_progress(NULL, NULL);
    cr_assert_eq(log.calls, GK, "%d progress reports, expected one per set (%d)", log.calls, GK);
    cr_assert(log.monotonic, "progress went backwards");
    cr_assert_eq(log.last, 1.0);
    musc_state_free(&s);
    cr_assert_eq(musc_prepare(&s, NULL, &b), 0);
    cr_assert_eq(log.calls, GK, "reported after the hook was removed");
    musc_state_free(&s);
    free(feats);
}
