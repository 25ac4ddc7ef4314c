// IEEE 754 binary16 ("half") <-> float32, portable (no F16C, no _Float16): round to nearest,
// ties to even; subnormals kept; |x| >= 65520 -> inf; NaN -> a quiet NaN (sign and the top
// payload bits kept). The feature cache stores float16 entries with these (cache_dtype).
// half_from_float_ref is the naive twin (double arithmetic + nearbyint) the tests check the
// bit-level version against.
#pragma once
#include <stddef.h>
#include <stdint.h>

uint16_t half_from_float(float f);
float half_to_float(uint16_t h);  // exact: every half is a float
uint16_t half_from_float_ref(float f);

void half_encode(uint16_t *out, const float *in, size_t n);
void half_decode(float *out, const uint16_t *in, size_t n);
// x[i] = half_to_float(half_from_float(x[i])): what a float16 cache entry gives back.
void half_round(float *x, size_t n);
