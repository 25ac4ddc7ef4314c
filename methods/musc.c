// MuSc: mutual scoring of unlabeled test images (ICLR 2024), as in the official code
// (../shared/docs/algorithms.md §2.1). Stages: LayerNorm + LNAMD -> MSM (GEMM, each pair
// once) -> interval average + fusion -> bilinear upsampling + max -> RsCIN.
// CoDeGraph reuses every stage through musc.h, so its "community detection off" path equals
// MuSc bit for bit.
//
// divide_num > 1 reproduces upstream's subset split (datasets/*.py sub_datasets), which
// groups the test images by their anomaly-type FOLDER (i.e. by ground truth) before the
// seeded shuffle. We do exactly that when the runner passes defect names (ctx->defect), and
// say so on stderr; without them the split is one group in index order with the same
// Python-compatible shuffle. divide_num = 1 (the published default) uses no labels at all.
#include "musc.h"
#include "runlog.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "image.h"
#include "knn.h"

// ---------------------------------------------------------------------------------------
// LayerNorm and LNAMD

void musc_layernorm(float *out, const float *in, int P, int D) {
    size_t n = (size_t)P * D;
    double s = 0;
    for (size_t t = 0; t < n; t++) s += in[t];
    double mean = s / (double)n, v = 0;
    for (size_t t = 0; t < n; t++) v += (in[t] - mean) * (in[t] - mean);
    double inv = 1.0 / sqrt(v / (double)n + 1e-5);  // biased variance, as nn.LayerNorm
    for (size_t t = 0; t < n; t++) out[t] = (float)((in[t] - mean) * inv);
}

void musc_lnamd(float *out, const float *ln, int gh, int gw, int D, int r) {
    int h = (r - 1) / 2;
    if (r == 1) {
        memcpy(out, ln, (size_t)gh * gw * D * sizeof(float));
    } else {
        // Separable box sum (rows, then columns) in double; zero padding: out-of-grid
        // neighbours add nothing but still count in the r^2 divisor.
        double *hs = ad_malloc((size_t)gh * gw * D * sizeof(double));
        double *acc = ad_malloc((size_t)D * sizeof(double));
        for (int u = 0; u < gh; u++)
            for (int v = 0; v < gw; v++) {
                double *o = hs + ((size_t)u * gw + v) * D;
                memset(o, 0, (size_t)D * sizeof(double));
                for (int vv = v - h; vv <= v + h; vv++) {
                    if (vv < 0 || vv >= gw) continue;
                    const float *x = ln + ((size_t)u * gw + vv) * D;
                    for (int c = 0; c < D; c++) o[c] += x[c];
                }
            }
        double inv = 1.0 / ((double)r * r);
        for (int u = 0; u < gh; u++)
            for (int v = 0; v < gw; v++) {
                memset(acc, 0, (size_t)D * sizeof(double));
                for (int uu = u - h; uu <= u + h; uu++) {
                    if (uu < 0 || uu >= gh) continue;
                    const double *x = hs + ((size_t)uu * gw + v) * D;
                    for (int c = 0; c < D; c++) acc[c] += x[c];
                }
                float *o = out + ((size_t)u * gw + v) * D;
                for (int c = 0; c < D; c++) o[c] = (float)(acc[c] * inv);
            }
        free(acc);
        free(hs);
    }
    for (size_t t = 0; t < (size_t)gh * gw; t++) {  // L2 normalisation of every patch vector
        float *o = out + t * D;
        double nn = 0;
        for (int c = 0; c < D; c++) nn += (double)o[c] * o[c];
        if (nn > 0) {
            float inv = (float)(1.0 / sqrt(nn));
            for (int c = 0; c < D; c++) o[c] *= inv;
        }
    }
}

// ---------------------------------------------------------------------------------------
// MSM distances

