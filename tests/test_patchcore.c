// PatchCore against tests/golden/membank/ (tests/gen/gen_membank.py: torch unfold +
// adaptive pooling, the coreset draws re-implemented in Python, float64 greedy and kNN,
// torch bilinear + scipy gaussian_filter).
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "coreset.h"
#include "upstream_rng.h"
#include "err.h"
#include "membank.h"
#include "method.h"
#include "npy.h"

extern const Method method_patchcore;

#define GOLD "tests/golden/membank/"

static NpyArray load(const char *name) {
    NpyArray a;
    char path[256];
    snprintf(path, sizeof path, GOLD "%s.npy", name);
    cr_assert_eq(npy_read(path, &a), 0, "%s", ad_last_error());
    return a;
}
static float *load_f32(const char *name, size_t *n) {
    NpyArray a = load(name);
    float *v = npy_as_f32(&a);
    if (n) *n = a.count;
    npy_free(&a);
    return v;
}
static double *load_f64(const char *name, size_t *n) {
    NpyArray a = load(name);
    double *v = npy_as_f64(&a);
    if (n) *n = a.count;
    npy_free(&a);
    return v;
}

static void assert_close(const float *got, const double *want, size_t n, double tol, const char *what) {
    for (size_t i = 0; i < n; i++)
        cr_assert(fabs(got[i] - want[i]) <= tol * fmax(1.0, fabs(want[i])), "%s[%zu]: got %.9g, want %.9g", what, i,
                  got[i], want[i]);
}

Test(patchcore, embedding_matches_torch_unfold_and_adaptive_pool) {
    const char *names[] = {"emb_a", "emb_b", "emb_c", "emb_d"};
    for (int c = 0; c < 4; c++) {
        char nm[64];
        snprintf(nm, sizeof nm, "pc_%s_cfg", names[c]);
        double *cfg = load_f64(nm, NULL);
        int gh = (int)cfg[0], gw = (int)cfg[1], L = (int)cfg[2], C = (int)cfg[3], ps = (int)cfg[4], pre = (int)cfg[5],
            tgt = (int)cfg[6];
        snprintf(nm, sizeof nm, "pc_%s_in", names[c]);
        float *x = load_f32(nm, NULL);
        snprintf(nm, sizeof nm, "pc_%s_out", names[c]);
        double *want = load_f64(nm, NULL);
        const float *layers[8];
        for (int l = 0; l < L; l++) layers[l] = x + (size_t)l * gh * gw * C;
        float *got = malloc((size_t)gh * gw * tgt * sizeof(float));
        patchcore_embed(got, layers, L, gh, gw, C, ps, pre, tgt);
        assert_close(got, want, (size_t)gh * gw * tgt, 1e-5, names[c]);
        free(got), free(want), free(x), free(cfg);
    }
}

