// The ViT forward pass (see vit.h). Linear layers are one sgemm over all B*T rows of a batch
// (BLAS threads inside); attention runs (image, head, query block) tasks in an OpenMP loop with
// an online softmax over key blocks (never T x T per head): AVX-512 register tiles for 64-wide
// heads, single-threaded sgemm tiles otherwise (the OpenMP build of OpenBLAS runs sgemm
// single-threaded inside a parallel region). Every fast kernel has a naive reference beside
// it; tests compare the two.
#include "vit.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "image.h"

static int g_naive = 0;
void vit_use_naive(int on) { g_naive = on; }

// Per-stage CPU seconds of the blocks (bench vit --profile): process CPU time, so a shared
// machine's waiting is not counted.
static int g_prof_on;
static double g_prof[VIT_NSTAGES];
const char *const VIT_STAGE[VIT_NSTAGES] = {"ln1", "qkv", "attention", "proj+res", "ln2", "fc1+act", "fc2+res"};
void vit_profile(int on, double *out) {
    if (out) memcpy(out, g_prof, sizeof g_prof);
    memset(g_prof, 0, sizeof g_prof);
    g_prof_on = on;
}
static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}
#define PROF(i)                                   \
    do {                                          \
        if (g_prof_on) {                          \
            double t_ = cpu_now();                \
            g_prof[i] += t_ - prof_t, prof_t = t_; \
        }                                         \
    } while (0)

// ---------------------------------------------------------------------------------------------
// elementwise math that vectorises (libm's expf / erff are scalar calls and would cost as much as
// a third of the GEMM time in softmax and GELU)

// e^x: Cody-Waite reduction x = n ln2 + r and Cephes' degree-6 polynomial, relative error
// < 3e-7 on the clamped range [-87.3, 88] (tested against exp). Below -87.3 it returns
// e^-87.3 ~ 1e-38 instead of a subnormal / 0 and above 88 e^88, which no caller can tell apart
// (softmax sums >= 1; x * sigmoid(-large) ~ 0 either way).
static inline float vexpf(float x) {
    x = x < -87.33654f ? -87.33654f : x > 88.0f ? 88.0f : x;  // 2^n must stay a normal float
    float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;  // round to nearest (1.5 * 2^23 trick; floorf blocks vectorisation)
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    // NaN input: n is NaN and (int32_t)n undefined (then a left shift of a negative value); use
    // 0 for the exponent, the result stays NaN through p. Unsigned shift: never UB.
    float ne = n == n ? n : 0.0f;
    uint32_t bits = (uint32_t)((int32_t)ne + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);  // 2^n, built in the exponent field
    return p * scale;
}

