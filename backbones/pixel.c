// Weight-free "pixel" backbone: patch features made of raw normalised pixels, so that every
// method runs where no pretrained weights exist (demo, tests, synthetic benchmarks).
//
// Pipeline: image_read_rgb8 -> Pillow-exact bilinear resize to size x size (as torchvision's
// Resize on a PIL image) -> ImageNet mean/std normalisation -> patches on a grid of
// gh = gw = (size - patch) / stride + 1 points. Each entry of `scales` is one "layer": at
// scale s the window of side patch*s centred on the same grid point is average-pooled (s x s
// blocks) down to patch x patch; pixels outside the image count as 0 (zero padding after
// normalisation). Feature layout per patch: channel-major [3][patch][patch] (torch unfold
// order), dim = 3 * patch * patch.
//
// Image embedding (`embed`), for RsCIN:
//   mean  - the mean of the first layer's patch features, L2-normalised (CLIP-like, dim 3*patch^2)
//   thumb - the image resized (Pillow bilinear) to 16 x 16, ImageNet-normalised, flattened
//           channel-major and L2-normalised (dim 768)
//   none  - no embedding (RsCIN is skipped by methods).
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <stdint.h>
#include <unistd.h>

#include "backbone.h"
#include "err.h"
#include "image.h"

static const ParamSpec SPEC[] = {
    {"size", PT_INT, "224", 8, 4096, "input side after the (Pillow bilinear) resize"},
    {"patch", PT_INT, "8", 1, 64, "patch side in pixels"},
    {"stride", PT_INT, "8", 1, 64, "grid step in pixels"},
    {"scales", PT_INT_LIST, "[1]", 1, 16, "one layer per scale s: window patch*s average-pooled to patch x patch"},
    {"embed", PT_STRING, "mean", 1, 0, "image embedding for RsCIN: mean | thumb | none"},
    PARAM_END};

static const float MEAN[3] = {0.485f, 0.456f, 0.406f}, STD[3] = {0.229f, 0.224f, 0.225f};

enum { EMBED_NONE, EMBED_MEAN, EMBED_THUMB };

struct Backbone {
    int size, patch, stride, n_scales, scales[16], embed;
    char *key;
};

static Backbone *open_(const Params *p) {
    Backbone *b = ad_calloc(1, sizeof *b);
    b->size = params_int(p, "size");
    b->patch = params_int(p, "patch");
    b->stride = params_int(p, "stride");
    int sc[64];
    int ns = params_int_list(p, "scales", sc, 64);
    const char *e = params_str(p, "embed");
    if (ns > 16) {
        ad_error("parameter 'scales': expected at most 16 scales, found %d", ns);
        free(b);
        return NULL;
    }
    b->n_scales = ns;
    memcpy(b->scales, sc, (size_t)ns * sizeof(int));
    if (!strcmp(e, "mean")) b->embed = EMBED_MEAN;
    else if (!strcmp(e, "thumb")) b->embed = EMBED_THUMB;
    else if (!strcmp(e, "none")) b->embed = EMBED_NONE;
    else {
        ad_error("parameter 'embed': expected mean, thumb or none, found '%s'", e);
        free(b);
        return NULL;
    }
    if (b->patch > b->size) {
        ad_error("parameter 'patch' = %d exceeds 'size' = %d. Fix: use a smaller patch or a larger size",
                 b->patch, b->size);
        free(b);
        return NULL;
    }
    // Memory from the config, before any extraction: size 4096, patch 64, stride 1 (each in
    // range) asked for 800 GB per image. Refused with the figure when one image's features
    // exceed the machine's memory.
    {
        int64_t g = (b->size - b->patch) / b->stride + 1, dim = 3 * (int64_t)b->patch * b->patch;
        double bytes = (double)ns * (double)g * (double)g * (double)dim * 4.0;
        long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
        double ram = pages > 0 && psz > 0 ? (double)pages * (double)psz : 64e9;
        if (bytes > ram / 2) {
            ad_error("size %d, patch %d, stride %d, %d scale%s give a %lldx%lld grid of %lld-dim features: %.1f GB per "
                     "image, more than half of this machine's %.1f GB. Fix: use a larger stride, a smaller patch or size",
                     b->size, b->patch, b->stride, ns, ns == 1 ? "" : "s", (long long)g, (long long)g, (long long)dim,
                     bytes / 1e9, ram / 1e9);
            free(b);
            return NULL;
        }
    }
    char sbuf[160] = "";
    for (int t = 0; t < ns; t++) {
        size_t l = strlen(sbuf);
        snprintf(sbuf + l, sizeof sbuf - l, "%s%d", t ? "," : "", sc[t]);
    }
    b->key = ad_sprintf("pixel v1 resize=pil-bilinear norm=imagenet size=%d patch=%d stride=%d scales=%s embed=%s",
                        b->size, b->patch, b->stride, sbuf, e);
    return b;
}