void musc_msm(float *dist, const float *Z, int n, int P, int D) {
    long npairs = (long)n * (n - 1) / 2;
    size_t blk = (size_t)P * D;
    for (int i = 0; i < n; i++) memset(dist + ((size_t)i * n + i) * P, 0, (size_t)P * sizeof(float));
    // Parallel over pairs; BLAS inside runs single-threaded (OpenMP OpenBLAS in a parallel
    // region). Each pair writes its own two rows, so the result is thread-count independent.
#pragma omp parallel
    {
        float *a = ad_malloc((size_t)P * sizeof(float)), *b = ad_malloc((size_t)P * sizeof(float));
#pragma omp for schedule(dynamic, 1)
        for (long t = 0; t < npairs; t++) {
            // t -> (i, j), i < j, row-major over the upper triangle.
            int i = 0;
            long rest = t;
            while (rest >= n - 1 - i) rest -= n - 1 - i, i++;
            int j = i + 1 + (int)rest;
            knn_max_ip(a, b, Z + (size_t)i * blk, P, Z + (size_t)j * blk, P, D, NULL);
            float *dij = dist + ((size_t)i * n + j) * P, *dji = dist + ((size_t)j * n + i) * P;
            for (int p = 0; p < P; p++) {
                float x = 2.f - 2.f * a[p], y = 2.f - 2.f * b[p];
                dij[p] = sqrtf(x > 0.f ? x : 0.f);
                dji[p] = sqrtf(y > 0.f ? y : 0.f);
            }
        }
        free(a);
        free(b);
    }
}

int musc_prepare(MuscState *s, const Params *p, const FeatureBatch *b) { return musc_prepare_ex(s, p, b, 1); }

int musc_prepare_ex(MuscState *s, const Params *p, const FeatureBatch *b, int keep_z) {
    memset(s, 0, sizeof *s);
    if (b->n < MUSC_MIN_IMAGES)
        return ad_error("MuSc mutual scoring needs at least %d images per (sub)set, found %d: the 0-30%% "
                        "interval average of the N-1 per-image minima would be empty (K = floor(0.3*(N-1)) = 0). "
                        "Fix: score a category with more test images, or lower divide_num",
                        MUSC_MIN_IMAGES, b->n);
    if (b->n_layers < 1 || b->gh < 1 || b->gw < 1 || b->dim < 1)
        return ad_error("MuSc: expected features with at least one layer, patch and channel, found %d layers of "
                        "%d x %d x %d",
                        b->n_layers, b->gh, b->gw, b->dim);
    int deg[64], nd = 3;
    deg[0] = 1, deg[1] = 3, deg[2] = 5;
    if (p && params_find(p->spec, "degrees")) nd = params_int_list(p, "degrees", deg, 64);
    if (nd < 1 || nd > 16) return ad_error("parameter 'degrees': expected 1..16 degrees, found %d", nd);
    for (int t = 0; t < nd; t++)
        if (deg[t] < 1 || deg[t] % 2 == 0)
            return ad_error("parameter 'degrees': LNAMD degree %d is not a positive odd number "
                            "(the r x r window must be centred). Fix: use e.g. [1,3,5]",
                            deg[t]);
    int n = b->n, P = b->gh * b->gw, D = b->dim;
    s->n = n, s->P = P, s->D = D, s->gh = b->gh, s->gw = b->gw;
    s->n_layers = b->n_layers, s->n_degrees = nd;
    for (int t = 0; t < nd; t++) s->degrees[t] = deg[t];
    s->n_sets = b->n_layers * nd;
    s->src = b;
    s->Z = ad_calloc((size_t)s->n_sets, sizeof(float *));
    s->dist = ad_calloc((size_t)s->n_sets, sizeof(float *));
    size_t zsz = (size_t)n * P * D;
    // One set at a time: LNAMD (LayerNorm recomputed per degree: cheap and identical), then
    // MSM; without keep_z the set's Z is dropped at once (memory: one N*P*D set, not 12).
    for (int l = 0; l < b->n_layers; l++)
        for (int r = 0; r < nd; r++) {
            int k = l * nd + r;
            float *Z = ad_malloc(zsz * sizeof(float));
#pragma omp parallel
            {
                float *ln = ad_malloc((size_t)P * D * sizeof(float));
#pragma omp for schedule(dynamic, 1)
                for (int i = 0; i < n; i++) {
                    musc_layernorm(ln, b->feat[i] + (size_t)l * P * D, P, D);
                    musc_lnamd(Z + (size_t)i * P * D, ln, b->gh, b->gw, D, deg[r]);
                }
                free(ln);
            }
            s->dist[k] = ad_malloc((size_t)n * n * P * sizeof(float));
            musc_msm(s->dist[k], Z, n, P, D);
            if (keep_z) s->Z[k] = Z;
            else free(Z);
            method_progress((double)(k + 1) / s->n_sets);  // MSM dominates scoring time
        }
    return 0;
}

