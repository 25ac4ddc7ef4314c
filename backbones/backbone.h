// Feature extractors behind one interface. A backbone turns an image file into per-layer
// patch tokens on a grid (CLS/register tokens dropped) plus an image-level embedding.
#pragma once
#include "params.h"

typedef struct {
    int n_layers;     // tapped layers, in config order
    int gh, gw;       // patch grid (rows, cols)
    int dim;          // token width
    float *patch;     // [n_layers][gh*gw][dim], row-major patches
    int embed_dim;    // 0 when the backbone has no image embedding
    float *embed;     // [embed_dim] (CLIP: ln_post(CLS)·proj, L2-normalised; DINOv2: normed CLS)
} Features;

typedef struct Backbone Backbone;

typedef struct {
    const char *name;         // "vit" (CLIP or DINOv2, told apart by the weights), "pixel"
    const ParamSpec *params;  // its config keys
    Backbone *(*open)(const Params *p);                               // NULL + ad_error
    int (*extract)(Backbone *b, const char *image_path, Features *out);  // 0 or -1 + ad_error
    // Everything that changes the features (family, weights hash, size, layers, act, norm):
    // the feature cache keys on it together with the image's content hash.
    const char *(*cache_key)(const Backbone *b);
    void (*close)(Backbone *b);
} BackboneDriver;

const BackboneDriver *backbone_find(const char *name);  // NULL + ad_error if unknown
void features_free(Features *f);
