// YAML config -> tree (yaml_tree.c) -> overrides and grids (config_grid.c) -> validated variants.
// Job identities: job_config.c.
// The schema is documented at the top of config.h.
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "err.h"
#include "yaml_tree.h"

uint64_t fnv1a64(uint64_t h, const void *data, size_t n) {
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

// ---------------------------------------------------------------------------------------
// Registry lookups

const DatasetAdapter *registry_dataset(const Registry *reg, const char *name) {
    return reg && reg->dataset ? reg->dataset(name) : dataset_find(name);
}
const BackboneDriver *registry_backbone(const Registry *reg, const char *name) {
    return reg && reg->backbone ? reg->backbone(name) : backbone_find(name);
}
const Method *registry_method(const Registry *reg, const char *name) {
    return reg && reg->method ? reg->method(name) : method_find(name);
}

// ---------------------------------------------------------------------------------------
// Validation of one concrete variant.

const ParamSpec CONFIG_TOP_KEYS[] = {
    {"name", PT_STRING, "", 1, 0, "label"},
    {"description", PT_STRING, "", 1, 0, "label"},
    {"datasets", PT_STRING, "", 1, 0, "list of datasets"},
    {"backbone", PT_STRING, "", 1, 0, "feature extractor"},
    {"methods", PT_STRING, "", 1, 0, "list of methods"},
    {"evaluation", PT_STRING, "", 1, 0, "metric protocol"},
    {"seed", PT_INT, "0", 0, 2147483647, "seed"},
    {"threads", PT_INT, "0", 0, 4096, "threads (0 = default)"},
    {"cache_dir", PT_STRING, "cache/features", 1, 0, "feature cache folder or none"},
    {"cache_dtype", PT_STRING, "float32", 1, 0, "feature cache storage: float32 or float16 (half the size)"},
    {"cache_max_gb", PT_DOUBLE, "0", 0, 1e12, "stop before the feature cache grows past this many GB (0 = no limit)"},
    {"out_dir", PT_STRING, "", 1, 0, "output folder"},
    {"save_maps", PT_BOOL, "false", 1, 0, "write overlay PNGs (pictures/<dataset>/<category>/<method>[@variant]/)"},
    {"report", PT_BOOL, "false", 1, 0,
     "write curves/ (ROC, PR, PRO points per row), plots/ (PNG figures) and report.html into the output folder"},
    PARAM_END,
};
const ParamSpec CONFIG_DATASET_KEYS[] = {
    {"name", PT_STRING, "", 1, 0, "the dataset adapter (mvtec, visa, rad, btad, mpdd, folder, synth)"},
    {"root", PT_STRING, "", 1, 0, "the folder that holds the category folders (required, except for synth)"},
    {"categories", PT_STRING, "all", 1, 0, "all, or a list of category names such as [screw, bottle]"},
    {"optional", PT_BOOL, "false", 1, 0, "true: a missing root is skipped with a note instead of an error"},
    {"synth", PT_STRING, "", 1, 0, "name: synth only: the generator's options (adbench params synth)"},
    PARAM_END,
};
#define DATASET_KEYS CONFIG_DATASET_KEYS
const ParamSpec CONFIG_EVAL_KEYS[] = {
    {"resolution", PT_STRING, "native", 1, 0, "native | resized:S | center_crop:R:S"},
    {"mask_rule", PT_STRING, "auto", 1, 0, "auto | eq255 | gt0"},
    {"pro_limit", PT_DOUBLE, "0.3", 1e-9, 1, "AU-PRO FPR limit"},
    {"image_score", PT_STRING, "method", 1, 0, "method | max"},
    PARAM_END,
};
const ParamSpec CONFIG_METHOD_KEYS[] = {
    {"name", PT_STRING, "", 1, 0, "the method: musc, codegraph, patchcore or anomalydino"},
    {"shots", PT_INT, "0", 0, 100000,
     "few-shot methods only (patchcore, anomalydino): reference images train[seed*shots, (seed+1)*shots) of the "
     "sorted training list; 0 = all training images"},
    PARAM_END,
};
#define METHOD_RUNNER_KEYS CONFIG_METHOD_KEYS

typedef struct {
    const char *file;
    const Registry *reg;
} Ctx;

static int where_line(const YNode *y) { return y->line; }

// "FILE:LINE: " prefix for a node (or a map key).
#define ERR_AT(y, line, ...) verr((y)->file, (line), __VA_ARGS__)
static int verr(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int verr(const char *file, int line, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (line > 0) return ad_error("%s:%d: %s", file, line, msg);
    return ad_error("%s: %s", file, msg);
}

static int lev(const char *x, const char *y) {
    size_t lx = strlen(x), ly = strlen(y);
    int *row = ad_malloc((ly + 1) * sizeof *row);
    for (size_t j = 0; j <= ly; j++) row[j] = (int)j;
    for (size_t i = 1; i <= lx; i++) {
        int prev = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= ly; j++) {
            int cur = row[j], sub = prev + (x[i - 1] != y[j - 1]);
            int ins = row[j] + 1 < row[j - 1] + 1 ? row[j] + 1 : row[j - 1] + 1;
            row[j] = sub < ins ? sub : ins;
            prev = cur;
        }
    }
    int d = row[ly];
    free(row);
    return d;
}

// "unknown key 'k' in WHERE; did you mean 'nearest'?" over one or two key tables: the
// component's own key (a) first when it is close (edit distance <= max(2, len/3)), then a
// key of b (the keys every entry takes: name, shots) when that is closer still; nothing
// close: no guess. For a component ("methods[0] (musc)")
// the message ends with the command that lists its keys.
static int unknown_key(const YNode *m, int i, const ParamSpec *a, const ParamSpec *b, const char *where) {
    const char *key = m->keys[i], *near[2] = {NULL, NULL};
    int close = (int)strlen(key) / 3 > 2 ? (int)strlen(key) / 3 : 2, nd[2] = {1 << 30, 1 << 30};
    const ParamSpec *tabs[2] = {a, b};
    for (int t = 0; t < 2; t++)
        for (const ParamSpec *s = tabs[t]; s && s->key; s++) {
            int d = lev(key, s->key);
            if (d < nd[t]) nd[t] = d, near[t] = s->key;
        }
    // Up to two suggestions: the component's nearest key when close, then a nearer common key.
    char hint[160] = ".";
    int ha = near[0] && nd[0] <= close, hb = near[1] && nd[1] <= close && nd[1] < nd[0];
    if (ha && hb) snprintf(hint, sizeof hint, "; did you mean '%s' or '%s'?", near[0], near[1]);
    else if (ha || hb) snprintf(hint, sizeof hint, "; did you mean '%s'?", ha ? near[0] : near[1]);
    char fix[96] = "";
    const char *open = strstr(where, " (");
    size_t lw = strlen(where);
    if (open && lw && where[lw - 1] == ')')
        snprintf(fix, sizeof fix, " Fix: 'adbench params %.*s' lists its keys", (int)(where + lw - 1 - open - 2), open + 2);
    // Keys added by --set have no line: name the option instead.
    return verr(m->key_lines[i] ? m->file : "--set", m->key_lines[i], "unknown key '%s' in %s%s%s", key, where, hint,
                fix);
}

static int scalar_of(const YNode *y, const char *what, const char **out) {
    if (y->type != YN_SCALAR)
        return verr(y->file, y->line, "%s: expected a single value, found a %s", what, y->type == YN_SEQ ? "list" : "map");
    *out = y->str;
    return 0;
}

static int parse_int(const YNode *y, const char *what, long lo, long hi, int *out) {
    const char *s = NULL;
    if (scalar_of(y, what, &s)) return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end) return verr(y->file, y->line, "%s: expected an integer, found '%s'", what, s);
    if (v < lo || v > hi) return verr(y->file, y->line, "%s: value %ld is out of range; expected %ld..%ld", what, v, lo, hi);
    *out = (int)v;
    return 0;
}

