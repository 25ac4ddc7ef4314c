// adbench params: every key of every component's ParamSpec table is listed with its default
// and range; unknown names are one-line errors; the unknown-key hint of the config layer
// suggests the component's own keys first and names `adbench params NAME`.
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "backbone.h"
#include "dataset.h"
#include "err.h"
#include "method.h"
#include "params.h"
#include "synth.h"
#include "util_test.h"

const ParamSpec *params_synth_options(void);  // src/cmd_params.c

// Every key of spec appears as "  key  (type, default D" in out.
static void lists_all(const char *out, const ParamSpec *spec, const char *what) {
    int n = 0;
    for (const ParamSpec *s = spec; s->key; s++, n++) {
        char *line = ad_sprintf("\n  %s  (", s->key);
        const char *p = strstr(out, line);
        cr_assert(p, "%s: key '%s' not listed:\n%s", what, s->key, out);
        char *def = ad_sprintf("default %s", *s->def ? s->def : "none");
        const char *eol = strchr(p + 1, '\n');
        cr_assert(strstr(p, def) && strstr(p, def) < eol, "%s: '%s' lacks '%s'", what, s->key, def);
        free(def);
        free(line);
    }
    cr_assert_gt(n, 0, "%s: empty table", what);
}

Test(params, every_method_backbone_dataset_key_listed) {
    const char *methods[] = {"musc", "codegraph", "patchcore", "anomalydino"};
    for (int i = 0; i < 4; i++) {
        const Method *m = method_find(methods[i]);
        cr_assert(m);
        char *args = ad_sprintf("params %s", methods[i]), *out, *err;
        cr_assert_eq(run_adbench(args, &out, &err), 0, "%s", err);
        lists_all(out, m->params, methods[i]);
        cr_assert(strstr(out, "\n  name  ("), "%s", out);
        cr_assert(!strstr(out, "\n  shots  (") == !m->needs_train ||
                      params_find(m->params, "shots"),
                  "shots listed for a zero-shot method or missing for a few-shot one: %s", out);
        free(args), free(out), free(err);
    }
    const char *bbs[] = {"vit", "pixel"};
    for (int i = 0; i < 2; i++) {
        const BackboneDriver *b = backbone_find(bbs[i]);
        char *args = ad_sprintf("params %s", bbs[i]), *out, *err;
        cr_assert_eq(run_adbench(args, &out, &err), 0, "%s", err);
        lists_all(out, b->params, bbs[i]);
        free(args), free(out), free(err);
    }
    char *out, *err;
    cr_assert_eq(run_adbench("params synth", &out, &err), 0, "%s", err);
    lists_all(strstr(out, "  synth: {...}"), params_synth_options(), "synth");
    cr_assert(strstr(out, "\n  root  (") && strstr(out, "\n  categories  (text, default all)"), "%s", out);
    free(out), free(err);
    // Ranges are printed for numbers: musc's topmin_max is 0..1e9 (a fraction or a count).
    cr_assert_eq(run_adbench("params musc", &out, &err), 0);
    cr_assert(strstr(out, "  topmin_max  (number, default 0.3, range 0..1000000000)"), "%s", out);
    free(out), free(err);
    // No argument: all of them.
    cr_assert_eq(run_adbench("params", &out, &err), 0, "%s", err);
    cr_assert(strstr(out, "method musc") && strstr(out, "method anomalydino") && strstr(out, "backbone vit") &&
                  strstr(out, "dataset folder") && strstr(out, "dataset synth"),
              "%s", out);
    free(out), free(err);
}

Test(params, synth_table_matches_generator_defaults) {
    SynthConfig c;
    synth_config_default(&c);
    char buf[64];
    struct {
        const char *key;
        double v;
    } want[] = {{"seed", (double)c.seed},         {"size", c.size},       {"n_train", c.n_train},
                {"n_good", c.n_good},             {"n_unique", c.n_unique}, {"n_consistent_types", c.n_consistent},
                {"m", c.consistent[0].m},         {"defect_scale", c.defect_scale}, {"contrast", c.contrast},
                {"align", c.align},               {"categories", c.n_categories}};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        const ParamSpec *s = params_find(params_synth_options(), want[i].key);
        cr_assert(s, "%s missing", want[i].key);
        snprintf(buf, sizeof buf, "%g", want[i].v);
        cr_assert_str_eq(s->def, buf, "synth %s: listed default %s, generator default %s", want[i].key, s->def, buf);
    }
    cr_assert_str_eq(params_find(params_synth_options(), "kind")->def, "texture");
    cr_assert_eq(c.kind, SYNTH_TEXTURE);
}

Test(params, unknown_name_is_one_line_error) {
    char *out, *err;
    cr_assert_eq(run_adbench("params mvtecad", &out, &err), 1);
    cr_assert(strstr(err, "adbench: error: params: unknown component 'mvtecad'") && strstr(err, "Fix:") &&
                  strstr(err, "musc") && strstr(err, "pixel") && strstr(err, "folder"),
              "%s", err);
    cr_assert_eq(strchr(err, '\n'), err + strlen(err) - 1, "not one line: %s", err);
    free(out), free(err);
    cr_assert_eq(run_adbench("params musc vit", &out, &err), 1);
    free(out), free(err);
    cr_assert_eq(run_adbench("params --help", &out, &err), 0);
    cr_assert(strstr(out, "usage: adbench params [METHOD|BACKBONE|DATASET]"), "%s", out);
    free(out), free(err);
}

static char *run_set(const char *set) {
    char *args = ad_sprintf("run configs/demo.yaml --dry-run --set %s", set), *out, *err;
    cr_assert_eq(run_adbench(args, &out, &err), 1, "%s should be rejected", set);
    free(args), free(out);
    return err;
}

Test(params, unknown_key_hint_prefers_the_component) {
    // codegraph has 'fa' within edit distance 2 of 'nam'; the common key 'name' is nearer and
    // comes second.
    char *e = run_set("methods.1.nam=1");
    cr_assert(strstr(e, "unknown key 'nam' in methods[1] (codegraph); did you mean 'fa' or 'name'? Fix: 'adbench "
                        "params codegraph' lists its keys"),
              "%s", e);
    free(e);
    // Nothing of patchcore is close to 'shot': the common key.
    e = run_set("methods.2.shot=2");
    cr_assert(strstr(e, "in methods[2] (patchcore); did you mean 'shots'? Fix: 'adbench params patchcore'"), "%s", e);
    free(e);
    // Nothing close at all: no guess, only the listing command.
    e = run_set("methods.0.zzzzzzzzzzzz=1");
    cr_assert(strstr(e, "unknown key 'zzzzzzzzzzzz' in methods[0] (musc). Fix: 'adbench params musc' lists its keys"),
              "%s", e);
    free(e);
    e = run_set("backbone.strid=4");
    cr_assert(strstr(e, "in backbone (pixel); did you mean 'stride'? Fix: 'adbench params pixel'"), "%s", e);
    free(e);
}
