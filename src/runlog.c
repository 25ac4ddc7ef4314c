// run.log: a tee of the console into the output folder (runlog.h).
#include "runlog.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static int g_fd = -1;
static FILE *g_tee;          // created once, kept for the process (threads may hold it)
static char g_line[4096];    // the console line being assembled
static size_t g_n;
static int g_esc;            // 0 text, 1 after ESC, 2 inside an ESC [ ... sequence
static char *g_argv;         // "adbench run cfg.yaml --out x"

static void stamp(char *out, size_t n) {
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void write_all(int fd, const char *s, size_t n) {
    while (n) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;  // a full disk must not stop the run: the console still has it
        s += w, n -= (size_t)w;
    }
}

// One log line (at most a g_line), timestamped, in one write (shards append to the same file).
static void emit_locked(const char *s, size_t n) {
    if (g_fd < 0) return;
    char b[32 + sizeof g_line + 1];
    stamp(b, 32);
    size_t tl = strlen(b);
    b[tl] = ' ';
    memcpy(b + tl + 1, s, n);
    b[tl + 1 + n] = '\n';
    write_all(g_fd, b, tl + n + 2);
}

static void feed_locked(const char *buf, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (g_esc == 1) {
            g_esc = c == '[' ? 2 : 0;
            continue;
        }
        if (g_esc == 2) {
            if (c >= 0x40 && c <= 0x7e) g_esc = 0;  // the final byte of a CSI sequence
            continue;
        }
        if (c == 0x1b) {
            g_esc = 1;
        } else if (c == '\r') {
            g_n = 0;  // a redraw in place: only the last state counts
        } else if (c == '\n') {
            size_t e = g_n;
            while (e && g_line[e - 1] == ' ') e--;
            if (e) emit_locked(g_line, e);
            g_n = 0;
        } else if (c >= 0x20 || c == '\t') {
            if (g_n < sizeof g_line - 1) g_line[g_n++] = (char)c;
        }
    }
}

static ssize_t tee_write(void *cookie, const char *buf, size_t n) {
    (void)cookie;
    fwrite(buf, 1, n, stderr);
    fflush(stderr);
    pthread_mutex_lock(&g_mu);
    feed_locked(buf, n);
    pthread_mutex_unlock(&g_mu);
    return (ssize_t)n;
}

void runlog_set_argv(int argc, char *const *argv) {
    size_t len = 1;
    for (int i = 0; i < argc; i++) len += strlen(argv[i]) * 4 + 3;
    free(g_argv);
    g_argv = ad_malloc(len);
    char *p = g_argv;
    for (int i = 0; i < argc; i++) {
        if (i) *p++ = ' ';
        // Quoted when it would not read back as one word; control characters as \xNN.
        int plain = *argv[i] != 0;
        for (const char *s = argv[i]; *s; s++)
            if (strchr(" \t'\"\\$`|&;<>()*?[]{}#~!", *s) || (unsigned char)*s < 0x20) plain = 0;
        if (plain) {
            strcpy(p, argv[i]);
            p += strlen(p);
            continue;
        }
        *p++ = '\'';
        for (const char *s = argv[i]; *s; s++) {
            if (*s == '\'') memcpy(p, "'\\''", 4), p += 4;
            else if ((unsigned char)*s < 0x20) p += sprintf(p, "\\x%02x", (unsigned char)*s);
            else *p++ = *s;
        }
        *p++ = '\'';
    }
    *p = 0;
}

int runlog_open(const char *dir, const char *commit, const char *version) {
    runlog_close();
    char *path = ad_sprintf("%s/run.log", dir);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) {
        ad_error("%s: cannot open the run log (%s). Fix: check that the output folder is writable", path, strerror(errno));
        free(path);
        return -1;
    }
    free(path);
    pthread_mutex_lock(&g_mu);
    if (!g_tee) {
        cookie_io_functions_t io = {NULL, tee_write, NULL, NULL};
        g_tee = fopencookie(NULL, "w", io);
        if (g_tee) setvbuf(g_tee, NULL, _IONBF, 0);
    }
    g_fd = fd;
    g_n = 0, g_esc = 0;
    char ts[32];
    stamp(ts, sizeof ts);
    char *h = ad_sprintf("=== %s adbench %s (commit %s) pid %d: %s", ts, version, commit, (int)getpid(),
                         g_argv ? g_argv : "(in-process run)");
    write_all(g_fd, h, strlen(h));
    write_all(g_fd, "\n", 1);
    free(h);
    pthread_mutex_unlock(&g_mu);
    return 0;
}

void runlog_error(const char *msg) {
    pthread_mutex_lock(&g_mu);
    if (g_fd >= 0) {
        if (g_n) feed_locked("\n", 1);  // an unfinished line (a live bar) first
        char *s = ad_sprintf("adbench: error: %s\n", msg);
        feed_locked(s, strlen(s));
        free(s);
    }
    pthread_mutex_unlock(&g_mu);
}

void runlog_close(void) {
    pthread_mutex_lock(&g_mu);
    if (g_fd >= 0) {
        if (g_n) feed_locked("\n", 1);
        close(g_fd);
    }
    g_fd = -1;
    pthread_mutex_unlock(&g_mu);
}

FILE *runlog_stream(void) {
    pthread_mutex_lock(&g_mu);
    FILE *f = g_fd >= 0 && g_tee ? g_tee : stderr;
    pthread_mutex_unlock(&g_mu);
    return f;
}

void runlog_printf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfprintf(runlog_stream(), fmt, ap);
    va_end(ap);
}
