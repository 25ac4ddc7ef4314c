// adbench bench coreset: PatchCore's approximate greedy coreset on a full-shot-sized bank
// (default 200 images x 1369 patches x 1024 dims, ratios 0.1 and 0.01).
//
// Prints, all measured in this run:
// - the projection (N x d x 128 sgemm) in GFLOP/s and as % of the sgemm 2048^3 peak;
// - the greedy loop (coreset_greedy: cluster pruning, sequential): seconds, picks/s, share
//   of point updates that needed the full 128-d distance (the rest are skipped
//   bit-identically), and its speed-up over the naive loop (coreset_greedy_ref), whose
//   constant per-pick cost is timed on the first --ref-picks picks and extrapolated;
// - with --scan, also coreset_greedy_scan (OpenMP head-lane scan over all points).
//
// Data: synthetic, since the skip rate depends on the data: every patch = one of --protos
// random prototypes (entries ~U(-1,1)) + noise ~U(-noise, noise), which mimics the
// clustered patch features of one category; --protos 0 gives unstructured U(-1,1) vectors
// (the worst case: nearly nothing can be skipped).
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "bench.h"
#include "coreset.h"
#include "err.h"
#include "opts.h"

static float *bank_data(long N, int d, int protos, double noise, uint64_t seed) {
    float *X = ad_malloc((size_t)N * d * sizeof(float));
    float *pr = NULL;
    if (protos > 0) {
        pr = ad_malloc((size_t)protos * d * sizeof(float));
        uint64_t s = seed ^ 0x1234567ULL;
        for (size_t i = 0; i < (size_t)protos * d; i++) pr[i] = (float)(2 * splitmix64_uniform(&s) - 1);
    }
#pragma omp parallel for schedule(static)
    for (long i = 0; i < N; i++) {
        uint64_t s = seed + (uint64_t)i * 0x9e3779b97f4a7c15ULL;
        uint64_t h = splitmix64_next(&s);
        const float *p = pr ? pr + (size_t)(h % (uint64_t)protos) * d : NULL;
        for (int c = 0; c < d; c++) {
            float u = (float)(2 * splitmix64_uniform(&s) - 1);
            X[(size_t)i * d + c] = p ? p[c] + (float)noise * u : u;
        }
    }
    free(pr);
    return X;
}

