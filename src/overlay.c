// Overlay pictures: image + jet heat map + colour bar + header + ground-truth outline.
#include "overlay.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"  // fnv1a64
#include "err.h"
#include "overlay_draw.h"
#include "preprocess.h"  // resize_center_crop_u8

void overlay_jet(float t, unsigned char *rgb) {
    // Matplotlib-like jet: blue -> cyan -> yellow -> red.
    float r = 1.5f - fabsf(4 * t - 3), g = 1.5f - fabsf(4 * t - 2), b = 1.5f - fabsf(4 * t - 1);
    float c[3] = {r, g, b};
    for (int k = 0; k < 3; k++) rgb[k] = (unsigned char)(255 * (c[k] < 0 ? 0 : c[k] > 1 ? 1 : c[k]) + 0.5f);
}

static const uint8_t BG[3] = {30, 30, 30}, FG[3] = {240, 240, 240}, DIM[3] = {170, 170, 170}, GT[3] = {255, 255, 255};

static float unit(float v, float lo, float hi) {
    float t = hi > lo ? (v - lo) / (hi - lo) : 0;
    return t > 0 ? (t < 1 ? t : 1) : 0;  // NaN -> 0
}

void overlay_render(ImageU8 *out, const OverlaySpec *s, OverlayLayout *lay) {
    const ImageU8 *im = s->img;
    int W = im->w, H = im->h;
    int k = W < OVERLAY_MIN_SIDE ? (OVERLAY_MIN_SIDE + W - 1) / W : 1;
    while (k > 1 && H * k > 2048) k--;  // a thin, tall image: enlarge less
    int D = W * k, DH = H * k;
    // Text grows with the picture: 0.42 (about 9 px caps) up to 400 px, then proportionally.
    double ts = 0.42 * (D > 400 ? D / 400.0 : 1.0), ts2 = 0.85 * ts;
    int th = ts > 0.8 ? 2 : 1, m = (int)lrint(8 * ts / 0.42);
    char lab_hi[32], lab_lo[32], lab_mid[32];
    snprintf(lab_hi, sizeof lab_hi, "%.4g", s->hi);
    snprintf(lab_lo, sizeof lab_lo, "%.4g", s->lo);
    snprintf(lab_mid, sizeof lab_mid, "%.4g", 0.5 * ((double)s->lo + s->hi));
    int w1, h1, w2 = 0, h2 = 0, lw = 0, lh = 0, tw, thh;
    draw_text_size(s->title ? s->title : "", ts, th, &w1, &h1);
    if (s->scale_note) draw_text_size(s->scale_note, ts2, 1, &w2, &h2);
    const char *labs[3] = {lab_hi, lab_mid, lab_lo};
    for (int i = 0; i < 3; i++) {
        draw_text_size(labs[i], ts2, 1, &tw, &thh);
        lw = tw > lw ? tw : lw, lh = thh > lh ? thh : lh;
    }
    int header = m + h1 + (s->scale_note ? m / 2 + h2 : 0) + m;
    int bar_w = (int)lrint(14 * ts / 0.42), bar_x = m + D + m, lab_x = bar_x + bar_w + m / 2;
    int cw = lab_x + lw + m, ch = header + DH + m;
    int need = (w1 > w2 ? w1 : w2) + 2 * m;
    if (cw < need) cw = need;
    out->w = cw, out->h = ch, out->c = 3;
    out->data = ad_malloc((size_t)cw * ch * 3);
    draw_rect(out, 0, 0, cw - 1, ch - 1, BG, 1);
    // Image (enlarged k x) and its jet map, blended.
    int ix = m, iy = header;
    ImageU8 big = {D, DH, 3, ad_malloc((size_t)D * DH * 3)}, heat = {D, DH, 3, ad_malloc((size_t)D * DH * 3)};
    for (int y = 0; y < DH; y++)
        for (int x = 0; x < D; x++) {
            size_t src = (size_t)(y / k) * W + x / k, dst = ((size_t)y * D + x) * 3;
            memcpy(big.data + dst, im->data + src * 3, 3);
            overlay_jet(unit(s->map[src], s->lo, s->hi), heat.data + dst);
        }
    for (int y = 0; y < DH; y++) memcpy(out->data + ((size_t)(iy + y) * cw + ix) * 3, big.data + (size_t)y * D * 3, (size_t)D * 3);
    draw_blend(out, ix, iy, &heat, OVERLAY_ALPHA);
    image_u8_free(&big);
    image_u8_free(&heat);
    int nc = s->mask ? draw_mask_contour(out, ix, iy, s->mask, W, H, k, GT, D >= 800 ? 2 : 1) : 0;
    // Colour bar: hi at the top, lo at the bottom, with three labels.
    for (int y = 0; y < DH; y++) {
        uint8_t c[3];
        overlay_jet(DH > 1 ? 1.0f - (float)y / (DH - 1) : 1.0f, c);
        for (int x = 0; x < bar_w; x++) memcpy(out->data + ((size_t)(iy + y) * cw + bar_x + x) * 3, c, 3);
    }
    draw_rect(out, bar_x - 1, iy - 1, bar_x + bar_w, iy + DH, DIM, 0);
    draw_text(out, lab_x, iy + lh, lab_hi, ts2, FG, 1);
    draw_text(out, lab_x, iy + DH / 2 + lh / 2, lab_mid, ts2, FG, 1);
    draw_text(out, lab_x, iy + DH, lab_lo, ts2, FG, 1);
    // Header.
    if (s->title) draw_text(out, m, m + h1, s->title, ts, FG, th);
    if (s->scale_note) draw_text(out, m, m + h1 + m / 2 + h2, s->scale_note, ts2, DIM, 1);
    if (lay) *lay = (OverlayLayout){ix, iy, k, bar_x, iy, bar_w, DH, nc};
}

