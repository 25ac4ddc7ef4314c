// Suite "vit": the C ViT against the plain-torch references of tests/gen/gen_vit.py, for every
// naming scheme (OpenAI/OpenCLIP with and without "visual.", HF CLIPModel, official DINOv2 with
// 0/4 registers and SwiGLU, HF Dinov2 / WithRegisters / SwiGLU), both GELUs, F16 / BF16 weights,
// inputs at, below and above the pretraining grid, and the converter's output.
// Tolerance: max |c - ref| <= 1e-4 * max |ref| per tensor.
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "npy.h"
#include "image.h"
#include "preprocess.h"
#include "util_test.h"
#include "vit.h"
#include "vit_test.h"

#define G "tests/golden/vit/"

char *vit_test_model(const char *dir, const char *model, const char *blob) {
    size_t hl, bl;
    char *hp = ad_sprintf(G "%s.hdr", model), *bp = ad_sprintf(G "blob_%s.bin", blob);
    char *h = slurp(hp, &hl), *b = slurp(bp, &bl);
    cr_assert(h && b, "missing golden %s or %s (run tests/gen/gen_vit.py)", hp, bp);
    char *out = ad_sprintf("%s/%s.safetensors", dir, model);
    FILE *f = fopen(out, "wb");
    cr_assert(f);
    fwrite(h, 1, hl, f);
    fwrite(b, 1, bl, f);
    fclose(f);
    free(h), free(b), free(hp), free(bp);
    return out;
}

float *vit_test_load(const char *name, int64_t *n) {
    NpyArray a;
    char *p = ad_sprintf(G "%s.npy", name);
    cr_assert_eq(npy_read(p, &a), 0, "%s", ad_last_error());
    free(p);
    float *f = npy_as_f32(&a);
    *n = (int64_t)a.count;
    npy_free(&a);
    return f;
}

double vit_test_check(const float *got, const float *ref, int64_t n, const char *what) {
    double mx = 0, err = 0;
    for (int64_t i = 0; i < n; i++) {
        mx = fmax(mx, fabs(ref[i]));
        double e = fabs((double)got[i] - ref[i]);
        if (!(e <= err)) err = isnan(e) ? INFINITY : e;
    }
    cr_expect(err <= 1e-4 * mx, "%s: max abs error %.3g > 1e-4 * max |ref| = %.3g", what, err, 1e-4 * mx);
    if (getenv("VIT_TEST_VERBOSE")) fprintf(stderr, "%-40s max|ref| %8.3g  max err %8.3g  rel %8.2g\n", what, mx, err, err / mx);
    return err / (mx > 0 ? mx : 1);
}

static const char *blob_of(const char *model) {
    return strstr(model, "f16") && !strstr(model, "bf16") ? "f16" : strstr(model, "bf16") ? "bf16" : "f32";
}

// One golden case: blocks 1, 3 raw, block 2 normed, embedding.
static void run_case(const char *dir, const char *cse, const char *model, const char *input, int quick,
                     const char *family, int n_reg, const char *pos) {
    char *path = vit_test_model(dir, model, blob_of(model));
    ViT m;
    cr_assert_eq(vit_open(&m, path), 0, "%s", ad_last_error());
    cr_expect_str_eq(m.cfg.family == VIT_CLIP ? "clip" : "dinov2", family, "%s: family", cse);
    cr_expect_eq(m.cfg.n_reg, n_reg, "%s: registers", cse);
    cr_expect_eq(m.cfg.width, 128);
    cr_expect_eq(m.cfg.heads, 2);
    cr_expect_eq(m.cfg.layers, 3);
    cr_expect_eq(m.cfg.grid, 4);
    cr_expect_eq(m.cfg.patch, 7);
    m.cfg.act = quick ? ACT_QUICK_GELU : ACT_GELU;
    if (pos) cr_assert_eq(vit_set_pos_resize(&m, pos), 0, "%s", ad_last_error());
    NpyArray in;
    char *ip = ad_sprintf(G "input_%s.npy", input);
    cr_assert_eq(npy_read(ip, &in), 0, "%s", ad_last_error());
    int H = (int)in.shape[1], W = (int)in.shape[2], T = vit_tokens(&m, H, W), D = 128;
    float *out = malloc(sizeof(float) * 3 * T * D), *emb = malloc(sizeof(float) * vit_embed_dim(&m));
    int taps[2] = {1, 3}, tap2 = 2;
    cr_assert_eq(vit_forward(&m, out, emb, in.data, 1, H, W, taps, 2, 0), 0, "%s", ad_last_error());
    cr_assert_eq(vit_forward(&m, out + 2 * T * D, NULL, in.data, 1, H, W, &tap2, 1, 1), 0, "%s", ad_last_error());
    const char *suffix[3] = {"b1", "b3", "b2n"};
    for (int i = 0; i < 3; i++) {
        char *nm = ad_sprintf("%s_%s", cse, suffix[i]);
        int64_t n;
        float *ref = vit_test_load(nm, &n);
        cr_assert_eq(n, (int64_t)T * D, "%s: %lld values in the golden, %d tokens x %d here", nm, (long long)n, T, D);
        vit_test_check(out + (size_t)i * T * D, ref, n, nm);
        free(ref), free(nm);
    }
    char *nm = ad_sprintf("%s_embed", cse);
    int64_t n;
    float *ref = vit_test_load(nm, &n);
    cr_assert_eq(n, vit_embed_dim(&m));
    vit_test_check(emb, ref, n, nm);
    free(ref), free(nm), free(out), free(emb), free(ip), free(path);
    npy_free(&in);
    vit_close(&m);
}

