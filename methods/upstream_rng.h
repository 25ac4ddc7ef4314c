// Bit-exact replicas of the random streams upstream Python code draws from, so that a
// method run with the same seed makes upstream's draws (tests/gen/gen_membank.py checks
// them against real torch 1.13 / numpy 1.24 output).
//
// mt19937: the 32-bit Mersenne Twister (Matsumoto & Nishimura) with the standard
// init_genrand seeding. Both torch.manual_seed(s) (CPU generator, s < 2^32) and
// np.random.seed(s) (legacy RandomState) seed it this way.
#pragma once
#include <stdint.h>

typedef struct {
    uint32_t mt[624];
    int mti;
} Mt19937;

void mt19937_seed(Mt19937 *r, uint32_t seed);
uint32_t mt19937_next(Mt19937 *r);

// torch CPU tensor.uniform_(from, to) on a float32 tensor: per element, in memory order,
// one 32-bit draw u; x = (u & (2^24 - 1)) * 2^-24; (float)(x * (to - from) + from) with
// from/to cast to float first, to - from in float, the rest in double.
float torch_uniform_f32(Mt19937 *r, float from, float to);

// torch.nn.Linear(in, out, bias=False).weight as constructed: kaiming_uniform_(a=sqrt(5))
// = uniform_(-b, b) with b = sqrt(3) * sqrt(2 / (1 + a^2)) / sqrt(in) (in double, as
// torch.nn.init computes it), W[out][in] row-major.
void torch_linear_weight(float *W, int out, int in, Mt19937 *r);

// numpy legacy RandomState.choice(n, k, replace=False) = permutation(n)[:k], permutation
// by shuffle: for i = n-1 .. 1, j = random_interval(i) (masked rejection on 32-bit draws
// for i < 2^32), swap a[i], a[j]. out[k]; needs n >= k >= 0, n < 2^31.
void numpy_choice_noreplace(int *out, int n, int k, Mt19937 *r);