const float *musc_z(const MuscState *s, int k, int i) {
    AD_ASSERT(k >= 0 && k < s->n_sets && i >= 0 && i < s->n);
    if (s->Z && s->Z[k]) return s->Z[k] + (size_t)i * s->P * s->D;
    AD_ASSERT(s->zimg && s->zimg[(size_t)k * s->n + i]);  // needs musc_prepare (keep_z) or musc_fill_z
    return s->zimg[(size_t)k * s->n + i];
}

void musc_fill_z(MuscState *s, const uint8_t *need) {
    if (s->Z && s->Z[0]) return;  // kept by musc_prepare
    const FeatureBatch *b = s->src;
    AD_ASSERT(b && b->n == s->n && b->gh * b->gw == s->P && b->dim == s->D && b->n_layers == s->n_layers);
    int n = s->n, P = s->P, D = s->D, nd = s->n_degrees;
    if (!s->zimg) s->zimg = ad_calloc((size_t)s->n_sets * n, sizeof *s->zimg);
    int *todo = ad_malloc((size_t)n * sizeof *todo), nt = 0;
    for (int i = 0; i < n; i++)
        if (need[i] && !s->zimg[i]) todo[nt++] = i;  // set 0 filled <=> all sets filled
    for (int t = 0; t < nt; t++)
        for (int k = 0; k < s->n_sets; k++)
            s->zimg[(size_t)k * n + todo[t]] = ad_malloc((size_t)P * D * sizeof(float));
    // The same LayerNorm + LNAMD calls as musc_prepare_ex; each image writes its own rows.
#pragma omp parallel
    {
        float *ln = ad_malloc((size_t)P * D * sizeof(float));
#pragma omp for schedule(dynamic, 1)
        for (int t = 0; t < nt; t++) {
            int i = todo[t];
            for (int l = 0; l < s->n_layers; l++) {
                musc_layernorm(ln, b->feat[i] + (size_t)l * P * D, P, D);
                for (int r = 0; r < nd; r++)
                    musc_lnamd(s->zimg[(size_t)(l * nd + r) * n + i], ln, b->gh, b->gw, D, s->degrees[r]);
            }
        }
        free(ln);
    }
    free(todo);
}

void musc_free_z(MuscState *s) {
    if (!s->zimg) return;
    for (size_t t = 0; t < (size_t)s->n_sets * s->n; t++) free(s->zimg[t]);
    free(s->zimg);
    s->zimg = NULL;
}

void musc_recompute_pair(MuscState *s, int i, int j, const uint8_t *valid_j) {
    AD_ASSERT(i != j && i >= 0 && j >= 0 && i < s->n && j < s->n);
    float *a = ad_malloc((size_t)s->P * sizeof(float));
    for (int k = 0; k < s->n_sets; k++) {
        knn_max_ip(a, NULL, musc_z(s, k, i), s->P, musc_z(s, k, j), s->P, s->D, valid_j);
        float *d = s->dist[k] + ((size_t)i * s->n + j) * s->P;
        for (int p = 0; p < s->P; p++) {
            float x = 2.f - 2.f * a[p];  // -inf max (no valid patch) gives +inf distance
            d[p] = sqrtf(x > 0.f ? x : 0.f);
        }
    }
    free(a);
}

void musc_state_free(MuscState *s) {
    musc_free_z(s);
    for (int k = 0; k < s->n_sets; k++) {
        if (s->Z) free(s->Z[k]);
        if (s->dist) free(s->dist[k]);
    }
    free(s->Z);
    free(s->dist);
    memset(s, 0, sizeof *s);
}