static const char *cache_key(const Backbone *b) { return b->key; }

static void close_(Backbone *b) {
    if (!b) return;
    free(b->key);
    free(b);
}

// u8 interleaved RGB -> normalised float planar [3][h][w].
static float *normalise(const ImageU8 *im) {
    size_t hw = (size_t)im->w * im->h;
    float *x = ad_malloc(3 * hw * sizeof(float));
    for (int c = 0; c < 3; c++)
        for (size_t t = 0; t < hw; t++) x[c * hw + t] = ((float)im->data[t * 3 + c] / 255.f - MEAN[c]) / STD[c];
    return x;
}

static void l2_normalise(float *v, int n) {
    double s = 0;
    for (int t = 0; t < n; t++) s += (double)v[t] * v[t];
    if (s > 0)
        for (int t = 0; t < n; t++) v[t] = (float)(v[t] / sqrt(s));
}

static int extract(Backbone *b, const char *path, Features *out) {
    memset(out, 0, sizeof *out);
    ImageU8 im = {0}, rs = {0};
    if (image_read_rgb8(path, &im)) return -1;
    const ImageU8 *src = &im;
    if (im.w != b->size || im.h != b->size) {
        pil_resize_u8(&rs, &im, b->size, b->size, RESAMPLE_BILINEAR);
        src = &rs;
    }
    int S = b->size, P = b->patch, g = (S - P) / b->stride + 1, dim = 3 * P * P;
    float *x = normalise(src);
    out->n_layers = b->n_scales, out->gh = g, out->gw = g, out->dim = dim;
    out->patch = ad_malloc((size_t)b->n_scales * g * g * dim * sizeof(float));
    for (int l = 0; l < b->n_scales; l++) {
        int s = b->scales[l];
        double inv = 1.0 / ((double)s * s);
        for (int gy = 0; gy < g; gy++)
            for (int gx = 0; gx < g; gx++) {
                // Window of side P*s centred on the scale-1 patch (top-left floored).
                int y0 = gy * b->stride - (P * (s - 1)) / 2, x0 = gx * b->stride - (P * (s - 1)) / 2;
                float *f = out->patch + (((size_t)l * g + gy) * g + gx) * dim;
                for (int c = 0; c < 3; c++)
                    for (int a = 0; a < P; a++)
                        for (int bb = 0; bb < P; bb++) {
                            double acc = 0;
                            for (int da = 0; da < s; da++)
                                for (int db = 0; db < s; db++) {
                                    int yy = y0 + a * s + da, xx = x0 + bb * s + db;
                                    if (yy >= 0 && yy < S && xx >= 0 && xx < S) acc += x[((size_t)c * S + yy) * S + xx];
                                }
                            f[(c * P + a) * P + bb] = (float)(acc * inv);
                        }
            }
    }
    if (b->embed == EMBED_MEAN) {
        out->embed_dim = dim;
        out->embed = ad_malloc((size_t)dim * sizeof(float));
        for (int t = 0; t < dim; t++) {
            double acc = 0;
            for (int q = 0; q < g * g; q++) acc += out->patch[(size_t)q * dim + t];
            out->embed[t] = (float)(acc / (g * g));
        }
        l2_normalise(out->embed, dim);
    } else if (b->embed == EMBED_THUMB) {
        ImageU8 th = {0};
        pil_resize_u8(&th, &im, 16, 16, RESAMPLE_BILINEAR);
        out->embed_dim = 768;
        out->embed = normalise(&th);
        l2_normalise(out->embed, 768);
        image_u8_free(&th);
    }
    free(x);
    image_u8_free(&rs);
    image_u8_free(&im);
    return 0;
}

const BackboneDriver backbone_pixel = {"pixel", SPEC, open_, extract, cache_key, close_, NULL};
