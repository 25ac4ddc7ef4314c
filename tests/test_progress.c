// Progress without a terminal: stderr redirected to a file (so isatty(2) is false, as under
// Slurm or nohup) must get periodic "done/total ... ETA" lines while a stage runs, even when
// the stage reports no steps, and a final line when it ends.
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "progress.h"
#include "util_test.h"

static void sleep_s(double s) {
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

static int count(const char *hay, const char *needle) {
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}


Test(progress, interval_env_override) {
    unsetenv("ADBENCH_PROGRESS_INTERVAL_S");
    cr_assert_float_eq(progress_interval_s(), 30.0, 1e-12);
    setenv("ADBENCH_PROGRESS_INTERVAL_S", "0.25", 1);
    cr_assert_float_eq(progress_interval_s(), 0.25, 1e-12);
    setenv("ADBENCH_PROGRESS_INTERVAL_S", "abc", 1);
    cr_assert_float_eq(progress_interval_s(), 30.0, 1e-12, "junk falls back to 30 s");
    setenv("ADBENCH_PROGRESS_INTERVAL_S", "-1", 1);
    cr_assert_float_eq(progress_interval_s(), 30.0, 1e-12);
    unsetenv("ADBENCH_PROGRESS_INTERVAL_S");
    char b[32];
    progress_fmt_eta(b, sizeof b, 75);
    cr_assert_str_eq(b, "1:15");
    progress_fmt_eta(b, sizeof b, 3725);
    cr_assert_str_eq(b, "1:02:05");
    progress_fmt_eta(b, sizeof b, -1);
    cr_assert_str_eq(b, "--:--");
}

Test(progress, periodic_lines_without_a_terminal) {
    char *dir = make_tmpdir("progress");
    char *log = ad_sprintf("%s/stderr.txt", dir);
    setenv("ADBENCH_PROGRESS_INTERVAL_S", "0.2", 1);
    int saved = redirect_stderr(log);
    Progress p;
    progress_begin(&p, "extract demo", 10, 0);
    int mode = p.mode;
    for (int i = 1; i <= 5; i++) {
        sleep_s(0.1);
        progress_step(&p, i);
    }
    sleep_s(1.0);  // no steps at all: the heartbeat must still print
    for (int i = 6; i <= 10; i++) progress_step(&p, i);
    progress_end(&p);
    sleep_s(0.6);  // after the end: nothing more for this stage
    // A stage abandoned without progress_end (error path) stops after progress_idle().
    Progress q;
    progress_begin(&q, "abandoned", 4, 0);
    progress_idle();
    sleep_s(0.6);
    restore_stderr(saved);
    unsetenv("ADBENCH_PROGRESS_INTERVAL_S");
    char *txt = slurp(log, NULL);
    cr_assert(txt);
    cr_assert_eq(mode, 1, "stderr is a file: line mode");
    int periodic = count(txt, "extract demo");
    cr_assert(periodic >= 5, "expected >= 4 periodic lines + the final one:\n%s", txt);
    cr_assert(strstr(txt, "5/10 (50%)"), "a periodic line while no step came must show done/total:\n%s", txt);
    cr_assert(strstr(txt, "ETA "), "%s", txt);
    cr_assert(strstr(txt, " 10 in "), "final line:\n%s", txt);
    const char *fin = strstr(txt, "10 in ");
    cr_assert(!strstr(fin, "extract demo"), "no line after the stage ended:\n%s", txt);
    cr_assert(!strstr(txt, "abandoned"), "an idle stage prints nothing:\n%s", txt);
    cr_assert(!strchr(txt, '\r'), "no carriage returns without a terminal");
    free(txt);
    rm_rf(dir);
    free(dir), free(log);
}

Test(progress, quiet_prints_nothing) {
    char *dir = make_tmpdir("progress");
    char *log = ad_sprintf("%s/stderr.txt", dir);
    setenv("ADBENCH_PROGRESS_INTERVAL_S", "0.1", 1);
    int saved = redirect_stderr(log);
    Progress p;
    progress_begin(&p, "quiet stage", 3, 1);
    sleep_s(0.4);
    progress_step(&p, 3);
    progress_end(&p);
    restore_stderr(saved);
    unsetenv("ADBENCH_PROGRESS_INTERVAL_S");
    size_t n = 0;
    char *txt = slurp(log, &n);
    cr_assert_eq(n, 0, "%s", txt);
    free(txt);
    rm_rf(dir);
    free(dir), free(log);
}
