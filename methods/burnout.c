// Neighbor-burnout statistic (see burnout.h).
#include "burnout.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

int burnout_K(double window, int n_ref) {
    if (n_ref < 1 || window <= 0) return 0;
    // MuSc's interval rule (musc_interval_mean): a bound below 1 is a fraction of the count,
    // truncated as Python's int(); otherwise a count.
    int K = window < 1 ? (int)(n_ref * window) : (int)window;
    return K < n_ref - 1 ? K : n_ref - 1;  // tau_K needs d_(K+1)
}

double burnout_eta(int K, double fa) { return log((double)K / fa); }

int burnout_ktau(float *ktau, const float *sorted, int K, double eps) {
    int m = 0;
    float best = -INFINITY;
    for (int k = 1; k <= K; k++) {
        double lo = sorted[k - 1] > eps ? sorted[k - 1] : eps;
        double hi = sorted[k] > eps ? sorted[k] : eps;
        float v = (float)(k * log(hi / lo));
        ktau[k - 1] = v;
        if (v > best) best = v, m = k;
    }
    return m;
}

static void swapf(float *a, float *b) { float t = *a; *a = *b; *b = t; }

// k-th smallest (0-based) by quickselect with a median-of-three pivot; v is permuted.
static float select_k(float *v, size_t n, size_t k) {
    size_t lo = 0, hi = n - 1;
    while (hi > lo) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] < v[lo]) swapf(&v[mid], &v[lo]);
        if (v[hi] < v[lo]) swapf(&v[hi], &v[lo]);
        if (v[hi] < v[mid]) swapf(&v[hi], &v[mid]);
        float piv = v[mid];
        size_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < piv) i++;
            while (v[j] > piv) j--;
            if (i <= j) {
                swapf(&v[i], &v[j]);
                i++;
                if (j == 0) break;
                j--;
            }
        }
        if (k <= j) hi = j;
        else if (k >= i) lo = i;
        else return v[k];
    }
    return v[k];
}

double burnout_median(float *v, size_t count) {
    if (!count) return NAN;
    size_t h = count / 2;
    double hi = select_k(v, count, h);
    if (count & 1) return hi;
    // The lower middle is the largest value of the left part after selection.
    float lo = v[0];
    for (size_t i = 1; i < h; i++)
        if (v[i] > lo) lo = v[i];
    return 0.5 * ((double)lo + hi);
}

int burnout_flag_rule(double E, int m, double ratio, int K, const BurnoutConfig *c) {
    if (K < 2 || m < 1 || m > K - 1) return 0;
    return E > burnout_eta(K, c->fa) && ratio >= c->rho_min;
}

typedef struct {
    float v;
    int j;
} Ref;

static int ref_cmp(const void *a, const void *b) {
    const Ref *x = a, *y = b;
    if (x->v < y->v) return -1;
    if (x->v > y->v) return 1;
    return (x->j > y->j) - (x->j < y->j);
}

// The references of image i (every j != i not excluded), in index order; returns the count.
static int references(int *ref, int n, const uint8_t *exclude, int i) {
    int c = 0;
    for (int j = 0; j < n; j++)
        if (j != i && !(exclude && exclude[(size_t)i * n + j])) ref[c++] = j;
    return c;
}

// Sorted curve of patch p of image i over its references: the lowest `need` entries in order.
static void sorted_curve(Ref *r, const float *d, int n, int P, const int *ref, int nref, int i, int p, int need) {
    for (int t = 0; t < nref; t++) r[t] = (Ref){d[((size_t)i * n + ref[t]) * P + p], ref[t]};
    (void)need;  // n is small (a category's test set): a full sort costs little next to the GEMMs
    qsort(r, (size_t)nref, sizeof *r, ref_cmp);
}

int burnout_neighbors(int *out, int count, const float *d, int n, int P, const uint8_t *exclude, int i, int p) {
    int *ref = ad_malloc((size_t)n * sizeof *ref);
    Ref *r = ad_malloc((size_t)n * sizeof *r);
    int nref = references(ref, n, exclude, i);
    sorted_curve(r, d, n, P, ref, nref, i, p, count);
    int c = count < nref ? count : nref;
    for (int t = 0; t < c; t++) out[t] = r[t].j;
    free(ref);
    free(r);
    return c;
}

