#include "opts.h"

#include <stdio.h>
#include <string.h>

#include "err.h"

int opts_parse(const char *cmd, int argc, char **argv, int first, const Opt *opts, int n_opts,
               const char **pos, int max_pos) {
    int np = 0;
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] == '-' && a[1] == '-' && a[2]) {
            const Opt *o = NULL;
            for (int k = 0; k < n_opts; k++)
                if (!strcmp(opts[k].name, a + 2)) o = &opts[k];
            if (!o) {
                char list[1024] = "";
                for (int k = 0; k < n_opts; k++)
                    snprintf(list + strlen(list), sizeof list - strlen(list), "%s--%s", k ? ", " : "", opts[k].name);
                return ad_error("adbench %s: unknown option '%s'; valid options: %s", cmd, a, list);
            }
            if (o->has_value) {
                if (i + 1 >= argc) return ad_error("adbench %s: option '%s' needs a value", cmd, a);
                *o->value = argv[++i];
            } else {
                *o->value = "1";
            }
        } else {
            if (np == max_pos) return ad_error("adbench %s: unexpected argument '%s'", cmd, a);
            pos[np++] = a;
        }
    }
    return np;
}

void opts_usage(const char *cmd, const char *synopsis, const Opt *opts, int n_opts) {
    fprintf(stderr, "usage: adbench %s %s\n", cmd, synopsis);
    for (int k = 0; k < n_opts; k++)
        fprintf(stderr, "  --%-18s %s\n", opts[k].name, opts[k].help ? opts[k].help : "");
}
