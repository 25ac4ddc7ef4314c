// Backbone registry. Adding a backbone = one file defining a BackboneDriver + one line here.
#include "backbone.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"

extern const BackboneDriver backbone_vit;    // backbones/vit_driver.c (CLIP / DINOv2)
extern const BackboneDriver backbone_pixel;  // backbones/pixel.c
extern const BackboneDriver backbone_resnet; // backbones/resnet_driver.c (torchvision ResNets)

static const BackboneDriver *const BACKBONES[] = {&backbone_vit, &backbone_pixel, &backbone_resnet};

const BackboneDriver *backbone_find(const char *name) {
    for (size_t i = 0; i < sizeof BACKBONES / sizeof BACKBONES[0]; i++)
        if (!strcmp(BACKBONES[i]->name, name)) return BACKBONES[i];
    ad_error("unknown backbone '%s'; expected one of: vit, pixel, resnet", name);
    return NULL;
}

void features_free(Features *f) {
    free(f->patch);
    free(f->embed);
    memset(f, 0, sizeof *f);
}

int features_fill_layers(Features *f) {
    if (f->n_layers < 1 || f->n_layers > FEAT_MAX_LAYERS)
        return ad_error("the backbone returned %d layers; expected 1..%d", f->n_layers, FEAT_MAX_LAYERS);
    if (!f->layer[0].dim)
        for (int l = 0; l < f->n_layers; l++) f->layer[l] = (LayerShape){f->gh, f->gw, f->dim};
    for (int l = 0; l < f->n_layers; l++)
        if (f->layer[l].gh < 1 || f->layer[l].gw < 1 || f->layer[l].dim < 1)
            return ad_error("the backbone returned an empty layer %d (grid %dx%d, width %d)", l, f->layer[l].gh,
                            f->layer[l].gw, f->layer[l].dim);
    f->gh = f->layer[0].gh, f->gw = f->layer[0].gw;
    f->dim = layers_uniform(f->layer, f->n_layers) ? f->layer[0].dim : 0;
    return 0;
}