// cs_*: splitmix64 draws (re-implemented in Python); csu_*: coreset_rng upstream against
// the real np.random.choice / torch.nn.Linear draws and upstream's float32 greedy loop.
Test(patchcore, coreset_draws_and_selection_match_python) {
    const char *names[] = {"cs_a", "cs_b", "cs_c", "csu_a", "csu_b", "csu_c", "csu_d"};
    for (int c = 0; c < 7; c++) {
        char nm[64];
        snprintf(nm, sizeof nm, "%s_cfg", names[c]);
        NpyArray ca = load(nm);
        int64_t *cfg = ca.data;
        long N = (long)cfg[0];
        int d = (int)cfg[1];
        int up = names[c][2] == 'u';
        CoresetConfig cc = {(int)cfg[2], (int)cfg[3], (uint64_t)cfg[4] | ((uint64_t)cfg[5] << 32),
                            up ? CORESET_RNG_UPSTREAM : CORESET_RNG_SPLITMIX64};
        snprintf(nm, sizeof nm, "%s_ratio", names[c]);
        double *ratio = load_f64(nm, NULL);
        snprintf(nm, sizeof nm, "%s_X", names[c]);
        float *X = load_f32(nm, NULL);
        snprintf(nm, sizeof nm, "%s_starts", names[c]);
        NpyArray st = load(nm);
        int starts[1024], ns;
        float *W;
        coreset_draws(starts, &ns, &W, N, d, &cc);
        cr_assert_eq(ns, (int)st.count);
        for (int i = 0; i < ns; i++) cr_assert_eq(starts[i], ((int32_t *)st.data)[i], "%s start %d", names[c], i);
        if (d != cc.proj_dim) {
            snprintf(nm, sizeof nm, "%s_W", names[c]);
            size_t nw;
            float *Wg = load_f32(nm, &nw);
            cr_assert_eq(nw, (size_t)cc.proj_dim * d);
            cr_assert(!memcmp(W, Wg, nw * sizeof(float)), "%s: projection matrix differs", names[c]);
            free(Wg);
        } else {
            cr_assert_null(W);
        }
        free(W);
        snprintf(nm, sizeof nm, "%s_sel", names[c]);
        NpyArray sa = load(nm);
        long nsel = coreset_count(N, ratio[0]);
        cr_assert_eq((size_t)nsel, sa.count, "%s: %ld selected, want %zu", names[c], nsel, sa.count);
        int *sel = malloc((size_t)nsel * sizeof(int));
        coreset_select(sel, X, N, d, nsel, &cc, NULL, NULL);
        for (long i = 0; i < nsel; i++)
            cr_assert_eq(sel[i], ((int32_t *)sa.data)[i], "%s: pick %ld is %d, want %d", names[c], i, sel[i],
                         ((int32_t *)sa.data)[i]);
        free(sel), npy_free(&sa), npy_free(&st), free(X), free(ratio), npy_free(&ca);
    }
}

// Both fast greedy loops (cluster pruning; head-lane skip with OpenMP argmax) are
// bit-identical to the naive loop, on
// awkward widths (D < 16, not a multiple of 16) and sizes (N < threads, N = 1), for 1 and 2
// threads.
Test(patchcore, coreset_fast_equals_reference) {
    int Ds[] = {1, 5, 16, 17, 37, 128};
    long Ns[] = {1, 3, 97, 1000};
    uint64_t st = 42;
    for (size_t a = 0; a < sizeof Ds / sizeof Ds[0]; a++)
        for (size_t b = 0; b < sizeof Ns / sizeof Ns[0]; b++) {
            int D = Ds[a];
            long N = Ns[b];
            // Points around 12 far-apart cluster centres, so that the head test skips most
            // full distances once every cluster has a pick (checked below).
            float *P = malloc((size_t)N * D * sizeof(float)), cen[12][128];
            for (int c = 0; c < 12; c++)
                for (int k = 0; k < D; k++) cen[c][k] = (float)(splitmix64_uniform(&st) * 40 - 20);
            for (long i = 0; i < N; i++)
                for (int k = 0; k < D; k++) P[i * D + k] = cen[i % 12][k] + (float)(splitmix64_uniform(&st) * 2 - 1);
            if (N > 10) memcpy(P + 5 * D, P + 2 * D, (size_t)D * sizeof(float));  // a duplicate point: ties
            long nsel = N < 60 ? N : 60;
            int starts[10], ns;
            float *W;
            CoresetConfig cc = {D, 10, 7, CORESET_RNG_SPLITMIX64};
            coreset_draws(starts, &ns, &W, N, D, &cc);
            int *r = malloc((size_t)nsel * sizeof(int)), *f = malloc((size_t)nsel * sizeof(int));
            coreset_greedy_ref(r, P, N, D, nsel, starts, ns);
            long fc = coreset_greedy(f, P, N, D, nsel, starts, ns);
            for (long i = 0; i < nsel; i++)
                cr_assert_eq(f[i], r[i], "cluster-pruned D=%d N=%ld pick %ld: %d vs ref %d", D, N, i, f[i], r[i]);
            if (N == 1000)
                cr_assert_lt(fc, (nsel - 1) * N / 4, "D=%d: the cluster pruning skipped only %ld of %ld", D,
                             (nsel - 1) * N - fc, (nsel - 1) * N);
            coreset_parallel_min = 1;  // take the OpenMP path even on these small banks
            for (int t = 1; t <= 2; t++) {
                omp_set_num_threads(t);
                memset(f, 0xff, (size_t)nsel * sizeof(int));
                long full = coreset_greedy_scan(f, P, N, D, nsel, starts, ns);
                if (N == 1000 && D >= 16)
                    cr_assert_lt(full, (nsel - 1) * N / 2, "D=%d: the head test skipped only %ld of %ld", D,
                                 (nsel - 1) * N - full, (nsel - 1) * N);
                for (long i = 0; i < nsel; i++)
                    cr_assert_eq(f[i], r[i], "scan D=%d N=%ld threads=%d pick %ld: %d vs ref %d", D, N, t, i, f[i], r[i]);
            }
            coreset_parallel_min = 32768;
            omp_set_num_threads(2);
            free(r), free(f), free(P);
        }
}

