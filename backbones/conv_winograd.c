// Winograd F(4x4, 3x3) (conv_winograd.h), interpolation points 0, +-1, +-2 and infinity. For
// output tile (ty, tx) of one image the 6x6 patch is rows 4ty..4ty+5 and columns 4tx..4tx+5 of
// the zero-padded input P. The padded image is first copied with its columns split by x mod 4
// (phase j holds P[., 4x + j]), so that tile tx's columns are phase 0..3 at x and phase 0, 1 at
// x + 1, and every transform runs over consecutive tiles of a row as plain vector arithmetic.
// Tiles are numbered row by row over the batch (t = (b*th + ty)*tw + tx) and processed in
// chunks of whole tile rows (CHUNK_TILES): transforms, the 36 products (element_gemm), transforms.
//
//   B^T = [4  0 -5  0 1 0      G = [ 1/4     0    0       A^T = [1 1  1 1  1 0
//          0 -4 -4  1 1 0           -1/6  -1/6 -1/6              0 1 -1 2 -2 0
//          0  4 -4 -1 1 0           -1/6   1/6 -1/6              0 1  1 4  4 0
//          0 -2 -1  2 1 0           1/24  1/12  1/6              0 1 -1 8 -8 1]
//          0  2 -1 -2 1 0           1/24 -1/12  1/6
//          0  4  0 -5 0 1]             0     0    1]
// (written out below without the zero terms: without -ffast-math the compiler may not drop
// them). Rounding: the transforms scale by up to 25 (B) and 8 (A), so the error is several times
// that of direct summation (measured: 1.3-1.8e-5 vs 2.4-3e-6 of the largest output at 512 input
// channels); tests/test_resnet.c bounds it against the naive convolution.
#include "conv_winograd.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

#define TM 4                   // outputs per tile side
#define TA 6                   // inputs per tile side (TM + 2)
#define NX (TA * TA)           // transform elements = matrix products per chunk
// Tiles per chunk: each chunk streams the 36 transformed filter matrices once (36 MB at 512
// channels), so fewer, larger chunks; 224-448 measured best on ResNet-18 / WRN-50-2 shapes.
#define CHUNK_TILES 256

#define MR 8                   // output channels per block of the AVX-512 tile

// Rows of U and M: cout, rounded up to whole 8-channel blocks for the AVX-512 tile.
static int m_rows(const Conv *c) {
#ifdef __AVX512F__
    return (c->cout + MR - 1) / MR * MR;
#else
    return c->cout;
#endif
}

// Row stride of a chunk's V and M: its tiles rounded up to whole 16-float vectors.
static size_t round16(size_t n) { return (n + 15) / 16 * 16; }

typedef struct {
    int Ho, Wo, th, tw, Hp, Wq;  // output, tiles, padded rows, width of one column phase
    int rows;                    // tile rows per chunk
    size_t plane;                // floats per (channel, image) of the phase copy: 4 x Hp x Wq
} Geom;

static Geom geom(const Conv *c, int B, int H, int W) {
    Geom g;
    conv_out_size(c, H, W, &g.Ho, &g.Wo);
    AD_ASSERT(g.Ho > 0 && g.Wo > 0);
    g.th = (g.Ho + TM - 1) / TM, g.tw = (g.Wo + TM - 1) / TM;
    g.Hp = TM * g.th + 2, g.Wq = g.tw + 1;
    g.plane = (size_t)TM * g.Hp * g.Wq;
    g.rows = CHUNK_TILES / g.tw;
    g.rows = g.rows < 1 ? 1 : g.rows > B * g.th ? B * g.th : g.rows;
    return g;
}

