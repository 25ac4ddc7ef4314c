// The config's YAML tree (private to the config layer: config.c, config_grid.c,
// job_config.c). Nodes keep their line numbers for messages and live in an arena owned by one
// config_load call; grid expansion shares subtrees between variants, so nodes are never freed
// one by one.
#pragma once
#include <stddef.h>

// Configs nest a handful of levels; a hostile file nested 40,000 deep overflowed the stack.
#define YAML_MAX_DEPTH 64

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

// A growing string (s is NUL-terminated once anything was added).
typedef struct {
    char *s;
    size_t n, cap;
} Buf;

// Concrete nodes of a grid expansion, each with its grid-point label.
typedef struct {
    YNode **nodes;
    char **labels;  // arena strings, "" when no grid chose anything
    int n;
} Expansion;

void *arena_add(Arena *a, void *p);  // takes ownership of p; returns it
void arena_free(Arena *a);
char *astrdup(Arena *a, const char *s);
YNode *ynew(Arena *a, YType t, int line, const char *file);
void ypush(Arena *a, YNode *parent, const char *key, int key_line, YNode *kid);  // key NULL for sequences
YNode *ymap_get(const YNode *m, const char *key, int *idx);  // NULL: absent (or m is not a map)
int is_grid(const YNode *y);                                 // a {grid: [...]} map
void buf_add(Buf *b, const char *s);

// Parses one YAML document (libyaml events); an empty document gives an empty scalar.
// NULL with ad_error "FILE:LINE: ..." on malformed or too deeply nested YAML.
YNode *yaml_parse_tree(Arena *a, const char *file, const char *text, size_t len);
// Canonical one-line rendering (hashes, grid-point labels, list parameter values); malloc'd.
char *ynode_render(const YNode *y);

// config_grid.c
// --set a.b.0.c=value on the tree (creating maps on the way). 0, or -1 with ad_error.
int config_apply_set(Arena *a, YNode *root, const char *set);
// Every concrete tree of y (the cartesian product of its grids, in order). 0, or -1.
int grid_expand(Arena *a, const YNode *y, const char *path, Expansion *out);
void grid_expansion_free(Expansion *e);
