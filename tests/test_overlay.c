// Overlay pictures (save_maps: true; src/overlay.h): the picture layout (image blended with
// the jet map, the colour bar, the ground-truth outline at the mask's edge), file-name
// components of variants, and a real run on a synthetic category writing
// pictures/<dataset>/<category>/<method>[@variant]/<defect>_<stem>.png.
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "err.h"
#include "evaluate.h"  // mask_binarise
#include "image.h"
#include "overlay.h"
#include "util_test.h"

static const uint8_t *px(const ImageU8 *im, int x, int y) { return im->data + ((size_t)y * im->w + x) * 3; }
static int is_white(const uint8_t *p) { return p[0] == 255 && p[1] == 255 && p[2] == 255; }
static int near_rgb(const uint8_t *p, const uint8_t *q, int tol) {
    for (int c = 0; c < 3; c++)
        if (abs(p[c] - q[c]) > tol) return 0;
    return 1;
}
// Foreground pixel with a background 4-neighbour (or on the border): where the outline goes.
static int on_edge(const uint8_t *m, int w, int h, int x, int y) {
    if (!m[y * w + x]) return 0;
    if (!x || !y || x == w - 1 || y == h - 1) return 1;
    return !m[y * w + x - 1] || !m[y * w + x + 1] || !m[(y - 1) * w + x] || !m[(y + 1) * w + x];
}

// Fraction of the mask's edge pixels drawn white (at the centre of their k x k block) and the
// number of white pixels of the image area that are not near the edge.
static void check_outline(const ImageU8 *pic, const OverlayLayout *L, const uint8_t *mask, int w, int h, double *hit,
                          int *stray) {
    int n_edge = 0, n_hit = 0;
    *stray = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            if (on_edge(mask, w, h, x, y)) {
                n_edge++;
                n_hit += is_white(px(pic, L->img_x + x * L->k + L->k / 2, L->img_y + y * L->k + L->k / 2));
            }
            int near = 0;  // within one mask pixel of an edge pixel
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int xx = x + dx, yy = y + dy;
                    if (xx >= 0 && yy >= 0 && xx < w && yy < h && on_edge(mask, w, h, xx, yy)) near = 1;
                }
            if (near) continue;
            for (int by = 0; by < L->k; by++)
                for (int bx = 0; bx < L->k; bx++)
                    *stray += is_white(px(pic, L->img_x + x * L->k + bx, L->img_y + y * L->k + by));
        }
    *hit = n_edge ? (double)n_hit / n_edge : -1;
}

Test(overlay, layout_bar_and_outline) {
    int W = 40, H = 30;
    ImageU8 im = {W, H, 3, calloc((size_t)W * H * 3, 1)};
    for (int i = 0; i < W * H * 3; i++) im.data[i] = (uint8_t)(60 + i % 50);
    float *map = malloc((size_t)W * H * sizeof *map);
    uint8_t *mask = calloc((size_t)W * H, 1);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            map[y * W + x] = (float)x / (W - 1);
            mask[y * W + x] = x >= 10 && x < 22 && y >= 8 && y < 20;
        }
    OverlaySpec s = {&im, map, mask, 0.0f, 1.0f, "score 0.5  defect: scratch", "bar: test range"};
    ImageU8 pic = {0};
    OverlayLayout L;
    overlay_render(&pic, &s, &L);
    cr_assert_eq(L.k, (OVERLAY_MIN_SIDE + W - 1) / W, "a %d px image is enlarged to at least %d px", W, OVERLAY_MIN_SIDE);
    cr_assert_geq(pic.w, L.bar_x + L.bar_w, "the bar is inside the picture");
    cr_assert_gt(L.bar_x, L.img_x + W * L.k, "the bar is right of the image");
    cr_assert_geq(pic.h, L.img_y + H * L.k);
    cr_assert_gt(L.img_y, 10, "a header band above the image");
    cr_assert_eq(L.n_contours, 1);
    // Colour bar: jet(1) at the top, jet(0) at the bottom, unblended.
    uint8_t top[3], bot[3];
    overlay_jet(1, top), overlay_jet(0, bot);
    int cx = L.bar_x + L.bar_w / 2;
    cr_expect(near_rgb(px(&pic, cx, L.bar_y), top, 3), "bar top %d,%d,%d", px(&pic, cx, L.bar_y)[0],
              px(&pic, cx, L.bar_y)[1], px(&pic, cx, L.bar_y)[2]);
    cr_expect(near_rgb(px(&pic, cx, L.bar_y + L.bar_h - 1), bot, 3), "bar bottom");
    // Blend: a pixel far from the outline = (image + jet) / 2.
    int x = 3, y = 25;
    uint8_t j[3];
    overlay_jet(map[y * W + x], j);
    const uint8_t *o = px(&pic, L.img_x + x * L.k, L.img_y + y * L.k), *in = px(&im, x, y);
    for (int c = 0; c < 3; c++) cr_expect_leq(abs(o[c] - (in[c] + j[c]) / 2), 1, "channel %d: %d vs %d", c, o[c], (in[c] + j[c]) / 2);
    // Outline on the mask's edge, nowhere else.
    double hit;
    int stray;
    check_outline(&pic, &L, mask, W, H, &hit, &stray);
    cr_expect_eq(hit, 1.0, "every edge pixel of the mask is outlined (%.2f)", hit);
    cr_expect_eq(stray, 0, "%d white pixels away from the mask's edge", stray);
    // No mask: no outline.
    image_u8_free(&pic);
    s.mask = NULL;
    overlay_render(&pic, &s, &L);
    cr_expect_eq(L.n_contours, 0);
    int white = 0;
    for (int yy = 0; yy < H * L.k; yy++)
        for (int xx = 0; xx < W * L.k; xx++) white += is_white(px(&pic, L.img_x + xx, L.img_y + yy));
    cr_expect_eq(white, 0, "the jet blend itself is never pure white");
    image_u8_free(&pic);
    free(map), free(mask), free(im.data);
}

