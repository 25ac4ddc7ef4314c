// Evaluation metrics, exactly as ../shared/docs/datasets_metrics.md Part B defines them
// (sklearn / official MVTec semantics). Double accumulation; ties grouped in the storage
// dtype of the scores. Degenerate inputs (no positive or no negative, no GT region) give NaN
// for the affected metrics, documented in the README; NaN/Inf scores are errors.
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
} PixelMetrics;

// Image level. labels nonzero = anomalous. Returns 0, or -1 + ad_error (NaN/Inf score, n = 0).
int metrics_image(const uint8_t *labels, const double *scores, size_t n, BinaryMetrics *out);

// Pixel level over n maps pooled; image k has h[k] x w[k] pixels (AU-PRO needs them all
// equal, otherwise aupro = aupro_musc = NaN). masks[k] nonzero = anomalous pixel.
// pro_limit in (0, 1] (0.3 by default). Returns 0, or -1 + ad_error.
int metrics_pixel(const uint8_t *const *masks, const float *const *maps, const int *h, const int *w,
                  int n, double pro_limit, PixelMetrics *out);
