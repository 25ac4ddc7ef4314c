// Direct convolution (see conv_direct.h): no im2col and no GEMM packing. The input is copied
// once into a zero-padded buffer split into s x s phases for stride s (phase (py, px) holds the
// padded pixels (y*s + py, x*s + px), Hph x Wph of them). Output (y, x) and tap (ky, kx) then
// read phase (ky % s, kx % s) at the flat offset q = y * Wph + x plus (ky / s) * Wph + kx / s:
// 16 consecutive outputs of a row read 16 consecutive floats (the Wph - Wo junk columns per row
// are computed and dropped). A tile is 8 output channels x 48 positions in 24 AVX-512 registers.
#include "conv_direct.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

#define MR 8           // output channels per tile (broadcast weights)
#define NV 3           // 16-float vectors of positions per tile
#define TP (16 * NV)   // positions per tile

void conv_direct_pack(Conv *c) {
    free(c->wp);
    c->wp = NULL;
#ifdef __AVX512F__
    if (c->k == 1) return;  // 1x1: OpenBLAS's packed sgemm is faster (measured: 100-145 vs 150-180 GFLOP/s)
    int kk = c->k * c->k, nb = (c->cout + MR - 1) / MR;
    // wp[cb][ci][t][j] = w[cb*8 + j][ci][t]; rows past cout repeat the last one (never stored)
    c->wp = ad_malloc((size_t)nb * c->cin * kk * MR * sizeof(float));
    for (int cb = 0; cb < nb; cb++)
        for (int ci = 0; ci < c->cin; ci++)
            for (int t = 0; t < kk; t++)
                for (int j = 0; j < MR; j++) {
                    int co = cb * MR + j < c->cout ? cb * MR + j : c->cout - 1;
                    c->wp[(((size_t)cb * c->cin + ci) * kk + t) * MR + j] = c->w[((size_t)co * c->cin + ci) * kk + t];
                }
#endif
}

int conv_direct_applies(const Conv *c) { return c->wp != NULL; }

// Phase grid of one image: Hph x Wph per phase, s * s phases.
static void phase_size(const Conv *c, int H, int W, size_t *hph, size_t *wph) {
    size_t s = (size_t)c->stride;
    *hph = ((size_t)H + 2 * c->pad + s - 1) / s, *wph = ((size_t)W + 2 * c->pad + s - 1) / s;
}

// Floats between input channels of the phase copy: the phases of one image, rounded up to an odd
// number of 64-byte lines so that the channels a tile reads do not share L1/L2 sets (a
// power-of-two stride, e.g. 8 KB at 14x14 x batch 8, halved the speed at 512 channels).
static size_t chan_stride(size_t img) { return ((img + 15) / 16 | 1) * 16; }

size_t conv_direct_scratch_floats(const Conv *c, int B, int H, int W) {
    size_t hph, wph, s = (size_t)c->stride;
    phase_size(c, H, W, &hph, &wph);
    return (size_t)B * c->cin * chan_stride(s * s * hph * wph) + TP + (size_t)c->k * wph + c->k;
}

#ifdef __AVX512F__
#include <immintrin.h>

// acc[j][i] (+)= sum_ci sum_t wp[ci][t][j] * in[ci * cs + off[t] + i], i < TP; add = 1 goes on
// from the sums in acc (the next chunk of input channels: the same additions in the same order).
static void tile(float acc[MR][TP], const float *in, size_t cs, const int *off, int kk, int cin, const float *wp,
                 int add) {
    __m512 c[MR][NV];
    for (int j = 0; j < MR; j++)
        for (int v = 0; v < NV; v++) c[j][v] = add ? _mm512_loadu_ps(&acc[j][16 * v]) : _mm512_setzero_ps();
    for (int ci = 0; ci < cin; ci++) {
        const float *x = in + (size_t)ci * cs;
        for (int t = 0; t < kk; t++, wp += MR) {
            const float *p = x + off[t];
            __m512 a0 = _mm512_loadu_ps(p), a1 = _mm512_loadu_ps(p + 16), a2 = _mm512_loadu_ps(p + 32);
#pragma GCC unroll 8
            for (int j = 0; j < MR; j++) {
                __m512 w = _mm512_set1_ps(wp[j]);
                c[j][0] = _mm512_fmadd_ps(a0, w, c[j][0]);
                c[j][1] = _mm512_fmadd_ps(a1, w, c[j][1]);
                c[j][2] = _mm512_fmadd_ps(a2, w, c[j][2]);
            }
        }
    }
    for (int j = 0; j < MR; j++)
        for (int v = 0; v < NV; v++) _mm512_storeu_ps(&acc[j][16 * v], c[j][v]);
}

