/*
 * dropout.c — counter-based inverted dropout (see dropout.h).
 */
#include "model/dropout.h"

#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/rng.h"
#include "base/banned.h"


uint64_t dropout_key(uint64_t seed, uint64_t site)
{
	return rng_mix64(rng_mix64(seed + RNG_GOLDEN) ^ (site * 0xd6e8feb86659fd93ull + 0x632be59bd9b4e019ull));
}


/* threshold on the upper 32 hash bits: kept iff bits >= thr */
static inline uint64_t threshold(float p)
{
	if (p <= 0.0f)
		return 0;
	if (p >= 1.0f)
		return (uint64_t)1 << 32;
	return (uint64_t)((double)p * 4294967296.0);
}

static inline int keep_thr(uint64_t key, size_t i, uint64_t thr)
{
	return (rng_mix64(key + (uint64_t)i * RNG_GOLDEN) >> 32) >= thr;
}

int dropout_keep(uint64_t key, size_t i, float p)
{
	return keep_thr(key, i, threshold(p));
}

void dropout_apply(float *y, const float *x, size_t n, float p, uint64_t key)
{
	dropout_apply_at(y, x, n, 0, p, key);
}

void dropout_apply_at(float *y, const float *x, size_t n, size_t base, float p, uint64_t key)
{
	if (p <= 0.0f) {
		if (y != x)
			memcpy(y, x, n * sizeof(float));
		return;
	}
	if (p >= 1.0f) {
		memset(y, 0, n * sizeof(float));
		return;
	}
	uint64_t thr = threshold(p);
	float scale = 1.0f / (1.0f - p);
	#pragma omp parallel for schedule(static)
	for (size_t i = 0; i < n; i++)
		y[i] = keep_thr(key, base + i, thr) ? x[i] * scale : 0.0f;
}

int attention_dropout_output(ops_ctx *ctx, float *out, const float *probs, const float *v, int ld,
                             int B, int T, int C, int NH, float p, uint64_t key)
{
	int rc = 0, D = C / NH;
	size_t tt = (size_t)T * T, td = (size_t)T * D;
	float *Pd = malloc(tt * sizeof(float)), *Vh = malloc(td * sizeof(float)), *O = malloc(td * sizeof(float));
	if (!Pd || !Vh || !O) {
		rc = err_set(ACC_ENOMEM, "out of memory: attention dropout");
		goto out;
	}
	for (int b = 0; b < B; b++)
		for (int h = 0; h < NH; h++) {
			size_t off = ((size_t)b * NH + h) * tt;
			/* the mask index is the index in the whole probs tensor */
			dropout_apply_at(Pd, probs + off, tt, off, p, key);
			for (int t = 0; t < T; t++)
				memcpy(Vh + (size_t)t * D, v + ((size_t)b * T + t) * ld + (size_t)h * D, D * sizeof(float));
			if ((rc = matmul_forward(ctx, O, OPS_F32, Pd, 0, Vh, 0, OPS_F32, T, D, T, 0))) {
				err_wrap(rc, "attention dropout");
				goto out;
			}
			for (int t = 0; t < T; t++)
				memcpy(out + ((size_t)b * T + t) * C + (size_t)h * D, O + (size_t)t * D, D * sizeof(float));
		}
out:
	free(Pd);
	free(Vh);
	free(O);
	return rc;
}
