// PatchCore's approximate greedy coreset (see coreset.h for the exact draws and order).
#include "coreset.h"

#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "bench.h"
#include "err.h"
#include "upstream_rng.h"

uint64_t splitmix64_next(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

double splitmix64_uniform(uint64_t *s) { return (double)(splitmix64_next(s) >> 11) * 0x1p-53; }

void coreset_draws(int *starts, int *n_starts_out, float **W, long N, int d, const CoresetConfig *c) {
    int ns = c->n_starts < N ? c->n_starts : (int)N;
    if (c->rng == CORESET_RNG_UPSTREAM) {
        AD_ASSERT(N <= 2147483647L);
        Mt19937 np_rng, torch_rng;
        mt19937_seed(&np_rng, (uint32_t)c->seed);
        numpy_choice_noreplace(starts, (int)N, ns, &np_rng);
        *n_starts_out = ns;
        *W = NULL;
        if (d == c->proj_dim) return;
        mt19937_seed(&torch_rng, (uint32_t)c->seed);
        float *w = ad_malloc((size_t)c->proj_dim * d * sizeof(float));
        torch_linear_weight(w, c->proj_dim, d, &torch_rng);
        *W = w;
        return;
    }
    AD_ASSERT(c->rng == CORESET_RNG_SPLITMIX64);
    uint64_t st = c->seed;
    for (int i = 0; i < ns; i++) {
        for (;;) {
            int j = (int)(splitmix64_next(&st) % (uint64_t)N);
            int dup = 0;
            for (int t = 0; t < i; t++) dup |= starts[t] == j;
            if (!dup) {
                starts[i] = j;
                break;
            }
        }
    }
    *n_starts_out = ns;
    *W = NULL;
    if (d == c->proj_dim) return;
    float *w = ad_malloc((size_t)c->proj_dim * d * sizeof(float));
    double bound = 1.0 / sqrt((double)d);
    for (size_t i = 0; i < (size_t)c->proj_dim * d; i++)
        w[i] = (float)((2.0 * splitmix64_uniform(&st) - 1.0) * bound);
    *W = w;
}

long coreset_count(long N, double ratio) { return (long)floor((double)N * ratio); }

// ---------------------------------------------------------------------------------------
// Distances in 16 lanes: lane l accumulates dims l, l+16, l+32, ...; lanes are then summed
// by a fixed tree. head_sq() is the same computation over dims < min(16, D) only, so for
// non-negative terms (float rounding is monotone) head_sq(a, b) <= full_sq(a, b) exactly.
#define LANES 16

// GCC/Clang vector extension: element-wise float ops in the 16 lanes (one zmm with AVX-512,
// split into narrower registers otherwise; the per-lane arithmetic is the same).
typedef float v16f __attribute__((vector_size(64)));

static inline v16f load16(const float *p) {
    v16f v;
    memcpy(&v, p, sizeof v);
    return v;
}

// The first n (< 16) floats of p, zero-padded: padded lanes add 0*0 = +0, which leaves a
// non-negative accumulator unchanged.
static inline v16f load_part(const float *p, int n) {
    float t[LANES] = {0};
    memcpy(t, p, (size_t)n * sizeof(float));
    return load16(t);
}

// Fixed tree: lanes l and l+8 (l < 8), then l and l+4, l and l+2, then 0 and 1, i.e.
// ((c0 + c2) + (c1 + c3)) of c = the 4-lane sums; done on half vectors (no memory trip).
typedef float v8f __attribute__((vector_size(32)));
typedef float v4f __attribute__((vector_size(16)));

static inline float lane_tree(v16f acc) {
    v8f lo, hi;
    memcpy(&lo, &acc, sizeof lo);
    memcpy(&hi, (const char *)&acc + sizeof lo, sizeof hi);
    v8f b = lo + hi;
    v4f l4, h4;
    memcpy(&l4, &b, sizeof l4);
    memcpy(&h4, (const char *)&b + sizeof l4, sizeof h4);
    v4f c = l4 + h4;
    return (c[0] + c[2]) + (c[1] + c[3]);
}

static inline float full_sq(const float *a, const float *b, int D) {
    v16f acc = {0};
    int k = 0;
    for (; k + LANES <= D; k += LANES) {
        v16f t = load16(a + k) - load16(b + k);
        acc += t * t;
    }
    if (k < D) {
        v16f t = load_part(a + k, D - k) - load_part(b + k, D - k);
        acc += t * t;
    }
    return lane_tree(acc);
}

static inline float head_sq(const float *a, const float *b, int D) {
    v16f t = D >= LANES ? load16(a) - load16(b) : load_part(a, D) - load_part(b, D);
    v16f acc = {0};
    acc += t * t;
    return lane_tree(acc);
}

// dist(m) = mean over the starts of ||P_m - P_s|| (sum in start order, then divide).
static void init_dist(float *dist, const float *P, long N, int D, const int *starts, int ns) {
#pragma omp parallel for schedule(static)
    for (long m = 0; m < N; m++) {
        float s = 0.f;
        for (int t = 0; t < ns; t++) s += sqrtf(full_sq(P + (size_t)m * D, P + (size_t)starts[t] * D, D));
        dist[m] = s / (float)ns;
    }
}

static long argmax_first(const float *dist, long N) {
    long best = 0;
    for (long m = 1; m < N; m++)
        if (dist[m] > dist[best]) best = m;
    return best;
}

void coreset_greedy_ref(int *sel, const float *P, long N, int D, long n_sel, const int *starts, int ns) {
    float *dist = ad_malloc((size_t)N * sizeof(float));
    init_dist(dist, P, N, D, starts, ns);
    for (long it = 0; it < n_sel; it++) {
        long s = argmax_first(dist, N);
        sel[it] = (int)s;
        for (long m = 0; m < N; m++) {
            float v = sqrtf(full_sq(P + (size_t)m * D, P + (size_t)s * D, D));
            if (v < dist[m]) dist[m] = v;
        }
    }
    free(dist);
}

long coreset_parallel_min = 32768;
#define BLOCK 512    // points per head-test block
#define PREFETCH 6   // survivors prefetched ahead

long coreset_greedy_scan(int *sel, const float *P, long N, int D, long n_sel, const int *starts, int ns) {
    if (n_sel <= 0) return 0;
    float *dist = ad_malloc((size_t)N * sizeof(float));
    init_dist(dist, P, N, D, starts, ns);
    // The first LANES dims of every point, contiguous: the skip test reads 64 bytes a point.
    int h = D < LANES ? D : LANES;
    float *head = ad_malloc((size_t)N * h * sizeof(float));
    for (long m = 0; m < N; m++) memcpy(head + (size_t)m * h, P + (size_t)m * D, (size_t)h * sizeof(float));
    int nt = omp_get_max_threads();
    float *tbest = ad_malloc((size_t)nt * sizeof(float));
    long *tidx = ad_malloc((size_t)nt * sizeof(long));
    long s = argmax_first(dist, N), full = 0;
    for (long it = 0; it < n_sel; it++) {
        sel[it] = (int)s;
        if (it + 1 == n_sel) break;
        const float *ps = P + (size_t)s * D;
        const float *hs = head + (size_t)s * h;
        // Update dist and find the next argmax in the same pass; per-thread (max, lowest
        // index) over a static partition, merged in thread order = the sequential argmax.
#pragma omp parallel num_threads(nt) if (N >= coreset_parallel_min) reduction(+ : full)
        {
            int t = omp_get_thread_num(), T = omp_get_num_threads();
            long lo = N * t / T, hi = N * (t + 1) / T;
            float best = -FLT_MAX;
            long bi = -1;
            int cand[BLOCK];
            for (long b0 = lo; b0 < hi; b0 += BLOCK) {
                long b1 = b0 + BLOCK < hi ? b0 + BLOCK : hi;
                // 1. Head test on a block; a point fails it when ||P_m - P_s|| >= hd >= dist.
                int nc = 0;
                for (long m = b0; m < b1; m++)
                    if (sqrtf(head_sq(head + (size_t)m * h, hs, h)) < dist[m]) cand[nc++] = (int)(m - b0);
                // 2. Full distances of the survivors, their rows prefetched a few ahead (the
                // accesses are sparse, so the hardware prefetcher cannot guess them).
                for (int j = 0; j < nc; j++) {
                    if (j + PREFETCH < nc) {
                        const char *r = (const char *)(P + (size_t)(b0 + cand[j + PREFETCH]) * D);
                        for (size_t o = 0; o < (size_t)D * sizeof(float); o += 64) __builtin_prefetch(r + o);
                    }
                    long m = b0 + cand[j];
                    float v = sqrtf(full_sq(P + (size_t)m * D, ps, D));
                    if (v < dist[m]) dist[m] = v;
                }
                full += nc;
                // 3. Running argmax (first maximum).
                for (long m = b0; m < b1; m++)
                    if (dist[m] > best) best = dist[m], bi = m;
            }
            tbest[t] = best;
            tidx[t] = bi;
            if (t == 0)
                for (int u = T; u < nt; u++) tidx[u] = -1;
        }
        long bi = -1;
        float best = -FLT_MAX;
        for (int t = 0; t < nt; t++)
            if (tidx[t] >= 0 && (bi < 0 || tbest[t] > best)) best = tbest[t], bi = tidx[t];
        s = bi;
    }
    free(tidx);
    free(tbest);
    free(head);
    free(dist);
    return full;
}

// ---------------------------------------------------------------------------------------
// Cluster-pruned greedy. Every point belongs to the cluster of the pick that gave its
// current dist (cluster 0: the start set, whose dist is the mean over the starts). For a
// new pick c and a cluster with centre o, the triangle inequality gives
// ||m - c|| >= ||c - o|| - ||m - o|| = ||c - o|| - dist(m)   (start set: averaged over the
// starts), so dist(m) cannot shrink when ||c - o|| >= 2 dist(m): a whole cluster is skipped
// when ||c - o|| >= 2 * (its largest dist). The test carries a relative margin eps several
// times the rounding bound of the lane sums, so the skipped points provably keep their dist
// and the picks equal the reference's bit for bit.
typedef struct {
    int *mem;      // member point indices (any order)
    int n, cap;
    float rad;     // largest dist among the members
    long arg;      // its lowest index
} Cluster;

static void cluster_push(Cluster *c, int m) {
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 16;
        c->mem = ad_realloc(c->mem, (size_t)c->cap * sizeof(int));
    }
    c->mem[c->n++] = m;
}

