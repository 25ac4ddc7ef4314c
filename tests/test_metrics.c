// Metrics: golden cases against sklearn / numpy re-implementations of the official MVTec
// AU-PRO and MuSc's PRO (tests/gen/gen_metrics.py), C API and CLI; fast vs naive references;
// a brute-force Mann-Whitney cross-check; degenerate inputs; every bad input's message.
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "metrics.h"
#include "npy.h"
#include "util_test.h"

#define GOLD "tests/golden/metrics"

static const char *CASES[] = {"random", "heavy_ties", "single_region", "diagonal", "one_image",
                              "all_equal", "float64", "multi", "musc201"};
#define NCASES (int)(sizeof CASES / sizeof CASES[0])
static const double LIMITS[] = {0.3, 0.05, 1.0};

// ---- expected.txt: "name value" lines
typedef struct { char name[64]; double v; } Kv;
typedef struct { Kv kv[64]; int n; } Expected;

static Expected load_expected(const char *cs) {
    Expected e = {.n = 0};
    char *p = ad_sprintf(GOLD "/%s/expected.txt", cs);
    FILE *f = fopen(p, "r");
    cr_assert(f, "cannot open %s", p);
    char val[64];
    while (e.n < 64 && fscanf(f, "%63s %63s", e.kv[e.n].name, val) == 2) e.kv[e.n++].v = strtod(val, NULL);
    fclose(f);
    free(p);
    return e;
}
static double ex(const Expected *e, const char *name) {
    for (int i = 0; i < e->n; i++)
        if (!strcmp(e->kv[i].name, name)) return e->kv[i].v;
    cr_assert_fail("expected value '%s' missing", name);
    return NAN;
}

// Criterion reports every assertion to its runner (slow in loops): assert only on failure.
#define CHECK(cond, ...) do { if (!(cond)) cr_assert_fail(__VA_ARGS__); } while (0)

static void close_to(double got, double want, double tol, const char *what, const char *cs) {
    if (isnan(want)) {
        CHECK(isnan(got), "%s/%s: expected NaN, got %.17g", cs, what, got);
        return;
    }
    CHECK(fabs(got - want) <= tol, "%s/%s: got %.17g, want %.17g (diff %.3g > %.1g)", cs, what, got, want,
          fabs(got - want), tol);
}

// ---- a golden case in memory
typedef struct {
    int n;
    uint8_t *labels;
    double *scores;
    NpyArray masks, maps;          // (N,H,W) or flat
    int *h, *w;
    const uint8_t **mk;
    const void **mp;
    int is64;
} Case;

static void load_npy(const char *cs, const char *file, NpyArray *a) {
    char *p = ad_sprintf(GOLD "/%s/%s", cs, file);
    cr_assert_eq(npy_read(p, a), 0, "%s", ad_last_error());
    free(p);
}

static Case load_case(const char *cs, int mixed) {
    Case c = {0};
    NpyArray L, S;
    load_npy(cs, "labels.npy", &L);
    load_npy(cs, "scores.npy", &S);
    c.n = (int)L.count;
    c.labels = malloc(L.count);
    double *lf = npy_as_f64(&L);
    for (int i = 0; i < c.n; i++) c.labels[i] = lf[i] != 0;
    free(lf);
    c.scores = npy_as_f64(&S);
    npy_free(&L), npy_free(&S);
    c.h = malloc(c.n * sizeof(int)), c.w = malloc(c.n * sizeof(int));
    c.mk = malloc(c.n * sizeof *c.mk), c.mp = malloc(c.n * sizeof *c.mp);
    if (mixed) {
        NpyArray sh;
        load_npy(cs, "shapes.npy", &sh);
        load_npy(cs, "masks_flat.npy", &c.masks);
        load_npy(cs, "maps_flat.npy", &c.maps);
        const int64_t *s = sh.data;
        size_t off = 0;
        for (int k = 0; k < c.n; k++) c.h[k] = (int)s[2 * k], c.w[k] = (int)s[2 * k + 1];
        c.is64 = c.maps.dtype == NPY_F64;
        for (int k = 0; k < c.n; k++) {
            c.mk[k] = (const uint8_t *)c.masks.data + off;
            c.mp[k] = (const char *)c.maps.data + off * npy_dtype_size(c.maps.dtype);
            off += (size_t)c.h[k] * c.w[k];
        }
        cr_assert_eq(off, c.maps.count);
        npy_free(&sh);
    } else {
        load_npy(cs, "masks.npy", &c.masks);
        load_npy(cs, "maps.npy", &c.maps);
        c.is64 = c.maps.dtype == NPY_F64;
        size_t hw = (size_t)c.maps.shape[1] * c.maps.shape[2];
        for (int k = 0; k < c.n; k++) {
            c.h[k] = (int)c.maps.shape[1], c.w[k] = (int)c.maps.shape[2];
            c.mk[k] = (const uint8_t *)c.masks.data + k * hw;
            c.mp[k] = (const char *)c.maps.data + k * hw * npy_dtype_size(c.maps.dtype);
        }
    }
    return c;
}

