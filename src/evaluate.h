// Evaluation of one results row (the protocols are described in runner.h): the method's patch
// maps are upsampled to the evaluation resolution, smoothed as the method asks, and scored
// against the category's labels and masks.
#pragma once
#include "config.h"
#include "dataset.h"
#include "method.h"
#include "metrics.h"

// Binarise a mask in place: rule "eq255" (v == 255) or "gt0" (v > 0), giving 0/1.
void mask_binarise(unsigned char *m, long n, const char *rule);
// The mask rule a row is scored with: ev->mask_rule, or for "auto" the dataset's rule
// (adapter_mask_rule, "?" when NULL) under resized:S / center_crop and "gt0" at native size.
const char *eval_mask_rule(const EvalConfig *ev, const char *adapter_mask_rule);

// The curves behind a row's metrics (report: true; metrics.h Curve): image ROC and PR with
// every point, pixel ROC and the PRO curve (to pro_limit) thinned. Pixel curves stay empty
// (n = 0) when the category has no masks.
typedef struct {
    Curve image_roc, image_pr, pixel_roc, pro;
} EvalCurves;
void eval_curves_free(EvalCurves *c);

// The evaluation grid of a test image: S x S under resized:S / center_crop:R:S, else the
// image's own size (read from its header). 0, or -1 + ad_error.
int eval_map_size(const EvalConfig *ev, const char *image_path, int *W, int *H);
// Map i of mo (gh x gw) on that grid (out: W x H) as the metrics see it: bilinear
// (align_corners=False when the method asks for half_pixel, or under native; True otherwise
// under resized), then the method's smoothing. Returns the image score the metrics use: the
// map's max under image_score: max, else mo->image_score[i].
double eval_map_full(float *out, int W, int H, const EvalConfig *ev, const MethodOutput *mo, int gh, int gw, int i);

// mo->maps holds n_test maps of gh x gw. adapter_mask_rule is the dataset's rule for
// mask_rule: auto under resized:S. pictures_dir != NULL: one overlay PNG per test image there
// (overlay.h: <defect>_<stem>.png, the map coloured over the category's min..max, the image
// score the metrics use). pm is NaN when the category has no masks. curves != NULL: filled
// (free with eval_curves_free, also after an error). 0, or -1 with ad_error.
int evaluate_maps(const EvalConfig *ev, const char *adapter_mask_rule, const Category *C, const MethodOutput *mo, int gh,
                  int gw, const char *pictures_dir, BinaryMetrics *bm, PixelMetrics *pm, EvalCurves *curves);
