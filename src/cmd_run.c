// adbench run CONFIG.yaml [--set key=value]... [--out DIR] [--dry-run] [--quiet] [--shard i/n] [--only DS/CAT]... [--rerun-stale] [--force]
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "err.h"
#include "runner.h"
#include "runlog.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: adbench run CONFIG.yaml [--set key=value]... [--out DIR] [--dry-run] [--quiet] [--shard i/n]\n"
            "                  [--only DATASET/CATEGORY]... [--rerun-stale] [--force]\n"
            "  --set key=value  override a config value; dotted path through maps and list indices\n"
            "                   (methods.0.topmin_max=0.2, backbone.size=224, evaluation.resolution=resized:256);\n"
            "                   the value is YAML, so --set 'backbone.size={grid: [224, 518]}' adds a grid\n"
            "  --out DIR        results folder (default: the config's out_dir, else results/runs/<name>)\n"
            "  --dry-run        validate the config and list its jobs; opens no weights or datasets\n"
            "  --quiet          no progress bars, stage lines or tables\n"
            "  --shard i/n      run units k with k mod n == i (0 <= i < n); writes results.shard-i-of-n.csv\n"
            "  --only DS/CAT    run only these categories (DATASET/CATEGORY, or DATASET for all of its\n"
            "                   categories); repeatable or comma-separated: --only mvtec/screw,visa/pcb1\n"
            "  --rerun-stale    rerun the rows of results.csv that another adbench commit made, or other\n"
            "                   weights (weights_sha256); resume keeps them by default, with a warning\n"
            "  --force          rerun every row of this config, even finished ones\n"
            "Outputs (results.csv, per_image.csv, maps/*.npy): docs/outputs.md.\n"
            "The YAML schema is documented in src/config.h and configs/demo.yaml.\n");
}

int cmd_run(int argc, char **argv) {
    const char *config = NULL, *out = NULL, *shard = NULL;
    const char **sets = calloc((size_t)argc, sizeof *sets);
    const char **only = calloc((size_t)argc, sizeof *only);
    int n_sets = 0, n_only = 0, dry = 0, quiet = 0, force = 0, rerun_stale = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        int has_next = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            free(sets), free(only);
            return 0;
        } else if (!strcmp(a, "--set") || !strcmp(a, "--out") || !strcmp(a, "--shard") || !strcmp(a, "--only")) {
            if (!has_next) {
                fprintf(stderr, "adbench: error: adbench run: option '%s' needs a value\n", a);
                free(sets), free(only);
                return 1;
            }
            const char *v = argv[++i];
            if (!strcmp(a, "--set")) sets[n_sets++] = v;
            else if (!strcmp(a, "--only")) only[n_only++] = v;
            else if (!strcmp(a, "--out")) out = v;
            else shard = v;
        } else if (!strncmp(a, "--set=", 6)) {
            sets[n_sets++] = a + 6;
        } else if (!strncmp(a, "--out=", 6)) {
            out = a + 6;
        } else if (!strncmp(a, "--only=", 7)) {
            only[n_only++] = a + 7;
        } else if (!strncmp(a, "--shard=", 8)) {
            shard = a + 8;
        } else if (!strcmp(a, "--dry-run")) {
            dry = 1;
        } else if (!strcmp(a, "--force")) {
            force = 1;
        } else if (!strcmp(a, "--rerun-stale")) {
            rerun_stale = 1;
        } else if (!strcmp(a, "--quiet")) {
            quiet = 1;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr,
                    "adbench: error: adbench run: unknown option '%s'; valid options: --set, --out, --dry-run, --quiet, "
                    "--shard, --only, --rerun-stale, --force\n",
                    a);
            free(sets), free(only);
            return 1;
        } else if (!config) {
            config = a;
        } else {
            fprintf(stderr, "adbench: error: adbench run: unexpected argument '%s' (one config file per run)\n", a);
            free(sets), free(only);
            return 1;
        }
    }
    if (!config) {
        usage(stderr);
        free(sets), free(only);
        return 1;
    }
    runlog_set_argv(argc, argv);  // the header line of OUTDIR/run.log
    RunOptions o = {out, dry, quiet, 0, 1, NULL, stdout, only, n_only, force, rerun_stale};
    if (shard) {
        char *end;
        long i = strtol(shard, &end, 10);
        long n = *end == '/' ? strtol(end + 1, &end, 10) : -1;
        if (*end || n < 1 || i < 0 || i >= n) {
            fprintf(stderr, "adbench: error: --shard %s: expected i/n with 0 <= i < n (e.g. --shard 0/4, or "
                            "$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT)\n", shard);
            free(sets), free(only);
            return 1;
        }
        o.shard_i = (int)i, o.shard_n = (int)n;
    }
    Config cfg;
    if (config_load(&cfg, config, sets, n_sets, NULL)) {
        free(sets), free(only);
        ad_die_user();
    }
    free(sets);
    int rc = runner_run(&cfg, &o);
    free(only);
    config_free(&cfg);
    if (rc) ad_die_user();
    return 0;
}