static void free_case(Case *c) {
    free(c->labels), free(c->scores), free(c->h), free(c->w), free(c->mk), free(c->mp);
    npy_free(&c->masks), npy_free(&c->maps);
}

static double **maps_as_f64(const Case *c) {
    double **d = malloc(c->n * sizeof *d);
    for (int k = 0; k < c->n; k++) {
        size_t hw = (size_t)c->h[k] * c->w[k];
        d[k] = malloc((hw + 1) * sizeof **d);
        for (size_t i = 0; i < hw; i++)
            d[k][i] = c->is64 ? ((const double *)c->mp[k])[i] : (double)((const float *)c->mp[k])[i];
    }
    return d;
}

static int run_pixel(const Case *c, double L, PixelMetrics *pm) {
    if (c->is64) return metrics_pixel_f64(c->mk, (const double *const *)c->mp, c->h, c->w, c->n, L, pm);
    return metrics_pixel(c->mk, (const float *const *)c->mp, c->h, c->w, c->n, L, pm);
}

static void check_case_api(const char *cs, int mixed) {
    Expected e = load_expected(cs);
    Case c = load_case(cs, mixed);
    BinaryMetrics im;
    cr_assert_eq(metrics_image(c.labels, c.scores, c.n, &im), 0, "%s", ad_last_error());
    close_to(im.auroc, ex(&e, "image_auroc"), 1e-9, "image_auroc", cs);
    close_to(im.ap, ex(&e, "image_ap"), 1e-9, "image_ap", cs);
    close_to(im.f1max, ex(&e, "image_f1max"), 1e-9, "image_f1max", cs);
    close_to(im.f1_threshold, ex(&e, "image_f1thr"), 0, "image_f1thr", cs);
    // regions: 8-connected, pooled
    int nreg = 0;
    for (int k = 0; k < c.n; k++) {
        int32_t *lab = malloc(((size_t)c.h[k] * c.w[k] + 1) * sizeof *lab);
        nreg += metrics_label_regions(lab, c.mk[k], c.h[k], c.w[k]);
        free(lab);
    }
    cr_assert_eq(nreg, (int)ex(&e, "n_regions"), "%s: %d regions, want %g", cs, nreg, ex(&e, "n_regions"));
    double **d = maps_as_f64(&c);
    for (int li = 0; li < 3; li++) {
        double L = LIMITS[li];
        char k1[64], k2[64], k3[64];
        snprintf(k1, 64, "pixel_aupro@%g", L), snprintf(k2, 64, "pixel_aupro_f32@%g", L);
        snprintf(k3, 64, "pixel_aupro_musc@%g", L);
        if (L == 1.0) snprintf(k1, 64, "pixel_aupro@1.0"), snprintf(k2, 64, "pixel_aupro_f32@1.0"), snprintf(k3, 64, "pixel_aupro_musc@1.0");
        PixelMetrics pm, pn;
        CHECK(run_pixel(&c, L, &pm) == 0, "%s", ad_last_error());
        CHECK(metrics_pixel_naive(c.mk, (const double *const *)d, c.h, c.w, c.n, L, &pn) == 0, "%s", ad_last_error());
        for (int v = 0; v < 2; v++) {
            const PixelMetrics *p = v ? &pn : &pm;
            const char *tag = v ? "naive" : "fast";
            char what[96];
            snprintf(what, 96, "%s pixel_auroc", tag), close_to(p->auroc, ex(&e, "pixel_auroc"), 1e-9, what, cs);
            snprintf(what, 96, "%s pixel_ap", tag), close_to(p->ap, ex(&e, "pixel_ap"), 1e-9, what, cs);
            snprintf(what, 96, "%s pixel_f1max", tag), close_to(p->f1max, ex(&e, "pixel_f1max"), 1e-9, what, cs);
            snprintf(what, 96, "%s pixel_f1thr", tag), close_to(p->f1_threshold, ex(&e, "pixel_f1thr"), 0, what, cs);
            snprintf(what, 96, "%s %s", tag, k1), close_to(p->aupro, ex(&e, k1), 1e-9, what, cs);
            snprintf(what, 96, "%s %s", tag, k2), close_to(p->aupro, ex(&e, k2), 1e-6, what, cs);
            snprintf(what, 96, "%s %s", tag, k3), close_to(p->aupro_musc, ex(&e, k3), 1e-9, what, cs);
        }
    }
    for (int k = 0; k < c.n; k++) free(d[k]);
    free(d);
    free_case(&c);
}

