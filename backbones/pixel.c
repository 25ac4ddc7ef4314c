// PLACEHOLDER: replaced by the real 'pixel' backbone driver.
#include "backbone.h"
#include "err.h"
static const ParamSpec SPEC[] = {PARAM_END};
static Backbone *open_(const Params *p) { (void)p; ad_error("backbone 'pixel' is not implemented in this build"); return NULL; }
const BackboneDriver backbone_pixel = {"pixel", SPEC, open_, NULL, NULL, NULL};
