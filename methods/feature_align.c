// feature_batch_align (method.h): CNN layers of different grids and widths brought to one
// layout for the single-grid methods.
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "image.h"  // interp_bilinear
#include "membank.h"  // adaptive_avg_pool1d
#include "method.h"

// Layer l of one image (src, [h*w][C]) resampled to [H*W][C] (channel planes, bilinear,
// align_corners=False); identity when the grid already matches.
static void resample_layer(float *dst, const float *src, int h, int w, int C, int H, int W) {
    if (h == H && w == W) {
        memcpy(dst, src, (size_t)h * w * C * sizeof(float));
        return;
    }
    float *pin = ad_malloc((size_t)h * w * sizeof(float)), *pout = ad_malloc((size_t)H * W * sizeof(float));
    for (int c = 0; c < C; c++) {
        for (int q = 0; q < h * w; q++) pin[q] = src[(size_t)q * C + c];
        interp_bilinear(pout, H, W, pin, h, w, 0);
        for (int q = 0; q < H * W; q++) dst[(size_t)q * C + c] = pout[q];
    }
    free(pin), free(pout);
}

const LayerShape *feature_batch_layers(const FeatureBatch *b, LayerShape *tmp) {
    if (b->layer[0].dim) return b->layer;
    for (int l = 0; l < b->n_layers && l < FEAT_MAX_LAYERS; l++) tmp[l] = (LayerShape){b->gh, b->gw, b->dim};
    return tmp;
}

int feature_batch_align(FeatureBatch *out, const FeatureBatch *in, const char *mode) {
    *out = *in;
    if (!in->layer[0].dim || layers_uniform(in->layer, in->n_layers)) return 0;
    int concat = !strcmp(mode, "concat");
    if (!concat && strcmp(mode, "pool"))
        return ad_error("parameter 'layer_align': expected concat or pool, found '%s'", mode);
    int L = in->n_layers, H = in->layer[0].gh, W = in->layer[0].gw, P = H * W, sum = 0, narrow = in->layer[0].dim;
    for (int l = 0; l < L; l++) {
        sum += in->layer[l].dim;
        narrow = in->layer[l].dim < narrow ? in->layer[l].dim : narrow;
    }
    out->n_layers = concat ? 1 : L;
    out->gh = H, out->gw = W, out->dim = concat ? sum : narrow;
    memset(out->layer, 0, sizeof out->layer);
    for (int l = 0; l < out->n_layers; l++) out->layer[l] = (LayerShape){H, W, out->dim};
    float **feat = ad_calloc((size_t)(in->n ? in->n : 1), sizeof *feat);
    int widest = 0;
    for (int l = 0; l < L; l++) widest = in->layer[l].dim > widest ? in->layer[l].dim : widest;
#pragma omp parallel
    {
        float *tmp = ad_malloc((size_t)P * widest * sizeof(float));
#pragma omp for schedule(dynamic, 1)
        for (int i = 0; i < in->n; i++) {
            float *f = feat[i] = ad_malloc((size_t)P * out->dim * out->n_layers * sizeof(float));
            int c0 = 0;
            for (int l = 0; l < L; l++) {
                const LayerShape *s = &in->layer[l];
                resample_layer(tmp, in->feat[i] + layers_offset(in->layer, l), s->gh, s->gw, s->dim, H, W);
                for (int q = 0; q < P; q++) {
                    if (concat) memcpy(f + (size_t)q * sum + c0, tmp + (size_t)q * s->dim, (size_t)s->dim * sizeof(float));
                    else adaptive_avg_pool1d(f + ((size_t)l * P + q) * narrow, narrow, tmp + (size_t)q * s->dim, s->dim);
                }
                c0 += s->dim;
            }
        }
        free(tmp);
    }
    out->feat = (const float *const *)feat;
    return 0;
}

void feature_batch_align_free(FeatureBatch *out, const FeatureBatch *in) {
    if (out->feat && out->feat != in->feat) {
        for (int i = 0; i < out->n; i++) free((void *)out->feat[i]);
        free((void *)out->feat);
    }
    out->feat = NULL;
}
