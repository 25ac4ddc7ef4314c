// float32 <-> IEEE half (src/half.c): the bit-level conversion against its naive twin
// (double arithmetic + nearbyint) and against the compiler's _Float16 where it has one, on
// every half, every rounding boundary (midpoints and their neighbours), subnormals, inf/NaN,
// overflow, and a stride over all 2^32 float bit patterns.
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "half.h"

static float f_of(uint32_t x) {
    float f;
    memcpy(&f, &x, 4);
    return f;
}
static uint32_t bits_of(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    return x;
}

static void check_one(float f) {
    uint16_t a = half_from_float(f), r = half_from_float_ref(f);
    if (isnan(f)) {
        cr_assert(((a >> 10) & 0x1f) == 31 && (a & 0x3ff), "NaN %08x -> %04x is not a NaN", bits_of(f), a);
        cr_assert_eq(a, r, "NaN %08x: %04x vs ref %04x", bits_of(f), a, r);
        return;
    }
    cr_assert_eq(a, r, "%a (%08x): %04x vs ref %04x", (double)f, bits_of(f), a, r);
#ifdef __FLT16_MAX__
    _Float16 h = (_Float16)f;
    uint16_t hb;
    memcpy(&hb, &h, 2);
    cr_assert_eq(a, hb, "%a: %04x vs _Float16 %04x", (double)f, a, hb);
#endif
}

Test(half, decode_every_half_exactly) {
    for (uint32_t h = 0; h < 65536; h++) {
        float f = half_to_float((uint16_t)h);
        int e = (h >> 10) & 0x1f, m = h & 0x3ff;
        double want = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(1024 + m, e - 25);
        if (h & 0x8000) want = -want;
        if (isnan(want)) {
            cr_assert(isnan(f), "%04x", h);
            continue;
        }
        cr_assert_eq((double)f, want, "%04x: %a vs %a", h, (double)f, want);
        cr_assert_eq(signbit(f) != 0, (h & 0x8000) != 0, "%04x sign", h);
        // every half survives encode(decode(h)) unchanged
        cr_assert_eq(half_from_float(f), (uint16_t)h, "%04x round trip", h);
    }
}

Test(half, rounding_boundaries_ties_to_even) {
    // For each pair of neighbouring non-negative halves: the float midpoint and the floats
    // one ulp either side of it, both signs.
    for (uint32_t h = 0; h < 0x7c00; h++) {
        double lo = half_to_float((uint16_t)h), hi = h + 1 == 0x7c00 ? 65536.0 : half_to_float((uint16_t)(h + 1));
        float mid = (float)((lo + hi) / 2);  // exact: a half midpoint has at most 12 significant bits
        cr_assert_eq((double)mid, (lo + hi) / 2);
        float c[3] = {nextafterf(mid, 0), mid, nextafterf(mid, INFINITY)};
        for (int k = 0; k < 3; k++) check_one(c[k]), check_one(-c[k]);
        uint16_t t = half_from_float(mid);
        cr_assert_eq(t, (h & 1) ? h + 1 : h, "tie at %a must go to the even neighbour (%04x)", (double)mid, t);
    }
    // named cases
    cr_assert_eq(half_from_float(65504.0f), 0x7bff);
    cr_assert_eq(half_from_float(65519.996f), 0x7bff, "just below the overflow tie");
    cr_assert_eq(half_from_float(65520.0f), 0x7c00, "the tie 65520 rounds to even = inf");
    cr_assert_eq(half_from_float(1e10f), 0x7c00);
    cr_assert_eq(half_from_float(-1e10f), 0xfc00);
    cr_assert_eq(half_from_float(INFINITY), 0x7c00);
    cr_assert_eq(half_from_float(-INFINITY), 0xfc00);
    cr_assert_eq(half_from_float(0x1p-24f), 0x0001, "smallest subnormal");
    cr_assert_eq(half_from_float(0x1p-25f), 0x0000, "half of it ties to even zero");
    cr_assert_eq(half_from_float(nextafterf(0x1p-25f, 1)), 0x0001);
    cr_assert_eq(half_from_float(0x1.8p-24f), 0x0002, "1.5 x 2^-24 ties to even 2");
    cr_assert_eq(half_from_float(0x1p-14f), 0x0400, "smallest normal");
    cr_assert_eq(half_from_float(nextafterf(0x1p-14f, 0)), 0x0400, "rounds up into the normals");
    cr_assert_eq(half_from_float(-0.0f), 0x8000);
    cr_assert_eq(half_from_float(1e-30f), 0x0000);
    cr_assert_eq(half_from_float(f_of(0x00000001)), 0x0000, "float subnormal");
    cr_assert_eq(half_from_float(1.0f), 0x3c00);
    cr_assert_eq(half_from_float(1.0f + 0x1p-11f), 0x3c00, "tie to even (down)");
    cr_assert_eq(half_from_float(1.0f + 0x3p-11f), 0x3c02, "tie to even (up)");
    uint16_t qn = half_from_float(f_of(0x7f800001));  // signalling NaN, payload only in the low bits
    cr_assert(qn == 0x7e00, "sNaN -> quiet NaN 7e00, got %04x", qn);
    cr_assert(isnan(half_to_float(half_from_float(NAN))));
    cr_assert_eq(half_from_float(-NAN) & 0x8000, 0x8000, "NaN keeps its sign");
}

Test(half, stride_over_all_float_bit_patterns) {
    // 2^32 / 65521 ~ 65.5k patterns per pass, three offsets: every exponent, sign and NaN class.
    for (uint32_t off = 0; off < 3; off++)
        for (uint64_t x = off * 7919; x < 0x100000000ULL; x += 65521) check_one(f_of((uint32_t)x));
}

Test(half, bulk_helpers_match_the_scalar_ones) {
    float in[7] = {0.1f, -2.5f, 70000.0f, 0x1p-20f, NAN, 3.14159f, -0.0f}, r[7], d[7];
    uint16_t h[7];
    half_encode(h, in, 7);
    half_decode(d, h, 7);
    memcpy(r, in, sizeof in);
    half_round(r, 7);
    for (int i = 0; i < 7; i++) {
        cr_assert_eq(h[i], half_from_float(in[i]));
        cr_assert_eq(bits_of(d[i]), bits_of(half_to_float(h[i])));
        cr_assert_eq(bits_of(r[i]), bits_of(d[i]), "half_round = decode(encode)");
    }
    cr_assert(isinf(r[2]), "70000 overflows to inf");
    cr_assert_eq(bits_of(r[6]), 0x80000000u);
}