static int parse_bool(const YNode *y, const char *what, int *out) {
    const char *s = NULL;
    if (scalar_of(y, what, &s)) return -1;
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "yes")) *out = 1;
    else if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "no")) *out = 0;
    else return verr(y->file, y->line, "%s: expected true or false, found '%s'", what, s);
    return 0;
}

// A ParamSpec value from a node: a scalar, or a list of scalars rendered as "[a, b, c]".
static char *param_value(const YNode *y, const char *what) {
    if (y->type == YN_SCALAR) return ad_strdup(y->str);
    if (y->type == YN_SEQ) {
        for (int i = 0; i < y->n; i++)
            if (y->kids[i]->type != YN_SCALAR) {
                verr(y->file, y->line, "%s: expected a list of plain values, found a nested list or map", what);
                return NULL;
            }
        Buf b = {0};
        buf_add(&b, "[");
        for (int i = 0; i < y->n; i++) {
            if (i) buf_add(&b, ", ");
            buf_add(&b, y->kids[i]->str);
        }
        buf_add(&b, "]");
        return b.s;
    }
    verr(y->file, y->line, "%s: expected a value or a list, found a map", what);
    return NULL;
}

// Set one component parameter; errors become "FILE:LINE: in WHERE: <params message>".
static int set_param(Params *p, const YNode *m, int i, const char *where) {
    char what[256];
    snprintf(what, sizeof what, "%s.%s", where, m->keys[i]);
    char *v = param_value(m->kids[i], what);
    if (!v) return -1;
    int rc = params_set(p, m->keys[i], v);
    free(v);
    if (rc) {
        char *msg = ad_strdup(ad_last_error());
        verr(m->kids[i]->file, m->kids[i]->line ? m->kids[i]->line : m->key_lines[i], "in %s: %s", where, msg);
        free(msg);
        return -1;
    }
    return 0;
}

