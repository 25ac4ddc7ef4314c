// `adbench run` writes OUTDIR/config.resolved.yaml: the config as run, with the automatic
// backbone values each grid point resolved to (config_resolved_yaml in config.h renders it).
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "err.h"
#include "evaluate.h"
#include "fsutil.h"
#include "run_state.h"

// s + sep + t (s freed; malloc'd).
static char *cat3(char *s, const char *sep, const char *t) {
    char *r = ad_sprintf("%s%s%s", s ? s : "", s && *s ? sep : "", t);
    free(s);
    return r;
}

static void note_add(ConfigNote *notes, int *n, char *path, char *text) {
    notes[*n].path = path;
    notes[(*n)++].text = text;
}

// The note of backbone key kv->keys[i] (entries "VALUE\tGRID_POINT", one per backbone open):
// the value, or each open's value with its grid point when they differ or the key was
// automatic in some grid points only (malloc'd).
static char *backbone_note(const KeyVals *kv, int i, int n_opens) {
    const char *key = kv->keys[i];
    size_t l0 = strcspn(kv->vals[i], "\t");
    int count = 0, differ = 0;
    for (int j = i; j < kv->n; j++)
        if (!strcmp(kv->keys[j], key)) {
            count++;
            differ |= strcspn(kv->vals[j], "\t") != l0 || strncmp(kv->vals[j], kv->vals[i], l0) != 0;
        }
    differ |= count < n_opens;
    if (!differ) return ad_sprintf("%.*s", (int)l0, kv->vals[i]);
    char *text = NULL;
    for (int j = i; j < kv->n; j++) {
        if (strcmp(kv->keys[j], key)) continue;
        const char *tab = strchr(kv->vals[j], '\t');
        char *one = tab[1] ? ad_sprintf("%.*s (%s)", (int)(tab - kv->vals[j]), kv->vals[j], tab + 1)
                           : ad_sprintf("%.*s", (int)(tab - kv->vals[j]), kv->vals[j]);
        text = cat3(text, "; ", one);
        free(one);
    }
    return text;
}

// OUTDIR/config.resolved.yaml (config.h: config_resolved_yaml), written atomically. Notes:
// the automatic backbone values (each value once; with the grid points when they differ),
// threads: 0, mask_rule: auto and categories: all (from the first grid point's datasets).
int run_write_resolved(Run *R) {
    const Config *cfg = R->cfg;
    const Variant *V0 = &cfg->variants[0];
    int n = 0;
    ConfigNote *notes = ad_calloc((size_t)(R->resolved.n + V0->n_datasets + 2), sizeof *notes);
    const KeyVals *kv = &R->resolved;
    for (int i = 0; i < kv->n; i++) {
        int seen = 0;
        for (int k = 0; k < n; k++) seen |= !strcmp(notes[k].path, kv->keys[i]);
        if (!seen) note_add(notes, &n, ad_strdup(kv->keys[i]), backbone_note(kv, i, R->n_opens));
    }
    if (V0->threads == 0) note_add(notes, &n, ad_strdup("threads"), ad_sprintf("%d (OpenMP default)", omp_get_max_threads()));
    if (!strcmp(V0->eval.mask_rule, "auto")) {
        char *text = NULL;
        for (int d = 0; d < V0->n_datasets; d++) {
            const DatasetAdapter *ad = registry_dataset(R->o->reg, V0->datasets[d].name);
            char *one = ad_sprintf("%s (%s)", eval_mask_rule(&V0->eval, ad ? ad->mask_rule : NULL), V0->datasets[d].name);
            if (!text || !strstr(text, one)) text = cat3(text, ", ", one);
            free(one);
        }
        ad_clear_error();
        note_add(notes, &n, ad_strdup("evaluation.mask_rule"), text);
    }
    for (int d = 0; d < V0->n_datasets; d++) {
        if (V0->datasets[d].n_categories) continue;
        char *text = NULL;
        for (int u = 0; u < R->n_units; u++)
            if (R->units[u].v == 0 && R->units[u].d == d && R->units[u].category) text = cat3(text, ", ", R->units[u].category);
        if (text) note_add(notes, &n, ad_sprintf("datasets.%d.categories", d), text);
    }
    char *yaml = config_resolved_yaml(cfg, R->out_dir, notes, n);
    for (int i = 0; i < n; i++) free((char *)notes[i].path), free((char *)notes[i].text);
    free(notes);
    if (!yaml) return ad_error_prefix("%s: config.resolved.yaml", R->out_dir);
    char *path = ad_sprintf("%s/config.resolved.yaml", R->out_dir);
    char *text = ad_sprintf("# adbench config.resolved.yaml: %s%s with every default filled in (adbench params NAME);\n"
                            "# automatic values stay as written (same job ids) with what they became (# resolved:).\n"
                            "# Relative paths are relative to the folder the run started in. Resume: adbench run THIS_FILE\n"
                            "%s",
                            cfg->path, cfg->n_sets ? " after --set" : "", yaml);
    int rc = fs_write_text_atomic(path, text);
    free(path), free(text), free(yaml);
    return rc;
}

