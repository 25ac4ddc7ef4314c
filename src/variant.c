// Variant labels, --only, the job counter (contract in variant.h).
#include "variant.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "progress.h"

// A component starts at the label's start or after a space, with a key [A-Za-z0-9_.-]+ then '='.
static int starts_component(const char *s) {
    const char *p = s;
    while (isalnum((unsigned char)*p) || *p == '_' || *p == '.' || *p == '-') p++;
    return p > s && *p == '=';
}

static int concerns(const Variant *V, int m, const char *key, size_t klen) {
    if (klen > 8 && !strncmp(key, "methods.", 8) && isdigit((unsigned char)key[8])) return atoi(key + 8) == m;
    if (klen == 4 && !strncmp(key, "seed", 4)) {
        const MethodConfig *mc = &V->methods[m];
        return mc->m && mc->m->needs_train && mc->shots > 0;
    }
    return 1;
}

char *variant_label(const Variant *V, int m, char sep) {
    const char *g = V->grid_point ? V->grid_point : "";
    size_t n = strlen(g);
    char *out = ad_malloc(n + 1);
    size_t o = 0;
    const char *p = g;
    while (*p) {
        // This component runs to the next " key=" (values may contain spaces: "[a, b]").
        const char *e = p;
        while (*e && !(*e == ' ' && starts_component(e + 1))) e++;
        const char *eq = memchr(p, '=', (size_t)(e - p));
        size_t klen = eq ? (size_t)(eq - p) : (size_t)(e - p);
        if (concerns(V, m, p, klen)) {
            if (o) out[o++] = sep;
            memcpy(out + o, p, (size_t)(e - p));
            o += (size_t)(e - p);
        }
        p = *e ? e + 1 : e;
    }
    out[o] = 0;
    return out;
}

int only_select(const char *const *only, int n_only, int n_units, const char *const *ds, const char *const *cat,
                int *keep) {
    for (int u = 0; u < n_units; u++) keep[u] = n_only == 0;
    for (int i = 0; i < n_only; i++) {
        char *list = ad_strdup(only[i]);
        for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            while (*tok == ' ') tok++;
            size_t tl = strlen(tok);
            while (tl && tok[tl - 1] == ' ') tok[--tl] = 0;
            if (!tl) continue;
            char *slash = strchr(tok, '/');
            size_t dl = slash ? (size_t)(slash - tok) : tl;
            const char *c = slash ? slash + 1 : NULL;
            int hit = 0;
            for (int u = 0; u < n_units; u++) {
                if (strlen(ds[u]) != dl || strncmp(ds[u], tok, dl)) continue;
                if (c && *c && cat[u] && strcmp(cat[u], c)) continue;
                keep[u] = 1;
                hit = 1;
            }
            if (!hit) {
                // Valid names: dataset/category of every unit, once each.
                size_t cap = 256, len = 0;
                char *valid = ad_malloc(cap);
                valid[0] = 0;
                for (int u = 0; u < n_units; u++) {
                    char *nm = ad_sprintf("%s/%s", ds[u], cat[u] ? cat[u] : "*");
                    int seen = 0;
                    for (int q = 0; q < u && !seen; q++)
                        seen = !strcmp(ds[q], ds[u]) && ((!cat[q] && !cat[u]) || (cat[q] && cat[u] && !strcmp(cat[q], cat[u])));
                    if (!seen) {
                        size_t nl = strlen(nm);
                        while (len + nl + 3 > cap) cap *= 2, valid = ad_realloc(valid, cap);
                        len += (size_t)sprintf(valid + len, "%s%s", len ? ", " : "", nm);
                    }
                    free(nm);
                }
                ad_error("--only %s: no such dataset/category in this config; valid: %s. Fix: "
                         "use DATASET/CATEGORY from that list (repeat --only or separate with commas)",
                         tok, *valid ? valid : "(none)");
                free(valid);
                free(list);
                return -1;
            }
        }
        free(list);
    }
    return 0;
}

void job_counter_init(JobCounter *jc, int total) {
    jc->total = total;
    jc->done = 0;
    jc->t0 = 0;
}

void job_counter_next(JobCounter *jc, FILE *f, const char *what, const char *variant) {
    double t = now_s();
    if (!jc->done) jc->t0 = t;
    double el = t - jc->t0;
    char eta[32], els[32];
    progress_fmt_eta(eta, sizeof eta, jc->done > 0 ? el / jc->done * (jc->total - jc->done) : -1);
    progress_fmt_eta(els, sizeof els, el);
    jc->done++;
    if (f) {
        fprintf(f, "job %d/%d: %s%s%s%s (%d done in %s, ETA %s)\n", jc->done, jc->total, what, variant && *variant ? " [" : "",
                variant && *variant ? variant : "", variant && *variant ? "]" : "", jc->done - 1, els, eta);
        fflush(f);
    }
}