// erf by Abramowitz & Stegun 7.1.26 (|error| <= 1.5e-7 in exact arithmetic, < 6e-7 in float):
// the formula PyTorch's own vectorised CPU erf uses; GELU here is within 1e-6 of the exact one.
static inline float verff(float x) {
    float a = fabsf(x), t = 1.0f / (1.0f + 0.3275911f * a);
    float r = ((((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t - 0.284496736f) * t + 0.254829592f);
    float y = 1.0f - r * t * vexpf(-a * a);
    return x < 0 ? -y : y;
}

float vit_expf(float x) { return vexpf(x); }
float vit_erff(float x) { return verff(x); }

static inline float gelu1(float x) { return 0.5f * x * (1.0f + verff(x * (float)M_SQRT1_2)); }
static inline float quick_gelu1(float x) { return x / (1.0f + vexpf(-1.702f * x)); }

// ---------------------------------------------------------------------------------------------
// layers

void layernorm_forward(float *out, const float *inp, const float *w, const float *b, int N, int C, float eps) {
    // inp, out (N, C). Mean and biased variance (as torch.nn.LayerNorm) in double over 16 fixed
    // lanes: vectorises, and the order does not depend on the thread count.
    enum { L = 16 };
#pragma omp parallel for schedule(static)
    for (int i = 0; i < N; i++) {
        const float *x = inp + (size_t)i * C;
        float *o = out + (size_t)i * C;
        int cv = C / L * L, c;
        double lane[L], m = 0, v = 0;
        for (int l = 0; l < L; l++) lane[l] = 0;
        for (c = 0; c < cv; c += L)
            for (int l = 0; l < L; l++) lane[l] += x[c + l];
        for (int l = 0; l < L; l++) m += lane[l];
        for (c = cv; c < C; c++) m += x[c];
        m /= C;
        for (int l = 0; l < L; l++) lane[l] = 0;
        for (c = 0; c < cv; c += L)
            for (int l = 0; l < L; l++) lane[l] += (x[c + l] - m) * (x[c + l] - m);
        for (int l = 0; l < L; l++) v += lane[l];
        for (c = cv; c < C; c++) v += (x[c] - m) * (x[c] - m);
        v /= C;
        float mean = (float)m, rstd = (float)(1.0 / sqrt(v + (double)eps));
#pragma omp simd
        for (c = 0; c < C; c++) o[c] = (x[c] - mean) * rstd * w[c] + b[c];
    }
}

void linear_forward_naive(float *out, const float *inp, const float *W, const float *bias, int N, int C, int OC) {
    // out (N, OC) = inp (N, C) @ W^T, W (OC, C) as torch.nn.Linear stores it.
    for (int i = 0; i < N; i++)
        for (int o = 0; o < OC; o++) {
            double s = bias ? bias[o] : 0;
            for (int c = 0; c < C; c++) s += (double)inp[(size_t)i * C + c] * W[(size_t)o * C + c];
            out[(size_t)i * OC + o] = (float)s;
        }
}

// Output tiles of a linear layer: rows in ceil(N / 768) equal chunks (multiples of 16), columns
// in chunks of 256. The tiling depends on the shape only, never on the thread count, and each
// tile is one single-threaded sgemm: OpenBLAS's own threading gives results that differ in the
// last bits between thread counts (measured: 0.3.21), which would break determinism.
#define LIN_ROWS 768
#define LIN_COLS 256

static void act_naive(float *x, size_t n, int act) {
    if (act == 1) gelu_forward_naive(x, x, n);
    if (act == 2) quick_gelu_forward_naive(x, x, n);
}

void linear_forward(float *out, const float *inp, const float *W, const float *bias, int N, int C, int OC) {
    linear_act_forward(out, inp, W, bias, N, C, OC, 0);
}

void linear_act_forward(float *out, const float *inp, const float *W, const float *bias, int N, int C, int OC, int act) {
    if (g_naive) {
        linear_forward_naive(out, inp, W, bias, N, C, OC);
        act_naive(out, (size_t)N * OC, act);
        return;
    }
    int nr = (N + LIN_ROWS - 1) / LIN_ROWS, rh = ((N + nr - 1) / nr + 15) / 16 * 16;
    int nc = (OC + LIN_COLS - 1) / LIN_COLS;
    // Inside a parallel region of >1 threads the OpenMP build of OpenBLAS runs single-threaded;
    // with one thread omp_get_max_threads() is 1 and it does too.
#pragma omp parallel for schedule(dynamic, 1)
    for (int t = 0; t < nr * nc; t++) {
        int r0 = (t / nc) * rh, c0 = (t % nc) * LIN_COLS;
        int m = N - r0 < rh ? N - r0 : rh, n = OC - c0 < LIN_COLS ? OC - c0 : LIN_COLS;
        if (m <= 0) continue;
        float *o = out + (size_t)r0 * OC + c0;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, C, 1.0f, inp + (size_t)r0 * C, C, W + (size_t)c0 * C, C,
                    0.0f, o, OC);
        // bias and activation while the tile is still in cache
        for (int i = 0; i < m; i++) {
            float *oi = o + (size_t)i * OC;
            if (bias) {
                const float *bi = bias + c0;
#pragma omp simd
                for (int j = 0; j < n; j++) oi[j] += bi[j];
            }
            if (act == 1) {
#pragma omp simd
                for (int j = 0; j < n; j++) oi[j] = gelu1(oi[j]);
            } else if (act == 2) {
#pragma omp simd
                for (int j = 0; j < n; j++) oi[j] = quick_gelu1(oi[j]);
            }
        }
    }
}

// 512-bit vectors for the softmax loops on AVX-512 builds (GCC prefers 256-bit ones by default):
// the same operations per lane, half the instructions.
#if defined(__AVX512F__) && defined(__GNUC__) && !defined(__clang__)
#define AD_WIDE_SIMD __attribute__((target("prefer-vector-width=512")))
#else
#define AD_WIDE_SIMD
#endif
// Max and sum of a row over 16 fixed lanes combined in a fixed order: vectorises, and the
// result does not depend on the thread count.
enum { LANES = 16 };
AD_WIDE_SIMD static float row_max(const float *r, int n) {
    float lane[LANES], mx = -INFINITY;
    int j, nv = n / LANES * LANES;
    for (int l = 0; l < LANES; l++) lane[l] = -INFINITY;
    for (j = 0; j < nv; j += LANES)
        for (int l = 0; l < LANES; l++) lane[l] = r[j + l] > lane[l] ? r[j + l] : lane[l];
    for (int l = 0; l < LANES; l++) mx = lane[l] > mx ? lane[l] : mx;
    for (j = nv; j < n; j++) mx = r[j] > mx ? r[j] : mx;
    return mx;
}
// r[j] = e^(r[j] - m); returns the sum.
AD_WIDE_SIMD static float exp_sum(float *r, int n, float m) {
    float lane[LANES], sum = 0;
    int j, nv = n / LANES * LANES;
#pragma omp simd
    for (j = 0; j < n; j++) r[j] = vexpf(r[j] - m);
    for (int l = 0; l < LANES; l++) lane[l] = 0;
    for (j = 0; j < nv; j += LANES)
        for (int l = 0; l < LANES; l++) lane[l] += r[j + l];
    for (int l = 0; l < LANES; l++) sum += lane[l];
    for (j = nv; j < n; j++) sum += r[j];
    return sum;
}

// One row of a key block in the online softmax: r = e^(r - m'), m' = max(m, rowmax r), the
// running sum l rescaled; returns the factor e^(m - m') by which the row's output must be scaled
// (unused for the first block, which sets m and l).
static float online_softmax_row(float *r, int nk, int first, float *m, float *l) {
    float rm = row_max(r, nk);
    if (first) {
        *m = rm;
        *l = exp_sum(r, nk, rm);
        return 1.0f;
    }
    float m2 = rm > *m ? rm : *m, corr = vexpf(*m - m2);
    *l = *l * corr + exp_sum(r, nk, m2);
    *m = m2;
    return corr;
}

void attention_forward_naive(float *out, const float *qkv, int B, int T, int C, int NH) {
    // qkv (B, T, 3C) = [q | k | v], head h uses columns h*hs .. h*hs+hs-1 of each; out (B, T, C).
    int hs = C / NH;
    double scale = 1.0 / sqrt((double)hs);
    double *p = ad_malloc((size_t)T * sizeof(double));
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++)
            for (int t = 0; t < T; t++) {
                const float *q = qkv + ((size_t)b * T + t) * 3 * C + h * hs;
                double mx = -INFINITY, sum = 0;
                for (int u = 0; u < T; u++) {
                    const float *k = qkv + ((size_t)b * T + u) * 3 * C + C + h * hs;
                    double s = 0;
                    for (int i = 0; i < hs; i++) s += (double)q[i] * k[i];
                    p[u] = s * scale;
                    if (p[u] > mx) mx = p[u];
                }
                for (int u = 0; u < T; u++) { p[u] = exp(p[u] - mx); sum += p[u]; }
                for (int i = 0; i < hs; i++) {
                    double o = 0;
                    for (int u = 0; u < T; u++) o += p[u] * qkv[((size_t)b * T + u) * 3 * C + 2 * C + h * hs + i];
                    out[((size_t)b * T + t) * C + h * hs + i] = (float)(o / sum);
                }
            }
    free(p);
}

