// Sub-commands of build/adbench. Each returns the process exit code (0 ok, 1 user error).
// Each lives in its own file src/cmd_<name>.c; options are parsed with src/opts.h.
#pragma once

#define ADBENCH_VERSION "0.1.0"

int cmd_metrics(int argc, char **argv);   // src/cmd_metrics.c
int cmd_datasets(int argc, char **argv);  // src/cmd_datasets.c
int cmd_synth(int argc, char **argv);     // src/cmd_synth.c
int cmd_features(int argc, char **argv);  // src/cmd_features.c
int cmd_run(int argc, char **argv);       // src/cmd_run.c
int cmd_compare(int argc, char **argv);   // src/cmd_compare.c
int cmd_merge(int argc, char **argv);     // src/cmd_merge.c
int cmd_bench(int argc, char **argv);     // src/cmd_bench.c
int cmd_params(int argc, char **argv);    // src/cmd_params.c
int cmd_predict(int argc, char **argv);   // src/cmd_predict.c
int cmd_report(int argc, char **argv);    // src/cmd_report.c
