// Overrides (--set) and grid expansion on the config's YAML tree.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "yaml_tree.h"

// ---------------------------------------------------------------------------------------
// Overrides: --set a.b.0.c=value

int config_apply_set(Arena *a, YNode *root, const char *set) {
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
    YNode *val = yaml_parse_tree(a, "--set", value, strlen(value));
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
// Grid expansion: grid_expand(node) -> list of concrete nodes, each with its grid-point label.

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
void grid_expansion_free(Expansion *e) {
    free(e->nodes);
    free(e->labels);
    memset(e, 0, sizeof *e);
}

#define MAX_VARIANTS 100000

int grid_expand(Arena *a, const YNode *y, const char *path, Expansion *out) {
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
            if (grid_expand(a, g->kids[i], path, &sub)) return grid_expansion_free(out), -1;
            char *v = ynode_render(g->kids[i]);
            for (int k = 0; k < sub.n; k++) {
                // The label names the chosen option; nested grids inside it add their own.
                char *lab = ad_sprintf("%s=%s%s%s", path, v, *sub.labels[k] ? " " : "", sub.labels[k]);
                exp_push(a, out, sub.nodes[k], lab);
                free(lab);
            }
            free(v);
            grid_expansion_free(&sub);
            if (out->n > MAX_VARIANTS) return ad_error("%s: the grids grid_expand to more than %d variants", y->file, MAX_VARIANTS);
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
        int rc = grid_expand(a, y->kids[i], p, &kids[i]);
        free(p);
        if (rc) {
            for (int k = 0; k < i; k++) grid_expansion_free(&kids[k]);
            free(kids);
            return -1;
        }
        total *= kids[i].n;
        if (total > MAX_VARIANTS) {
            for (int k = 0; k <= i; k++) grid_expansion_free(&kids[k]);
            free(kids);
            return ad_error("%s: the grids grid_expand to more than %d variants", y->file, MAX_VARIANTS);
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
    for (int i = 0; i < n; i++) grid_expansion_free(&kids[i]);
    free(kids);
    return 0;
}