static int check_map(const YNode *y, const char *what) {
    if (y->type != YN_MAP)
        return verr(y->file, y->line, "%s: expected a map of keys (key: value lines), found a %s", what,
                    y->type == YN_SEQ ? "list" : "single value");
    return 0;
}

static const char *get_name(const YNode *m, const char *where, int *ok) {
    YNode *n = ymap_get(m, "name", NULL);
    if (!n) {
        *ok = 0;
        verr(m->file, m->line, "%s: missing required key 'name'", where);
        return NULL;
    }
    const char *s = NULL;
    if (scalar_of(n, where, &s)) {
        *ok = 0;
        return NULL;
    }
    *ok = 1;
    return s;
}

static int validate_dataset(const Ctx *c, const YNode *m, int di, DatasetConfig *d) {
    char where[64];
    snprintf(where, sizeof where, "datasets[%d]", di);
    if (check_map(m, where)) return -1;
    int ok;
    const char *name = get_name(m, where, &ok);
    if (!ok) return -1;
    d->name = ad_strdup(name);
    d->line = m->line;
    YNode *nn = ymap_get(m, "name", NULL);
    int is_synth = !strcmp(name, "synth");
    if (!is_synth && !registry_dataset(c->reg, name)) {
        char *msg = ad_strdup(ad_last_error());
        verr(nn->file, nn->line, "%s: %s (or synth)", where, msg);
        free(msg);
        return -1;
    }
    for (int i = 0; i < m->n; i++) {
        const char *k = m->keys[i];
        const YNode *v = m->kids[i];
        char what[128];
        snprintf(what, sizeof what, "%s.%s", where, k);
        if (!params_find(DATASET_KEYS, k)) return unknown_key(m, i, DATASET_KEYS, NULL, where);
        if (!strcmp(k, "root")) {
            const char *s = NULL;
            if (scalar_of(v, what, &s)) return -1;
            if (!*s) return verr(v->file, v->line, "%s: empty root. Fix: give the dataset folder", what);
            d->root = ad_strdup(s);
        } else if (!strcmp(k, "categories")) {
            if (v->type == YN_SCALAR) {
                if (strcmp(v->str, "all")) {
                    // A single category name is accepted as a one-element list.
                    d->categories = ad_malloc(sizeof *d->categories);
                    d->categories[0] = ad_strdup(v->str);
                    d->n_categories = 1;
                }
            } else if (v->type == YN_SEQ) {
                if (!v->n) return verr(v->file, v->line, "%s: empty list. Fix: write 'all' or list categories", what);
                d->categories = ad_calloc((size_t)v->n, sizeof *d->categories);
                for (int j = 0; j < v->n; j++) {
                    const char *s = NULL;
                    if (scalar_of(v->kids[j], what, &s)) return -1;
                    for (int q = 0; q < j; q++)
                        if (!strcmp(d->categories[q], s))
                            return verr(v->kids[j]->file, v->kids[j]->line, "%s: category '%s' listed twice", what, s);
                    d->categories[j] = ad_strdup(s);
                    d->n_categories = j + 1;
                }
            } else {
                return verr(v->file, v->line, "%s: expected 'all' or a list of category names", what);
            }
        } else if (!strcmp(k, "optional")) {
            if (parse_bool(v, what, &d->optional)) return -1;
        } else if (!strcmp(k, "synth")) {
            if (!is_synth) return verr(m->file, m->key_lines[i], "%s: 'synth' options are only valid with name: synth", where);
            if (check_map(v, what)) return -1;
            d->synth_keys = ad_calloc((size_t)v->n + 1, sizeof *d->synth_keys);
            d->synth_vals = ad_calloc((size_t)v->n + 1, sizeof *d->synth_vals);
            for (int j = 0; j < v->n; j++) {
                char w2[160];
                snprintf(w2, sizeof w2, "%s.%s", what, v->keys[j]);
                char *pv = param_value(v->kids[j], w2);
                if (!pv) return -1;
                d->synth_keys[j] = ad_strdup(v->keys[j]);
                d->synth_vals[j] = pv;
                d->n_synth = j + 1;
            }
        }
    }
    if (!d->root && !is_synth) return verr(m->file, m->line, "%s (%s): missing required key 'root'", where, name);
    return 0;
}