// Tiled attention with an online softmax (FlashAttention's recurrence, on sgemm tiles): a task
// is (image, head, ATT_BQ queries); it walks the keys ATT_BK at a time, so the scores never
// exceed ATT_BQ x ATT_BK (512 KiB, in L2) instead of T x T per head (7.5 MB for DINOv2 @518,
// out of cache and streamed three times: scores, softmax, value GEMM). Per key block:
//   S = scale Q K_blk^T;  m' = max(m, rowmax S);  P = e^(S - m');
//   l = l e^(m - m') + rowsum P;  O = O e^(m - m') + P V_blk;     at the end O /= l.
// O accumulates in place in `out`. Blocking depends on T only and every sgemm is one thread's,
// so results do not depend on the thread count.
#ifndef ATT_BQ
#define ATT_BQ 256
#endif
#ifndef ATT_BK
#define ATT_BK 512
#endif

// Register-tiled attention for 64-wide heads on AVX-512 (CLIP and DINOv2 ViT-B/L/G): the same
// recurrence, with both products as 24-register tiles instead of sgemm calls, whose packing and
// short K = 64 loop ran the attention at ~50 % of the sgemm peak. A task transposes its head's
// keys once (Kt[d][t]: 16 consecutive keys per load), then per block of AX_BK keys:
//   S tile: 8 queries x 48 keys, d = 0..63: 3 key loads, 8 query broadcasts, 24 FMAs;
//   O tile: 6 queries x 64 dims, per key: 4 value loads, 6 probability broadcasts, 24 FMAs.
// Each output is summed by one thread in a fixed order: thread-count independent.
#define AX_BQ 48   // queries per task (8-row S tiles and 6-row O tiles both divide it)
#define AX_BK 480  // keys per block (10 S tiles)
#define AX_HS 64
// Independent of vit_use_naive (checked first by attention_forward): the scratch planned for a
// model must fit whichever path runs later.
static int ax_applies(int hs) {
#ifdef __AVX512F__
    return hs == AX_HS;
#else
    (void)hs;
    return 0;
#endif
}
static size_t ax_keys(int T) { return ((size_t)T + 47) / 48 * 48; }

size_t attention_scratch(int T, int hs) {
    if (ax_applies(hs)) return (size_t)AX_BQ * AX_BK + 2 * AX_BQ + 2 * (size_t)AX_HS * ax_keys(T);  // S, m, l, Kt, Vc
    return (size_t)ATT_BQ * ATT_BK + 2 * ATT_BQ;  // S, then m and l
}

