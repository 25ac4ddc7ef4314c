// adbench params [METHOD|BACKBONE|DATASET]: every config key of a component with its type,
// default, range and meaning, printed from the component's ParamSpec table (src/params.h),
// so the listing cannot drift from what the config layer validates. Without an argument:
// every method, backbone and dataset.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backbone.h"
#include "cli.h"
#include "config.h"
#include "dataset.h"
#include "err.h"
#include "method.h"
#include "params.h"
#include "synth.h"

static const char *const BACKBONES[] = {"vit", "pixel", "resnet"};  // backbones/backbone.c registry

// datasets[i].synth: options of the synthetic generator (same meaning as adbench synth's
// --options; '-' and '_' are interchangeable). Defaults: datasets/synth.c synth_config_default.
static const ParamSpec SYNTH_OPTIONS[] = {
    {"seed", PT_INT, "0", 1, 0, "an integer >= 0; same seed -> byte-identical images"},
    {"size", PT_INT, "224", 32, 4096, "image side in pixels"},
    {"kind", PT_STRING, "texture", 1, 0, "texture (woven threads), object (machined disc) or mixed (alternating)"},
    {"categories", PT_STRING, "1", 1, 0, "a count (1..1000) or a list of names (default names woven<i> / disc<i>)"},
    {"n_train", PT_INT, "16", 0, 1000000, "normal training images per category"},
    {"n_good", PT_INT, "24", 0, 1000000, "normal test images per category"},
    {"n_unique", PT_INT, "12", 0, 1000000, "test images with a one-off random defect each"},
    {"consistent", PT_STRING, "patch:12,blob:12", 1, 0,
     "SHAPE:m,...: one fixed defect appearance recurring in m test images (shapes scratch, blob, hole, stain, "
     "patch); overrides n_consistent_types and m"},
    {"n_consistent_types", PT_INT, "2", 0, SYNTH_MAX_TYPES, "number of consistent defect types"},
    {"m", PT_INT, "12", 1, 1000000, "test images per consistent type"},
    {"defect_scale", PT_DOUBLE, "0.06", 1, 0, "defect radius / image side, in (0, 0.25]"},
    {"contrast", PT_DOUBLE, "0.5", 1, 0, "blend weight of the defect colour, in (0, 1]"},
    {"align", PT_INT, "8", 1, 1024,
     "defect centres on multiples of this many pixels (at most size/4); 1 = anywhere"},
    PARAM_END,
};

// For the tests (declared there): the synth option table, checked against synth_config_default.
const ParamSpec *params_synth_options(void);
const ParamSpec *params_synth_options(void) { return SYNTH_OPTIONS; }

static const char *type_name(ParamType t) {
    switch (t) {
    case PT_INT: return "integer";
    case PT_DOUBLE: return "number";
    case PT_BOOL: return "true|false";
    case PT_STRING: return "text";
    case PT_INT_LIST: return "list of integers";
    case PT_DOUBLE_LIST: return "list of numbers";
    }
    return "?";
}

static void fmt_num(char *buf, size_t cap, double v) {
    if (v == floor(v) && fabs(v) < 1e15) snprintf(buf, cap, "%.0f", v);
    else snprintf(buf, cap, "%g", v);
}

// Word-wrap text at width, each line indented by indent spaces.
static void print_wrapped(const char *text, int indent, int width) {
    const char *p = text;
    while (*p) {
        while (*p == ' ') p++;
        int room = width - indent, len = (int)strlen(p);
        if (len <= room) {
            printf("%*s%s\n", indent, "", p);
            return;
        }
        int cut = room;
        while (cut > 0 && p[cut] != ' ') cut--;
        if (cut == 0) {  // one long word: break after it
            cut = room;
            while (p[cut] && p[cut] != ' ') cut++;
        }
        printf("%*s%.*s\n", indent, "", cut, p);
        p += cut;
    }
}

static void print_table(const ParamSpec *spec) {
    for (const ParamSpec *s = spec; s && s->key; s++) {
        char range[96] = "";
        if (s->min <= s->max && s->type != PT_BOOL && s->type != PT_STRING) {
            char lo[40], hi[40];
            fmt_num(lo, sizeof lo, s->min);
            fmt_num(hi, sizeof hi, s->max);
            snprintf(range, sizeof range, ", range %s..%s", lo, hi);
        }
        printf("  %s  (%s, default %s%s)\n", s->key, type_name(s->type), *s->def ? s->def : "none", range);
        if (s->doc && *s->doc) print_wrapped(s->doc, 6, 100);
    }
}

