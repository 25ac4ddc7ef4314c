// torchvision ResNet / WideResNet forward (see resnet.h). One readable file: config from the
// tensor names, BN folding, the conv / pool layers (fast GEMM path + naive reference), the
// network.
#include "resnet.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conv_direct.h"
#include "conv_winograd.h"
#include "err.h"

#define BN_EPS 1e-5  // torchvision's BatchNorm2d default
#define MAX_BLOCKS 64
// GEMM tiles: a grid of output blocks derived from the problem shape only (never from the
// thread count), one single-threaded sgemm each, so results are identical for any number of
// threads. Blocks of at most 256 x 2048 (larger blocks amortise OpenBLAS's packing: 256 x 512 was
// 20-25 % slower on one thread, 256 x 4096 and 512 x 2048 slower too, measured with bench resnet),
// and at least 4 of them where columns allow (>= 64 each): layer3 at 224 (N = 196) would
// otherwise be one block, i.e. one busy thread.
#define TILE_M 256
#define TILE_N 2048
#define MIN_TILES 4
#define MIN_TILE_N 64

// --- layers ----------------------------------------------------------------------------------
void conv_out_size(const Conv *c, int H, int W, int *Ho, int *Wo) {
    *Ho = (H + 2 * c->pad - c->k) / c->stride + 1;
    *Wo = (W + 2 * c->pad - c->k) / c->stride + 1;
}

static int conv_is_pointwise(const Conv *c) { return c->k == 1 && c->stride == 1 && c->pad == 0; }

size_t conv_col_floats(const Conv *c, int B, int H, int W) {
    int Ho, Wo;
    conv_out_size(c, H, W, &Ho, &Wo);
    if (conv_winograd_applies(c)) return conv_winograd_scratch_floats(c, B, H, W);
    if (conv_direct_applies(c)) return conv_direct_scratch_floats(c, B, H, W);
    return conv_is_pointwise(c) ? 0 : (size_t)c->cin * c->k * c->k * B * Ho * Wo;
}

// col[(ci*k + ky)*k + kx][b][oy][ox] = in[ci][b][oy*s - p + ky][ox*s - p + kx], 0 outside.
static void im2col(float *col, const float *in, const Conv *c, int B, int H, int W, int Ho, int Wo) {
    int k = c->k, s = c->stride, p = c->pad, rows = c->cin * k * k;
#pragma omp parallel for schedule(static)
    for (int r = 0; r < rows; r++) {
        int ci = r / (k * k), ky = (r / k) % k, kx = r % k;
        float *dst = col + (size_t)r * B * Ho * Wo;
        for (int b = 0; b < B; b++) {
            const float *src = in + ((size_t)ci * B + b) * H * W;
            for (int oy = 0; oy < Ho; oy++, dst += Wo) {
                int y = oy * s - p + ky;
                if (y < 0 || y >= H) {
                    memset(dst, 0, (size_t)Wo * sizeof(float));
                    continue;
                }
                const float *row = src + (size_t)y * W;
                for (int ox = 0; ox < Wo; ox++) {
                    int x = ox * s - p + kx;
                    dst[ox] = x >= 0 && x < W ? row[x] : 0.f;
                }
            }
        }
    }
}

void conv_epilogue(float *d, const float *a, size_t n, float bias, const float *res, int relu) {
    if (res) {
#pragma omp simd
        for (size_t i = 0; i < n; i++) d[i] = a[i] + bias + res[i];
    } else {
#pragma omp simd
        for (size_t i = 0; i < n; i++) d[i] = a[i] + bias;
    }
    if (relu) {
#pragma omp simd
        for (size_t i = 0; i < n; i++) d[i] = d[i] > 0.f ? d[i] : 0.f;
    }
}

