// adbench bench NAME [options]: benchmarks, printed as ratios to baselines of the same run.
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>

#include "bench.h"
#include "cli.h"
#include "err.h"
#include "opts.h"

char *openblas_get_corename(void);  // OpenBLAS extension

double bench_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

double bench_sgemm_gflops(int m, int n, int k, int threads) {
    float *a = ad_malloc((size_t)m * k * sizeof(float));
    float *b = ad_malloc((size_t)k * n * sizeof(float));
    float *c = ad_malloc((size_t)m * n * sizeof(float));
    for (size_t i = 0; i < (size_t)m * k; i++) a[i] = (float)((i * 2654435761u) % 1000) * 1e-3f;
    for (size_t i = 0; i < (size_t)k * n; i++) b[i] = (float)((i * 40503u) % 1000) * 1e-3f;
    openblas_set_num_threads(threads);
    double best = 0;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.f, a, k, b, n, 0.f, c, n);  // warm-up
    for (int rep = 0; rep < 5; rep++) {
        double t0 = bench_now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.f, a, k, b, n, 0.f, c, n);
        double g = 2.0 * m * n * k / (bench_now() - t0) * 1e-9;
        if (g > best) best = g;
    }
    openblas_set_num_threads(omp_get_max_threads());
    free(a), free(b), free(c);
    return best;
}

static int bench_sgemm(int argc, char **argv) {
    const char *size = "2048";
    Opt o[] = {{"size", 1, &size, "square sgemm side (2048)"}};
    if (opts_parse("bench sgemm", argc, argv, 1, o, 1, NULL, 0) < 0) ad_die_user();
    int n = atoi(size), t = omp_get_max_threads();
    if (n < 1) {
        ad_error("bench sgemm --size %s: expected a positive integer", size);
        ad_die_user();
    }
    printf("sgemm %d^3: 1 thread %.1f GFLOP/s, %d threads %.1f GFLOP/s (kernel %s; BLAS: %s)\n", n,
           bench_sgemm_gflops(n, n, n, 1), t, bench_sgemm_gflops(n, n, n, t), openblas_get_corename(),
           openblas_get_config());
    return 0;
}

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} BENCHES[] = {
    {"sgemm", bench_sgemm, "OpenBLAS sgemm peak (the ceiling other figures are compared to)"},
    {"metrics", bench_metrics, "pixel metrics at MVTec AD scale"},
    {"vit", bench_vit, "CLIP ViT-L/14 @336 and DINOv2 ViT-L/14 @518 forward, random weights"},
    {"resnet", bench_resnet, "ResNet-18 and WideResNet-50-2 forward at 224, batch 1 and 8, random weights"},
    {"msm", bench_msm, "MuSc mutual scoring kernel, % of sgemm peak, N scaling"},
    {"coreset", bench_coreset, "PatchCore approximate greedy coreset on a 200-image bank"},
    {"codegraph", bench_codegraph, "CoDeGraph overhead over MuSc"},
};

int cmd_bench(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: adbench bench NAME [options]\n");
        for (size_t i = 0; i < sizeof BENCHES / sizeof BENCHES[0]; i++)
            fprintf(stderr, "  %-10s %s\n", BENCHES[i].name, BENCHES[i].help);
        return 1;
    }
    for (size_t i = 0; i < sizeof BENCHES / sizeof BENCHES[0]; i++)
        if (!strcmp(argv[2], BENCHES[i].name)) return BENCHES[i].fn(argc - 2, argv + 2);
    fprintf(stderr, "adbench: error: unknown benchmark '%s'. Fix: run 'adbench bench' for the list.\n", argv[2]);
    return 1;
}
