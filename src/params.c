#include "params.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

const ParamSpec *params_find(const ParamSpec *spec, const char *key) {
    for (const ParamSpec *s = spec; s && s->key; s++)
        if (!strcmp(s->key, key)) return s;
    return NULL;
}

static int levenshtein(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    int *row = ad_malloc((lb + 1) * sizeof *row);
    for (size_t j = 0; j <= lb; j++) row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int prev = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int cur = row[j];
            int sub = prev + (a[i - 1] != b[j - 1]);
            int best = row[j] + 1 < row[j - 1] + 1 ? row[j] + 1 : row[j - 1] + 1;
            row[j] = sub < best ? sub : best;
            prev = cur;
        }
    }
    int d = row[lb];
    free(row);
    return d;
}

const char *params_nearest_key(const ParamSpec *spec, const char *key) {
    const char *best = NULL;
    int bd = 1 << 30;
    for (const ParamSpec *s = spec; s && s->key; s++) {
        int d = levenshtein(s->key, key);
        if (d < bd) bd = d, best = s->key;
    }
    return best;
}

static int parse_number(const char *v, double *out, int want_int) {
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    while (*end == ' ') end++;
    if (errno || end == v || *end || !isfinite(d)) return -1;
    if (want_int && (d != floor(d) || d < -2147483648.0 || d > 2147483647.0)) return -1;
    *out = d;
    return 0;
}

// The one number parser, for validation and use alike: "4e1" and "0x20" were validated as 40
// and 32 by strtod but read as 4 and 0 by strtol.
static double use_number(const char *key, const char *v, int want_int) {
    double d;
    if (parse_number(v, &d, want_int)) AD_INTERNAL("parameter '%s': unvalidated value '%s'", key, v);
    return d;
}
static int use_int(const char *key, const char *v) {
    double d = use_number(key, v, 1);
    if (d < -2147483648.0 || d > 2147483647.0) AD_INTERNAL("parameter '%s': value '%s' exceeds int", key, v);
    return (int)d;
}

static int check_range(const ParamSpec *s, double d, const char *v) {
    if (s->min <= s->max && (d < s->min || d > s->max))
        return ad_error("parameter '%s': value %s is out of range; expected %g..%g", s->key, v, s->min, s->max);
    return 0;
}

// Split "[a, b, c]" (brackets optional) into elements, calling fn on each.
static int list_elements(const char *v, char items[][64], int max) {
    const char *p = v;
    while (*p == ' ') p++;
    int bracket = *p == '[';
    if (bracket) p++;
    int n = 0;
    while (*p) {
        while (*p == ' ' || *p == ',') p++;
        if (!*p || *p == ']') break;
        const char *e = p;
        while (*e && *e != ',' && *e != ']') e++;
        size_t len = (size_t)(e - p);
        while (len && p[len - 1] == ' ') len--;
        if (n == max || len >= 64) return -1;
        memcpy(items[n], p, len);
        items[n][len] = 0;
        n++;
        p = e;
    }
    return n;
}

int params_validate_value(const ParamSpec *s, const char *v) {
    double d;
    switch (s->type) {
    case PT_INT:
    case PT_DOUBLE:
        if (parse_number(v, &d, s->type == PT_INT))
            return ad_error("parameter '%s': expected %s, found '%s'", s->key,
                            s->type == PT_INT ? "an integer" : "a number", v);
        return check_range(s, d, v);
    case PT_BOOL:
        if (strcmp(v, "true") && strcmp(v, "false") && strcmp(v, "1") && strcmp(v, "0"))
            return ad_error("parameter '%s': expected true or false, found '%s'", s->key, v);
        return 0;
    case PT_STRING:
        return 0;
    case PT_INT_LIST:
    case PT_DOUBLE_LIST: {
        char items[64][64];
        int n = list_elements(v, items, 64);
        if (n <= 0) return ad_error("parameter '%s': expected a non-empty list like [1, 3, 5], found '%s'", s->key, v);
        for (int i = 0; i < n; i++) {
            if (parse_number(items[i], &d, s->type == PT_INT_LIST))
                return ad_error("parameter '%s': list element '%s' is not %s", s->key, items[i],
                                s->type == PT_INT_LIST ? "an integer" : "a number");
            if (check_range(s, d, items[i])) return -1;
        }
        return 0;
    }
    }
    return 0;
}

int params_set(Params *p, const char *key, const char *value) {
    const ParamSpec *s = params_find(p->spec, key);
    if (!s) {
        const char *near = params_nearest_key(p->spec, key);
        return ad_error("unknown parameter '%s'%s%s%s", key, near ? "; did you mean '" : "", near ? near : "",
                        near ? "'?" : "");
    }
    if (params_validate_value(s, value)) return -1;
    char canon[32];
    if (s->type == PT_INT) {  // recorded as it is used: 4e1 -> 40, 0x20 -> 32
        snprintf(canon, sizeof canon, "%d", use_int(key, value));
        value = canon;
    }
    for (int i = 0; i < p->n; i++)
        if (!strcmp(p->keys[i], key)) {
            free(p->values[i]);
            p->values[i] = ad_strdup(value);
            return 0;
        }
    p->keys = ad_realloc(p->keys, (size_t)(p->n + 1) * sizeof *p->keys);
    p->values = ad_realloc(p->values, (size_t)(p->n + 1) * sizeof *p->values);
    p->keys[p->n] = ad_strdup(key);
    p->values[p->n] = ad_strdup(value);
    p->n++;
    return 0;
}

void params_free(Params *p) {
    for (int i = 0; i < p->n; i++) free(p->keys[i]), free(p->values[i]);
    free(p->keys);
    free(p->values);
    p->n = 0;
    p->keys = p->values = NULL;
}

static const char *raw(const Params *p, const char *key, ParamType t) {
    const ParamSpec *s = params_find(p->spec, key);
    if (!s) AD_INTERNAL("parameter '%s' is read but not declared", key);
    if (s->type != t) AD_INTERNAL("parameter '%s' read with the wrong type", key);
    for (int i = 0; i < p->n; i++)
        if (!strcmp(p->keys[i], key)) return p->values[i];
    return s->def;
}

double params_double(const Params *p, const char *key) { return use_number(key, raw(p, key, PT_DOUBLE), 0); }
int params_int(const Params *p, const char *key) { return use_int(key, raw(p, key, PT_INT)); }
int params_bool(const Params *p, const char *key) {
    const char *v = raw(p, key, PT_BOOL);
    return !strcmp(v, "true") || !strcmp(v, "1");
}
const char *params_str(const Params *p, const char *key) { return raw(p, key, PT_STRING); }

int params_int_list(const Params *p, const char *key, int *out, int max) {
    char items[64][64];
    int n = list_elements(raw(p, key, PT_INT_LIST), items, 64);
    if (n > max) AD_INTERNAL("parameter '%s': list longer than %d", key, max);
    for (int i = 0; i < n; i++) out[i] = use_int(key, items[i]);
    return n;
}
int params_double_list(const Params *p, const char *key, double *out, int max) {
    char items[64][64];
    int n = list_elements(raw(p, key, PT_DOUBLE_LIST), items, 64);
    if (n > max) AD_INTERNAL("parameter '%s': list longer than %d", key, max);
    for (int i = 0; i < n; i++) out[i] = use_number(key, items[i], 0);
    return n;
}
