// Float resamplers that reproduce PyTorch 1.13 (CPU) and scipy 1.10, written from their
// documented behaviour and checked against them in tests/test_image.c (goldens from
// tests/gen/gen_image.py).
//
// F.interpolate (upsample_bilinear2d / upsample_bicubic2d), reproduced BIT FOR BIT against the
// torch 1.13 CPU build installed here (the probes that pinned the arithmetic down are described in
// tests/gen/gen_image.py; every golden element is equal):
//  * scale (float): align_corners=True: (float)(in - 1) / (out - 1) (0 if out == 1);
//           size= given: (float)in / out;  scale_factor=sf given (recompute_scale_factor unset):
//           (float)(1.0 / sf)  <- NOT in/out: DINOv2's (g + 0.1) / M trick relies on this.
//  * source coordinate in DOUBLE from the float scale: align_corners=True: scale * o; else
//    scale * (o + 0.5) - 0.5 (bilinear clamps negatives to 0, bicubic does not); i = floor(src);
//    the fraction t = (float)(src - i).
//  * bilinear: i0 = min(i, in-1), i1 = i0 + (i0 < in-1), l1 = t clamped to [0,1], l0 = 1 - l1
//    (float); out = (float) of the double sum x00*(h0*w0) + x01*(h0*w1) + x10*(h1*w0) + x11*(h1*w1)
//    with the weight products rounded to float.
//  * bicubic: Keys' kernel, A = -0.75, taps i-1 .. i+2 clamped to [0, in-1] (replicated border).
//    PyTorch's compiled code fuses some multiply-adds (FMA); we spell the same fusions with fmaf:
//      c1(x) = (fma(A+2, x, -(A+3)) * x) * x + 1,   c2(x) = fma(fma(A, x, -5A), x, 8A) * x + (-4A)
//      weights c2(t+1), c1(t), c1(1-t), c2((1-t)+1);
//      interp1d(v, c) = fma(v3, c3, fma(v2, c2, fma(v0, c0, v1*c1)))
//    applied to 4 rows along x, then once along y.
//  Bilinear, align_corners=False is also what cv2.resize(INTER_LINEAR) does for float maps up to
//  float rounding (half-pixel centres, clamped borders: AnomalyDINO's dists2map, PatchCore);
//  align_corners=True is MuSc's map upsampling.
//
// scipy.ndimage.gaussian_filter(x, sigma, mode="reflect", truncate=4.0) on float32 maps:
//  radius r = (int)(4 * sigma + 0.5); weights exp(-0.5 / sigma^2 * x^2) / sum (numpy's pairwise
//  sum); axis 0 (vertical) first, the intermediate stored as float32, then axis 1; each output
//  is, in double, x[0]*w[0] + sum_{j=r..1} (x[-j] + x[j]) * w[j] (scipy's symmetric-kernel
//  loop), with half-sample-symmetric ("reflect") extension: d c b a | a b c d | d c b a.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "image.h"

// No implicit FMA: the fusions that matter are written out with fmaf (GCC: -std=c11 already
// implies -ffp-contract=off; clang honours this pragma).
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

// --- PyTorch index helpers ----------------------------------------------------------------

static float torch_scale(int in, int out, int align_corners, double sf) {
    if (align_corners) return out > 1 ? (float)(in - 1) / (float)(out - 1) : 0.0f;
    if (sf > 0) return (float)(1.0 / sf);
    return (float)in / (float)out;
}

static double torch_src_index(float scale, int o, int align_corners, int cubic) {
    if (align_corners) return (double)scale * o;
    double s = (double)scale * (o + 0.5) - 0.5;
    return (!cubic && s < 0) ? 0.0 : s;
}

// --- bilinear ---------------------------------------------------------------------------

typedef struct { int i0, i1; float w0, w1; } Lin;

static Lin *lin_table(int in, int out, int align_corners) {
    Lin *t = ad_malloc(sizeof(Lin) * (size_t)out);
    float scale = torch_scale(in, out, align_corners, 0);
    for (int o = 0; o < out; o++) {
        double src = torch_src_index(scale, o, align_corners, 0);
        int i0 = (int)floor(src);
        if (i0 > in - 1) i0 = in - 1;
        double l = src - i0;
        if (l < 0) l = 0;
        if (l > 1) l = 1;
        float l1 = (float)l;
        t[o].i0 = i0;
        t[o].i1 = i0 + (i0 < in - 1 ? 1 : 0);
        t[o].w1 = l1;
        t[o].w0 = 1.0f - l1;
    }
    return t;
}