static int validate_component(const Ctx *c, const YNode *m, const char *where, const ParamSpec *runner_keys,
                              const ParamSpec *spec, Params *p) {
    char where2[128];
    int ok;
    const char *name = get_name(m, where, &ok);
    snprintf(where2, sizeof where2, "%s (%s)", where, name);
    p->spec = spec;
    for (int i = 0; i < m->n; i++) {
        const char *k = m->keys[i];
        if (params_find(runner_keys, k)) continue;
        if (!params_find(spec, k)) return unknown_key(m, i, spec, runner_keys, where2);
        if (set_param(p, m, i, where2)) return -1;
    }
    (void)c;
    return 0;
}

static int validate_variant(const Ctx *c, const YNode *root, Variant *v) {
    memset(v, 0, sizeof *v);
    v->eval.pro_limit = 0.3;
    strcpy(v->eval.mask_rule, "auto");
    v->cache_dir = ad_strdup("cache/features");
    if (root->type != YN_MAP)
        return verr(root->file, root->line, "expected a map of top-level keys (datasets, backbone, methods, ...), found %s",
                    root->type == YN_SEQ ? "a list" : (*root->str ? "a single value" : "an empty file"));
    for (int i = 0; i < root->n; i++)
        if (!params_find(CONFIG_TOP_KEYS, root->keys[i])) return unknown_key(root, i, CONFIG_TOP_KEYS, NULL, "the top level");
    // datasets
    const YNode *ds = ymap_get(root, "datasets", NULL);
    if (!ds) return verr(root->file, 0, "missing required key 'datasets' (a list of {name, root, categories})");
    if (ds->type != YN_SEQ || !ds->n)
        return verr(ds->file, ds->line, "datasets: expected a non-empty list of {name, root, categories}");
    v->datasets = ad_calloc((size_t)ds->n, sizeof *v->datasets);
    v->n_datasets = ds->n;
    for (int i = 0; i < ds->n; i++)
        if (validate_dataset(c, ds->kids[i], i, &v->datasets[i])) return -1;
    // backbone
    const YNode *bb = ymap_get(root, "backbone", NULL);
    if (!bb) return verr(root->file, 0, "missing required key 'backbone' (e.g. {name: vit, weights: ..., size: 518})");
    if (check_map(bb, "backbone")) return -1;
    int ok;
    const char *bname = get_name(bb, "backbone", &ok);
    if (!ok) return -1;
    v->backbone.name = ad_strdup(bname);
    v->backbone.drv = registry_backbone(c->reg, bname);
    if (!v->backbone.drv) {
        const YNode *nn = ymap_get(bb, "name", NULL);
        char *msg = ad_strdup(ad_last_error());
        verr(nn->file, nn->line, "backbone: %s", msg);
        free(msg);
        return -1;
    }
    static const ParamSpec BB_RUNNER[] = {{"name", PT_STRING, "", 1, 0, ""}, PARAM_END};
    if (validate_component(c, bb, "backbone", BB_RUNNER, v->backbone.drv->params, &v->backbone.params)) return -1;
    // methods
    const YNode *ms = ymap_get(root, "methods", NULL);
    if (!ms) return verr(root->file, 0, "missing required key 'methods' (a list of {name, ...})");
    if (ms->type != YN_SEQ || !ms->n) return verr(ms->file, ms->line, "methods: expected a non-empty list of {name, ...}");
    v->methods = ad_calloc((size_t)ms->n, sizeof *v->methods);
    v->n_methods = ms->n;
    for (int i = 0; i < ms->n; i++) {
        const YNode *m = ms->kids[i];
        char where[64];
        snprintf(where, sizeof where, "methods[%d]", i);
        if (check_map(m, where)) return -1;
        const char *mname = get_name(m, where, &ok);
        if (!ok) return -1;
        MethodConfig *mc = &v->methods[i];
        mc->name = ad_strdup(mname);
        mc->m = registry_method(c->reg, mname);
        if (!mc->m) {
            const YNode *nn = ymap_get(m, "name", NULL);
            char *msg = ad_strdup(ad_last_error());
            verr(nn->file, nn->line, "%s: %s", where, msg);
            free(msg);
            return -1;
        }
        if (validate_component(c, m, where, METHOD_RUNNER_KEYS, mc->m->params, &mc->params)) return -1;
        const YNode *sh = ymap_get(m, "shots", NULL);
        if (sh) {
            char what[80];
            snprintf(what, sizeof what, "%s (%s).shots", where, mname);
            if (parse_int(sh, what, 0, 100000, &mc->shots)) return -1;
            if (!mc->m->needs_train)
                return verr(sh->file, sh->line, "%s: method '%s' is zero-shot (uses no reference images); remove 'shots'",
                            what, mname);
            // A method that declares 'shots' itself gets it too.
            if (params_find(mc->m->params, "shots")) {
                int idx = -1;
                ymap_get(m, "shots", &idx);
                if (set_param(&mc->params, m, idx, where)) return -1;
            }
        }
    }
    // evaluation
    const YNode *ev = ymap_get(root, "evaluation", NULL);
    if (ev) {
        if (check_map(ev, "evaluation")) return -1;
        for (int i = 0; i < ev->n; i++) {
            const char *k = ev->keys[i];
            const YNode *y = ev->kids[i];
            char what[64];
            snprintf(what, sizeof what, "evaluation.%s", k);
            const char *s = NULL;
            if (!params_find(CONFIG_EVAL_KEYS, k)) return unknown_key(ev, i, CONFIG_EVAL_KEYS, NULL, "evaluation");
            if (scalar_of(y, what, &s)) return -1;
            if (!strcmp(k, "resolution")) {
                if (!strcmp(s, "native")) {
                    v->eval.resized = 0;
                } else if (!strncmp(s, "resized:", 8)) {
                    char *end;
                    long S = strtol(s + 8, &end, 10);
                    if (end == s + 8 || *end || S < 16 || S > 4096)
                        return verr(y->file, y->line, "%s: expected resized:S with S in 16..4096, found '%s'", what, s);
                    v->eval.resized = 1;
                    v->eval.size = (int)S;
                    v->eval.crop_resize = 0;
                } else if (!strncmp(s, "center_crop:", 12)) {
                    char *end, *end2;
                    long R = strtol(s + 12, &end, 10), S = *end == ':' ? strtol(end + 1, &end2, 10) : 0;
                    if (end == s + 12 || *end != ':' || end2 == end + 1 || *end2 || S < 16 || S > 4096 || R < S ||
                        R > 8192)
                        return verr(y->file, y->line,
                                    "%s: expected center_crop:R:S with 16 <= S <= R <= 8192 (e.g. center_crop:256:224, "
                                    "patchcore-inspection's protocol), found '%s'",
                                    what, s);
                    v->eval.resized = 1;
                    v->eval.size = (int)S;
                    v->eval.crop_resize = (int)R;
                } else {
                    return verr(y->file, y->line,
                                "%s: expected 'native', 'resized:S' (e.g. resized:518) or 'center_crop:R:S' (e.g. "
                                "center_crop:256:224), found '%s'",
                                what, s);
                }
            } else if (!strcmp(k, "mask_rule")) {
                if (strcmp(s, "auto") && strcmp(s, "eq255") && strcmp(s, "gt0"))
                    return verr(y->file, y->line, "%s: expected auto, eq255 or gt0, found '%s'", what, s);
                snprintf(v->eval.mask_rule, sizeof v->eval.mask_rule, "%s", s);
            } else if (!strcmp(k, "pro_limit")) {
                char *end;
                double d = strtod(s, &end);
                if (end == s || *end || !(d > 0 && d <= 1))
                    return verr(y->file, y->line, "%s: expected a number in (0, 1], found '%s'", what, s);
                v->eval.pro_limit = d;
            } else if (!strcmp(k, "image_score")) {
                if (strcmp(s, "method") && strcmp(s, "max"))
                    return verr(y->file, y->line, "%s: expected 'method' or 'max', found '%s'", what, s);
                v->eval.image_score_max = !strcmp(s, "max");
            }
        }
    }
    // scalars
    const YNode *y;
    if ((y = ymap_get(root, "seed", NULL)) && parse_int(y, "seed", 0, 2147483647L, &v->seed)) return -1;
    if ((y = ymap_get(root, "threads", NULL)) && parse_int(y, "threads", 0, 4096, &v->threads)) return -1;
    // More threads than CPUs gains nothing and, under an address-space limit, OpenBLAS hung
    // allocating per-thread buffers for threads >= 64: capped at the CPU count, with a warning.
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (ncpu > 0 && v->threads > ncpu) {
        static int warned;
        if (!warned++)
            fprintf(stderr, "adbench: warning: %s:%d: threads: %d is more than the %ld CPUs of this machine; using %ld\n",
                    y->file, y->line, v->threads, ncpu, ncpu);
        v->threads = (int)ncpu;
    }
    if ((y = ymap_get(root, "save_maps", NULL)) && parse_bool(y, "save_maps", &v->save_maps)) return -1;
    if ((y = ymap_get(root, "report", NULL)) && parse_bool(y, "report", &v->report)) return -1;
    if ((y = ymap_get(root, "cache_dir", NULL))) {
        const char *s = NULL;
        if (scalar_of(y, "cache_dir", &s)) return -1;
        free(v->cache_dir);
        v->cache_dir = (!*s || !strcmp(s, "none") || !strcmp(s, "null") || !strcmp(s, "~")) ? NULL : ad_strdup(s);
    }
    if ((y = ymap_get(root, "cache_dtype", NULL))) {
        const char *s = NULL;
        if (scalar_of(y, "cache_dtype", &s)) return -1;
        if (strcmp(s, "float32") && strcmp(s, "float16"))
            return verr(y->file, y->line, "cache_dtype: expected float32 or float16, found '%s'", s);
        v->cache_f16 = !strcmp(s, "float16");
    }
    if ((y = ymap_get(root, "cache_max_gb", NULL))) {
        const char *s = NULL;
        if (scalar_of(y, "cache_max_gb", &s)) return -1;
        char *end;
        double d = strtod(s, &end);
        if (end == s || *end || !(d >= 0 && d <= 1e12))
            return verr(y->file, y->line, "cache_max_gb: expected a number of GB >= 0 (0 = no limit), found '%s'", s);
        v->cache_max_gb = d;
    }
    if ((y = ymap_get(root, "out_dir", NULL))) {
        const char *s = NULL;
        if (scalar_of(y, "out_dir", &s)) return -1;
        v->out_dir = ad_strdup(s);
    }
    const char *s = NULL;
    if ((y = ymap_get(root, "name", NULL)) && scalar_of(y, "name", &s)) return -1;
    if ((y = ymap_get(root, "description", NULL)) && scalar_of(y, "description", &s)) return -1;
    (void)where_line;
    return 0;
}

