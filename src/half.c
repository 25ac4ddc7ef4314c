// float32 <-> binary16 conversions (layout and rounding rules in half.h).
#include "half.h"

#include <fenv.h>
#include <math.h>
#include <string.h>

uint16_t half_from_float(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u)  // inf, or NaN (quiet bit set so a payload of zeros stays a NaN)
        return (uint16_t)(sign | 0x7c00u | (ax > 0x7f800000u ? 0x200u | ((ax >> 13) & 0x3ffu) : 0));
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);  // >= 65520 = halfway 65504..65536: ties to even = inf
    if (ax < 0x38800000u) {  // below 2^-14: a half subnormal m * 2^-24 (or zero)
        uint32_t e = ax >> 23;
        int shift = 126 - (int)e;  // value / 2^-24 = mant * 2^(e - 126)
        if (e == 0 || shift > 24) return sign;  // < 2^-25 (2^-25 itself ties to even: 0)
        uint32_t m = (ax & 0x7fffffu) | 0x800000u;
        uint32_t r = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (r & 1))) r++;  // may carry into the smallest normal: right
        return (uint16_t)(sign | r);
    }
    uint32_t r = (ax >> 13) - (112u << 10), rem = ax & 0x1fffu;  // rebias 127 -> 15
    if (rem > 0x1000u || (rem == 0x1000u && (r & 1))) r++;       // a carry bumps the exponent
    return (uint16_t)(sign | r);
}

float half_to_float(uint16_t h) {
    uint32_t s = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu, x;
    if (e == 0) {
        float v = (float)m * 0x1p-24f;  // exact
        return s ? -v : v;
    }
    if (e == 31) x = s | 0x7f800000u | (m << 13);
    else x = s | ((e + 112u) << 23) | (m << 13);
    float f;
    memcpy(&f, &x, 4);
    return f;
}

// Naive: scale to an integer significand in double (exact) and round with nearbyint.
uint16_t half_from_float_ref(float f) {
    uint16_t sign = signbit(f) ? 0x8000 : 0;
    if (isnan(f)) {
        uint32_t x;
        memcpy(&x, &f, 4);
        return (uint16_t)(sign | 0x7e00u | ((x >> 13) & 0x3ffu));
    }
    double a = fabs((double)f);
    if (a >= 65520.0) return (uint16_t)(sign | 0x7c00u);
    int save = fegetround();
    fesetround(FE_TONEAREST);
    uint16_t out;
    if (a < 0x1p-14) {
        out = (uint16_t)(sign | (uint16_t)nearbyint(a * 0x1p24));  // 1024 = the smallest normal
    } else {
        int ex;
        frexp(a, &ex);  // a in [2^(ex-1), 2^ex)
        int E = ex - 1;
        double q = nearbyint(ldexp(a, 10 - E));  // in [1024, 2048]
        if (q == 2048) E++, q = 1024;
        out = E > 15 ? (uint16_t)(sign | 0x7c00u) : (uint16_t)(sign | ((E + 15) << 10) | ((int)q - 1024));
    }
    fesetround(save);
    return out;
}

void half_encode(uint16_t *out, const float *in, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = half_from_float(in[i]);
}
void half_decode(float *out, const uint16_t *in, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = half_to_float(in[i]);
}
void half_round(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = half_to_float(half_from_float(x[i]));
}
