// `adbench bench codegraph`: CoDeGraph's runtime over MuSc's on the same synthetic feature batch
// (target: <= 25 % overhead). Normal patches come from a few prototypes; one defect vector
// recurs in m images so that every stage (burnout, graph, Leiden, filtering) does real work.
// Both methods run alternately, best of --reps each, in one process: the ratio is what counts.
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "err.h"
#include "codegraph.h"
#include "method.h"
#include "musc.h"

extern const Method method_musc, method_codegraph;

static uint64_t bench_rng;
static double bench_unif(void) {
    uint64_t z = (bench_rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return ((z >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}
static float bench_gauss(void) { return (float)(sqrt(-2 * log(bench_unif())) * cos(6.283185307179586 * bench_unif())); }

static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

// Wall seconds; *cpu gets process CPU seconds (robust when other jobs share the cores).
static double time_run(const Method *m, const Params *p, const FeatureBatch *b, const MethodContext *ctx, double *cpu) {
    MethodOutput o = {0};
    double c0 = cpu_now();
    double t0 = bench_now();
    if (m->run(p, b, NULL, ctx, &o)) {
        fprintf(stderr, "adbench: error: %s\n", ad_last_error());
        exit(1);
    }
    double t = bench_now() - t0;
    if (cpu) *cpu = cpu_now() - c0;
    method_output_free(&o);
    return t;
}

int bench_codegraph(int argc, char **argv) {
    int n = 60, grid = 16, dim = 192, layers = 2, m = 0, reps = 3;  // m = 0: n / 6 (inside MuSc's window)
    for (int a = 1; a < argc; a++) {  // argv[0] is the benchmark name
        int *dst = !strcmp(argv[a], "--n") ? &n : !strcmp(argv[a], "--grid") ? &grid : !strcmp(argv[a], "--dim") ? &dim
                 : !strcmp(argv[a], "--layers") ? &layers : !strcmp(argv[a], "--m") ? &m : !strcmp(argv[a], "--reps") ? &reps
                 : NULL;
        if (!strcmp(argv[a], "--help")) {
            printf("usage: adbench bench codegraph [--n 60] [--grid 16] [--dim 192] [--layers 2] [--m n/6] [--reps 3]\n"
                   "  CoDeGraph vs MuSc run time on one synthetic batch (n images, grid x grid patches, dim\n"
                   "  features per layer, a defect shared by m images); degrees [1,3,5]\n");
            return 0;
        }
        if (!dst || a + 1 >= argc || atoi(argv[a + 1]) <= 0) {
            fprintf(stderr, "adbench: error: bench codegraph: bad option '%s'. Fix: see --help\n", argv[a]);
            return 1;
        }
        *dst = atoi(argv[++a]);
    }
    if (!m) m = n / 6;
    if (n < 5 || m > n) {
        fprintf(stderr, "adbench: error: bench codegraph: need n >= 5 and m <= n\n");
        return 1;
    }
    int P = grid * grid, NP = 8;
    bench_rng = 7;
    float *proto = malloc((size_t)(NP + 1) * layers * dim * sizeof(float));
    for (size_t t = 0; t < (size_t)(NP + 1) * layers * dim; t++) proto[t] = bench_gauss();
    float **feat = malloc((size_t)n * sizeof *feat);
    for (int i = 0; i < n; i++) {
        feat[i] = malloc((size_t)layers * P * dim * sizeof(float));
        int defective = i < m;
        for (int q = 0; q < P; q++) {
            int y = q / grid, x = q % grid, in = defective && y >= grid / 3 && y < grid / 3 + 2 && x >= grid / 2 && x < grid / 2 + 2;
            int k = in ? NP : (int)(bench_unif() * NP);
            for (int l = 0; l < layers; l++)
                for (int c = 0; c < dim; c++)
                    feat[i][((size_t)l * P + q) * dim + c] = proto[((size_t)k * layers + l) * dim + c] + (in ? 0.1f : 0.3f) * bench_gauss();
        }
    }
    FeatureBatch b = {.n = n, .n_layers = layers, .gh = grid, .gw = grid, .dim = dim, .feat = (const float *const *)feat};
    MethodContext ctx = {.category = "bench", .score_size = 8 * grid, .quiet = 1};
    Params pm = {.spec = method_musc.params}, pc = {.spec = method_codegraph.params};
    double tm = INFINITY, tc = INFINITY, cm = INFINITY, cc = INFINITY, x, y;
    time_run(&method_musc, &pm, &b, &ctx, NULL);  // warm-up (pages, BLAS buffers)
    for (int r = 0; r < reps; r++) {
        double a = time_run(&method_musc, &pm, &b, &ctx, &x), c = time_run(&method_codegraph, &pc, &b, &ctx, &y);
        if (a < tm) tm = a;
        if (c < tc) tc = c;
        if (x < cm) cm = x;
        if (y < cc) cc = y;
    }
    // Breakdown: MuSc's distances (musc_prepare) vs CoDeGraph's stages 2-5 on them.
    double tp = INFINITY, ts = INFINITY;
    CodegraphConfig cfg;
    if (codegraph_config(&cfg, &pc)) return 1;
    for (int r = 0; r < reps; r++) {
        MuscState s;
        double t0 = bench_now();
        if (musc_prepare(&s, &pc, &b)) return 1;
        double t1 = bench_now();
        uint8_t *ex = NULL;
        CodegraphStats st = {0};
        if (codegraph_stages(&s, &ex, &cfg, NULL, NULL, 0, &st)) return 1;
        double t2 = bench_now();
        free(ex);
        musc_state_free(&s);
        if (t1 - t0 < tp) tp = t1 - t0;
        if (t2 - t1 < ts) ts = t2 - t1;
    }
    ctx.quiet = 0;  // one more run to print what CoDeGraph found
    time_run(&method_codegraph, &pc, &b, &ctx, NULL);
    printf("codegraph vs musc: n=%d images, %dx%d patches, %d layers x 3 degrees, dim %d, defect shared by %d images\n",
           n, grid, grid, layers, dim, m);
    printf("  codegraph / musc wall time = %.3f (overhead %+.1f %%; target <= +25 %%), best of %d each\n", tc / tm,
           100 * (tc / tm - 1), reps);
    printf("  codegraph / musc CPU time  = %.3f (overhead %+.1f %%), best of %d each\n", cc / cm, 100 * (cc / cm - 1),
           reps);
    printf("  stages 2-5 / MuSc distances (musc_prepare) = %.3f, best of %d each\n", ts / tp, reps);
    fflush(stdout);
    for (int i = 0; i < n; i++) free(feat[i]);
    free(feat);
    free(proto);
    return 0;
}
