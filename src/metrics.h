// Evaluation metrics, exactly as ../shared/docs/datasets_metrics.md Part B defines them
// (sklearn / official MVTec semantics). Double accumulation; ties grouped in the storage
// dtype of the scores. Degenerate inputs (no positive or no negative, no GT region) give NaN
// for the affected metrics, documented in the README; NaN/Inf scores are errors.
//
// Degenerate inputs, precisely (never 0, never a crash):
//   no positive:  auroc, ap, f1max, f1_threshold, aupro, aupro_musc = NaN
//   no negative:  auroc, aupro, aupro_musc = NaN; ap = f1max = 1 (as sklearn gives)
//   no GT region: aupro = aupro_musc = NaN (pixel level)
//   constant maps: aupro_musc = NaN (MuSc's np.arange fails there); fewer than 2 MuSc points
//   with FPR < limit, or a zero FPR span among them: aupro_musc = NaN.
//   all-equal scores otherwise follow sklearn exactly (auroc 0.5, ap = P/(P+N), ...).
// F1-max: positive iff score >= t; f1_threshold is the LOWEST score at which the maximum of
// 2TP/(2TP+FP+FN) is reached (the first arg-max over ascending thresholds, as anomalib).
#pragma once
#include <stddef.h>
#include <stdint.h>

typedef struct {
    double auroc, ap, f1max;
    double f1_threshold;  // the score at which F1-max is reached
} BinaryMetrics;

typedef struct {
    double auroc, ap, f1max;
    double aupro;       // official MVTec AU-PRO: exact curve, integrated to limit, / limit
    double aupro_musc;  // MuSc / CFlow 200-threshold variant (a different metric!)
    double f1_threshold;  // pixel score at which pixel F1-max is reached (added field)
} PixelMetrics;

// Curve points as the metrics walk produces them (x ascending). Pixel curves are thinned
// while recorded: a point is kept only once it moved >= step from the last kept one (x in
// units of the axis length), step doubling whenever CURVE_MAX_POINTS are kept, so curves of
// 1e8 pixels stay small; the first and last points are always kept. n = 0: undefined (NaN metric).
#define CURVE_MAX_POINTS 1000
typedef struct {
    double *x, *y;
    int n, cap;
} Curve;
void curve_free(Curve *c);
// Appends (x, y), growing the arrays as needed.
void curve_append(Curve *c, double x, double y);

// Image level. labels nonzero = anomalous. Returns 0, or -1 + ad_error (NaN/Inf score, n = 0).
int metrics_image(const uint8_t *labels, const double *scores, size_t n, BinaryMetrics *out);
// The same, also filling the image ROC (fpr, tpr from (0,0); its trapezoid area is the AUROC)
// and PR curve ((0,1), then recall, precision per threshold as sklearn's
// precision_recall_curve), every point kept. roc / pr may be NULL; free with curve_free.
int metrics_image_curves(const uint8_t *labels, const double *scores, size_t n, BinaryMetrics *out, Curve *roc,
                         Curve *pr);

// Pixel level over n maps pooled; image k has h[k] x w[k] pixels. masks[k] nonzero =
// anomalous pixel. Images may differ in size: GT regions are labelled per image
// (8-connected) and pooled, so AU-PRO and MuSc-PRO are defined for mixed sizes too (the
// official script stacks equal-size maps; for equal sizes the result is identical).
// pro_limit in (0, 1] (0.3 by default); the MuSc variant uses it as its strict FPR bound.
// Returns 0, or -1 + ad_error (NaN/Inf pixel named by image and position, bad limit, n = 0).
int metrics_pixel(const uint8_t *const *masks, const float *const *maps, const int *h, const int *w,
                  int n, double pro_limit, PixelMetrics *out);
// The same, also filling the pixel ROC (fpr, tpr) and the official PRO curve (fpr, pro) from
// (0,0) up to fpr = pro_limit (its trapezoid area / pro_limit is aupro), both thinned to at
// most CURVE_MAX_POINTS points. roc / pro may be NULL; free with curve_free.
int metrics_pixel_curves(const uint8_t *const *masks, const float *const *maps, const int *h, const int *w, int n,
                         double pro_limit, PixelMetrics *out, Curve *roc, Curve *pro);
// The same for float64 maps (ties grouped in float64; MuSc thresholds computed in float64
// in both cases). Needs about 16 bytes per pixel of work memory instead of about 2.
int metrics_pixel_f64(const uint8_t *const *masks, const double *const *maps, const int *h,
                      const int *w, int n, double pro_limit, PixelMetrics *out);
// Naive reference (qsort of all pixels, MuSc thresholds by a full scan each): slow, for tests.
int metrics_pixel_naive(const uint8_t *const *masks, const double *const *maps, const int *h,
                        const int *w, int n, double pro_limit, PixelMetrics *out);

// 8-connected components of mask != 0 (two-pass union-find). labels[i] = 0 for background,
// 1..count numbered in raster order of each region's first pixel (as scipy/skimage).
// Returns the region count.
int metrics_label_regions(int32_t *labels, const uint8_t *mask, int h, int w);
// Naive reference: flood fill.
int metrics_label_regions_naive(int32_t *labels, const uint8_t *mask, int h, int w);
