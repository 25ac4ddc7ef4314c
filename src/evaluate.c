// Evaluation of one results row: patch maps -> the protocol's resolution -> image and pixel metrics.
#include "evaluate.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fsutil.h"
#include "image.h"
#include "overlay.h"
#include "preprocess.h"  // resize_center_crop_u8

void mask_binarise(unsigned char *m, long n, const char *rule) {
    int eq = !strcmp(rule, "eq255");
    for (long i = 0; i < n; i++) m[i] = eq ? m[i] == 255 : m[i] > 0;
}

void eval_curves_free(EvalCurves *c) {
    curve_free(&c->image_roc), curve_free(&c->image_pr), curve_free(&c->pixel_roc), curve_free(&c->pro);
}

int eval_map_size(const EvalConfig *ev, const char *image_path, int *W, int *H) {
    if (ev->resized) {
        *W = *H = ev->size;
        return 0;
    }
    return image_size(image_path, W, H);
}

double eval_map_full(float *out, int W, int H, const EvalConfig *ev, const MethodOutput *mo, int gh, int gw, int i) {
    int align = ev->resized ? (mo->half_pixel ? 0 : 1) : 0;
    interp_bilinear(out, H, W, mo->maps + (size_t)i * gh * gw, gh, gw, align);
    if (mo->smooth_sigma > 0) gaussian_filter2d(out, H, W, mo->smooth_sigma);
    if (!ev->image_score_max) return (double)mo->image_score[i];
    float mx = -INFINITY;
    for (size_t p = 0; p < (size_t)W * H; p++) mx = out[p] > mx ? out[p] : mx;
    return (double)mx;
}

const char *eval_mask_rule(const EvalConfig *ev, const char *adapter_mask_rule) {
    if (strcmp(ev->mask_rule, "auto")) return ev->mask_rule;
    return !ev->resized ? "gt0" : adapter_mask_rule ? adapter_mask_rule : "?";
}

int evaluate_maps(const EvalConfig *ev, const char *adapter_mask_rule, const Category *C, const MethodOutput *mo, int gh,
                  int gw, const char *pictures_dir, BinaryMetrics *bm, PixelMetrics *pm, EvalCurves *curves) {
    if (curves) memset(curves, 0, sizeof *curves);
    int n = C->n_test;
    int has_masks = category_has_masks(C);
    const char *rule = eval_mask_rule(ev, adapter_mask_rule);
    float **maps = ad_calloc((size_t)n, sizeof *maps);
    unsigned char **masks = ad_calloc((size_t)n, sizeof *masks);
    int *H = ad_calloc((size_t)n, sizeof *H), *W = ad_calloc((size_t)n, sizeof *W);
    double *scores = ad_calloc((size_t)n, sizeof *scores);
    uint8_t *labels = ad_calloc((size_t)n, sizeof *labels);
    int rc = 0;
    // Pass 1 (serial: file IO and error messages): sizes and masks.
    for (int i = 0; i < n && !rc; i++) {
        const Sample *s = &C->test[i];
        labels[i] = (uint8_t)(s->label != 0);
        if (eval_map_size(ev, s->path, &W[i], &H[i])) {
            rc = -1;
            break;
        }
        if (!has_masks) continue;
        size_t np = (size_t)W[i] * H[i];
        masks[i] = ad_calloc(np, 1);
        if (!s->mask_path) continue;
        ImageU8 m = {0};
        if (mask_read(s->mask_path, &m)) {
            rc = -1;
            break;
        }
        if (ev->resized) {
            // The same check as native: a mask of another size than its image is a damaged
            // tree, not something to resize (it was scored under resized:S).
            int iw, ih;
            if (image_size(s->path, &iw, &ih)) {
                rc = -1;
                image_u8_free(&m);
                break;
            }
            if (m.w != iw || m.h != ih) {
                rc = ad_error("%s: mask is %dx%d but its image %s is %dx%d. Fix: the dataset tree is damaged", s->mask_path,
                              m.w, m.h, s->path, iw, ih);
                image_u8_free(&m);
                break;
            }
            ImageU8 r = {0};
            if (ev->crop_resize)  // patchcore-inspection: Resize(R) + CenterCrop(S), bilinear
                resize_center_crop_u8(&r, &m, ev->crop_resize, W[i], RESAMPLE_BILINEAR);
            else
                pil_resize_u8(&r, &m, W[i], H[i], RESAMPLE_BILINEAR);
            memcpy(masks[i], r.data, np);
            image_u8_free(&r);
        } else {
            if (m.w != W[i] || m.h != H[i]) {
                rc = ad_error("%s: mask is %dx%d but its image %s is %dx%d. Fix: the dataset tree is damaged", s->mask_path,
                              m.w, m.h, s->path, W[i], H[i]);
                image_u8_free(&m);
                break;
            }
            memcpy(masks[i], m.data, np);
        }
        image_u8_free(&m);
        mask_binarise(masks[i], (long)np, rule);
    }
    // Pass 2 (parallel over images, each independent): upsample, smooth, image score.
    if (!rc) {
#pragma omp parallel for schedule(dynamic)
        for (int i = 0; i < n; i++) {
            maps[i] = ad_malloc((size_t)W[i] * H[i] * sizeof **maps);
            scores[i] = eval_map_full(maps[i], W[i], H[i], ev, mo, gh, gw, i);
        }
        if (metrics_image_curves(labels, scores, (size_t)n, bm, curves ? &curves->image_roc : NULL,
                                 curves ? &curves->image_pr : NULL))
            rc = -1;
    }
    if (!rc) {
        if (has_masks) {
            if (metrics_pixel_curves((const uint8_t *const *)masks, (const float *const *)maps, H, W, n, ev->pro_limit, pm,
                                     curves ? &curves->pixel_roc : NULL, curves ? &curves->pro : NULL))
                rc = -1;
        } else {
            pm->auroc = pm->ap = pm->f1max = pm->aupro = pm->aupro_musc = NAN;
        }
    }
    if (!rc && pictures_dir) {  // one colour range per category: pictures compare within it
        float lo = INFINITY, hi = -INFINITY;
        for (int i = 0; i < n; i++)
            for (size_t p = 0; p < (size_t)W[i] * H[i]; p++) {
                lo = maps[i][p] < lo ? maps[i][p] : lo;
                hi = maps[i][p] > hi ? maps[i][p] : hi;
            }
        if (fs_mkdirs(pictures_dir)) rc = -1;
        for (int i = 0; i < n && !rc; i++)
            if (overlay_write_sample(pictures_dir, &C->test[i], maps[i], masks[i], W[i], H[i], ev->crop_resize, lo, hi,
                                     scores[i]))
                rc = -1;
    }
    for (int i = 0; i < n; i++) free(maps[i]), free(masks[i]);
    free(maps), free(masks), free(H), free(W), free(scores), free(labels);
    return rc;
}