void conv2d_forward(float *out, float *col, const float *in, const Conv *c, int B, int H, int W, const float *res,
                    int relu) {
    if (conv_winograd_applies(c)) {  // 3x3 stride 1: 4x fewer multiplications
        conv2d_forward_winograd(out, col, in, c, B, H, W, res, relu);
        return;
    }
    if (conv_direct_applies(c)) {  // other k > 1 on an AVX-512 build: no im2col, no packing
        conv2d_forward_direct(out, col, in, c, B, H, W, res, relu);
        return;
    }
    int Ho, Wo;
    conv_out_size(c, H, W, &Ho, &Wo);
    int M = c->cout, K = c->cin * c->k * c->k, N = B * Ho * Wo;
    const float *A = in;
    if (!conv_is_pointwise(c)) {
        im2col(col, in, c, B, H, W, Ho, Wo);
        A = col;
    }
    int tm = (M + TILE_M - 1) / TILE_M, tn = (N + TILE_N - 1) / TILE_N;
    while (tm * tn < MIN_TILES && N / (tn + 1) >= MIN_TILE_N) tn++;
    int bm = (M + tm - 1) / tm, bn = (N + tn - 1) / tn;  // balanced block sizes
    // Inside a parallel region the OpenMP build of OpenBLAS runs each call single-threaded.
#pragma omp parallel for schedule(dynamic, 1)
    for (int t = 0; t < tm * tn; t++) {
        int m0 = (t / tn) * bm, n0 = (t % tn) * bn;
        int m = M - m0 < bm ? M - m0 : bm, n = N - n0 < bn ? N - n0 : bn;
        if (m <= 0 || n <= 0) continue;
        float *o = out + (size_t)m0 * N + n0;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, K, 1.0f, c->w + (size_t)m0 * K, K, A + n0, N, 0.0f,
                    o, N);
        // bias, shortcut and ReLU while the tile is still in cache
        for (int i = 0; i < m; i++)
            conv_epilogue(o + (size_t)i * N, o + (size_t)i * N, (size_t)n, c->b[m0 + i],
                          res ? res + (size_t)(m0 + i) * N + n0 : NULL, relu);
    }
}

void conv2d_forward_naive(float *out, const float *in, const Conv *c, int B, int H, int W, const float *res, int relu) {
    int Ho, Wo;
    conv_out_size(c, H, W, &Ho, &Wo);
    size_t N = (size_t)B * Ho * Wo;
    for (int co = 0; co < c->cout; co++)
        for (int b = 0; b < B; b++)
            for (int oy = 0; oy < Ho; oy++)
                for (int ox = 0; ox < Wo; ox++) {
                    double acc = c->b[co];
                    for (int ci = 0; ci < c->cin; ci++)
                        for (int ky = 0; ky < c->k; ky++)
                            for (int kx = 0; kx < c->k; kx++) {
                                int y = oy * c->stride - c->pad + ky, x = ox * c->stride - c->pad + kx;
                                if (y < 0 || y >= H || x < 0 || x >= W) continue;
                                acc += (double)c->w[(((size_t)co * c->cin + ci) * c->k + ky) * c->k + kx] *
                                       in[(((size_t)ci * B + b) * H + y) * W + x];
                            }
                    size_t o = (size_t)co * N + ((size_t)b * Ho + oy) * Wo + ox;
                    float v = (float)acc;
                    if (res) v += res[o];
                    out[o] = relu && v < 0.f ? 0.f : v;
                }
}