#ifdef __AVX512F__
#include <immintrin.h>
// S[i][j] = scale * q_i . k_j for 8 query rows q[0..7] (64 floats each) and 48 keys: column j of
// Kt, whose rows d are ldk apart; S rows are lds apart.
static void ax_scores(float *S, int lds, const float *const *q, const float *Kt, size_t ldk, float scale) {
    __m512 c[8][3];
    for (int i = 0; i < 8; i++)
        for (int v = 0; v < 3; v++) c[i][v] = _mm512_setzero_ps();
    for (int d = 0; d < AX_HS; d++) {
        const float *k = Kt + (size_t)d * ldk;
        __m512 k0 = _mm512_loadu_ps(k), k1 = _mm512_loadu_ps(k + 16), k2 = _mm512_loadu_ps(k + 32);
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++) {
            __m512 a = _mm512_set1_ps(q[i][d]);
            c[i][0] = _mm512_fmadd_ps(a, k0, c[i][0]);
            c[i][1] = _mm512_fmadd_ps(a, k1, c[i][1]);
            c[i][2] = _mm512_fmadd_ps(a, k2, c[i][2]);
        }
    }
    __m512 sc = _mm512_set1_ps(scale);
    for (int i = 0; i < 8; i++)
        for (int v = 0; v < 3; v++) _mm512_storeu_ps(S + (size_t)i * lds + 16 * v, _mm512_mul_ps(c[i][v], sc));
}
// o[i] += sum_{k < nk} P[i][k] v_k for 6 rows (o[i] a 64-float row, P rows lds apart, v_k at V + k*ldv).
static void ax_values(float *const *o, const float *P, int lds, const float *V, size_t ldv, int nk) {
    __m512 c[6][4];
    for (int i = 0; i < 6; i++)
        for (int v = 0; v < 4; v++) c[i][v] = _mm512_setzero_ps();
    for (int k = 0; k < nk; k++) {
        const float *vk = V + (size_t)k * ldv;
        __m512 v0 = _mm512_loadu_ps(vk), v1 = _mm512_loadu_ps(vk + 16), v2 = _mm512_loadu_ps(vk + 32),
               v3 = _mm512_loadu_ps(vk + 48);
#pragma GCC unroll 6
        for (int i = 0; i < 6; i++) {
            __m512 p = _mm512_set1_ps(P[(size_t)i * lds + k]);
            c[i][0] = _mm512_fmadd_ps(p, v0, c[i][0]);
            c[i][1] = _mm512_fmadd_ps(p, v1, c[i][1]);
            c[i][2] = _mm512_fmadd_ps(p, v2, c[i][2]);
            c[i][3] = _mm512_fmadd_ps(p, v3, c[i][3]);
        }
    }
    for (int i = 0; i < 6; i++)
        for (int v = 0; v < 4; v++) _mm512_storeu_ps(o[i] + 16 * v, _mm512_add_ps(_mm512_loadu_ps(o[i] + 16 * v), c[i][v]));
}

// Queries q0 .. q0+AX_BQ-1 of one (image, head): base is the head's column in qkv, Kt / Vc its
// keys and values as ax_task lays them out, S / mx / l the task's scratch.
static void ax_block(float *out, const float *base, const float *Kt, const float *Vc, size_t nkp, float *S, float *mx,
                     float *l, int b, int h, int q0, int T, int C) {
    size_t ld = 3 * (size_t)C;
    float scale = 1.0f / sqrtf((float)AX_HS);
    int nq = T - q0 < AX_BQ ? T - q0 : AX_BQ;
    const float *q[AX_BQ];
    float qc[AX_BQ][AX_HS];     // the queries as contiguous rows (same 4 KiB aliasing as the values)
    float dummy[AX_BQ][AX_HS];  // O rows of queries past T (computed, never stored)
    float *o[AX_BQ];
    for (int i = 0; i < AX_BQ; i++) {
        memcpy(qc[i], base + (size_t)(i < nq ? q0 + i : q0 + nq - 1) * ld, sizeof qc[i]);  // past T: the last row
        q[i] = qc[i];
        o[i] = i < nq ? out + ((size_t)b * T + q0 + i) * C + h * AX_HS : dummy[i];
        memset(o[i], 0, AX_HS * sizeof(float));
    }
    for (int k0 = 0; k0 < T; k0 += AX_BK) {
        int nk = T - k0 < AX_BK ? T - k0 : AX_BK;
        for (int j = 0; j < nk; j += 48)  // a 48-key slice of Kt (12 KiB) stays in L1 for all queries
            for (int i = 0; i < AX_BQ; i += 8) ax_scores(S + (size_t)i * AX_BK + j, AX_BK, q + i, Kt + k0 + j, nkp, scale);
        for (int i = 0; i < AX_BQ; i++) {
            float corr = online_softmax_row(S + (size_t)i * AX_BK, nk, k0 == 0, &mx[i], &l[i]);
            if (k0) {
#pragma omp simd
                for (int d = 0; d < AX_HS; d++) o[i][d] *= corr;
            }
        }
        for (int i = 0; i < AX_BQ; i += 6) ax_values(o + i, S + (size_t)i * AX_BK, AX_BK, Vc + (size_t)k0 * AX_HS, AX_HS, nk);
    }
    for (int i = 0; i < nq; i++) {
        float inv = 1.0f / l[i];
#pragma omp simd
        for (int d = 0; d < AX_HS; d++) o[i][d] *= inv;
    }
}