Test(metrics, golden_api) {
    for (int i = 0; i < NCASES; i++) check_case_api(CASES[i], 0);
}

Test(metrics, golden_mixed_sizes) { check_case_api("mixed_sizes", 1); }

// MuSc thresholds: the generator picked a case where np.arange gives 201 of them
Test(metrics, golden_musc_201_thresholds) {
    Expected e = load_expected("musc201");
    cr_assert_eq(ex(&e, "musc_thresholds"), 201);
    e = load_expected("random");
    cr_assert_eq(ex(&e, "musc_thresholds"), 200);
}

// ---- CLI on the same cases: header, column order, %.12g values, "nan"
static const char *COLS[] = {"image_auroc", "image_ap", "image_f1max", "pixel_auroc", "pixel_ap",
                             "pixel_f1max", "pixel_aupro@L", "pixel_aupro_musc@L"};

static void check_cli(const char *cs, double L) {
    Expected e = load_expected(cs);
    char *args = ad_sprintf("metrics --labels " GOLD "/%s/labels.npy --scores " GOLD "/%s/scores.npy --masks " GOLD
                            "/%s/masks.npy --maps " GOLD "/%s/maps.npy%s%s",
                            cs, cs, cs, cs, L == 0.3 ? "" : " --pro-limit ", L == 0.3 ? "" : (L == 1.0 ? "1" : "0.05"));
    char *out, *err;
    int rc = run_adbench(args, &out, &err);
    cr_assert_eq(rc, 0, "%s: rc %d, stderr: %s", cs, rc, err);
    const char *hdr = "image_auroc,image_ap,image_f1max,pixel_auroc,pixel_ap,pixel_f1max,pixel_aupro,pixel_aupro_musc\n";
    cr_assert(!strncmp(out, hdr, strlen(hdr)), "%s: header '%s'", cs, out);
    char *p = out + strlen(hdr);
    for (int i = 0; i < 8; i++) {
        char *end;
        double v = strtod(p, &end);
        cr_assert(end != p, "%s: column %d unparsable in '%s'", cs, i, out);
        char name[64];
        if (i >= 6) snprintf(name, 64, i == 6 ? "pixel_aupro@%s" : "pixel_aupro_musc@%s", L == 0.3 ? "0.3" : L == 1.0 ? "1.0" : "0.05");
        else snprintf(name, 64, "%s", COLS[i]);
        double want = ex(&e, name);
        if (isnan(want)) cr_assert(!strncmp(p, "nan", 3), "%s: %s printed '%.5s', want nan", cs, name, p);
        else close_to(v, want, 1e-11, name, cs);  // %.12g of values in [0,1]
        cr_assert_eq(*end, i == 7 ? '\n' : ',', "%s: separator after column %d", cs, i);
        p = end + 1;
    }
    cr_assert_eq(*p, 0, "%s: trailing output '%s'", cs, p);
    free(out), free(err), free(args);
}

Test(metrics, golden_cli) {
    for (int i = 0; i < NCASES; i++) check_cli(CASES[i], 0.3);
    check_cli("multi", 0.05);
    check_cli("random", 1.0);
}

Test(metrics, cli_image_only) {
    char *out, *err;
    int rc = run_adbench("metrics --labels " GOLD "/heavy_ties/labels.npy --scores " GOLD "/heavy_ties/scores.npy", &out, &err);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert_str_eq(out, "image_auroc,image_ap,image_f1max\n0.75,0.854166666667,0.8\n");
    free(out), free(err);
}

// ---- connected components
static uint64_t rng_state = 88172645463325252ull;
static uint64_t rnd(void) {
    rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
    return rng_state;
}

Test(metrics, label_regions_fast_equals_flood_fill) {
    for (int it = 0; it < 300; it++) {
        int h = 1 + (int)(rnd() % 40), w = 1 + (int)(rnd() % 40);
        int dens = (int)(rnd() % 100);
        size_t hw = (size_t)h * w;
        uint8_t *m = malloc(hw);
        for (size_t i = 0; i < hw; i++) m[i] = (int)(rnd() % 100) < dens ? (uint8_t)(1 + rnd() % 255) : 0;
        int32_t *a = malloc(hw * 4), *b = malloc(hw * 4);
        int na = metrics_label_regions(a, m, h, w), nb = metrics_label_regions_naive(b, m, h, w);
        CHECK(na == nb, "%dx%d density %d: %d vs %d regions", h, w, dens, na, nb);
        CHECK(!memcmp(a, b, hw * 4), "%dx%d: label images differ", h, w);
        free(m), free(a), free(b);
    }
}

