// PatchCore's approximate greedy coreset (../shared/docs/algorithms.md §4.1 step 8;
// upstream: amazon-science/patchcore-inspection fcaa92f, sampler.py
// ApproximateGreedyCoresetSampler), with seeded random draws that tests
// (tests/gen/gen_membank.py) regenerate exactly.
//
// rng CORESET_RNG_UPSTREAM (default; coreset_rng: upstream) makes upstream's own draws
// (upstream_rng.h): the starts are numpy's legacy np.random.choice(N, n_starts',
// replace=False) after np.random.seed(seed); W (only when d != proj_dim) is
// torch.nn.Linear(d, proj_dim, bias=False).weight drawn from torch's CPU generator right
// after torch.manual_seed(seed). Two independent generators, both seeded with seed.
// (Upstream's bin/run_patchcore.py calls fix_seeds(seed) -- random, np.random and torch --
// and then builds the backbone, whose random init advances torch's generator before the
// sampler's Linear is made; the numpy starts match that script, W matches the sampler run
// right after torch.manual_seed(seed).)
//
// rng CORESET_RNG_SPLITMIX64 (coreset_rng: splitmix64): splitmix64 (Vigna). One stream
// seeded with `seed` gives, in this order:
//   1. the start indices: n_starts draws j = next() % N, a draw equal to an earlier start is
//      redrawn (sampling without replacement; n_starts is clipped to N);
//   2. only when d != proj_dim (upstream skips the projection then): the proj_dim x d
//      projection matrix W, row-major, W[r][c] = (float)((2u - 1) / sqrt(d)) with
//      u = (next() >> 11) * 2^-53, i.e. U(-1/sqrt(d), 1/sqrt(d)) like torch.nn.Linear's
//      default init, but not torch's stream.
#pragma once
#include <stdint.h>

enum { CORESET_RNG_UPSTREAM = 0, CORESET_RNG_SPLITMIX64 = 1 };

typedef struct {
    int proj_dim;   // 128: width of the random projection
    int n_starts;   // 10: random starts whose mean distance initialises dist
    uint64_t seed;  // upstream: the low 32 bits seed torch and numpy (both take s < 2^32)
    int rng;        // CORESET_RNG_UPSTREAM (0) | CORESET_RNG_SPLITMIX64
} CoresetConfig;

uint64_t splitmix64_next(uint64_t *state);
double splitmix64_uniform(uint64_t *state);  // [0, 1), 53 bits

// The random draws of one run: starts[n_starts'] (n_starts' = min(n_starts, N)) and, when
// d != proj_dim, W[proj_dim][d] (else *W = NULL). Both malloc'd.
void coreset_draws(int *starts, int *n_starts_out, float **W, long N, int d, const CoresetConfig *c);

// Number of coreset points upstream keeps: int(N * ratio) (ratio 1 keeps everything and
// needs no selection).
long coreset_count(long N, double ratio);

// Greedy selection on already-projected points P (N x D, row-major): starts as above,
// dist(m) = mean over starts of ||P_m - P_s||, then n_sel times: sel = argmax dist (ties ->
// lowest index), dist = min(dist, ||P_m - P_sel||). sel[] gets the indices in selection
// order. Distances are sqrt(sum (a-b)^2) computed in 16 float lanes (dim k -> lane k % 16)
// with a fixed reduction tree, identically in both versions.
// coreset_greedy (used by coreset_select): sequential, prunes with the triangle inequality:
// each point remembers the pick that gave its dist, and a pick's whole cluster is skipped
// when the new pick lies >= 2x the cluster's largest dist away from its centre (with a
// margin above the rounding bound, so the picks are bit-identical to the reference).
// coreset_greedy_scan: OpenMP over points; skips a point when the squared distance over its
// first 16 dimensions (a prefix of the same lane sums, hence never larger in float
// arithmetic) already reaches dist(m); also bit-identical, deterministic for any thread count.
// Both return how many full distances they computed (the rest were skipped).
void coreset_greedy_ref(int *sel, const float *P, long N, int D, long n_sel, const int *starts, int n_starts);
long coreset_greedy(int *sel, const float *P, long N, int D, long n_sel, const int *starts, int n_starts);
long coreset_greedy_scan(int *sel, const float *P, long N, int D, long n_sel, const int *starts, int n_starts);
// Banks smaller than this run coreset_greedy_scan on one thread (a parallel region per pick
// costs more than it saves); tests lower it to exercise the parallel path.
extern long coreset_parallel_min;

// The whole sampler: draws, projection P = X W^T (OpenBLAS sgemm; none when d == proj_dim),
// greedy selection. sel: n_sel = coreset_count(N, ratio) indices. For bench coreset (may be
// NULL): proj_seconds = projection time, full_fraction = share of point updates that needed
// the full distance.
void coreset_select(int *sel, const float *X, long N, int d, long n_sel, const CoresetConfig *c,
                    double *proj_seconds, double *full_fraction);
