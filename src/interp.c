// PLACEHOLDER: PyTorch/scipy-exact float resamplers (being written by the image helper).
#include "err.h"
#include "image.h"

void interp_bilinear(float *out, int oh, int ow, const float *in, int ih, int iw, int align_corners) {
    (void)out; (void)oh; (void)ow; (void)in; (void)ih; (void)iw; (void)align_corners;
    AD_INTERNAL("interp_bilinear not implemented yet");
}
void interp_bicubic_torch(float *out, int oh, int ow, const float *in, int ih, int iw, int C,
                          double scale_h, double scale_w) {
    (void)out; (void)oh; (void)ow; (void)in; (void)ih; (void)iw; (void)C; (void)scale_h; (void)scale_w;
    AD_INTERNAL("interp_bicubic_torch not implemented yet");
}
void gaussian_filter2d(float *map, int h, int w, double sigma) {
    (void)map; (void)h; (void)w; (void)sigma;
    AD_INTERNAL("gaussian_filter2d not implemented yet");
}