int bench_coreset(int argc, char **argv) {
    const char *o_n = "200", *o_p = "1369", *o_d = "1024", *o_r = "0.1,0.01", *o_pd = "128", *o_protos = "512",
               *o_noise = "0.3", *o_refp = "20", *o_quick = NULL, *o_scan = NULL;
    Opt opts[] = {
        {"images", 1, &o_n, "bank images (default 200)"},
        {"P", 1, &o_p, "patches per image (default 1369 = 37 x 37)"},
        {"D", 1, &o_d, "feature width (default 1024)"},
        {"ratios", 1, &o_r, "comma-separated coreset ratios (default 0.1,0.01)"},
        {"proj", 1, &o_pd, "projection width (default 128)"},
        {"protos", 1, &o_protos, "prototypes of the synthetic bank (default 512; 0 = unstructured)"},
        {"noise", 1, &o_noise, "noise half-width around the prototypes (default 0.3)"},
        {"ref-picks", 1, &o_refp, "picks of the naive loop timed for the speed-up estimate (default 20)"},
        {"scan", 0, &o_scan, "also time coreset_greedy_scan (OpenMP scan over all points)"},
        {"quick", 0, &o_quick, "small check: 10 images x 577 patches"},
    };
    int nopt = (int)(sizeof opts / sizeof opts[0]);
    if (opts_parse("bench coreset", argc, argv, 1, opts, nopt, NULL, 0) < 0) {
        fprintf(stderr, "adbench: error: %s\n", ad_last_error());
        opts_usage("bench coreset", "adbench bench coreset [options]", opts, nopt);
        return 1;
    }
    if (o_quick) o_n = "10", o_p = "577";
    int n = atoi(o_n), P = atoi(o_p), d = atoi(o_d), pd = atoi(o_pd), protos = atoi(o_protos), refp = atoi(o_refp);
    double noise = atof(o_noise);
    if (n < 1 || P < 1 || d < 1 || pd < 1 || protos < 0 || refp < 1) {
        fprintf(stderr, "adbench: error: bench coreset: expected --images, --P, --D, --proj, --ref-picks >= 1 and "
                        "--protos >= 0\n");
        return 1;
    }
    long N = (long)n * P;
    int T = omp_get_max_threads();
    printf("PatchCore approximate greedy coreset: bank %d images x %d patches = %ld x %d (%.2f GiB), projection to %d, "
           "%d threads (BLAS: %s)\n", n, P, N, d, (double)N * d * 4 / (1 << 30), pd, T, openblas_get_config());
    printf("data: %s\n", protos ? "prototype + noise (clustered, like one category's patches)" : "unstructured U(-1,1)");
    double peak = bench_sgemm_gflops(2048, 2048, 2048, T);
    printf("sgemm 2048^3 peak: %.1f GFLOP/s (%d threads)\n\n", peak, T);

    float *X = bank_data(N, d, protos, noise, 7);
    char *list = ad_strdup(o_r);
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        double ratio = atof(tok);
        long nsel = coreset_count(N, ratio);
        if (nsel < 1) continue;
        CoresetConfig cc = {pd, 10, 0, CORESET_RNG_UPSTREAM};
        int starts[16], ns;
        float *W;
        coreset_draws(starts, &ns, &W, N, d, &cc);
        float *Pm = ad_malloc((size_t)N * pd * sizeof(float));
        double t0 = bench_now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, pd, d, 1.f, X, d, W, d, 0.f, Pm, pd);
        double tp = bench_now() - t0;
        int *sel = ad_malloc((size_t)nsel * sizeof(int));
        t0 = bench_now();
        long full = coreset_greedy(sel, Pm, N, pd, nsel, starts, ns);
        double tg = bench_now() - t0;
        long rp = refp < nsel ? refp : nsel;
        int *rsel = ad_malloc((size_t)rp * sizeof(int));
        t0 = bench_now();
        coreset_greedy_ref(rsel, Pm, N, pd, rp, starts, ns);
        double tr = (bench_now() - t0) / rp;
        int same = !memcmp(rsel, sel, (size_t)rp * sizeof(int));
        double g = 2.0 * N * d * pd / tp * 1e-9;
        printf("ratio %g: %ld picks\n", ratio, nsel);
        printf("  projection %.2f s: %.1f GFLOP/s = %.1f%% of sgemm peak\n", tp, g, 100 * g / peak);
        printf("  greedy (cluster pruning) %.2f s (%.0f picks/s), full distances for %.2f%% of point updates; naive "
               "loop %.4f s/pick (timed on %ld picks, %s) -> est. %.1f s, speed-up %.1fx\n",
               tg, nsel / tg, nsel > 1 ? 100.0 * full / ((double)N * (nsel - 1)) : 0.0, tr, rp,
               same ? "same picks" : "PICKS DIFFER", tr * nsel, tr * nsel / tg);
        if (o_scan) {
            int *ssel = ad_malloc((size_t)nsel * sizeof(int));
            t0 = bench_now();
            long fs = coreset_greedy_scan(ssel, Pm, N, pd, nsel, starts, ns);
            double ts = bench_now() - t0;
            printf("  greedy (head-lane scan, %d threads) %.2f s, full distances for %.2f%%, %s\n", T, ts,
                   nsel > 1 ? 100.0 * fs / ((double)N * (nsel - 1)) : 0.0,
                   memcmp(ssel, sel, (size_t)nsel * sizeof(int)) ? "PICKS DIFFER" : "same picks");
            free(ssel);
        }
        printf("  total (projection + greedy) %.2f s; projection share %.1f%%\n", tp + tg, 100 * tp / (tp + tg));
        free(rsel), free(sel), free(Pm), free(W);
    }
    free(list);
    free(X);
    return 0;
}
