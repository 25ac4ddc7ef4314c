// Suite "resnet": the C ResNet against torchvision (tests/gen/gen_resnet.py): random-weight
// resnet18 (batch 2), resnet50 and wide_resnet50_2 in the original checkpoint form (BatchNorm
// folded at load), every layer; the real shared ImageNet ResNet-18 (BN-folded file) on a real
// screw image through the PatchCore pipeline; the fast conv against the naive one on awkward
// shapes; thread-count independence; bad files. Tolerance: max |c - ref| <= 1e-4 * max |ref|.
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"  // fnv1a64
#include "err.h"
#include "image.h"
#include "npy.h"
#include "preprocess.h"
#include "conv_direct.h"
#include "conv_winograd.h"
#include "resnet.h"
#include "results.h"
#include "util_test.h"
#include "vit_test.h"  // vit_test_check: max |c - ref| <= 1e-4 * max |ref|

#define G "tests/golden/resnet/"
#define REAL_WEIGHTS "weights/resnet18-imagenet1k-v1-bnfolded-layer1to3.safetensors"

// The counter-based generator of gen_resnet.py.
static void draw(float *out, const char *name, size_t n, double lo, double hi) {
    uint64_t seed = fnv1a64(FNV1A64_INIT, name, strlen(name));
    for (size_t i = 0; i < n; i++) {
        uint64_t z = seed + (uint64_t)(i + 1) * 0x9E3779B97F4A7C15ULL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        z ^= z >> 31;
        float u = (float)(z >> 40) * 0x1p-24f;
        out[i] = (float)(lo + (hi - lo) * (double)u);
    }
}

typedef struct {
    char *name;
    int ndim;
    int64_t shape[4];
    size_t n;
    float *v;
} Tensor;

typedef struct {
    Tensor *t;
    int n;
    int input[4];
} Model;

static Model load_spec(const char *arch) {
    char *p = ad_sprintf(G "%s_spec.json", arch);
    char *txt = slurp(p, NULL);
    cr_assert(txt, "missing %s (run tests/gen/gen_resnet.py)", p);
    cJSON *j = cJSON_Parse(txt);
    cr_assert(j);
    Model m = {0};
    cJSON *in = cJSON_GetObjectItem(j, "input"), *ts = cJSON_GetObjectItem(j, "tensors");
    for (int d = 0; d < 4; d++) m.input[d] = cJSON_GetArrayItem(in, d)->valueint;
    m.n = cJSON_GetArraySize(ts);
    m.t = calloc((size_t)m.n, sizeof *m.t);
    for (int i = 0; i < m.n; i++) {
        cJSON *e = cJSON_GetArrayItem(ts, i), *sh = cJSON_GetObjectItem(e, "shape");
        Tensor *t = &m.t[i];
        t->name = ad_strdup(cJSON_GetObjectItem(e, "name")->valuestring);
        t->ndim = cJSON_GetArraySize(sh);
        t->n = 1;
        for (int d = 0; d < t->ndim; d++) t->n *= (size_t)(t->shape[d] = cJSON_GetArrayItem(sh, d)->valueint);
        t->v = malloc(t->n * sizeof(float));
        draw(t->v, t->name, t->n, cJSON_GetObjectItem(e, "lo")->valuedouble, cJSON_GetObjectItem(e, "hi")->valuedouble);
    }
    cJSON_Delete(j);
    free(txt), free(p);
    return m;
}

static void model_free(Model *m) {
    for (int i = 0; i < m->n; i++) free(m->t[i].name), free(m->t[i].v);
    free(m->t);
}

static Tensor *find(Model *m, const char *name) {
    for (int i = 0; i < m->n; i++)
        if (!strcmp(m->t[i].name, name)) return &m->t[i];
    return NULL;
}

