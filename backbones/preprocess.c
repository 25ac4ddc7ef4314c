// Reference input pipelines (see preprocess.h).
#include "preprocess.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

static const float CLIP_MEAN[3] = {0.48145466f, 0.4578275f, 0.40821073f};
static const float CLIP_STD[3] = {0.26862954f, 0.26130258f, 0.27577711f};
static const float IMNET_MEAN[3] = {0.485f, 0.456f, 0.406f};
static const float IMNET_STD[3] = {0.229f, 0.224f, 0.225f};

// torchvision _compute_resized_output_size for an int size: shorter side -> size, the longer
// side -> int(size * long / short) (Python float division, truncated).
static void shorter_side(int *ow, int *oh, int w, int h, int size) {
    int shrt = w <= h ? w : h, lng = w <= h ? h : w;
    int nl = (int)((double)size * lng / shrt);
    if (w <= h) *ow = size, *oh = nl;
    else *ow = nl, *oh = size;
}

void vit_preprocess_u8(float **out, int *H, int *W, const ImageU8 *img, PrepKind kind, int clip, int size, int patch) {
    AD_ASSERT(img->c == 3 && size > 0 && patch > 0);
    int ow = size, oh = size;
    Resample f = RESAMPLE_BICUBIC;
    const float *mean = IMNET_MEAN, *std = IMNET_STD;
    if (kind == PREP_MUSC) {
        if (clip) mean = CLIP_MEAN, std = CLIP_STD;
        else f = RESAMPLE_BILINEAR;
    } else {
        shorter_side(&ow, &oh, img->w, img->h, size);
    }
    ImageU8 r = {0};
    pil_resize_u8(&r, img, ow, oh, f);
    int cw = ow, ch = oh;
    if (kind == PREP_ANOMALYDINO) cw -= cw % patch, ch -= ch % patch;  // crop bottom/right
    float *t = ad_malloc((size_t)3 * cw * ch * sizeof(float));
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < ch; y++)
            for (int x = 0; x < cw; x++) {
                float v = (float)r.data[((size_t)y * ow + x) * 3 + c] / 255.0f;  // ToTensor
                t[((size_t)c * ch + y) * cw + x] = (v - mean[c]) / std[c];       // Normalize
            }
    image_u8_free(&r);
    *out = t, *H = ch, *W = cw;
}

int vit_preprocess_file(float **out, int *H, int *W, const char *path, PrepKind kind, int clip, int size, int patch) {
    ImageU8 img = {0};
    if (image_read_rgb8(path, &img)) return -1;
    vit_preprocess_u8(out, H, W, &img, kind, clip, size, patch);
    image_u8_free(&img);
    return 0;
}

void resize_center_crop_u8(ImageU8 *out, const ImageU8 *in, int resize, int crop, Resample f) {
    ImageU8 r = {0};
    const ImageU8 *src = in;
    if (resize > 0) {
        int ow, oh;
        shorter_side(&ow, &oh, in->w, in->h, resize);
        pil_resize_u8(&r, in, ow, oh, f);
        src = &r;
    }
    int cw = crop > 0 ? crop : src->w, ch = crop > 0 ? crop : src->h;
    AD_ASSERT(cw <= src->w && ch <= src->h);
    int top = (int)nearbyint((src->h - ch) / 2.0), left = (int)nearbyint((src->w - cw) / 2.0);  // half to even
    out->w = cw, out->h = ch, out->c = src->c;
    out->data = ad_malloc((size_t)cw * ch * src->c);
    for (int y = 0; y < ch; y++)
        memcpy(out->data + (size_t)y * cw * src->c, src->data + ((size_t)(y + top) * src->w + left) * src->c,
               (size_t)cw * src->c);
    image_u8_free(&r);
}

void cnn_preprocess_u8(float **out, int *H, int *W, const ImageU8 *img, int resize, int crop) {
    AD_ASSERT(img->c == 3);
    ImageU8 r = {0};
    resize_center_crop_u8(&r, img, resize, crop, RESAMPLE_BILINEAR);
    size_t hw = (size_t)r.w * r.h;
    float *t = ad_malloc(3 * hw * sizeof(float));
    for (int c = 0; c < 3; c++)
        for (size_t q = 0; q < hw; q++) t[c * hw + q] = ((float)r.data[q * 3 + c] / 255.0f - IMNET_MEAN[c]) / IMNET_STD[c];
    *out = t, *H = r.h, *W = r.w;
    image_u8_free(&r);
}
