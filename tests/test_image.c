// Image IO and resamplers against Pillow 9.4 / OpenCV / torch 1.13 / scipy 1.10 goldens
// (tests/golden/image/, made by tests/gen/gen_image.py) and the real MVTec AD screw images.
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "fsutil.h"
#include "image.h"
#include "npy.h"
#include "util_test.h"

#define G "tests/golden/image/"

static NpyArray load(const char *path) {
    NpyArray a;
    cr_assert_eq(npy_read(path, &a), 0, "%s", ad_last_error());
    return a;
}

static ImageU8 read_gray_png(const char *path) {
    ImageU8 m;
    cr_assert_eq(mask_read(path, &m), 0, "%s", ad_last_error());
    return m;
}

static char *screw(const char *rel) { return ad_sprintf("%s/mvtec_ad/screw/%s", shared_data(), rel); }

// --- decoding -------------------------------------------------------------------------------

typedef struct { const char *file, *stem; int bits, has_raw, jpeg; } DecCase;
static const DecCase DEC[] = {
    {"dec_gray8.png", "dec_gray8_png", 8, 1, 0},    {"dec_rgb8.png", "dec_rgb8_png", 8, 1, 0},
    {"dec_rgba8.png", "dec_rgba8_png", 8, 1, 0},    {"dec_gray16.png", "dec_gray16_png", 16, 1, 0},
    {"dec_rgb16.png", "dec_rgb16_png", 16, 1, 0},   {"dec_rgba16.png", "dec_rgba16_png", 16, 1, 0},
    {"dec_la16.png", "dec_la16_png", 16, 1, 0},     {"dec_gray1.png", "dec_gray1_png", 8, 1, 0},
    {"dec_pal.png", "dec_pal_png", 8, 1, 0},        {"dec_gray4.png", "dec_gray4_png", 8, 1, 0},
    {"dec_warn.png", "dec_warn_png", 8, 1, 0},        {"dec_rgb.jpg", "dec_rgb_jpg", 8, 0, 1},
    {"dec_gray.jpg", "dec_gray_jpg", 8, 0, 1},      {"dec_exif6.jpg", "dec_exif6_jpg", 8, 0, 1},      {"dec_rgb.bmp", "dec_rgb_bmp", 8, 1, 0},
    {"dec_gray8.bmp", "dec_gray8_bmp", 8, 1, 0},    {"dec_rgb.tif", "dec_rgb_tif", 8, 1, 0},
    {"dec_gray16.tif", "dec_gray16_tif", 16, 1, 0}, {"dec_rgb16.tif", "dec_rgb16_tif", 16, 1, 0},
};

Test(image, decode_every_format_like_pil) {
    for (size_t i = 0; i < sizeof DEC / sizeof DEC[0]; i++) {
        const DecCase *d = &DEC[i];
        char *p = ad_sprintf(G "%s", d->file), *e = ad_sprintf(G "%s.rgb8.npy", d->stem);
        ImageU8 im;
        cr_assert_eq(image_read_rgb8(p, &im), 0, "%s", ad_last_error());
        NpyArray want = load(e);
        cr_assert_eq(want.ndim, 3);
        cr_assert(im.h == want.shape[0] && im.w == want.shape[1] && im.c == 3, "%s: %dx%dx%d", p, im.w, im.h, im.c);
        int maxerr = 0;
        const uint8_t *w = want.data;
        for (size_t k = 0; k < want.count; k++) {
            int err = abs((int)im.data[k] - (int)w[k]);
            if (err > maxerr) maxerr = err;
        }
        if (d->jpeg) cr_log_info("%s: max |opencv - pil| = %d", p, maxerr);
        // JPEG: OpenCV's and Pillow's libjpeg builds may differ by one level; all others exact.
        cr_assert(maxerr <= (d->jpeg ? 1 : 0), "%s: max |opencv - pil| = %d", p, maxerr);
        int sw, sh;
        cr_assert_eq(image_size(p, &sw, &sh), 0, "%s", ad_last_error());
        cr_assert(sw == im.w && sh == im.h, "%s: image_size %dx%d", p, sw, sh);

        ImageF f;
        cr_assert_eq(image_read_rgbf(p, &f), 0, "%s", ad_last_error());
        cr_assert(f.w == im.w && f.h == im.h && f.c == 3);
        if (d->has_raw) {
            char *r = ad_sprintf(G "%s.rawrgb.npy", d->stem);
            NpyArray raw = load(r);
            const int32_t *rv = raw.data;
            double scale = d->bits == 16 ? 65535.0 : 255.0;
            cr_assert_eq(raw.count, (size_t)f.w * f.h * 3);
            for (size_t k = 0; k < raw.count; k++)
                cr_assert_eq(f.data[k], (float)(rv[k] / scale), "%s[%zu]: %g vs raw %d", p, k, f.data[k], rv[k]);
            npy_free(&raw);
            free(r);
        } else {
            for (size_t k = 0; k < want.count; k++) cr_assert_eq(f.data[k], (float)(im.data[k] / 255.0));
        }
        image_f_free(&f);
        npy_free(&want);
        image_u8_free(&im);
        free(p);
        free(e);
    }
}