void conv_winograd_pack(Conv *c) {
    free(c->wu);
    c->wu = NULL;
    if (c->k != 3 || c->stride != 1) return;
    static const double G[TA][3] = {{1 / 4., 0, 0},         {-1 / 6., -1 / 6., -1 / 6.}, {-1 / 6., 1 / 6., -1 / 6.},
                                    {1 / 24., 1 / 12., 1 / 6.}, {1 / 24., -1 / 12., 1 / 6.}, {0, 0, 1}};
    int cin = c->cin, rows = m_rows(c);
    size_t n = (size_t)rows * cin;
    c->wu = ad_malloc(NX * n * sizeof(float));
    for (int r = 0; r < rows; r++)
        for (int ci = 0; ci < cin; ci++) {
            int co = r < c->cout ? r : c->cout - 1;  // rows past cout repeat the last (never stored)
            const float *g = c->w + ((size_t)co * cin + ci) * 9;
            double Gg[TA][3];  // G g
            for (int i = 0; i < TA; i++)
                for (int b = 0; b < 3; b++) Gg[i][b] = G[i][0] * g[b] + G[i][1] * g[3 + b] + G[i][2] * g[6 + b];
            // AVX-512: U[xi][r / 8][ci][r % 8], the tile's broadcast order; else U[xi][r][ci] for sgemm
#ifdef __AVX512F__
            size_t at = ((size_t)(r / MR) * cin + ci) * MR + r % MR;
#else
            size_t at = (size_t)r * cin + ci;
#endif
            for (int i = 0; i < TA; i++)
                for (int j = 0; j < TA; j++)
                    c->wu[(size_t)(i * TA + j) * n + at] = (float)(Gg[i][0] * G[j][0] + Gg[i][1] * G[j][1] + Gg[i][2] * G[j][2]);
        }
}

int conv_winograd_applies(const Conv *c) { return c->wu != NULL; }

size_t conv_winograd_scratch_floats(const Conv *c, int B, int H, int W) {
    Geom g = geom(c, B, H, W);
    size_t ld = round16((size_t)g.rows * g.tw);
    return (size_t)c->cin * B * g.plane + NX * ld * ((size_t)c->cin + m_rows(c));
}

#ifdef __AVX512F__
#include <immintrin.h>

// The first min(n, 16) lanes (n >= 1): the mask of a row's last, partial vector.
static inline __mmask16 lanes(int n) { return n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1); }
#endif

// q[j][k] = s[4k + j], j < 4, k < n (phases q[j] = q0 + j * qs). s holds 4 * round16(n) floats.
static void split4(float *q0, size_t qs, const float *s, int n) {
    int k = 0;
#ifdef __AVX512F__
    const __m512i ev = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i od = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    for (; k < n; k += 16) {
        __mmask16 m = lanes(n - k);
        const float *a = s + 4 * k;
        __m512 a0 = _mm512_loadu_ps(a), a1 = _mm512_loadu_ps(a + 16), a2 = _mm512_loadu_ps(a + 32),
               a3 = _mm512_loadu_ps(a + 48);
        __m512 e01 = _mm512_permutex2var_ps(a0, ev, a1), o01 = _mm512_permutex2var_ps(a0, od, a1);  // x mod 2
        __m512 e23 = _mm512_permutex2var_ps(a2, ev, a3), o23 = _mm512_permutex2var_ps(a2, od, a3);
        _mm512_mask_storeu_ps(q0 + k, m, _mm512_permutex2var_ps(e01, ev, e23));  // then x mod 4
        _mm512_mask_storeu_ps(q0 + qs + k, m, _mm512_permutex2var_ps(o01, ev, o23));
        _mm512_mask_storeu_ps(q0 + 2 * qs + k, m, _mm512_permutex2var_ps(e01, od, e23));
        _mm512_mask_storeu_ps(q0 + 3 * qs + k, m, _mm512_permutex2var_ps(o01, od, o23));
    }
#endif
    for (; k < n; k++)
        for (int j = 0; j < 4; j++) q0[j * qs + k] = s[4 * k + j];
}

// d[4k + j] = q[j][k], j < 4, k < n (rows q[j] = q0 + j * qs): split4's inverse. d has room for
// 4 * round16(n) floats (the last block is written whole).
static void merge4(float *d, const float *q0, size_t qs, int n) {
    int k = 0;
#ifdef __AVX512F__
    const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    for (; k < n; k += 16) {
        __mmask16 m = lanes(n - k);
        __m512 y0 = _mm512_maskz_loadu_ps(m, q0 + k), y1 = _mm512_maskz_loadu_ps(m, q0 + qs + k),
               y2 = _mm512_maskz_loadu_ps(m, q0 + 2 * qs + k), y3 = _mm512_maskz_loadu_ps(m, q0 + 3 * qs + k);
        __m512 l02 = _mm512_permutex2var_ps(y0, lo, y2), h02 = _mm512_permutex2var_ps(y0, hi, y2);  // y0 y2 pairs
        __m512 l13 = _mm512_permutex2var_ps(y1, lo, y3), h13 = _mm512_permutex2var_ps(y1, hi, y3);
        float *o = d + 4 * k;
        _mm512_storeu_ps(o, _mm512_permutex2var_ps(l02, lo, l13));
        _mm512_storeu_ps(o + 16, _mm512_permutex2var_ps(l02, hi, l13));
        _mm512_storeu_ps(o + 32, _mm512_permutex2var_ps(h02, lo, h13));
        _mm512_storeu_ps(o + 48, _mm512_permutex2var_ps(h02, hi, h13));
    }
#endif
    for (; k < n; k++)
        for (int j = 0; j < 4; j++) d[4 * k + j] = q0[j * qs + k];
}

