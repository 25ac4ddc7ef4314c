// adbench bench resnet: forward time of torchvision-shaped ResNet-18 and WideResNet-50-2 at 224
// (random weights built in memory), per image at batch 1 and 8, as a percentage of the OpenBLAS
// sgemm peak measured in the same run (2048^3, before and after: the best). Runs the stem and
// layer1..layer3 by default (what PatchCore taps); --stages 4 adds layer4.
// tests/gen/bench_torch_resnet.py times torchvision on the same shapes and thread count, then
// runs this benchmark and prints the time ratio.
//
//   adbench bench resnet [--model resnet18|wide_resnet50_2|all] [--batch 1,8] [--reps N] [--stages 3]
//                        [--conv winograd|direct|gemm|all] [--profile]
//
// FLOPs: 2 per multiply-add of every convolution summed directly (ReLU, pooling, bias not
// counted). Winograd's 3x3 convolutions do 4x fewer multiplications than that, so with them the
// percentage of the sgemm peak is an effective rate and can pass 100.
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench.h"
#include "err.h"
#include "opts.h"
#include "resnet.h"

static const char *CONV_NAME[] = {"gemm", "direct", "winograd"};  // by ResNetConv

static int run_one(const char *arch, int B, int reps, int stages, double peak, ResNetConv kind, int profile) {
    ResNet m;
    if (resnet_init_random(&m, arch, stages, 0x9e3779b97f4a7c15ull)) return -1;
    resnet_set_conv(&m, kind);
    int S = 224, taps[1] = {stages}, gh, gw, threads = omp_get_max_threads();
    resnet_stage_grid(stages, S, S, &gh, &gw);
    float *img = ad_malloc((size_t)B * 3 * S * S * sizeof(float));
    for (size_t i = 0; i < (size_t)B * 3 * S * S; i++) img[i] = (float)((i * 2654435761u) % 1000) / 250.0f - 2.0f;
    float *out = ad_malloc((size_t)B * gh * gw * m.cfg.channels[stages - 1] * sizeof(float));
    if (resnet_forward(&m, &out, img, B, S, S, taps, 1)) return -1;  // warm-up, sizes the arena
    double best = 1e30, total = 0;
    m.profile = profile;
    for (int r = 0; r < reps; r++) {
        double t0 = bench_now();
        resnet_forward(&m, &out, img, B, S, S, taps, 1);
        double t = bench_now() - t0;
        best = t < best ? t : best;
        total += t;
    }
    if (profile) {  // wall time per kind of layer over all reps, and its speed
        static const char *KIND[] = {"winograd 3x3", "direct k>1", "1x1 sgemm", "im2col sgemm", "max-pool"};
        double known = 0;
        printf("resnet-profile model=%s batch=%d", arch, B);
        for (int k = 0; k < 5; k++) {
            known += m.prof_s[k];
            printf(" | %s %.1f%%", KIND[k], 100.0 * m.prof_s[k] / total);
            if (m.prof_flops[k] > 0) printf(" (%.1f%% of peak)", 100.0 * m.prof_flops[k] / m.prof_s[k] * 1e-9 / peak);
        }
        printf(" | rest (input, taps, checks) %.1f%%\n", 100.0 * (total - known) / total);
    }
    double gf = resnet_flops(&m, stages, S, S) * 1e-9, per = best / B;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("resnet-bench model=%s conv=%s input=%d stages=%d batch=%d threads=%d per_image_s=%.4f gflop_per_image=%.2f "
           "gflops=%.1f sgemm_peak_gflops=%.1f pct_of_sgemm_peak=%.1f activations_mb=%.1f maxrss_mb=%.0f\n",
           arch, CONV_NAME[kind], S, stages, B, threads, per, gf, gf / per, peak, 100.0 * gf / per / peak,
           (4.0 * m.buf_n + m.col_n) * 4 / 1e6, ru.ru_maxrss / 1e3);
    fflush(stdout);
    free(img), free(out);
    resnet_close(&m);
    return 0;
}

int bench_resnet(int argc, char **argv) {
    const char *model = "all", *batch = "1,8", *reps = "3", *stages = "3", *conv = "winograd", *profile = NULL;
    const Opt opts[] = {
        {"model", 1, &model, "resnet18 | wide_resnet50_2 | all (default all)"},
        {"batch", 1, &batch, "comma-separated batch sizes (default 1,8)"},
        {"reps", 1, &reps, "timed repetitions after one warm-up; the best is reported (default 3)"},
        {"stages", 1, &stages, "run up to layerN, 1..4 (default 3: PatchCore's layer2 + layer3)"},
        {"conv", 1, &conv, "winograd (default: 3x3 stride 1 by Winograd, other k > 1 direct) | direct (every k > 1 direct, AVX-512 builds) | gemm (im2col + sgemm) | all"},
        {"profile", 0, &profile, "print the share of time (and % of sgemm peak) per kind of layer"},
    };
    if (opts_parse("bench resnet", argc, argv, 1, opts, 6, NULL, 0) < 0) ad_die_user();
    if (strcmp(conv, "winograd") && strcmp(conv, "direct") && strcmp(conv, "gemm") && strcmp(conv, "all")) {
        fprintf(stderr, "adbench: error: bench resnet: --conv must be winograd, direct, gemm or all, found '%s'\n", conv);
        return 1;
    }
    int R = atoi(reps), L = atoi(stages);
    if (R < 1 || L < 1 || L > 4) {
        fprintf(stderr, "adbench: error: bench resnet: --reps must be >= 1 and --stages in 1..4\n");
        return 1;
    }
    int threads = omp_get_max_threads();
    // the ceiling, measured before and after (the best): a cold first sgemm, or a shared
    // machine, can run well below the peak
    double peak = bench_sgemm_gflops(2048, 2048, 2048, threads);
    double p2 = bench_sgemm_gflops(2048, 2048, 2048, threads);
    peak = p2 > peak ? p2 : peak;
    const char *archs[2] = {"resnet18", "wide_resnet50_2"};
    int rc = 0;
    for (int a = 0; a < 2; a++) {
        if (strcmp(model, "all") && strcmp(model, archs[a])) continue;
        for (const char *b = batch; *b;) {
            int B = atoi(b);
            if (B < 1) {
                fprintf(stderr, "adbench: error: bench resnet: --batch: expected positive integers, found '%s'\n", batch);
                return 1;
            }
            for (int k = RESNET_CONV_WINOGRAD; k >= RESNET_CONV_GEMM; k--)  // winograd, direct, gemm: as asked
                if (!strcmp(conv, "all") || !strcmp(conv, CONV_NAME[k])) rc |= run_one(archs[a], B, R, L, peak, (ResNetConv)k, profile != NULL);
            b = strchr(b, ',') ? strchr(b, ',') + 1 : b + strlen(b);
        }
    }
    double peak2 = bench_sgemm_gflops(2048, 2048, 2048, threads);
    printf("resnet-bench sgemm_peak_before=%.1f sgemm_peak_after=%.1f (percentages use the before value; if the after value "
           "is higher, the machine was busy: rerun)\n", peak, peak2);
    return rc ? 1 : 0;
}
