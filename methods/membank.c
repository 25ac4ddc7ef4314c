// Helpers shared by PatchCore and AnomalyDINO (declared in membank.h).
#include <math.h>
#include <stdlib.h>

#include "err.h"
#include "image.h"
#include "membank.h"

int membank_shot_range(int *lo, int *hi, int n_train, int shots, int seed, const char *category) {
    if (shots < 0 || seed < 0)
        return ad_error("%s: expected shots >= 0 and seed >= 0, found shots %d, seed %d. Fix: use shots 0 (all) or "
                        "k >= 1 and a seed >= 0", category, shots, seed);
    if (shots == 0) {
        *lo = 0, *hi = n_train;
        return n_train > 0 ? 0 : ad_error("%s: expected at least one training image, found none. Fix: check the "
                                          "dataset's train/good folder", category);
    }
    long a = (long)seed * shots, b = a + shots;
    if (b > n_train)
        return ad_error("%s: shots %d with seed %d needs reference images [%ld, %ld) of the sorted train list, but it "
                        "has %d. Fix: lower shots or seed (seed s uses images [s*shots, (s+1)*shots))",
                        category, shots, seed, a, b, n_train);
    *lo = (int)a, *hi = (int)b;
    return 0;
}

void adaptive_avg_pool1d(float *out, int n_out, const float *in, int n_in) {
    for (int t = 0; t < n_out; t++) {
        long s = (long)t * n_in / n_out, e = ((long)(t + 1) * n_in + n_out - 1) / n_out;
        float acc = 0.f;
        for (long i = s; i < e; i++) acc += in[i];
        out[t] = acc / (float)(e - s);
    }
}

void l2_normalize_rows(float *X, long n, int d) {
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++) {
        float *x = X + (size_t)i * d;
        double s = 0;
        for (int c = 0; c < d; c++) s += (double)x[c] * x[c];
        if (s > 0) {
            float inv = (float)(1.0 / sqrt(s));
            for (int c = 0; c < d; c++) x[c] *= inv;
        }
    }
}

void membank_map_to_resolution(float *out, int oh, int ow, const float *grid, int gh, int gw, double sigma) {
    interp_bilinear(out, oh, ow, grid, gh, gw, 0);
    if (sigma > 0) gaussian_filter2d(out, oh, ow, sigma);
}