typedef struct {
    FeatureBatch tr, te;
    float *trd, *ted;
    const float **trp, **tep;
} RunData;

static void run_data(RunData *d) {
    int L = 2, gh = 5, gw = 6, C = 12, P = gh * gw;
    d->trd = load_f32("pc_run_train", NULL);
    d->ted = load_f32("pc_run_test", NULL);
    d->trp = malloc(8 * sizeof(float *));
    d->tep = malloc(6 * sizeof(float *));
    for (int i = 0; i < 8; i++) d->trp[i] = d->trd + (size_t)i * L * P * C;
    for (int i = 0; i < 6; i++) d->tep[i] = d->ted + (size_t)i * L * P * C;
    d->tr = (FeatureBatch){8, L, gh, gw, C, d->trp, 0, NULL, {{0}}};
    d->te = (FeatureBatch){6, L, gh, gw, C, d->tep, 0, NULL, {{0}}};
}
static void run_data_free(RunData *d) { free(d->trd), free(d->ted), free(d->trp), free(d->tep); }

static void set_run_params(Params *p) {
    *p = (Params){method_patchcore.params, 0, NULL, NULL};
    cr_assert_eq(params_set(p, "pre_dim", "16"), 0);
    cr_assert_eq(params_set(p, "target_dim", "12"), 0);
    cr_assert_eq(params_set(p, "coreset_ratio", "0.25"), 0);
    cr_assert_eq(params_set(p, "proj_dim", "8"), 0);
    cr_assert_eq(params_set(p, "coreset_seed", "3"), 0);
    cr_assert_eq(params_set(p, "num_nn", "3"), 0);
    cr_assert_eq(params_set(p, "coreset_rng", "splitmix64"), 0);  // pc_run_* golden
}

Test(patchcore, end_to_end_scores_and_threads) {
    RunData d;
    run_data(&d);
    Params p;
    set_run_params(&p);
    MethodContext ctx = {.category = "synthetic", .score_size = 224, .quiet = 1};
    double *want_patch = load_f64("pc_run_patch", NULL), *want_img = load_f64("pc_run_image", NULL);
    MethodOutput o[2];
    for (int t = 1; t <= 2; t++) {
        omp_set_num_threads(t);
        openblas_set_num_threads(t);
        memset(&o[t - 1], 0, sizeof o[0]);
        cr_assert_eq(method_patchcore.run(&p, &d.te, &d.tr, &ctx, &o[t - 1]), 0, "%s", ad_last_error());
        assert_close(o[t - 1].maps, want_patch, 6 * 30, 1e-5, "patch score");
        assert_close(o[t - 1].image_score, want_img, 6, 1e-5, "image score");
    }
    cr_assert(!memcmp(o[0].maps, o[1].maps, 6 * 30 * sizeof(float)), "maps differ between 1 and 2 threads");
    cr_assert(!memcmp(o[0].image_score, o[1].image_score, 6 * sizeof(float)));
    cr_assert_eq(o[0].half_pixel, 1);
    cr_assert_eq(o[0].smooth_sigma, 4.0);
    // The planted anomaly (test image 2) scores highest.
    for (int i = 0; i < 6; i++)
        if (i != 2) cr_assert_gt(o[0].image_score[2], o[0].image_score[i]);
    // Runner-side post-processing: bilinear (align_corners=False) to 20x24, sigma 2.
    double *want_s = load_f64("pc_run_smooth", NULL);
    float *sm = malloc(20 * 24 * sizeof(float));
    membank_map_to_resolution(sm, 20, 24, o[0].maps + 2 * 30, 5, 6, 2.0);
    assert_close(sm, want_s, 20 * 24, 1e-5, "smoothed map");
    free(sm), free(want_s);
    method_output_free(&o[0]);
    method_output_free(&o[1]);
    free(want_patch), free(want_img);
    params_free(&p);
    run_data_free(&d);
}