// Query blocks qb0..qb1-1 (AX_BQ queries each) of one (image, head), register-tiled path;
// scratch as attention_scratch. The keys are transposed once per call.
static void ax_task(float *out, float *scratch, const float *qkv, int b, int h, int qb0, int qb1, int T, int C) {
    size_t ld = 3 * (size_t)C, nkp = ax_keys(T);
    const float *base = qkv + (size_t)b * T * ld + h * AX_HS;
    float *S = scratch, *mx = S + AX_BQ * AX_BK, *l = mx + AX_BQ, *Kt = l + AX_BQ, *Vc = Kt + (size_t)AX_HS * nkp;
    // Kt[d][t] (zero past T) and the values as contiguous rows Vc[t][d]: rows of qkv are 3C
    // floats apart, a multiple of 4 KiB, so reading them in place maps every row to the same
    // L1 sets (measured: the value tile ran at half speed)
    for (int t = 0; t < T; t++) {
        const float *k = base + C + (size_t)t * ld;
        for (int d = 0; d < AX_HS; d++) Kt[(size_t)d * nkp + t] = k[d];
        memcpy(Vc + (size_t)t * AX_HS, base + 2 * C + (size_t)t * ld, AX_HS * sizeof(float));
    }
    for (int d = 0; d < AX_HS; d++)
        for (size_t t = (size_t)T; t < nkp; t++) Kt[(size_t)d * nkp + t] = 0.f;
    for (int qb = qb0; qb < qb1; qb++) ax_block(out, base, Kt, Vc, nkp, S, mx, l, b, h, qb * AX_BQ, T, C);
}
#endif

void attention_forward(float *out, float *scratch, const float *qkv, int B, int T, int C, int NH, int threads) {
    // scratch: threads x attention_scratch(T, hs) floats. The OpenMP build of OpenBLAS runs each
    // sgemm single-threaded inside the parallel region (no oversubscription).
    if (g_naive) { attention_forward_naive(out, qkv, B, T, C, NH); return; }
    int hs = C / NH, nqb = (T + ATT_BQ - 1) / ATT_BQ;
#ifdef __AVX512F__
    if (ax_applies(hs)) {
        // tasks: (image, head, chunk of query blocks); chunks only when heads alone are too few
        // to share (the transpose of the keys is repeated per chunk; the outputs are not affected)
        int nb = (T + AX_BQ - 1) / AX_BQ, nc = (2 * threads + B * NH - 1) / (B * NH);
        nc = nc < 1 ? 1 : nc > nb ? nb : nc;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
        for (int task = 0; task < B * NH * nc; task++) {
            int c = task % nc;
            ax_task(out, scratch + (size_t)omp_get_thread_num() * attention_scratch(T, hs), qkv, task / (NH * nc),
                    task / nc % NH, c * nb / nc, (c + 1) * nb / nc, T, C);
        }
        return;
    }
#endif
    size_t ld = 3 * (size_t)C;
    float scale = 1.0f / sqrtf((float)hs);
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (int task = 0; task < B * NH * nqb; task++) {
        int b = task / (NH * nqb), h = task / nqb % NH, q0 = task % nqb * ATT_BQ;
        int nq = T - q0 < ATT_BQ ? T - q0 : ATT_BQ;
        float *S = scratch + (size_t)omp_get_thread_num() * attention_scratch(T, hs), *mx = S + ATT_BQ * ATT_BK,
              *l = mx + ATT_BQ;
        const float *base = qkv + (size_t)b * T * ld + h * hs, *Q = base + (size_t)q0 * ld;
        float *O = out + ((size_t)b * T + q0) * C + h * hs;
        for (int k0 = 0; k0 < T; k0 += ATT_BK) {
            int nk = T - k0 < ATT_BK ? T - k0 : ATT_BK;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nq, nk, hs, scale, Q, (int)ld, base + C + k0 * ld,
                        (int)ld, 0.0f, S, ATT_BK);
            for (int i = 0; i < nq; i++) {
                float corr = online_softmax_row(S + (size_t)i * ATT_BK, nk, k0 == 0, &mx[i], &l[i]), *o = O + (size_t)i * C;
                if (k0) {
#pragma omp simd
                    for (int d = 0; d < hs; d++) o[d] *= corr;
                }
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nq, hs, nk, 1.0f, S, ATT_BK, base + 2 * C + k0 * ld,
                        (int)ld, k0 ? 1.0f : 0.0f, O, C);
        }
        for (int i = 0; i < nq; i++) {
            float inv = 1.0f / l[i], *o = O + (size_t)i * C;
#pragma omp simd
            for (int d = 0; d < hs; d++) o[d] *= inv;
        }
    }
}

void gelu_forward_naive(float *out, const float *inp, size_t N) {
    // exact (erf) GELU, torch.nn.GELU() default, with libm's erff
    for (size_t i = 0; i < N; i++) out[i] = 0.5f * inp[i] * (1.0f + erff(inp[i] * (float)M_SQRT1_2));
}