Test(image, masks_raw_gray_and_any_channel_nonzero) {
    const char *names[] = {"mask_gray", "mask_rgb", "mask_pal"};
    for (int i = 0; i < 3; i++) {
        char *p = ad_sprintf(G "%s.png", names[i]), *e = ad_sprintf(G "%s.npy", names[i]);
        ImageU8 m = read_gray_png(p);
        NpyArray want = load(e);
        cr_assert(m.c == 1 && m.h == want.shape[0] && m.w == want.shape[1]);
        cr_assert(!memcmp(m.data, want.data, want.count), "%s differs from the expected mask", p);
        npy_free(&want);
        image_u8_free(&m);
        free(p);
        free(e);
    }
    // Bilevel and palette BMP/TIFF masks: nonzero exactly where the source masks are nonzero.
    NpyArray g = load(G "mask_gray.npy"), c = load(G "mask_rgb.npy");
    const char *bilevel[] = {G "mode_1.bmp", G "mode_1.tif"}, *palette[] = {G "mode_p.bmp", G "mode_p.tif"};
    for (int i = 0; i < 2; i++) {
        ImageU8 a = read_gray_png(bilevel[i]), b = read_gray_png(palette[i]);
        for (size_t k = 0; k < g.count; k++) {
            cr_assert_eq(a.data[k] != 0, ((uint8_t *)g.data)[k] != 0, "%s[%zu]", bilevel[i], k);
            cr_assert_eq(b.data[k] != 0, ((uint8_t *)c.data)[k] != 0, "%s[%zu]", palette[i], k);
        }
        image_u8_free(&a);
        image_u8_free(&b);
    }
    npy_free(&g);
    npy_free(&c);
    // The gray mask keeps its raw values (1 and 37 are not turned into 255).
    ImageU8 m = read_gray_png(G "mask_gray.png");
    cr_assert_eq(m.data[15 * m.w + 20], 1);
    cr_assert_eq(m.data[16 * m.w + 2], 37);
    image_u8_free(&m);
}

Test(image, real_screw_png_and_mask) {
    char *p = screw("test/scratch_head/000.png"), *mp = screw("ground_truth/scratch_head/000_mask.png");
    ImageU8 im;
    cr_assert_eq(image_read_rgb8(p, &im), 0, "%s", ad_last_error());
    cr_assert(im.w == 1024 && im.h == 1024 && im.c == 3);
    for (size_t k = 0; k < (size_t)im.w * im.h; k++)
        cr_assert(im.data[3 * k] == im.data[3 * k + 1] && im.data[3 * k] == im.data[3 * k + 2]);
    int w, h;
    cr_assert_eq(image_size(p, &w, &h), 0);
    cr_assert(w == 1024 && h == 1024);
    ImageU8 m = read_gray_png(mp);
    cr_assert(m.w == 1024 && m.h == 1024 && m.c == 1);
    size_t pos = 0;
    for (size_t k = 0; k < (size_t)m.w * m.h; k++) {
        cr_assert(m.data[k] == 0 || m.data[k] == 255);
        pos += m.data[k] != 0;
    }
    cr_assert(pos > 100, "the scratch_head mask has a defect region");
    image_u8_free(&m);
    image_u8_free(&im);
    free(p);
    free(mp);
}

// Every bad input fails with a message that names the file and says what was expected.
static void expect_fail(const char *path, const char *needle) {
    ImageU8 im;
    ImageF f;
    int w, h;
    cr_assert_eq(image_read_rgb8(path, &im), -1, "%s should fail", path);
    const char *msg = ad_last_error();
    cr_assert(strstr(msg, path), "message does not name the file: %s", msg);
    cr_assert(strstr(msg, "expected"), "message lacks 'expected': %s", msg);
    cr_assert(strstr(msg, "Fix:"), "message lacks 'Fix:': %s", msg);
    cr_assert(strstr(msg, needle), "message lacks '%s': %s", needle, msg);
    cr_assert_eq(image_read_rgbf(path, &f), -1);
    cr_assert(strstr(ad_last_error(), path));
    cr_assert_eq(mask_read(path, &im), -1);
    cr_assert(strstr(ad_last_error(), path));
    if (strcmp(needle, "truncated") && strcmp(needle, "CRC")) {  // header-only parse may succeed
        cr_assert_eq(image_size(path, &w, &h), -1, "image_size(%s) should fail", path);
        cr_assert(strstr(ad_last_error(), path));
    }
}

static void write_bytes(const char *path, const void *b, size_t n) {
    FILE *f = fopen(path, "wb");
    cr_assert(f);
    fwrite(b, 1, n, f);
    fclose(f);
}

