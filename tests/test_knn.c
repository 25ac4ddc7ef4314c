// GEMM kNN kernels (methods/knn.c) against their naive twins on awkward shapes.
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "knn.h"

static uint64_t rng_state;
static float frand(void) {  // uniform [-1, 1), splitmix64
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (float)((double)(z >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static float *rand_unit_rows(int n, int d, uint64_t seed) {
    rng_state = seed;
    float *x = malloc((size_t)n * d * sizeof(float));
    for (int i = 0; i < n; i++) {
        double s = 0;
        for (int c = 0; c < d; c++) {
            float v = frand();
            x[(size_t)i * d + c] = v;
            s += (double)v * v;
        }
        for (int c = 0; c < d; c++) x[(size_t)i * d + c] = (float)(x[(size_t)i * d + c] / sqrt(s));
    }
    return x;
}

static void check_max_ip(int na, int nb, int d, const uint8_t *valid) {
    float *A = rand_unit_rows(na, d, 1000 + na), *B = rand_unit_rows(nb, d, 2000 + nb);
    float *a = malloc(na * sizeof(float)), *b = malloc(nb * sizeof(float));
    float *ar = malloc(na * sizeof(float)), *br = malloc(nb * sizeof(float));
    knn_max_ip(a, b, A, na, B, nb, d, valid);
    knn_max_ip_ref(ar, br, A, na, B, nb, d, valid);
    for (int p = 0; p < na; p++) cr_assert(fabsf(a[p] - ar[p]) <= 1e-5f, "a_max[%d] %g vs %g", p, a[p], ar[p]);
    for (int q = 0; q < nb; q++) {
        if (valid && !valid[q]) {
            cr_assert(isinf(b[q]) && b[q] < 0, "excluded b_max[%d] = %g, expected -inf", q, b[q]);
            continue;
        }
        cr_assert(fabsf(b[q] - br[q]) <= 1e-5f, "b_max[%d] %g vs %g", q, b[q], br[q]);
    }
    // Either output may be NULL.
    float *a2 = malloc(na * sizeof(float)), *b2 = malloc(nb * sizeof(float));
    knn_max_ip(a2, NULL, A, na, B, nb, d, valid);
    knn_max_ip(NULL, b2, A, na, B, nb, d, valid);
    cr_assert(!memcmp(a, a2, na * sizeof(float)));
    cr_assert(!memcmp(b, b2, nb * sizeof(float)));
    free(A), free(B), free(a), free(b), free(ar), free(br), free(a2), free(b2);
}

Test(knn, max_ip_small_awkward_shapes) {
    check_max_ip(1, 1, 1, NULL);
    check_max_ip(37, 300, 17, NULL);
    check_max_ip(513, 45, 65, NULL);
    check_max_ip(1100, 2051, 5, NULL);  // tiles of at most 1024 rows: A 2 x 550, B 3 x 684 (last 683)
    check_max_ip(2049, 3, 7, NULL);     // A 3 tiles, uneven remainder
}

Test(knn, max_ip_b_valid_mask) {
    uint8_t v[300];
    for (int q = 0; q < 300; q++) v[q] = (q % 7) != 3 && q != 0 && q != 299;
    check_max_ip(41, 300, 23, v);
    // Nothing valid: a_max = -inf everywhere.
    memset(v, 0, sizeof v);
    float *A = rand_unit_rows(5, 8, 1), *B = rand_unit_rows(300, 8, 2), a[5], b[300];
    knn_max_ip(a, b, A, 5, B, 300, 8, v);
    for (int p = 0; p < 5; p++) cr_assert(isinf(a[p]) && a[p] < 0);
    for (int q = 0; q < 300; q++) cr_assert(isinf(b[q]) && b[q] < 0);
    free(A), free(B);
}

// MuSc's real shapes (518 px -> 1369 patches; 336 px -> 577), D = 1024. One pair each; the
// naive twin runs on a sample of rows (b_max[q] is a_max of B_q queried against A).
static void check_max_ip_large(int P, int D) {
    float *A = rand_unit_rows(P, D, 7 + P), *B = rand_unit_rows(P, D, 9 + P);
    float *a = malloc(P * sizeof(float)), *b = malloc(P * sizeof(float));
    knn_max_ip(a, b, A, P, B, P, D, NULL);
    int rows[8] = {0, 1, 255, 256, P / 2, P / 2 + 1, P - 2, P - 1};  // tile edges: 1369 = 685 + 684
    for (int t = 0; t < 8; t++) {
        int r = rows[t];
        float ra, rb;
        knn_max_ip_ref(&ra, NULL, A + (size_t)r * D, 1, B, P, D, NULL);
        knn_max_ip_ref(&rb, NULL, B + (size_t)r * D, 1, A, P, D, NULL);
        cr_assert(fabsf(a[r] - ra) <= 1e-5f, "P=%d a_max[%d] %g vs %g", P, r, a[r], ra);
        cr_assert(fabsf(b[r] - rb) <= 1e-5f, "P=%d b_max[%d] %g vs %g", P, r, b[r], rb);
    }
    free(A), free(B), free(a), free(b);
}

Test(knn, max_ip_musc_shapes) {
    check_max_ip_large(577, 1024);
    check_max_ip_large(1369, 1024);
}

static float *rand_rows(int n, int d, uint64_t seed, float scale) {
    rng_state = seed;
    float *x = malloc((size_t)n * d * sizeof(float));
    for (size_t i = 0; i < (size_t)n * d; i++) x[i] = scale * frand();
    return x;
}

Test(knn, l2sq_matches_naive) {
    int nq = 300, nb = 700, d = 33, k = 5;
    float *Q = rand_rows(nq, d, 11, 3.f), *B = rand_rows(nb, d, 12, 3.f);
    float *dist = malloc(nq * k * sizeof(float)), *dr = malloc(nq * k * sizeof(float));
    int *idx = malloc(nq * k * sizeof(int)), *ir = malloc(nq * k * sizeof(int));
    knn_l2sq(dist, idx, Q, nq, B, nb, d, k);
    knn_l2sq_ref(dr, ir, Q, nq, B, nb, d, k);
    for (int i = 0; i < nq * k; i++) {
        cr_assert(fabsf(dist[i] - dr[i]) <= 1e-5f * fmaxf(1.f, dr[i]), "dist[%d] %g vs %g", i, dist[i], dr[i]);
        if (i % k) cr_assert(dist[i] >= dist[i - 1], "not ascending at %d", i);
        // Indices agree unless two candidates are closer than the float error.
        int gap_ok = 1;
        if (i % k && fabsf(dr[i] - dr[i - 1]) < 1e-4f) gap_ok = 0;
        if ((i + 1) % k && fabsf(dr[i + 1] - dr[i]) < 1e-4f) gap_ok = 0;
        if (gap_ok) cr_assert_eq(idx[i], ir[i], "idx[%d] %d vs %d", i, idx[i], ir[i]);
    }
    free(Q), free(B), free(dist), free(dr), free(idx), free(ir);
}

Test(knn, l2sq_ties_lower_index_first_and_clamped) {
    // Bank of 600 rows where rows 5, 300 and 599 equal the query exactly, and rows 7 and 400
    // are at the same distance: k = 5 must list 5, 300, 599 (distance 0, never negative), then 7, 400.
    int nb = 600, d = 19, k = 5;
    float *B = rand_rows(nb, d, 21, 10.f);
    float q[19];
    for (int c = 0; c < d; c++) q[c] = 0.37f * (float)c - 2.f;
    memcpy(B + 5 * d, q, sizeof q), memcpy(B + 300 * d, q, sizeof q), memcpy(B + 599 * d, q, sizeof q);
    for (int c = 0; c < d; c++) B[7 * d + c] = B[400 * d + c] = q[c] + (c == 3 ? 0.5f : 0.f);
    float dist[5], dr[5];
    int idx[5], ir[5];
    knn_l2sq(dist, idx, q, 1, B, nb, d, k);
    knn_l2sq_ref(dr, ir, q, 1, B, nb, d, k);
    int want[5] = {5, 300, 599, 7, 400};
    for (int t = 0; t < 5; t++) {
        cr_assert_eq(idx[t], want[t], "rank %d: idx %d, expected %d", t, idx[t], want[t]);
        cr_assert_eq(ir[t], want[t], "ref rank %d: idx %d, expected %d", t, ir[t], want[t]);
    }
    for (int t = 0; t < 3; t++) cr_assert(dist[t] >= 0.f && dist[t] <= 1e-4f, "dist[%d] = %g", t, dist[t]);
    cr_assert(fabsf(dist[3] - 0.25f) < 1e-3f && dist[3] == dist[4]);
    free(B);
}

Test(knn, l2sq_same_for_1_and_2_threads) {
    int nq = 777, nb = 500, d = 40, k = 3;
    float *Q = rand_rows(nq, d, 31, 1.f), *B = rand_rows(nb, d, 32, 1.f);
    float *d1 = malloc(nq * k * sizeof(float)), *d2 = malloc(nq * k * sizeof(float));
    int *i1 = malloc(nq * k * sizeof(int)), *i2 = malloc(nq * k * sizeof(int));
    omp_set_num_threads(1);
    knn_l2sq(d1, i1, Q, nq, B, nb, d, k);
    omp_set_num_threads(2);
    knn_l2sq(d2, i2, Q, nq, B, nb, d, k);
    cr_assert(!memcmp(d1, d2, nq * k * sizeof(float)));
    cr_assert(!memcmp(i1, i2, nq * k * sizeof(int)));
    free(Q), free(B), free(d1), free(d2), free(i1), free(i2);
}

// The pair loops call BLAS inside OpenMP regions and rely on the OpenMP OpenBLAS build
// running it on the calling thread only (nested threading would oversubscribe and make the
// pair-parallel speed-up vanish). Check it by CPU time: while one thread of a 2-thread
// region runs an sgemm (the other waits at the barrier), the process must burn about one
// thread's worth of CPU.
#include <cblas.h>
#include <time.h>
static double cpu_s(clockid_t id) {
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

Test(knn, blas_inside_parallel_region_is_single_threaded) {
    int n = 1024;
    float *a = rand_rows(n, n, 41, 1.f), *b = rand_rows(n, n, 42, 1.f), *c = malloc((size_t)n * n * sizeof(float));
    omp_set_num_threads(2);
    double thread_cpu = 0, proc_cpu = 0;
    int in_parallel = 0;
#pragma omp parallel num_threads(2)
    {
#pragma omp master
        {
            in_parallel = omp_in_parallel() && omp_get_num_threads() == 2;
            double p0 = cpu_s(CLOCK_PROCESS_CPUTIME_ID), t0 = cpu_s(CLOCK_THREAD_CPUTIME_ID);
            for (int r = 0; r < 3; r++)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.f, a, n, b, n, 0.f, c, n);
            thread_cpu = cpu_s(CLOCK_THREAD_CPUTIME_ID) - t0;
            proc_cpu = cpu_s(CLOCK_PROCESS_CPUTIME_ID) - p0;
        }
    }
    if (!in_parallel) cr_skip_test("only one OpenMP thread available");
    // The waiting thread's barrier spin adds a little; a second BLAS thread would add ~100%.
    cr_assert(proc_cpu < 1.35 * thread_cpu, "process CPU %.3f s vs calling thread %.3f s: BLAS used more threads",
              proc_cpu, thread_cpu);
    free(a), free(b), free(c);
}

// PatchCore-like shapes at D = 1024: 577 queries (two query blocks + remainder) against a
// 1369-row bank (six bank tiles); the naive twin on a sample of queries (they are independent).
Test(knn, l2sq_large_shapes_sampled) {
    int nq = 577, nb = 1369, d = 1024, k = 3;
    float *Q = rand_rows(nq, d, 51, 1.f), *B = rand_rows(nb, d, 52, 1.f);
    float *dist = malloc((size_t)nq * k * sizeof(float));
    int *idx = malloc((size_t)nq * k * sizeof(int));
    knn_l2sq(dist, idx, Q, nq, B, nb, d, k);
    int rows[5] = {0, 1, 255, 256, 576};
    for (int t = 0; t < 5; t++) {
        int r = rows[t];
        float dr[3];
        int ir[3];
        knn_l2sq_ref(dr, ir, Q + (size_t)r * d, 1, B, nb, d, k);
        for (int c = 0; c < k; c++) {
            cr_assert(fabsf(dist[r * k + c] - dr[c]) <= 1e-5f * dr[c], "row %d rank %d: %g vs %g", r, c, dist[r * k + c], dr[c]);
            cr_assert_eq(idx[r * k + c], ir[c], "row %d rank %d", r, c);
        }
    }
    free(Q), free(B), free(dist), free(idx);
}