Test(metrics, label_regions_diagonal_is_one_region) {
    uint8_t m[16] = {1, 0, 0, 0,
                     0, 1, 0, 0,
                     0, 0, 1, 0,
                     0, 0, 0, 1};
    int32_t lab[16];
    cr_assert_eq(metrics_label_regions(lab, m, 4, 4), 1);
    uint8_t v[12] = {0, 1, 0, 1,  // a V: two arms joined only at the bottom, labelled early apart
                     0, 1, 0, 1,
                     0, 0, 1, 0};
    int32_t lv[12];
    cr_assert_eq(metrics_label_regions(lv, v, 3, 4), 1);
    cr_assert_eq(lv[1], 1);
    cr_assert_eq(lv[3], 1);
    cr_assert_eq(lv[10], 1);
}

// ---- brute-force cross-checks
static double mann_whitney(const uint8_t *y, const double *s, int n) {
    double u = 0;
    long P = 0, N = 0;
    for (int i = 0; i < n; i++) P += y[i] != 0, N += y[i] == 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            if (y[i] && !y[j]) u += s[i] > s[j] ? 1 : s[i] == s[j] ? 0.5 : 0;
    return (P && N) ? u / ((double)P * N) : NAN;
}

Test(metrics, auroc_equals_mann_whitney_with_ties) {
    for (int it = 0; it < 200; it++) {
        int n = 1 + (int)(rnd() % 60), levels = 1 + (int)(rnd() % 8);
        uint8_t *y = malloc(n);
        double *s = malloc(n * sizeof *s);
        float *sf = malloc(n * sizeof *sf);
        for (int i = 0; i < n; i++) {
            y[i] = rnd() % 3 == 0;
            s[i] = (double)(rnd() % levels) / levels - 0.3 + 0.2 * y[i];
            if (rnd() % 5 == 0) s[i] = -0.0;  // -0 ties with +0
            sf[i] = (float)s[i];
            s[i] = sf[i];
        }
        BinaryMetrics b;
        CHECK(metrics_image(y, s, n, &b) == 0, "%s", ad_last_error());
        double want = mann_whitney(y, s, n);
        close_to(b.auroc, want, 1e-12, "image auroc vs Mann-Whitney", "random");
        // the same numbers as one 1 x n "image" through the pixel path
        PixelMetrics pm;
        const uint8_t *mk[1] = {y};
        const float *mp[1] = {sf};
        int h = 1, w = n;
        CHECK(metrics_pixel(mk, mp, &h, &w, 1, 0.3, &pm) == 0, "%s", ad_last_error());
        close_to(pm.auroc, want, 1e-12, "pixel auroc vs Mann-Whitney", "random");
        close_to(pm.ap, b.ap, 1e-12, "pixel ap vs image ap", "random");
        close_to(pm.f1max, b.f1max, 1e-15, "pixel f1 vs image f1", "random");
        close_to(pm.f1_threshold, b.f1_threshold, 0, "pixel f1 thr vs image", "random");
        free(y), free(s), free(sf);
    }
}

// Random maps of random (mixed) sizes, float32 and float64, heavy and light ties: fast == naive.
Test(metrics, pixel_fast_equals_naive) {
    for (int it = 0; it < 60; it++) {
        int n = 1 + (int)(rnd() % 6), is64 = it % 2, levels = (it % 3 == 0) ? 5 : 1 << 20;
        int *h = malloc(n * sizeof *h), *w = malloc(n * sizeof *w);
        uint8_t **mk = malloc(n * sizeof *mk);
        float **mf = malloc(n * sizeof *mf);
        double **md = malloc(n * sizeof *md);
        for (int k = 0; k < n; k++) {
            h[k] = 1 + (int)(rnd() % 20), w[k] = 1 + (int)(rnd() % 20);
            size_t hw = (size_t)h[k] * w[k];
            mk[k] = malloc(hw), mf[k] = malloc(hw * 4), md[k] = malloc(hw * 8);
            int cy = (int)(rnd() % h[k]), cx = (int)(rnd() % w[k]), r = (int)(rnd() % 5), pos = rnd() % 3 != 0;
            for (size_t i = 0; i < hw; i++) {
                int y = (int)(i / w[k]), x = (int)(i % w[k]);
                mk[k][i] = pos && (y - cy) * (y - cy) + (x - cx) * (x - cx) <= r * r;
                if (rnd() % 50 == 0) mk[k][i] = 1;
                double v = (double)(rnd() % levels) / levels + 0.5 * mk[k][i];
                if (is64) v += (double)(rnd() % 3) * 1e-13;  // ties only in float32
                md[k][i] = is64 ? v : (double)(float)v;
                mf[k][i] = (float)v;
            }
        }
        PixelMetrics a, b;
        int e1 = is64 ? metrics_pixel_f64((const uint8_t *const *)mk, (const double *const *)md, h, w, n, 0.3, &a)
                      : metrics_pixel((const uint8_t *const *)mk, (const float *const *)mf, h, w, n, 0.3, &a);
        CHECK(e1 == 0, "%s", ad_last_error());
        CHECK(metrics_pixel_naive((const uint8_t *const *)mk, (const double *const *)md, h, w, n, 0.3, &b) == 0, "naive failed");
        close_to(a.auroc, b.auroc, 1e-12, "auroc", "fast vs naive");
        close_to(a.ap, b.ap, 1e-12, "ap", "fast vs naive");
        close_to(a.f1max, b.f1max, 1e-12, "f1max", "fast vs naive");
        close_to(a.f1_threshold, b.f1_threshold, 0, "f1thr", "fast vs naive");
        close_to(a.aupro, b.aupro, 1e-12, "aupro", "fast vs naive");
        close_to(a.aupro_musc, b.aupro_musc, 1e-12, "aupro_musc", "fast vs naive");
        for (int k = 0; k < n; k++) free(mk[k]), free(mf[k]), free(md[k]);
        free(mk), free(mf), free(md), free(h), free(w);
    }
}