Test(image, bad_files_are_named_in_the_error) {
    char *dir = make_tmpdir("image");
    char *missing = ad_sprintf("%s/nope.png", dir);
    expect_fail(missing, "No such file");
    char *empty = ad_sprintf("%s/empty.png", dir);
    write_bytes(empty, "", 0);
    expect_fail(empty, "empty file");
    char *text = ad_sprintf("%s/notes.png", dir);
    write_bytes(text, "hello world", 11);
    expect_fail(text, "hello wo");
    expect_fail(dir, "Is a directory");

    size_t n;
    char *png = slurp(G "dec_rgb8.png", &n);
    char *tpng = ad_sprintf("%s/trunc.png", dir);
    write_bytes(tpng, png, n * 2 / 3);
    expect_fail(tpng, "truncated");
    char *cpng = ad_sprintf("%s/crc.png", dir);
    png[n / 2] ^= 0x5A;
    write_bytes(cpng, png, n);
    expect_fail(cpng, "CRC");
    free(png);

    char *jpg = slurp(G "dec_rgb.jpg", &n);
    char *tjpg = ad_sprintf("%s/trunc.jpg", dir);
    write_bytes(tjpg, jpg, n - 40);
    expect_fail(tjpg, "truncated");
    for (size_t i = 0; i + 7 < n; i++)  // SOF0 with height 0: libjpeg refuses it
        if ((unsigned char)jpg[i] == 0xFF && (unsigned char)jpg[i + 1] == 0xC0) { jpg[i + 5] = 0; jpg[i + 6] = 0; break; }
    char *zjpg = ad_sprintf("%s/zero.jpg", dir);
    write_bytes(zjpg, jpg, n);
    expect_fail(zjpg, "JPEG");
    free(zjpg);
    free(jpg);
    char *bmp = slurp(G "dec_rgb.bmp", &n);
    char *tbmp = ad_sprintf("%s/trunc.bmp", dir);
    write_bytes(tbmp, bmp, 20);
    expect_fail(tbmp, "truncated");
    free(bmp);
    char *tif = slurp(G "dec_rgb.tif", &n);
    char *ttif = ad_sprintf("%s/trunc.tif", dir);
    write_bytes(ttif, tif, n / 2);
    {
        ImageU8 im;
        cr_assert_eq(image_read_rgb8(ttif, &im), -1);
        cr_assert(strstr(ad_last_error(), ttif) && strstr(ad_last_error(), "TIFF"), "%s", ad_last_error());
    }
    free(tif);
    rm_rf(dir);
    free(missing); free(empty); free(text); free(tpng); free(cpng); free(tjpg); free(tbmp); free(ttif);
    free(dir);
}

Test(image, pil_forced_nearest_modes) {
    // tests/golden/image/pil_forces_nearest.txt: "<file> <1 if PIL opens it as mode 1/P>".
    char *txt = slurp(G "pil_forces_nearest.txt", NULL);
    cr_assert(txt);
    int lines = 0, ones = 0;
    for (char *line = strtok(txt, "\n"); line; line = strtok(NULL, "\n")) {
        char name[128];
        int want;
        cr_assert_eq(sscanf(line, "%127s %d", name, &want), 2);
        char *p = ad_sprintf(G "%s", name);
        int got = image_pil_forces_nearest(p);
        cr_assert_eq(got, want, "%s: image_pil_forces_nearest = %d, PIL says %d (%s)", p, got, want,
                     got < 0 ? ad_last_error() : "");
        lines++;
        ones += want;
        free(p);
    }
    cr_assert(lines >= 18 && ones >= 7);
    free(txt);
    cr_assert_eq(image_pil_forces_nearest("tests/golden/image/nope.png"), -1);
    cr_assert(strstr(ad_last_error(), "nope.png"));
}

// Damaged JPEG data (entropy-coded bytes flipped, file complete): libjpeg recovers and Pillow
// would load it; we load it too, and nothing may reach stderr (OpenCV's libjpeg would print).
Test(image, damaged_jpeg_and_odd_png_are_silent, .init = cr_redirect_stderr) {
    size_t n;
    char *jpg = slurp(G "dec_rgb.jpg", &n);
    char *dir = make_tmpdir("image"), *p = ad_sprintf("%s/damaged.jpg", dir);
    size_t sos = 0;
    for (size_t i = 0; i + 1 < n; i++)
        if ((unsigned char)jpg[i] == 0xFF && (unsigned char)jpg[i + 1] == 0xDA) sos = i;
    cr_assert(sos > 0 && sos + 80 < n);
    for (size_t k = sos + 40; k < sos + 60; k++) jpg[k] ^= 0x37;
    write_bytes(p, jpg, n);
    ImageU8 im;
    cr_assert_eq(image_read_rgb8(p, &im), 0, "%s", ad_last_error());
    cr_assert(im.w == 31 && im.h == 23);
    image_u8_free(&im);
    // A PNG whose ancillary chunks make libpng warn (bad sRGB intent, short iCCP, empty keyword).
    cr_assert_eq(image_read_rgb8(G "dec_warn.png", &im), 0, "%s", ad_last_error());
    image_u8_free(&im);
    cr_assert_eq(mask_read(G "dec_warn.png", &im), 0, "%s", ad_last_error());
    image_u8_free(&im);
    fflush(stderr);
    cr_assert_stderr_eq_str("", "libjpeg/libpng warnings leaked to stderr");
    rm_rf(dir);
    free(p); free(dir); free(jpg);
}

// --- writers --------------------------------------------------------------------------------

