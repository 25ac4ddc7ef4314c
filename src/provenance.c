// Provenance of a run: commit, version, CPU, BLAS, threads.
#include "provenance.h"

#include <limits.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blasguard.h"
#include "cli.h"
#include "err.h"

char *openblas_get_config(void);  // OpenBLAS extension (cblas.h), declared here to avoid the header

static void chomp(char *s) {
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ')) s[--n] = 0;
}

// First line of a shell command's stdout, or "" on failure.
static void first_line(const char *cmd, char *out, size_t n) {
    out[0] = 0;
    FILE *f = popen(cmd, "r");
    if (!f) return;
    if (!fgets(out, (int)n, f)) out[0] = 0;
    if (pclose(f) != 0) out[0] = 0;
    chomp(out);
}

static void git_commit(char *out, size_t n) {
    // The executable lives in <repo>/build*/adbench: ask git there first, then in the cwd.
    char exe[PATH_MAX] = "";
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) *slash = 0;
    }
    const char *dirs[2] = {exe, "."};
    for (int i = 0; i < 2; i++) {
        if (!*dirs[i]) continue;
        char *cmd = ad_sprintf("git -C '%s' rev-parse HEAD 2>/dev/null", dirs[i]);
        first_line(cmd, out, n);
        free(cmd);
        if (strlen(out) == 40) {
            char dirty[8];
            cmd = ad_sprintf("git -C '%s' diff --quiet HEAD -- 2>/dev/null || echo dirty", dirs[i]);
            first_line(cmd, dirty, sizeof dirty);
            free(cmd);
            if (!strcmp(dirty, "dirty")) strncat(out, "-dirty", n - strlen(out) - 1);
            return;
        }
    }
    snprintf(out, n, "unknown");
}

static void cpu_model(char *out, size_t n) {
    snprintf(out, n, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "model name", 10)) {
            char *c = strchr(line, ':');
            if (c) {
                c++;
                while (*c == ' ' || *c == '\t') c++;
                chomp(c);
                snprintf(out, n, "%s", c);
            }
            break;
        }
    }
    fclose(f);
}

void provenance_collect(Provenance *p) {
    memset(p, 0, sizeof *p);
    git_commit(p->git_commit, sizeof p->git_commit);
    snprintf(p->version, sizeof p->version, "%s", ADBENCH_VERSION);
    cpu_model(p->cpu_model, sizeof p->cpu_model);
    const char *bc = openblas_get_config();
    snprintf(p->blas_config, sizeof p->blas_config, "%s", bc ? bc : "unknown");
    chomp(p->blas_config);
    // The kernel actually used and why (the guard's choice), when the guard ran in this process.
    const char *g = blas_guard_summary();
    if (g) {
        size_t n = strlen(p->blas_config);
        snprintf(p->blas_config + n, sizeof p->blas_config - n, "; core %s", g);
    }
    p->threads = omp_get_max_threads();
}
