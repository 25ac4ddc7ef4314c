// adbench: zero/few-shot industrial anomaly detection harness. Dispatches sub-commands.
#include <stdio.h>
#include <string.h>

#include "blasguard.h"
#include "cli.h"

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
    int gemm;  // runs GEMMs: the OpenBLAS kernel guard runs first (src/blasguard.h)
} CMDS[] = {
    {"run", cmd_run, "run experiments: run CONFIG.yaml [--set k=v]... [--out DIR] [--dry-run] [--quiet] [--shard i/n]", 1},
    {"predict", cmd_predict, "score a folder of unlabeled images: predict CONFIG.yaml --images DIR [--reference DIR] [--out DIR]", 1},
    {"metrics", cmd_metrics, "image/pixel AUROC, AP, F1-max, AU-PRO from .npy files", 0},
    {"features", cmd_features, "ViT (CLIP / DINOv2) features from safetensors weights", 1},
    {"datasets", cmd_datasets, "datasets check --dataset NAME --root DIR", 0},
    {"synth", cmd_synth, "write a synthetic dataset in MVTec AD layout", 0},
    {"compare", cmd_compare, "compare RESULTS.csv PUBLISHED.csv: per-category and mean deltas", 0},
    {"merge", cmd_merge, "merge shard results CSVs into one", 0},
    {"bench", cmd_bench, "kernel and end-to-end benchmarks", 1},
    {"report", cmd_report, "rerender plots/ and report.html of an output folder: report OUTDIR", 0},
    {"params", cmd_params, "every config key of a method, backbone or dataset: params [NAME]", 0},
};

static void usage(FILE *f) {
    fprintf(f, "adbench %s — zero/few-shot industrial anomaly detection benchmark\n\nusage: adbench COMMAND [options]\n\n", ADBENCH_VERSION);
    for (size_t i = 0; i < sizeof CMDS / sizeof CMDS[0]; i++) fprintf(f, "  %-9s %s\n", CMDS[i].name, CMDS[i].help);
    fprintf(f, "\n'adbench COMMAND --help' shows a command's options.\n");
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 1 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("adbench %s\n", ADBENCH_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof CMDS / sizeof CMDS[0]; i++)
        if (!strcmp(argv[1], CMDS[i].name)) {
            if (CMDS[i].gemm) blas_guard(argv);  // before any GEMM: may re-exec with a better OpenBLAS core
            return CMDS[i].fn(argc, argv);
        }
    fprintf(stderr, "adbench: error: unknown command '%s'. Fix: run 'adbench --help' for the list.\n", argv[1]);
    return 1;
}
