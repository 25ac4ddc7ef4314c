// Burnout statistic (methods/burnout.c): hand-computed curves, a planted burnout flagged at its
// rank, the null model k*tau_k ~ Exp(alpha) flagged at the configured false-alarm rate.
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "burnout.h"
#include "err.h"

static uint64_t rng_state;
static uint64_t splitmix(void) {
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static double unif(void) { return ((splitmix() >> 11) + 0.5) * (1.0 / 9007199254740992.0); }
static double expo(void) { return -log(unif()); }

static int fcmp(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

Test(burnout, median_matches_sorting) {
    rng_state = 1;
    for (int n = 1; n < 60; n++)
        for (int rep = 0; rep < 20; rep++) {
            float *v = malloc(n * sizeof *v), *s = malloc(n * sizeof *s);
            for (int i = 0; i < n; i++) v[i] = s[i] = (float)(splitmix() % 7);  // many ties
            qsort(s, n, sizeof *s, fcmp);
            double want = n & 1 ? s[n / 2] : 0.5 * ((double)s[n / 2 - 1] + s[n / 2]);
            cr_assert_eq(burnout_median(v, n), want, "n=%d", n);
            free(v), free(s);
        }
}

Test(burnout, window_count) {
    cr_assert_eq(burnout_K(0.3, 10), 3);
    cr_assert_eq(burnout_K(0.3, 20), 6);
    cr_assert_eq(burnout_K(0.3, 19), 5);
    cr_assert_eq(burnout_K(0.3, 4), 1);
    cr_assert_eq(burnout_K(0.3, 3), 0);
    cr_assert_eq(burnout_K(10, 5), 4, "tau_K needs d_(K+1): K <= n_ref - 1");
    cr_assert_eq(burnout_K(0.99, 5), 4);
    cr_assert_eq(burnout_K(0.5, 0), 0);
    cr_assert_eq(burnout_K(4, 30), 4, "a window >= 1 is a count, as in MuSc's interval");
}

Test(burnout, ktau_by_hand) {
    const float d[5] = {1.0f, 1.1f, 1.21f, 2.662f, 2.7f};
    float kt[4];
    int m = burnout_ktau(kt, d, 4, 1e-3);
    cr_assert_eq(m, 3);
    double want[4] = {1 * log(1.1f / 1.0f), 2 * log(1.21f / 1.1f), 3 * log(2.662f / 1.21f), 4 * log(2.7f / 2.662f)};
    for (int k = 0; k < 4; k++) cr_assert_float_eq(kt[k], want[k], 1e-6, "k=%d", k + 1);
    // eps floors both ends: equal zeros give 0 (never -inf or NaN), a jump off zero is finite.
    const float z[3] = {0.0f, 0.0f, 0.5f};
    m = burnout_ktau(kt, z, 2, 1e-3);
    cr_assert_eq(kt[0], 0.0f);
    cr_assert_float_eq(kt[1], 2 * log(500.0), 1e-4);
    cr_assert_eq(m, 2);
    cr_assert_eq(burnout_ktau(kt, z, 0, 1e-3), 0);
}

Test(burnout, flag_rule_edges) {
    BurnoutConfig c = {.fa = 1e-3, .rho_min = 1.1, .eps = 1e-3, .window = 0.3};
    double eta = burnout_eta(10, 1e-3);
    cr_assert_float_eq(eta, log(1e4), 1e-12);
    cr_assert(burnout_flag_rule(eta + 1e-9, 5, 1.2, 10, &c));
    cr_assert(!burnout_flag_rule(eta, 5, 1.2, 10, &c), "E must exceed eta strictly");
    cr_assert(!burnout_flag_rule(eta + 1, 10, 1.2, 10, &c), "rank K is outside 1..K-1");
    cr_assert(!burnout_flag_rule(eta + 1, 0, 1.2, 10, &c));
    cr_assert(burnout_flag_rule(eta + 1, 9, 1.1, 10, &c));
    cr_assert(!burnout_flag_rule(eta + 1, 9, 1.09, 10, &c), "jump below rho_min");
    cr_assert(!burnout_flag_rule(1e9, 1, 2.0, 1, &c), "K = 1 leaves no admissible rank");
}

// Distances d[i][j][p] whose sorted curves follow the null model: d_(k+1) = d_(k) exp(X_k / k),
// X_k ~ Exp(alpha), assigned to the references in a random order.
static float *null_curves(int n, int P, double alpha, uint64_t seed) {
    rng_state = seed;
    float *d = calloc((size_t)n * n * P, sizeof *d);
    int *perm = malloc(n * sizeof *perm);
    double *v = malloc(n * sizeof *v);
    for (int i = 0; i < n; i++)
        for (int p = 0; p < P; p++) {
            v[0] = 0.3 + 0.3 * unif();
            for (int k = 1; k < n - 1; k++) v[k] = v[k - 1] * exp(expo() / alpha / k);
            int c = 0;
            for (int j = 0; j < n; j++)
                if (j != i) perm[c++] = j;
            for (int t = c - 1; t > 0; t--) {
                int u = (int)(splitmix() % (uint64_t)(t + 1)), tmp = perm[t];
                perm[t] = perm[u], perm[u] = tmp;
            }
            for (int t = 0; t < c; t++) d[((size_t)i * n + perm[t]) * P + p] = (float)v[t];
        }
    free(perm);
    free(v);
    return d;
}

Test(burnout, planted_burnout_flagged_at_its_rank) {
    int n = 31, P = 40;  // K = floor(0.3 * 30) = 9
    float *d = null_curves(n, P, 5.0, 7);
    // Patch 7 of image 3 is close to images 5, 9, 12, 20 (a defect they share), far from the rest.
    const int share[4] = {5, 9, 12, 20};
    for (int j = 0; j < n; j++)
        if (j != 3) d[((size_t)3 * n + j) * P + 7] = 0.8f + 0.01f * j;
    for (int t = 0; t < 4; t++) d[((size_t)3 * n + share[t]) * P + 7] = 0.1f + 0.002f * t;
    BurnoutConfig c = {.fa = 1e-3, .rho_min = 1.1, .eps = 1e-3, .window = 0.3};
    Burnout b;
    cr_assert_eq(burnout_run(&b, d, n, P, NULL, &c), 0, "%s", ad_last_error());
    cr_assert_eq(b.K, 9);
    size_t ip = 3 * P + 7;
    cr_assert(b.flag[ip], "E=%g eta=%g", b.E[ip], burnout_eta(9, 1e-3));
    cr_assert_eq(b.m[ip], 4);
    cr_assert_float_eq(b.ratio[ip], 0.8 / (double)(0.1f + 0.002f * 3), 1e-5);  // d_(5) = image 0's 0.8
    int nb[4];
    cr_assert_eq(burnout_neighbors(nb, 4, d, n, P, NULL, 3, 7), 4);
    for (int t = 0; t < 4; t++) cr_assert_eq(nb[t], share[t]);
    cr_assert_float_eq(b.alpha, 5.0, 0.5, "alpha=%g", b.alpha);
    burnout_free(&b);

    // Excluding one sharing image from 3's references: rank 3, and it is no neighbour.
    uint8_t *ex = calloc((size_t)n * n, 1);
    ex[3 * n + 9] = 1;
    cr_assert_eq(burnout_run(&b, d, n, P, ex, &c), 0);
    cr_assert(b.flag[ip]);
    cr_assert_eq(b.m[ip], 3);
    cr_assert_eq(burnout_neighbors(nb, 4, d, n, P, ex, 3, 7), 4);
    cr_assert_eq(nb[0], 5);
    cr_assert_eq(nb[1], 12);
    cr_assert_eq(nb[2], 20);
    burnout_free(&b);
    free(ex);

    // Nine sharing images: the jump is at rank K, outside 1..K-1: not flagged.
    for (int j = 0; j < n; j++)
        if (j != 3) d[((size_t)3 * n + j) * P + 7] = 0.8f + 0.01f * j;
    for (int j = 0; j < 9; j++) d[((size_t)3 * n + 10 + j) * P + 7] = 0.1f + 0.001f * j;
    cr_assert_eq(burnout_run(&b, d, n, P, NULL, &c), 0);
    cr_assert_eq(b.m[ip], 9);
    cr_assert(!b.flag[ip]);
    burnout_free(&b);
    free(d);
}

// P(flag) under the null model when rho_min does not bind: E is the max of K iid Exp(1) and the
// argmax is uniform on 1..K independently of it, so P = (K-1)/K * (1 - (1 - fa/K)^K) ~ fa.
static void check_rate(const Burnout *b, double fa) {
    int K = b->K;
    double q = exp(-burnout_eta(K, fa));
    double p = (K - 1.0) / K * (1 - pow(1 - q, K));
    double np = (double)b->n * b->P, mean = np * p, sd = sqrt(np * p * (1 - p));
    long got = 0;
    for (int i = 0; i < b->n; i++) got += b->n_flag[i];
    cr_assert(fabs(got - mean) < 4.5 * sd, "fa=%g: %ld flags, expected %.1f +- %.1f", fa, got, mean, sd);
}

Test(burnout, null_model_false_alarm_rate, .timeout = 60) {
    int n = 41, P = 3000;  // K = 12, 123000 patches
    double alpha = 5.0;
    float *d = null_curves(n, P, alpha, 12345);
    BurnoutConfig c = {.fa = 1e-2, .rho_min = 1.0, .eps = 1e-6, .window = 0.3};
    Burnout b;
    cr_assert_eq(burnout_run(&b, d, n, P, NULL, &c), 0);
    cr_assert_eq(b.K, 12);
    // 1.48M samples of Exp(alpha): the median's relative sd is ~0.1 %.
    cr_assert(fabs(b.alpha / alpha - 1) < 0.005, "alpha=%g", b.alpha);
    check_rate(&b, c.fa);
    burnout_free(&b);
    c.fa = 1e-3;  // the default
    cr_assert_eq(burnout_run(&b, d, n, P, NULL, &c), 0);
    check_rate(&b, c.fa);
    burnout_free(&b);
    free(d);
}

Test(burnout, same_result_for_any_thread_count) {
    int n = 23, P = 200;
    float *d = null_curves(n, P, 3.0, 99);
    BurnoutConfig c = {.fa = 5e-2, .rho_min = 1.05, .eps = 1e-3, .window = 0.3};
    Burnout a, b;
    int t0 = omp_get_max_threads();
    omp_set_num_threads(1);
    cr_assert_eq(burnout_run(&a, d, n, P, NULL, &c), 0);
    omp_set_num_threads(2);
    cr_assert_eq(burnout_run(&b, d, n, P, NULL, &c), 0);
    omp_set_num_threads(t0);
    cr_assert_eq(a.alpha, b.alpha);
    cr_assert(!memcmp(a.E, b.E, (size_t)n * P * sizeof *a.E));
    cr_assert(!memcmp(a.m, b.m, (size_t)n * P * sizeof *a.m));
    cr_assert(!memcmp(a.flag, b.flag, (size_t)n * P));
    burnout_free(&a);
    burnout_free(&b);
    free(d);
}

Test(burnout, bad_config_is_an_error) {
    float d[25 * 2] = {0};
    Burnout b;
    BurnoutConfig c = {.fa = 0, .rho_min = 1.1, .eps = 1e-3, .window = 0.3};
    cr_assert_eq(burnout_run(&b, d, 5, 2, NULL, &c), -1);
    cr_assert(strstr(ad_last_error(), "'fa'"), "%s", ad_last_error());
    c.fa = 1e-3, c.eps = 0;
    cr_assert_eq(burnout_run(&b, d, 5, 2, NULL, &c), -1);
    cr_assert(strstr(ad_last_error(), "'eps'"), "%s", ad_last_error());
}
