// Method registry. Adding a method = one file defining a Method + one line here.
#include "method.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"

extern const Method method_musc;         // methods/musc.c
extern const Method method_codegraph;    // methods/codegraph.c
extern const Method method_patchcore;    // methods/patchcore.c
extern const Method method_anomalydino;  // methods/anomalydino.c

static const Method *const METHODS[] = {&method_musc, &method_codegraph, &method_patchcore, &method_anomalydino};

const char *method_names(void) { return "musc, codegraph, patchcore, anomalydino"; }

const Method *method_find(const char *name) {
    for (size_t i = 0; i < sizeof METHODS / sizeof METHODS[0]; i++)
        if (!strcmp(METHODS[i]->name, name)) return METHODS[i];
    ad_error("unknown method '%s'; expected one of: %s", name, method_names());
    return NULL;
}

void method_output_free(MethodOutput *o) {
    free(o->image_score);
    free(o->maps);
    free(o->diag);
    o->image_score = o->maps = o->diag = NULL;
    o->n_diag = 0;
}

static MethodProgressFn g_progress;
static void *g_progress_user;

void method_set_progress(MethodProgressFn fn, void *user) {
    g_progress = fn;
    g_progress_user = user;
}

void method_progress(double fraction) {
    if (g_progress) g_progress(g_progress_user, fraction);
}