static void cluster_max(Cluster *c, const float *dist) {
    float r = -FLT_MAX;
    long a = -1;
    for (int j = 0; j < c->n; j++) {
        int m = c->mem[j];
        if (dist[m] > r || (dist[m] == r && m < a)) r = dist[m], a = m;
    }
    c->rad = r, c->arg = a;
}

long coreset_greedy(int *sel, const float *P, long N, int D, long n_sel, const int *starts, int ns) {
    if (n_sel <= 0) return 0;
    AD_ASSERT(N <= 2147483647L);
    float *dist = ad_malloc((size_t)N * sizeof(float));
    init_dist(dist, P, N, D, starts, ns);
    double eps = 4.0 * ((D + LANES - 1) / LANES + 8 + ns) * FLT_EPSILON;
    Cluster *cl = ad_calloc((size_t)n_sel + 1, sizeof(Cluster));
    cl[0].mem = ad_malloc((size_t)N * sizeof(int));
    cl[0].cap = (int)N;
    for (long m = 0; m < N; m++) cl[0].mem[cl[0].n++] = (int)m;
    cluster_max(&cl[0], dist);
    // The picks' rows, contiguous: the per-pick distances to every centre stream through them.
    float *cen = ad_malloc((size_t)n_sel * D * sizeof(float));
    long full = 0, s = cl[0].arg;
    for (long it = 0; it < n_sel; it++) {
        sel[it] = (int)s;
        if (it + 1 == n_sel) break;
        const float *ps = P + (size_t)s * D;
        memcpy(cen + (size_t)it * D, ps, (size_t)D * sizeof(float));
        Cluster *nc = &cl[it + 1];  // the new pick's cluster
        for (long k = 0; k <= it; k++) {
            Cluster *c = &cl[k];
            if (c->n == 0 || c->rad <= 0.f) continue;  // dist 0 never shrinks
            double dk;
            if (k == 0) {
                float a = 0.f;
                for (int t = 0; t < ns; t++) a += sqrtf(full_sq(ps, P + (size_t)starts[t] * D, D));
                dk = a / (float)ns;
            } else {
                // The head (first 16 dims) distance never exceeds the full one: when it
                // alone clears the cluster, the full distance is not needed.
                const float *ck = cen + (size_t)(k - 1) * D;
                double hk = sqrtf(head_sq(ps, ck, D < LANES ? D : LANES));
                if (c->rad <= hk / (2.0 * (1.0 + eps)) - 1e-30) continue;
                dk = sqrtf(full_sq(ps, ck, D));
            }
            double lim = dk / (2.0 * (1.0 + eps)) - 1e-30;  // member m may change only if dist(m) > lim
            if (c->rad <= lim) continue;
            int keep = 0;
            for (int j = 0; j < c->n; j++) {
                int m = c->mem[j];
                if (dist[m] > lim) {
                    full++;
                    float v = sqrtf(full_sq(P + (size_t)m * D, ps, D));
                    if (v < dist[m]) {
                        dist[m] = v;
                        cluster_push(nc, m);
                        continue;
                    }
                }
                c->mem[keep++] = m;
            }
            c->n = keep;
            cluster_max(c, dist);
        }
        cluster_max(nc, dist);
        // Next pick: the largest dist, lowest index on ties (= the reference's argmax).
        float best = -FLT_MAX;
        long bi = -1;
        for (long k = 0; k <= it + 1; k++)
            if (cl[k].n && (cl[k].rad > best || (cl[k].rad == best && cl[k].arg < bi))) best = cl[k].rad, bi = cl[k].arg;
        s = bi;
    }
    for (long k = 0; k <= n_sel; k++) free(cl[k].mem);
    free(cl);
    free(cen);
    free(dist);
    return full;
}

void coreset_select(int *sel, const float *X, long N, int d, long n_sel, const CoresetConfig *c,
                    double *proj_seconds, double *full_fraction) {
    AD_ASSERT(N >= 1 && n_sel <= N);
    int starts[1024];
    AD_ASSERT(c->n_starts <= 1024);
    int ns;
    float *W;
    coreset_draws(starts, &ns, &W, N, d, c);
    double t0 = bench_now();
    const float *P = X;
    float *Pbuf = NULL;
    int D = d;
    if (W) {
        D = c->proj_dim;
        Pbuf = ad_malloc((size_t)N * D * sizeof(float));
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, D, d, 1.f, X, d, W, d, 0.f, Pbuf, D);
        P = Pbuf;
    }
    if (proj_seconds) *proj_seconds = bench_now() - t0;
    long full = coreset_greedy(sel, P, N, D, n_sel, starts, ns);
    if (full_fraction) *full_fraction = n_sel > 1 ? (double)full / ((double)N * (n_sel - 1)) : 0;
    free(Pbuf);
    free(W);
}
