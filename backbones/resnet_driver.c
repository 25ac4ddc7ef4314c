// Backbone driver "resnet": torchvision ResNets / WideResNets (backbones/resnet.h) from a
// safetensors file, torchvision's ImageNet input pipeline, per-stage feature maps as patch
// grids. Layers differ in grid and width (ResNet-18 at 224: layer2 28x28x128, layer3
// 14x14x256); PatchCore embeds them as upstream does, the single-grid methods align them
// (method.h feature_batch_align).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backbone.h"
#include "err.h"
#include "image.h"
#include "preprocess.h"
#include "resnet.h"
#include "sha256.h"

static const ParamSpec SPEC[] = {
    {"weights", PT_STRING, "", 0, -1,
     "path of a torchvision ResNet / WideResNet .safetensors (scripts/fetch_weights.sh: resnet18, wide_resnet50_2)"},
    {"layers", PT_INT_LIST, "[2,3]", 1, 4,
     "stages tapped, 1..4 (PatchCore: [2,3]); the first listed sets the grid the methods score on"},
    {"preprocess", PT_STRING, "patchcore", 0, -1,
     "patchcore: Resize(resize) shorter side + CenterCrop(size) (torchvision, as patchcore-inspection); "
     "resize: the whole image to size x size (aspect not kept)"},
    {"size", PT_INT, "224", 32, 4096, "input side after the crop (patchcore) or the resize (resize)"},
    {"resize", PT_INT, "256", 32, 8192, "patchcore: shorter side before the centre crop (upstream: 256 for 224)"},
    {"embed", PT_STRING, "gap", 0, -1,
     "image embedding for RsCIN: gap (global average of the last listed layer, L2-normalised) | none"},
    PARAM_END};

#define MAX_TAPS 4

struct Backbone {
    ResNet m;
    int taps[MAX_TAPS], n_taps, size, resize, crop, embed;
    char *key;
};

static void close_(Backbone *b) {
    if (!b) return;
    resnet_close(&b->m);
    free(b->key);
    free(b);
}

static Backbone *open_(const Params *p) {
    const char *path = params_str(p, "weights"), *prep = params_str(p, "preprocess"), *emb = params_str(p, "embed");
    if (!path || !*path) {
        ad_error("backbone resnet: key 'weights' is empty; expected the path of a .safetensors file. Fix: set "
                 "backbone.weights (scripts/fetch_weights.sh resnet18 downloads one)");
        return NULL;
    }
    Backbone *b = ad_calloc(1, sizeof *b);
    int t[64];
    b->n_taps = params_int_list(p, "layers", t, 64);
    if (b->n_taps > MAX_TAPS) {
        ad_error("backbone resnet: layers: expected at most 4 stages, found %d", b->n_taps);
        free(b);
        return NULL;
    }
    int deepest = 0;
    for (int i = 0; i < b->n_taps; i++) {
        for (int j = 0; j < i; j++)
            if (t[j] == t[i]) {
                ad_error("backbone resnet: layers: stage %d is listed twice. Fix: list each stage once", t[i]);
                free(b);
                return NULL;
            }
        b->taps[i] = t[i];
        deepest = t[i] > deepest ? t[i] : deepest;
    }
    b->size = params_int(p, "size");
    if (!strcmp(prep, "patchcore")) {
        b->resize = params_int(p, "resize"), b->crop = b->size;
        if (b->crop > b->resize) {
            ad_error("backbone resnet: size %d is larger than resize %d: the centre crop must fit in the resized image. "
                     "Fix: use resize >= size (upstream: 256 and 224)",
                     b->size, b->resize);
            free(b);
            return NULL;
        }
    } else if (strcmp(prep, "resize")) {
        ad_error("backbone resnet: preprocess: expected patchcore or resize, found '%s'", prep);
        free(b);
        return NULL;
    }
    if (!strcmp(emb, "gap")) b->embed = 1;
    else if (strcmp(emb, "none")) {
        ad_error("backbone resnet: embed: expected gap or none, found '%s'", emb);
        free(b);
        return NULL;
    }
    if (resnet_open(&b->m, path, deepest)) {
        free(b);
        return NULL;
    }
    char hex[65], layers[32] = "";
    if (sha256_file_cached(hex, path, NULL)) {
        close_(b);
        return NULL;
    }
    for (int i = 0; i < b->n_taps; i++) snprintf(layers + strlen(layers), sizeof layers - strlen(layers), "%s%d", i ? "," : "", b->taps[i]);
    b->key = ad_sprintf("resnet:%s:sha256=%s:layers=%s:preprocess=%s:size=%d:resize=%d:embed=%s", b->m.cfg.arch, hex,
                        layers, prep, b->size, b->resize, emb);
    return b;
}

static const char *cache_key_(const Backbone *b) { return b->key; }

static int extract_(Backbone *b, const char *image_path, Features *out) {
    memset(out, 0, sizeof *out);
    ImageU8 im = {0};
    if (image_read_rgb8(image_path, &im)) return -1;
    float *x;
    int H, W;
    if (b->crop) {
        cnn_preprocess_u8(&x, &H, &W, &im, b->resize, b->crop);
    } else {
        ImageU8 r = {0};
        pil_resize_u8(&r, &im, b->size, b->size, RESAMPLE_BILINEAR);
        cnn_preprocess_u8(&x, &H, &W, &r, 0, 0);
        image_u8_free(&r);
    }
    image_u8_free(&im);
    out->n_layers = b->n_taps;
    size_t total = 0, off[MAX_TAPS];
    for (int t = 0; t < b->n_taps; t++) {
        LayerShape *s = &out->layer[t];
        resnet_stage_grid(b->taps[t], H, W, &s->gh, &s->gw);
        s->dim = b->m.cfg.channels[b->taps[t] - 1];
        off[t] = total;
        total += layer_floats(s);
    }
    out->patch = ad_malloc(total * sizeof(float));
    float *dst[MAX_TAPS];
    for (int t = 0; t < b->n_taps; t++) dst[t] = out->patch + off[t];
    int rc = resnet_forward(&b->m, dst, x, 1, H, W, b->taps, b->n_taps);
    free(x);
    if (rc) {
        features_free(out);
        return ad_error_prefix("%s", image_path);
    }
    if (b->embed) {  // global average pool of the last listed layer, L2-normalised
        const LayerShape *s = &out->layer[b->n_taps - 1];
        const float *f = dst[b->n_taps - 1];
        int G = s->gh * s->gw;
        out->embed_dim = s->dim;
        out->embed = ad_malloc((size_t)s->dim * sizeof(float));
        double nrm = 0;
        for (int c = 0; c < s->dim; c++) {
            double a = 0;
            for (int g = 0; g < G; g++) a += f[(size_t)g * s->dim + c];
            out->embed[c] = (float)(a / G);
            nrm += (double)out->embed[c] * out->embed[c];
        }
        for (int c = 0; c < s->dim && nrm > 0; c++) out->embed[c] = (float)(out->embed[c] / sqrt(nrm));
    }
    return features_fill_layers(out);
}

const BackboneDriver backbone_resnet = {"resnet", SPEC, open_, extract_, cache_key_, close_, NULL};