void maxpool3x3s2_forward(float *out, const float *in, int C, int B, int H, int W) {
    int Ho = (H + 2 - 3) / 2 + 1, Wo = (W + 2 - 3) / 2 + 1;
    // separable: the max over 3 columns (stride 2) of every row, then over 3 of those rows;
    // "v > m" keeps the first of equal values and never takes NaN, as the 3x3 loop did
#pragma omp parallel
    {
        float *hr = ad_malloc((size_t)H * Wo * sizeof(float));
#pragma omp for schedule(static)
        for (int cb = 0; cb < C * B; cb++) {
            const float *src = in + (size_t)cb * H * W;
            float *dst = out + (size_t)cb * Ho * Wo;
            for (int y = 0; y < H; y++) {
                const float *r = src + (size_t)y * W;
                float *h = hr + (size_t)y * Wo;
                int last = (W - 2) / 2;  // the last ox whose window 2ox-1..2ox+1 is inside the row
                for (int ox = 0; ox < Wo; ox++) {
                    if (ox == 1 && last >= 1) {  // interior: no bounds checks (vectorises)
#pragma omp simd
                        for (int q = 1; q <= last; q++) {
                            float a = r[2 * q - 1], b = r[2 * q], c = r[2 * q + 1];
                            float mm = a > -INFINITY ? a : -INFINITY;
                            mm = b > mm ? b : mm;
                            h[q] = c > mm ? c : mm;
                        }
                        ox = last;
                        continue;
                    }
                    float m = -INFINITY;
                    for (int x = 2 * ox - 1; x <= 2 * ox + 1; x++)
                        if (x >= 0 && x < W && r[x] > m) m = r[x];
                    h[ox] = m;
                }
            }
            for (int oy = 0; oy < Ho; oy++) {
                float *d = dst + (size_t)oy * Wo;
                for (int ox = 0; ox < Wo; ox++) d[ox] = -INFINITY;
                for (int y = 2 * oy - 1; y <= 2 * oy + 1; y++) {
                    if (y < 0 || y >= H) continue;
                    const float *h = hr + (size_t)y * Wo;
#pragma omp simd
                    for (int ox = 0; ox < Wo; ox++) d[ox] = h[ox] > d[ox] ? h[ox] : d[ox];
                }
            }
        }
        free(hr);
    }
}

// --- loading ---------------------------------------------------------------------------------
static void conv_free(Conv *c) {
    free(c->w);
    free(c->b);
    free(c->wp);
    free(c->wu);
    memset(c, 0, sizeof *c);
}

static int check_finite(const float *x, size_t n, const char *name, const char *path) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return ad_error("%s: tensor '%s' holds a non-finite value (%g at index %zu). Fix: the weights file is "
                            "damaged; download or convert it again",
                            path, name, (double)x[i], i);
    return 0;
}

// Conv `name` (name.weight, optional name.bias), folding BatchNorm `bn` (NULL: the file is
// already folded and name.bias is required).
static int load_conv(Conv *c, SafeTensors *st, const char *name, const char *bn, int cout, int cin, int k, int stride,
                     int pad) {
    char wn[160], bnm[160];
    memset(c, 0, sizeof *c);
    c->cout = cout, c->cin = cin, c->k = k, c->stride = stride, c->pad = pad;
    snprintf(wn, sizeof wn, "%s.weight", name);
    const float *w = st_get_f32(st, wn, 4, (int64_t[]){cout, cin, k, k});
    if (!w) return -1;
    size_t nw = (size_t)cout * cin * k * k;
    if (check_finite(w, nw, wn, st->path)) return -1;
    snprintf(wn, sizeof wn, "%s.bias", name);
    const float *bias = NULL;
    if (!bn || st_has(st, wn)) {
        if (!(bias = st_get_f32(st, wn, 1, (int64_t[]){cout}))) {
            if (!bn)
                ad_error_prefix("a BN-folded ResNet needs a bias for every conv (no bn* tensors were found) in %s",
                                st->path);
            return -1;
        }
        if (check_finite(bias, (size_t)cout, wn, st->path)) return -1;
    }
    c->w = ad_malloc(nw * sizeof(float));
    c->b = ad_malloc((size_t)cout * sizeof(float));
    if (!bn) {
        memcpy(c->w, w, nw * sizeof(float));
        memcpy(c->b, bias, (size_t)cout * sizeof(float));
        return 0;
    }
    static const char *const PART[4] = {"weight", "bias", "running_mean", "running_var"};
    const float *p[4];
    for (int i = 0; i < 4; i++) {
        snprintf(bnm, sizeof bnm, "%s.%s", bn, PART[i]);
        if (!(p[i] = st_get_f32(st, bnm, 1, (int64_t[]){cout})) || check_finite(p[i], (size_t)cout, bnm, st->path)) {
            conv_free(c);
            return -1;
        }
    }
    // eval-mode BN after the conv: y = (conv(x) + b - mean) * g / sqrt(var + eps) + beta
    for (int o = 0; o < cout; o++) {
        if (p[3][o] < 0) {
            conv_free(c);
            return ad_error("%s: tensor '%s.running_var' has a negative entry (%g at %d). Fix: the weights file is "
                            "damaged",
                            st->path, bn, (double)p[3][o], o);
        }
        double s = (double)p[0][o] / sqrt((double)p[3][o] + BN_EPS);
        for (size_t j = 0; j < nw / cout; j++) c->w[(size_t)o * (nw / cout) + j] = (float)(w[(size_t)o * (nw / cout) + j] * s);
        c->b[o] = (float)(((bias ? bias[o] : 0.0) - p[2][o]) * s + p[1][o]);
    }
    return 0;
}

