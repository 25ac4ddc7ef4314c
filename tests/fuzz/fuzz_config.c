// Config loader (YAML parse, schema, grids, --set) with the built-in registries. The first
// line of the input, when it starts with "--set ", is used as one override.
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "err.h"
#include "fuzz.h"

FUZZ_TARGET(config) {
    if (size > 1 << 16) return 0;
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = 0;
    const char *sets[1];
    int n_sets = 0;
    char *body = text;
    if (!strncmp(text, "--set ", 6)) {
        char *nl = strchr(text, '\n');
        if (nl) *nl = 0, body = nl + 1;
        else body = text + size;
        sets[0] = text + 6;
        n_sets = 1;
    }
    Config c;
    if (!config_load_string(&c, "fuzz.yaml", body, sets, n_sets, NULL)) config_free(&c);
    ad_clear_error();
    free(text);
    return 0;
}