// Buckets of >= 65536 negatives take the counting-sort branch: one bucket (top 16 key bits
// shared: 0.5 + k * 2^-24) with many distinct values, and one with 3 values only.
Test(metrics, pixel_big_buckets_equal_naive) {
    enum { H = 300, W = 300 };
    uint8_t *m = malloc(H * W);
    float *a = malloc(H * W * sizeof *a);
    double *d = malloc(H * W * sizeof *d);
    for (int variant = 0; variant < 2; variant++) {
        for (int i = 0; i < H * W; i++) {
            int y = i / W, x = i % W;
            m[i] = (y - 100) * (y - 100) + (x - 120) * (x - 120) < 400 || (y > 250 && x == 17);
            uint32_t k = variant ? (uint32_t)(rnd() % 3) * 20000 : (uint32_t)(rnd() % 65536);
            if (m[i]) k = k / 2 + 30000;
            a[i] = 0.5f + (float)k * 0x1p-24f;
            d[i] = a[i];
        }
        const uint8_t *mk[1] = {m};
        const float *mp[1] = {a};
        const double *md[1] = {d};
        int h = H, w = W;
        PixelMetrics f, n;
        cr_assert_eq(metrics_pixel(mk, mp, &h, &w, 1, 0.3, &f), 0);
        cr_assert_eq(metrics_pixel_naive(mk, md, &h, &w, 1, 0.3, &n), 0);
        close_to(f.auroc, n.auroc, 1e-12, "auroc", "big buckets");
        close_to(f.ap, n.ap, 1e-12, "ap", "big buckets");
        close_to(f.f1max, n.f1max, 1e-12, "f1max", "big buckets");
        close_to(f.f1_threshold, n.f1_threshold, 0, "f1thr", "big buckets");
        close_to(f.aupro, n.aupro, 1e-12, "aupro", "big buckets");
        close_to(f.aupro_musc, n.aupro_musc, 1e-12, "aupro_musc", "big buckets");
        cr_assert(f.auroc > 0.5 && f.auroc < 1);
    }
    free(m), free(a), free(d);
}

// Same results, bit for bit, for 1, 2 and 3 threads. Big enough (5e5 pixels, half of them
// anomalous) that every parallel region really runs in parallel.
Test(metrics, deterministic_across_threads) {
    enum { n = 32, H = 128, W = 128 };
    size_t hw = (size_t)H * W;
    uint8_t *mbuf = malloc(n * hw);
    float *abuf = malloc(n * hw * 4);
    const uint8_t *mk[n];
    const float *mp[n];
    int h[n], w[n];
    for (int k = 0; k < n; k++) {
        for (size_t i = 0; i < hw; i++) {
            int y = (int)(i / W), x = (int)(i % W);
            mbuf[k * hw + i] = (k % 8) && abs(y - 40 - k) < 40 + k && abs(x - 2 * k - 30) < 40;
            abuf[k * hw + i] = (float)((rnd() % 100000) * 1e-5 + 0.3 * mbuf[k * hw + i]);
        }
        mk[k] = mbuf + k * hw, mp[k] = abuf + k * hw, h[k] = H, w[k] = W;
    }
    PixelMetrics r[3];
    for (int t = 1; t <= 3; t++) {
        omp_set_num_threads(t);
        cr_assert_eq(metrics_pixel(mk, mp, h, w, n, 0.3, &r[t - 1]), 0);
    }
    cr_assert(!memcmp(&r[0], &r[1], sizeof r[0]) && !memcmp(&r[0], &r[2], sizeof r[0]), "thread count changes the result");
    cr_assert(r[0].aupro > 0 && r[0].aupro < 1 && r[0].aupro_musc > 0);
    // float64 path too
    double *dbuf = malloc(n * hw * 8);
    const double *md[n];
    for (size_t i = 0; i < n * hw; i++) dbuf[i] = abuf[i] + (double)(i % 3) * 1e-12;
    for (int k = 0; k < n; k++) md[k] = dbuf + k * hw;
    for (int t = 1; t <= 3; t++) {
        omp_set_num_threads(t);
        cr_assert_eq(metrics_pixel_f64(mk, md, h, w, n, 0.3, &r[t - 1]), 0);
    }
    cr_assert(!memcmp(&r[0], &r[1], sizeof r[0]) && !memcmp(&r[0], &r[2], sizeof r[0]), "thread count changes the f64 result");
    free(mbuf), free(abuf), free(dbuf);
}