// Writes the tensors for which keep(name) holds (NULL: all) as a safetensors file.
static char *write_model(const char *dir, const char *file, const Model *m, int (*keep)(const char *)) {
    cJSON *h = cJSON_CreateObject();
    size_t off = 0;
    for (int i = 0; i < m->n; i++) {
        const Tensor *t = &m->t[i];
        if (keep && !keep(t->name)) continue;
        cJSON *e = cJSON_CreateObject(), *sh = cJSON_CreateArray(), *of = cJSON_CreateArray();
        cJSON_AddStringToObject(e, "dtype", "F32");
        for (int d = 0; d < t->ndim; d++) cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)t->shape[d]));
        cJSON_AddItemToObject(e, "shape", sh);
        cJSON_AddItemToArray(of, cJSON_CreateNumber((double)off));
        off += t->n * 4;
        cJSON_AddItemToArray(of, cJSON_CreateNumber((double)off));
        cJSON_AddItemToObject(e, "data_offsets", of);
        cJSON_AddItemToObject(h, t->name, e);
    }
    char *js = cJSON_PrintUnformatted(h);
    cJSON_Delete(h);
    size_t hl = strlen(js), pad = (8 - hl % 8) % 8;
    uint64_t n = hl + pad;
    char *path = ad_sprintf("%s/%s", dir, file);
    FILE *f = fopen(path, "wb");
    cr_assert(f);
    fwrite(&n, 8, 1, f);
    fwrite(js, 1, hl, f);
    for (size_t i = 0; i < pad; i++) fputc(' ', f);
    for (int i = 0; i < m->n; i++)
        if (!keep || keep(m->t[i].name)) fwrite(m->t[i].v, 4, m->t[i].n, f);
    fclose(f);
    free(js);
    return path;
}

static float *golden(const char *name, size_t *n) { return golden_f32(G, name, n); }

// Forward the model's drawn input and compare every layer with torchvision.
static void run_arch(const char *arch, const char *expect_arch) {
    Model m = load_spec(arch);
    char *dir = make_tmpdir("resnet");
    char *path = write_model(dir, "m.safetensors", &m, NULL);
    ResNet net;
    cr_assert_eq(resnet_open(&net, path, 4), 0, "%s", ad_last_error());
    cr_expect_str_eq(net.cfg.arch, expect_arch);
    cr_expect(net.cfg.bn_folded_at_load);
    int B = m.input[0], H = m.input[2], W = m.input[3];
    float *img = malloc((size_t)B * 3 * H * W * sizeof(float));
    draw(img, "input", (size_t)B * 3 * H * W, -2.0, 2.0);
    float *out[4];
    int taps[4] = {1, 2, 3, 4};
    size_t ng[4];
    float *ref[4];
    for (int s = 0; s < 4; s++) {
        char nm[64];
        snprintf(nm, sizeof nm, "%s_layer%d", arch, s + 1);
        ref[s] = golden(nm, &ng[s]);
        out[s] = malloc(ng[s] * sizeof(float));
    }
    cr_assert_eq(resnet_forward(&net, out, img, B, H, W, taps, 4), 0, "%s", ad_last_error());
    for (int s = 0; s < 4; s++) {
        char what[64];
        snprintf(what, sizeof what, "%s layer%d", arch, s + 1);
        int gh, gw;
        resnet_stage_grid(s + 1, H, W, &gh, &gw);
        cr_expect_eq((size_t)B * gh * gw * net.cfg.channels[s], ng[s], "%s: size", what);
        vit_test_check(out[s], ref[s], ng[s], what);
        free(out[s]), free(ref[s]);
    }
    resnet_close(&net);
    free(img), free(path);
    rm_rf(dir);
    free(dir);
    model_free(&m);
}

Test(resnet, resnet18_every_layer_batch2) { run_arch("resnet18", "resnet18"); }
Test(resnet, resnet50_every_layer) { run_arch("resnet50", "resnet50"); }
Test(resnet, wide_resnet50_2_every_layer) { run_arch("wide_resnet50_2", "wide_resnet50_2"); }

// Folding BN ourselves into a second file (conv bias, no bn*) gives the same features: the two
// forms the loader accepts agree.
static int no_bn(const char *name) { return !strstr(name, ".bn") && strncmp(name, "bn1", 3) && !strstr(name, "downsample.1"); }

// conv1.weight -> bn1; layerS.B.convK.weight -> layerS.B.bnK; X.downsample.0.weight -> X.downsample.1
static void bn_of(char *bn, size_t n, const char *conv_weight) {
    char base[160];
    snprintf(base, sizeof base, "%.*s", (int)(strlen(conv_weight) - strlen(".weight")), conv_weight);
    size_t l = strlen(base);
    if (strstr(base, "downsample.0")) {
        base[l - 1] = '1';
        snprintf(bn, n, "%s", base);
        return;
    }
    char *c = strstr(base, "conv");
    *c = 0;
    snprintf(bn, n, "%sbn%s", base, c + 4);
}

