// adbench bench metrics [--images N --size S --naive K]: pixel metrics at MVTec AD scale.
// Synthetic pooled maps (default 1725 maps at 518 x 518, about 4.6e8 pixels): 27% normal
// images (as MVTec AD's 467 / 1725), defective ones with 1-3 regions (ellipses, thin scratches),
// maps = bilinear upsampling of a 37 x 37 patch grid (as MuSc's) plus a bump on the defects.
// Times metrics_pixel (all five pixel metrics from one sorted walk) and, as the stated
// baseline, the naive qsort reference on the first K maps.
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench.h"
#include "err.h"
#include "metrics.h"
#include "opts.h"

static uint64_t mix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}
static double unif(uint64_t *s) { return (double)((*s = mix64(*s)) >> 11) * 0x1p-53; }

// One synthetic image k (deterministic in k, independent of threads).
static void synth_image(uint8_t *m, float *a, int S, int k) {
    uint64_t st = 12345 + (uint64_t)k * 7919;
    memset(m, 0, (size_t)S * S);
    int defective = unif(&st) >= 467.0 / 1725.0;
    int nreg = defective ? 1 + (int)(unif(&st) * 3) : 0;
    for (int r = 0; r < nreg; r++) {
        double cy = unif(&st) * S, cx = unif(&st) * S;
        if (unif(&st) < 0.25) {  // thin scratch
            double ang = unif(&st) * 3.14159, len = 20 + unif(&st) * S / 3, wid = 1 + unif(&st) * 2;
            double dy = sin(ang), dx = cos(ang);
            for (int y = 0; y < S; y++)
                for (int x = 0; x < S; x++) {
                    double py = y - cy, px = x - cx, t = py * dy + px * dx, d = fabs(py * dx - px * dy);
                    if (fabs(t) < len / 2 && d < wid) m[(size_t)y * S + x] = 255;
                }
        } else {
            double ry = 3 + unif(&st) * S / 8, rx = 3 + unif(&st) * S / 8;
            for (int y = 0; y < S; y++)
                for (int x = 0; x < S; x++) {
                    double u = (y - cy) / ry, v = (x - cx) / rx;
                    if (u * u + v * v <= 1) m[(size_t)y * S + x] = 255;
                }
        }
    }
    enum { G = 37 };
    float g[G * G];
    for (int i = 0; i < G * G; i++) g[i] = (float)(0.2 + 0.1 * unif(&st));
    // bump from the mask at grid resolution (so the map is smooth around defects)
    for (int gy = 0; gy < G; gy++)
        for (int gx = 0; gx < G; gx++) {
            int y = (int)((gy + 0.5) * S / G), x = (int)((gx + 0.5) * S / G);
            if (m[(size_t)y * S + x]) g[gy * G + gx] += (float)(0.3 + 0.3 * unif(&st));
        }
    for (int y = 0; y < S; y++) {  // bilinear, align_corners=True
        double fy = (double)y * (G - 1) / (S - 1);
        int y0 = (int)fy, y1 = y0 + 1 < G ? y0 + 1 : y0;
        double wy = fy - y0;
        for (int x = 0; x < S; x++) {
            double fx = (double)x * (G - 1) / (S - 1);
            int x0 = (int)fx, x1 = x0 + 1 < G ? x0 + 1 : x0;
            double wx = fx - x0;
            double v = (1 - wy) * ((1 - wx) * g[y0 * G + x0] + wx * g[y0 * G + x1]) +
                       wy * ((1 - wx) * g[y1 * G + x0] + wx * g[y1 * G + x1]);
            a[(size_t)y * S + x] = (float)(v + (m[(size_t)y * S + x] ? 0.05 : 0.0));
        }
    }
}

static double dif(double a, double b) { return (isnan(a) && isnan(b)) ? 0 : fabs(a - b); }

static double cpu_seconds(const struct rusage *r) {
    return (double)r->ru_utime.tv_sec + 1e-6 * r->ru_utime.tv_usec + (double)r->ru_stime.tv_sec + 1e-6 * r->ru_stime.tv_usec;
}

