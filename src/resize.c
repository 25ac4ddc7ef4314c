// Pillow-exact Image.resize for 8-bit images (any channel count), written from the behaviour
// of Pillow 9.4's ImagingResample (src/libImaging/Resample.c) and checked pixel for pixel
// against Pillow in tests/test_image.c (goldens from tests/gen/gen_image.py).
//
// BILINEAR / BICUBIC (convolution with antialiasing):
//  * per axis: scale = in/out, filterscale = max(scale, 1), support = filter.support * filterscale;
//    output o has centre (o + 0.5) * scale and taps xmin = max(0, (int)(centre - support + 0.5)),
//    xmax = min(in, (int)(centre + support + 0.5)); weights filter((x - centre + 0.5) / filterscale)
//    normalised to sum 1 in double, then rounded to 22-bit fixed point (round half away from 0);
//  * the horizontal pass runs first (only over the source rows the vertical pass reads), its
//    result is ROUNDED TO UINT8, then the vertical pass; a pass is skipped when its size is
//    unchanged; each pass computes 2^21 + sum(pix * k), then clips (acc >> 22) to [0, 255].
//  * bicubic is Keys' kernel with a = -0.5 (support 2), bilinear the triangle (support 1).
// NEAREST: Pillow's ImagingScaleAffine: source index = (int) of the running sum
// scale/2 + scale + ... (accumulated in double, not (o + 0.5) * scale).
// Not reproduced: Pillow premultiplies alpha for RGBA/LA images (our images have no alpha) and
// forces NEAREST for mode "1"/"P" images (the caller decides the filter).
//
// The double arithmetic is written in the same order as Pillow's so the weights are bit-identical;
// -std=c11 keeps floating-point contraction (FMA) off.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "image.h"

#define PRECISION_BITS (32 - 8 - 2)

static double filter_bilinear(double x) {
    if (x < 0.0) x = -x;
    if (x < 1.0) return 1.0 - x;
    return 0.0;
}