void conv2d_forward_direct(float *out, float *scratch, const float *in, const Conv *c, int B, int H, int W,
                           const float *res, int relu) {
    AD_ASSERT(conv_direct_applies(c));
    int k = c->k, kk = k * k, cin = c->cin, nb = (c->cout + MR - 1) / MR;
    int st = c->stride, p = c->pad, Ho, Wo;
    conv_out_size(c, H, W, &Ho, &Wo);
    size_t Hph, Wph;
    phase_size(c, H, W, &Hph, &Wph);
    int off[16 * 16];
    AD_ASSERT(k <= 16);
    // the padded phase copy: ph[b][ci][py][px][Hph][Wph] (ci stride cs), then zeros the last
    // tiles may read
    size_t plane = Hph * Wph, img = (size_t)st * st * plane, cs = chan_stride(img), bs = (size_t)cin * cs;
    size_t L = (size_t)Ho * Wph;  // positions per image (junk columns included)
#pragma omp parallel for schedule(static)
    for (int cb = 0; cb < cin * B; cb++) {  // cb = ci * B + b, the input's order
        int ci = cb / B, b = cb % B;
        float *d = scratch + (size_t)b * bs + (size_t)ci * cs;
        const float *src = in + (size_t)cb * H * W;
        memset(d, 0, cs * sizeof(float));
        for (int py = 0; py < st; py++)
            for (int px = 0; px < st; px++) {
                float *ph = d + ((size_t)py * st + px) * plane;
                // phase column x' holds input column x' * st + px - p: the x' range inside the image
                if (W - 1 + p - px < 0) continue;  // no input column lands in this phase
                int x0 = p - px > 0 ? (p - px + st - 1) / st : 0, x1 = (W - 1 + p - px) / st;
                for (size_t yq = 0; yq < Hph; yq++) {
                    int y = (int)yq * st + py - p;
                    if (y < 0 || y >= H) continue;
                    const float *row = src + (size_t)y * W;
                    float *dr = ph + yq * Wph;
                    if (st == 1)
                        memcpy(dr + x0, row + x0 - p, (size_t)(x1 - x0 + 1) * sizeof(float));
                    else
                        for (int xq = x0; xq <= x1; xq++) dr[xq] = row[xq * st + px - p];
                }
            }
    }
    memset(scratch + (size_t)B * bs, 0, ((size_t)TP + (size_t)k * Wph + k) * sizeof(float));
    for (int ky = 0; ky < k; ky++)
        for (int kx = 0; kx < k; kx++)
            off[ky * k + kx] = (int)(((size_t)(ky % st) * st + kx % st) * plane + (size_t)(ky / st) * Wph + kx / st);
    int segs = B;
    long nt = (long)((L + TP - 1) / TP);
    // Cache blocking: a task runs a group of TG position tiles x CG channel blocks, so that its
    // inputs (TG tiles + halo, all input channels) and weights (CG blocks) stay in L2 while every
    // pair is computed; smaller channel groups when there would be too few tasks to share.
    // ~0.5 MB of each: a stride-s tile reads s * s phases per channel
    long TG = (long)((512 << 10) / ((size_t)cin * st * st * TP * sizeof(float)));
    TG = TG < 1 ? 1 : TG > 8 ? 8 : TG;
    if (TG > nt) TG = nt;
    long CG = (long)((512 << 10) / ((size_t)MR * cin * kk * sizeof(float)));
    CG = CG < 1 ? 1 : CG > nb ? nb : CG;
    long ng = (nt + TG - 1) / TG;
    while (CG > 1 && (long)segs * ng * ((nb + CG - 1) / CG) < 8L * omp_get_max_threads()) CG--;
    long ncg = (nb + CG - 1) / CG, ntask = (long)segs * ng * ncg;
    // Inside a task, input channels go in chunks of CC whose weights (8 x CC x k*k) and inputs
    // stay in L1 while the task's tiles are summed (at 256-512 channels the whole-channel tile
    // streamed both from L2 and ran L2-bound); the partial sums wait in acc.
    int CC = (int)(16384 / ((size_t)MR * kk * sizeof(float)));
    CC = CC < 8 ? 8 : CC;
    // Each output is summed in a fixed order (input channel, then tap) whatever the blocking,
    // the chunks and the schedule: identical results for any thread count.
#pragma omp parallel for schedule(dynamic, 1)
    for (long task = 0; task < ntask; task++) {
        int s = (int)(task / (ng * ncg));
        long g = task / ncg % ng, cg = task % ncg;
        long cb0 = cg * CG, cb1 = (cg + 1) * CG < nb ? (cg + 1) * CG : nb;
        long t0 = g * TG, t1 = (g + 1) * TG < nt ? (g + 1) * TG : nt;
        float(*accs)[MR][TP] = ad_malloc((size_t)(cb1 - cb0) * (t1 - t0) * sizeof *accs);
        for (int ci0 = 0; ci0 < cin; ci0 += CC) {
            int nc = cin - ci0 < CC ? cin - ci0 : CC;
            for (long cb = cb0; cb < cb1; cb++)
                for (long tt = t0; tt < t1; tt++)
                    tile(accs[(cb - cb0) * (t1 - t0) + (tt - t0)], scratch + (size_t)s * bs + (size_t)tt * TP + (size_t)ci0 * cs,
                         cs, off, kk, nc, c->wp + ((size_t)cb * cin + ci0) * kk * MR, ci0 > 0);
        }
        for (long cb = cb0; cb < cb1; cb++)
            for (long tt = t0; tt < t1; tt++) {
                size_t q0 = (size_t)tt * TP;
                float(*acc)[TP] = accs[(cb - cb0) * (t1 - t0) + (tt - t0)];
                int nj = c->cout - (int)cb * MR < MR ? c->cout - (int)cb * MR : MR;
                size_t ni = L - q0 < TP ? L - q0 : TP;
                for (int j = 0; j < nj; j++) {
                    int co = (int)cb * MR + j;
                    float bias = c->b[co];
                    size_t y = q0 / Wph, x = q0 % Wph;
                    for (size_t i = 0; i < ni;) {  // runs of valid columns, junk columns skipped
                        size_t run = x < (size_t)Wo ? (size_t)Wo - x : 0;
                        run = run < ni - i ? run : ni - i;
                        size_t o = ((size_t)co * B + s) * Ho * Wo + y * Wo + x;
                        conv_epilogue(out + o, &acc[j][i], run, bias, res ? res + o : NULL, relu);
                        size_t adv = Wph - x < ni - i ? Wph - x : ni - i;  // to the next row's start
                        i += adv, x += adv;
                        if (x == Wph) x = 0, y++;
                    }
                }
            }
        free(accs);
    }
}
#else
void conv2d_forward_direct(float *out, float *scratch, const float *in, const Conv *c, int B, int H, int W,
                           const float *res, int relu) {
    (void)out, (void)scratch, (void)in, (void)B, (void)H, (void)W, (void)res, (void)relu;
    AD_ASSERT(conv_direct_applies(c));  // never packed without AVX-512
}
#endif