Test(resnet, folded_file_equals_original_checkpoint) {
    Model m = load_spec("resnet18");
    // fold into the conv tensors and add biases (room for one bias per tensor reserved first:
    // the Tensor pointers below must stay valid)
    int n0 = m.n;
    m.t = realloc(m.t, (size_t)(2 * n0) * sizeof *m.t);
    for (int i = 0; i < n0; i++) {
        Tensor *c = &m.t[i];
        if (c->ndim != 4) continue;
        char bn[200];
        bn_of(bn, sizeof bn, c->name);
        size_t pl = strlen(c->name) - strlen(".weight");
        char nm[240];
        snprintf(nm, sizeof nm, "%s.weight", bn);
        Tensor *g = find(&m, nm);
        snprintf(nm, sizeof nm, "%s.bias", bn);
        Tensor *be = find(&m, nm);
        snprintf(nm, sizeof nm, "%s.running_mean", bn);
        Tensor *mu = find(&m, nm);
        snprintf(nm, sizeof nm, "%s.running_var", bn);
        Tensor *var = find(&m, nm);
        cr_assert(g && be && mu && var, "no BatchNorm for %s (looked for %s)", c->name, bn);
        Tensor *b = &m.t[m.n++];
        b->name = ad_sprintf("%.*s.bias", (int)pl, c->name);
        b->ndim = 1, b->shape[0] = c->shape[0], b->n = (size_t)c->shape[0];
        b->v = malloc(b->n * sizeof(float));
        size_t per = c->n / b->n;
        for (size_t o = 0; o < b->n; o++) {
            double s = g->v[o] / sqrt((double)var->v[o] + 1e-5);
            for (size_t j = 0; j < per; j++) c->v[o * per + j] = (float)(c->v[o * per + j] * s);
            b->v[o] = (float)(be->v[o] - mu->v[o] * s);
        }
    }
    char *dir = make_tmpdir("resnet");
    char *path = write_model(dir, "folded.safetensors", &m, no_bn);
    ResNet net;
    cr_assert_eq(resnet_open(&net, path, 4), 0, "%s", ad_last_error());
    cr_expect(!net.cfg.bn_folded_at_load);
    int B = m.input[0], H = m.input[2], W = m.input[3];
    float *img = malloc((size_t)B * 3 * H * W * sizeof(float));
    draw(img, "input", (size_t)B * 3 * H * W, -2.0, 2.0);
    size_t n;
    float *ref = golden("resnet18_layer4", &n), *out = malloc(n * sizeof(float));
    int tap = 4;
    cr_assert_eq(resnet_forward(&net, &out, img, B, H, W, &tap, 1), 0, "%s", ad_last_error());
    vit_test_check(out, ref, n, "folded resnet18 layer4");
    resnet_close(&net);
    free(img), free(ref), free(out), free(path);
    rm_rf(dir);
    free(dir);
    model_free(&m);
}

Test(resnet, same_output_for_any_thread_count) {
    Model m = load_spec("resnet18");
    char *dir = make_tmpdir("resnet");
    char *path = write_model(dir, "m.safetensors", &m, NULL);
    ResNet net;
    cr_assert_eq(resnet_open(&net, path, 3), 0, "%s", ad_last_error());
    int B = 1, H = 96, W = 80, taps[2] = {2, 3}, g2h, g2w, g3h, g3w;
    resnet_stage_grid(2, H, W, &g2h, &g2w);
    resnet_stage_grid(3, H, W, &g3h, &g3w);
    size_t n2 = (size_t)g2h * g2w * 128, n3 = (size_t)g3h * g3w * 256;
    float *img = malloc((size_t)3 * H * W * sizeof(float));
    draw(img, "thread-input", (size_t)3 * H * W, -2.0, 2.0);
    float *a[2] = {malloc(n2 * 4), malloc(n3 * 4)}, *b[2] = {malloc(n2 * 4), malloc(n3 * 4)};
    int nt = omp_get_max_threads();
    omp_set_num_threads(1);
    cr_assert_eq(resnet_forward(&net, a, img, B, H, W, taps, 2), 0);
    for (int t = 2; t <= 3; t++) {  // 3: an odd split of every parallel loop
        omp_set_num_threads(t);
        cr_assert_eq(resnet_forward(&net, b, img, B, H, W, taps, 2), 0);
        cr_expect(!memcmp(a[0], b[0], n2 * 4) && !memcmp(a[1], b[1], n3 * 4), "1 and %d threads differ", t);
    }
    omp_set_num_threads(nt);
    resnet_close(&net);
    for (int i = 0; i < 2; i++) free(a[i]), free(b[i]);
    free(img), free(path);
    rm_rf(dir);
    free(dir);
    model_free(&m);
}