static double filter_bicubic(double x) {
    const double a = -0.5;
    if (x < 0.0) x = -x;
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

typedef struct {
    int ksize;     // taps per output (upper bound)
    int *bounds;   // out_size x {first tap, tap count}
    int32_t *kk;   // out_size x ksize fixed-point weights
} Coeffs;

// Weights for one axis, in_size -> out_size.
static Coeffs coeffs_make(int in_size, int out_size, Resample filter) {
    double (*fn)(double) = filter == RESAMPLE_BICUBIC ? filter_bicubic : filter_bilinear;
    double fsupport = filter == RESAMPLE_BICUBIC ? 2.0 : 1.0;
    // Pillow computes (in1 - in0) in float from the box (0, in_size): exact for any real size.
    double scale = (double)((float)in_size - 0.0f) / out_size;
    double filterscale = scale < 1.0 ? 1.0 : scale;
    double support = fsupport * filterscale;
    Coeffs c;
    c.ksize = (int)ceil(support) * 2 + 1;
    c.bounds = ad_malloc(sizeof(int) * 2 * (size_t)out_size);
    c.kk = ad_calloc((size_t)out_size * c.ksize, sizeof(int32_t));
    double *k = ad_malloc(sizeof(double) * c.ksize);
    for (int xx = 0; xx < out_size; xx++) {
        double center = 0.0 + (xx + 0.5) * scale;
        double ww = 0.0, ss = 1.0 / filterscale;
        int xmin = (int)(center - support + 0.5);
        if (xmin < 0) xmin = 0;
        int xmax = (int)(center + support + 0.5);
        if (xmax > in_size) xmax = in_size;
        xmax -= xmin;
        for (int x = 0; x < xmax; x++) {
            double w = fn((x + xmin - center + 0.5) * ss);
            k[x] = w;
            ww += w;
        }
        for (int x = 0; x < xmax; x++) {
            if (ww != 0.0) k[x] /= ww;
            double v = k[x] * (1 << PRECISION_BITS);
            c.kk[(size_t)xx * c.ksize + x] = (int32_t)(k[x] < 0 ? -0.5 + v : 0.5 + v);
        }
        c.bounds[2 * xx] = xmin;
        c.bounds[2 * xx + 1] = xmax;
    }
    free(k);
    return c;
}

static void coeffs_free(Coeffs *c) {
    free(c->bounds);
    free(c->kk);
}

static inline uint8_t clip8(int32_t acc) {
    if (acc >= (1 << PRECISION_BITS << 8)) return 255;
    if (acc <= 0) return 0;
    return (uint8_t)(acc >> PRECISION_BITS);
}

// Rows [y0, y0 + nrows) of in (w_in wide) -> nrows rows of out (w_out wide), C channels.
static void pass_horizontal(uint8_t *out, const uint8_t *in, int y0, int nrows, int w_in, int w_out,
                            int C, const Coeffs *c) {
#pragma omp parallel for schedule(static)
    for (int y = 0; y < nrows; y++) {
        const uint8_t *row = in + (size_t)(y0 + y) * w_in * C;
        uint8_t *orow = out + (size_t)y * w_out * C;
        for (int xx = 0; xx < w_out; xx++) {
            int xmin = c->bounds[2 * xx], n = c->bounds[2 * xx + 1];
            const int32_t *k = c->kk + (size_t)xx * c->ksize;
            for (int ch = 0; ch < C; ch++) {
                int32_t acc = 1 << (PRECISION_BITS - 1);
                for (int x = 0; x < n; x++) acc += row[(size_t)(xmin + x) * C + ch] * k[x];
                orow[(size_t)xx * C + ch] = clip8(acc);
            }
        }
    }
}

// Vertical pass; bounds are relative to row `shift` of in.
static void pass_vertical(uint8_t *out, const uint8_t *in, int shift, int h_out, int w, int C,
                          const Coeffs *c) {
    size_t stride = (size_t)w * C;
#pragma omp parallel for schedule(static)
    for (int yy = 0; yy < h_out; yy++) {
        int ymin = c->bounds[2 * yy] - shift, n = c->bounds[2 * yy + 1];
        const int32_t *k = c->kk + (size_t)yy * c->ksize;
        uint8_t *orow = out + (size_t)yy * stride;
        for (size_t i = 0; i < stride; i++) {
            int32_t acc = 1 << (PRECISION_BITS - 1);
            for (int y = 0; y < n; y++) acc += in[(size_t)(ymin + y) * stride + i] * k[y];
            orow[i] = clip8(acc);
        }
    }
}

// Pillow's ImagingScaleAffine: the source coordinate is ACCUMULATED (xo += scale per output
// pixel, starting at scale / 2) and truncated, so it can differ from (int)((o + 0.5) * scale)
// by one where the exact value is an integer. Out-of-range positions are filled with 0.
static void resize_nearest(ImageU8 *out, const ImageU8 *in) {
    int C = in->c, *xs = ad_malloc(sizeof(int) * out->w);
    double ax = (double)((float)in->w - 0.0f) / out->w, ay = (double)((float)in->h - 0.0f) / out->h;
    double xo = 0.0 + ax * 0.5, yo = 0.0 + ay * 0.5;
    for (int x = 0; x < out->w; x++) {
        int xi = xo < 0.0 ? -1 : (int)xo;
        xs[x] = xi < in->w ? xi : -1;
        xo += ax;
    }
    for (int y = 0; y < out->h; y++) {
        int yi = yo < 0.0 ? -1 : (int)yo;
        yo += ay;
        uint8_t *orow = out->data + (size_t)y * out->w * C;
        if (yi < 0 || yi >= in->h) {
            memset(orow, 0, (size_t)out->w * C);
            continue;
        }
        const uint8_t *row = in->data + (size_t)yi * in->w * C;
        for (int x = 0; x < out->w; x++) {
            if (xs[x] < 0) memset(orow + (size_t)x * C, 0, C);
            else memcpy(orow + (size_t)x * C, row + (size_t)xs[x] * C, C);
        }
    }
    free(xs);
}

void pil_resize_u8(ImageU8 *out, const ImageU8 *in, int out_w, int out_h, Resample filter) {
    AD_ASSERT(in && in->data && in->w > 0 && in->h > 0 && in->c > 0 && out_w > 0 && out_h > 0);
    AD_ASSERT(filter == RESAMPLE_NEAREST || filter == RESAMPLE_BILINEAR || filter == RESAMPLE_BICUBIC);
    int C = in->c;
    out->w = out_w;
    out->h = out_h;
    out->c = C;
    out->data = ad_malloc((size_t)out_w * out_h * C);
    if (out_w == in->w && out_h == in->h) {  // Image.resize returns a copy
        memcpy(out->data, in->data, (size_t)out_w * out_h * C);
        return;
    }
    if (filter == RESAMPLE_NEAREST) {
        resize_nearest(out, in);
        return;
    }
    int need_h = out_w != in->w, need_v = out_h != in->h;
    Coeffs cv = coeffs_make(in->h, out_h, filter);
    int y_first = cv.bounds[0];
    int y_last = cv.bounds[2 * out_h - 2] + cv.bounds[2 * out_h - 1];
    if (need_h) {
        Coeffs ch = coeffs_make(in->w, out_w, filter);
        if (need_v) {
            uint8_t *tmp = ad_malloc((size_t)out_w * (y_last - y_first) * C);
            pass_horizontal(tmp, in->data, y_first, y_last - y_first, in->w, out_w, C, &ch);
            pass_vertical(out->data, tmp, y_first, out_h, out_w, C, &cv);
            free(tmp);
        } else {
            pass_horizontal(out->data, in->data, 0, in->h, in->w, out_w, C, &ch);
        }
        coeffs_free(&ch);
    } else {
        pass_vertical(out->data, in->data, 0, out_h, in->w, C, &cv);
    }
    coeffs_free(&cv);
}

// Naive reference: every output pixel computed on its own (horizontal taps of each source row
// it needs, rounded to uint8, then the vertical taps), no shared intermediate, no threads.
void pil_resize_u8_naive(ImageU8 *out, const ImageU8 *in, int out_w, int out_h, Resample filter) {
    if (filter == RESAMPLE_NEAREST || (out_w == in->w && out_h == in->h)) {
        pil_resize_u8(out, in, out_w, out_h, filter);
        return;
    }
    int C = in->c;
    out->w = out_w;
    out->h = out_h;
    out->c = C;
    out->data = ad_malloc((size_t)out_w * out_h * C);
    Coeffs ch = coeffs_make(in->w, out_w, filter), cv = coeffs_make(in->h, out_h, filter);
    for (int yy = 0; yy < out_h; yy++)
        for (int xx = 0; xx < out_w; xx++)
            for (int c = 0; c < C; c++) {
                int ymin = out_h != in->h ? cv.bounds[2 * yy] : yy, ny = out_h != in->h ? cv.bounds[2 * yy + 1] : 1;
                int32_t vacc = 1 << (PRECISION_BITS - 1);
                for (int y = 0; y < ny; y++) {
                    const uint8_t *row = in->data + (size_t)(ymin + y) * in->w * C;
                    uint8_t mid;
                    if (out_w != in->w) {
                        int32_t hacc = 1 << (PRECISION_BITS - 1);
                        for (int x = 0; x < ch.bounds[2 * xx + 1]; x++)
                            hacc += row[(size_t)(ch.bounds[2 * xx] + x) * C + c] * ch.kk[(size_t)xx * ch.ksize + x];
                        mid = clip8(hacc);
                    } else {
                        mid = row[(size_t)xx * C + c];
                    }
                    if (out_h == in->h) { vacc = 0; out->data[((size_t)yy * out_w + xx) * C + c] = mid; break; }
                    vacc += mid * cv.kk[(size_t)yy * cv.ksize + y];
                }
                if (out_h != in->h) out->data[((size_t)yy * out_w + xx) * C + c] = clip8(vacc);
            }
    coeffs_free(&ch);
    coeffs_free(&cv);
}