static void variant_free(Variant *v) {
    for (int i = 0; i < v->n_datasets; i++) {
        DatasetConfig *d = &v->datasets[i];
        free(d->name);
        free(d->root);
        for (int j = 0; j < d->n_categories; j++) free(d->categories[j]);
        free(d->categories);
        for (int j = 0; j < d->n_synth; j++) free(d->synth_keys[j]), free(d->synth_vals[j]);
        free(d->synth_keys);
        free(d->synth_vals);
    }
    free(v->datasets);
    free(v->backbone.name);
    params_free(&v->backbone.params);
    for (int i = 0; i < v->n_methods; i++) {
        free(v->methods[i].name);
        params_free(&v->methods[i].params);
    }
    free(v->methods);
    free(v->cache_dir);
    free(v->out_dir);
    free(v->grid_point);
    memset(v, 0, sizeof *v);
}

void config_free(Config *c) {
    for (int i = 0; i < c->n_variants; i++) variant_free(&c->variants[i]);
    free(c->variants);
    free(c->path);
    free(c->name);
    free(c->hash);
    free(c->text);
    for (int i = 0; i < c->n_sets; i++) free(c->sets[i]);
    free(c->sets);
    memset(c, 0, sizeof *c);
}

static char *file_stem(const char *path) {
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    char *s = ad_strdup(b);
    char *dot = strrchr(s, '.');
    if (dot && dot != s) *dot = 0;
    return s;
}

