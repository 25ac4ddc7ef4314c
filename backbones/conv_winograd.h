// Winograd F(4x4, 3x3) for the 3x3 stride-1 convolutions that carry most of a ResNet's FLOPs
// (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016). Each 4x4 block of
// outputs ("tile") comes from the 6x6 input patch around it: V = B^T d B per input channel,
// then M = sum over input channels of U * V elementwise (U = G g G^T per filter, made once at
// load), then Y = A^T M A. The sum over input channels is 36 small matrix products, one per
// element of the 6x6 transform: M[xi] (Cout x tiles) = U[xi] (Cout x Cin) x V[xi] (Cin x tiles),
// an AVX-512 register tile over U packed at load (sgemm without AVX-512). 36 multiplies per
// tile do the work of 144: 4x fewer than direct summation, at a rounding error a few times
// larger (the transforms scale terms by up to 25 before they cancel); tests/test_resnet.c
// bounds it against the naive convolution (conv2d_forward_naive, resnet.h), and the networks'
// goldens against torchvision stay within 5e-6 relative. U is 4x the size of the weights.
#pragma once
#include <stddef.h>

#include "resnet.h"

// U for c (c->wu, owned by the Conv) when c is 3x3 with stride 1 (any padding); else wu = NULL.
void conv_winograd_pack(Conv *c);
// 1 when conv2d_forward_winograd runs c (it was packed).
int conv_winograd_applies(const Conv *c);
// Scratch floats conv2d_forward_winograd needs for (B, H, W).
size_t conv_winograd_scratch_floats(const Conv *c, int B, int H, int W);
// Same contract as conv2d_forward (resnet.h). The tiles are cut into chunks fixed by the
// shapes alone and every sgemm covers a whole chunk and all input channels, so results do not
// depend on the thread count.
void conv2d_forward_winograd(float *out, float *scratch, const float *in, const Conv *c, int B, int H, int W,
                             const float *res, int relu);