void quick_gelu_forward_naive(float *out, const float *inp, size_t N) {
    // OpenAI CLIP's x * sigmoid(1.702 x)
    for (size_t i = 0; i < N; i++) out[i] = inp[i] / (1.0f + expf(-1.702f * inp[i]));
}

void gelu_forward(float *out, const float *inp, size_t N) {
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < N; i++) out[i] = gelu1(inp[i]);
}

void quick_gelu_forward(float *out, const float *inp, size_t N) {
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < N; i++) out[i] = quick_gelu1(inp[i]);
}

void swiglu_forward(float *out, const float *inp, int N, int H) {
    // inp (N, 2H) = [x1 | x2] -> out (N, H) = silu(x1) * x2. Sequential rows so that out may
    // alias inp (row i's output lies before row i's input for i >= 1, and on x1 itself for i = 0).
    for (int i = 0; i < N; i++)
        for (int j = 0; j < H; j++) {
            float a = inp[(size_t)i * 2 * H + j], g = inp[(size_t)i * 2 * H + H + j];
            out[(size_t)i * H + j] = a / (1.0f + vexpf(-a)) * g;
        }
}

void residual_forward(float *x, const float *y, const float *gamma, int N, int C) {
#pragma omp parallel for schedule(static)
    for (int i = 0; i < N; i++)
        for (int c = 0; c < C; c++) x[(size_t)i * C + c] += gamma ? gamma[c] * y[(size_t)i * C + c] : y[(size_t)i * C + c];
}

void patch_embed_forward(float *out, float *col, const float *img, const float *w, const float *b,
                         int B, int H, int W, int P, int D) {
    // img (B, 3, H, W) -> out (B, gh*gw, D): a stride-P convolution as im2col + one GEMM.
    // Rows/columns beyond gh*P / gw*P are ignored, as the strided Conv2d does.
    int gh = H / P, gw = W / P, K = 3 * P * P;
#pragma omp parallel for schedule(static)
    for (int r = 0; r < B * gh * gw; r++) {
        int bi = r / (gh * gw), g = r % (gh * gw), gy = g / gw, gx = g % gw;
        float *c = col + (size_t)r * K;
        for (int ch = 0; ch < 3; ch++)
            for (int ky = 0; ky < P; ky++)
                memcpy(c + (ch * P + ky) * P, img + (((size_t)bi * 3 + ch) * H + gy * P + ky) * W + gx * P, P * sizeof(float));
    }
    linear_forward(out, col, w, b, B * gh * gw, K, D);
}

// ---------------------------------------------------------------------------------------------
// model

float *vit_own(ViT *m, size_t n) {
    m->owned = ad_realloc(m->owned, (size_t)(m->n_owned + 1) * sizeof(float *));
    return m->owned[m->n_owned++] = ad_malloc(n * sizeof(float));
}

const float *vit_fuse3(ViT *m, const float *q, const float *k, const float *v, size_t n) {
    float *o = vit_own(m, 3 * n);
    memcpy(o, q, n * sizeof(float));
    memcpy(o + n, k, n * sizeof(float));
    memcpy(o + 2 * n, v, n * sizeof(float));
    return o;
}

const float *vit_w(ViT *m, const char *name, int ndim, const int64_t *shape) {
    return st_get_f32(&m->st, name, ndim, shape);
}

int vit_check_dim(const ViT *m, const char *tensor, const char *what, int64_t v, int64_t lo, int64_t hi) {
    if (v >= lo && v <= hi) return 0;
    return ad_error("%s: tensor '%s': %s is %lld, expected %lld..%lld. Fix: use an intact CLIP or DINOv2 ViT checkpoint",
                    m->st.path, tensor, what, (long long)v, (long long)lo, (long long)hi);
}

int vit_open(ViT *m, const char *path) {
    memset(m, 0, sizeof *m);
    if (st_open(&m->st, path)) return -1;
    int r = clip_load(m);
    if (r == 1) r = dinov2_load(m);
    if (r == 1)
        r = ad_error("%s: not a CLIP or DINOv2 vision tower: found none of the tensors 'visual.conv1.weight', 'conv1.weight' (OpenAI/OpenCLIP), "
                     "'vision_model.embeddings.patch_embedding.weight' (HF CLIP), 'patch_embed.proj.weight' (DINOv2), "
                     "'embeddings.patch_embeddings.projection.weight' (HF Dinov2). Fix: convert the checkpoint with scripts/convert_weights.py",
                     path);
    if (r) { vit_close(m); return -1; }
    return 0;
}

void vit_close(ViT *m) {
    for (int i = 0; i < m->n_owned; i++) free(m->owned[i]);
    free(m->owned);
    free((void *)m->w.layer);
    free(m->buf_arena);
    st_close(&m->st);
    memset(m, 0, sizeof *m);
}

