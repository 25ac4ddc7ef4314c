// Suite "features": `adbench features` per docs/DESIGN.md — DIR/blockK.npy float32 (T, width),
// all tokens in model order, --norm, the MuSc "auto" activation rule, --image through the
// reference preprocessing, and one error test per bad input (exit code 1, message names it).
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "npy.h"
#include "util_test.h"
#include "vit_test.h"

#define G "tests/golden/vit/"

static void expect_block(const char *dir, int k, const char *golden, int64_t T) {
    char *p = ad_sprintf("%s/block%d.npy", dir, k);
    NpyArray a;
    cr_assert_eq(npy_read(p, &a), 0, "%s", ad_last_error());
    cr_expect_eq(a.dtype, NPY_F32);
    cr_assert_eq(a.ndim, 2);
    cr_expect_eq(a.shape[0], T, "%s: %lld tokens, expected %lld", p, (long long)a.shape[0], (long long)T);
    cr_expect_eq(a.shape[1], 128);
    int64_t n;
    float *ref = vit_test_load(golden, &n);
    cr_assert_eq((int64_t)a.count, n);
    vit_test_check(a.data, ref, n, golden);
    free(ref);
    npy_free(&a);
    free(p);
}

Test(features, clip_tensor_input_all_tokens) {
    char *dir = make_tmpdir("feat"), *w = vit_test_model(dir, "clip_openai", "f32");
    char *out = ad_sprintf("%s/out", dir), *err = NULL, *so = NULL;
    // grid 6x7 differs from the pretraining 4x4: --act defaults to exact GELU (MuSc's rule)
    char *args = ad_sprintf("features --weights %s --tensor " G "input_up.npy --layers 1,3 --out %s", w, out);
    cr_assert_eq(run_adbench(args, &so, &err), 0, "%s", err);
    cr_expect(strstr(so, "CLIP") && strstr(so, "act gelu"), "%s", so);
    expect_block(out, 1, "clip_openai_up_gelu_b1", 43);
    expect_block(out, 3, "clip_openai_up_gelu_b3", 43);
    free(args), free(so), free(err);
    args = ad_sprintf("features --weights %s --tensor " G "input_up.npy --layers 2 --norm --act gelu --out %s", w, out);
    cr_assert_eq(run_adbench(args, NULL, &err), 0, "%s", err);
    expect_block(out, 2, "clip_openai_up_gelu_b2n", 43);
    free(args), free(err);
    // at the pretraining size the default is QuickGELU
    args = ad_sprintf("features --weights %s --tensor " G "input_native.npy --layers 3 --out %s", w, out);
    cr_assert_eq(run_adbench(args, NULL, &err), 0, "%s", err);
    expect_block(out, 3, "clip_openai_native_quick_b3", 17);
    free(args), free(err), free(out), free(w);
    rm_rf(dir);
    free(dir);
}

Test(features, dinov2_registers_in_model_order) {
    char *dir = make_tmpdir("feat"), *w = vit_test_model(dir, "dino_reg4", "f32");
    char *out = ad_sprintf("%s/o", dir), *err = NULL;
    char *args = ad_sprintf("features --weights %s --tensor " G "input_down.npy --layers 3,1 --out %s", w, out);
    cr_assert_eq(run_adbench(args, NULL, &err), 0, "%s", err);
    expect_block(out, 3, "dino_reg4_down_b3", 1 + 4 + 15);
    expect_block(out, 1, "dino_reg4_down_b1", 1 + 4 + 15);
    free(args), free(err), free(out), free(w);
    rm_rf(dir);
    free(dir);
}

Test(features, image_input_real_screw) {
    char *dir = make_tmpdir("feat"), *w = vit_test_model(dir, "hfdino", "f32");
    char *out = ad_sprintf("%s/o", dir), *err = NULL, *so = NULL;
    char *args = ad_sprintf("features --weights %s --image %s/mvtec_ad/screw/train/good/000.png --size 35 --layers 2 --out %s", w,
                            shared_data(), out);
    cr_assert_eq(run_adbench(args, &so, &err), 0, "%s", err);
    cr_expect(strstr(so, "input 35x35 -> 26 tokens"), "%s", so);
    char *p = ad_sprintf("%s/block2.npy", out);
    NpyArray a;
    cr_assert_eq(npy_read(p, &a), 0, "%s", ad_last_error());
    cr_expect_eq(a.shape[0], 26);
    for (size_t i = 0; i < a.count; i++) cr_assert(isfinite(((float *)a.data)[i]));
    npy_free(&a);
    free(args), free(so), free(err);
    // AnomalyDINO pipeline: shorter side to 40, cropped to a multiple of the patch (7): 35x35
    args = ad_sprintf("features --weights %s --image %s/mvtec_ad/screw/train/good/000.png --size 40 --preprocess anomalydino --layers 2 --out %s",
                      w, shared_data(), out);
    cr_assert_eq(run_adbench(args, &so, &err), 0, "%s", err);
    cr_expect(strstr(so, "input 35x35 -> 26 tokens"), "%s", so);
    free(args), free(so), free(err), free(p), free(out), free(w);
    rm_rf(dir);
    free(dir);
}

static void expect_fail(const char *args, const char *f1, const char *f2) {
    char *err = NULL;
    int rc = run_adbench(args, NULL, &err);
    cr_expect_eq(rc, 1, "exit code %d for: %s\n%s", rc, args, err);
    cr_expect(strstr(err, "adbench: error:"), "%s", err);
    cr_expect(!f1 || strstr(err, f1), "message lacks '%s': %s", f1, err);
    cr_expect(!f2 || strstr(err, f2), "message lacks '%s': %s", f2, err);
    free(err);
}

Test(features, errors) {
    char *dir = make_tmpdir("feat"), *w = vit_test_model(dir, "dino", "f32"), *a;
    expect_fail("features --tensor x.npy --layers 1 --out /tmp/x", "missing --weights", NULL);
    a = ad_sprintf("features --weights %s --tensor " G "input_up.npy --layers 4 --out %s/o", w, dir);
    expect_fail(a, "layer 4 does not exist", "1..3");
    free(a);
    a = ad_sprintf("features --weights %s --tensor " G "input_up.npy --layers 1,x --out %s/o", w, dir);
    expect_fail(a, "--layers", "1,x");
    free(a);
    a = ad_sprintf("features --weights %s --tensor " G "dino_up_b1.npy --layers 1 --out %s/o", w, dir);
    expect_fail(a, "dino_up_b1.npy", "(3, H, W)");
    free(a);
    a = ad_sprintf("features --weights %s --tensor " G "input_up.npy --image y.png --layers 1 --out %s/o", w, dir);
    expect_fail(a, "exactly one of --image", "both");
    free(a);
    a = ad_sprintf("features --weights %s --tensor " G "input_up.npy --layers 1 --act relu --out %s/o", w, dir);
    expect_fail(a, "--act", "relu");
    free(a);
    a = ad_sprintf("features --weights %s/none.safetensors --tensor " G "input_up.npy --layers 1 --out %s/o", dir, dir);
    expect_fail(a, "none.safetensors", "cannot open");
    free(a);
    a = ad_sprintf("features --weights %s --image %s/missing.png --layers 1 --out %s/o", w, dir, dir);
    expect_fail(a, "missing.png", NULL);
    free(a);
    a = ad_sprintf("features --weights %s --tensor " G "input_up.npy --layers 1 --bogus --out %s/o", w, dir);
    expect_fail(a, "unknown option '--bogus'", NULL);
    free(a);
    free(w);
    rm_rf(dir);
    free(dir);
}