// ---------------------------------------------------------------------------------------
// Interval average and fusion

// Hoare quickselect: afterwards v[kth] holds the kth smallest, smaller-or-equal values before
// it, greater-or-equal after it. Deterministic (pivot by position).
static void select_kth(float *v, int m, int kth) {
    int lo = 0, hi = m - 1;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        // median of three to the middle
        if (v[mid] < v[lo]) { float t = v[mid]; v[mid] = v[lo]; v[lo] = t; }
        if (v[hi] < v[lo]) { float t = v[hi]; v[hi] = v[lo]; v[lo] = t; }
        if (v[hi] < v[mid]) { float t = v[hi]; v[hi] = v[mid]; v[mid] = t; }
        float pivot = v[mid];
        int i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot) i++;
            while (v[j] > pivot) j--;
            if (i <= j) {
                float t = v[i]; v[i] = v[j]; v[j] = t;
                i++, j--;
            }
        }
        if (kth <= j) hi = j;
        else if (kth >= i) lo = i;
        else return;
    }
}

float musc_interval_mean(float *v, int m, double lo, double hi) {
    if (m <= 0) return NAN;
    // Upstream: a bound below 1 is a fraction of m (int() truncation), otherwise a count.
    int khi = hi < 1 ? (int)(m * hi) : (int)hi, klo = lo < 1 ? (int)(m * lo) : (int)lo;
    if (khi < klo) { int t = khi; khi = klo; klo = t; }
    // Upstream would average an empty interval (NaN); only reachable when references were
    // excluded (N >= 5 is enforced): keep at least one value.
    if (khi > m) khi = m;
    if (khi < 1) khi = 1;
    if (klo > khi - 1) klo = khi - 1;
    if (khi < m) select_kth(v, m, khi - 1);   // v[0..khi) = the khi smallest
    if (klo > 0) select_kth(v, khi, klo);     // v[klo..khi) = sorted positions klo..khi-1
    double s = 0;
    for (int t = klo; t < khi; t++) s += v[t];
    return (float)(s / (double)(khi - klo));
}

void musc_score_maps(float *maps, const MuscState *s, double lo, double hi, const uint8_t *exclude) {
    int n = s->n, P = s->P, nl = s->n_layers, nd = s->n_degrees;
    AD_ASSERT(nl * nd == s->n_sets);
#pragma omp parallel
    {
        float *buf = ad_malloc((size_t)P * n * sizeof(float));  // [p][j], the other images
        double *layer_sum = ad_malloc((size_t)P * sizeof(double));
        double *deg_sum = ad_malloc((size_t)P * sizeof(double));
#pragma omp for schedule(dynamic, 1)
        for (int i = 0; i < n; i++) {
            memset(deg_sum, 0, (size_t)P * sizeof(double));
            for (int r = 0; r < nd; r++) {
                memset(layer_sum, 0, (size_t)P * sizeof(double));
                for (int l = 0; l < nl; l++) {
                    const float *d = s->dist[l * nd + r];
                    int m = 0;
                    for (int j = 0; j < n; j++) {
                        if (j == i || (exclude && exclude[(size_t)i * n + j])) continue;
                        const float *row = d + ((size_t)i * n + j) * P;
                        for (int p = 0; p < P; p++) buf[(size_t)p * n + m] = row[p];
                        m++;
                    }
                    for (int p = 0; p < P; p++) layer_sum[p] += musc_interval_mean(buf + (size_t)p * n, m, lo, hi);
                }
                // Fusion as upstream: mean over layers, then mean over degrees.
                for (int p = 0; p < P; p++) deg_sum[p] += (double)(float)(layer_sum[p] / nl);
            }
            for (int p = 0; p < P; p++) maps[(size_t)i * P + p] = (float)(deg_sum[p] / nd);
        }
        free(buf);
        free(layer_sum);
        free(deg_sum);
    }
}

// ---------------------------------------------------------------------------------------
// Image scores and RsCIN

