#include "err.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static _Thread_local char g_msg[4096];

int ad_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_msg, sizeof g_msg, fmt, ap);
    va_end(ap);
    return -1;
}

int ad_error_prefix(const char *fmt, ...) {
    char pre[1024], old[sizeof g_msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    memcpy(old, g_msg, sizeof old);
    snprintf(g_msg, sizeof g_msg, "%.1000s: %.3000s", pre, old);
    return -1;
}

const char *ad_last_error(void) { return g_msg[0] ? g_msg : "unknown error"; }
void ad_clear_error(void) { g_msg[0] = 0; }

void ad_die_user(void) {
    fflush(stdout);
    fprintf(stderr, "adbench: error: %s\n", ad_last_error());
    exit(1);
}

void ad_internal(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "adbench: internal error at %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nThis is a bug in adbench; please report it with the command line.\n");
    // _exit, not exit: this may run on an OpenMP worker thread, and exit() would run library
    // destructors (OpenBLAS, libstdc++) under the threads still working, then crash.
    fflush(stderr);
    _exit(2);
}

void *ad_malloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) AD_INTERNAL("out of memory allocating %zu bytes", n);
    return p;
}
void *ad_calloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) AD_INTERNAL("out of memory allocating %zu x %zu bytes", n, size);
    return p;
}
void *ad_realloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) AD_INTERNAL("out of memory reallocating %zu bytes", n);
    return q;
}
char *ad_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    return memcpy(ad_malloc(n), s, n);
}
char *ad_sprintf(const char *fmt, ...) {
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = ad_malloc((size_t)n + 1);
    vsnprintf(s, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return s;
}