// coreset_ratio 1 keeps every train patch (upstream's IdentitySampler path): scores are the
// exact nearest-neighbour distances, checked against the naive kernel here.
Test(patchcore, ratio_one_keeps_the_whole_bank) {
    RunData d;
    run_data(&d);
    Params p;
    set_run_params(&p);
    cr_assert_eq(params_set(&p, "coreset_ratio", "1"), 0);
    cr_assert_eq(params_set(&p, "num_nn", "1"), 0);
    MethodContext ctx = {.category = "synthetic", .quiet = 1};
    MethodOutput o = {0};
    cr_assert_eq(method_patchcore.run(&p, &d.te, &d.tr, &ctx, &o), 0, "%s", ad_last_error());
    float *bank = malloc((size_t)8 * 30 * 12 * sizeof(float)), *q = malloc((size_t)6 * 30 * 12 * sizeof(float));
    for (int i = 0; i < 8; i++) {
        const float *ly[2] = {d.trp[i], d.trp[i] + 30 * 12};
        patchcore_embed(bank + (size_t)i * 30 * 12, ly, 2, 5, 6, 12, 3, 16, 12);
    }
    for (int i = 0; i < 6; i++) {
        const float *ly[2] = {d.tep[i], d.tep[i] + 30 * 12};
        patchcore_embed(q + (size_t)i * 30 * 12, ly, 2, 5, 6, 12, 3, 16, 12);
    }
    for (int r = 0; r < 180; r++) {
        double best = INFINITY;
        for (int b = 0; b < 240; b++) {
            double s = 0;
            for (int c = 0; c < 12; c++) {
                double t = (double)q[r * 12 + c] - bank[b * 12 + c];
                s += t * t;
            }
            if (s < best) best = s;
        }
        cr_assert(fabs(o.maps[r] - best) <= 1e-5 * fmax(1, best), "patch %d: %g vs %g", r, o.maps[r], best);
    }
    free(bank), free(q);
    method_output_free(&o);
    params_free(&p);
    run_data_free(&d);
}

Test(patchcore, bad_inputs_name_the_key) {
    RunData d;
    run_data(&d);
    Params p;
    set_run_params(&p);
    MethodContext ctx = {.category = "screw", .quiet = 1};
    MethodOutput o = {0};
    cr_assert_eq(method_patchcore.run(&p, &d.te, NULL, &ctx, &o), -1);
    cr_assert(strstr(ad_last_error(), "screw") && strstr(ad_last_error(), "train"), "%s", ad_last_error());
    cr_assert_eq(params_set(&p, "coreset_ratio", "0.001"), 0);
    cr_assert_eq(method_patchcore.run(&p, &d.te, &d.tr, &ctx, &o), -1);
    cr_assert(strstr(ad_last_error(), "coreset_ratio") && strstr(ad_last_error(), "Fix"), "%s", ad_last_error());
    cr_assert_eq(params_set(&p, "coreset_ratio", "0.1"), 0);
    cr_assert_eq(params_set(&p, "patchsize", "4"), 0);
    cr_assert_eq(method_patchcore.run(&p, &d.te, &d.tr, &ctx, &o), -1);
    cr_assert(strstr(ad_last_error(), "patchsize"), "%s", ad_last_error());
    cr_assert_eq(params_set(&p, "patchsize", "3"), 0);
    cr_assert_eq(params_set(&p, "layers", "[0, 2]"), 0);
    cr_assert_eq(method_patchcore.run(&p, &d.te, &d.tr, &ctx, &o), -1);
    cr_assert(strstr(ad_last_error(), "'layers'") && strstr(ad_last_error(), "2"), "%s", ad_last_error());
    cr_assert_eq(params_set(&p, "coreset_ratio", "1.5"), -1);
    cr_assert(strstr(ad_last_error(), "coreset_ratio"), "%s", ad_last_error());
    FeatureBatch other = d.tr;
    other.dim = 11;
    cr_assert_eq(method_patchcore.run(&p, &d.te, &other, &ctx, &o), -1);
    cr_assert(strstr(ad_last_error(), "layout"), "%s", ad_last_error());
    cr_assert_null(o.maps);
    params_free(&p);
    run_data_free(&d);
}

