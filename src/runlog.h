// OUTDIR/run.log: what a run prints on the console (stage and progress lines, warnings, the
// final error), appended with a UTC timestamp per line and one header line per invocation
// (date, adbench commit, argv). Terminal control (\r redraws of live bars, ANSI escapes) is
// not copied: a bar redrawn in place leaves only its last state, and the stage's end line.
//
// Console code prints to runlog_stream() instead of stderr: it is stderr itself while no log
// is open, else a stream that writes to stderr and to the log.
#pragma once
#include <stdio.h>

// The command line of this process, for the header (cmd_run sets it; tests need not).
void runlog_set_argv(int argc, char *const *argv);
// Opens (appends to) DIR/run.log and writes the header. 0, or -1 + ad_error naming the file.
int runlog_open(const char *dir, const char *commit, const char *version);
// Appends "adbench: error: MSG" to the log only (the CLI prints it on stderr itself).
void runlog_error(const char *msg);
void runlog_close(void);  // idempotent
FILE *runlog_stream(void);
void runlog_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