// The zero-padded input with its columns split by x mod 4: pl[ci][b][phase][Hp][Wq].
static void pad_split(float *pl, const float *in, const Conv *c, int B, int H, int W, const Geom *g) {
    int p = c->pad;
    size_t wq = (size_t)g->Wq, ph = (size_t)g->Hp * wq;
#pragma omp parallel
    {
        size_t rn = 4 * round16(wq);  // one padded row, whole 64-float blocks for split4
        float *row = ad_malloc(rn * sizeof(float));
        memset(row, 0, rn * sizeof(float));
#pragma omp for schedule(static)
        for (int cb = 0; cb < c->cin * B; cb++) {
            const float *src = in + (size_t)cb * H * W;
            float *P = pl + (size_t)cb * g->plane;
            for (int yq = 0; yq < g->Hp; yq++) {
                int y = yq - p;
                float *d = P + (size_t)yq * wq;
                if (y < 0 || y >= H) {
                    for (int j = 0; j < TM; j++) memset(d + j * ph, 0, wq * sizeof(float));
                    continue;
                }
                // the padding columns stay zero from the memset: only the image part is rewritten
                memcpy(row + p, src + (size_t)y * W, (size_t)W * sizeof(float));  // W + p <= 4 * Wq
                split4(d, ph, row, g->Wq);
            }
        }
        free(row);
    }
}

// r = B^T d for one 6-vector (the rows of B^T above, shared differences, fused multiply-adds)
#define BT6(r, d)                                                                       \
    do {                                                                                \
        float d31 = d[3] - d[1], d42 = d[4] - d[2];                                     \
        r[0] = fmaf(4.f, d[0], fmaf(-5.f, d[2], d[4]));                                 \
        r[1] = fmaf(-4.f, d[1] + d[2], d[3] + d[4]), r[2] = fmaf(4.f, d[1] - d[2], d[4] - d[3]); \
        r[3] = fmaf(2.f, d31, d42), r[4] = fmaf(-2.f, d31, d42);                        \
        r[5] = fmaf(4.f, d[1], fmaf(-5.f, d[3], d[5]));                                 \
    } while (0)

// y = A^T m for one 6-vector
#define AT6(y, m)                                                                          \
    do {                                                                                   \
        float a12 = m[1] + m[2], s12 = m[1] - m[2], a34 = m[3] + m[4], s34 = m[3] - m[4]; \
        y[0] = m[0] + a12 + a34, y[1] = fmaf(2.f, s34, s12), y[2] = fmaf(4.f, a34, a12);    \
        y[3] = fmaf(8.f, s34, s12) + m[5];                                                 \
    } while (0)


#ifdef __AVX512F__
// The same arithmetic on 16 tiles at once (masked at the end of the row): AVX-512 builds.
static inline __m512 fm(float a, __m512 x, __m512 y) { return _mm512_fmadd_ps(_mm512_set1_ps(a), x, y); }

static inline void bt6v(__m512 *r, const __m512 *d) {
    __m512 d31 = _mm512_sub_ps(d[3], d[1]), d42 = _mm512_sub_ps(d[4], d[2]);
    r[0] = fm(4.f, d[0], fm(-5.f, d[2], d[4]));
    r[1] = fm(-4.f, _mm512_add_ps(d[1], d[2]), _mm512_add_ps(d[3], d[4]));
    r[2] = fm(4.f, _mm512_sub_ps(d[1], d[2]), _mm512_sub_ps(d[4], d[3]));
    r[3] = fm(2.f, d31, d42), r[4] = fm(-2.f, d31, d42);
    r[5] = fm(4.f, d[1], fm(-5.f, d[3], d[5]));
}