static const struct { const char *name; int bottleneck, wpg, blocks[4]; } ARCHS[] = {
    {"resnet18", 0, 64, {2, 2, 2, 2}},          {"resnet34", 0, 64, {3, 4, 6, 3}},
    {"resnet50", 1, 64, {3, 4, 6, 3}},          {"resnet101", 1, 64, {3, 4, 23, 3}},
    {"resnet152", 1, 64, {3, 8, 36, 3}},        {"wide_resnet50_2", 1, 128, {3, 4, 6, 3}},
    {"wide_resnet101_2", 1, 128, {3, 4, 23, 3}},
};

void resnet_close(ResNet *m) {
    conv_free(&m->stem);
    for (int s = 0; s < 4; s++) {
        for (int i = 0; m->stage[s] && i < m->cfg.blocks[s]; i++) {
            conv_free(&m->stage[s][i].c1), conv_free(&m->stage[s][i].c2), conv_free(&m->stage[s][i].c3);
            conv_free(&m->stage[s][i].down);
        }
        free(m->stage[s]);
        free(m->buf[s]);
    }
    free(m->col);
    free(m->path);
    memset(m, 0, sizeof *m);
}

// Makes conv `name` of the given shape (from a file, or random for the benchmark).
typedef int (*ConvMaker)(Conv *c, void *ctx, const char *name, const char *bn, int cout, int cin, int k, int stride,
                         int pad);

typedef struct {
    SafeTensors *st;
    int bn;  // the file holds bn* tensors
} FileSrc;

static int file_conv(Conv *c, void *ctx, const char *name, const char *bn, int cout, int cin, int k, int stride, int pad) {
    FileSrc *f = ctx;
    int rc = load_conv(c, f->st, name, f->bn ? bn : NULL, cout, cin, k, stride, pad);
    if (!rc) conv_set_kernel(c, RESNET_CONV_WINOGRAD);
    return rc;
}

