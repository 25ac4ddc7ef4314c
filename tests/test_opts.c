// Suite "opts": the long-option parser every sub-command uses (src/opts.h): values given as
// "--key value" and "--key=value", flags, options that repeat, positionals, and the user errors.
#include <criterion/criterion.h>
#include <string.h>

#include "err.h"
#include "opts.h"

typedef struct {
    const char *out, *quiet, *set[10];  // room for argc entries
} Parsed;

static int parse(Parsed *p, const char **pos, int max_pos, int argc, const char **argv) {
    memset(p, 0, sizeof *p);
    const Opt opts[] = {{"out", 1, &p->out, ""}, {"quiet", 0, &p->quiet, ""}, {"set", OPT_LIST, p->set, ""}};
    return opts_parse("t", argc, (char **)argv, 1, opts, 3, pos, max_pos);
}

Test(opts, values_flags_lists_and_positionals) {
    Parsed p;
    const char *pos[2] = {0};
    const char *argv[] = {"t", "a.yaml", "--out", "o1", "--set=k=v", "--quiet", "--set", "x=1", "--out=o2", "-"};
    cr_assert_eq(parse(&p, pos, 2, 10, argv), 2, "%s", ad_last_error());
    cr_expect_str_eq(pos[0], "a.yaml");
    cr_expect_str_eq(pos[1], "-");  // a lone dash is a positional (stdin by convention)
    cr_expect_str_eq(p.out, "o2", "the last value wins");
    cr_expect_str_eq(p.quiet, "1");
    cr_expect_str_eq(p.set[0], "k=v", "only the first '=' separates the key");
    cr_expect_str_eq(p.set[1], "x=1");
    cr_expect_null(p.set[2]);
}

Test(opts, user_errors_name_the_argument) {
    Parsed p;
    const char *pos[1] = {0};
    struct {
        int argc;
        const char *argv[4], *msg;
    } bad[] = {
        {2, {"t", "--bogus"}, "unknown option '--bogus'; valid options: --out, --quiet, --set"},
        {2, {"t", "-q"}, "unknown option '-q'"},
        {2, {"t", "--quiet=1"}, "unknown option '--quiet=1'"},  // a flag takes no value
        {2, {"t", "--out"}, "option '--out' needs a value"},
        {3, {"t", "a", "b"}, "unexpected argument 'b' (one positional argument"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cr_expect_eq(parse(&p, pos, 1, bad[i].argc, bad[i].argv), -1, "case %zu", i);
        cr_expect(strstr(ad_last_error(), bad[i].msg), "case %zu: %s", i, ad_last_error());
    }
    const char *help[] = {"t", "x", "-h"};
    cr_expect(opts_wants_help(3, (char **)help, 1));
    cr_expect(!opts_wants_help(2, (char **)help, 1));
}
