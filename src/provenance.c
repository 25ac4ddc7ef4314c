// Provenance of a run: commit, version, CPU, BLAS, threads.
#include "provenance.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#include "blasguard.h"
#include "cli.h"
#include "err.h"

char *openblas_get_config(void);  // OpenBLAS extension (cblas.h), declared here to avoid the header

static void chomp(char *s) {
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ')) s[--n] = 0;
}

// Runs argv (no shell: the folder is user text) with stdin/stderr on /dev/null; the first line
// of its stdout into out ("" on failure). Returns the exit status, or -1.
static int run_first_line(char *const argv[], char *out, size_t n) {
    out[0] = 0;
    int fd[2];
    if (pipe(fd)) return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fd[1], 1);
    posix_spawn_file_actions_addclose(&fa, fd[0]);
    posix_spawn_file_actions_addclose(&fa, fd[1]);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fd[1]);
    if (rc) {
        close(fd[0]);
        return -1;
    }
    FILE *f = fdopen(fd[0], "r");
    if (f) {
        if (!fgets(out, (int)n, f)) out[0] = 0;
        char sink[256];
        while (fgets(sink, sizeof sink, f)) {}
        fclose(f);
    } else {
        close(fd[0]);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return -1;
    chomp(out);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
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
    char *dirs[2] = {exe, "."};
    for (int i = 0; i < 2; i++) {
        if (!*dirs[i]) continue;
        char *rev[] = {"git", "-C", dirs[i], "rev-parse", "HEAD", NULL};
        if (run_first_line(rev, out, n) != 0) out[0] = 0;
        if (strlen(out) == 40) {
            char dirty[8];
            char *diff[] = {"git", "-C", dirs[i], "diff", "--quiet", "HEAD", "--", NULL};
            if (run_first_line(diff, dirty, sizeof dirty) != 0) strncat(out, "-dirty", n - strlen(out) - 1);
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