// ---- degenerate inputs: NaN for the affected metric, never 0, never a crash
Test(metrics, degenerate_inputs) {
    BinaryMetrics b;
    uint8_t y0[4] = {0, 0, 0, 0}, y1[4] = {1, 1, 1, 1};
    double s[4] = {0.1, 0.2, 0.2, 0.4};
    cr_assert_eq(metrics_image(y0, s, 4, &b), 0);
    cr_assert(isnan(b.auroc) && isnan(b.ap) && isnan(b.f1max) && isnan(b.f1_threshold));
    cr_assert_eq(metrics_image(y1, s, 4, &b), 0);
    cr_assert(isnan(b.auroc));
    cr_assert_eq(b.ap, 1.0);
    cr_assert_eq(b.f1max, 1.0);
    cr_assert_eq(b.f1_threshold, 0.1);
    // sklearn's documented example: y=[0,0,1,1], s=[.1,.5,.5,.9] -> 0.875
    uint8_t yy[4] = {0, 0, 1, 1};
    double ss[4] = {0.1, 0.5, 0.5, 0.9};
    cr_assert_eq(metrics_image(yy, ss, 4, &b), 0);
    cr_assert_float_eq(b.auroc, 0.875, 1e-15);

    // -0 and +0 are one score (float equality), on both paths
    uint8_t yz[2] = {1, 0};
    double sz[2] = {-0.0, 0.0};
    float fz[2] = {-0.0f, 0.0f};
    cr_assert_eq(metrics_image(yz, sz, 2, &b), 0);
    cr_assert_eq(b.auroc, 0.5);
    {
        const uint8_t *zm[1] = {yz};
        const float *za[1] = {fz};
        const double *zd[1] = {sz};
        int zh = 1, zw = 2;
        PixelMetrics zp;
        cr_assert_eq(metrics_pixel(zm, za, &zh, &zw, 1, 0.3, &zp), 0);
        cr_assert_eq(zp.auroc, 0.5);
        cr_assert_eq(metrics_pixel_f64(zm, zd, &zh, &zw, 1, 0.3, &zp), 0);
        cr_assert_eq(zp.auroc, 0.5);
    }

    int h = 2, w = 3;
    uint8_t none[6] = {0}, all[6] = {1, 1, 1, 1, 1, 1}, some[6] = {0, 1, 0, 0, 0, 0};
    float a[6] = {0.1f, 0.9f, 0.3f, 0.3f, 0.2f, 0.5f}, cst[6] = {2, 2, 2, 2, 2, 2};
    const float *mp[1] = {a};
    const uint8_t *mk[1] = {none};
    PixelMetrics p;
    cr_assert_eq(metrics_pixel(mk, mp, &h, &w, 1, 0.3, &p), 0);  // no anomalous pixel, no region
    cr_assert(isnan(p.auroc) && isnan(p.ap) && isnan(p.f1max) && isnan(p.aupro) && isnan(p.aupro_musc));
    mk[0] = all;  // no normal pixel
    cr_assert_eq(metrics_pixel(mk, mp, &h, &w, 1, 0.3, &p), 0);
    cr_assert(isnan(p.auroc) && isnan(p.aupro) && isnan(p.aupro_musc));
    cr_assert_eq(p.ap, 1.0);
    cr_assert_eq(p.f1max, 1.0);
    mk[0] = some, mp[0] = cst;  // constant map: MuSc's arange would fail
    cr_assert_eq(metrics_pixel(mk, mp, &h, &w, 1, 0.3, &p), 0);
    cr_assert_eq(p.auroc, 0.5);
    cr_assert(isnan(p.aupro_musc));
    cr_assert_float_eq(p.aupro, 0.15, 1e-15);  // one point (1,1): interpolated 0.3 -> 0.045 / 0.3
    mp[0] = a;
    cr_assert_eq(metrics_pixel(mk, mp, &h, &w, 1, 0.3, &p), 0);  // 9 is the top score: AU-PRO 1
    cr_assert_eq(p.auroc, 1.0);
    cr_assert_float_eq(p.aupro, 1.0, 1e-15);
}