// --- real weights, real image ----------------------------------------------------------------
Test(resnet, real_imagenet_resnet18_on_screw) {
    char *w = ad_sprintf("%s/%s", shared_data(), REAL_WEIGHTS);
    char *imgp = ad_sprintf("%s/mvtec_ad/screw/test/scratch_head/000.png", shared_data());
    FILE *f = fopen(w, "rb");
    if (!f) {
        free(w), free(imgp);
        cr_skip("the shared real weights (%s) are absent: real-weight golden skipped", REAL_WEIGHTS);
    }
    fclose(f);
    ImageU8 im = {0};
    cr_assert_eq(image_read_rgb8(imgp, &im), 0, "%s", ad_last_error());
    float *x;
    int H, W;
    cnn_preprocess_u8(&x, &H, &W, &im, 256, 224);
    image_u8_free(&im);
    cr_assert(H == 224 && W == 224);
    size_t n;
    float *ref = golden("real_input", &n);
    cr_assert_eq(n, (size_t)3 * 224 * 224);
    double e = 0;
    for (size_t i = 0; i < n; i++) e = fmax(e, fabs((double)x[i] - ref[i]));
    cr_expect(e <= 1e-5, "PatchCore preprocessing differs from torchvision's by %g", e);
    free(ref);
    ResNet net;
    cr_assert_eq(resnet_open(&net, w, 3), 0, "%s", ad_last_error());
    cr_expect_str_eq(net.cfg.arch, "resnet18");
    cr_expect(!net.cfg.bn_folded_at_load);
    int taps[3] = {1, 2, 3};
    float *out[3], *refs[3];
    size_t ns[3];
    for (int s = 0; s < 3; s++) {
        char nm[32];
        snprintf(nm, sizeof nm, "real_layer%d", s + 1);
        refs[s] = golden(nm, &ns[s]);
        out[s] = malloc(ns[s] * sizeof(float));
    }
    cr_assert_eq(resnet_forward(&net, out, x, 1, H, W, taps, 3), 0, "%s", ad_last_error());
    for (int s = 0; s < 3; s++) {
        char what[32];
        snprintf(what, sizeof what, "real layer%d", s + 1);
        vit_test_check(out[s], refs[s], ns[s], what);
        free(out[s]), free(refs[s]);
    }
    // the shared file has no layer4: asking for it names the missing tensor
    resnet_close(&net);
    cr_expect_eq(resnet_open(&net, w, 4), -1);
    cr_expect(strstr(ad_last_error(), "layer4.0.conv1.weight"), "%s", ad_last_error());
    free(x), free(w), free(imgp);
}

// --- layers ----------------------------------------------------------------------------------
static void conv_case(int cin, int cout, int k, int stride, int pad, int B, int H, int Wd, int with_res, int relu) {
    Conv c = {cout, cin, k, stride, pad, malloc((size_t)cout * cin * k * k * 4), malloc((size_t)cout * 4), NULL, NULL};
    draw(c.w, "conv-w", (size_t)cout * cin * k * k, -0.5, 0.5);
    draw(c.b, "conv-b", (size_t)cout, -0.5, 0.5);
    int Ho, Wo;
    conv_out_size(&c, H, Wd, &Ho, &Wo);
    size_t ni = (size_t)cin * B * H * Wd, no = (size_t)cout * B * Ho * Wo;
    float *in = malloc(ni * 4), *res = with_res ? malloc(no * 4) : NULL, *a = malloc(no * 4), *b = malloc(no * 4);
    draw(in, "conv-in", ni, -1, 1);
    if (res) draw(res, "conv-res", no, -1, 1);
    conv2d_forward_naive(b, in, &c, B, H, Wd, res, relu);
    // every fast path: im2col + sgemm, the direct tile (k > 1 on an AVX-512 build), Winograd
    // (3x3 stride 1)
    for (int kind = RESNET_CONV_GEMM; kind <= RESNET_CONV_WINOGRAD; kind++) {
        conv_set_kernel(&c, (ResNetConv)kind);
        if (kind == RESNET_CONV_DIRECT && !conv_direct_applies(&c)) continue;
        // (Winograd mode on a convolution that is not 3x3 stride 1: the direct path)
        int wino = kind == RESNET_CONV_WINOGRAD && conv_winograd_applies(&c);
        size_t nc = conv_col_floats(&c, B, H, Wd);
        float *col = malloc((nc ? nc : 1) * 4);
        for (size_t i = 0; i < no; i++) a[i] = NAN;
        conv2d_forward(a, col, in, &c, B, H, Wd, res, relu);
        char what[112];
        snprintf(what, sizeof what, "%s conv cin %d cout %d k %d s %d p %d B %d %dx%d",
                 wino ? "winograd" : kind == RESNET_CONV_GEMM ? "gemm" : "direct", cin, cout, k, stride, pad, B, H, Wd);
        double mx = 0, err = 0;
        for (size_t i = 0; i < no; i++) mx = fmax(mx, fabs(b[i])), err = fmax(err, fabs((double)a[i] - b[i]));
        // Winograd's transforms scale the terms by up to 25 and 8 before they cancel: a few times
        // the rounding error of direct summation (measured: up to 1.6e-5 at 512 channels)
        double tol = wino ? 4e-5 : 1e-5;
        if (getenv("CONV_TEST_VERBOSE")) fprintf(stderr, "%s: rel %.2g\n", what, err / mx);
        cr_expect(err <= tol * mx + 1e-6, "%s: max error %g (max %g)", what, err, mx);  // NaN fails too
        free(col);
    }
    free(c.w), free(c.b), free(c.wp), free(c.wu), free(in), free(res), free(a), free(b);
}

