// torchvision ResNets (ResNet-18/34: BasicBlock; ResNet-50/101 and WideResNet-50-2/101-2:
// Bottleneck), llm.c style: a config read from the tensor names and shapes, the weights (every
// BatchNorm folded into the conv before it), the activations, and one function per layer.
//
// Weights: a safetensors file with torchvision's names (`conv1.weight`, `layer2.0.conv1.weight`,
// `layer2.0.downsample.0.weight`, ...). Either the original checkpoint (convs without bias, then
// `bn1.weight/bias/running_mean/running_var`, eps 1e-5, folded at load time) or an already
// folded file (each conv has a `.bias`, there are no `bn*` tensors). Only the stem and the
// layers up to the deepest one requested are read: deeper tensors may be absent.
//
// Activations are kept channel-major with the batch inside, x[c][b][h][w] ("CNHW"). A 3x3
// stride-1 convolution runs Winograd F(4x4, 3x3) (conv_winograd.h: 4x fewer multiplications);
// any other k > 1 convolution the direct AVX-512 kernel of conv_direct.h where the build has
// AVX-512; a 1x1 one (and every other one without AVX-512) is one GEMM
// out[Cout][B*Ho*Wo] = W[Cout][Cin*k*k] x col[Cin*k*k][B*Ho*Wo] (im2col; 1x1 stride-1
// convolutions need no im2col), tiled over a fixed grid of output blocks. None of the three
// depends on the thread count.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "safetensors.h"

typedef struct {
    int cout, cin, k, stride, pad;
    float *w;  // (cout, cin, k, k), BN folded (owned)
    float *b;  // (cout) (owned)
    float *wp; // the direct convolution's layout (conv_direct.h; owned), NULL: im2col + sgemm
    float *wu; // Winograd's transformed filters (conv_winograd.h; owned); runs first when set
} Conv;

typedef struct {
    Conv c1, c2, c3;  // c3 only for Bottleneck
    Conv down;        // 1x1 projection shortcut; cout == 0 when the block has none
} ResBlock;

typedef struct {
    const char *arch;     // "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
                          // "wide_resnet50_2", "wide_resnet101_2", or "resnet" when the block
                          // counts match no torchvision model
    int bottleneck;       // 1: Bottleneck (expansion 4), 0: BasicBlock
    int width_per_group;  // 64, or 128 for the wide variants (Bottleneck only)
    int n_loaded;         // stages loaded (1..4): the deepest requested layer
    int blocks[4];        // blocks per stage (counted from the names; 0 past n_loaded)
    int channels[4];      // output width of each stage (64/128/256/512 x expansion)
    int bn_folded_at_load;  // 1: the file held bn* tensors (original checkpoint)
} ResNetConfig;

typedef struct {
    ResNetConfig cfg;
    Conv stem;            // conv1 7x7/2 (+ bn1), then ReLU and max-pool 3x3/2
    ResBlock *stage[4];   // stage[s][i], i < cfg.blocks[s]
    char *path;
    // activation arena, sized by resnet_forward for (B, H, W)
    float *buf[4], *col;
    size_t buf_n, col_n;
    // profile = 1: resnet_forward adds wall seconds and FLOPs per kind of layer (RESNET_PROF_*)
    int profile;
    double prof_s[5], prof_flops[5];
} ResNet;

// Load stages 1..n_stages (1..4) from path. 0, or -1 + ad_error naming the file and tensor
// (missing, misshapen, zero-sized, non-finite).
int resnet_open(ResNet *m, const char *path, int n_stages);
// The same architecture with random weights (benchmarks): arch as in ResNetConfig.arch.
int resnet_init_random(ResNet *m, const char *arch, int n_stages, uint64_t seed);
// Multiply-adds x 2 of one image's forward up to stage n_stages (convolutions only).
double resnet_flops(const ResNet *m, int n_stages, int H, int W);
void resnet_close(ResNet *m);
// Which kernels the convolutions use (benchmarks and tests compare them):
//   RESNET_CONV_WINOGRAD (the default after open): 3x3 stride 1 by Winograd, other k > 1 direct;
//   RESNET_CONV_DIRECT: every k > 1 convolution direct (AVX-512 builds; else im2col + sgemm);
//   RESNET_CONV_GEMM: every convolution im2col + sgemm.
// 1x1 convolutions are one sgemm in every mode.
typedef enum { RESNET_CONV_GEMM, RESNET_CONV_DIRECT, RESNET_CONV_WINOGRAD } ResNetConv;
void conv_set_kernel(Conv *c, ResNetConv kind);
void resnet_set_conv(ResNet *m, ResNetConv kind);
// Output grid of stage s (1..4) for an H x W input (the stem halves twice, each later stage
// once): (H + 2*3 - 7) / 2 + 1, then the pool, then 3x3/2 per stage.
void resnet_stage_grid(int s, int H, int W, int *gh, int *gw);

// Forward B images img[B][3][H][W] (normalised). For each requested stage taps[t] (1..4,
// ascending or not), out[t] receives [B][gh*gw][C] row-major patches (NHWC: the layout the
// methods use). Runs only up to the deepest tap. 0 or -1 + ad_error (non-finite activations).
enum { RESNET_PROF_WINOGRAD, RESNET_PROF_DIRECT, RESNET_PROF_POINTWISE, RESNET_PROF_IM2COL, RESNET_PROF_POOL };
int resnet_forward(ResNet *m, float *const *out, const float *img, int B, int H, int W, const int *taps, int n_taps);

// --- layers (exposed for the tests) --------------------------------------------------------
// out[cout][B][Ho][Wo] = conv(in[cin][B][H][W]) + bias, then ReLU when relu = 1, after adding
// res (same shape as out, may be NULL) when given. col: scratch of conv_col_floats() floats.
void conv2d_forward(float *out, float *col, const float *in, const Conv *c, int B, int H, int W, const float *res,
                    int relu);
// d[i] = a[i] + bias (+ res[i]), then ReLU when relu = 1, i < n (d may be a): the bias, shortcut
// and ReLU every convolution path ends with.
void conv_epilogue(float *d, const float *a, size_t n, float bias, const float *res, int relu);
// The same by direct summation in double: the reference for conv2d_forward.
void conv2d_forward_naive(float *out, const float *in, const Conv *c, int B, int H, int W, const float *res, int relu);
size_t conv_col_floats(const Conv *c, int B, int H, int W);
void conv_out_size(const Conv *c, int H, int W, int *Ho, int *Wo);
// 3x3 max-pool, stride 2, padding 1 (padding never wins), on [C][B][H][W].
void maxpool3x3s2_forward(float *out, const float *in, int C, int B, int H, int W);
