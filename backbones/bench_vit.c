// adbench bench vit: forward time of CLIP ViT-L/14 @336 and DINOv2 ViT-L/14 @518 with random
// weights of the real shapes (built in memory, no file), per image, as a percentage of the
// OpenBLAS sgemm peak measured in the same run. tests/gen/bench_torch_vit.py runs PyTorch on
// the same shapes and thread count and then this benchmark, and prints the time ratio.
//
//   adbench bench vit [--model clip|dinov2|all] [--batch B] [--reps N] [--blocks L]
//
// FLOPs counted: patch embedding, QKV / out-projection / MLP GEMMs, QK^T and AV (2 per MAC);
// LayerNorm, GELU, softmax are not counted (< 1%). Memory: weights + the activation arena of
// one batch, and the process's peak RSS.
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <cblas.h>

#include "bench.h"
#include "err.h"
#include "opts.h"
#include "vit.h"

char *openblas_get_corename(void);  // OpenBLAS extension

static uint64_t g_rng = 0x9e3779b97f4a7c15ull;
static float rnd(float scale) {  // xorshift64*, uniform in [-scale, scale)
    g_rng ^= g_rng >> 12, g_rng ^= g_rng << 25, g_rng ^= g_rng >> 27;
    return scale * ((float)((g_rng * 2685821657736338717ull) >> 40) / 8388608.0f - 1.0f);
}
static const float *fill(ViT *m, size_t n, float base, float scale) {
    float *p = vit_own(m, n);
    for (size_t i = 0; i < n; i++) p[i] = base + rnd(scale);
    return p;
}

static size_t build(ViT *m, int dinov2, int blocks) {
    memset(m, 0, sizeof *m);
    ViTConfig *c = &m->cfg;
    int D = 1024;
    c->family = dinov2 ? VIT_DINOV2 : VIT_CLIP;
    c->scheme = "random";
    c->width = D, c->layers = blocks, c->heads = D / 64, c->patch = 14, c->grid = dinov2 ? 37 : 24;
    c->hidden = 4 * D, c->eps = dinov2 ? 1e-6f : 1e-5f, c->act = dinov2 ? ACT_GELU : ACT_QUICK_GELU;
    c->pos_resize = dinov2 ? POS_SCALE_OFFSET : POS_SIZE, c->embed_dim = dinov2 ? 0 : 768;
    ViTWeights *w = &m->w;
    size_t K = 3 * 14 * 14, M2 = (size_t)c->grid * c->grid + 1, H = (size_t)c->hidden, n = 0;
    w->patch_w = fill(m, (size_t)D * K, 0, 0.05f), n += (size_t)D * K;
    if (dinov2) w->patch_b = fill(m, D, 0, 0.1f), n += D;
    w->cls = fill(m, D, 0, 0.5f), w->pos = fill(m, M2 * D, 0, 0.5f), n += D + M2 * D;
    if (!dinov2) w->ln_pre_w = fill(m, D, 1, 0.1f), w->ln_pre_b = fill(m, D, 0, 0.1f), n += 2 * D;
    w->norm_w = fill(m, D, 1, 0.1f), w->norm_b = fill(m, D, 0, 0.1f), n += 2 * D;
    if (!dinov2) w->proj = fill(m, (size_t)768 * D, 0, 0.05f), n += (size_t)768 * D;
    ViTLayer *L = ad_calloc((size_t)blocks, sizeof *L);
    w->layer = L;
    for (int l = 0; l < blocks; l++) {
        L[l].ln1_w = fill(m, D, 1, 0.1f), L[l].ln1_b = fill(m, D, 0, 0.1f);
        L[l].qkv_w = fill(m, 3 * (size_t)D * D, 0, 0.05f), L[l].qkv_b = fill(m, 3 * (size_t)D, 0, 0.1f);
        L[l].proj_w = fill(m, (size_t)D * D, 0, 0.05f), L[l].proj_b = fill(m, D, 0, 0.1f);
        L[l].ln2_w = fill(m, D, 1, 0.1f), L[l].ln2_b = fill(m, D, 0, 0.1f);
        L[l].fc1_w = fill(m, H * D, 0, 0.05f), L[l].fc1_b = fill(m, H, 0, 0.1f);
        L[l].fc2_w = fill(m, H * D, 0, 0.03f), L[l].fc2_b = fill(m, D, 0, 0.1f);
        n += 4 * (size_t)D + 4 * (size_t)D * D + 4 * (size_t)D + 2 * H * D + H + D;
        if (dinov2) L[l].ls1 = fill(m, D, 0.5f, 0.1f), L[l].ls2 = fill(m, D, 0.5f, 0.1f), n += 2 * (size_t)D;
    }
    return n * sizeof(float);
}

static double flops(const ViTConfig *c, int T, int G) {
    double D = c->width, N = T, per = 2.0 * (N * D * 3 * D + N * D * D + 2 * N * D * c->hidden) + 2.0 * 2 * N * N * D;
    return 2.0 * G * D * 3 * c->patch * c->patch + c->layers * per;
}

static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

// sgemm GFLOP/s in process CPU time (best of 3) on the MLP shape: with 1 thread, the CPU-time
// ratio is robust to a shared machine's waiting, which wall time is not.
static double sgemm_cpu_gflops(int m, int n, int k) {
    float *a = ad_calloc((size_t)m * k, sizeof(float)), *b = ad_calloc((size_t)k * n, sizeof(float));
    float *c = ad_malloc((size_t)m * n * sizeof(float));
    double best = 0;
    for (int r = 0; r < 4; r++) {
        double t0 = cpu_now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.f, a, k, b, k, 0.f, c, n);
        double g = 2.0 * m * n * k / (cpu_now() - t0) * 1e-9;
        if (r && g > best) best = g;
    }
    free(a), free(b), free(c);
    return best;
}