Test(resnet, conv_fast_equals_naive_on_awkward_shapes) {
    conv_case(5, 7, 3, 2, 1, 2, 11, 9, 1, 1);     // odd everything, stride 2, shortcut + ReLU
    conv_case(3, 64, 7, 2, 3, 1, 37, 29, 0, 1);   // the stem
    conv_case(13, 300, 1, 1, 0, 2, 17, 31, 1, 0); // pointwise (no im2col), cout > one M tile, N > one N tile
    conv_case(6, 10, 1, 2, 0, 3, 9, 8, 0, 0);     // 1x1 stride 2 (downsample)
    conv_case(4, 5, 3, 1, 1, 1, 1, 1, 0, 1);      // 1x1 input: only the centre tap is inside
    // the direct path's edges: cout not a multiple of its 8-channel tile, images that are not a
    // multiple of its 48-position tile, batches, pads 0 / 1 / 2, strides 2 and 3 (phases of odd
    // and even padded sizes); 1x1 convolutions stay on sgemm
    conv_case(17, 13, 3, 1, 1, 3, 7, 5, 1, 1);
    conv_case(64, 64, 3, 1, 1, 2, 14, 14, 1, 1);  // ResNet-18 layer3 grid
    conv_case(9, 24, 3, 1, 0, 2, 10, 13, 0, 0);   // no padding: junk columns of width k - 1
    conv_case(3, 8, 5, 1, 2, 1, 9, 6, 1, 0);      // 5x5 pad 2
    conv_case(33, 40, 1, 1, 0, 3, 5, 7, 1, 1);    // pointwise, N = 105: a zero-extended last tile
    conv_case(16, 8, 1, 1, 0, 1, 6, 8, 0, 1);     // pointwise, N = 48: exactly one tile
    conv_case(2, 3, 3, 1, 1, 1, 1, 50, 0, 1);     // one row wider than a tile
    conv_case(6, 16, 3, 2, 0, 2, 12, 11, 1, 1);   // stride 2, no padding, even x odd
    conv_case(64, 128, 3, 2, 1, 1, 56, 56, 0, 1); // ResNet layer2.0.conv1
    conv_case(4, 8, 3, 3, 1, 1, 10, 11, 1, 0);    // stride 3
    conv_case(3, 64, 7, 2, 3, 2, 32, 33, 0, 1);   // the stem, batch 2
    conv_case(3, 8, 3, 2, 1, 2, 1, 2, 1, 1);      // stride 2 on 2x1 / 1x2-sized images: empty phases
    conv_case(2, 9, 3, 3, 0, 1, 3, 4, 0, 0);
    // Winograd's edges (3x3 stride 1): odd output sizes (a half-used last tile row and column),
    // pads 0 and 2, one-pixel images, tiles of one row (W = 1), and chunks of tile rows that
    // cross from one image to the next (60 x 20 images: 51 rows of 5 tiles a chunk, 15 rows an image)
    conv_case(3, 5, 3, 1, 0, 2, 3, 3, 1, 1);      // pad 0: one output
    conv_case(7, 6, 3, 1, 2, 1, 5, 4, 0, 1);      // pad 2: output larger than the input
    conv_case(4, 3, 3, 1, 1, 3, 1, 2, 1, 0);
    conv_case(5, 4, 3, 1, 1, 2, 9, 1, 0, 1);
    conv_case(512, 40, 3, 1, 1, 2, 29, 22, 1, 1);  // 512 input channels: the largest rounding error
    conv_case(8, 8, 3, 1, 1, 4, 60, 20, 1, 1);
    conv_case(128, 128, 3, 1, 1, 1, 56, 56, 1, 1); // WideResNet-50-2 layer1 conv2
    conv_case(512, 512, 3, 1, 1, 1, 5, 6, 1, 1);   // 4 tiles: 24-channel tiles, a partial last block
    conv_case(64, 24, 3, 1, 1, 3, 20, 20, 0, 1);   // 75 tiles in one chunk: 48-tile tiles, then a 32-tile one
}

