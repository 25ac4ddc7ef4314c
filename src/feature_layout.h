// Per-layer layout of a feature set. ViT (and pixel) layers share one grid and width; CNN
// layers do not (ResNet-18 at 224: layer2 28x28x128, layer3 14x14x256). An image's features are
// its layers one after the other, layer l as [gh_l * gw_l][dim_l] row-major patches.
#pragma once
#include <stddef.h>

#define FEAT_MAX_LAYERS 64

typedef struct { int gh, gw, dim; } LayerShape;

static inline size_t layer_floats(const LayerShape *s) { return (size_t)s->gh * (size_t)s->gw * (size_t)s->dim; }

// Offset (in floats) of layer l, and the size of all n layers.
static inline size_t layers_offset(const LayerShape *s, int l) {
    size_t o = 0;
    for (int i = 0; i < l; i++) o += layer_floats(&s[i]);
    return o;
}
static inline size_t layers_floats(const LayerShape *s, int n) { return layers_offset(s, n); }

// 1 when every layer has layer 0's grid and width.
static inline int layers_uniform(const LayerShape *s, int n) {
    for (int i = 1; i < n; i++)
        if (s[i].gh != s[0].gh || s[i].gw != s[0].gw || s[i].dim != s[0].dim) return 0;
    return 1;
}

static inline int layers_equal(const LayerShape *a, const LayerShape *b, int n) {
    for (int i = 0; i < n; i++)
        if (a[i].gh != b[i].gh || a[i].gw != b[i].gw || a[i].dim != b[i].dim) return 0;
    return 1;
}
