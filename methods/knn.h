// Nearest-neighbour kernels on GEMM (OpenBLAS sgemm), shared by every method. Each fast
// kernel has a naive *_ref twin beside it; tests compare the two on awkward shapes.
#pragma once
#include <stdint.h>

// One similarity block between A (na x d) and B (nb x d), both row-major:
// a_max[p] = max_q <A_p, B_q> and b_max[q] = max_p <A_p, B_q> (either output may be NULL).
// b_valid (nb bytes, may be NULL) excludes rows of B from a_max; b_max of excluded rows is -INF.
// Single-threaded inside: callers parallelise over pairs (no nested BLAS threading).
void knn_max_ip(float *a_max, float *b_max, const float *A, int na, const float *B, int nb, int d,
                const uint8_t *b_valid);
void knn_max_ip_ref(float *a_max, float *b_max, const float *A, int na, const float *B, int nb, int d,
                    const uint8_t *b_valid);

// k nearest rows of bank B (nb x d) for each query Q (nq x d) by squared L2 distance, computed
// as |q|^2 + |b|^2 - 2 q.b and clamped at 0; dist/idx are nq x k, ascending. Parallel over
// query blocks (OpenMP), deterministic for any thread count.
void knn_l2sq(float *dist, int *idx, const float *Q, int nq, const float *B, int nb, int d, int k);
void knn_l2sq_ref(float *dist, int *idx, const float *Q, int nq, const float *B, int nb, int d, int k);
