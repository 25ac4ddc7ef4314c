#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "npy.h"
#include "util_test.h"

Test(npy, roundtrip_every_dtype) {
    char *dir = make_tmpdir("npy");
    int64_t shape[3] = {2, 3, 4};
    for (int d = NPY_F32; d <= NPY_I64; d++) {
        size_t es = npy_dtype_size((NpyDtype)d);
        unsigned char *buf = malloc(24 * es);
        for (size_t i = 0; i < 24 * es; i++) buf[i] = (unsigned char)(d == NPY_BOOL ? (i & 1) : i * 7 + 1);
        char *p = ad_sprintf("%s/a%d.npy", dir, d);
        cr_assert_eq(npy_write(p, (NpyDtype)d, 3, shape, buf), 0, "%s", ad_last_error());
        NpyArray a;
        cr_assert_eq(npy_read(p, &a), 0, "%s", ad_last_error());
        cr_assert_eq(a.dtype, d);
        cr_assert_eq(a.ndim, 3);
        cr_assert_eq(a.shape[0], 2);
        cr_assert_eq(a.shape[2], 4);
        cr_assert_eq(a.count, 24);
        cr_assert(!memcmp(a.data, buf, 24 * es));
        npy_free(&a);
        free(p);
        free(buf);
    }
    // 1-D shapes use numpy's spelling "(5,)".
    float v[5] = {1, 2, 3, 4, 5};
    int64_t s1 = 5;
    char *p = ad_sprintf("%s/v.npy", dir);
    cr_assert_eq(npy_write(p, NPY_F32, 1, &s1, v), 0);
    size_t tl;
    char *txt = slurp(p, &tl);
    cr_assert(memmem(txt, tl, "'shape': (5,)", 13));
    free(txt);
    NpyArray a;
    cr_assert_eq(npy_read(p, &a), 0);
    double *d = npy_as_f64(&a);
    cr_assert_eq(d[4], 5.0);
    free(d);
    npy_free(&a);
    free(p);
    rm_rf(dir);
    free(dir);
}

// Files written by numpy itself (tests/golden/npy/, made by tests/gen/gen_npy.py).
Test(npy, reads_numpy_files) {
    NpyArray a;
    cr_assert_eq(npy_read("tests/golden/npy/f64_2x3.npy", &a), 0, "%s", ad_last_error());
    cr_assert_eq(a.dtype, NPY_F64);
    cr_assert_eq(a.ndim, 2);
    cr_assert_eq(((double *)a.data)[5], 5.5);
    npy_free(&a);
    cr_assert_eq(npy_read("tests/golden/npy/bool_4.npy", &a), 0, "%s", ad_last_error());
    cr_assert_eq(a.dtype, NPY_BOOL);
    cr_assert_eq(((unsigned char *)a.data)[1], 1);
    npy_free(&a);
    cr_assert_eq(npy_read("tests/golden/npy/v2_i64.npy", &a), 0, "%s", ad_last_error());
    cr_assert_eq(a.dtype, NPY_I64);
    cr_assert_eq(((int64_t *)a.data)[2], -3);
    npy_free(&a);
}

static void expect_error(const char *file, const char *needle) {
    NpyArray a;
    cr_assert_eq(npy_read(file, &a), -1, "%s should fail", file);
    cr_assert(strstr(ad_last_error(), needle), "message '%s' lacks '%s'", ad_last_error(), needle);
    cr_assert(strstr(ad_last_error(), file), "message '%s' does not name the file", ad_last_error());
}

Test(npy, clear_errors) {
    expect_error("tests/golden/npy/fortran.npy", "Fortran");
    expect_error("tests/golden/npy/complex.npy", "unsupported dtype");
    expect_error("tests/golden/npy/bigendian.npy", "unsupported dtype");
    expect_error("tests/golden/npy/truncated.npy", "truncated");
    expect_error("tests/golden/npy/not_npy.npy", "not a .npy file");
    expect_error("tests/golden/npy/does_not_exist.npy", "cannot open");
}

// A v1.0 .npy of 128 bytes: header dict padded to 118 bytes (+ 10 prefix).
static char *tiny_npy(const char *dir, const char *name, const char *descr, const char *shape) {
    char *path = ad_sprintf("%s/%s.npy", dir, name);
    char dict[119];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape);
    memset(dict + n, ' ', 117 - (size_t)n);
    dict[117] = '\n';
    FILE *f = fopen(path, "wb");
    fwrite("\x93NUMPY\x01\x00\x76\x00", 1, 10, f);
    fwrite(dict, 1, 118, f);
    fclose(f);
    return path;
}

// Issue 12 item 12: the data size was allocated before comparing with the file size (a 128-byte
// file claiming 6.7e12 elements: "internal error"), and (2^61,) int64 wrapped the byte count
// to 0 (accepted with no data).
Test(npy, sizes_checked_against_the_file_before_allocating) {
    char *dir = make_tmpdir("npy");
    char *a = tiny_npy(dir, "huge", "<f4", "(6700000000000,)");
    expect_error(a, "truncated .npy data: expected 26800000000000 bytes");
    char *b = tiny_npy(dir, "wrap", "<i8", "(2305843009213693952,)");
    expect_error(b, "overflows");
    char *c = tiny_npy(dir, "wrap2", "<f4", "(4611686018427387904, 4)");
    expect_error(c, "overflow");
    char *d = tiny_npy(dir, "empty", "<f4", "(0, 5)");
    NpyArray arr;
    cr_assert_eq(npy_read(d, &arr), 0, "%s", ad_last_error());
    cr_assert_eq(arr.count, 0);
    npy_free(&arr);
    rm_rf(dir);
    free(a), free(b), free(c), free(d), free(dir);
}
