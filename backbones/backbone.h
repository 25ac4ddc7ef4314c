// Feature extractors behind one interface. A backbone turns an image file into per-layer
// patch tokens on a grid (CLS/register tokens dropped) plus an image-level embedding.
#pragma once
#include "feature_layout.h"
#include "params.h"

typedef struct {
    int n_layers;     // tapped layers, in config order
    int gh, gw;       // patch grid (rows, cols): every layer's, or layer 0's when they differ
    int dim;          // token width when every layer has the same grid and width, else 0
    // Every layer's own grid and width. Uniform backbones (ViT, pixel) may leave it zeroed:
    // the feature cache fills it from gh, gw, dim (features_fill_layers).
    LayerShape layer[FEAT_MAX_LAYERS];
    float *patch;     // layers one after the other, layer l [gh_l*gw_l][dim_l] (feature_layout.h)
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
    // The value a key with an automatic setting (act: auto, size: 0, ...) took in this open
    // backbone, for config.resolved.yaml; NULL when the key was set explicitly or has no
    // automatic value. May be NULL (no automatic keys).
    const char *(*resolved)(const Backbone *b, const char *key);
} BackboneDriver;

const BackboneDriver *backbone_find(const char *name);  // NULL + ad_error if unknown
void features_free(Features *f);
// Fill layer[] from gh, gw, dim when a backbone left it zeroed; set gh, gw, dim from layer[]
// (dim 0 unless uniform) otherwise. -1 + ad_error when the shapes are empty or too many.
int features_fill_layers(Features *f);
