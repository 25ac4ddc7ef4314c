// Helpers shared by the Criterion tests: run the CLI and capture its output, temp folders,
// where the shared data lives. Tests run from the repository root (make test).
#pragma once
#include <stddef.h>

#include "method.h"  // FeatureBatch, MethodOutput (nearest_patch_scores)

// Path of build/adbench (env ADBENCH, set by make test).
const char *adbench_bin(void);
// ../shared/data (env ADBENCH_SHARED_DATA overrides).
const char *shared_data(void);
// Run `sh -c cmd`; returns the exit status and, when out/err are non-NULL, the malloc'd
// captured stdout/stderr.
int run_capture(const char *cmd, char **out, char **err);
// Run "adbench ARGS" (args is a shell fragment).
int run_adbench(const char *args, char **out, char **err);
// coreutils' sha256sum of path: 64 hex digits (malloc'd), the independent reference for src/sha256.c.
char *sha256sum_of(const char *path);
// A fresh empty folder under $TMPDIR (malloc'd path); removed by rm_rf.
char *make_tmpdir(const char *tag);
void rm_rf(const char *path);
// Read a whole file (malloc'd, NUL-terminated) or NULL.
char *slurp(const char *path, size_t *len);
int write_text(const char *path, const char *text);
#include "npy.h"
// A golden file DIR/NAME.npy as it is (free with npy_free), or as float32 / float64 (malloc'd; *n values, n may be NULL); a
// missing or unreadable file fails the test, naming it.
NpyArray golden_npy(const char *dir, const char *name, size_t *n);
float *golden_f32(const char *dir, const char *name, size_t *n);
double *golden_f64(const char *dir, const char *name, size_t *n);
// Three small synthetic categories (32 px, 4 train, 6 good + 3 consistent + 3 unique test
// images) written under DIR/data; returns that root (malloc'd).
char *synth_fixture(const char *dir);
// fd 2 redirected to the file at path (created/truncated); returns the saved fd for
// restore_stderr.
int redirect_stderr(const char *path);
void restore_stderr(int saved);
// A stand-in few-shot method's scores: each test patch's squared distance to the nearest
// reference patch at the same grid position (out->maps, calloc'd), the image score its maximum.
void nearest_patch_scores(const FeatureBatch *t, const FeatureBatch *r, MethodOutput *out);