// torchvision's block i of stage s (0-based): BasicBlock conv1 3x3/stride, conv2 3x3; Bottleneck
// conv1 1x1, conv2 3x3/stride, conv3 1x1 (x4); the projection shortcut on block 0 when the
// stride or width changes.
static int make_block(ResBlock *blk, ConvMaker mk, void *ctx, const ResNetConfig *c, int s, int i, int cin, int planes) {
    char p[64], a[96], b[96];
    snprintf(p, sizeof p, "layer%d.%d", s + 1, i);
    int stride = i == 0 && s > 0 ? 2 : 1;
    int out = c->bottleneck ? planes * 4 : planes;
#define NAMES(conv, bn) (snprintf(a, sizeof a, "%s." conv, p), snprintf(b, sizeof b, "%s." bn, p))
    if (c->bottleneck) {
        int width = planes * c->width_per_group / 64;
        NAMES("conv1", "bn1");
        if (mk(&blk->c1, ctx, a, b, width, cin, 1, 1, 0)) return -1;
        NAMES("conv2", "bn2");
        if (mk(&blk->c2, ctx, a, b, width, width, 3, stride, 1)) return -1;
        NAMES("conv3", "bn3");
        if (mk(&blk->c3, ctx, a, b, out, width, 1, 1, 0)) return -1;
    } else {
        NAMES("conv1", "bn1");
        if (mk(&blk->c1, ctx, a, b, planes, cin, 3, stride, 1)) return -1;
        NAMES("conv2", "bn2");
        if (mk(&blk->c2, ctx, a, b, planes, planes, 3, 1, 1)) return -1;
    }
    if (i == 0 && (stride != 1 || cin != out)) {
        NAMES("downsample.0", "downsample.1");
        if (mk(&blk->down, ctx, a, b, out, cin, 1, stride, 0)) return -1;
    }
#undef NAMES
    return 0;
}

// The stem and stages 1..cfg.n_loaded from mk, the block counts and widths in m->cfg.
static int build(ResNet *m, ConvMaker mk, void *ctx) {
    ResNetConfig *c = &m->cfg;
    if (mk(&m->stem, ctx, "conv1", "bn1", 64, 3, 7, 2, 3)) return -1;
    int cin = 64;
    for (int s = 0; s < c->n_loaded; s++) {
        int planes = 64 << s;
        m->stage[s] = ad_calloc((size_t)c->blocks[s], sizeof(ResBlock));
        for (int i = 0; i < c->blocks[s]; i++) {
            if (make_block(&m->stage[s][i], mk, ctx, c, s, i, cin, planes)) return -1;
            cin = c->bottleneck ? planes * 4 : planes;
        }
        c->channels[s] = cin;
    }
    return 0;
}

// Random weights (uniform, Kaiming-like scale), biases small: for the benchmark.
static int random_conv(Conv *c, void *ctx, const char *name, const char *bn, int cout, int cin, int k, int stride,
                       int pad) {
    (void)name, (void)bn;
    uint64_t *rng = ctx;
    c->cout = cout, c->cin = cin, c->k = k, c->stride = stride, c->pad = pad;
    size_t n = (size_t)cout * cin * k * k;
    c->w = ad_malloc(n * sizeof(float));
    c->b = ad_malloc((size_t)cout * sizeof(float));
    float bound = sqrtf(3.0f / (float)(cin * k * k));
    for (size_t i = 0; i < n + (size_t)cout; i++) {
        *rng ^= *rng >> 12, *rng ^= *rng << 25, *rng ^= *rng >> 27;  // xorshift64*
        float u = (float)((*rng * 2685821657736338717ull) >> 40) * 0x1p-23f - 1.0f;
        if (i < n) c->w[i] = bound * u;
        else c->b[i - n] = 0.01f * u;
    }
    conv_set_kernel(c, RESNET_CONV_WINOGRAD);
    return 0;
}

int resnet_init_random(ResNet *m, const char *arch, int n_stages, uint64_t seed) {
    memset(m, 0, sizeof *m);
    AD_ASSERT(n_stages >= 1 && n_stages <= 4);
    for (size_t a = 0; a < sizeof ARCHS / sizeof ARCHS[0]; a++) {
        if (strcmp(ARCHS[a].name, arch)) continue;
        ResNetConfig *c = &m->cfg;
        c->arch = ARCHS[a].name, c->bottleneck = ARCHS[a].bottleneck, c->width_per_group = ARCHS[a].wpg;
        c->n_loaded = n_stages;
        for (int s = 0; s < n_stages; s++) c->blocks[s] = ARCHS[a].blocks[s];
        m->path = ad_sprintf("random %s", arch);
        uint64_t rng = seed | 1;
        return build(m, random_conv, &rng);
    }
    return ad_error("unknown ResNet '%s'; expected resnet18, resnet34, resnet50, resnet101, resnet152, "
                    "wide_resnet50_2 or wide_resnet101_2",
                    arch);
}