static inline void at6v(__m512 *y, const __m512 *m) {
    __m512 a12 = _mm512_add_ps(m[1], m[2]), s12 = _mm512_sub_ps(m[1], m[2]);
    __m512 a34 = _mm512_add_ps(m[3], m[4]), s34 = _mm512_sub_ps(m[3], m[4]);
    y[0] = _mm512_add_ps(_mm512_add_ps(m[0], a12), a34), y[1] = fm(2.f, s34, s12), y[2] = fm(4.f, a34, a12);
    y[3] = _mm512_add_ps(fm(8.f, s34, s12), m[5]);
}

// v[xi * xs + x] = (B^T d B)[xi] of tile x < tw, patch column cx of tile x at col[cx][x],
// patch rows wq apart.
static void transform_row_in(float *v, size_t xs, const float *const *col, size_t wq, int tw) {
    for (int x = 0; x < tw; x += 16) {
        __mmask16 k = lanes(tw - x);
        __m512 t[TA][TA];
        for (int cx = 0; cx < TA; cx++) {
            __m512 d[TA], r[TA];
            for (int ry = 0; ry < TA; ry++) d[ry] = _mm512_maskz_loadu_ps(k, col[cx] + (size_t)ry * wq + x);
            bt6v(r, d);
            for (int i = 0; i < TA; i++) t[i][cx] = r[i];
        }
        for (int i = 0; i < TA; i++) {
            __m512 r[TA];
            bt6v(r, t[i]);
            for (int j = 0; j < TA; j++) _mm512_mask_storeu_ps(v + (size_t)(i * TA + j) * xs + x, k, r[j]);
        }
    }
}

// y[(i * 4 + j) * ys + x] = (A^T m A)[i][j] of tile x < tw, m[xi * xs + x].
static void transform_row_out(float *y, size_t ys, const float *m, size_t xs, int tw) {
    for (int x = 0; x < tw; x += 16) {
        __mmask16 k = lanes(tw - x);
        __m512 s[TM][TA];
        for (int j = 0; j < TA; j++) {
            __m512 d[TA], r[TM];
            for (int i = 0; i < TA; i++) d[i] = _mm512_maskz_loadu_ps(k, m + (size_t)(i * TA + j) * xs + x);
            at6v(r, d);
            for (int i = 0; i < TM; i++) s[i][j] = r[i];
        }
        for (int i = 0; i < TM; i++) {
            __m512 r[TM];
            at6v(r, s[i]);
            for (int j = 0; j < TM; j++) _mm512_mask_storeu_ps(y + (size_t)(i * TM + j) * ys + x, k, r[j]);
        }
    }
}
#else
static void transform_row_in(float *v, size_t xs, const float *const *col, size_t wq, int tw) {
    for (int x = 0; x < tw; x++) {
        float t[TA][TA];  // t[i][column] = (B^T d)[i] down that column
        for (int cx = 0; cx < TA; cx++) {
            float d[TA], r[TA];
            for (int ry = 0; ry < TA; ry++) d[ry] = col[cx][(size_t)ry * wq + x];
            BT6(r, d);
            for (int i = 0; i < TA; i++) t[i][cx] = r[i];
        }
        for (int i = 0; i < TA; i++) {  // then across: (B^T d B)[i][j]
            float r[TA];
            BT6(r, t[i]);
            for (int j = 0; j < TA; j++) v[(size_t)(i * TA + j) * xs + x] = r[j];
        }
    }
}

static void transform_row_out(float *y, size_t ys, const float *m, size_t xs, int tw) {
    for (int x = 0; x < tw; x++) {
        float s[TM][TA];  // A^T down each column, then across
        for (int j = 0; j < TA; j++) {
            float d[TA], r[TM];
            for (int i = 0; i < TA; i++) d[i] = m[(size_t)(i * TA + j) * xs + x];
            AT6(r, d);
            for (int i = 0; i < TM; i++) s[i][j] = r[i];
        }
        for (int i = 0; i < TM; i++) {
            float r[TM];
            AT6(r, s[i]);
            for (int j = 0; j < TM; j++) y[(size_t)(i * TM + j) * ys + x] = r[j];
        }
    }
}
#endif