#define CASE(cse, model, input, quick, family, reg)              \
    Test(vit, cse) {                                              \
        char *dir = make_tmpdir("vit");                           \
        run_case(dir, #cse, model, input, quick, family, reg, NULL); \
        rm_rf(dir);                                               \
        free(dir);                                                \
    }

CASE(clip_openai_native_quick, "clip_openai", "native", 1, "clip", 0)
CASE(clip_openai_up_gelu, "clip_openai", "up", 0, "clip", 0)
CASE(clip_openai_down_quick, "clip_openai", "down", 1, "clip", 0)
CASE(clip_openai_vision_native_gelu, "clip_openai_vision", "native", 0, "clip", 0)
CASE(clip_openai_f16_native_quick, "clip_openai_f16", "native", 1, "clip", 0)
CASE(clip_hf_up_quick, "clip_hf", "up", 1, "clip", 0)
CASE(dino_native, "dino", "native", 0, "dinov2", 0)
CASE(dino_down, "dino", "down", 0, "dinov2", 0)
CASE(dino_up, "dino", "up", 0, "dinov2", 0)
CASE(dino_reg4_up, "dino_reg4", "up", 0, "dinov2", 4)
CASE(dino_reg4_down, "dino_reg4", "down", 0, "dinov2", 4)
CASE(dino_reg4_bf16_native, "dino_reg4_bf16", "native", 0, "dinov2", 4)
CASE(dino_swiglu_up, "dino_swiglu", "up", 0, "dinov2", 0)
CASE(hfdino_up, "hfdino", "up", 0, "dinov2", 0)
CASE(hfdino_reg4_down, "hfdino_reg4", "down", 0, "dinov2", 4)
CASE(hfdino_reg4_native, "hfdino_reg4", "native", 0, "dinov2", 4)
CASE(hfdino_swiglu_native, "hfdino_swiglu", "native", 0, "dinov2", 0)

// HF-named DINOv2 weights with the official hub interpolation (driver default pos_resize=hub).
Test(vit, hfdino_up_hub) {
    char *dir = make_tmpdir("vit");
    run_case(dir, "hfdino_up_hub", "hfdino", "up", 0, "dinov2", 0, "hub");
    ViT m;
    char *p = vit_test_model(dir, "hfdino", "f32");
    cr_assert_eq(vit_open(&m, p), 0);
    cr_expect_eq(vit_set_pos_resize(&m, "bicubic"), -1);
    cr_expect(strstr(ad_last_error(), "'bicubic'") && strstr(ad_last_error(), "hub"), "%s", ad_last_error());
    vit_close(&m);
    free(p);
    rm_rf(dir);
    free(dir);
}

Test(vit, schemes_are_recognised) {
    static const struct { const char *model, *scheme; int swiglu; PosResize pos; } S[] = {
        {"clip_openai", "openai", 0, POS_SIZE}, {"clip_openai_vision", "openai", 0, POS_SIZE},
        {"clip_hf", "hf-clip", 0, POS_SIZE}, {"dino", "dinov2", 0, POS_SCALE_OFFSET},
        {"dino_reg4", "dinov2", 0, POS_SIZE_AA}, {"dino_swiglu", "dinov2", 1, POS_SCALE_OFFSET},
        {"hfdino", "hf-dinov2", 0, POS_SIZE}, {"hfdino_reg4", "hf-dinov2", 0, POS_SIZE_AA},
        {"hfdino_swiglu", "hf-dinov2", 1, POS_SIZE},
    };
    char *dir = make_tmpdir("vit");
    for (size_t i = 0; i < sizeof S / sizeof S[0]; i++) {
        char *p = vit_test_model(dir, S[i].model, "f32");
        ViT m;
        cr_assert_eq(vit_open(&m, p), 0, "%s", ad_last_error());
        cr_expect_str_eq(m.cfg.scheme, S[i].scheme, "%s", S[i].model);
        cr_expect_eq(m.cfg.swiglu, S[i].swiglu, "%s", S[i].model);
        cr_expect_eq(m.cfg.pos_resize, S[i].pos, "%s", S[i].model);
        cr_expect_eq(m.cfg.hidden, S[i].swiglu ? 32 : 64, "%s", S[i].model);
        cr_expect_eq(m.cfg.embed_dim, strstr(S[i].model, "clip") ? 48 : 0, "%s", S[i].model);
        vit_close(&m);
        free(p);
    }
    rm_rf(dir);
    free(dir);
}

// scripts/convert_weights.py output (a .pth with chunked DINOv2 names, an OpenAI TorchScript .pt).
Test(vit, converted_checkpoints) {
    NpyArray in;
    cr_assert_eq(npy_read(G "conv_input.npy", &in), 0, "%s", ad_last_error());
    int H = (int)in.shape[1], W = (int)in.shape[2];
    ViT m;
    cr_assert_eq(vit_open(&m, G "conv_dino.safetensors"), 0, "%s", ad_last_error());
    cr_expect_eq(m.cfg.layers, 2);
    cr_expect_eq(m.cfg.width, 64);
    int T = vit_tokens(&m, H, W), D = 64, t2 = 2, t1 = 1;
    float *o = malloc(sizeof(float) * T * D);
    int64_t n;
    cr_assert_eq(vit_forward(&m, o, NULL, in.data, 1, H, W, &t2, 1, 0), 0, "%s", ad_last_error());
    float *ref = vit_test_load("conv_dino_b2", &n);
    cr_assert_eq(n, (int64_t)T * D);
    vit_test_check(o, ref, n, "conv_dino_b2");
    free(ref);
    cr_assert_eq(vit_forward(&m, o, NULL, in.data, 1, H, W, &t1, 1, 1), 0);
    ref = vit_test_load("conv_dino_b1n", &n);
    vit_test_check(o, ref, n, "conv_dino_b1n");
    free(ref);
    vit_close(&m);
    cr_assert_eq(vit_open(&m, G "conv_openai.safetensors"), 0, "%s", ad_last_error());
    m.cfg.act = ACT_QUICK_GELU;
    float e[16];
    cr_assert_eq(vit_forward(&m, o, e, in.data, 1, H, W, &t1, 1, 0), 0, "%s", ad_last_error());
    ref = vit_test_load("conv_openai_b1", &n);
    cr_assert_eq(n, (int64_t)T * D);
    vit_test_check(o, ref, n, "conv_openai_b1");
    free(ref);
    ref = vit_test_load("conv_openai_embed", &n);
    cr_assert_eq(n, 16);
    vit_test_check(e, ref, n, "conv_openai_embed");
    free(ref);
    vit_close(&m);
    free(o);
    npy_free(&in);
}

// Fast kernels (sgemm, parallel heads) vs the naive references, batch of 3 images vs one at a
// time, and 1 vs 2 threads: bit-identical results are not required between fast and naive, but
// are between thread counts (fixed reduction order).
Test(vit, fast_equals_naive_batched_and_thread_independent) {
    char *dir = make_tmpdir("vit");
    char *p = vit_test_model(dir, "dino_reg4", "f32");
    ViT m;
    cr_assert_eq(vit_open(&m, p), 0, "%s", ad_last_error());
    int H = 42, W = 49, B = 3, T = vit_tokens(&m, H, W), D = 128, taps[2] = {2, 3};
    size_t img_n = (size_t)3 * H * W, tok = (size_t)T * D;
    float *img = malloc(sizeof(float) * B * img_n);
    for (size_t i = 0; i < B * img_n; i++) img[i] = (float)sin(0.37 * (double)i) * 1.5f;
    float *fast = malloc(sizeof(float) * 2 * B * tok), *one = malloc(sizeof(float) * 2 * tok);
    float *naive = malloc(sizeof(float) * 2 * tok), *t1 = malloc(sizeof(float) * 2 * B * tok);
    float ef[3 * 128], e1[3 * 128];
    cr_assert_eq(vit_forward(&m, fast, ef, img, B, H, W, taps, 2, 1), 0, "%s", ad_last_error());
    for (int b = 0; b < B; b++) {
        cr_assert_eq(vit_forward(&m, one, NULL, img + b * img_n, 1, H, W, taps, 2, 1), 0);
        for (int k = 0; k < 2; k++) {
            char what[64];
            snprintf(what, sizeof what, "batch image %d tap %d", b, taps[k]);
            vit_test_check(fast + (size_t)k * B * tok + b * tok, one + k * tok, (int64_t)tok, what);
        }
        vit_use_naive(1);
        cr_assert_eq(vit_forward(&m, naive, NULL, img + b * img_n, 1, H, W, taps, 2, 1), 0);
        vit_use_naive(0);
        for (int k = 0; k < 2; k++) vit_test_check(one + k * tok, naive + k * tok, (int64_t)tok, "fast vs naive");
    }
    int nt = omp_get_max_threads();
    omp_set_num_threads(1);
    cr_assert_eq(vit_forward(&m, t1, e1, img, B, H, W, taps, 2, 1), 0);
    omp_set_num_threads(nt);
    cr_expect(!memcmp(t1, fast, sizeof(float) * 2 * B * tok), "1 thread and %d threads differ", nt);
    cr_expect(!memcmp(e1, ef, sizeof ef), "embedding: 1 thread and %d threads differ", nt);
    vit_close(&m);
    free(img), free(fast), free(one), free(naive), free(t1), free(p);
    rm_rf(dir);
    free(dir);
}

// PyTorch antialiased bicubic: a constant field stays constant, and weights sum to one.
Test(vit, aa_bicubic_preserves_constants) {
    float in[5 * 4 * 2], out[3 * 7 * 2];
    for (int i = 0; i < 40; i++) in[i] = i % 2 ? 2.5f : -1.0f;
    interp_bicubic_aa_torch(out, 3, 7, in, 5, 4, 2);
    for (int i = 0; i < 42; i++) cr_expect_float_eq(out[i], i % 2 ? 2.5f : -1.0f, 1e-6);
}

Test(vit, bad_tap_is_a_user_error) {
    char *dir = make_tmpdir("vit");
    char *p = vit_test_model(dir, "dino", "f32");
    ViT m;
    cr_assert_eq(vit_open(&m, p), 0, "%s", ad_last_error());
    float img[3 * 28 * 28] = {0}, out[17 * 128];
    int tap = 4;
    cr_expect_eq(vit_forward(&m, out, NULL, img, 1, 28, 28, &tap, 1, 0), -1);
    cr_expect(strstr(ad_last_error(), "layer 4 does not exist") && strstr(ad_last_error(), "1..3"), "%s", ad_last_error());
    tap = 0;
    cr_expect_eq(vit_forward(&m, out, NULL, img, 1, 28, 28, &tap, 1, 0), -1);
    cr_expect_eq(vit_forward(&m, out, NULL, img, 1, 6, 28, &tap, 1, 0), -1);
    vit_close(&m);
    free(p);
    rm_rf(dir);
    free(dir);
}

// --- input pipelines vs PIL + torchvision semantics (tests/gen/gen_vit_preprocess.py) ---------
static void check_prep(const char *cse, const char *img, int crop, PrepKind kind, int clip, int size) {
    char *path = ad_sprintf("%s/mvtec_ad/screw/%s", shared_data(), img);
    ImageU8 im = {0};
    cr_assert_eq(image_read_rgb8(path, &im), 0, "%s", ad_last_error());
    if (crop) {  // rows 100..799, cols 50..999, as the generator
        ImageU8 c = {950, 700, 3, malloc((size_t)950 * 700 * 3)};
        for (int y = 0; y < 700; y++) memcpy(c.data + (size_t)y * 950 * 3, im.data + ((size_t)(y + 100) * im.w + 50) * 3, 950 * 3);
        image_u8_free(&im);
        im = c;
    }
    float *t;
    int H, W;
    vit_preprocess_u8(&t, &H, &W, &im, kind, clip, size, 14);
    NpyArray rows, cols, win;
    char *pr = ad_sprintf("tests/golden/vit_preprocess/%s_rows.npy", cse), *pc = ad_sprintf("tests/golden/vit_preprocess/%s_cols.npy", cse),
         *pw = ad_sprintf("tests/golden/vit_preprocess/%s_win.npy", cse);
    cr_assert_eq(npy_read(pr, &rows), 0, "%s", ad_last_error());
    cr_assert_eq(npy_read(pc, &cols), 0, "%s", ad_last_error());
    cr_assert_eq(npy_read(pw, &win), 0, "%s", ad_last_error());
    cr_assert_eq(rows.shape[1], H, "%s: height %d, PIL/torchvision %lld", cse, H, (long long)rows.shape[1]);
    cr_assert_eq(cols.shape[1], W, "%s: width %d, PIL/torchvision %lld", cse, W, (long long)cols.shape[1]);
    const double *rs = rows.data, *cs = cols.data;
    const float *wv = win.data;
    // one uint8 step after normalisation is (1/255)/std <= 0.0175 (std >= 0.224)
    double tol = 1.0 / 255 / 0.224, worst = 0;
    for (int c = 0; c < 3; c++) {
        for (int y = 0; y < H; y++) {
            double s = 0;
            for (int x = 0; x < W; x++) s += t[((size_t)c * H + y) * W + x];
            worst = fmax(worst, fabs(s - rs[c * H + y]) / W);
        }
        for (int x = 0; x < W; x++) {
            double s = 0;
            for (int y = 0; y < H; y++) s += t[((size_t)c * H + y) * W + x];
            worst = fmax(worst, fabs(s - cs[c * W + x]) / H);
        }
        int y0 = H / 3, x0 = W / 2 - 32;
        for (int y = 0; y < 32; y++)
            for (int x = 0; x < 32; x++)
                worst = fmax(worst, fabs(t[((size_t)c * H + y0 + y) * W + x0 + x] - wv[(c * 32 + y) * 32 + x]));
    }
    cr_expect(worst <= tol, "%s: max deviation %.3g > one uint8 step %.3g", cse, worst, tol);
    cr_expect(worst <= 1e-5, "%s: not exact: max deviation %.3g", cse, worst);
    npy_free(&rows), npy_free(&cols), npy_free(&win);
    free(pr), free(pc), free(pw), free(t), free(path);
    image_u8_free(&im);
}

Test(vit, preprocess_musc_clip) {
    check_prep("good000_musc_clip_224", "train/good/000.png", 0, PREP_MUSC, 1, 224);
    check_prep("scratch000_musc_clip_518", "test/scratch_head/000.png", 0, PREP_MUSC, 1, 518);
}
Test(vit, preprocess_musc_dino) {
    check_prep("good000_musc_dino_224", "train/good/000.png", 0, PREP_MUSC, 0, 224);
    check_prep("scratch000_crop_musc_dino_518", "test/scratch_head/000.png", 1, PREP_MUSC, 0, 518);
}
Test(vit, preprocess_anomalydino) {
    check_prep("good000_anomalydino_448", "train/good/000.png", 0, PREP_ANOMALYDINO, 0, 448);
    check_prep("scratch000_crop_anomalydino_448", "test/scratch_head/000.png", 1, PREP_ANOMALYDINO, 0, 448);
}

// --- the "vit" backbone driver ------------------------------------------------------------
#include "backbone.h"

Test(vit, driver_extract_patch_tokens_and_key) {
    char *dir = make_tmpdir("vit"), *w = vit_test_model(dir, "dino_reg4", "f32");
    const BackboneDriver *d = backbone_find("vit");
    cr_assert(d && d->open && d->extract && d->cache_key && d->close);
    Params p = {d->params, 0, NULL, NULL};
    cr_assert_eq(params_set(&p, "weights", w), 0, "%s", ad_last_error());
    cr_assert_eq(params_set(&p, "layers", "[3,1]"), 0, "%s", ad_last_error());
    cr_assert_eq(params_set(&p, "size", "42"), 0, "%s", ad_last_error());
    Backbone *b = d->open(&p);
    cr_assert(b, "%s", ad_last_error());
    const char *key = d->cache_key(b);
    cr_expect(strstr(key, "dinov2") && strstr(key, "sha256=") && strstr(key, "size=42") && strstr(key, "layers=3,1") &&
                  strstr(key, "preprocess=musc"), "%s", key);
    Features f;
    char *img = ad_sprintf("%s/mvtec_ad/screw/train/good/000.png", shared_data());
    cr_assert_eq(d->extract(b, img, &f), 0, "%s", ad_last_error());
    cr_expect_eq(f.n_layers, 2);
    cr_expect_eq(f.gh, 6);
    cr_expect_eq(f.gw, 6);
    cr_expect_eq(f.dim, 128);
    cr_expect_eq(f.embed_dim, 128);
    // the patch tokens are the CLI's block tokens without CLS and the 4 registers
    float *t;
    int H, W;
    cr_assert_eq(vit_preprocess_file(&t, &H, &W, img, PREP_MUSC, 0, 42, 7), 0);
    ViT m;
    cr_assert_eq(vit_open(&m, w), 0);
    int T = vit_tokens(&m, H, W), taps[2] = {3, 1};
    float *o = malloc(sizeof(float) * 2 * T * 128);
    cr_assert_eq(vit_forward(&m, o, NULL, t, 1, H, W, taps, 2, 1), 0);  // norm auto = true for DINOv2
    cr_expect(!memcmp(f.patch, o + 5 * 128, sizeof(float) * 36 * 128), "layer 3 patch tokens");
    cr_expect(!memcmp(f.patch + 36 * 128, o + (size_t)T * 128 + 5 * 128, sizeof(float) * 36 * 128), "layer 1 patch tokens");
    vit_close(&m);
    features_free(&f);
    d->close(b);
    // errors: a block that does not exist, a bad enum, a missing file
    cr_assert_eq(params_set(&p, "layers", "[4]"), 0);
    cr_expect_null(d->open(&p));
    cr_expect(strstr(ad_last_error(), "block 4 does not exist"), "%s", ad_last_error());
    cr_assert_eq(params_set(&p, "layers", "[1]"), 0);
    cr_assert_eq(params_set(&p, "act", "relu"), 0);
    cr_expect_null(d->open(&p));
    cr_expect(strstr(ad_last_error(), "relu"), "%s", ad_last_error());
    cr_assert_eq(params_set(&p, "act", "auto"), 0);
    cr_assert_eq(params_set(&p, "weights", "nope.safetensors"), 0);
    cr_expect_null(d->open(&p));
    cr_expect(strstr(ad_last_error(), "nope.safetensors"), "%s", ad_last_error());
    params_free(&p);
    free(o), free(t), free(img), free(w);
    rm_rf(dir);
    free(dir);
}

// The vectorisable exp and erf of the kernels vs libm (double): exp <= 2 ulp-ish relative,
// erf within the Abramowitz & Stegun bound 1.5e-7 plus float rounding (PyTorch's CPU erf uses
// the same formula), GELU within 1e-6 of the exact (erf in double) one.
Test(vit, fast_exp_erf_accuracy) {
    double worst_e = 0, worst_f = 0, worst_g = 0;
    for (int i = 0; i <= 400000; i++) {
        float x = -87.0f + 175.0f * (float)i / 400000.0f;
        double ref = exp((double)x), got = vit_expf(x);
        worst_e = fmax(worst_e, fabs(got - ref) / ref);
        float z = -6.0f + 12.0f * (float)i / 400000.0f;
        worst_f = fmax(worst_f, fabs((double)vit_erff(z) - erf((double)z)));
        float g;
        gelu_forward(&g, &z, 1);
        worst_g = fmax(worst_g, fabs(g - 0.5 * z * (1 + erf(z / sqrt(2.0)))));
    }
    cr_expect(worst_e < 3e-7, "exp: max relative error %.3g", worst_e);
    cr_expect(worst_f < 6e-7, "erf: max absolute error %.3g", worst_f);
    cr_expect(worst_g < 1e-6, "gelu: max absolute error %.3g", worst_g);
    cr_expect_eq(vit_expf(0.0f), 1.0f);
    cr_expect(vit_expf(-1000.0f) < 1e-37f && vit_expf(-1000.0f) >= 0.0f);
    cr_expect(isfinite(vit_expf(1000.0f)));
}

// The tiled online-softmax attention vs the naive double-precision reference, at a T that
// crosses query and key tile edges (several partial tiles), and bit-identical for 1 vs 2
// threads (fixed tiling, one thread per sgemm).
static void attention_case(int B, int T, int NH, int C);
Test(vit, tiled_attention_equals_naive_and_thread_independent) {
    // 64-wide heads take the AVX-512 register tiles where built (48-query / 480-key blocks:
    // T = 1100 crosses both, 47 and 1 are single partial tiles); 32-wide ones the sgemm tiles
    attention_case(2, 1100, 2, 128);
    attention_case(1, 47, 3, 192);
    attention_case(2, 1, 1, 64);
    attention_case(1, 530, 4, 128);
}
static void attention_case(int B, int T, int NH, int C) {
    size_t nqkv = (size_t)B * T * 3 * C, no = (size_t)B * T * C;
    float *qkv = malloc(sizeof(float) * nqkv), *ref = malloc(sizeof(float) * no);
    float *o1 = malloc(sizeof(float) * no), *o2 = malloc(sizeof(float) * no);
    for (size_t i = 0; i < nqkv; i++) qkv[i] = (float)sin(0.731 * (double)i + 0.1 * (double)(i % 7)) * 2.5f;
    float *scr = malloc(sizeof(float) * 2 * attention_scratch(T, C / NH));
    attention_forward_naive(ref, qkv, B, T, C, NH);
    int nt = omp_get_max_threads();
    omp_set_num_threads(1);  // as vit_forward passes it: threads = omp_get_max_threads()
    attention_forward(o1, scr, qkv, B, T, C, NH, 1);
    omp_set_num_threads(2);
    attention_forward(o2, scr, qkv, B, T, C, NH, 2);
    omp_set_num_threads(nt);
    vit_test_check(o1, ref, (int64_t)no, "tiled vs naive attention");
    cr_expect(!memcmp(o1, o2, sizeof(float) * no), "tiled attention: 1 and 2 threads differ");
    free(qkv), free(ref), free(o1), free(o2), free(scr);
}

// Issue 12 item 17: NaN weights (or activations overflowing float32) hit undefined behaviour
// in vexpf ((int32_t)NaN, then a left shift of a negative value) and the normal build wrote
// NaN features with exit 0. vexpf keeps NaN/Inf well defined and the forward names the layer.
Test(vit, non_finite_weights_are_an_error_naming_the_layer) {
    cr_expect(isnan(vit_expf(NAN)));
    cr_expect(isinf(vit_expf(INFINITY)) || vit_expf(INFINITY) > 1e38f);
    cr_expect_eq(vit_expf(-INFINITY), vit_expf(-100.0f));
    char *dir = make_tmpdir("vit");
    size_t hl, bl;
    char *h = slurp(G "clip_openai.hdr", &hl), *b = slurp(G "blob_f32.bin", &bl);
    cr_assert(h && b);
    const float vals[2] = {NAN, 3e38f};
    for (int v = 0; v < 2; v++) {
        float *fb = (float *)(void *)b;
        for (size_t i = 0; i < bl / 4; i++) fb[i] = vals[v];
        char *p = ad_sprintf("%s/bad%d.safetensors", dir, v);
        FILE *f = fopen(p, "wb");
        fwrite(h, 1, hl, f);
        fwrite(b, 1, bl, f);
        fclose(f);
        ViT m;
        cr_assert_eq(vit_open(&m, p), 0, "%s", ad_last_error());
        int H = 32, W = 32, T = vit_tokens(&m, H, W), D = m.cfg.width, tap = 1;
        float *img = calloc((size_t)3 * H * W, sizeof(float)), *out = malloc(sizeof(float) * (size_t)T * D);
        cr_assert_eq(vit_forward(&m, out, NULL, img, 1, H, W, &tap, 1, 0), -1, "non-finite features accepted");
        cr_expect(strstr(ad_last_error(), "layer 1") && strstr(ad_last_error(), "non-finite") && strstr(ad_last_error(), p),
                  "%s", ad_last_error());
        vit_close(&m);
        free(img), free(out), free(p);
    }
    free(h), free(b);
    rm_rf(dir);
    free(dir);
}
