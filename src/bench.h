// `adbench bench NAME`: each benchmark prints its figures as ratios to baselines measured in
// the same run (OpenBLAS sgemm peak here; PyTorch via scripts/bench.sh).
#pragma once

// Single- and all-thread OpenBLAS sgemm GFLOP/s on an m x n x k problem (best of a few runs).
double bench_sgemm_gflops(int m, int n, int k, int threads);
double bench_now(void);  // monotonic seconds

int bench_metrics(int argc, char **argv);   // src/bench_metrics.c
int bench_vit(int argc, char **argv);       // backbones/bench_vit.c
int bench_resnet(int argc, char **argv);    // backbones/bench_resnet.c
int bench_msm(int argc, char **argv);       // methods/bench_msm.c
int bench_coreset(int argc, char **argv);   // methods/bench_coreset.c
int bench_codegraph(int argc, char **argv); // methods/bench_codegraph.c
