// Tiny long-option parser shared by the sub-commands: "--key value", "--key=value" and "--flag".
// Unknown options (and single-dash ones) are user errors naming the option and listing the
// valid ones.
#pragma once

typedef struct {
    const char *name;   // without the leading "--"
    int has_value;      // 1: takes a value; 0: a flag; OPT_LIST: a value that may repeat
    const char **value; // where the value (or "1" for flags) goes; may repeat (last wins). For
                        // OPT_LIST a NULL-filled array with room for argc entries: each
                        // occurrence goes to its first NULL slot
    const char *help;
} Opt;
enum { OPT_LIST = 2 };

// 1 when argv[first..argc) holds --help or -h.
int opts_wants_help(int argc, char **argv, int first);

// Parses argv[first..argc). Positional arguments are collected into pos (up to max_pos).
// Returns the number of positionals, or -1 with ad_error set.
int opts_parse(const char *cmd, int argc, char **argv, int first, const Opt *opts, int n_opts,
               const char **pos, int max_pos);
void opts_usage(const char *cmd, const char *synopsis, const Opt *opts, int n_opts);