int vit_set_pos_resize(ViT *m, const char *mode) {
    ViTConfig *c = &m->cfg;
    if (!strcmp(mode, "scheme")) {
        if (c->family == VIT_CLIP) c->pos_resize = POS_SIZE;
        else if (!strcmp(c->scheme, "hf-dinov2")) c->pos_resize = c->n_reg ? POS_SIZE_AA : POS_SIZE;
        else c->pos_resize = c->n_reg ? POS_SIZE_AA : POS_SCALE_OFFSET;
    } else if (!strcmp(mode, "hub")) {
        c->pos_resize = c->family == VIT_CLIP ? POS_SIZE : c->n_reg ? POS_SIZE_AA : POS_SCALE_OFFSET;
    } else if (!strcmp(mode, "size")) {
        c->pos_resize = POS_SIZE;
    } else if (!strcmp(mode, "offset")) {
        c->pos_resize = POS_SCALE_OFFSET;
    } else if (!strcmp(mode, "size_aa")) {
        c->pos_resize = POS_SIZE_AA;
    } else {
        return ad_error("pos_resize: expected scheme, hub, size, offset or size_aa, found '%s'", mode);
    }
    free(m->buf_arena);  // the resized table lives in the arena: re-plan
    m->buf_arena = NULL;
    return 0;
}

int vit_tokens(const ViT *m, int H, int W) { return 1 + m->cfg.n_reg + (H / m->cfg.patch) * (W / m->cfg.patch); }
int vit_embed_dim(const ViT *m) { return m->cfg.embed_dim ? m->cfg.embed_dim : m->cfg.width; }

void vit_pos_embed(float *out, const ViT *m, int gh, int gw) {
    const ViTConfig *c = &m->cfg;
    int D = c->width, M = c->grid;
    memcpy(out, m->w.pos, (size_t)D * sizeof(float));  // the class position is kept as is
    if (gh == M && gw == M) {  // every reference skips the interpolation at the native grid
        memcpy(out + D, m->w.pos + D, (size_t)M * M * D * sizeof(float));
        return;
    }
    switch (c->pos_resize) {
    case POS_SIZE: interp_bicubic_torch(out + D, gh, gw, m->w.pos + D, M, M, D, 0, 0); break;
    case POS_SCALE_OFFSET:
        // the scale PyTorch was handed is a double: (g + 0.1) / M
        interp_bicubic_torch(out + D, gh, gw, m->w.pos + D, M, M, D, (gh + 0.1) / M, (gw + 0.1) / M);
        break;
    case POS_SIZE_AA: interp_bicubic_aa_torch(out + D, gh, gw, m->w.pos + D, M, M, D); break;
    }
}

// (Re)plan the activation arena for batch B at grid gh x gw.
static void plan(ViT *m, int B, int gh, int gw) {
    ViTActs *a = &m->a;
    if (a->B == B && a->gh == gh && a->gw == gw && a->threads == omp_get_max_threads() && m->buf_arena) return;
    const ViTConfig *c = &m->cfg;
    size_t D = (size_t)c->width, T = (size_t)(1 + c->n_reg + gh * gw), BT = (size_t)B * T;
    size_t hid = (size_t)c->hidden * (c->swiglu ? 2 : 1), K = 3 * (size_t)c->patch * c->patch;
    int threads = omp_get_max_threads();
    size_t sizes[] = {BT * D, BT * D, BT * 3 * D, BT * D, BT * D, BT * hid, (size_t)B * gh * gw * K,
                      (size_t)threads * attention_scratch((int)T, c->width / c->heads), (1 + (size_t)gh * gw) * D};
    size_t n = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) n += (sizes[i] + 15) / 16 * 16;
    free(m->buf_arena);
    m->buf_arena = ad_malloc(n * sizeof(float));
    float *p = (float *)(void *)m->buf_arena;
    float **slots[] = {&a->x, &a->ln, &a->qkv, &a->att, &a->tmp, &a->fc, &a->col, &a->scores, &a->pos};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        *slots[i] = p;
        p += (sizes[i] + 15) / 16 * 16;
    }
    a->B = B, a->gh = gh, a->gw = gw, a->T = (int)T, a->threads = threads, a->bytes = n * sizeof(float);
    vit_pos_embed(a->pos, m, gh, gw);
}

static void block_forward(ViT *m, int l) {
    const ViTConfig *c = &m->cfg;
    const ViTLayer *L = &m->w.layer[l];
    ViTActs *a = &m->a;
    int D = c->width, N = a->B * a->T, H = c->hidden;
    double prof_t = g_prof_on ? cpu_now() : 0;
    layernorm_forward(a->ln, a->x, L->ln1_w, L->ln1_b, N, D, c->eps);
    PROF(0);
    linear_forward(a->qkv, a->ln, L->qkv_w, L->qkv_b, N, D, 3 * D);
    PROF(1);
    attention_forward(a->att, a->scores, a->qkv, a->B, a->T, D, c->heads, a->threads);
    PROF(2);
    linear_forward(a->tmp, a->att, L->proj_w, L->proj_b, N, D, D);
    residual_forward(a->x, a->tmp, L->ls1, N, D);
    PROF(3);
    layernorm_forward(a->ln, a->x, L->ln2_w, L->ln2_b, N, D, c->eps);
    PROF(4);
    if (c->swiglu) {
        linear_forward(a->fc, a->ln, L->fc1_w, L->fc1_b, N, D, 2 * H);
        swiglu_forward(a->fc, a->fc, N, H);
    } else {
        linear_act_forward(a->fc, a->ln, L->fc1_w, L->fc1_b, N, D, H, c->act == ACT_QUICK_GELU ? 2 : 1);
    }
    PROF(5);
    linear_forward(a->tmp, a->fc, L->fc2_w, L->fc2_b, N, H, D);
    residual_forward(a->x, a->tmp, L->ls2, N, D);
    PROF(6);
}

