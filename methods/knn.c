// Nearest-neighbour kernels on GEMM (see knn.h). The fast kernels tile the similarity
// matrix and fold the reductions into the tile loop instead of writing the whole na x nb
// block to memory (anchors.md §2d).
//
// Tile size for knn_max_ip, measured (thread CPU time, 1369 x 1369 x 1024, OpenBLAS 0.3.21
// Haswell kernels on this EPYC, % of one bare sgemm of the whole block): 256^2 tiles (L2
// sized) 91-92%, 512^2 94-95%, 688^2 94-97%, 1024^2 95-97%, untiled 97%. Each sgemm call
// re-packs its operands, so small tiles cost more than the fold's extra cache misses:
// we use balanced tiles of at most MAXIP_TILE rows (1369 -> 2 x 685).
//
// Determinism: the tiling is fixed (it never depends on the thread count), and every
// output element is produced by one thread, so results are identical for any
// OMP_NUM_THREADS. Max reductions are exact (order-free).
#include "knn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "err.h"

#define MAXIP_TILE 1024  // knn_max_ip: at most this many rows of A and of B per GEMM
#define TILE_A 256       // knn_l2sq: queries per block (the unit of parallel work)
#define TILE_B 256       // knn_l2sq: bank rows per GEMM: a 256 x 256 tile = 256 KiB, in L2

// Balanced tiling: the fewest tiles of at most max rows, all of (nearly) equal size.
static int balanced_tile(int n, int max) {
    int nt = (n + max - 1) / max;
    if (nt < 1) nt = 1;
    return (n + nt - 1) / nt;
}

// ---------------------------------------------------------------------------------------
// knn_max_ip

// One pass over a tile C (ma x mb, leading dimension ldc): fold row and column maxima.
// Branch-free inner loops (one per output combination) so that the compiler vectorises them.
static void fold_tile_max(float *a_max, float *b_max, const float *C, int ma, int mb, int ldc) {
    for (int p = 0; p < ma; p++) {
        const float *c = C + (size_t)p * ldc;
        if (a_max && b_max) {
            float m = a_max[p];
            for (int q = 0; q < mb; q++) {
                float v = c[q];
                m = v > m ? v : m;
                b_max[q] = v > b_max[q] ? v : b_max[q];
            }
            a_max[p] = m;
        } else if (a_max) {
            float m = a_max[p];
            for (int q = 0; q < mb; q++) m = c[q] > m ? c[q] : m;
            a_max[p] = m;
        } else if (b_max) {
            for (int q = 0; q < mb; q++) b_max[q] = c[q] > b_max[q] ? c[q] : b_max[q];
        }
    }
}

// Dense kernel, every row of B valid.
static void max_ip_dense(float *a_max, float *b_max, const float *A, int na, const float *B, int nb, int d) {
    int ta = balanced_tile(na, MAXIP_TILE), tb = balanced_tile(nb, MAXIP_TILE);
    float *C = ad_malloc((size_t)(ta > 0 ? ta : 1) * (tb > 0 ? tb : 1) * sizeof(float));
    if (a_max)
        for (int p = 0; p < na; p++) a_max[p] = -INFINITY;
    if (b_max)
        for (int q = 0; q < nb; q++) b_max[q] = -INFINITY;
    for (int p0 = 0; p0 < na; p0 += ta) {
        int ma = na - p0 < ta ? na - p0 : ta;
        for (int q0 = 0; q0 < nb; q0 += tb) {
            int mb = nb - q0 < tb ? nb - q0 : tb;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, ma, mb, d, 1.f, A + (size_t)p0 * d, d,
                        B + (size_t)q0 * d, d, 0.f, C, mb);
            fold_tile_max(a_max ? a_max + p0 : NULL, b_max ? b_max + q0 : NULL, C, ma, mb, mb);
        }
    }
    free(C);
}

void knn_max_ip(float *a_max, float *b_max, const float *A, int na, const float *B, int nb, int d,
                const uint8_t *b_valid) {
    int nv = nb;
    if (b_valid) {
        nv = 0;
        for (int q = 0; q < nb; q++) nv += b_valid[q] != 0;
    }
    if (nv == nb) {
        max_ip_dense(a_max, b_max, A, na, B, nb, d);
        return;
    }
    // Some rows excluded: gather the valid ones (fewer FLOPs than masking the tiles).
    if (b_max)
        for (int q = 0; q < nb; q++) b_max[q] = -INFINITY;
    if (nv == 0) {
        if (a_max)
            for (int p = 0; p < na; p++) a_max[p] = -INFINITY;
        return;
    }
    float *Bv = ad_malloc((size_t)nv * d * sizeof(float));
    int *map = ad_malloc((size_t)nv * sizeof(int));
    for (int q = 0, t = 0; q < nb; q++)
        if (b_valid[q]) {
            memcpy(Bv + (size_t)t * d, B + (size_t)q * d, (size_t)d * sizeof(float));
            map[t++] = q;
        }
    float *bm = b_max ? ad_malloc((size_t)nv * sizeof(float)) : NULL;
    max_ip_dense(a_max, bm, A, na, Bv, nv, d);
    if (b_max)
        for (int t = 0; t < nv; t++) b_max[map[t]] = bm[t];
    free(bm);
    free(map);
    free(Bv);
}

