// adbench run CONFIG.yaml [--set key=value]... [--out DIR] [--dry-run] [--quiet] [--shard i/n]
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "err.h"
#include "runner.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: adbench run CONFIG.yaml [--set key=value]... [--out DIR] [--dry-run] [--quiet] [--shard i/n]\n"
            "  --set key=value  override a config value; dotted path through maps and list indices\n"
            "                   (methods.0.topmin_max=0.2, backbone.size=224, evaluation.resolution=resized:256);\n"
            "                   the value is YAML, so --set 'backbone.size={grid: [224, 518]}' adds a grid\n"
            "  --out DIR        results folder (default: the config's out_dir, else results/runs/<name>)\n"
            "  --dry-run        validate the config and list its jobs; opens no weights or datasets\n"
            "  --quiet          no progress bars, stage lines or tables\n"
            "  --shard i/n      run units k with k mod n == i (0 <= i < n); writes results.shard-i-of-n.csv\n"
            "The YAML schema is documented in src/config.h and configs/demo.yaml.\n");
}

int cmd_run(int argc, char **argv) {
    const char *config = NULL, *out = NULL, *shard = NULL;
    const char **sets = calloc((size_t)argc, sizeof *sets);
    int n_sets = 0, dry = 0, quiet = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        int has_next = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            free(sets);
            return 0;
        } else if (!strcmp(a, "--set") || !strcmp(a, "--out") || !strcmp(a, "--shard")) {
            if (!has_next) {
                fprintf(stderr, "adbench: error: adbench run: option '%s' needs a value\n", a);
                free(sets);
                return 1;
            }
            const char *v = argv[++i];
            if (!strcmp(a, "--set")) sets[n_sets++] = v;
            else if (!strcmp(a, "--out")) out = v;
            else shard = v;
        } else if (!strncmp(a, "--set=", 6)) {
            sets[n_sets++] = a + 6;
        } else if (!strncmp(a, "--out=", 6)) {
            out = a + 6;
        } else if (!strncmp(a, "--shard=", 8)) {
            shard = a + 8;
        } else if (!strcmp(a, "--dry-run")) {
            dry = 1;
        } else if (!strcmp(a, "--quiet")) {
            quiet = 1;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr,
                    "adbench: error: adbench run: unknown option '%s'; valid options: --set, --out, --dry-run, --quiet, "
                    "--shard\n",
                    a);
            free(sets);
            return 1;
        } else if (!config) {
            config = a;
        } else {
            fprintf(stderr, "adbench: error: adbench run: unexpected argument '%s' (one config file per run)\n", a);
            free(sets);
            return 1;
        }
    }
    if (!config) {
        usage(stderr);
        free(sets);
        return 1;
    }
    RunOptions o = {out, dry, quiet, 0, 1, NULL, stdout};
    if (shard) {
        char *end;
        long i = strtol(shard, &end, 10);
        long n = *end == '/' ? strtol(end + 1, &end, 10) : -1;
        if (*end || n < 1 || i < 0 || i >= n) {
            fprintf(stderr, "adbench: error: --shard %s: expected i/n with 0 <= i < n (e.g. --shard 0/4, or "
                            "$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT)\n", shard);
            free(sets);
            return 1;
        }
        o.shard_i = (int)i, o.shard_n = (int)n;
    }
    Config cfg;
    if (config_load(&cfg, config, sets, n_sets, NULL)) {
        free(sets);
        ad_die_user();
    }
    free(sets);
    int rc = runner_run(&cfg, &o);
    config_free(&cfg);
    if (rc) ad_die_user();
    return 0;
}