static void expect_api_error(int rc, const char *needle) {
    cr_assert_eq(rc, -1);
    cr_assert(strstr(ad_last_error(), needle), "message '%s' lacks '%s'", ad_last_error(), needle);
}

Test(metrics, api_errors) {
    BinaryMetrics b;
    uint8_t y[4] = {0, 1, 0, 1};
    double s[4] = {0.1, 0.2, 0.3, NAN};
    expect_api_error(metrics_image(y, s, 4, &b), "score at index 3 is NaN");
    s[3] = INFINITY;
    expect_api_error(metrics_image(y, s, 4, &b), "score at index 3 is Inf");
    expect_api_error(metrics_image(y, s, 0, &b), "no images");
    int h[2] = {2, 3}, w[2] = {3, 2};
    uint8_t m0[6] = {0}, m1[6] = {0, 1, 0, 0, 0, 0};
    float a0[6] = {0}, a1[6] = {0, 0, 0, 0, 0, 0};
    a1[5] = NAN;  // image 1 is 3 x 2: flat 5 = (y=2, x=1)
    const uint8_t *mk[2] = {m0, m1};
    const float *mp[2] = {a0, a1};
    PixelMetrics p;
    expect_api_error(metrics_pixel(mk, mp, h, w, 2, 0.3, &p), "anomaly map 1 has a non-finite value (NaN) at pixel (y=2, x=1)");
    a1[5] = 0;
    expect_api_error(metrics_pixel(mk, mp, h, w, 2, 0.0, &p), "outside (0, 1]");
    expect_api_error(metrics_pixel(mk, mp, h, w, 2, 1.5, &p), "outside (0, 1]");
    expect_api_error(metrics_pixel(mk, mp, h, w, 0, 0.3, &p), "no anomaly maps");
    cr_assert_eq(metrics_pixel(mk, mp, h, w, 2, 1.0, &p), 0);
}

// ---- CLI: every bad input gives one clear message, exit 1, nothing on stdout
static char *tdir;
static char *tpath(const char *name) { return ad_sprintf("%s/%s", tdir, name); }
static void save(const char *name, NpyDtype dt, int ndim, const int64_t *shape, const void *data) {
    char *p = tpath(name);
    cr_assert_eq(npy_write(p, dt, ndim, shape, data), 0, "%s", ad_last_error());
    free(p);
}

// "@" in fmt stands for the test folder
static char *expand(const char *fmt) {
    size_t n = strlen(fmt), k = 0, cap = n + 1;
    for (const char *c = fmt; *c; c++) cap += *c == '@' ? strlen(tdir) : 0;
    char *r = malloc(cap);
    for (size_t i = 0; i < n; i++) {
        if (fmt[i] == '@') memcpy(r + k, tdir, strlen(tdir)), k += strlen(tdir);
        else r[k++] = fmt[i];
    }
    r[k] = 0;
    return r;
}

static void expect_cli_error(const char *args, const char *n1, const char *n2) {
    char *full = ad_sprintf("metrics %s", args);
    char *out, *err;
    int rc = run_adbench(full, &out, &err);
    cr_assert_eq(rc, 1, "'%s': exit %d, stderr %s", args, rc, err);
    cr_assert_str_eq(out, "", "'%s': stdout not empty: %s", args, out);
    cr_assert(!strncmp(err, "adbench: error: ", 16), "'%s': stderr '%s'", args, err);
    cr_assert(strstr(err, n1), "'%s': message '%s' lacks '%s'", args, err, n1);
    if (n2) cr_assert(strstr(err, n2), "'%s': message '%s' lacks '%s'", args, err, n2);
    cr_assert_eq(strchr(err, '\n'), err + strlen(err) - 1, "'%s': more than one line: %s", args, err);
    free(full), free(out), free(err);
}