int resnet_open(ResNet *m, const char *path, int n_stages) {
    memset(m, 0, sizeof *m);
    AD_ASSERT(n_stages >= 1 && n_stages <= 4);
    SafeTensors st;
    if (st_open(&st, path)) return -1;
    ResNetConfig *c = &m->cfg;
    m->path = ad_strdup(path);
    int rc = -1;
    if (!st_has(&st, "conv1.weight")) {
        ad_error("%s: no tensor 'conv1.weight': expected a torchvision ResNet state dict (conv1, bn1, layer1..layer4). "
                 "Fix: convert a torchvision .pth with scripts/convert_weights.py",
                 path);
        goto done;
    }
    c->bottleneck = st_has(&st, "layer1.0.conv3.weight");
    c->width_per_group = 64;
    if (c->bottleneck) {
        const StTensor *t = st_find(&st, "layer1.0.conv1.weight");
        if (!t || t->ndim != 4 || t->shape[0] < 1 || t->shape[0] > 4096) {
            char sb[96];
            ad_error("%s: tensor 'layer1.0.conv1.weight' has shape %s; expected (width, 64, 1, 1) with width 64 "
                     "(ResNet-50/101) or 128 (WideResNet-50-2/101-2)",
                     path, t ? st_shape_str(sb, sizeof sb, t->ndim, t->shape) : "(absent)");
            goto done;
        }
        c->width_per_group = (int)t->shape[0];
    }
    int bnm = st_has(&st, "bn1.weight");
    c->bn_folded_at_load = bnm;
    c->n_loaded = n_stages;
    for (int s = 0; s < n_stages; s++) {
        char nm[64];
        for (c->blocks[s] = 0; c->blocks[s] < MAX_BLOCKS; c->blocks[s]++) {
            snprintf(nm, sizeof nm, "layer%d.%d.conv1.weight", s + 1, c->blocks[s]);
            if (!st_has(&st, nm)) break;
        }
        if (!c->blocks[s]) {
            ad_error("%s: layer%d is requested but the file has no tensor 'layer%d.0.conv1.weight'. Fix: request only "
                     "layers the file holds, or use a complete checkpoint",
                     path, s + 1, s + 1);
            goto done;
        }
    }
    c->arch = "resnet";
    for (size_t a = 0; a < sizeof ARCHS / sizeof ARCHS[0]; a++) {
        int same = ARCHS[a].bottleneck == c->bottleneck && ARCHS[a].wpg == c->width_per_group;
        for (int s = 0; s < n_stages; s++) same = same && ARCHS[a].blocks[s] == c->blocks[s];
        if (same) {
            c->arch = ARCHS[a].name;
            break;
        }
    }
    FileSrc src = {&st, bnm};
    rc = build(m, file_conv, &src);
done:
    if (rc) {  // the message already names the file and tensor
        st_close(&st);
        resnet_close(m);
        return -1;
    }
    st_close(&st);  // every weight was copied (folded) into the model
    return 0;
}

void conv_set_kernel(Conv *c, ResNetConv kind) {
    free(c->wp), free(c->wu);
    c->wp = c->wu = NULL;
    if (!c->cout) return;  // no such conv in this block (c3 of a BasicBlock, a missing shortcut)
    if (kind == RESNET_CONV_WINOGRAD) conv_winograd_pack(c);        // 3x3 stride 1 only
    if (kind != RESNET_CONV_GEMM && !c->wu) conv_direct_pack(c);  // k > 1 on AVX-512 builds only
}

void resnet_set_conv(ResNet *m, ResNetConv kind) {
    conv_set_kernel(&m->stem, kind);
    for (int s = 0; s < m->cfg.n_loaded; s++)
        for (int i = 0; i < m->cfg.blocks[s]; i++) {
            ResBlock *b = &m->stage[s][i];
            conv_set_kernel(&b->c1, kind), conv_set_kernel(&b->c2, kind), conv_set_kernel(&b->c3, kind),
                conv_set_kernel(&b->down, kind);
        }
}

