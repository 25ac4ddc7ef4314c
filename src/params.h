// Method and backbone parameters: each component declares a table of ParamSpec; the config
// layer validates keys (unknown key -> nearest valid key suggested), types and ranges against
// it, and the component reads values with the typed getters. Values are kept as strings.
#pragma once

typedef enum { PT_INT, PT_DOUBLE, PT_BOOL, PT_STRING, PT_INT_LIST, PT_DOUBLE_LIST } ParamType;

typedef struct {
    const char *key;
    ParamType type;
    const char *def;   // default, in YAML scalar syntax ("0.3", "[1,3,5]", "true", "image")
    double min, max;   // range for numbers (and list elements); ignored when min > max
    const char *doc;   // one line; "reconstruction default" where that applies
} ParamSpec;

#define PARAM_END {0, 0, 0, 0, 0, 0}

typedef struct {
    const ParamSpec *spec;  // terminated by PARAM_END
    int n;
    char **keys, **values;  // explicit settings; anything missing takes spec->def
} Params;

// Set key=value (validated against spec). Returns 0, or -1 with ad_error naming the key
// and, for unknown keys, the nearest valid key.
int params_set(Params *p, const char *key, const char *value);
int params_validate_value(const ParamSpec *s, const char *value);  // 0 or -1 + ad_error
const ParamSpec *params_find(const ParamSpec *spec, const char *key);
const char *params_nearest_key(const ParamSpec *spec, const char *key);
void params_free(Params *p);

double params_double(const Params *p, const char *key);
int params_int(const Params *p, const char *key);
int params_bool(const Params *p, const char *key);
const char *params_str(const Params *p, const char *key);
int params_int_list(const Params *p, const char *key, int *out, int max);        // returns count
int params_double_list(const Params *p, const char *key, double *out, int max);  // returns count
