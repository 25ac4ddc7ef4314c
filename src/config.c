// YAML config -> tree (with line numbers) -> overrides -> grid expansion -> validated variants.
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
// The YAML tree. Nodes live in an arena owned by one config_load call; expansion shares
// subtrees between variants, so nodes are never freed one by one.

typedef enum { YN_SCALAR, YN_SEQ, YN_MAP } YType;

typedef struct YNode {
    YType type;
    int line;
    const char *file;  // config path or "--set"
    char *str;         // scalar value
    int quoted;        // scalar was quoted (never a grid keyword, never null)
    int n;
    char **keys;        // map keys
    int *key_lines;
    struct YNode **kids;  // map values / sequence items
    int slot[3];          // arena slots of kids/keys/key_lines (-1: not yet tracked)
    int cap;              // allocated entries of kids/keys/key_lines (grown by doubling)
} YNode;

typedef struct {
    void **p;
    int n, cap;
} Arena;

static void *arena_add(Arena *a, void *p) {
    if (a->n == a->cap) {
        a->cap = a->cap ? 2 * a->cap : 256;
        a->p = ad_realloc(a->p, (size_t)a->cap * sizeof *a->p);
    }
    a->p[a->n++] = p;
    return p;
}
static void arena_free(Arena *a) {
    for (int i = 0; i < a->n; i++) free(a->p[i]);
    free(a->p);
    memset(a, 0, sizeof *a);
}
static char *astrdup(Arena *a, const char *s) { return arena_add(a, ad_strdup(s)); }

static YNode *ynew(Arena *a, YType t, int line, const char *file) {
    YNode *y = arena_add(a, ad_calloc(1, sizeof *y));
    y->type = t;
    y->line = line;
    y->file = file;
    y->slot[0] = y->slot[1] = y->slot[2] = -1;
    return y;
}

// Keep the arena pointing at the latest block of a growing array.
static void arena_track(Arena *a, int *slot, void *p) {
    if (*slot < 0) {
        arena_add(a, p);
        *slot = a->n - 1;
    } else {
        a->p[*slot] = p;
    }
}

static void ypush(Arena *a, YNode *parent, const char *key, int key_line, YNode *kid) {
    int n = parent->n + 1;
    if (n > parent->cap) {  // doubling: one realloc per key made a 100,000-key map quadratic
        int cap = parent->cap > parent->n ? parent->cap : parent->n;
        cap = cap < 4 ? 4 : 2 * cap;
        parent->kids = ad_realloc(parent->kids, (size_t)cap * sizeof *parent->kids);
        arena_track(a, &parent->slot[0], parent->kids);
        if (parent->type == YN_MAP) {
            parent->keys = ad_realloc(parent->keys, (size_t)cap * sizeof *parent->keys);
            arena_track(a, &parent->slot[1], parent->keys);
            parent->key_lines = ad_realloc(parent->key_lines, (size_t)cap * sizeof *parent->key_lines);
            arena_track(a, &parent->slot[2], parent->key_lines);
        }
        parent->cap = cap;
    }
    parent->kids[n - 1] = kid;
    if (parent->type == YN_MAP) {
        parent->keys[n - 1] = astrdup(a, key);
        parent->key_lines[n - 1] = key_line;
    }
    parent->n = n;
}

static YNode *ymap_get(const YNode *m, const char *key, int *idx) {
    if (!m || m->type != YN_MAP) return NULL;
    for (int i = 0; i < m->n; i++)
        if (!strcmp(m->keys[i], key)) {
            if (idx) *idx = i;
            return m->kids[i];
        }
    return NULL;
}

static int is_grid(const YNode *y) {
    return y && y->type == YN_MAP && y->n >= 1 && !strcmp(y->keys[0], "grid");
}

// ---------------------------------------------------------------------------------------
// Parsing with libyaml's event API.

typedef struct {
    yaml_parser_t parser;
    const char *file;
    Arena *arena;
    int depth;  // open lists/maps: the parser (and render, grids) recurse once per level
} Reader;

// Configs nest a handful of levels; a hostile file nested 40,000 deep overflowed the stack.
#define YAML_MAX_DEPTH 64