Test(image, png_writer_roundtrip_and_overlay) {
    char *dir = make_tmpdir("image");
    ImageU8 rgb;
    cr_assert_eq(image_read_rgb8(G "dec_rgb8.png", &rgb), 0);
    char *p3 = ad_sprintf("%s/rgb.png", dir);
    cr_assert_eq(image_write_png(p3, &rgb), 0, "%s", ad_last_error());
    ImageU8 back;
    cr_assert_eq(image_read_rgb8(p3, &back), 0);
    cr_assert(back.w == rgb.w && back.h == rgb.h && !memcmp(back.data, rgb.data, (size_t)rgb.w * rgb.h * 3));
    image_u8_free(&back);

    ImageU8 g = read_gray_png(G "mask_gray.png");
    char *p1 = ad_sprintf("%s/gray.png", dir);
    cr_assert_eq(image_write_png(p1, &g), 0, "%s", ad_last_error());
    ImageU8 gb = read_gray_png(p1);
    cr_assert(gb.w == g.w && gb.h == g.h && !memcmp(gb.data, g.data, (size_t)g.w * g.h));
    image_u8_free(&gb);
    image_u8_free(&g);

    // Overlay: a 4x3 map that is hot in its right column.
    float map[12] = {0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1};
    char *po = ad_sprintf("%s/overlay.png", dir);
    cr_assert_eq(image_write_overlay_png(po, &rgb, map, 4, 3, 0.0f, 1.0f), 0, "%s", ad_last_error());
    ImageU8 ov;
    cr_assert_eq(image_read_rgb8(po, &ov), 0, "%s", ad_last_error());
    cr_assert(ov.w == rgb.w && ov.h == rgb.h);
    // Jet: cold = blue, hot = red; blended 50% with the picture.
    size_t l = (size_t)(ov.h / 2) * ov.w * 3, r = l + (size_t)(ov.w - 1) * 3;
    int dl = (int)ov.data[l + 2] - (int)rgb.data[l + 2] / 2;   // blue share, left
    int dr = (int)ov.data[r + 0] - (int)rgb.data[r + 0] / 2;   // red share, right
    cr_assert(dl > 40 && dr > 40, "left blue %d, right red %d", dl, dr);
    image_u8_free(&ov);

    char *bad = ad_sprintf("%s/no/such/dir/x.png", dir);
    cr_assert_eq(image_write_png(bad, &rgb), -1);
    cr_assert(strstr(ad_last_error(), bad), "%s", ad_last_error());
    image_u8_free(&rgb);
    rm_rf(dir);
    free(dir); free(p3); free(p1); free(po); free(bad);
}

// --- rotation ---------------------------------------------------------------------------------

static void check_rotation(const char *src_npy, const char *want_npy, double deg) {
    NpyArray s = load(src_npy), want = load(want_npy);
    ImageU8 in = {(int)s.shape[1], (int)s.shape[0], (int)s.shape[2], s.data}, out;
    image_rotate_u8(&out, &in, deg);
    cr_assert(out.w == in.w && out.h == in.h && out.c == in.c);
    size_t bad = 0;
    const uint8_t *w = want.data;
    for (size_t k = 0; k < want.count; k++) bad += out.data[k] != w[k];
    cr_assert_eq(bad, 0, "%s: %zu of %zu values differ from the cv2 emulation", want_npy, bad, want.count);
    image_u8_free(&out);
    npy_free(&s);
    npy_free(&want);
}

Test(image, rotation_matches_cv2_warpaffine) {
    check_rotation(G "rot_src.npy", G "rot_45.npy", 45);
    check_rotation(G "rot_src.npy", G "rot_90.npy", 90);
    check_rotation(G "rot_src.npy", G "rot_135.npy", 135);
    check_rotation(G "rot_src.npy", G "rot_180.npy", 180);
    check_rotation(G "rot_src.npy", G "rot_30.npy", 30);
    check_rotation(G "rot_src.npy", G "rot_m17p5.npy", -17.5);
    check_rotation(G "rot_screw_src.npy", G "rot_screw_225.npy", 225);
}

// --- Pillow resize ----------------------------------------------------------------------------

static int max_err_u8(const uint8_t *a, size_t sa, const uint8_t *b, size_t sb, size_t n) {
    int m = 0;
    for (size_t i = 0; i < n; i++) {
        int e = abs((int)a[i * sa] - (int)b[i * sb]);
        if (e > m) m = e;
    }
    return m;
}

// Resize the RGB image and compare every channel with the gray Pillow output.
static void check_screw_resize(const ImageU8 *rgb, const char *golden, Resample f) {
    ImageU8 want = read_gray_png(golden), out;
    pil_resize_u8(&out, rgb, want.w, want.h, f);
    cr_assert(out.c == 3);
    size_t n = (size_t)want.w * want.h;
    int m = 0;
    for (int c = 0; c < 3; c++) {
        int e = max_err_u8(out.data + c, 3, want.data, 1, n);
        if (e > m) m = e;
    }
    cr_log_info("%s: max |ours - Pillow| = %d", golden, m);
    cr_assert_eq(m, 0, "%s: max |ours - Pillow| = %d (Pillow-exact required)", golden, m);
    image_u8_free(&out);
    image_u8_free(&want);
}

static ImageU8 crop(const ImageU8 *im, int x0, int y0, int x1, int y1) {
    ImageU8 c = {x1 - x0, y1 - y0, im->c, ad_malloc((size_t)(x1 - x0) * (y1 - y0) * im->c)};
    for (int y = y0; y < y1; y++)
        memcpy(c.data + (size_t)(y - y0) * c.w * c.c, im->data + ((size_t)y * im->w + x0) * im->c, (size_t)c.w * c.c);
    return c;
}