int overlay_write_png(const char *path, const OverlaySpec *s) {
    ImageU8 out = {0};
    overlay_render(&out, s, NULL);
    int rc = image_write_png(path, &out);
    image_u8_free(&out);
    return rc;
}

int overlay_load_image(ImageU8 *out, const char *path, int W, int H, int crop_resize) {
    ImageU8 im = {0};
    if (image_read_rgb8(path, &im)) return -1;
    if (crop_resize) {
        resize_center_crop_u8(out, &im, crop_resize, W, RESAMPLE_BILINEAR);
        image_u8_free(&im);
    } else if (im.w != W || im.h != H) {
        pil_resize_u8(out, &im, W, H, RESAMPLE_BILINEAR);
        image_u8_free(&im);
    } else {
        *out = im;
    }
    return 0;
}

int overlay_write_for(const char *png_path, const char *image_path, const float *map, const unsigned char *mask, int W,
                      int H, int crop_resize, float lo, float hi, const char *title, const char *scale_note) {
    ImageU8 im = {0};
    if (overlay_load_image(&im, image_path, W, H, crop_resize)) return -1;
    OverlaySpec sp = {&im, map, mask, lo, hi, title, scale_note};
    int rc = overlay_write_png(png_path, &sp);
    image_u8_free(&im);
    return rc;
}

char *overlay_sanitize(const char *label) {
    size_t n = strlen(label);
    char *o = ad_malloc(n + 1);
    for (size_t i = 0; i <= n; i++) {
        char c = label[i];
        int keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("._-=+", c);
        o[i] = !c ? 0 : c == ',' ? '+' : keep ? c : '-';
    }
    if (n > 100) {
        uint64_t h = fnv1a64(FNV1A64_INIT, label, n);
        char *t = ad_sprintf("%.80s~%016llx", o, (unsigned long long)h);
        free(o);
        o = t;
    }
    return o;
}

char *overlay_dir(const char *out_dir, const char *dataset, const char *category, const char *method,
                  const char *variant) {
    char *v = overlay_sanitize(variant ? variant : "");
    char *d = ad_sprintf("%s/pictures/%s/%s/%s%s%s", out_dir, dataset, category, method, *v ? "@" : "", v);
    free(v);
    return d;
}

char *overlay_stem(const char *path) {
    const char *base = strrchr(path, '/');
    return ds_stem(base ? base + 1 : path);
}

int overlay_write_sample(const char *dir, const Sample *s, const float *map, const unsigned char *mask, int W, int H,
                         int crop_resize, float lo, float hi, double score) {
    const char *defect = s->defect ? s->defect : "unknown";
    char *title = s->label ? ad_sprintf("score %.4g  defect: %s", score, defect) : ad_sprintf("score %.4g  %s", score, defect);
    char *stem = overlay_stem(s->path);
    char *path = ad_sprintf("%s/%s_%s.png", dir, defect, stem);
    int rc = overlay_write_for(path, s->path, map, mask, W, H, crop_resize, lo, hi, title,
                               "bar: min..max of this category's maps");
    free(path), free(stem), free(title);
    return rc;
}
