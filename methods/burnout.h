// Neighbor-burnout statistic of CoDeGraph (../shared/docs/codegraph.md, Reconstruction step 2).
//
// For patch p of image i, sort its patch-to-image distances d[i][j][p] over the reference images
// j ascending: d_(1) <= ... <= d_(n_ref). With K = floor(window * n_ref) (MuSc's interval),
//   tau_k = ln(max(d_(k+1), eps) / max(d_(k), eps)),  k = 1..K
// (eps floors both so that zero distances give 0, never -inf). Under the normal model
// k * tau_k ~ Exp(alpha); alpha = ln 2 / median(k * tau_k) over the category. The endurance ratio
// E = max_k alpha * k * tau_k, burnout rank m = argmax (first on ties). A patch is flagged when
// E > eta = ln(K / fa), exp(tau_m) >= rho_min and 1 <= m <= K - 1.
#pragma once
#include <stddef.h>
#include <stdint.h>

typedef struct {
    double fa;       // per-patch false-alarm rate
    double rho_min;  // minimum jump d_(m+1) / d_(m)
    double eps;      // distance floor
    double window;   // K = floor(window * n_ref) for window < 1, else the count window
} BurnoutConfig;

typedef struct {
    int n, P;
    double median;  // median of k * tau_k over every patch and k <= K
    double alpha;   // ln 2 / median; 0 when the median is not positive (then nothing is flagged)
    int K;          // K of an image with all n - 1 references
    float *E;       // [n*P] endurance ratio
    int *m;         // [n*P] burnout rank, 0 when the image has K < 1
    float *ratio;   // [n*P] d_(m+1) / d_(m) (eps-floored)
    uint8_t *flag;  // [n*P]
    int *n_flag;    // [n] flagged patches per image
} Burnout;

// K for n_ref references: MuSc's interval end (int(n_ref * window) for window < 1, else
// int(window)), capped at n_ref - 1.
int burnout_K(double window, int n_ref);
// eta = ln(K / fa).
double burnout_eta(int K, double fa);
// k * tau_k of one ascending curve sorted[0..K] (K + 1 values) into ktau[0..K-1]; returns the
// argmax rank m in 1..K (first on ties), or 0 when K < 1.
int burnout_ktau(float *ktau, const float *sorted, int K, double eps);
// Median (numpy's: mean of the two middle values for even counts); permutes v.
double burnout_median(float *v, size_t count);
// Whether a patch with endurance E, rank m and jump ratio is flagged for this K.
int burnout_flag_rule(double E, int m, double ratio, int K, const BurnoutConfig *c);

// The statistic for a whole category. d: [n][n][P] distances, d[(i*n + j)*P + p] (diagonal
// ignored); exclude (n*n bytes, may be NULL): exclude[i*n + j] drops j from i's references.
// Deterministic for any thread count. Returns 0, or -1 + ad_error on a bad config.
int burnout_run(Burnout *b, const float *d, int n, int P, const uint8_t *exclude, const BurnoutConfig *c);
// The images at ranks 1..count of patch p of image i (ascending distance, ties by image index);
// returns how many were written (fewer when i has fewer references).
int burnout_neighbors(int *out, int count, const float *d, int n, int P, const uint8_t *exclude, int i, int p);
void burnout_free(Burnout *b);