Test(image, pil_resize_real_screw_images) {
    const char *imgs[] = {"train/good/000.png", "test/scratch_head/000.png"};
    const char *tags[] = {"good000", "head000"};
    struct { const char *tag; Resample f; int both; } cases[] = {
        {"518_bicubic", RESAMPLE_BICUBIC, 1},        {"518_bilinear", RESAMPLE_BILINEAR, 1},
        {"336_bicubic", RESAMPLE_BICUBIC, 0},        {"224_bilinear", RESAMPLE_BILINEAR, 0},
        {"448x600_bicubic", RESAMPLE_BICUBIC, 0},    {"1024x150_bilinear", RESAMPLE_BILINEAR, 0},
        {"150x1024_bicubic", RESAMPLE_BICUBIC, 0},   {"300x410_nearest", RESAMPLE_NEAREST, 0},
    };
    for (int i = 0; i < 2; i++) {
        char *p = screw(imgs[i]);
        ImageU8 rgb;
        cr_assert_eq(image_read_rgb8(p, &rgb), 0, "%s", ad_last_error());
        for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
            if (i == 1 && !cases[k].both) continue;
            char *g = ad_sprintf(G "pil_%s_%s.png", tags[i], cases[k].tag);
            check_screw_resize(&rgb, g, cases[k].f);
            free(g);
        }
        // Upscale of a crop: (x 300..437, y 100..261) -> 301 x 259.
        ImageU8 c = crop(&rgb, 300, 100, 437, 261);
        char *g1 = ad_sprintf(G "pil_%s_cropup_bicubic.png", tags[i]), *g2 = ad_sprintf(G "pil_%s_cropup_bilinear.png", tags[i]);
        check_screw_resize(&c, g1, RESAMPLE_BICUBIC);
        check_screw_resize(&c, g2, RESAMPLE_BILINEAR);
        free(g1);
        free(g2);
        image_u8_free(&c);
        image_u8_free(&rgb);
        free(p);
    }
}

Test(image, pil_resize_mask_musc_path) {
    char *p = screw("ground_truth/scratch_head/000_mask.png");
    ImageU8 m = read_gray_png(p), want = read_gray_png(G "pil_mask000_518_bilinear.png"), out;
    pil_resize_u8(&out, &m, 518, 518, RESAMPLE_BILINEAR);
    int e = max_err_u8(out.data, 1, want.data, 1, (size_t)518 * 518);
    cr_assert_eq(e, 0, "mask 1024->518 bilinear: max |ours - Pillow| = %d", e);
    image_u8_free(&out);
    image_u8_free(&want);
    image_u8_free(&m);
    free(p);
}

Test(image, pil_resize_synthetic_rgb) {
    ImageU8 src;
    cr_assert_eq(image_read_rgb8(G "dec_rgb8.png", &src), 0);
    struct { const char *tag; int w, h; Resample f; } cases[] = {
        {"17x11_bicubic", 17, 11, RESAMPLE_BICUBIC}, {"17x11_bilinear", 17, 11, RESAMPLE_BILINEAR},
        {"64x50_bicubic", 64, 50, RESAMPLE_BICUBIC}, {"45x23_bilinear", 45, 23, RESAMPLE_BILINEAR},
        {"31x9_bicubic", 31, 9, RESAMPLE_BICUBIC},   {"13x40_nearest", 13, 40, RESAMPLE_NEAREST},
        {"62x46_nearest", 62, 46, RESAMPLE_NEAREST},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char *g = ad_sprintf(G "pil_rgb_%s.npy", cases[k].tag);
        NpyArray want = load(g);
        ImageU8 out;
        pil_resize_u8(&out, &src, cases[k].w, cases[k].h, cases[k].f);
        cr_assert(want.shape[0] == out.h && want.shape[1] == out.w && want.shape[2] == 3);
        int e = max_err_u8(out.data, 1, want.data, 1, want.count);
        cr_assert_eq(e, 0, "%s: max |ours - Pillow| = %d", g, e);
        image_u8_free(&out);
        npy_free(&want);
        free(g);
    }
    image_u8_free(&src);
}

Test(image, pil_resize_fast_equals_naive_any_threads) {
    // Awkward shapes and channel counts, both directions, both filters.
    int shapes[][4] = {{1, 1, 5, 3}, {7, 5, 3, 2}, {50, 3, 7, 40}, {33, 65, 33, 20}, {20, 64, 20, 64}, {9, 2, 100, 1}};
    for (int c = 1; c <= 4; c++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            for (int f = RESAMPLE_BILINEAR; f <= RESAMPLE_BICUBIC; f++) {
                int iw = shapes[s][0], ih = shapes[s][1], ow = shapes[s][2], oh = shapes[s][3];
                ImageU8 in = {iw, ih, c, ad_malloc((size_t)iw * ih * c)}, a, b, t1;
                for (size_t k = 0; k < (size_t)iw * ih * c; k++) in.data[k] = (uint8_t)((k * 2654435761u) >> 13);
                pil_resize_u8(&a, &in, ow, oh, (Resample)f);
                pil_resize_u8_naive(&b, &in, ow, oh, (Resample)f);
                cr_assert(!memcmp(a.data, b.data, (size_t)ow * oh * c), "fast != naive %dx%d->%dx%d c%d f%d", iw, ih, ow, oh, c, f);
                int nt = omp_get_max_threads();
                omp_set_num_threads(1);
                pil_resize_u8(&t1, &in, ow, oh, (Resample)f);
                omp_set_num_threads(nt);
                cr_assert(!memcmp(a.data, t1.data, (size_t)ow * oh * c));
                image_u8_free(&a); image_u8_free(&b); image_u8_free(&t1); image_u8_free(&in);
            }
}

// --- torch / scipy float resamplers ------------------------------------------------------------

// Same integer formula as pattern() in tests/gen/gen_image.py (exact in float32).
static float *pattern(size_t n, int seed) {
    float *x = ad_malloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++) {
        int64_t v = ((int64_t)i * (int64_t)i * 31 + (int64_t)i * 17 + (int64_t)seed * 101) % 2003;
        x[i] = (float)v / 1024.0f - 1.0f;
    }
    return x;
}