void resnet_stage_grid(int s, int H, int W, int *gh, int *gw) {
    int h = (H + 6 - 7) / 2 + 1, w = (W + 6 - 7) / 2 + 1;  // conv1 7x7/2 pad 3
    h = (h + 2 - 3) / 2 + 1, w = (w + 2 - 3) / 2 + 1;      // max-pool 3x3/2 pad 1
    for (int t = 2; t <= s; t++) h = (h + 2 - 3) / 2 + 1, w = (w + 2 - 3) / 2 + 1;  // 3x3/2 pad 1 (or 1x1/2)
    *gh = h, *gw = w;
}

// --- forward ---------------------------------------------------------------------------------
static void grow(float **p, size_t *have, size_t need) {
    if (need <= *have) return;
    free(*p);
    *p = ad_malloc(need * sizeof(float));
    *have = need;
}

// Every convolution of stages 1..n in forward order with its input size: fn(conv, H, W, ctx).
static void walk(const ResNet *m, int n, int H, int W, void (*fn)(const Conv *, int, int, void *), void *ctx) {
    int h, w, ho, wo;
    fn(&m->stem, H, W, ctx);
    conv_out_size(&m->stem, H, W, &h, &w);
    h = (h - 1) / 2 + 1, w = (w - 1) / 2 + 1;  // max-pool
    for (int s = 0; s < n; s++)
        for (int i = 0; i < m->cfg.blocks[s]; i++) {
            const ResBlock *b = &m->stage[s][i];
            const Conv *cv[3] = {&b->c1, &b->c2, &b->c3};
            if (b->down.cout) fn(&b->down, h, w, ctx);
            for (int j = 0; j < 3; j++) {
                if (!cv[j]->cout) continue;
                fn(cv[j], h, w, ctx);
                conv_out_size(cv[j], h, w, &ho, &wo);
                h = ho, w = wo;
            }
        }
}

typedef struct {
    int B;
    size_t act, col;
    double flops;
} Plan;

static void plan_conv(const Conv *c, int H, int W, void *ctx) {
    Plan *p = ctx;
    int ho, wo;
    conv_out_size(c, H, W, &ho, &wo);
    size_t a = (size_t)c->cout * p->B * ho * wo, cf = conv_col_floats(c, p->B, H, W);
    p->act = a > p->act ? a : p->act;
    p->col = cf > p->col ? cf : p->col;
    p->flops += 2.0 * c->cout * c->cin * c->k * c->k * ho * wo;
}

double resnet_flops(const ResNet *m, int n_stages, int H, int W) {
    Plan pl = {1, 0, 0, 0};
    walk(m, n_stages, H, W, plan_conv, &pl);
    return pl.flops;
}

// conv2d_forward, timed by kind when m->profile is set.
static void run_conv(ResNet *m, float *out, const float *in, const Conv *c, int B, int H, int W, const float *res,
                     int relu) {
    double t0 = m->profile ? omp_get_wtime() : 0;
    conv2d_forward(out, m->col, in, c, B, H, W, res, relu);
    if (!m->profile) return;
    int kind = conv_winograd_applies(c) ? RESNET_PROF_WINOGRAD
             : conv_direct_applies(c)   ? RESNET_PROF_DIRECT
             : conv_is_pointwise(c)     ? RESNET_PROF_POINTWISE
                                        : RESNET_PROF_IM2COL;
    int ho, wo;
    conv_out_size(c, H, W, &ho, &wo);
    m->prof_s[kind] += omp_get_wtime() - t0;
    m->prof_flops[kind] += 2.0 * c->cout * c->cin * c->k * c->k * ho * wo * B;
}

