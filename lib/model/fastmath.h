/*
 * fastmath.h — vectorizable float exp and erf for the element-wise loops of
 * the ops (GELU forward and backward, softmax): plain arithmetic with no
 * libm calls, so `#pragma omp simd` loops around them compile to AVX-512.
 * fast_expf: relative error ~2e-7 on [-87, 88] (clamped outside);
 * fast_erff: absolute error < 1.5e-7 (Abramowitz & Stegun 7.1.26).  Both
 * are far inside the 1e-4 parity bound with transformers' exact GELU
 * (test_ops, test_w2v parity) and finite differences (test_ops_backward).
 */
#pragma once
#include <math.h>
#include <stdint.h>

static inline float fast_expf(float x)
{
	/* comparisons, not fmaxf/fminf: those are libm calls without
	 * -ffinite-math-only and stop the loops around from vectorizing (NaN
	 * still clamps to -87, as fmaxf did) */
	x = x > -87.0f ? x : -87.0f;
	x = x < 88.0f ? x : 88.0f;
	float n = rintf(x * 1.44269504088896341f);
	float r = x - n * 0.693145751953125f - n * 1.428606765330187e-06f;
	float p = 1.0f + r * (1.0f + r * (0.5f + r * (0.166666672f + r * (0.0416666679f +
	          r * (0.00833333377f + r * 0.00138888892f)))));
	union { int32_t i; float f; } u = { ((int32_t)n + 127) << 23 };
	return p * u.f;
}

/* Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7). */
static inline float fast_erff(float x)
{
	float a = fabsf(x);
	float t = 1.0f / (1.0f + 0.3275911f * a);
	float poly = ((((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t
	              - 0.284496736f) * t + 0.254829592f) * t;
	float y = 1.0f - poly * fast_expf(-a * a);
	return copysignf(y, x);
}