// max |got - want| / max(|want|, 1) over a strided view of got (rows/cols every `step`).
static double rel_err(const float *got, int gh, int gw, int C, int step, const NpyArray *want) {
    const float *w = want->data;
    int wh = (int)want->shape[0], ww = (int)want->shape[1];
    cr_assert(wh == (gh + step - 1) / step && ww == (gw + step - 1) / step, "golden shape %dx%d", wh, ww);
    double m = 0;
    for (int y = 0; y < wh; y++)
        for (int x = 0; x < ww; x++)
            for (int c = 0; c < C; c++) {
                double g = got[((size_t)y * step * gw + (size_t)x * step) * C + c], t = w[((size_t)y * ww + x) * C + c];
                double e = fabs(g - t) / fmax(fabs(t), 1.0);
                if (e > m) m = e;
            }
    return m;
}

// interp.c reproduces the arithmetic of the torch 1.13 build that made the goldens (including
// its FMAs), so every element is equal; the requirement was 1e-6 relative.
#define TORCH_TOL 0.0

static void check_bilinear(const char *g, int ih, int iw, int oh, int ow, int ac, int seed, int step) {
    float *in = pattern((size_t)ih * iw, seed), *out = ad_malloc(sizeof(float) * oh * ow);
    interp_bilinear(out, oh, ow, in, ih, iw, ac);
    NpyArray want = load(g);
    double e = rel_err(out, oh, ow, 1, step, &want);
    cr_log_info("%s: max rel err %.3g", g, e);
    cr_assert(e <= TORCH_TOL, "%s: max relative error %.3g vs torch", g, e);
    npy_free(&want);
    free(in);
    free(out);
}

Test(image, interp_bilinear_matches_torch) {
    check_bilinear(G "t_bil_37_518_ac1_s5.npy", 37, 37, 518, 518, 1, 1, 5);
    check_bilinear(G "t_bil_37_518_ac0_s5.npy", 37, 37, 518, 518, 0, 2, 5);
    check_bilinear(G "t_bil_13x17_61x40_ac0.npy", 13, 17, 61, 40, 0, 3, 1);
    check_bilinear(G "t_bil_13x17_61x40_ac1.npy", 13, 17, 61, 40, 1, 4, 1);
    check_bilinear(G "t_bil_28_224_ac0.npy", 28, 28, 224, 224, 0, 5, 3);
}

static void check_bicubic(const char *g, int ih, int iw, int oh, int ow, int C, int seed, double sh, double sw) {
    float *in = pattern((size_t)ih * iw * C, seed), *out = ad_malloc(sizeof(float) * oh * ow * C);
    interp_bicubic_torch(out, oh, ow, in, ih, iw, C, sh, sw);
    NpyArray want = load(g);
    cr_assert_eq(want.shape[2], C);
    double e = rel_err(out, oh, ow, C, 1, &want);
    cr_log_info("%s: max rel err %.3g", g, e);
    cr_assert(e <= TORCH_TOL, "%s: max relative error %.3g vs torch", g, e);
    npy_free(&want);
    free(in);
    free(out);
}

Test(image, interp_bicubic_matches_torch) {
    const int C = 4;
    check_bicubic(G "t_bic_24_37_size.npy", 24, 24, 37, 37, C, 11, 0, 0);
    check_bicubic(G "t_bic_16_37_size.npy", 16, 16, 37, 37, C, 12, 0, 0);
    double sf = (32 + 0.1) / 37;
    check_bicubic(G "t_bic_37_32_sf.npy", 37, 37, 32, 32, C, 13, sf, sf);
    check_bicubic(G "t_bic_37_32_size.npy", 37, 37, 32, 32, C, 13, 0, 0);
    check_bicubic(G "t_bic_37_32x48_sf.npy", 37, 37, 32, 48, C, 14, (32 + 0.1) / 37, (48 + 0.1) / 37);
}

Test(image, interp_bicubic_scale_factor_is_not_size) {
    // Using size= where the reference passed scale_factor= must fail the golden check.
    const int C = 4;
    float *in = pattern((size_t)37 * 37 * C, 13), *out = ad_malloc(sizeof(float) * 32 * 32 * C);
    interp_bicubic_torch(out, 32, 32, in, 37, 37, C, 0, 0);
    NpyArray want = load(G "t_bic_37_32_sf.npy");
    cr_assert(rel_err(out, 32, 32, C, 1, &want) > 1e-3);
    npy_free(&want);
    free(in);
    free(out);
}