int bench_metrics(int argc, char **argv) {
    const char *ni = NULL, *ns = NULL, *nk = NULL;
    const Opt opts[] = {
        {"images", 1, &ni, "number of maps (default 1725, MVTec AD's test set)"},
        {"size", 1, &ns, "map side (default 518)"},
        {"naive", 1, &nk, "maps for the naive-reference baseline (default 20, 0 = skip)"},
    };
    if (opts_parse("bench metrics", argc, argv, 1, opts, 3, NULL, 0) < 0) ad_die_user();
    int N = ni ? atoi(ni) : 1725, S = ns ? atoi(ns) : 518, K = nk ? atoi(nk) : 20;
    if (N < 1 || S < 2 || K < 0) {
        ad_error("bench metrics: --images must be >= 1, --size >= 2, --naive >= 0");
        ad_die_user();
    }
    if (K > N) K = N;
    size_t hw = (size_t)S * S;
    uint8_t *mb = ad_malloc((size_t)N * hw);
    float *ab = ad_malloc((size_t)N * hw * sizeof *ab);
    const uint8_t **mk = ad_malloc((size_t)N * sizeof *mk);
    const float **mp = ad_malloc((size_t)N * sizeof *mp);
    int *h = ad_malloc((size_t)N * sizeof *h), *w = ad_malloc((size_t)N * sizeof *w);
    double t0 = bench_now();
#pragma omp parallel for schedule(dynamic, 4)
    for (int k = 0; k < N; k++) synth_image(mb + k * hw, ab + k * hw, S, k);
    for (int k = 0; k < N; k++) mk[k] = mb + k * hw, mp[k] = ab + k * hw, h[k] = w[k] = S;
    size_t npos = 0;
    for (size_t i = 0; i < (size_t)N * hw; i++) npos += mb[i] != 0;
    printf("bench metrics: %d maps of %dx%d = %.3g pixels (%.2f%% anomalous), %d threads; synthesis %.1f s\n", N, S,
           S, (double)N * hw, 100.0 * npos / ((double)N * hw), omp_get_max_threads(), bench_now() - t0);
    fflush(stdout);

    PixelMetrics pm;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double c0 = cpu_seconds(&ru);
    t0 = bench_now();
    if (metrics_pixel(mk, mp, h, w, N, 0.3, &pm)) ad_die_user();
    double tf = bench_now() - t0;
    getrusage(RUSAGE_SELF, &ru);
    printf("metrics_pixel: %.2f s wall, %.2f s CPU (user+sys) = %.1f Mpixel/s (auroc %.6f ap %.6f f1max %.6f aupro %.6f aupro_musc %.6f); "
           "peak RSS %.2f GB (inputs %.2f GB)\n",
           tf, cpu_seconds(&ru) - c0, (double)N * hw / tf * 1e-6, pm.auroc, pm.ap, pm.f1max, pm.aupro, pm.aupro_musc,
           ru.ru_maxrss / 1048576.0, (double)N * hw * 5 / 1073741824.0);
    if (K > 0) {
        // baseline: the naive qsort reference on the first K maps (and the fast path on the same)
        double **md = ad_malloc((size_t)K * sizeof *md);
        for (int k = 0; k < K; k++) {
            md[k] = ad_malloc(hw * sizeof **md);
            for (size_t i = 0; i < hw; i++) md[k][i] = mp[k][i];
        }
        PixelMetrics a, b;
        t0 = bench_now();
        if (metrics_pixel(mk, mp, h, w, K, 0.3, &a)) ad_die_user();
        double t1 = bench_now() - t0;
        t0 = bench_now();
        if (metrics_pixel_naive(mk, (const double *const *)md, h, w, K, 0.3, &b)) ad_die_user();
        double t2 = bench_now() - t0;
        printf("baseline, first %d maps (%.3g pixels): fast %.3f s, naive qsort reference %.3f s: %.1fx faster; "
               "max |diff| %.2g\n",
               K, (double)K * hw, t1, t2, t2 / t1,
               fmax(fmax(dif(a.auroc, b.auroc), dif(a.ap, b.ap)),
                    fmax(fmax(dif(a.f1max, b.f1max), dif(a.aupro, b.aupro)), dif(a.aupro_musc, b.aupro_musc))));
        for (int k = 0; k < K; k++) free(md[k]);
        free(md);
    }
    free(mb), free(ab), free(mk), free(mp), free(h), free(w);
    return 0;
}