void interp_bilinear(float *out, int oh, int ow, const float *in, int ih, int iw, int align_corners) {
    AD_ASSERT(out && in && oh > 0 && ow > 0 && ih > 0 && iw > 0);
    Lin *ty = lin_table(ih, oh, align_corners), *tx = lin_table(iw, ow, align_corners);
#pragma omp parallel for schedule(static)
    for (int y = 0; y < oh; y++) {
        const float *r0 = in + (size_t)ty[y].i0 * iw, *r1 = in + (size_t)ty[y].i1 * iw;
        float h0 = ty[y].w0, h1 = ty[y].w1;
        for (int x = 0; x < ow; x++) {
            Lin c = tx[x];
            float w00 = h0 * c.w0, w01 = h0 * c.w1, w10 = h1 * c.w0, w11 = h1 * c.w1;
            double acc = (double)r0[c.i0] * w00;
            acc += (double)r0[c.i1] * w01;
            acc += (double)r1[c.i0] * w10;
            acc += (double)r1[c.i1] * w11;
            out[(size_t)y * ow + x] = (float)acc;
        }
    }
    free(ty);
    free(tx);
}

// --- bicubic ----------------------------------------------------------------------------

typedef struct { int idx[4]; float w[4]; } Cub;

#define CUBIC_A (-0.75f)
static float cubic1(float x) {  // |x| <= 1
    float u = fmaf(CUBIC_A + 2.0f, x, -(CUBIC_A + 3.0f));
    float r = u * x;
    r = r * x;
    return r + 1.0f;
}
static float cubic2(float x) {  // 1 <= |x| <= 2
    float u = fmaf(CUBIC_A, x, -(5.0f * CUBIC_A));
    u = fmaf(u, x, 8.0f * CUBIC_A);
    float r = u * x;
    return r + -(4.0f * CUBIC_A);
}

static inline float interp1d(float v0, float v1, float v2, float v3, const float c[4]) {
    return fmaf(v3, c[3], fmaf(v2, c[2], fmaf(v0, c[0], v1 * c[1])));
}

static Cub *cub_table(int in, int out, double sf) {
    Cub *t = ad_malloc(sizeof(Cub) * (size_t)out);
    float scale = torch_scale(in, out, 0, sf);
    for (int o = 0; o < out; o++) {
        double src = torch_src_index(scale, o, 0, 1);
        int i = (int)floor(src);
        float l = (float)(src - i);
        float l2 = 1.0f - l;
        t[o].w[0] = cubic2((float)((double)l + 1.0));
        t[o].w[1] = cubic1(l);
        t[o].w[2] = cubic1(l2);
        t[o].w[3] = cubic2((float)((double)l2 + 1.0));
        for (int j = 0; j < 4; j++) {
            int k = i - 1 + j;
            t[o].idx[j] = k < 0 ? 0 : (k > in - 1 ? in - 1 : k);
        }
    }
    return t;
}

void interp_bicubic_torch(float *out, int oh, int ow, const float *in, int ih, int iw, int C,
                          double scale_h, double scale_w) {
    AD_ASSERT(out && in && oh > 0 && ow > 0 && ih > 0 && iw > 0 && C > 0);
    Cub *ty = cub_table(ih, oh, scale_h), *tx = cub_table(iw, ow, scale_w);
#pragma omp parallel for schedule(static)
    for (int y = 0; y < oh; y++) {
        for (int x = 0; x < ow; x++) {
            const Cub *cx = &tx[x], *cy = &ty[y];
            float *o = out + ((size_t)y * ow + x) * C;
            for (int c = 0; c < C; c++) {
                float r[4];
                for (int j = 0; j < 4; j++) {
                    const float *row = in + (size_t)cy->idx[j] * iw * C + c;
                    r[j] = interp1d(row[(size_t)cx->idx[0] * C], row[(size_t)cx->idx[1] * C],
                                    row[(size_t)cx->idx[2] * C], row[(size_t)cx->idx[3] * C], cx->w);
                }
                o[c] = interp1d(r[0], r[1], r[2], r[3], cy->w);
            }
        }
    }
    free(ty);
    free(tx);
}

// --- Gaussian filter --------------------------------------------------------------------

// numpy's pairwise summation of a contiguous float64 array (np.add.reduce).
static double np_pairwise_sum(const double *a, size_t n) {
    if (n < 8) {
        double s = 0.;
        for (size_t i = 0; i < n; i++) s += a[i];
        return s;
    }
    if (n <= 128) {
        double r[8];
        size_t i;
        for (int j = 0; j < 8; j++) r[j] = a[j];
        for (i = 8; i < n - (n % 8); i += 8)
            for (int j = 0; j < 8; j++) r[j] += a[i + j];
        double s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++) s += a[i];
        return s;
    }
    size_t n2 = n / 2;
    n2 -= n2 % 8;
    return np_pairwise_sum(a, n2) + np_pairwise_sum(a + n2, n - n2);
}

