// Errors, the adbench way.
//
// User errors (bad files, bad configs, bad options) are *returned*: a function sets one
// message with ad_error() and returns -1 (or NULL); the CLI prints it once and exits 1.
// The message names the file, what was expected, what was found, and the fix, e.g.
//   ad_error("%s: expected a .npy file (magic \\x93NUMPY), found '%.6s'. Fix: write it with numpy.save", path, buf)
// Internal errors (out of memory, broken invariants) exit 2 at once via AD_INTERNAL.
#pragma once
#include <stddef.h>
#include <stdio.h>

// Set the thread's last error message (printf-style). Always returns -1.
int ad_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
// Prefix the current message with "context: " (for callers that add where it happened).
int ad_error_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *ad_last_error(void);
void ad_clear_error(void);

// Print "adbench: error: <msg>" to stderr and exit(1). For the CLI layer only.
void ad_die_user(void) __attribute__((noreturn));
void ad_internal(const char *file, int line, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 3, 4)));
#define AD_INTERNAL(...) ad_internal(__FILE__, __LINE__, __VA_ARGS__)
#define AD_ASSERT(c) do { if (!(c)) AD_INTERNAL("assertion failed: %s", #c); } while (0)

// Allocation that never returns NULL (exit 2 on failure).
void *ad_malloc(size_t n);
void *ad_calloc(size_t n, size_t size);
void *ad_realloc(void *p, size_t n);
char *ad_strdup(const char *s);
char *ad_sprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));  // malloc'd