static int yaml_fail(Reader *r) {
    yaml_parser_t *p = &r->parser;
    int line = (int)p->problem_mark.line + 1;
    return ad_error("%s:%d: malformed YAML: %s%s%s. Fix: check the indentation and quoting near that line",
                    r->file, line, p->problem ? p->problem : "parse error", p->context ? " " : "",
                    p->context ? p->context : "");
}

static int next_event(Reader *r, yaml_event_t *ev) {
    if (!yaml_parser_parse(&r->parser, ev)) return yaml_fail(r);
    return 0;
}

static YNode *parse_node(Reader *r, yaml_event_t *ev);

// Keys seen in the map being parsed: open addressing over indexes into y->keys (the
// duplicate check was a linear scan per key: a 100,000-key map took 43 s).
typedef struct {
    int *slot;  // index + 1, 0 = empty
    size_t cap;
} KeySet;

static size_t key_hash(const char *k) {
    uint64_t h = 1469598103934665603ULL;
    for (; *k; k++) h = (h ^ (unsigned char)*k) * 1099511628211ULL;
    return (size_t)h;
}

static int keyset_has(const KeySet *ks, const YNode *y, const char *key) {
    if (!ks->cap) return 0;
    for (size_t i = key_hash(key) & (ks->cap - 1); ks->slot[i]; i = (i + 1) & (ks->cap - 1))
        if (!strcmp(y->keys[ks->slot[i] - 1], key)) return 1;
    return 0;
}

static void keyset_add(KeySet *ks, const YNode *y, int idx) {
    if ((size_t)(idx + 1) * 2 > ks->cap) {  // grow and rehash
        size_t cap = ks->cap ? ks->cap * 2 : 16;
        while ((size_t)(idx + 1) * 2 > cap) cap *= 2;
        free(ks->slot);
        ks->slot = ad_calloc(cap, sizeof *ks->slot);
        ks->cap = cap;
        for (int j = 0; j < idx; j++) {
            size_t i = key_hash(y->keys[j]) & (cap - 1);
            while (ks->slot[i]) i = (i + 1) & (cap - 1);
            ks->slot[i] = j + 1;
        }
    }
    size_t i = key_hash(y->keys[idx]) & (ks->cap - 1);
    while (ks->slot[i]) i = (i + 1) & (ks->cap - 1);
    ks->slot[i] = idx + 1;
}

static YNode *parse_after_start(Reader *r, yaml_event_t *start) {
    int line = (int)start->start_mark.line + 1;
    if (start->type == YAML_SCALAR_EVENT) {
        YNode *y = ynew(r->arena, YN_SCALAR, line, r->file);
        y->str = astrdup(r->arena, (const char *)start->data.scalar.value);
        y->quoted = start->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                    start->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
        return y;
    }
    if (start->type == YAML_ALIAS_EVENT) {
        ad_error("%s:%d: YAML anchors/aliases (*name) are not supported. Fix: write the value out", r->file, line);
        return NULL;
    }
    if (start->type == YAML_SEQUENCE_START_EVENT) {
        YNode *y = ynew(r->arena, YN_SEQ, line, r->file);
        for (;;) {
            yaml_event_t ev;
            if (next_event(r, &ev)) return NULL;
            if (ev.type == YAML_SEQUENCE_END_EVENT) {
                yaml_event_delete(&ev);
                break;
            }
            YNode *kid = parse_node(r, &ev);
            if (!kid) return NULL;
            ypush(r->arena, y, NULL, 0, kid);
        }
        return y;
    }
    if (start->type == YAML_MAPPING_START_EVENT) {
        YNode *y = ynew(r->arena, YN_MAP, line, r->file);
        KeySet ks = {0};
        for (;;) {
            yaml_event_t ev;
            if (next_event(r, &ev)) {
                free(ks.slot);
                return NULL;
            }
            if (ev.type == YAML_MAPPING_END_EVENT) {
                yaml_event_delete(&ev);
                break;
            }
            int kline = (int)ev.start_mark.line + 1;
            if (ev.type != YAML_SCALAR_EVENT) {
                yaml_event_delete(&ev);
                ad_error("%s:%d: expected a plain key (name: value), found a list or map used as a key", r->file, kline);
                free(ks.slot);
                return NULL;
            }
            char *key = ad_strdup((const char *)ev.data.scalar.value);
            yaml_event_delete(&ev);
            if (keyset_has(&ks, y, key)) {
                ad_error("%s:%d: duplicate key '%s'. Fix: keep one of them", r->file, kline, key);
                free(key);
                free(ks.slot);
                return NULL;
            }
            yaml_event_t vev;
            if (next_event(r, &vev)) {
                free(key);
                free(ks.slot);
                return NULL;
            }
            YNode *kid = parse_node(r, &vev);
            if (!kid) {
                free(key);
                free(ks.slot);
                return NULL;
            }
            ypush(r->arena, y, key, kline, kid);
            keyset_add(&ks, y, y->n - 1);
            free(key);
        }
        free(ks.slot);
        return y;
    }
    ad_error("%s:%d: unexpected YAML event", r->file, line);
    return NULL;
}