// scipy's _gaussian_kernel1d(sigma, 0, radius): returns w[0..r] (w[j] = weight at distance j).
static double *gauss_weights(double sigma, int *radius) {
    int r = (int)(4.0 * sigma + 0.5);
    double *full = ad_malloc(sizeof(double) * (2 * (size_t)r + 1));
    double sigma2 = sigma * sigma;
    for (int i = -r; i <= r; i++) full[i + r] = exp(-0.5 / sigma2 * (double)(i * i));
    double sum = np_pairwise_sum(full, 2 * (size_t)r + 1);
    double *w = ad_malloc(sizeof(double) * ((size_t)r + 1));
    for (int j = 0; j <= r; j++) w[j] = full[r + j] / sum;
    free(full);
    *radius = r;
    return w;
}

// scipy "reflect" (half-sample symmetric), valid for any offset.
static inline int reflect_index(int i, int n) {
    int p = 2 * n;
    i %= p;
    if (i < 0) i += p;
    return i < n ? i : p - 1 - i;
}

// One horizontal pass over a row: out[x] = sum of the reflected line (double), stored as float.
static void gauss_row(float *out, const float *in, int n, const double *w, int r, double *line) {
    double *l = line + r;  // l[-r .. n-1+r]
    for (int i = -r; i < n + r; i++) l[i] = in[reflect_index(i, n)];
    for (int x = 0; x < n; x++) {
        double acc = l[x] * w[0];
        for (int j = r; j >= 1; j--) acc += (l[x - j] + l[x + j]) * w[j];
        out[x] = (float)acc;
    }
}

void gaussian_filter2d(float *map, int h, int w, double sigma) {
    AD_ASSERT(map && h > 0 && w > 0);
    if (!(sigma > 0)) return;  // scipy with sigma 0 leaves the input unchanged
    int r;
    double *wt = gauss_weights(sigma, &r);
    float *tmp = ad_malloc(sizeof(float) * (size_t)h * w);
    // Axis 0: for each output row, accumulate whole source rows (same per-element order).
#pragma omp parallel
    {
        double *acc = ad_malloc(sizeof(double) * (size_t)w);
#pragma omp for schedule(static)
        for (int y = 0; y < h; y++) {
            const float *c = map + (size_t)y * w;
            for (int x = 0; x < w; x++) acc[x] = (double)c[x] * wt[0];
            for (int j = r; j >= 1; j--) {
                const float *a = map + (size_t)reflect_index(y - j, h) * w;
                const float *b = map + (size_t)reflect_index(y + j, h) * w;
                for (int x = 0; x < w; x++) acc[x] += ((double)a[x] + (double)b[x]) * wt[j];
            }
            float *o = tmp + (size_t)y * w;
            for (int x = 0; x < w; x++) o[x] = (float)acc[x];
        }
        free(acc);
    }
    // Axis 1.
#pragma omp parallel
    {
        double *line = ad_malloc(sizeof(double) * ((size_t)w + 2 * (size_t)r));
#pragma omp for schedule(static)
        for (int y = 0; y < h; y++) gauss_row(map + (size_t)y * w, tmp + (size_t)y * w, w, wt, r, line);
        free(line);
    }
    free(tmp);
    free(wt);
}

// Naive reference: both passes through gauss_row (the vertical one on gathered columns).
void gaussian_filter2d_naive(float *map, int h, int w, double sigma) {
    if (!(sigma > 0)) return;
    int r;
    double *wt = gauss_weights(sigma, &r);
    int n = h > w ? h : w;
    float *col = ad_malloc(sizeof(float) * n), *res = ad_malloc(sizeof(float) * n);
    double *line = ad_malloc(sizeof(double) * ((size_t)n + 2 * (size_t)r));
    for (int x = 0; x < w; x++) {
        for (int y = 0; y < h; y++) col[y] = map[(size_t)y * w + x];
        gauss_row(res, col, h, wt, r, line);
        for (int y = 0; y < h; y++) map[(size_t)y * w + x] = res[y];
    }
    for (int y = 0; y < h; y++) {
        memcpy(col, map + (size_t)y * w, sizeof(float) * w);
        gauss_row(map + (size_t)y * w, col, w, wt, r, line);
    }
    free(col);
    free(res);
    free(line);
    free(wt);
}