static void check_gauss(const char *g, int h, int w, double sigma, int seed) {
    float *x = pattern((size_t)h * w, seed), *y = ad_malloc(sizeof(float) * h * w);
    memcpy(y, x, sizeof(float) * h * w);
    gaussian_filter2d(x, h, w, sigma);
    gaussian_filter2d_naive(y, h, w, sigma);
    cr_assert(!memcmp(x, y, sizeof(float) * h * w), "%s: fast != naive", g);
    NpyArray want = load(g);
    double e = rel_err(x, h, w, 1, 1, &want);
    cr_log_info("%s: max rel err %.3g", g, e);
    cr_assert(e == 0, "%s: max relative error %.3g vs scipy (bit-exact expected)", g, e);
    npy_free(&want);
    free(x);
    free(y);
}

Test(image, gaussian_filter_matches_scipy) {
    check_gauss(G "t_gauss_224_s4.npy", 224, 224, 4.0, 21);
    check_gauss(G "t_gauss_45x130_s4.npy", 45, 130, 4.0, 22);
    check_gauss(G "t_gauss_20x9_s4.npy", 20, 9, 4.0, 23);
    check_gauss(G "t_gauss_50x37_s1p5.npy", 50, 37, 1.5, 24);
    // Thread count does not change the result.
    float *a = pattern(224 * 224, 21), *b = pattern(224 * 224, 21);
    int nt = omp_get_max_threads();
    omp_set_num_threads(1);
    gaussian_filter2d(a, 224, 224, 4.0);
    omp_set_num_threads(2);
    gaussian_filter2d(b, 224, 224, 4.0);
    omp_set_num_threads(nt);
    cr_assert(!memcmp(a, b, sizeof(float) * 224 * 224));
    free(a);
    free(b);
}

Test(image, cv_linear_resize_agrees_with_half_pixel_bilinear) {
    // AnomalyDINO's cv2.resize path vs torch align_corners=False: same sampling grid (the
    // non-square shape also catches a width/height swap). OpenCV rounds the source coordinate
    // to float before taking its fraction (error up to ulp(coord)/2 = 9.5e-7 per axis for
    // coordinates < 32), torch keeps it in double; with steps up to 2 between neighbours and
    // float weight products this bounds the difference by about 1e-5 (measured: 5.9e-6).
    int shapes[][4] = {{32, 32, 448, 448}, {32, 48, 427, 640}, {13, 7, 5, 11}};
    for (int k = 0; k < 3; k++) {
        int ih = shapes[k][0], iw = shapes[k][1], oh = shapes[k][2], ow = shapes[k][3];
        float *in = pattern((size_t)ih * iw, 30 + k), *a = ad_malloc(sizeof(float) * oh * ow), *b = ad_malloc(sizeof(float) * oh * ow);
        image_resize_linear_cv(a, oh, ow, in, ih, iw);
        interp_bilinear(b, oh, ow, in, ih, iw, 0);
        double m = 0;
        for (size_t i = 0; i < (size_t)oh * ow; i++) m = fmax(m, fabs((double)a[i] - b[i]));
        cr_log_info("cv2 vs torch bilinear %dx%d->%dx%d: max abs diff %.3g", ih, iw, oh, ow, m);
        cr_assert(m < 1e-5, "%dx%d->%dx%d: cv2 and torch bilinear differ by %.3g", ih, iw, oh, ow, m);
        free(in); free(a); free(b);
    }
}

// Issue 12 item 13: a JPEG of a few hundred bytes claiming 65000^2 pixels reached the decoder
// (internal error, then SIGSEGV); 20000^2 decoded 1.2 GB. A pixel limit checked from the header.
static char *jpeg_with_size(const char *dir, const char *name, int w, int h) {
    size_t n;
    char *jpg = slurp(G "dec_rgb.jpg", &n);
    for (size_t i = 0; i + 9 < n; i++)
        if ((unsigned char)jpg[i] == 0xFF && (unsigned char)jpg[i + 1] == 0xC0) {
            jpg[i + 5] = (char)(h >> 8), jpg[i + 6] = (char)h, jpg[i + 7] = (char)(w >> 8), jpg[i + 8] = (char)w;
            break;
        }
    char *p = ad_sprintf("%s/%s", dir, name);
    write_bytes(p, jpg, n);
    free(jpg);
    return p;
}

Test(image, pixel_limit_checked_from_the_header) {
    char *dir = make_tmpdir("image");
    char *a = jpeg_with_size(dir, "huge.jpg", 65000, 65000), *b = jpeg_with_size(dir, "big.jpg", 20000, 20000);
    expect_fail(a, "claiming 65000x65000 = 4225000000 pixels");
    expect_fail(b, "at most 268435456 pixels");
    int w, h;
    cr_assert_eq(image_size(a, &w, &h), -1);
    cr_assert(strstr(ad_last_error(), "ADBENCH_MAX_PIXELS"), "%s", ad_last_error());
    // configurable
    setenv("ADBENCH_MAX_PIXELS", "500", 1);
    expect_fail(G "dec_rgb.jpg", "at most 500 pixels");
    expect_fail(G "dec_rgb8.png", "at most 500 pixels");
    expect_fail(G "dec_rgb.tif", "at most 500 pixels");
    unsetenv("ADBENCH_MAX_PIXELS");
    ImageU8 im;
    cr_assert_eq(image_read_rgb8(G "dec_rgb.jpg", &im), 0, "%s", ad_last_error());
    image_u8_free(&im);
    rm_rf(dir);
    free(a), free(b), free(dir);
}