Test(patchcore, few_shot_slice) {
    int lo, hi;
    cr_assert_eq(membank_shot_range(&lo, &hi, 10, 0, 3, "bottle"), 0);
    cr_assert(lo == 0 && hi == 10);
    cr_assert_eq(membank_shot_range(&lo, &hi, 10, 4, 0, "bottle"), 0);
    cr_assert(lo == 0 && hi == 4);
    cr_assert_eq(membank_shot_range(&lo, &hi, 10, 4, 1, "bottle"), 0);
    cr_assert(lo == 4 && hi == 8);
    cr_assert_eq(membank_shot_range(&lo, &hi, 10, 4, 2, "bottle"), -1);
    cr_assert(strstr(ad_last_error(), "bottle") && strstr(ad_last_error(), "[8, 12)") && strstr(ad_last_error(), "10"),
              "%s", ad_last_error());
    cr_assert_eq(membank_shot_range(&lo, &hi, 0, 0, 0, "bottle"), -1);
}

// The 32-bit Mersenne Twister words numpy's legacy RandomState (and torch's CPU generator)
// draw after seeding, for seeds 0, 5489 and 2^32-1.
Test(patchcore, mt19937_matches_numpy_words) {
    NpyArray a = load("mt_raw");
    cr_assert_eq(a.count, 3000);
    uint32_t seeds[3] = {0, 5489, 4294967295u};
    for (int s = 0; s < 3; s++) {
        Mt19937 r;
        mt19937_seed(&r, seeds[s]);
        for (int i = 0; i < 1000; i++) {
            uint32_t w = mt19937_next(&r), g = (uint32_t)((int64_t *)a.data)[s * 1000 + i];
            cr_assert_eq(w, g, "seed %u word %d: %u vs %u", seeds[s], i, w, g);
        }
    }
    npy_free(&a);
}

// End to end with the default coreset_rng (upstream) against upstream's sampler semantics.
Test(patchcore, end_to_end_upstream_draws) {
    RunData d;
    run_data(&d);
    Params p;
    set_run_params(&p);
    cr_assert_eq(params_set(&p, "coreset_rng", "upstream"), 0);
    MethodContext ctx = {.category = "synthetic", .score_size = 224, .quiet = 1};
    double *want_patch = load_f64("pc_runu_patch", NULL), *want_img = load_f64("pc_runu_image", NULL);
    double *old = load_f64("pc_run_patch", NULL);
    MethodOutput o = {0};
    cr_assert_eq(method_patchcore.run(&p, &d.te, &d.tr, &ctx, &o), 0, "%s", ad_last_error());
    assert_close(o.maps, want_patch, 6 * 30, 1e-5, "patch score");
    assert_close(o.image_score, want_img, 6, 1e-5, "image score");
    int diff = 0;  // the two streams pick differently here, so the golden separates them
    for (int r = 0; r < 6 * 30; r++) diff += fabs(old[r] - want_patch[r]) > 1e-4;
    cr_assert_gt(diff, 0);
    cr_assert_eq(params_set(&p, "coreset_rng", "torch"), 0);
    MethodOutput o2 = {0};
    cr_assert_eq(method_patchcore.run(&p, &d.te, &d.tr, &ctx, &o2), -1);
    cr_assert(strstr(ad_last_error(), "'coreset_rng'") && strstr(ad_last_error(), "torch"), "%s", ad_last_error());
    method_output_free(&o);
    free(want_patch), free(want_img), free(old);
    params_free(&p);
    run_data_free(&d);
}