// The 3x3 / 2 max-pool against the direct 9-tap loop: all-negative inputs (zero padding would
// win), odd and even sizes (the separable pass's interior and both borders).
static void maxpool_case(int C, int B, int H, int W) {
    int Ho = (H - 1) / 2 + 1, Wo = (W - 1) / 2 + 1;
    size_t n = (size_t)C * B * H * W;
    float *in = malloc(n * sizeof(float)), *out = malloc((size_t)C * B * Ho * Wo * sizeof(float));
    for (size_t i = 0; i < n; i++) in[i] = -100.f - (float)((i * 37) % 11);
    maxpool3x3s2_forward(out, in, C, B, H, W);
    for (int cb = 0; cb < C * B; cb++)
        for (int oy = 0; oy < Ho; oy++)
            for (int ox = 0; ox < Wo; ox++) {
                float m = -INFINITY;
                for (int y = 2 * oy - 1; y <= 2 * oy + 1; y++)
                    for (int x = 2 * ox - 1; x <= 2 * ox + 1; x++)
                        if (y >= 0 && y < H && x >= 0 && x < W) m = fmaxf(m, in[((size_t)cb * H + y) * W + x]);
                cr_expect_eq(out[((size_t)cb * Ho + oy) * Wo + ox], m, "%dx%d at (%d, %d, %d)", H, W, cb, oy, ox);
            }
    free(in), free(out);
}

Test(resnet, maxpool_padding_never_wins) {
    maxpool_case(2, 2, 5, 4);
    maxpool_case(1, 3, 7, 9);
    maxpool_case(3, 1, 1, 1);
    maxpool_case(1, 1, 2, 2);
    maxpool_case(2, 1, 112, 112);
}

// --- bad files -------------------------------------------------------------------------------
static const char *g_drop;
static int drop_one(const char *name) { return strcmp(name, g_drop); }

Test(resnet, bad_files_name_the_tensor) {
    Model m = load_spec("resnet18");
    char *dir = make_tmpdir("resnet");
    ResNet net;
    // a missing tensor of a requested layer
    g_drop = "layer2.1.conv2.weight";
    char *p = write_model(dir, "a.safetensors", &m, drop_one);
    cr_expect_eq(resnet_open(&net, p, 2), -1);
    cr_expect(strstr(ad_last_error(), "layer2.1.conv2.weight"), "%s", ad_last_error());
    // ... but a missing deeper layer does not matter when it is not requested
    cr_expect_eq(resnet_open(&net, p, 1), 0, "%s", ad_last_error());
    resnet_close(&net);
    free(p);
    // a misshapen tensor
    Tensor *t = find(&m, "layer3.0.downsample.0.weight");
    t->shape[1] = 64, t->shape[0] = 512;  // same count, wrong shape
    p = write_model(dir, "b.safetensors", &m, NULL);
    cr_expect_eq(resnet_open(&net, p, 3), -1);
    cr_expect(strstr(ad_last_error(), "layer3.0.downsample.0.weight"), "%s", ad_last_error());
    t->shape[1] = 128, t->shape[0] = 256;
    free(p);
    // a non-finite weight
    t = find(&m, "layer1.0.bn2.running_var");
    float keep = t->v[3];
    t->v[3] = NAN;
    p = write_model(dir, "c.safetensors", &m, NULL);
    cr_expect_eq(resnet_open(&net, p, 1), -1);
    cr_expect(strstr(ad_last_error(), "layer1.0.bn2.running_var") && strstr(ad_last_error(), "non-finite"), "%s",
              ad_last_error());
    t->v[3] = keep;
    free(p);
    // not a ResNet
    g_drop = "conv1.weight";
    p = write_model(dir, "d.safetensors", &m, drop_one);
    cr_expect_eq(resnet_open(&net, p, 1), -1);
    cr_expect(strstr(ad_last_error(), "conv1.weight") && strstr(ad_last_error(), "torchvision"), "%s", ad_last_error());
    free(p);
    // a truncated file
    p = write_model(dir, "e.safetensors", &m, NULL);
    size_t len;
    char *all = slurp(p, &len);
    FILE *f = fopen(p, "wb");
    fwrite(all, 1, len / 2, f);
    fclose(f);
    free(all);
    cr_expect_eq(resnet_open(&net, p, 1), -1);
    cr_expect(strstr(ad_last_error(), "e.safetensors"), "%s", ad_last_error());
    free(p);
    rm_rf(dir);
    free(dir);
    model_free(&m);
}

