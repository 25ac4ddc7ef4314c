// PLACEHOLDER: replaced by the real 'vit' backbone driver.
#include "backbone.h"
#include "err.h"
static const ParamSpec SPEC[] = {PARAM_END};
static Backbone *open_(const Params *p) { (void)p; ad_error("backbone 'vit' is not implemented in this build"); return NULL; }
const BackboneDriver backbone_vit = {"vit", SPEC, open_, NULL, NULL, NULL};