int resnet_forward(ResNet *m, float *const *out, const float *img, int B, int H, int W, const int *taps, int n_taps) {
    int deepest = 0;
    for (int t = 0; t < n_taps; t++) {
        if (taps[t] < 1 || taps[t] > m->cfg.n_loaded)
            return ad_error("%s: layer%d is not loaded (layers 1..%d are). Fix: open the model with that layer",
                            m->path, taps[t], m->cfg.n_loaded);
        deepest = taps[t] > deepest ? taps[t] : deepest;
    }
    if (H < 32 || W < 32)
        return ad_error("ResNet input %dx%d is too small: expected at least 32x32 (5 halvings)", W, H);
    Plan pl = {B, (size_t)3 * B * H * W, 0, 0};  // the input is staged in an activation buffer too
    walk(m, deepest, H, W, plan_conv, &pl);
    size_t act = pl.act, col = pl.col;
    if (act > m->buf_n) {
        for (int i = 0; i < 4; i++) free(m->buf[i]), m->buf[i] = ad_malloc(act * sizeof(float));
        m->buf_n = act;
    }
    grow(&m->col, &m->col_n, col ? col : 1);
    float *x = m->buf[0], *a = m->buf[1], *bb = m->buf[2], *sc = m->buf[3];
    // NCHW input -> CNHW
    for (int c = 0; c < 3; c++)
        for (int b = 0; b < B; b++)
            memcpy(a + ((size_t)c * B + b) * H * W, img + ((size_t)b * 3 + c) * H * W, (size_t)H * W * sizeof(float));
    int h, w;
    conv_out_size(&m->stem, H, W, &h, &w);
    run_conv(m, bb, a, &m->stem, B, H, W, NULL, 1);
    double tp = m->profile ? omp_get_wtime() : 0;
    maxpool3x3s2_forward(x, bb, 64, B, h, w);
    if (m->profile) m->prof_s[RESNET_PROF_POOL] += omp_get_wtime() - tp;
    h = (h - 1) / 2 + 1, w = (w - 1) / 2 + 1;
    int C = 64;
    for (int s = 0; s < deepest; s++) {
        for (int i = 0; i < m->cfg.blocks[s]; i++) {
            const ResBlock *k = &m->stage[s][i];
            int h1, w1, h2, w2;
            const float *shortcut = x;
            if (k->down.cout) {
                run_conv(m, sc, x, &k->down, B, h, w, NULL, 0);
                shortcut = sc;
            }
            conv_out_size(&k->c1, h, w, &h1, &w1);
            run_conv(m, a, x, &k->c1, B, h, w, NULL, 1);
            conv_out_size(&k->c2, h1, w1, &h2, &w2);
            if (m->cfg.bottleneck) {
                run_conv(m, bb, a, &k->c2, B, h1, w1, NULL, 1);
                run_conv(m, a, bb, &k->c3, B, h2, w2, shortcut, 1);
                C = k->c3.cout;
            } else {
                run_conv(m, bb, a, &k->c2, B, h1, w1, shortcut, 1);
                float *t = a;
                a = bb, bb = t;  // the block output is now in a
                C = k->c2.cout;
            }
            float *t = x;  // block output becomes the next input
            x = a, a = t;
            h = h2, w = w2;
        }
        for (int t = 0; t < n_taps; t++) {
            if (taps[t] != s + 1) continue;
            size_t G = (size_t)h * w;
            for (size_t q = 0; q < (size_t)C * B * G; q++)
                if (!isfinite(x[q]))
                    return ad_error("%s: layer%d produced a non-finite activation (%g). Fix: check the weights file "
                                    "and the input",
                                    m->path, s + 1, (double)x[q]);
            // CNHW -> [B][G][C]
#pragma omp parallel for schedule(static)
            for (int b = 0; b < B; b++)
                for (size_t g = 0; g < G; g++)
                    for (int c = 0; c < C; c++) out[t][((size_t)b * G + g) * C + c] = x[((size_t)c * B + b) * G + g];
        }
    }
    return 0;
}
