// config.resolved.yaml: the config tree after --set with every default filled in, written
// back as block-style YAML (config.h, config_resolved_yaml).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "err.h"
#include "yaml_tree.h"

typedef struct {
    Arena *a;
    const Registry *reg;
    const ConfigNote *notes;
    int n_notes;
} Ctx;

// --- defaults ------------------------------------------------------------------------------

// A default from a ParamSpec (YAML scalar syntax: "0.3", "[1,3,5]", "auto", "").
static YNode *default_node(Arena *a, const char *def) {
    YNode *y = def && *def ? yaml_parse_tree(a, "defaults", def, strlen(def)) : NULL;
    if (!y) {
        ad_clear_error();
        y = ynew(a, YN_SCALAR, 0, "defaults");
        y->str = astrdup(a, def ? def : "");
        y->quoted = 1;  // "" (a plain empty value would read as null)
    }
    return y;
}

static void fill_spec(Arena *a, YNode *m, const ParamSpec *spec, const char *const *skip) {
    for (const ParamSpec *s = spec; s && s->key; s++) {
        int skipped = 0;
        for (int k = 0; skip && skip[k]; k++) skipped |= !strcmp(skip[k], s->key);
        if (skipped || ymap_get(m, s->key, NULL)) continue;
        ypush(a, m, s->key, 0, default_node(a, s->def));
    }
}

// fn on y unless y is a {grid: [...]}: a grid's alternatives stay as written, because the
// grid-point labels (variant and grid columns) render them whole.
static void each_alt(Ctx *c, YNode *y, void (*fn)(Ctx *, YNode *)) {
    if (!is_grid(y)) fn(c, y);
}

static const char *plain_name(const YNode *m) {
    const YNode *n = ymap_get(m, "name", NULL);
    return n && n->type == YN_SCALAR ? n->str : NULL;  // a gridded name: no defaults (specs differ)
}

static void fill_dataset(Ctx *c, YNode *m) {
    if (m->type != YN_MAP) return;
    static const char *const skip[] = {"name", "root", "synth", NULL};  // synth's options shape its root: as written
    fill_spec(c->a, m, CONFIG_DATASET_KEYS, skip);
}
static void fill_datasets(Ctx *c, YNode *s) {
    if (s->type != YN_SEQ) return;
    for (int i = 0; i < s->n; i++) each_alt(c, s->kids[i], fill_dataset);
}

static void fill_backbone(Ctx *c, YNode *m) {
    const char *name = m->type == YN_MAP ? plain_name(m) : NULL;
    const BackboneDriver *d = name ? registry_backbone(c->reg, name) : NULL;
    if (d) fill_spec(c->a, m, d->params, NULL);
    ad_clear_error();
}

static void fill_method(Ctx *c, YNode *m) {
    const char *name = m->type == YN_MAP ? plain_name(m) : NULL;
    const Method *me = name ? registry_method(c->reg, name) : NULL;
    ad_clear_error();
    if (!me) return;
    fill_spec(c->a, m, me->params, NULL);
    // shots: only few/full-shot methods take it (a zero-shot method rejects the key)
    if (me->needs_train && !ymap_get(m, "shots", NULL)) ypush(c->a, m, "shots", 0, default_node(c->a, "0"));
}
static void fill_methods(Ctx *c, YNode *s) {
    if (s->type != YN_SEQ) return;
    for (int i = 0; i < s->n; i++) each_alt(c, s->kids[i], fill_method);
}

static void fill_eval(Ctx *c, YNode *m) {
    if (m->type == YN_MAP) fill_spec(c->a, m, CONFIG_EVAL_KEYS, NULL);
}

static void set_scalar(Arena *a, YNode *m, const char *key, const char *val) {
    YNode *y = ynew(a, YN_SCALAR, 0, "resolved");
    y->str = astrdup(a, val);
    y->quoted = 1;
    int idx = -1;
    if (ymap_get(m, key, &idx)) m->kids[idx] = y;
    else ypush(a, m, key, 0, y);
}

// --- block-style YAML ------------------------------------------------------------------------

static int plain_ok(const char *s, int flow) {
    if (!*s || s[0] == ' ' || s[strlen(s) - 1] == ' ') return 0;
    if (strchr("-?:,[]{}#&*!|>'\"%@`", s[0]) && !(s[0] == '-' && s[1] && s[1] != ' ')) return 0;
    for (const char *p = s; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f) return 0;
        if (*p == ':' && (p[1] == ' ' || !p[1])) return 0;
        if (*p == '#' && p > s && p[-1] == ' ') return 0;
        if (flow && strchr(",[]{}", *p)) return 0;
    }
    return 1;
}

static void add_scalar(Buf *b, const YNode *y, int flow) {
    if (!y->quoted && plain_ok(y->str, flow)) {
        buf_add(b, y->str);
        return;
    }
    buf_add(b, "\"");
    char e[8];
    for (const unsigned char *p = (const unsigned char *)y->str; *p; p++) {
        if (*p == '"' || *p == '\\') snprintf(e, sizeof e, "\\%c", *p);
        else if (*p == '\n') snprintf(e, sizeof e, "\\n");
        else if (*p == '\t') snprintf(e, sizeof e, "\\t");
        else if (*p < 0x20 || *p == 0x7f) snprintf(e, sizeof e, "\\x%02x", *p);
        else e[0] = (char)*p, e[1] = 0;
        buf_add(b, e);
    }
    buf_add(b, "\"");
}

