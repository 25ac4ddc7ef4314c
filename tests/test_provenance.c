// Self-describing output folders (issue 11 item 4): OUTDIR/run.log (the console, timestamped,
// one header per invocation, no terminal control) and OUTDIR/config.resolved.yaml (every
// default filled in, auto values noted, accepted again with the same job identities).
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "runlog.h"
#include "util_test.h"

static int count(const char *s, const char *needle) {
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p++) n++;
    return n;
}

// Live bars redraw with \r and clear with ESC [K: the log keeps only finished lines.
Test(runlog, tee_strips_redraws_and_escapes) {
    char *dir = make_tmpdir("runlog");
    cr_assert_eq(runlog_open(dir, "abc123", "9.9"), 0, "%s", ad_last_error());
    FILE *f = runlog_stream();
    fprintf(f, "stage one: 3 images\n");
    fprintf(f, "\r  extract x [####....] 1/2  ETA 0:01 ");
    fprintf(f, "\r  extract x [########] 2/2  ETA 0:00 ");
    fprintf(f, "\r\033[K  extract x                  2 in 1.00 s (2.00/s)\n");
    fprintf(f, "\033[1mbold\033[0m warning\n");
    runlog_error("it broke");
    runlog_close();
    fprintf(runlog_stream(), "after close: console only\n");
    char *path = ad_sprintf("%s/run.log", dir), *log = slurp(path, NULL);
    cr_assert(log);
    cr_expect(!strchr(log, '\r') && !strchr(log, '\033'), "terminal control in run.log:\n%s", log);
    cr_expect(strstr(log, "=== ") && strstr(log, "(commit abc123)"), "no header:\n%s", log);
    cr_expect(strstr(log, "Z stage one: 3 images\n"), "no timestamped line:\n%s", log);
    cr_expect(strstr(log, "Z   extract x                  2 in 1.00 s (2.00/s)\n"), "%s", log);
    cr_expect(!strstr(log, "[####"), "a redrawn bar state was logged:\n%s", log);
    cr_expect(strstr(log, "Z bold warning\n"), "%s", log);
    cr_expect(strstr(log, "Z adbench: error: it broke\n"), "%s", log);
    cr_expect(!strstr(log, "after close"), "%s", log);
    // a second invocation appends under its own header
    cr_assert_eq(runlog_open(dir, "def456", "9.9"), 0);
    fprintf(runlog_stream(), "second\n");
    runlog_close();
    free(log);
    log = slurp(path, NULL);
    cr_expect_eq(count(log, "=== "), 2, "%s", log);
    cr_expect(strstr(log, "stage one") && strstr(log, "(commit def456)") && strstr(log, "Z second\n"), "%s", log);
    rm_rf(dir);
    free(dir), free(path), free(log);
}

// The real CLI on the demo config: the stage lines, warnings and the final error land in
// run.log; a rerun appends.
Test(runlog, run_writes_the_console_to_run_log) {
    char *dir = make_tmpdir("runlog-cli");
    char *cmd = ad_sprintf("run configs/demo.yaml --out %s/out --set cache_dir=%s/cache", dir, dir), *err = NULL;
    cr_assert_eq(run_adbench(cmd, NULL, &err), 0, "%s", err);
    char *path = ad_sprintf("%s/out/run.log", dir), *log = slurp(path, NULL);
    cr_assert(log, "no run.log");
    cr_expect(!strchr(log, '\r') && !strchr(log, '\033'), "terminal control in run.log");
    cr_expect(strstr(log, "=== ") && strstr(log, "run configs/demo.yaml --out"), "no header with argv:\n%s", log);
    const char *want[] = {"adbench run configs/demo.yaml: 1 unit", "  extract synth/woven ", "job 1/3: synth/woven musc",
                          "  score musc ", "  metrics ", "results: "};
    for (size_t k = 0; k < sizeof want / sizeof *want; k++) {
        cr_expect(strstr(log, want[k]), "run.log lacks '%s':\n%s", want[k], log);
        cr_expect(strstr(err, want[k]), "stderr lacks '%s'", want[k]);
    }
    // every console line of the run is in the log (the BLAS line comes before the folder is known)
    for (char *line = strtok(err, "\n"); line; line = strtok(NULL, "\n"))
        if (strncmp(line, "adbench: blas", 13)) cr_expect(strstr(log, line), "'%s' is not in run.log", line);
    free(err), free(log);
    // a failing rerun: header, then the error
    free(cmd);
    cmd = ad_sprintf("run configs/demo.yaml --out %s/out --set 'datasets=[{name: mvtec, root: %s/none}]'", dir, dir);
    cr_assert_eq(run_adbench(cmd, NULL, &err), 1);
    log = slurp(path, NULL);
    cr_expect_eq(count(log, "=== "), 2, "%s", log);
    cr_expect(strstr(log, "adbench: error: configs/demo.yaml:") && strstr(log, "is not a folder"), "%s", log);
    rm_rf(dir);
    free(dir), free(cmd), free(err), free(path), free(log);
}