static int print_method(const Method *m) {
    printf("method %s%s — keys of a methods: entry {name: %s, ...}\n", m->name,
           m->needs_train ? " (few-shot: uses reference images)" : " (zero-shot)", m->name);
    print_table(m->params);
    printf("  common to every method entry:\n");
    for (const ParamSpec *s = CONFIG_METHOD_KEYS; s->key; s++)
        if (!params_find(m->params, s->key) && (m->needs_train || strcmp(s->key, "shots"))) {
            ParamSpec one[2] = {*s, PARAM_END};
            print_table(one);
        }
    return 0;
}

static int print_backbone(const BackboneDriver *b) {
    printf("backbone %s — keys of backbone: {name: %s, ...}\n", b->name, b->name);
    print_table(b->params);
    return 0;
}

static int print_dataset(const DatasetAdapter *a) {
    printf("dataset %s — keys of a datasets: entry {name: %s, ...} (mask rule %s under resized:S)\n", a->name, a->name,
           a->mask_rule);
    ParamSpec common[8];
    int nc = 0;
    for (const ParamSpec *s = CONFIG_DATASET_KEYS; s->key && nc < 7; s++)
        if (strcmp(s->key, "synth")) common[nc++] = *s;  // synth's options are listed below
    common[nc] = (ParamSpec)PARAM_END;  // key NULL ends a table
    print_table(common);
    if (!strcmp(a->name, "synth")) {
        printf("  synth: {...}  generator options (generated under cache_dir on first use; root optional):\n");
        print_table(SYNTH_OPTIONS);
    }
    return 0;
}

// Split "a, b, c" (method_names() / dataset_names()) and call each name.
static int for_names(const char *list, int (*fn)(const char *)) {
    char buf[512];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        if (fn(t)) return -1;
        printf("\n");
    }
    return 0;
}

static int show_method(const char *n) {
    const Method *m = method_find(n);
    return m ? print_method(m) : -1;
}
static int show_dataset(const char *n) {
    const DatasetAdapter *a = dataset_find(n);
    return a ? print_dataset(a) : -1;
}

int cmd_params(int argc, char **argv) {
    if (argc >= 3 && (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h"))) {
        printf("usage: adbench params [METHOD|BACKBONE|DATASET]\n"
               "  every config key of a method (%s), backbone (vit, pixel, resnet) or dataset (%s):\n"
               "  type, default, range and meaning. Without an argument: all of them.\n",
               method_names(), dataset_names());
        return 0;
    }
    if (argc > 3) {
        fprintf(stderr, "adbench: error: params: expected at most one name, found %d. Fix: adbench params [NAME]\n",
                argc - 2);
        return 1;
    }
    if (argc == 2) {
        printf("Config keys of every component (adbench params NAME shows one).\n\n");
        printf("top level — keys of a run config (the entries of datasets:, backbone: and methods: are below; evaluation: docs/configs.md)\n");
        print_table(CONFIG_TOP_KEYS);
        printf("\n");
        if (for_names(method_names(), show_method)) ad_die_user();
        for (size_t i = 0; i < sizeof BACKBONES / sizeof *BACKBONES; i++) {
            const BackboneDriver *b = backbone_find(BACKBONES[i]);
            if (!b) ad_die_user();
            print_backbone(b);
            printf("\n");
        }
        if (for_names(dataset_names(), show_dataset)) ad_die_user();
        return 0;
    }
    const char *name = argv[2];
    // Names are unique across kinds (checked by the tests); look each kind up quietly.
    char buf[512];
    snprintf(buf, sizeof buf, "%s", method_names());
    for (char *save = NULL, *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
        if (!strcmp(t, name)) {
            if (show_method(name)) ad_die_user();
            return 0;
        }
    for (size_t i = 0; i < sizeof BACKBONES / sizeof *BACKBONES; i++)
        if (!strcmp(BACKBONES[i], name)) {
            const BackboneDriver *b = backbone_find(name);
            if (!b) ad_die_user();
            return print_backbone(b);
        }
    snprintf(buf, sizeof buf, "%s", dataset_names());
    for (char *save = NULL, *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
        if (!strcmp(t, name)) {
            if (show_dataset(name)) ad_die_user();
            return 0;
        }
    fprintf(stderr,
            "adbench: error: params: unknown component '%s'; expected a method (%s), a backbone (vit, pixel, resnet) or a "
            "dataset (%s). Fix: adbench params with one of these names\n",
            name, method_names(), dataset_names());
    return 1;
}
