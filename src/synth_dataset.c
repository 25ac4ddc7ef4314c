// Synthetic datasets in a config (name: synth, with synth: options): generated on first use.
#include "synth_dataset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "err.h"
#include "fsutil.h"
#include "synth.h"


static int synth_options(SynthConfig *sc, const DatasetConfig *d) {
    synth_config_default(sc);
    int k_types = -1, m_per = -1;
    for (int i = 0; i < d->n_synth; i++) {
        char key[64];
        snprintf(key, sizeof key, "%s", d->synth_keys[i]);
        for (char *c = key; *c; c++)
            if (*c == '-') *c = '_';
        const char *v = d->synth_vals[i];
        char *end;
        double x = strtod(v, &end);
        int num = end != v && !*end;
        if (!strcmp(key, "seed") && num) sc->seed = (uint64_t)x;
        else if (!strcmp(key, "size") && num) sc->size = (int)x;
        else if (!strcmp(key, "kind")) {
            if (!strcmp(v, "texture")) sc->kind = SYNTH_TEXTURE;
            else if (!strcmp(v, "object")) sc->kind = SYNTH_OBJECT;
            else if (!strcmp(v, "mixed")) sc->kind = SYNTH_MIXED;
            else return ad_error("datasets (synth): kind: expected texture, object or mixed, found '%s'", v);
        } else if (!strcmp(key, "categories")) {
            if (num) {
                sc->n_categories = (int)x;
            } else {
                // "[a, b]" -> names
                int n = 0;
                char **names = NULL;
                const char *p = v;
                while (*p) {
                    while (*p == ' ' || *p == '[' || *p == ',') p++;
                    if (!*p || *p == ']') break;
                    const char *e = p;
                    while (*e && *e != ',' && *e != ']') e++;
                    size_t len = (size_t)(e - p);
                    while (len && p[len - 1] == ' ') len--;
                    names = ad_realloc(names, (size_t)(n + 1) * sizeof *names);
                    names[n] = ad_malloc(len + 1);
                    memcpy(names[n], p, len);
                    names[n][len] = 0;
                    n++;
                    p = e;
                }
                sc->names = names;
                sc->n_categories = n;
            }
        } else if (!strcmp(key, "n_train") && num) sc->n_train = (int)x;
        else if (!strcmp(key, "n_good") && num) sc->n_good = (int)x;
        else if (!strcmp(key, "n_unique") && num) sc->n_unique = (int)x;
        else if (!strcmp(key, "consistent")) {
            if (synth_parse_consistent(sc, v)) return ad_error_prefix("datasets (synth): consistent");
        } else if (!strcmp(key, "n_consistent_types") && num) k_types = (int)x;
        else if (!strcmp(key, "m") && num) m_per = (int)x;
        else if (!strcmp(key, "defect_scale") && num) sc->defect_scale = x;
        else if (!strcmp(key, "contrast") && num) sc->contrast = x;
        else if (!strcmp(key, "align") && num) sc->align = (int)x;
        else
            return ad_error("datasets (synth): option '%s' = '%s' is unknown or not a number; known: seed, size, kind, "
                            "categories, n_train, n_good, n_unique, consistent, n_consistent_types, m, defect_scale, "
                            "contrast, align",
                            d->synth_keys[i], v);
    }
    if (k_types >= 0 || m_per >= 0)
        if (synth_set_consistent(sc, k_types >= 0 ? k_types : sc->n_consistent, m_per >= 0 ? m_per : 12)) return -1;
    return synth_check_config(sc);
}

static void synth_free_names(SynthConfig *sc) {
    if (!sc->names) return;
    for (int i = 0; i < sc->n_categories; i++) free(sc->names[i]);
    free(sc->names);
    sc->names = NULL;
}

// Generate into root (atomically: a temp folder renamed into place) unless it exists.
int synth_dataset_ensure(const DatasetConfig *d, const char *root) {
    if (ds_is_dir(root)) return 0;
    SynthConfig sc;
    if (synth_options(&sc, d)) {
        synth_free_names(&sc);
        return -1;
    }
    char *parent = ad_strdup(root);
    char *slash = strrchr(parent, '/');
    if (slash) {
        *slash = 0;
        if (*parent && fs_mkdirs(parent)) {
            free(parent);
            synth_free_names(&sc);
            return -1;
        }
    }
    free(parent);
    // A fresh folder that this process created (mkdtemp): the only thing ever removed here,
    // without a shell (the root is user text).
    char *tmp = fs_mkdtemp(root);
    if (!tmp) {
        synth_free_names(&sc);
        return -1;
    }
    int rc = synth_write(&sc, tmp);
    synth_free_names(&sc);
    if (!rc && rename(tmp, root)) {
        if (!ds_is_dir(root)) rc = ad_error("%s: cannot move the generated dataset into place (%s)", root, strerror(errno));
    }
    if (ds_is_dir(tmp)) {
        char keep[4096];
        snprintf(keep, sizeof keep, "%s", ad_last_error());
        fs_rm_tree(tmp);
        ad_error("%s", keep);
    }
    free(tmp);
    return rc;
}