static int g_profile;

static int run_one(int dinov2, int B, int reps, int blocks) {
    ViT m;
    size_t wbytes = build(&m, dinov2, blocks);
    int S = m.cfg.grid * m.cfg.patch, T = vit_tokens(&m, S, S), G = (S / 14) * (S / 14), threads = omp_get_max_threads();
    float *img = ad_malloc((size_t)B * 3 * S * S * sizeof(float));
    for (size_t i = 0; i < (size_t)B * 3 * S * S; i++) img[i] = rnd(2.0f);
    int tap = blocks;
    float *out = ad_malloc((size_t)B * T * m.cfg.width * sizeof(float));
    if (vit_forward(&m, out, NULL, img, B, S, S, &tap, 1, 0)) return -1;  // warm-up, plans the arena
    // the sgemm ceiling on an MLP-shaped problem, before and after (the machine may be shared)
    double peak = bench_sgemm_gflops(B * T, 4 * m.cfg.width, m.cfg.width, threads);
    double cpeak = sgemm_cpu_gflops(B * T, 4 * m.cfg.width, m.cfg.width);
    double best = 1e30, cbest = 1e30, prof[VIT_NSTAGES] = {0}, pb[VIT_NSTAGES];
    for (int r = 0; r < reps; r++) {
        vit_profile(g_profile, NULL);
        double t0 = bench_now(), c0 = cpu_now();
        vit_forward(&m, out, NULL, img, B, S, S, &tap, 1, 0);
        double t = bench_now() - t0, ct = cpu_now() - c0;
        vit_profile(0, pb);
        if (t < best) best = t;
        if (ct < cbest) {
            cbest = ct;
            memcpy(prof, pb, sizeof prof);
        }
    }
    double cpeak2 = sgemm_cpu_gflops(B * T, 4 * m.cfg.width, m.cfg.width);
    if (cpeak2 > cpeak) cpeak = cpeak2;
    double gf = flops(&m.cfg, T, G) * 1e-9, per = best / B;
    double peak2 = bench_sgemm_gflops(B * T, 4 * m.cfg.width, m.cfg.width, threads);
    if (peak2 > peak) peak = peak2;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cper = cbest / B;
    printf("vit-bench model=%s kernel=%s input=%d tokens=%d blocks=%d batch=%d threads=%d per_image_s=%.4f gflop_per_image=%.1f "
           "gflops=%.1f sgemm_peak_gflops=%.1f pct_of_sgemm_peak=%.1f per_image_cpu_s=%.4f cpu_pct_of_sgemm_peak=%.1f "
           "weights_mb=%.1f activations_mb=%.1f maxrss_mb=%.0f\n",
           dinov2 ? "dinov2-vitl14" : "clip-vitl14-336", openblas_get_corename(), S, T, blocks, B, threads, per, gf,
           gf / per, peak, 100.0 * gf / per / peak, cper, 100.0 * gf / cper / (cpeak * threads), wbytes / 1e6,
           m.a.bytes / 1e6, ru.ru_maxrss / 1e3);
    if (g_profile) {  // CPU seconds per image per stage, and each stage's share of the blocks
        double tot = 0;
        for (int i = 0; i < VIT_NSTAGES; i++) tot += prof[i];
        printf("vit-profile model=%s", dinov2 ? "dinov2-vitl14" : "clip-vitl14-336");
        for (int i = 0; i < VIT_NSTAGES; i++) printf(" %s=%.4fs(%.1f%%)", VIT_STAGE[i], prof[i] / B, 100 * prof[i] / tot);
        printf(" blocks_total=%.4fs per image\n", tot / B);
    }
    fflush(stdout);
    free(img), free(out);
    vit_close(&m);
    return 0;
}

int bench_vit(int argc, char **argv) {
    const char *model = "all", *batch = "1", *reps = "2", *blocks = "24", *profile = NULL;
    const Opt opts[] = {
        {"model", 1, &model, "clip | dinov2 | all (default all)"},
        {"batch", 1, &batch, "images per forward (default 1)"},
        {"reps", 1, &reps, "timed repetitions after one warm-up; the best is reported (default 2)"},
        {"blocks", 1, &blocks, "transformer blocks (default 24 = ViT-L; fewer for a quick look)"},
        {"profile", 0, &profile, "also print CPU seconds per stage of the blocks (LayerNorm, GEMMs, attention)"},
    };
    if (opts_parse("bench vit", argc, argv, 1, opts, 5, NULL, 0) < 0) ad_die_user();
    g_profile = profile != NULL;
    int B = atoi(batch), R = atoi(reps), L = atoi(blocks);
    if (B < 1 || R < 1 || L < 1 || L > 24) {
        fprintf(stderr, "adbench: error: bench vit: --batch and --reps must be >= 1 and --blocks in 1..24\n");
        return 1;
    }
    int rc = 0;
    if (!strcmp(model, "clip") || !strcmp(model, "all")) rc |= run_one(0, B, R, L);
    if (!strcmp(model, "dinov2") || !strcmp(model, "all")) rc |= run_one(1, B, R, L);
    return rc ? 1 : 0;
}
