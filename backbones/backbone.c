// Backbone registry. Adding a backbone = one file defining a BackboneDriver + one line here.
#include "backbone.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"

extern const BackboneDriver backbone_vit;    // backbones/vit_driver.c (CLIP / DINOv2)
extern const BackboneDriver backbone_pixel;  // backbones/pixel.c

static const BackboneDriver *const BACKBONES[] = {&backbone_vit, &backbone_pixel};

const BackboneDriver *backbone_find(const char *name) {
    for (size_t i = 0; i < sizeof BACKBONES / sizeof BACKBONES[0]; i++)
        if (!strcmp(BACKBONES[i]->name, name)) return BACKBONES[i];
    ad_error("unknown backbone '%s'; expected one of: vit, pixel", name);
    return NULL;
}

void features_free(Features *f) {
    free(f->patch);
    free(f->embed);
    memset(f, 0, sizeof *f);
}
