// Tiny long-option parser shared by the sub-commands: "--key value" and "--flag".
// Unknown options are user errors naming the option and listing the valid ones.
#pragma once

typedef struct {
    const char *name;   // without the leading "--"
    int has_value;      // 1: takes a value; 0: a flag
    const char **value; // where the value (or "1" for flags) goes; may repeat (last wins)
    const char *help;
} Opt;

// Parses argv[first..argc). Positional arguments are collected into pos (up to max_pos).
// Returns the number of positionals, or -1 with ad_error set.
int opts_parse(const char *cmd, int argc, char **argv, int first, const Opt *opts, int n_opts,
               const char **pos, int max_pos);
void opts_usage(const char *cmd, const char *synopsis, const Opt *opts, int n_opts);
