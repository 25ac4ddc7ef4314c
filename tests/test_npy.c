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
