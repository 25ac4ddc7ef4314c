#include "opts.h"

#include <stdio.h>
#include <string.h>

#include "err.h"

int opts_parse(const char *cmd, int argc, char **argv, int first, const Opt *opts, int n_opts,
               const char **pos, int max_pos) {
    int np = 0;
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] == '-' && a[1]) {
            const char *eq = a[1] == '-' ? strchr(a + 2, '=') : NULL;  // --key=value
            size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
            const Opt *o = NULL;
            for (int k = 0; a[1] == '-' && k < n_opts; k++)
                if (strlen(opts[k].name) == len && !strncmp(opts[k].name, a + 2, len)) o = &opts[k];
            if (!o || (eq && !o->has_value)) {
                char list[1024] = "";
                for (int k = 0; k < n_opts; k++)
                    snprintf(list + strlen(list), sizeof list - strlen(list), "%s--%s", k ? ", " : "", opts[k].name);
                return ad_error("adbench %s: unknown option '%s'; valid options: %s", cmd, a, list);
            }
            const char *v = "1";
            if (o->has_value) {
                if (!eq && i + 1 >= argc) return ad_error("adbench %s: option '%s' needs a value", cmd, a);
                v = eq ? eq + 1 : argv[++i];
            }
            if (o->has_value == OPT_LIST) {
                int n = 0;
                while (o->value[n]) n++;
                o->value[n] = v;
            } else {
                *o->value = v;
            }
        } else {
            if (np == max_pos)
                return ad_error("adbench %s: unexpected argument '%s' (%s)", cmd, a,
                                max_pos == 0 ? "this command takes options only"
                                : max_pos == 1 ? "one positional argument; the others are --options"
                                               : "too many positional arguments");
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

int opts_wants_help(int argc, char **argv, int first) {
    for (int i = first; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return 1;
    return 0;
}