Test(overlay, variant_names_for_files) {
    char *a = overlay_sanitize("methods.0.gamma=0.5,seed=1");
    cr_expect_str_eq(a, "methods.0.gamma=0.5+seed=1");
    char *b = overlay_sanitize("backbone.weights=w/x y.safetensors");
    cr_expect_str_eq(b, "backbone.weights=w-x-y.safetensors");
    char long_label[300];
    memset(long_label, 'a', sizeof long_label - 1);
    long_label[sizeof long_label - 1] = 0;
    char *c = overlay_sanitize(long_label);
    cr_expect_eq(strlen(c), 80 + 1 + 16, "long labels are cut and hashed: %s", c);
    long_label[5] = 'b';
    char *d = overlay_sanitize(long_label);
    cr_expect_str_neq(c, d, "two long labels stay apart");
    char *e = overlay_dir("out", "synth", "woven", "musc", "");
    cr_expect_str_eq(e, "out/pictures/synth/woven/musc");
    char *f = overlay_dir("out", "synth", "woven", "musc", "methods.0.topmin_max=0.2");
    cr_expect_str_eq(f, "out/pictures/synth/woven/musc@methods.0.topmin_max=0.2");
    free(a), free(b), free(c), free(d), free(e), free(f);
}

// save_maps: true on a 32 px synthetic category (pixel backbone, evaluated at 32 x 32).
Test(overlay, run_writes_pictures, .timeout = 120) {
    char *dir = make_tmpdir("overlay");
    char *root = synth_fixture(dir);
    char **cats;
    int nc;
    cr_assert_eq(ds_list(root, 1, &cats, &nc), 0, "%s", ad_last_error());
    cr_assert_geq(nc, 1);
    char *cfg = ad_sprintf("%s/c.yaml", dir), *out = ad_sprintf("%s/out", dir);
    char *text = ad_sprintf("datasets: [{name: synth, root: %s, categories: [%s]}]\n"
                            "backbone: {name: pixel, size: 32, patch: 8, stride: 8}\n"
                            "methods:\n  - {name: musc, topmin_max: {grid: [0.2, 0.3]}}\n  - {name: patchcore, shots: 2}\n"
                            "evaluation: {resolution: 'resized:32'}\ncache_dir: none\nsave_maps: true\n",
                            root, cats[0]);
    cr_assert_eq(write_text(cfg, text), 0);
    char *args = ad_sprintf("run '%s' --out '%s' --quiet", cfg, out), *err = NULL;
    int rc = run_adbench(args, NULL, &err);
    cr_assert_eq(rc, 0, "adbench run failed: %s", err);
    Category C = {0};
    cr_assert_eq(dataset_find("synth")->load(root, cats[0], &C), 0, "%s", ad_last_error());
    const char *sub[] = {"musc@methods.0.topmin_max=0.2", "musc@methods.0.topmin_max=0.3", "patchcore"};
    // The expected canvas: the same layout for a 32 x 32 image.
    ImageU8 dummy = {32, 32, 3, calloc(32 * 32 * 3, 1)}, dp = {0};
    float zmap[32 * 32] = {0};
    OverlaySpec ds = {&dummy, zmap, NULL, 0, 1, "score 0", "bar"};
    OverlayLayout L;
    overlay_render(&dp, &ds, &L);
    int n_outlined = 0;
    for (int s = 0; s < 3; s++) {
        char *pd = ad_sprintf("%s/pictures/synth/%s/%s", out, cats[0], sub[s]);
        char **files;
        int nf;
        cr_assert_eq(ds_list(pd, 0, &files, &nf), 0, "%s", ad_last_error());
        cr_expect_eq(nf, C.n_test, "%s: %d pictures for %d test images", pd, nf, C.n_test);
        string_list_free(files, nf);
        for (int i = 0; i < C.n_test; i++) {
            char *stem = overlay_stem(C.test[i].path);
            char *p = ad_sprintf("%s/%s_%s.png", pd, C.test[i].defect, stem);
            ImageU8 pic = {0};
            cr_assert_eq(image_read_rgb8(p, &pic), 0, "missing picture: %s", ad_last_error());
            cr_expect_eq(pic.h, dp.h, "%s: height %d, layout says %d", p, pic.h, dp.h);
            cr_expect_geq(pic.w, L.bar_x + L.bar_w, "%s: width %d", p, pic.w);
            uint8_t top[3];
            overlay_jet(1, top);
            cr_expect(near_rgb(px(&pic, L.bar_x + L.bar_w / 2, L.bar_y), top, 3), "%s: no colour bar", p);
            if (C.test[i].mask_path) {
                ImageU8 m = {0};
                cr_assert_eq(mask_read(C.test[i].mask_path, &m), 0);
                mask_binarise(m.data, (long)m.w * m.h, "eq255");
                double hit;
                int stray;
                check_outline(&pic, &L, m.data, m.w, m.h, &hit, &stray);
                cr_expect_eq(hit, 1.0, "%s: %.2f of the mask's edge outlined", p, hit);
                cr_expect_eq(stray, 0, "%s: %d white pixels away from the mask's edge", p, stray);
                n_outlined++;
                image_u8_free(&m);
            }
            image_u8_free(&pic);
            free(p), free(stem);
        }
        free(pd);
    }
    cr_expect_gt(n_outlined, 0, "the fixture has defect masks");
    image_u8_free(&dp), free(dummy.data);
    category_free(&C);
    string_list_free(cats, nc);
    free(err), free(args), free(text), free(cfg), free(out), free(root);
    rm_rf(dir);
    free(dir);
}
