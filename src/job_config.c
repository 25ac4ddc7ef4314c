// Flattened job configuration: the canonical key=value list that names a job (its id).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "err.h"
#include "yaml_tree.h"

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
    // float16 features change results slightly: part of the identity. Only when set, so the
    // ids of float32 jobs (every job before cache_dtype existed) are unchanged.
    if (v->cache_f16) kv_add(out, "cache_dtype", ad_strdup("float16"));
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