// Issue 12 item 18: a BMP height of -2^31 was negated in an int (UB); it is a clear error.
Test(image, bmp_height_int_min_is_an_error) {
    size_t n;
    char *bmp = slurp(G "dec_rgb.bmp", &n);
    bmp[22] = 0, bmp[23] = 0, bmp[24] = 0, bmp[25] = (char)0x80;
    char *dir = make_tmpdir("image"), *p = ad_sprintf("%s/neg.bmp", dir);
    write_bytes(p, bmp, n);
    int w, h;
    cr_assert_eq(image_size(p, &w, &h), -1);
    cr_assert(strstr(ad_last_error(), "x2147483648 pixels"), "%s", ad_last_error());
    expect_fail(p, "2147483648");
    rm_rf(dir);
    free(bmp), free(p), free(dir);
}

// Issue 12 item 24: fixed "<path>.tmp" names (PNG writer, CoDeGraph diagnostics, synth
// manifest) collided between concurrent runs. Temporary names carry the pid and a random part.
Test(image, temporary_names_are_unique_per_process_and_call) {
    char *a = fs_tmp_name("/x/y.png"), *b = fs_tmp_name("/x/y.png");
    char *pid = ad_sprintf(".tmp.%d.", (int)getpid());
    cr_expect(strstr(a, pid) && strstr(b, pid), "%s %s", a, b);
    cr_expect_str_neq(a, b);
    free(a), free(b), free(pid);
    char *code = slurp("src/cv.cpp", NULL), *cg = slurp("methods/codegraph.c", NULL), *sy = slurp("datasets/synth.c", NULL);
    cr_assert(code && cg && sy);
    cr_expect(!strstr(code, "\".tmp\"") && !strstr(cg, "\"%s.tmp\"") && !strstr(sy, "\"%s.tmp\""), "a fixed .tmp name is left");
    free(code), free(cg), free(sy);
}

// Issue 12 item 20: a damaged CMYK JPEG printed a libjpeg warning on stderr (CMYK went to
// OpenCV's decoder). The silent decoder handles every colour space; CMYK pixels equal OpenCV's
// (golden dec_cmyk_jpg.rgb8.npy decoded by OpenCV 4.6; file made with libjpeg, JCS_CMYK).
Test(image, damaged_cmyk_jpeg_is_silent_and_decodes_like_opencv, .init = cr_redirect_stderr) {
    ImageU8 im;
    cr_assert_eq(image_read_rgb8(G "dec_cmyk.jpg", &im), 0, "%s", ad_last_error());
    NpyArray ref = load(G "dec_cmyk_jpg.rgb8.npy");
    cr_assert_eq(ref.count, (size_t)im.w * im.h * 3);
    cr_expect(!memcmp(ref.data, im.data, ref.count), "CMYK pixels differ from OpenCV's");
    npy_free(&ref);
    image_u8_free(&im);
    size_t n;
    char *jpg = slurp(G "dec_cmyk.jpg", &n);
    size_t sos = 0;
    for (size_t i = 0; i + 1 < n; i++)
        if ((unsigned char)jpg[i] == 0xFF && (unsigned char)jpg[i + 1] == 0xDA) sos = i;
    cr_assert(sos > 0 && sos + 40 < n);
    for (size_t k = sos + 18; k < sos + 24; k++) jpg[k] ^= 0x37;  // "Corrupt JPEG data: premature end"
    char *dir = make_tmpdir("image"), *p = ad_sprintf("%s/damaged_cmyk.jpg", dir);
    write_bytes(p, jpg, n);
    if (!image_read_rgb8(p, &im)) image_u8_free(&im);
    if (!mask_read(p, &im)) image_u8_free(&im);
    fflush(stderr);
    cr_assert_stderr_eq_str("", "libjpeg warnings leaked to stderr");
    rm_rf(dir);
    free(p), free(dir), free(jpg);
}

// Issue 12 item 19: OpenCV's exception text went into messages with its newline and its source
// paths ("OpenCV(4.6.0) ./modules/imgcodecs/src/loadsave.cpp:998: error: ...\n").
Test(image, opencv_errors_are_one_line_without_source_paths, .init = cr_redirect_stderr) {
    char *dir = make_tmpdir("image"), *p = ad_sprintf("%s/tall.png", dir);
    ImageU8 tall = {1, 1200000, 1, calloc(1200000, 1)};  // beyond libpng's height limit
    cr_assert_eq(image_write_png(p, &tall), -1);
    const char *e = ad_last_error();
    cr_expect(strstr(e, p) && strstr(e, "imencode"), "%s", e);
    cr_expect(!strchr(e, '\n') && !strstr(e, ".cpp") && !strstr(e, "modules/"), "%s", e);
    image_u8_free(&tall);
    rm_rf(dir);
    free(dir), free(p);
}