// --- the converter, the multi-scale embedding, layer alignment, the whole pipeline -------------
#include "membank.h"
#include "method.h"

Test(resnet, converted_torchvision_pth_loads) {
    // tests/gen/gen_resnet.py ran scripts/convert_weights.py on a torchvision .pth (original
    // checkpoint form with int64 num_batches_tracked) of a BasicBlock ResNet cut after layer1.
    ResNet net;
    cr_assert_eq(resnet_open(&net, G "tiny_converted.safetensors", 1), 0, "%s", ad_last_error());
    cr_expect(net.cfg.bn_folded_at_load);
    float *x = malloc(3 * 40 * 48 * sizeof(float));
    draw(x, "tiny-input", 3 * 40 * 48, -2.0, 2.0);
    size_t n;
    float *ref = golden("tiny_converted_layer1", &n), *out = malloc(n * sizeof(float));
    int tap = 1;
    cr_assert_eq(resnet_forward(&net, &out, x, 1, 40, 48, &tap, 1), 0, "%s", ad_last_error());
    vit_test_check(out, ref, n, "converted layer1");
    resnet_close(&net);
    free(x), free(ref), free(out);
}

Test(resnet, patchcore_multiscale_embed_matches_upstream) {
    size_t n0, n1, ne;
    float *l0 = golden("pcms_layer0", &n0), *l1 = golden("pcms_layer1", &n1), *ref = golden("pcms_embed", &ne);
    LayerShape sh[2] = {{7, 6, 5}, {4, 3, 8}};
    cr_assert(n0 == 7 * 6 * 5 && n1 == 4 * 3 * 8 && ne == 42 * 16);
    const float *ly[2] = {l0, l1};
    float *got = malloc(ne * sizeof(float));
    patchcore_embed_ms(got, ly, sh, 2, 3, 12, 16);
    double err = 0;
    for (size_t i = 0; i < ne; i++) err = fmax(err, fabs((double)got[i] - ref[i]));
    cr_expect(err <= 1e-5, "multi-scale PatchCore embedding differs from upstream's by %g", err);
    free(l0), free(l1), free(ref), free(got);
}

Test(resnet, layer_align_concat_and_pool) {
    // layer 0: 2x2 grid, width 4; layer 1: 1x1, width 2 (bilinear from 1x1 = constant)
    float f[2 * 2 * 4 + 2];
    for (int i = 0; i < 16; i++) f[i] = (float)i;
    f[16] = 100, f[17] = 200;
    const float *feat[1] = {f};
    FeatureBatch b = {1, 2, 2, 2, 0, feat, 0, NULL, {{2, 2, 4}, {1, 1, 2}}}, c, p;
    cr_assert_eq(feature_batch_align(&c, &b, "concat"), 0);
    cr_expect(c.n_layers == 1 && c.dim == 6 && c.gh == 2 && c.gw == 2 && c.layer[0].dim == 6);
    for (int q = 0; q < 4; q++) {
        for (int k = 0; k < 4; k++) cr_expect_eq(c.feat[0][q * 6 + k], (float)(q * 4 + k));
        cr_expect(c.feat[0][q * 6 + 4] == 100 && c.feat[0][q * 6 + 5] == 200);
    }
    cr_assert_eq(feature_batch_align(&p, &b, "pool"), 0);
    cr_expect(p.n_layers == 2 && p.dim == 2 && p.layer[1].dim == 2);
    for (int q = 0; q < 4; q++) {  // widths pooled to the narrowest (2): pairs averaged
        cr_expect_eq(p.feat[0][q * 2], (float)(q * 4) + 0.5f);
        cr_expect_eq(p.feat[0][q * 2 + 1], (float)(q * 4) + 2.5f);
        cr_expect(p.feat[0][8 + q * 2] == 100 && p.feat[0][8 + q * 2 + 1] == 200);
    }
    FeatureBatch bad;
    cr_expect_eq(feature_batch_align(&bad, &b, "stack"), -1);
    cr_expect(strstr(ad_last_error(), "layer_align"));
    feature_batch_align_free(&c, &b);
    feature_batch_align_free(&p, &b);
    // a uniform batch is handed through untouched
    FeatureBatch u = {1, 2, 2, 2, 2, feat, 0, NULL, {{2, 2, 2}, {2, 2, 2}}}, v;
    cr_assert_eq(feature_batch_align(&v, &u, "concat"), 0);
    cr_expect(v.feat == u.feat && v.n_layers == 2);
    feature_batch_align_free(&v, &u);
}