static void add_key(Buf *b, const char *k) {
    YNode y = {.type = YN_SCALAR, .str = (char *)k};
    add_scalar(b, &y, 0);
}

static int flow_list(const YNode *y) {
    if (y->type != YN_SEQ) return 0;
    for (int i = 0; i < y->n; i++)
        if (y->kids[i]->type != YN_SCALAR || (!y->kids[i]->quoted && !plain_ok(y->kids[i]->str, 1))) return 0;
    return 1;
}

static void indent(Buf *b, int n) {
    for (int i = 0; i < n; i++) buf_add(b, " ");
}

static void add_note(Buf *b, const Ctx *c, const char *path) {
    for (int i = 0; i < c->n_notes; i++)
        if (!strcmp(c->notes[i].path, path)) {
            buf_add(b, "  # resolved: ");
            for (const char *p = c->notes[i].text; *p; p++) {
                char ch[2] = {*p == '\n' || *p == '\r' ? ' ' : *p, 0};
                buf_add(b, ch);
            }
            return;
        }
}

static void emit(Buf *b, const Ctx *c, const YNode *y, int ind, const char *path, int first_inline, int keep);

// The value after "key:" or "- " (on that line when it fits there).
// keep: y is the list of a grid; its items keep the path of the grid's key.
static void emit_value(Buf *b, const Ctx *c, const YNode *y, int ind, const char *path, int after_dash, int keep) {
    if (y->type == YN_SCALAR || flow_list(y) || !y->n) {
        buf_add(b, " ");
        if (y->type == YN_SCALAR) {
            add_scalar(b, y, 0);
        } else if (y->type == YN_MAP) {
            buf_add(b, "{}");
        } else {
            buf_add(b, "[");
            for (int i = 0; i < y->n; i++) {
                if (i) buf_add(b, ", ");
                add_scalar(b, y->kids[i], 1);
            }
            buf_add(b, "]");
        }
        add_note(b, c, path);
        buf_add(b, "\n");
        return;
    }
    if (after_dash && y->type == YN_MAP) {  // "- key: value" then the other keys under it
        buf_add(b, " ");
        emit(b, c, y, ind, path, 1, 0);
        return;
    }
    add_note(b, c, path);
    buf_add(b, "\n");
    emit(b, c, y, ind, path, 0, keep);
}

static void emit(Buf *b, const Ctx *c, const YNode *y, int ind, const char *path, int first_inline, int keep) {
    int grid = is_grid(y);
    for (int i = 0; i < y->n; i++) {
        if (!(first_inline && i == 0)) indent(b, ind);
        char *kp;
        if (y->type == YN_MAP) {
            add_key(b, y->keys[i]);
            buf_add(b, ":");
            // the note of a gridded key is on the key's line: none inside the grid ("#" matches no note)
            kp = grid ? ad_strdup("#") : *path ? ad_sprintf("%s.%s", path, y->keys[i]) : ad_strdup(y->keys[i]);
        } else {
            buf_add(b, "-");
            kp = keep || !*path ? ad_strdup(path) : ad_sprintf("%s.%d", path, i);
        }
        emit_value(b, c, y->kids[i], ind + 2, kp, y->type == YN_SEQ, grid);
        free(kp);
    }
}

char *config_resolved_yaml(const Config *cfg, const char *out_dir, const ConfigNote *notes, int n_notes) {
    Arena a = {0};
    char *text = NULL;
    YNode *root = yaml_parse_tree(&a, cfg->path, cfg->text, strlen(cfg->text));
    if (!root || root->type != YN_MAP) goto done;
    for (int i = 0; i < cfg->n_sets; i++)
        if (config_apply_set(&a, root, cfg->sets[i])) goto done;
    Ctx c = {&a, cfg->reg, notes, n_notes};
    if (!ymap_get(root, "name", NULL)) set_scalar(&a, root, "name", cfg->name);
    static const char *const skip[] = {"name", "description", "datasets", "backbone", "methods", "evaluation", "out_dir", NULL};
    YNode *y;
    if ((y = ymap_get(root, "datasets", NULL))) each_alt(&c, y, fill_datasets);
    if ((y = ymap_get(root, "backbone", NULL))) each_alt(&c, y, fill_backbone);
    if ((y = ymap_get(root, "methods", NULL))) each_alt(&c, y, fill_methods);
    if (!ymap_get(root, "evaluation", NULL)) ypush(&a, root, "evaluation", 0, ynew(&a, YN_MAP, 0, "defaults"));
    each_alt(&c, ymap_get(root, "evaluation", NULL), fill_eval);
    fill_spec(&a, root, CONFIG_TOP_KEYS, skip);
    if (out_dir) set_scalar(&a, root, "out_dir", out_dir);
    Buf b = {0};
    buf_add(&b, "");
    emit(&b, &c, root, 0, "", 0, 0);
    text = b.s;
done:
    arena_free(&a);
    return text;
}