// V[xi][ci][t] = (B^T d B)[xi] for the tiles of tile rows R0..R1 (t chunk-local, rows ld apart,
// zeros from the last tile to ld).
static void input_transform(float *V, size_t ld, const float *pl, int cin, int B, int R0, int R1, const Geom *g) {
    int nr = R1 - R0, tw = g->tw;
    size_t tc = (size_t)nr * tw, xs = (size_t)cin * ld, wq = (size_t)g->Wq, ph = (size_t)g->Hp * wq;
#pragma omp parallel for schedule(static)
    for (long job = 0; job < (long)cin * nr; job++) {
        int ci = (int)(job / nr), R = R0 + (int)(job % nr), b = R / g->th, ty = R % g->th;
        const float *P = pl + ((size_t)ci * B + b) * g->plane + (size_t)TM * ty * wq;
        float *v = V + (size_t)ci * ld + (size_t)(R - R0) * tw;
        if (R == R1 - 1)
            for (int xi = 0; xi < NX; xi++) memset(V + xi * xs + (size_t)ci * ld + tc, 0, (ld - tc) * sizeof(float));
        // patch column cx of tile x: phase cx % 4 at x + cx / 4
        const float *col[TA] = {P, P + ph, P + 2 * ph, P + 3 * ph, P + 1, P + ph + 1};
        transform_row_in(v, xs, col, wq, tw);
    }
}

// out = A^T M A + bias (+ res) (ReLU) for the tiles of tile rows R0..R1.
static void output_transform(float *out, const float *M, size_t ld, const Conv *c, int B, int R0, int R1,
                             const Geom *g, const float *res, int relu) {
    int nr = R1 - R0, tw = g->tw, Ho = g->Ho, Wo = g->Wo;
    size_t xs = (size_t)m_rows(c) * ld;
#pragma omp parallel
    {
        // y[r][j][x]: output row r of the tile row, column 4x + j; then one whole row
        float *y = ad_malloc(((size_t)TM * TM * tw + 4 * round16((size_t)tw)) * sizeof(float)), *row = y + TM * TM * tw;
#pragma omp for schedule(static)
        for (long job = 0; job < (long)c->cout * nr; job++) {
            int co = (int)(job / nr), R = R0 + (int)(job % nr), b = R / g->th, ty = R % g->th;
            const float *m = M + (size_t)co * ld + (size_t)(R - R0) * tw;
            transform_row_out(y, tw, m, xs, tw);
            float bias = c->b[co];
            for (int a = 0; a < TM && TM * ty + a < Ho; a++) {
                merge4(row, y + (size_t)a * TM * tw, (size_t)tw, tw);  // columns 4x + j, j = 0..3
                size_t o = (((size_t)co * B + b) * Ho + TM * ty + a) * Wo;
                conv_epilogue(out + o, row, (size_t)Wo, bias, res ? res + o : NULL, relu);
            }
        }
        free(y);
    }
}

#ifdef __AVX512F__
// m[r][i] (+)= sum_ci u[r / 8][ci][r % 8] * v[ci][i] for r < 8 * NQ, i < 16 * NV (NQ * NV <= 3:
// 24 accumulators); blocks of u are us floats apart, rows of v ldv, rows of m ldm. add = 1 goes
// on from the sums in m (the next chunk of input channels: the same additions in the same order).
// One function per shape, so that every loop unrolls into registers.
#define TILE(NAME, NQ, NV)                                                                              \
    static void NAME(float *m, size_t ldm, const float *v, size_t ldv, const float *u, size_t us, int nc, \
                     int add) {                                                                         \
        __m512 c[NQ * MR][NV];                                                                          \
        _Pragma("GCC unroll 24") for (int r = 0; r < NQ * MR; r++)                                      \
            _Pragma("GCC unroll 3") for (int w = 0; w < NV; w++)                                        \
                c[r][w] = add ? _mm512_loadu_ps(m + (size_t)r * ldm + 16 * w) : _mm512_setzero_ps();    \
        for (int ci = 0; ci < nc; ci++) {                                                               \
            __m512 a[NV];                                                                               \
            _Pragma("GCC unroll 3") for (int w = 0; w < NV; w++)                                        \
                a[w] = _mm512_loadu_ps(v + (size_t)ci * ldv + 16 * w);                                  \
            _Pragma("GCC unroll 3") for (int q = 0; q < NQ; q++) {                                      \
                const float *uq = u + q * us + (size_t)ci * MR;                                         \
                _Pragma("GCC unroll 8") for (int j = 0; j < MR; j++) {                                  \
                    __m512 b = _mm512_set1_ps(uq[j]);                                                   \
                    _Pragma("GCC unroll 3") for (int w = 0; w < NV; w++)                                \
                        c[q * MR + j][w] = _mm512_fmadd_ps(a[w], b, c[q * MR + j][w]);                  \
                }                                                                                       \
            }                                                                                           \
        }                                                                                               \
        _Pragma("GCC unroll 24") for (int r = 0; r < NQ * MR; r++)                                      \
            _Pragma("GCC unroll 3") for (int w = 0; w < NV; w++)                                        \
                _mm512_storeu_ps(m + (size_t)r * ldm + 16 * w, c[r][w]);                                \
    }