int vit_forward(ViT *m, float *out, float *embed, const float *img, int B, int H, int W,
                const int *taps, int n_taps, int norm) {
    const ViTConfig *c = &m->cfg;
    int D = c->width, P = c->patch;
    if (H < P || W < P)
        return ad_error("input of %dx%d pixels is smaller than one %dx%d patch. Fix: use a larger --size", W, H, P, P);
    int last = 0;
    for (int i = 0; i < n_taps; i++) {
        if (taps[i] < 1 || taps[i] > c->layers)
            return ad_error("layer %d does not exist: this model has blocks 1..%d (1-based). Fix: choose layers in 1..%d",
                            taps[i], c->layers, c->layers);
        if (taps[i] > last) last = taps[i];
    }
    if (embed) last = c->layers;
    int gh = H / P, gw = W / P, G = gh * gw;
    plan(m, B, gh, gw);
    ViTActs *a = &m->a;
    int T = a->T, R = 1 + c->n_reg;
    size_t BTD = (size_t)B * T * D;
    // tokens: [CLS + pos0, registers (no position), patches + pos]
    patch_embed_forward(a->tmp, a->col, img, m->w.patch_w, m->w.patch_b, B, H, W, P, D);
    for (int b = 0; b < B; b++) {
        float *xb = a->x + (size_t)b * T * D;
        for (int d = 0; d < D; d++) xb[d] = m->w.cls[d] + a->pos[d];
        if (c->n_reg) memcpy(xb + D, m->w.reg, (size_t)c->n_reg * D * sizeof(float));
        for (int g = 0; g < G; g++)
            for (int d = 0; d < D; d++)
                xb[(size_t)(R + g) * D + d] = a->tmp[((size_t)b * G + g) * D + d] + a->pos[(size_t)(1 + g) * D + d];
    }
    if (m->w.ln_pre_w) {
        layernorm_forward(a->ln, a->x, m->w.ln_pre_w, m->w.ln_pre_b, B * T, D, c->eps);
        memcpy(a->x, a->ln, BTD * sizeof(float));
    }
    for (int l = 0; l < last; l++) {
        block_forward(m, l);
        for (int i = 0; i < n_taps; i++) {
            if (taps[i] != l + 1 || !out) continue;
            if (norm) layernorm_forward(out + i * BTD, a->x, m->w.norm_w, m->w.norm_b, B * T, D, c->eps);
            else memcpy(out + i * BTD, a->x, BTD * sizeof(float));
            // NaN weights, or activations overflowing float32, must not become features.
            const float *o = out + i * BTD;
            for (size_t k = 0; k < BTD; k++)
                if (!isfinite(o[k]))
                    return ad_error("%s: layer %d (1-based block) produced a non-finite value (%s) at token %zu: the "
                                    "weights are damaged or their activations overflow float32. Fix: re-convert the "
                                    "checkpoint (scripts/convert_weights.py)",
                                    m->st.path, l + 1, isnan(o[k]) ? "NaN" : "Inf", (k % ((size_t)T * D)) / (size_t)D);
        }
    }
    if (embed) {
        int E = vit_embed_dim(m);
        float *cls = ad_malloc((size_t)D * sizeof(float));
        for (int b = 0; b < B; b++) {
            layernorm_forward(cls, a->x + (size_t)b * T * D, m->w.norm_w, m->w.norm_b, 1, D, c->eps);
            float *e = embed + (size_t)b * E;
            if (m->w.proj) {
                linear_forward_naive(e, cls, m->w.proj, NULL, 1, D, E);
            } else {
                memcpy(e, cls, (size_t)D * sizeof(float));
            }
            if (c->family == VIT_CLIP) {  // the CLIP image embedding is compared by cosine
                double ss = 0;
                for (int i = 0; i < E; i++) ss += (double)e[i] * e[i];
                float inv = (float)(1.0 / fmax(sqrt(ss), 1e-12));  // F.normalize's eps
                for (int i = 0; i < E; i++) e[i] *= inv;
            }
            for (int i = 0; i < E; i++)
                if (!isfinite(e[i])) {
                    free(cls);
                    return ad_error("%s: the image embedding (final norm%s) has a non-finite value: the weights are "
                                    "damaged or overflow float32. Fix: re-convert the checkpoint",
                                    m->st.path, m->w.proj ? " + projection" : "");
                }
        }
        free(cls);
    }
    return 0;
}