void musc_image_scores(float *score, const float *maps, int n, int gh, int gw, int S) {
#pragma omp parallel
    {
        float *up = ad_malloc((size_t)S * S * sizeof(float));
#pragma omp for schedule(dynamic, 1)
        for (int i = 0; i < n; i++) {
            // The max of the upsampled map, not of the grid: align_corners=True from 37 to 518
            // misses interior grid points (algorithms.md §2.1 step 8).
            interp_bilinear(up, S, S, maps + (size_t)i * gh * gw, gh, gw, 1);
            float m = up[0];
            for (size_t t = 1; t < (size_t)S * S; t++)
                if (up[t] > m) m = up[t];
            score[i] = m;
        }
        free(up);
    }
}

void musc_rscin(float *out, const float *score, const float *const *embed, int n, int dim, const int *ks,
                int n_ks) {
    int any = 0;
    for (int t = 0; t < n_ks; t++) any |= ks[t] > 0;
    if (!embed || dim <= 0 || !any || n < 1) {  // upstream: no tokens or window 0 -> scores as they are
        memcpy(out, score, (size_t)n * sizeof(float));
        return;
    }
    double mn = score[0], mx = score[0];
    for (int i = 1; i < n; i++) mn = score[i] < mn ? score[i] : mn, mx = score[i] > mx ? score[i] : mx;
    double *sn = ad_malloc((size_t)n * sizeof(double)), *W = ad_malloc((size_t)n * n * sizeof(double));
    // All equal scores: upstream divides 0 by 0; we keep them all at 0 (then s' = 0).
    for (int i = 0; i < n; i++) sn[i] = mx > mn ? (score[i] - mn) / (mx - mn) : 0.0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double acc = 0;
            for (int c = 0; c < dim; c++) acc += (double)embed[i][c] * embed[j][c];
            W[(size_t)i * n + j] = acc;
        }
    double *acc = ad_calloc((size_t)n, sizeof(double));
    int *keep = ad_malloc((size_t)n * sizeof(int));
    int used = 0;
    for (int t = 0; t < n_ks; t++) {
        if (ks[t] <= 0) continue;
        int k = ks[t] < n ? ks[t] : n;
        used++;
        for (int i = 0; i < n; i++) {
            const double *w = W + (size_t)i * n;
            // keep[0..k): the k largest of row i, descending, ties lower index first (j ascends,
            // so a later equal value never displaces an earlier one). k is small: insertion.
            int cnt = 0;
            for (int j = 0; j < n; j++) {
                if (cnt == k && !(w[j] > w[keep[k - 1]])) continue;
                int pos = cnt < k ? cnt++ : k - 1;
                while (pos > 0 && w[keep[pos - 1]] < w[j]) keep[pos] = keep[pos - 1], pos--;
                keep[pos] = j;
            }
            double num = 0, den = 0;
            for (int q = 0; q < k; q++) num += w[keep[q]] * sn[keep[q]], den += w[keep[q]];
            acc[i] += num / den;
        }
    }
    for (int i = 0; i < n; i++) out[i] = (float)(acc[i] / used);
    free(keep);
    free(acc);
    free(W);
    free(sn);
}

// ---------------------------------------------------------------------------------------
// divide_num: Python-compatible Mersenne Twister (random.seed(int) + random.shuffle)

typedef struct {
    uint32_t mt[624];
    int idx;
} PyRandom;

static void mt_init(PyRandom *r, uint32_t s) {
    r->mt[0] = s;
    for (int i = 1; i < 624; i++) r->mt[i] = 1812433253u * (r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) + (uint32_t)i;
    r->idx = 624;
}

// CPython's random.seed(n) for 0 <= n < 2^32: init_by_array with the key [n].
static void py_seed(PyRandom *r, uint32_t seed) {
    mt_init(r, 19650218u);
    int i = 1, j = 0;
    for (int k = 624; k; k--) {
        r->mt[i] = (r->mt[i] ^ ((r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) * 1664525u)) + seed + (uint32_t)j;
        i++, j++;
        if (i >= 624) r->mt[0] = r->mt[623], i = 1;
        if (j >= 1) j = 0;
    }
    for (int k = 623; k; k--) {
        r->mt[i] = (r->mt[i] ^ ((r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) * 1566083941u)) - (uint32_t)i;
        i++;
        if (i >= 624) r->mt[0] = r->mt[623], i = 1;
    }
    r->mt[0] = 0x80000000u;
}

