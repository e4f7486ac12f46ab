/*
 * rng.h — the project's one random-number generator: splitmix64 (Steele,
 * Lea & Flood 2014).  The state is a single uint64_t, so a stream can be
 * saved in a resume file or derived from (seed, item) without keeping
 * generator objects; every consumer (random init, dropout, SpecAugment,
 * training's sampler, synthesis, augmentation) draws through these inline
 * functions, so the same seed gives the same numbers everywhere.
 *
 * Header-only: the functions are a few instructions and sit in hot loops.
 */
#pragma once
#include <stdint.h>

/* splitmix64's golden-ratio increment (also a good odd multiplier for
 * deriving independent keys). */
#define RNG_GOLDEN 0x9e3779b97f4a7c15ull

/* splitmix64's output function: a bijective 64-bit mixer. */
static inline uint64_t rng_mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* The next 64 random bits of the stream *s (advances *s). */
static inline uint64_t rng_next(uint64_t *s)
{
	return rng_mix64(*s += RNG_GOLDEN);
}

/* Uniform in [0, 1) with 53 random bits. */
static inline double rng_unit(uint64_t *s)
{
	return (double)(rng_next(s) >> 11) * 0x1.0p-53;
}

/* Uniform in (0, 1), never 0 (for log() in Box-Muller and the like). */
static inline double rng_unit_open(uint64_t *s)
{
	return ((double)(rng_next(s) >> 11) + 0.5) * 0x1.0p-53;
}