void knn_max_ip_ref(float *a_max, float *b_max, const float *A, int na, const float *B, int nb, int d,
                    const uint8_t *b_valid) {
    if (a_max)
        for (int p = 0; p < na; p++) a_max[p] = -INFINITY;
    if (b_max)
        for (int q = 0; q < nb; q++) b_max[q] = -INFINITY;
    for (int p = 0; p < na; p++)
        for (int q = 0; q < nb; q++) {
            if (b_valid && !b_valid[q]) continue;
            double s = 0;
            for (int c = 0; c < d; c++) s += (double)A[(size_t)p * d + c] * B[(size_t)q * d + c];
            float v = (float)s;
            if (a_max && v > a_max[p]) a_max[p] = v;
            if (b_max && v > b_max[q]) b_max[q] = v;
        }
}

// ---------------------------------------------------------------------------------------
// knn_l2sq

// Insert (v, j) into the ascending list (dist, idx) of length k holding *cnt entries.
// Candidates arrive in ascending j, so placing v after equal values keeps "lower index
// first" on ties, and an equal value never displaces the current k-th.
static void topk_insert(float *dist, int *idx, int *cnt, int k, float v, int j) {
    int n = *cnt;
    if (n == k && !(v < dist[k - 1])) return;
    int pos = n < k ? n : k - 1;
    while (pos > 0 && dist[pos - 1] > v) {
        dist[pos] = dist[pos - 1];
        idx[pos] = idx[pos - 1];
        pos--;
    }
    dist[pos] = v;
    idx[pos] = j;
    if (n < k) *cnt = n + 1;
}

static void row_sqnorms(float *out, const float *X, int n, int d) {
    for (int i = 0; i < n; i++) {
        double s = 0;
        for (int c = 0; c < d; c++) s += (double)X[(size_t)i * d + c] * X[(size_t)i * d + c];
        out[i] = (float)s;
    }
}

void knn_l2sq(float *dist, int *idx, const float *Q, int nq, const float *B, int nb, int d, int k) {
    AD_ASSERT(k >= 1 && k <= nb);
    float *bn = ad_malloc((size_t)nb * sizeof(float));
    row_sqnorms(bn, B, nb, d);
    int nblk = (nq + TILE_A - 1) / TILE_A;
    // Blocks of queries are independent; BLAS inside the parallel region runs on one thread.
#pragma omp parallel
    {
        float *C = ad_malloc((size_t)TILE_A * TILE_B * sizeof(float));
        float *qn = ad_malloc((size_t)TILE_A * sizeof(float));
        int *cnt = ad_malloc((size_t)TILE_A * sizeof(int));
#pragma omp for schedule(dynamic, 1)
        for (int blk = 0; blk < nblk; blk++) {
            int p0 = blk * TILE_A, ma = nq - p0 < TILE_A ? nq - p0 : TILE_A;
            row_sqnorms(qn, Q + (size_t)p0 * d, ma, d);
            memset(cnt, 0, (size_t)ma * sizeof(int));
            for (int q0 = 0; q0 < nb; q0 += TILE_B) {
                int mb = nb - q0 < TILE_B ? nb - q0 : TILE_B;
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, ma, mb, d, 1.f, Q + (size_t)p0 * d, d,
                            B + (size_t)q0 * d, d, 0.f, C, mb);
                for (int p = 0; p < ma; p++) {
                    float *dp = dist + (size_t)(p0 + p) * k;
                    int *ip = idx + (size_t)(p0 + p) * k;
                    const float *c = C + (size_t)p * mb;
                    for (int q = 0; q < mb; q++) {
                        float v = qn[p] + bn[q0 + q] - 2.f * c[q];
                        if (v < 0.f) v = 0.f;  // round-off can make |q-b|^2 slightly negative
                        topk_insert(dp, ip, &cnt[p], k, v, q0 + q);
                    }
                }
            }
        }
        free(cnt);
        free(qn);
        free(C);
    }
    free(bn);
}

void knn_l2sq_ref(float *dist, int *idx, const float *Q, int nq, const float *B, int nb, int d, int k) {
    AD_ASSERT(k >= 1 && k <= nb);
    for (int p = 0; p < nq; p++) {
        int cnt = 0;
        for (int q = 0; q < nb; q++) {
            double s = 0;
            for (int c = 0; c < d; c++) {
                double t = (double)Q[(size_t)p * d + c] - B[(size_t)q * d + c];
                s += t * t;
            }
            topk_insert(dist + (size_t)p * k, idx + (size_t)p * k, &cnt, k, (float)s, q);
        }
    }
}
