#include "util_test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "err.h"
#include "npy.h"
#include "synth.h"

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

NpyArray golden_npy(const char *dir, const char *name, size_t *n) {
    NpyArray a;
    size_t l = strlen(dir);
    char *p = ad_sprintf("%s%s%s.npy", dir, l && dir[l - 1] == '/' ? "" : "/", name);
    cr_assert_eq(npy_read(p, &a), 0, "%s", ad_last_error());
    free(p);
    if (n) *n = a.count;
    return a;
}

float *golden_f32(const char *dir, const char *name, size_t *n) {
    NpyArray a = golden_npy(dir, name, n);
    float *v = npy_as_f32(&a);
    npy_free(&a);
    return v;
}

double *golden_f64(const char *dir, const char *name, size_t *n) {
    NpyArray a = golden_npy(dir, name, n);
    double *v = npy_as_f64(&a);
    npy_free(&a);
    return v;
}

char *synth_fixture(const char *dir) {
    char *root = ad_sprintf("%s/data", dir);
    SynthConfig sc;
    synth_config_default(&sc);
    sc.size = 32;
    sc.n_categories = 3;
    sc.n_train = 4;
    sc.n_good = 6;
    sc.n_unique = 3;
    sc.align = 4;
    cr_assert_eq(synth_set_consistent(&sc, 1, 3), 0, "%s", ad_last_error());
    cr_assert_eq(synth_write(&sc, root), 0, "%s", ad_last_error());
    return root;
}

int redirect_stderr(const char *path) {
    fflush(stderr);
    int saved = dup(2);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    cr_assert(fd >= 0, "cannot open %s", path);
    dup2(fd, 2);
    close(fd);
    return saved;
}

void restore_stderr(int saved) {
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
}

char *sha256sum_of(const char *path) {
    char *cmd = ad_sprintf("sha256sum '%s'", path), *out = NULL;
    int rc = run_capture(cmd, &out, NULL);
    free(cmd);
    cr_assert_eq(rc, 0, "sha256sum %s failed", path);
    cr_assert(out && strlen(out) >= 64, "sha256sum %s: no digest", path);
    out[64] = 0;
    return out;
}

void nearest_patch_scores(const FeatureBatch *t, const FeatureBatch *r, MethodOutput *out) {
    int P = t->gh * t->gw, D = t->dim;
    out->maps = calloc((size_t)t->n * P, sizeof(float));
    out->image_score = calloc((size_t)t->n, sizeof(float));
    for (int i = 0; i < t->n; i++)
        for (int q = 0; q < P; q++) {
            double best = INFINITY;
            for (int j = 0; j < r->n; j++) {
                double d2 = 0;
                for (int c = 0; c < D; c++) {
                    double e = t->feat[i][q * D + c] - r->feat[j][q * D + c];
                    d2 += e * e;
                }
                best = d2 < best ? d2 : best;
            }
            out->maps[(size_t)i * P + q] = (float)best;
            if (best > out->image_score[i]) out->image_score[i] = (float)best;
        }
}
