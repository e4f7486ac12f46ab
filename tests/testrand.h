/*
 * tests/testrand.h — reproducible random numbers for the tests: xorshift64
 * values uniform in [0, 1) (urand) or [-1, 1) (frand, tensors), one stream
 * per test program (each test is one translation unit), seeded with
 * testrand_seed() at the top of main.
 */
#ifndef ACCENT_TESTRAND_H
#define ACCENT_TESTRAND_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t testrand_state = 0x9e3779b97f4a7c15ull;

static inline void testrand_seed(uint64_t seed) { testrand_state = seed; }

/* the next value of the stream, uniform in [0, 1) with 53 bits */
static inline double urand(void)
{
	testrand_state ^= testrand_state << 13;
	testrand_state ^= testrand_state >> 7;
	testrand_state ^= testrand_state << 17;
	return (testrand_state >> 11) * (1.0 / 9007199254740992.0);
}

static inline float frand(void) { return (float)urand() * 2.0f - 1.0f; }

/* n values frand() * scale; malloc'ed (never NULL-sized) */
static inline float *rnd(size_t n, float scale)
{
	float *p = malloc(sizeof(float) * (n ? n : 1));
	for (size_t i = 0; i < n; i++)
		p[i] = frand() * scale;
	return p;
}

static inline float *zeros(size_t n) { return calloc(n ? n : 1, sizeof(float)); }

static inline float *fdup(const float *x, size_t n)
{
	float *p = malloc(sizeof(float) * (n ? n : 1));
	memcpy(p, x, sizeof(float) * n);
	return p;
}

#endif