Test(metrics, cli_errors) {
    tdir = make_tmpdir("metrics");
    int64_t s4 = 4, s3 = 3, s22 = 2, m423[3] = {4, 2, 3}, m432[3] = {4, 3, 2}, m323[3] = {3, 2, 3}, s41[2] = {4, 1};
    uint8_t lab[4] = {0, 1, 0, 1}, mk[24] = {0};
    mk[7] = 1;
    float sc[4] = {0.1f, 0.5f, 0.2f, 0.7f}, scn[4] = {0.1f, 0.5f, NAN, 0.7f}, mp[24] = {0}, mpi[24] = {0};
    mpi[13] = INFINITY;  // image 2, (y=0, x=1)
    double dd[24] = {0};
    int32_t labi[4] = {0, 1, 0, 1};
    save("L.npy", NPY_U8, 1, &s4, lab);
    save("L3.npy", NPY_U8, 1, &s3, lab);
    save("Lf.npy", NPY_F32, 1, &s4, sc);
    save("L2d.npy", NPY_U8, 2, s41, lab);
    save("S.npy", NPY_F32, 1, &s4, sc);
    save("Sn.npy", NPY_F32, 1, &s4, scn);
    save("Si.npy", NPY_I32, 1, &s4, labi);
    save("M.npy", NPY_U8, 3, m423, mk);
    save("Mf.npy", NPY_F32, 3, m423, mp);
    save("M2.npy", NPY_U8, 1, &s22, mk);
    save("M3.npy", NPY_U8, 3, m323, mk);
    save("A.npy", NPY_F32, 3, m423, mp);
    save("At.npy", NPY_F32, 3, m432, mp);
    save("Ai.npy", NPY_F32, 3, m423, mpi);
    save("Au.npy", NPY_U8, 3, m423, mk);
    save("A3.npy", NPY_F64, 3, m323, dd);
    char *a;
#define CLI(fmt, n1, n2) a = expand(fmt), expect_cli_error(a, n1, n2), free(a)
    CLI("--labels @/nope.npy --scores @/S.npy", "nope.npy: cannot open", NULL);
    CLI("--labels @/L.npy --scores @/S.npy --masks @/M.npy --maps @/missing.npy", "missing.npy: cannot open", NULL);
    CLI("--labels @/Lf.npy --scores @/S.npy", "Lf.npy: expected image labels of dtype bool/uint8/int32/int64, found dtype float32", NULL);
    CLI("--labels @/L2d.npy --scores @/S.npy", "L2d.npy: expected image labels with 1 dimension (N,), found shape (4, 1)", NULL);
    CLI("--labels @/L.npy --scores @/Si.npy", "Si.npy: expected image scores of dtype float32/float64, found dtype int32", NULL);
    CLI("--labels @/L3.npy --scores @/S.npy", "L3.npy has shape (3,) but", "S.npy has shape (4,)");
    CLI("--labels @/L.npy --scores @/Sn.npy", "Sn.npy: score at index 2 is NaN", NULL);
    CLI("--labels @/L.npy --scores @/S.npy --masks @/Mf.npy --maps @/A.npy", "Mf.npy: expected ground-truth masks of dtype uint8/bool, found dtype float32", NULL);
    CLI("--labels @/L.npy --scores @/S.npy --masks @/M2.npy --maps @/A.npy", "M2.npy: expected ground-truth masks with 3 dimensions (N, H, W), found shape (2,)", NULL);
    CLI("--labels @/L.npy --scores @/S.npy --masks @/M.npy --maps @/Au.npy", "Au.npy: expected anomaly maps of dtype float32/float64, found dtype uint8", NULL);
    CLI("--labels @/L.npy --scores @/S.npy --masks @/M.npy --maps @/At.npy", "M.npy has shape (4, 2, 3) but", "At.npy has shape (4, 3, 2)");
    CLI("--labels @/L.npy --scores @/S.npy --masks @/M3.npy --maps @/A3.npy", "M3.npy has 3 images (shape (3, 2, 3)) but", "L.npy has shape (4,)");
    CLI("--labels @/L.npy --scores @/S.npy --masks @/M.npy --maps @/Ai.npy", "Ai.npy: anomaly map 2 has a non-finite value (Inf) at pixel (y=0, x=1)", NULL);
    CLI("--labels @/L.npy --scores @/S.npy --masks @/M.npy --maps @/A.npy --pro-limit 0", "--pro-limit '0' is not a number in (0, 1]", NULL);
    CLI("--labels @/L.npy --scores @/S.npy --masks @/M.npy --maps @/A.npy --pro-limit 1.5", "--pro-limit '1.5'", NULL);
    CLI("--labels @/L.npy --scores @/S.npy --masks @/M.npy --maps @/A.npy --pro-limit abc", "--pro-limit 'abc'", NULL);
    CLI("--labels @/L.npy --scores @/S.npy --masks @/M.npy", "--masks and --maps go together", NULL);
    CLI("--labels @/L.npy", "--labels and --scores are required", NULL);
    CLI("--labels @/L.npy --scores @/S.npy --mask @/M.npy", "unknown option '--mask'", NULL);
#undef CLI
    // and the good files work (pro-limit 1 is allowed), float64 maps included
    char *out, *err;
    a = ad_sprintf("metrics --labels %s/L.npy --scores %s/S.npy --masks %s/M.npy --maps %s/A.npy --pro-limit 1", tdir, tdir, tdir, tdir);
    cr_assert_eq(run_adbench(a, &out, &err), 0, "%s", err);
    cr_assert(strstr(out, "\n1,1,1,0.5,"), "output '%s'", out);  // constant maps: pixel AUROC 0.5
    cr_assert(strstr(out, ",nan\n"), "MuSc PRO of constant maps must print nan: '%s'", out);
    free(a), free(out), free(err);
    rm_rf(tdir);
    free(tdir);
}
