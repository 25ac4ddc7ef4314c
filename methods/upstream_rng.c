// See upstream_rng.h. Written from the published MT19937 algorithm and the semantics of
// torch's / numpy's transforms; checked against the real libraries' draws in the tests.
#include "upstream_rng.h"

#include <math.h>
#include <stdlib.h>

#include "err.h"

void mt19937_seed(Mt19937 *r, uint32_t seed) {
    r->mt[0] = seed;
    for (int i = 1; i < 624; i++) r->mt[i] = 1812433253u * (r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) + (uint32_t)i;
    r->mti = 624;
}

static void mt_twist(Mt19937 *r) {
    for (int i = 0; i < 624; i++) {
        uint32_t y = (r->mt[i] & 0x80000000u) | (r->mt[(i + 1) % 624] & 0x7fffffffu);
        r->mt[i] = r->mt[(i + 397) % 624] ^ (y >> 1) ^ ((y & 1u) ? 0x9908b0dfu : 0u);
    }
    r->mti = 0;
}

uint32_t mt19937_next(Mt19937 *r) {
    if (r->mti >= 624) mt_twist(r);
    uint32_t y = r->mt[r->mti++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

float torch_uniform_f32(Mt19937 *r, float from, float to) {
    uint32_t u = mt19937_next(r);
    // 24 random bits scaled to [0, 1); the affine map in double (torch's accumulate type
    // on CPU), rounded to float once at the end. to - from is a float subtraction.
    double x = (double)(u & ((1u << 24) - 1)) * (1.0 / 16777216.0);
    float span = to - from;
    return (float)(x * (double)span + (double)from);
}

void torch_linear_weight(float *W, int out, int in, Mt19937 *r) {
    double a = sqrt(5.0);
    double gain = sqrt(2.0 / (1 + a * a));
    double std = gain / sqrt((double)in);
    double b = sqrt(3.0) * std;
    float lo = (float)-b, hi = (float)b;
    for (size_t i = 0; i < (size_t)out * in; i++) W[i] = torch_uniform_f32(r, lo, hi);
}

static uint32_t random_interval(Mt19937 *r, uint32_t max) {
    if (max == 0) return 0;
    uint32_t mask = max;
    mask |= mask >> 1;
    mask |= mask >> 2;
    mask |= mask >> 4;
    mask |= mask >> 8;
    mask |= mask >> 16;
    uint32_t v;
    while ((v = (mt19937_next(r) & mask)) > max) {
    }
    return v;
}

void numpy_choice_noreplace(int *out, int n, int k, Mt19937 *r) {
    AD_ASSERT(n >= k && k >= 0);
    int *a = ad_malloc((size_t)(n ? n : 1) * sizeof(int));
    for (int i = 0; i < n; i++) a[i] = i;
    for (int i = n - 1; i >= 1; i--) {
        int j = (int)random_interval(r, (uint32_t)i);
        int t = a[i];
        a[i] = a[j], a[j] = t;
    }
    for (int i = 0; i < k; i++) out[i] = a[i];
    free(a);
}