static int check_config(const BurnoutConfig *c) {
    if (!(c->fa > 0 && c->fa < 1)) return ad_error("codegraph: parameter 'fa' must lie in (0, 1), found %g", c->fa);
    if (!(c->eps > 0)) return ad_error("codegraph: parameter 'eps' must be positive, found %g", c->eps);
    if (!(c->window > 0))
        return ad_error("codegraph: parameter 'burnout_window' must be positive (a fraction < 1 or a count), found %g",
                        c->window);
    return 0;
}

int burnout_run(Burnout *b, const float *d, int n, int P, const uint8_t *exclude, const BurnoutConfig *c) {
    memset(b, 0, sizeof *b);
    if (check_config(c)) return -1;
    b->n = n, b->P = P;
    b->K = burnout_K(c->window, n - 1);
    size_t np = (size_t)n * P;
    b->E = ad_calloc(np, sizeof *b->E);
    b->m = ad_calloc(np, sizeof *b->m);
    b->ratio = ad_calloc(np, sizeof *b->ratio);
    b->flag = ad_calloc(np, 1);
    b->n_flag = ad_calloc((size_t)n, sizeof *b->n_flag);
    // Per-image K and the offset of its k*tau block in one array (fixed layout: the median does
    // not depend on the thread schedule).
    int *K = ad_malloc((size_t)n * sizeof *K);
    size_t *off = ad_malloc(((size_t)n + 1) * sizeof *off);
    off[0] = 0;
    for (int i = 0; i < n; i++) {
        int nref = 0;
        for (int j = 0; j < n; j++) nref += j != i && !(exclude && exclude[(size_t)i * n + j]);
        K[i] = burnout_K(c->window, nref);
        off[i + 1] = off[i] + (size_t)K[i] * P;
    }
    float *ktau = ad_malloc((off[n] ? off[n] : 1) * sizeof *ktau);
    float *kmax = ad_malloc(np * sizeof *kmax);
#pragma omp parallel
    {
        int *ref = ad_malloc((size_t)n * sizeof *ref);
        Ref *r = ad_malloc((size_t)n * sizeof *r);
        float *sorted = ad_malloc((size_t)n * sizeof *sorted);
#pragma omp for schedule(dynamic)
        for (int i = 0; i < n; i++) {
            int nref = references(ref, n, exclude, i);
            for (int p = 0; p < P; p++) {
                size_t ip = (size_t)i * P + p;
                kmax[ip] = 0;
                if (K[i] < 1) continue;
                sorted_curve(r, d, n, P, ref, nref, i, p, K[i] + 1);
                for (int t = 0; t <= K[i]; t++) sorted[t] = r[t].v;
                float *kt = ktau + off[i] + (size_t)p * K[i];
                int m = burnout_ktau(kt, sorted, K[i], c->eps);
                b->m[ip] = m;
                kmax[ip] = kt[m - 1];
                b->ratio[ip] = (float)(fmax(sorted[m], c->eps) / fmax(sorted[m - 1], c->eps));
            }
        }
        free(ref);
        free(r);
        free(sorted);
    }
    b->median = burnout_median(ktau, off[n]);
    b->alpha = b->median > 0 && isfinite(b->median) ? log(2.0) / b->median : 0;
    for (int i = 0; i < n; i++)
        for (int p = 0; p < P; p++) {
            size_t ip = (size_t)i * P + p;
            double E = b->alpha * kmax[ip];
            b->E[ip] = (float)E;
            b->flag[ip] = (uint8_t)burnout_flag_rule(E, b->m[ip], b->ratio[ip], K[i], c);
            b->n_flag[i] += b->flag[ip];
        }
    free(K);
    free(off);
    free(ktau);
    free(kmax);
    return 0;
}

void burnout_free(Burnout *b) {
    free(b->E);
    free(b->m);
    free(b->ratio);
    free(b->flag);
    free(b->n_flag);
    memset(b, 0, sizeof *b);
}
