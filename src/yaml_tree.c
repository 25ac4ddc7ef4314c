// The config's YAML tree: arena, libyaml event parser with line numbers, canonical rendering.
#include "yaml_tree.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "err.h"

// ---------------------------------------------------------------------------------------
// The YAML tree. Nodes live in an arena owned by one config_load call; expansion shares
// subtrees between variants, so nodes are never freed one by one.

void *arena_add(Arena *a, void *p) {
    if (a->n == a->cap) {
        a->cap = a->cap ? 2 * a->cap : 256;
        a->p = ad_realloc(a->p, (size_t)a->cap * sizeof *a->p);
    }
    a->p[a->n++] = p;
    return p;
}
void arena_free(Arena *a) {
    for (int i = 0; i < a->n; i++) free(a->p[i]);
    free(a->p);
    memset(a, 0, sizeof *a);
}
char *astrdup(Arena *a, const char *s) { return arena_add(a, ad_strdup(s)); }

YNode *ynew(Arena *a, YType t, int line, const char *file) {
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

void ypush(Arena *a, YNode *parent, const char *key, int key_line, YNode *kid) {
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

YNode *ymap_get(const YNode *m, const char *key, int *idx) {
    if (!m || m->type != YN_MAP) return NULL;
    for (int i = 0; i < m->n; i++)
        if (!strcmp(m->keys[i], key)) {
            if (idx) *idx = i;
            return m->kids[i];
        }
    return NULL;
}

int is_grid(const YNode *y) {
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
YNode *yaml_parse_tree(Arena *a, const char *file, const char *text, size_t len) {
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

void buf_add(Buf *b, const char *s) {
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

char *ynode_render(const YNode *y) {
    Buf b = {0};
    buf_add(&b, "");
    render(&b, y);
    return b.s;
}
