#include "util_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"

const char *adbench_bin(void) {
    const char *b = getenv("ADBENCH");
    return b ? b : "build/adbench";
}

const char *shared_data(void) {
    const char *d = getenv("ADBENCH_SHARED_DATA");
    return d ? d : "../shared/data";
}

char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = ad_malloc((size_t)n + 1);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = 0;
    fclose(f);
    if (len) *len = got;
    return s;
}

int write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fputs(text, f);
    return fclose(f);
}

char *make_tmpdir(const char *tag) {
    const char *t = getenv("TMPDIR");
    char *tmpl = ad_sprintf("%s/adbench-%s-XXXXXX", t ? t : "/tmp", tag);
    if (!mkdtemp(tmpl)) AD_INTERNAL("mkdtemp %s failed", tmpl);
    return tmpl;
}

void rm_rf(const char *path) {
    char *cmd = ad_sprintf("rm -rf '%s'", path);
    if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", path);
    free(cmd);
}

int run_capture(const char *cmd, char **out, char **err) {
    char *dir = make_tmpdir("run");
    char *full = ad_sprintf("( %s ) >'%s/out' 2>'%s/err'", cmd, dir, dir);
    int st = system(full);
    int rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    char *p = ad_sprintf("%s/out", dir);
    if (out) *out = slurp(p, NULL);
    free(p);
    p = ad_sprintf("%s/err", dir);
    if (err) *err = slurp(p, NULL);
    free(p);
    rm_rf(dir);
    free(dir);
    free(full);
    return rc;
}

int run_adbench(const char *args, char **out, char **err) {
    char *cmd = ad_sprintf("%s %s", adbench_bin(), args);
    int rc = run_capture(cmd, out, err);
    free(cmd);
    return rc;
}