// Every method on real CNN features of a synthetic category, through the CLI: PatchCore sees
// layer2 (8x8) + layer3 (4x4) as upstream does, the others the aligned layout; the PatchCore
// protocol (center_crop) and the cache.
Test(resnet, every_method_runs_on_cnn_features, .timeout = 300) {
    Model m = load_spec("resnet18");
    char *dir = make_tmpdir("resnet-e2e");
    char *w = write_model(dir, "r18.safetensors", &m, NULL);
    model_free(&m);
    char *cmd = ad_sprintf("synth --out %s/data --size 80 --n-train 4 --n-good 6 --consistent blob:3 --n-unique 3", dir);
    char *err = NULL;
    cr_assert_eq(run_adbench(cmd, NULL, &err), 0, "%s", err);
    free(err), free(cmd);
    char *cfg = ad_sprintf("%s/c.yaml", dir), *txt = ad_sprintf(
        "name: t\n"
        "datasets: [{name: synth, root: %s/data, categories: all}]\n"
        "backbone: {name: resnet, weights: %s, layers: [2, 3], preprocess: patchcore, size: 64, resize: 72}\n"
        "methods:\n"
        "  - {name: patchcore, shots: 2, coreset_ratio: 0.5}\n"
        "  - {name: musc}\n"
        "  - {name: codegraph}\n"
        "  - {name: anomalydino, shots: 1, rotation: 'off', masking: 'off', layer_align: pool}\n"
        "evaluation: {resolution: 'center_crop:72:64'}\n"
        "cache_dir: %s/cache\nout_dir: %s/out\n",
        dir, w, dir, dir);
    write_text(cfg, txt);
    cmd = ad_sprintf("run %s --quiet", cfg);
    cr_assert_eq(run_adbench(cmd, NULL, &err), 0, "%s", err);
    free(err);
    char *csvp = ad_sprintf("%s/out/results.csv", dir);
    char *csv = slurp(csvp, NULL);
    cr_assert(csv);
    int rows = 0;
    for (char *s = csv; (s = strstr(s, "synth,")); s++) rows++;
    cr_expect_eq(rows, 8, "4 methods x (category + mean) rows, found %d:\n%s", rows, csv);
    cr_expect(strstr(csv, "8x8"), "maps on layer2's 8x8 grid:\n%s", csv);
    cr_expect(strstr(csv, "center_crop:72:64"));
    cr_expect(!strstr(csv, ",nan,"), "a NaN metric:\n%s", csv);
    free(csv);
    // second run: every feature from the cache, the same metrics
    Table a, b;
    cr_assert_eq(table_read_csv(&a, csvp), 0, "%s", ad_last_error());
    rm_rf(csvp);
    cr_assert_eq(run_adbench(cmd, NULL, &err), 0, "%s", err);
    cr_assert_eq(table_read_csv(&b, csvp), 0, "%s", ad_last_error());
    cr_assert_eq(a.n_rows, b.n_rows);
    for (int r = 0; r < b.n_rows; r++) {
        if (!strcmp(table_get(&b, r, "category"), "mean")) continue;
        int want = atoi(table_get(&b, r, "n_test")) + atoi(table_get(&b, r, "n_refs"));
        cr_expect_eq(atoi(table_get(&b, r, "cache_hits")), want, "row %d: cache hits", r);
        cr_expect_str_eq(table_get(&a, r, "pixel_aupro"), table_get(&b, r, "pixel_aupro"));
        cr_expect_str_eq(table_get(&a, r, "image_auroc"), table_get(&b, r, "image_auroc"));
    }
    table_free(&a), table_free(&b);
    free(err), free(cmd), free(csvp), free(cfg), free(txt), free(w);
    rm_rf(dir);
    free(dir);
}
