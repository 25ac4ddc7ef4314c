// Direct convolution for every convolution with a kernel larger than 1x1 (the stem and the 3x3
// convolutions that carry most of a ResNet's FLOPs, any stride), on the CNHW layout of resnet.h:
// an AVX-512 register tile of 8 output channels x 48 positions reads a zero-padded, stride-phased
// copy of the input in place, so there is no im2col matrix and no GEMM packing. Built only with
// AVX-512 (-march=native on such a CPU); otherwise, and for 1x1 convolutions, conv_direct_pack
// leaves wp NULL and resnet.c keeps its im2col + sgemm path. The naive reference is
// conv2d_forward_naive (resnet.h); tests/test_resnet.c compares both paths with it.
#pragma once
#include <stddef.h>

#include "resnet.h"

// Weights re-laid out for the tile (c->wp, owned by the Conv): k > 1 on an AVX-512 build only;
// otherwise wp stays NULL.
void conv_direct_pack(Conv *c);
// 1 when conv2d_forward_direct runs c (it was packed).
int conv_direct_applies(const Conv *c);
// Scratch floats conv2d_forward_direct needs for (B, H, W).
size_t conv_direct_scratch_floats(const Conv *c, int B, int H, int W);
// Same contract as conv2d_forward (resnet.h). Each output is summed by one thread in a fixed
// order (input channel, then tap), so results do not depend on the thread count.
void conv2d_forward_direct(float *out, float *scratch, const float *in, const Conv *c, int B, int H, int W,
                           const float *res, int relu);