TILE(tile_1x3, 1, 3)
TILE(tile_1x2, 1, 2)
TILE(tile_1x1, 1, 1)
TILE(tile_2x1, 2, 1)
TILE(tile_3x1, 3, 1)

static void tile_of(int nq, int nv, float *m, size_t ldm, const float *v, size_t ldv, const float *u, size_t us, int nc,
                    int add) {
    void (*f)(float *, size_t, const float *, size_t, const float *, size_t, int, int) =
        nq == 3 ? tile_3x1 : nq == 2 ? tile_2x1 : nv == 3 ? tile_1x3 : nv == 2 ? tile_1x2 : tile_1x1;
    f(m, ldm, v, ldv, u, us, nc, add);
}

// M (rows x ld) = U (rows x cin, blocked) x V (cin x ld) for one transform element. Input
// channels go in L1-sized chunks; a chunk of tiles of 16 gets 24 output channels a tile
// (8 x 48 on wider chunks), so that few tiles (14x14 at batch 1: 16) still fill the registers.
static void element_gemm(float *M, const float *U, const float *V, size_t ld, int rows, int cin) {
    enum { CC = 128 };
    int nb = rows / MR, wide = ld > 32;  // wide: 8 channels x up to 48 tiles, else 24 x 16
    for (int ci0 = 0; ci0 < cin; ci0 += CC) {
        int nc = cin - ci0 < CC ? cin - ci0 : CC;
        for (int cb = 0; cb < nb; cb += wide ? 1 : 3) {
            int nq = wide ? 1 : nb - cb < 3 ? nb - cb : 3;
            for (size_t t = 0; t < ld; t += wide ? 48 : 16) {
                int nv = wide ? (ld - t >= 48 ? 3 : (int)(ld - t) / 16) : 1;
                tile_of(nq, nv, M + (size_t)cb * MR * ld + t, ld, V + (size_t)ci0 * ld + t, ld,
                        U + ((size_t)cb * cin + ci0) * MR, (size_t)cin * MR, nc, ci0 > 0);
            }
        }
    }
}
#else
static void element_gemm(float *M, const float *U, const float *V, size_t ld, int rows, int cin) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, (int)ld, cin, 1.0f, U, cin, V, (int)ld, 0.0f, M, (int)ld);
}
#endif

void conv2d_forward_winograd(float *out, float *scratch, const float *in, const Conv *c, int B, int H, int W,
                             const float *res, int relu) {
    AD_ASSERT(conv_winograd_applies(c));
    Geom g = geom(c, B, H, W);
    int cin = c->cin, rows = m_rows(c), NR = B * g.th;
    float *pl = scratch, *V = pl + (size_t)cin * B * g.plane, *M = V + NX * round16((size_t)g.rows * g.tw) * cin;
    pad_split(pl, in, c, B, H, W, &g);
    // Chunks one after another, each stage of a chunk shared by the threads: the chunks are
    // fixed by the shapes and each output is summed by one thread in a fixed order, so the
    // results are the same for any thread count.
    for (int R0 = 0; R0 < NR; R0 += g.rows) {
        int R1 = R0 + g.rows < NR ? R0 + g.rows : NR;
        size_t ld = round16((size_t)(R1 - R0) * g.tw);
        input_transform(V, ld, pl, cin, B, R0, R1, &g);
        // (without AVX-512 element_gemm is sgemm: the OpenMP build of OpenBLAS runs single-threaded here)
#pragma omp parallel for schedule(static)
        for (int xi = 0; xi < NX; xi++)
            element_gemm(M + (size_t)xi * rows * ld, c->wu + (size_t)xi * rows * cin, V + (size_t)xi * cin * ld, ld, rows, cin);
        output_transform(out, M, ld, c, B, R0, R1, &g, res, relu);
    }
}
