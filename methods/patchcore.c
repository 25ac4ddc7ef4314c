// PLACEHOLDER: replaced by the real implementation of method 'patchcore'.
#include "err.h"
#include "method.h"
static const ParamSpec SPEC[] = {PARAM_END};
static int run(const Params *p, const FeatureBatch *test, const FeatureBatch *train, const MethodContext *ctx, MethodOutput *out) {
    (void)p; (void)test; (void)train; (void)ctx; (void)out;
    return ad_error("method 'patchcore' is not implemented in this build");
}
const Method method_patchcore = {"patchcore", 0, SPEC, run, NULL};
