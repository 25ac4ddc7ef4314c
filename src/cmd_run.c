// adbench run CONFIG.yaml [--set key=value]... [--out DIR] [--dry-run] [--quiet] [--shard i/n] [--only DS/CAT]... [--rerun-stale] [--force]
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "err.h"
#include "opts.h"
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
    const char *out = NULL, *shard = NULL, *dry_s = NULL, *quiet_s = NULL, *force_s = NULL, *stale_s = NULL;
    const char **sets = calloc((size_t)argc, sizeof *sets);
    const char **only = calloc((size_t)argc, sizeof *only);
    int n_sets = 0, n_only = 0;
    if (opts_wants_help(argc, argv, 2)) {
        usage(stdout);
        free(sets), free(only);
        return 0;
    }
    const Opt opts[] = {  // help texts: usage() above
        {"set", OPT_LIST, sets, ""},  {"out", 1, &out, ""},          {"dry-run", 0, &dry_s, ""},
        {"quiet", 0, &quiet_s, ""},   {"shard", 1, &shard, ""},      {"only", OPT_LIST, only, ""},
        {"rerun-stale", 0, &stale_s, ""}, {"force", 0, &force_s, ""},
    };
    const char *pos[1] = {NULL};
    if (opts_parse("run", argc, argv, 2, opts, (int)(sizeof opts / sizeof *opts), pos, 1) < 0) {
        free(sets), free(only);
        ad_die_user();
    }
    while (sets[n_sets]) n_sets++;
    while (only[n_only]) n_only++;
    const char *config = pos[0];
    int dry = dry_s != NULL, quiet = quiet_s != NULL, force = force_s != NULL, rerun_stale = stale_s != NULL;
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