static YNode *parse_node(Reader *r, yaml_event_t *ev) {
    if ((ev->type == YAML_SEQUENCE_START_EVENT || ev->type == YAML_MAPPING_START_EVENT) && r->depth >= YAML_MAX_DEPTH) {
        ad_error("%s:%d: lists/maps nested more than %d levels deep. Fix: a config needs a few levels; check for a runaway '[' or '{'",
                 r->file, (int)ev->start_mark.line + 1, YAML_MAX_DEPTH);
        yaml_event_delete(ev);
        return NULL;
    }
    r->depth++;
    YNode *y = parse_after_start(r, ev);
    r->depth--;
    yaml_event_delete(ev);
    return y;
}

// Parses one YAML document; an empty document gives an empty scalar.
static YNode *parse_yaml(Arena *a, const char *file, const char *text, size_t len) {
    Reader r = {.file = file, .arena = a};
    if (!yaml_parser_initialize(&r.parser)) AD_INTERNAL("yaml_parser_initialize failed");
    yaml_parser_set_input_string(&r.parser, (const unsigned char *)text, len);
    YNode *root = NULL;
    int ok = 0;
    yaml_event_t ev;
    for (;;) {
        if (next_event(&r, &ev)) goto done;
        yaml_event_type_t t = ev.type;
        if (t == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        if (t == YAML_STREAM_START_EVENT || t == YAML_DOCUMENT_END_EVENT) {
            yaml_event_delete(&ev);
            continue;
        }
        if (t == YAML_DOCUMENT_START_EVENT) {
            int line = (int)ev.start_mark.line + 1;
            yaml_event_delete(&ev);
            if (root) {
                ad_error("%s:%d: several YAML documents ('---') in one config. Fix: keep one", file, line);
                goto done;
            }
            yaml_event_t nev;
            if (next_event(&r, &nev)) goto done;
            root = parse_node(&r, &nev);
            if (!root) goto done;
            continue;
        }
        yaml_event_delete(&ev);
    }
    if (!root) root = ynew(a, YN_SCALAR, 1, file), root->str = astrdup(a, "");
    ok = 1;
done:
    yaml_parser_delete(&r.parser);
    return ok ? root : NULL;
}

// ---------------------------------------------------------------------------------------
// Canonical rendering (hashes, grid-point labels, list parameter values).

typedef struct {
    char *s;
    size_t n, cap;
} Buf;

static void buf_add(Buf *b, const char *s) {
    size_t l = strlen(s);
    if (b->n + l + 1 > b->cap) {
        b->cap = (b->n + l + 1) * 2;
        b->s = ad_realloc(b->s, b->cap);
    }
    memcpy(b->s + b->n, s, l + 1);
    b->n += l;
}

static int needs_quotes(const char *s) {
    if (!*s) return 1;
    for (const char *p = s; *p; p++)
        if (strchr(",[]{}:#'\"\n", *p) || (p == s && *p == ' ')) return 1;
    return 0;
}

static void render(Buf *b, const YNode *y) {
    if (y->type == YN_SCALAR) {
        if (needs_quotes(y->str)) {
            buf_add(b, "\"");
            for (const char *p = y->str; *p; p++) {
                char c[3] = {*p, 0, 0};
                if (*p == '"' || *p == '\\') c[0] = '\\', c[1] = *p;
                buf_add(b, c);
            }
            buf_add(b, "\"");
        } else {
            buf_add(b, y->str);
        }
        return;
    }
    buf_add(b, y->type == YN_SEQ ? "[" : "{");
    for (int i = 0; i < y->n; i++) {
        if (i) buf_add(b, ", ");
        if (y->type == YN_MAP) {
            buf_add(b, y->keys[i]);
            buf_add(b, ": ");
        }
        render(b, y->kids[i]);
    }
    buf_add(b, y->type == YN_SEQ ? "]" : "}");
}

static char *render_str(const YNode *y) {
    Buf b = {0};
    buf_add(&b, "");
    render(&b, y);
    return b.s;
}

// ---------------------------------------------------------------------------------------
// Overrides: --set a.b.0.c=value

static int apply_set(Arena *a, YNode *root, const char *set) {
    const char *eq = strchr(set, '=');
    if (!eq || eq == set)
        return ad_error("--set %s: expected key=value (e.g. --set methods.0.topmin_max=0.2)", set);
    char *path = ad_strdup(set);
    path[eq - set] = 0;
    const char *value = eq + 1;
    // Every segment non-empty ('.', 'a..b', 'a.' used to be ignored silently), and no deeper
    // than a YAML value may nest.
    int n_seg = 1;
    for (const char *p = path; *p; p++) n_seg += *p == '.';
    if (path[0] == '.' || path[strlen(path) - 1] == '.' || strstr(path, "..")) {
        free(path);
        return ad_error("--set %s: the key has an empty part; expected dotted keys like methods.0.topmin_max", set);
    }
    if (n_seg > YAML_MAX_DEPTH) {
        free(path);
        return ad_error("--set %s: the key has %d parts, more than %d. Fix: a config needs a few levels", set, n_seg,
                        YAML_MAX_DEPTH);
    }
    YNode *val = parse_yaml(a, "--set", value, strlen(value));
    if (!val) {
        free(path);
        return ad_error_prefix("--set %s", set);
    }
    if (root->type != YN_MAP) {
        free(path);
        return ad_error("--set %s: the config is not a map of keys", set);
    }
    YNode *cur = root;
    char *save = NULL, *seg = strtok_r(path, ".", &save);
    char done_path[512] = "";
    while (seg) {
        char *next = strtok_r(NULL, ".", &save);
        if (is_grid(cur)) {
            free(path);
            return ad_error("--set %s: '%s' is a grid; override the whole grid instead (--set %s='...')", set,
                            done_path, done_path);
        }
        if (cur->type == YN_SEQ) {
            char *end;
            long idx = strtol(seg, &end, 10);
            if (*end || end == seg || idx < 0 || idx >= cur->n) {
                int n = cur->n;
                ad_error("--set %s: '%s' has %d entries; expected an index 0..%d, found '%s'", set, done_path, n, n - 1,
                         seg);
                free(path);
                return -1;
            }
            if (!next) cur->kids[idx] = val;
            cur = cur->kids[idx];
        } else if (cur->type == YN_MAP) {
            int idx = -1;
            YNode *kid = ymap_get(cur, seg, &idx);
            if (!next) {
                if (kid) {
                    cur->kids[idx] = val;
                } else {
                    ypush(a, cur, seg, 0, val);
                }
            } else if (!kid) {
                kid = ynew(a, YN_MAP, 0, "--set");
                ypush(a, cur, seg, 0, kid);
            }
            cur = kid;
        } else {
            ad_error("--set %s: '%s' is a value, not a map or list; cannot go into '%s'", set, done_path, seg);
            free(path);
            return -1;
        }
        snprintf(done_path + strlen(done_path), sizeof done_path - strlen(done_path), "%s%s", *done_path ? "." : "", seg);
        seg = next;
    }
    free(path);
    return 0;
}

// ---------------------------------------------------------------------------------------
// Grid expansion: expand(node) -> list of concrete nodes, each with its grid-point label.

typedef struct {
    YNode **nodes;
    char **labels;  // arena strings, "" when no grid chose anything
    int n;
} Expansion;

static void exp_push(Arena *a, Expansion *e, YNode *y, const char *label) {
    if (!e->n || !(e->n & (e->n - 1))) {  // capacity: the next power of two (e->n only grows here)
        size_t cap = e->n ? 2 * (size_t)e->n : 1;
        e->nodes = ad_realloc(e->nodes, cap * sizeof *e->nodes);
        e->labels = ad_realloc(e->labels, cap * sizeof *e->labels);
    }
    e->nodes[e->n] = y;
    e->labels[e->n] = astrdup(a, label);
    e->n++;
}
static void exp_free(Expansion *e) {
    free(e->nodes);
    free(e->labels);
    memset(e, 0, sizeof *e);
}

#define MAX_VARIANTS 100000

static int expand(Arena *a, const YNode *y, const char *path, Expansion *out) {
    memset(out, 0, sizeof *out);
    if (is_grid(y)) {
        const YNode *g = y->kids[0];
        if (y->n != 1)
            return ad_error("%s:%d: a grid is written {grid: [v1, v2, ...]} with no other keys; found key '%s' beside it",
                            y->file, y->key_lines[1] ? y->key_lines[1] : y->line, y->keys[1]);
        if (g->type != YN_SEQ || g->n == 0)
            return ad_error("%s:%d: '%s': grid needs a non-empty list of values, e.g. {grid: [0.1, 0.3]}", y->file,
                            y->line, path);
        for (int i = 0; i < g->n; i++) {
            Expansion sub;
            if (expand(a, g->kids[i], path, &sub)) return exp_free(out), -1;
            char *v = render_str(g->kids[i]);
            for (int k = 0; k < sub.n; k++) {
                // The label names the chosen option; nested grids inside it add their own.
                char *lab = ad_sprintf("%s=%s%s%s", path, v, *sub.labels[k] ? " " : "", sub.labels[k]);
                exp_push(a, out, sub.nodes[k], lab);
                free(lab);
            }
            free(v);
            exp_free(&sub);
            if (out->n > MAX_VARIANTS) return ad_error("%s: the grids expand to more than %d variants", y->file, MAX_VARIANTS);
        }
        return 0;
    }
    if (y->type == YN_SCALAR) {
        exp_push(a, out, (YNode *)y, "");
        return 0;
    }
    // Container: cartesian product of the children's expansions, last child fastest.
    int n = y->n;
    Expansion *kids = ad_calloc((size_t)(n ? n : 1), sizeof *kids);
    long total = 1;
    for (int i = 0; i < n; i++) {
        char *p = y->type == YN_MAP ? ad_sprintf("%s%s%s", path, *path ? "." : "", y->keys[i])
                                    : ad_sprintf("%s%s%d", path, *path ? "." : "", i);
        int rc = expand(a, y->kids[i], p, &kids[i]);
        free(p);
        if (rc) {
            for (int k = 0; k < i; k++) exp_free(&kids[k]);
            free(kids);
            return -1;
        }
        total *= kids[i].n;
        if (total > MAX_VARIANTS) {
            for (int k = 0; k <= i; k++) exp_free(&kids[k]);
            free(kids);
            return ad_error("%s: the grids expand to more than %d variants", y->file, MAX_VARIANTS);
        }
    }
    int *idx = ad_calloc((size_t)(n ? n : 1), sizeof *idx);
    for (long t = 0; t < total; t++) {
        int all_same = 1;
        for (int i = 0; i < n; i++)
            if (kids[i].nodes[idx[i]] != y->kids[i]) all_same = 0;
        YNode *c = (YNode *)y;
        Buf lab = {0};
        buf_add(&lab, "");
        for (int i = 0; i < n; i++)
            if (*kids[i].labels[idx[i]]) {
                if (lab.n) buf_add(&lab, " ");
                buf_add(&lab, kids[i].labels[idx[i]]);
            }
        if (!all_same) {
            c = ynew(a, y->type, y->line, y->file);
            c->n = n;
            c->kids = arena_add(a, ad_malloc((size_t)n * sizeof *c->kids));
            for (int i = 0; i < n; i++) c->kids[i] = kids[i].nodes[idx[i]];
            c->keys = y->keys;
            c->key_lines = y->key_lines;
        }
        exp_push(a, out, c, lab.s);
        free(lab.s);
        for (int i = n - 1; i >= 0; i--) {
            if (++idx[i] < kids[i].n) break;
            idx[i] = 0;
        }
    }
    free(idx);
    for (int i = 0; i < n; i++) exp_free(&kids[i]);
    free(kids);
    return 0;
}

// ---------------------------------------------------------------------------------------
// Validation of one concrete variant.

static const ParamSpec TOP_KEYS[] = {
    {"name", PT_STRING, "", 1, 0, "label"},
    {"description", PT_STRING, "", 1, 0, "label"},
    {"datasets", PT_STRING, "", 1, 0, "list of datasets"},
    {"backbone", PT_STRING, "", 1, 0, "feature extractor"},
    {"methods", PT_STRING, "", 1, 0, "list of methods"},
    {"evaluation", PT_STRING, "", 1, 0, "metric protocol"},
    {"seed", PT_INT, "0", 0, 2147483647, "seed"},
    {"threads", PT_INT, "0", 0, 4096, "threads (0 = default)"},
    {"cache_dir", PT_STRING, "cache/features", 1, 0, "feature cache folder or none"},
    {"out_dir", PT_STRING, "", 1, 0, "output folder"},
    {"save_maps", PT_BOOL, "false", 1, 0, "write map PNGs"},
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
static const ParamSpec EVAL_KEYS[] = {
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
        if (!params_find(TOP_KEYS, root->keys[i])) return unknown_key(root, i, TOP_KEYS, NULL, "the top level");
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
            if (!params_find(EVAL_KEYS, k)) return unknown_key(ev, i, EVAL_KEYS, NULL, "evaluation");
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
    if ((y = ymap_get(root, "cache_dir", NULL))) {
        const char *s = NULL;
        if (scalar_of(y, "cache_dir", &s)) return -1;
        free(v->cache_dir);
        v->cache_dir = (!*s || !strcmp(s, "none") || !strcmp(s, "null") || !strcmp(s, "~")) ? NULL : ad_strdup(s);
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
    YNode *root = parse_yaml(&a, file, text, strlen(text));
    if (!root) goto done;
    if (root->type != YN_MAP) {
        verr(file, root->line, "expected a map of top-level keys (datasets, backbone, methods, ...), found %s",
             root->type == YN_SEQ ? "a list" : (*root->str ? "a single value" : "an empty file"));
        goto done;
    }
    for (int i = 0; i < n_sets; i++)
        if (apply_set(&a, root, sets[i])) goto done;
    char *canon = render_str(root);
    uint64_t h = fnv1a64(FNV1A64_INIT, canon, strlen(canon));
    free(canon);
    out->hash = ad_sprintf("%016llx", (unsigned long long)h);
    out->path = ad_strdup(file);
    const YNode *nm = ymap_get(root, "name", NULL);
    out->name = nm && nm->type == YN_SCALAR && *nm->str ? ad_strdup(nm->str) : file_stem(file);
    if (expand(&a, root, "", &ex)) goto done;
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
    exp_free(&ex);
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

// ---------------------------------------------------------------------------------------
// Flattened job configuration.

// Canonical spelling of a parameter value so that "0.30", "0.3" and a default "[1,3,5]" vs
// "[1, 3, 5]" give the same job identity.
static char *canon_value(const ParamSpec *s, const char *v) {
    if (!s) return ad_strdup(v);
    if (s->type == PT_INT || s->type == PT_DOUBLE) {
        char *end;
        double d = strtod(v, &end);
        if (end != v && !*end) return ad_sprintf("%.15g", d);
        return ad_strdup(v);
    }
    if (s->type == PT_BOOL) return ad_strdup(!strcmp(v, "true") || !strcmp(v, "1") ? "true" : "false");
    if (s->type == PT_INT_LIST || s->type == PT_DOUBLE_LIST) {
        Buf b = {0};
        buf_add(&b, "[");
        const char *p = v;
        int first = 1;
        while (*p) {
            while (*p == ' ' || *p == '[' || *p == ',') p++;
            if (!*p || *p == ']') break;
            const char *e = p;
            while (*e && *e != ',' && *e != ']') e++;
            char item[64];
            size_t len = (size_t)(e - p);
            while (len && p[len - 1] == ' ') len--;
            if (len >= sizeof item) len = sizeof item - 1;
            memcpy(item, p, len);
            item[len] = 0;
            char *end;
            double d = strtod(item, &end);
            char num[64];
            if (end != item && !*end) snprintf(num, sizeof num, "%.15g", d);
            else snprintf(num, sizeof num, "%s", item);
            if (!first) buf_add(&b, ",");
            buf_add(&b, num);
            first = 0;
            p = e;
        }
        buf_add(&b, "]");
        return b.s;
    }
    return ad_strdup(v);
}

static void kv_add(KeyVals *kv, const char *k, char *v_owned) {
    kv->keys = ad_realloc(kv->keys, (size_t)(kv->n + 1) * sizeof *kv->keys);
    kv->vals = ad_realloc(kv->vals, (size_t)(kv->n + 1) * sizeof *kv->vals);
    kv->keys[kv->n] = ad_strdup(k);
    kv->vals[kv->n] = v_owned;
    kv->n++;
}

static void add_params(KeyVals *kv, const char *prefix, const Params *p) {
    for (const ParamSpec *s = p->spec; s && s->key; s++) {
        const char *v = s->def ? s->def : "";
        for (int i = 0; i < p->n; i++)
            if (!strcmp(p->keys[i], s->key)) v = p->values[i];
        char *k = ad_sprintf("%s.%s", prefix, s->key);
        kv_add(kv, k, canon_value(s, v));
        free(k);
    }
}

static int kv_cmp_idx(const void *a, const void *b, void *ctx) {
    const KeyVals *kv = ctx;
    return strcmp(kv->keys[*(const int *)a], kv->keys[*(const int *)b]);
}

void job_flatten(const Variant *v, int m, KeyVals *out) {
    memset(out, 0, sizeof *out);
    const MethodConfig *mc = &v->methods[m];
    kv_add(out, "backbone", ad_strdup(v->backbone.name));
    add_params(out, "backbone", &v->backbone.params);
    kv_add(out, "method", ad_strdup(mc->name));
    add_params(out, "method", &mc->params);
    if (mc->m->needs_train && !params_find(mc->m->params, "shots")) kv_add(out, "method.shots", ad_sprintf("%d", mc->shots));
    kv_add(out, "evaluation.resolution", v->eval.crop_resize ? ad_sprintf("center_crop:%d:%d", v->eval.crop_resize, v->eval.size)
                                         : v->eval.resized ? ad_sprintf("resized:%d", v->eval.size) : ad_strdup("native"));
    kv_add(out, "evaluation.mask_rule", ad_strdup(v->eval.mask_rule));
    kv_add(out, "evaluation.pro_limit", ad_sprintf("%.15g", v->eval.pro_limit));
    kv_add(out, "evaluation.image_score", ad_strdup(v->eval.image_score_max ? "max" : "method"));
    kv_add(out, "seed", ad_sprintf("%d", v->seed));
    // Sort by key (insertion sort: a few dozen keys).
    for (int i = 1; i < out->n; i++) {
        for (int j = i; j > 0 && strcmp(out->keys[j - 1], out->keys[j]) > 0; j--) {
            char *t = out->keys[j];
            out->keys[j] = out->keys[j - 1], out->keys[j - 1] = t;
            t = out->vals[j];
            out->vals[j] = out->vals[j - 1], out->vals[j - 1] = t;
        }
    }
    (void)kv_cmp_idx;
}

void keyvals_free(KeyVals *kv) {
    for (int i = 0; i < kv->n; i++) free(kv->keys[i]), free(kv->vals[i]);
    free(kv->keys);
    free(kv->vals);
    memset(kv, 0, sizeof *kv);
}

const char *keyvals_get(const KeyVals *kv, const char *key) {
    for (int i = 0; i < kv->n; i++)
        if (!strcmp(kv->keys[i], key)) return kv->vals[i];
    return NULL;
}