static uint32_t mt_next(PyRandom *r) {
    if (r->idx >= 624) {
        for (int k = 0; k < 624; k++) {
            uint32_t y = (r->mt[k] & 0x80000000u) | (r->mt[(k + 1) % 624] & 0x7fffffffu);
            r->mt[k] = r->mt[(k + 397) % 624] ^ (y >> 1) ^ ((y & 1u) ? 0x9908b0dfu : 0u);
        }
        r->idx = 0;
    }
    uint32_t y = r->mt[r->idx++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

// random._randbelow_with_getrandbits(n) for 1 <= n < 2^31.
static uint32_t py_randbelow(PyRandom *r, uint32_t n) {
    int k = 0;
    while ((n >> k) != 0) k++;  // n.bit_length()
    uint32_t v;
    do v = mt_next(r) >> (32 - k);
    while (v >= n);
    return v;
}

void musc_split(int *subset, int *order, int n, int divide_num, int seed, const char *const *group) {
    AD_ASSERT(divide_num >= 1 && n >= 0);
    PyRandom rng;
    py_seed(&rng, (uint32_t)seed);
    int *gid = ad_malloc((size_t)(n ? n : 1) * sizeof(int)), ng = 0;
    for (int i = 0; i < n; i++) {  // group ids in order of first appearance (dict insertion order)
        gid[i] = -1;
        if (group)
            for (int q = 0; q < i; q++)
                if (!strcmp(group[q], group[i])) { gid[i] = gid[q]; break; }
        if (gid[i] < 0) gid[i] = group ? ng++ : 0;
    }
    if (!group && n) ng = 1;
    int *members = ad_malloc((size_t)(n ? n : 1) * sizeof(int));
    // pos_in_subset bookkeeping: subset t collects, group by group, element t of each chunk.
    int *ord = ad_malloc((size_t)(n ? n : 1) * sizeof(int)), no = 0;
    int **sub_lists = ad_calloc((size_t)divide_num, sizeof(int *));
    int *sub_n = ad_calloc((size_t)divide_num, sizeof(int));
    for (int t = 0; t < divide_num; t++) sub_lists[t] = ad_malloc((size_t)(n ? n : 1) * sizeof(int));
    for (int g = 0; g < ng; g++) {
        int m = 0;
        for (int i = 0; i < n; i++)
            if (gid[i] == g) members[m++] = i;
        for (int i = m - 1; i >= 1; i--) {  // random.shuffle
            int j = (int)py_randbelow(&rng, (uint32_t)(i + 1));
            int t = members[i]; members[i] = members[j]; members[j] = t;
        }
        for (int c = 0; c < m; c += divide_num)
            for (int t = 0; t < divide_num && c + t < m; t++) {
                subset[members[c + t]] = t;
                sub_lists[t][sub_n[t]++] = members[c + t];
            }
    }
    for (int t = 0; t < divide_num; t++)
        for (int q = 0; q < sub_n[t]; q++) ord[no++] = sub_lists[t][q];
    if (order) memcpy(order, ord, (size_t)n * sizeof(int));
    for (int t = 0; t < divide_num; t++) free(sub_lists[t]);
    free(sub_lists), free(sub_n), free(ord), free(members), free(gid);
}

int musc_subset_view(FeatureBatch *view, int **ids, const FeatureBatch *b, const int *subset, int t) {
    int m = 0;
    *ids = ad_malloc((size_t)(b->n ? b->n : 1) * sizeof(int));
    for (int i = 0; i < b->n; i++)
        if (subset[i] == t) (*ids)[m++] = i;
    const float **feat = ad_malloc((size_t)(m ? m : 1) * sizeof(float *));
    for (int q = 0; q < m; q++) feat[q] = b->feat[(*ids)[q]];
    *view = *b;
    view->n = m, view->feat = feat, view->embed = NULL, view->embed_dim = 0;
    return m;
}

void musc_subset_view_free(FeatureBatch *view, int *ids) {
    free((void *)view->feat);
    free(ids);
    view->feat = NULL;
}

void musc_finish(MethodOutput *out, float *maps, const Params *p, const FeatureBatch *test,
                 const MethodContext *ctx, int S) {
    int n = test->n;
    float *raw = ad_malloc((size_t)(n ? n : 1) * sizeof(float));
    musc_image_scores(raw, maps, n, test->gh, test->gw, S);
    out->image_score = ad_malloc((size_t)(n ? n : 1) * sizeof(float));
    if (params_bool(p, "rscin") && test->embed && test->embed_dim > 0 && ctx && ctx->rscin_k)
        musc_rscin(out->image_score, raw, test->embed, n, test->embed_dim, ctx->rscin_k, 3);
    else
        memcpy(out->image_score, raw, (size_t)n * sizeof(float));
    // Per-image diagnostic (per_image.csv diag.score_before_rscin): the image score before
    // RsCIN's re-scoring, to see what RsCIN changed per image.
    static const char *const DIAG[] = {"score_before_rscin"};
    out->n_diag = 1;
    out->diag_names = DIAG;
    out->diag = raw;
    out->maps = maps;
}

// ---------------------------------------------------------------------------------------
// The method

static const ParamSpec SPEC[] = {MUSC_PARAM_ENTRIES, PARAM_END};

// Score one (sub)set: fused maps [n][P] for the images of b.
static int score_subset(float *maps, const Params *p, const FeatureBatch *b) {
    MuscState s;
    if (musc_prepare_ex(&s, p, b, 0)) return -1;  // MuSc itself never needs Z after MSM
    musc_score_maps(maps, &s, params_double(p, "topmin_min"), params_double(p, "topmin_max"), NULL);
    musc_state_free(&s);
    return 0;
}

static int run(const Params *p, const FeatureBatch *test, const FeatureBatch *train, const MethodContext *ctx,
               MethodOutput *out) {
    (void)train;
    const char *cat = ctx && ctx->category ? ctx->category : "?";
    int n = test->n, P = test->gh * test->gw;
    int S = params_int(p, "score_size");
    if (S == 0) S = ctx ? ctx->score_size : 0;
    if (S <= 0) return ad_error("musc (category %s): score_size is 0 and the run gives no evaluation size. Fix: set score_size", cat);
    int divide = params_int(p, "divide_num");
    float *maps = ad_malloc((size_t)(n ? n : 1) * P * sizeof(float));
    if (divide <= 1) {
        if (score_subset(maps, p, test)) {
            free(maps);
            return ad_error_prefix("musc (category %s)", cat);
        }
    } else {
        // Upstream groups by anomaly-type folder (ground truth!) before splitting; we do the
        // same when the runner passes defect names, otherwise one group (index order).
        if (ctx && ctx->defect && !ctx->quiet)
            fprintf(runlog_stream(), "musc (category %s): divide_num %d splits by defect-type folder (ground truth), "
                            "exactly as upstream MuSc does\n", cat, divide);
        int *subset = ad_malloc((size_t)(n ? n : 1) * sizeof(int));
        musc_split(subset, NULL, n, divide, params_int(p, "seed"), ctx ? ctx->defect : NULL);
        for (int t = 0; t < divide; t++) {
            FeatureBatch sb;
            int *ids;
            int m = musc_subset_view(&sb, &ids, test, subset, t);
            float *sm = ad_malloc((size_t)(m ? m : 1) * P * sizeof(float));
            int rc = score_subset(sm, p, &sb);
            for (int q = 0; q < m && !rc; q++) memcpy(maps + (size_t)ids[q] * P, sm + (size_t)q * P, (size_t)P * sizeof(float));
            free(sm);
            musc_subset_view_free(&sb, ids);
            if (rc) {
                free(subset), free(maps);
                return ad_error_prefix("musc (category %s, subset %d of divide_num %d)", cat, t + 1, divide);
            }
        }
        free(subset);
    }
    musc_finish(out, maps, p, test, ctx, S);
    return 0;
}

const Method method_musc = {"musc", 0, SPEC, run, NULL, 0};