int config_load_string(Config *out, const char *file, const char *text, const char *const *sets, int n_sets,
                       const Registry *reg) {
    memset(out, 0, sizeof *out);
    Arena a = {0};
    int rc = -1;
    Expansion ex = {0};
    YNode *root = yaml_parse_tree(&a, file, text, strlen(text));
    if (!root) goto done;
    if (root->type != YN_MAP) {
        verr(file, root->line, "expected a map of top-level keys (datasets, backbone, methods, ...), found %s",
             root->type == YN_SEQ ? "a list" : (*root->str ? "a single value" : "an empty file"));
        goto done;
    }
    for (int i = 0; i < n_sets; i++)
        if (config_apply_set(&a, root, sets[i])) goto done;
    char *canon = ynode_render(root);
    uint64_t h = fnv1a64(FNV1A64_INIT, canon, strlen(canon));
    free(canon);
    out->hash = ad_sprintf("%016llx", (unsigned long long)h);
    out->path = ad_strdup(file);
    // Kept for config_resolved_yaml (config_resolved.c), which rebuilds the tree from them.
    out->text = ad_strdup(text);
    out->sets = ad_calloc((size_t)n_sets + 1, sizeof *out->sets);
    for (int i = 0; i < n_sets; i++) out->sets[i] = ad_strdup(sets[i]);
    out->n_sets = n_sets;
    out->reg = reg;
    const YNode *nm = ymap_get(root, "name", NULL);
    out->name = nm && nm->type == YN_SCALAR && *nm->str ? ad_strdup(nm->str) : file_stem(file);
    if (grid_expand(&a, root, "", &ex)) goto done;
    out->variants = ad_calloc((size_t)ex.n, sizeof *out->variants);
    Ctx ctx = {file, reg};
    for (int i = 0; i < ex.n; i++) {
        out->n_variants = i + 1;
        if (validate_variant(&ctx, ex.nodes[i], &out->variants[i])) {
            if (ex.n > 1) ad_error_prefix("grid point %d of %d (%s)", i + 1, ex.n, ex.labels[i]);
            goto done;
        }
        out->variants[i].grid_point = ad_strdup(ex.labels[i]);
        if (!out->variants[i].out_dir) out->variants[i].out_dir = ad_sprintf("results/runs/%s", out->name);
    }
    rc = 0;
done:
    grid_expansion_free(&ex);
    arena_free(&a);
    if (rc) {
        // Keep the message: config_free does not touch it.
        config_free(out);
    }
    return rc;
}

int config_load(Config *out, const char *path, const char *const *sets, int n_sets, const Registry *reg) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        memset(out, 0, sizeof *out);
        return ad_error("%s: cannot open the config (%s). Fix: check the path", path, strerror(errno));
    }
    Buf b = {0};
    buf_add(&b, "");
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk - 1, f)) > 0) {
        chunk[got] = 0;
        if (memchr(chunk, 0, got)) {
            fclose(f);
            free(b.s);
            memset(out, 0, sizeof *out);
            return ad_error("%s: expected a YAML text file, found binary data", path);
        }
        buf_add(&b, chunk);
    }
    fclose(f);
    int rc = config_load_string(out, path, b.s, sets, n_sets, reg);
    free(b.s);
    return rc;
}
