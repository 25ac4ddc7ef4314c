// Map pictures for save_maps: the image, its heat map and the ground truth, side by side.
#include "map_png.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "image.h"
#include "preprocess.h"  // resize_center_crop_u8

void map_png_jet(float t, unsigned char *rgb) {
    // Matplotlib-like jet: blue -> cyan -> yellow -> red.
    float r = 1.5f - fabsf(4 * t - 3), g = 1.5f - fabsf(4 * t - 2), b = 1.5f - fabsf(4 * t - 1);
    float c[3] = {r, g, b};
    for (int k = 0; k < 3; k++) rgb[k] = (unsigned char)(255 * (c[k] < 0 ? 0 : c[k] > 1 ? 1 : c[k]) + 0.5f);
}

// image | heat map | ground truth, side by side, at the evaluation resolution.
int map_png_write(const char *dir, const Sample *s, const float *map, const unsigned char *mask, int W, int H,
                        int crop_resize, float lo, float hi) {
    ImageU8 im = {0}, rs = {0};
    if (image_read_rgb8(s->path, &im)) return -1;
    const ImageU8 *src = &im;
    if (crop_resize) {
        resize_center_crop_u8(&rs, &im, crop_resize, W, RESAMPLE_BILINEAR);
        src = &rs;
    } else if (im.w != W || im.h != H) {
        pil_resize_u8(&rs, &im, W, H, RESAMPLE_BILINEAR);
        src = &rs;
    }
    ImageU8 out = {3 * W, H, 3, ad_malloc((size_t)9 * W * H)};
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            unsigned char *o = out.data + ((size_t)y * out.w + x) * 3;
            memcpy(o, src->data + ((size_t)y * W + x) * 3, 3);
            float t = hi > lo ? (map[(size_t)y * W + x] - lo) / (hi - lo) : 0;
            map_png_jet(t < 0 ? 0 : t > 1 ? 1 : t, o + 3 * W);
            unsigned char g = mask && mask[(size_t)y * W + x] ? 255 : 0;
            o[6 * W] = o[6 * W + 1] = o[6 * W + 2] = g;
        }
    const char *base = strrchr(s->path, '/');
    base = base ? base + 1 : s->path;
    char *stem = ad_strdup(base);
    char *dot = strrchr(stem, '.');
    if (dot) *dot = 0;
    char *path = ad_sprintf("%s/%s_%s.png", dir, s->defect ? s->defect : "x", stem);
    int rc = image_write_png(path, &out);
    free(path);
    free(stem);
    free(out.data);
    image_u8_free(&im);
    image_u8_free(&rs);
    return rc;
}
