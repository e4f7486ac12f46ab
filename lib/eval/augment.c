/*
 * augment.c — noise, babble, speed and gain conditions (see augment.h).
 * Noise comes from a xoshiro-style generator seeded explicitly so that an
 * evaluation condition is the same on every run and machine.
 */
#include "eval/augment.h"
#include "audio/audio.h"
#include "base/err.h"
#include "base/rng.h"
#include <math.h>
#include <soxr.h>
#include <stdlib.h>
#include <string.h>
#include "base/banned.h"


static double power(const float *x, int64_t n)
{
	double p = 0;
	for (int64_t i = 0; i < n; i++)
		p += (double)x[i] * x[i];
	return p;
}

/* x += scale * noise with scale set so that power(x) / power(scaled noise)
 * is 10^(snr/10). */
static int mix_at_snr(float *x, int64_t n, const double *noise, double snr_db)
{
	double ps = power(x, n), pn = 0;
	for (int64_t i = 0; i < n; i++)
		pn += noise[i] * noise[i];
	if (!(ps > 0))
		return err_set(ACC_EINVAL, "cannot set an SNR on a silent signal");
	if (!(pn > 0))
		return err_set(ACC_EINVAL, "the noise is silent");
	double scale = sqrt(ps / (pn * pow(10.0, snr_db / 10.0)));
	for (int64_t i = 0; i < n; i++)
		x[i] = (float)(x[i] + scale * noise[i]);
	return 0;
}

int augment_white_noise(float *x, int64_t n, double snr_db, uint64_t seed)
{
	if (n <= 0 || !isfinite(snr_db))
		return err_set(ACC_EINVAL, "white noise: empty signal or bad SNR %g", snr_db);
	double *noise = malloc((size_t)n * sizeof *noise);
	if (!noise)
		return err_set(ACC_ENOMEM, "out of memory");
	uint64_t s = seed ^ 0x5eedull;
	for (int64_t i = 0; i < n; i += 2) {   /* Box-Muller, two at a time */
		double r = sqrt(-2.0 * log(rng_unit_open(&s))), th = 2.0 * M_PI * rng_unit_open(&s);
		noise[i] = r * cos(th);
		if (i + 1 < n)
			noise[i + 1] = r * sin(th);
	}
	int rc = mix_at_snr(x, n, noise, snr_db);
	free(noise);
	return rc;
}

int augment_babble(float *x, int64_t n, const float *const *others, const int64_t *others_n, int n_others,
		   double snr_db, uint64_t seed)
{
	if (n <= 0 || !isfinite(snr_db))
		return err_set(ACC_EINVAL, "babble: empty signal or bad SNR %g", snr_db);
	double *noise = calloc((size_t)n, sizeof *noise);
	if (!noise)
		return err_set(ACC_ENOMEM, "out of memory");
	uint64_t s = seed ^ 0xbabb1eull;
	int used = 0;
	for (int k = 0; k < n_others; k++) {
		int64_t m = others_n[k];
		if (m <= 0)
			continue;
		double p = power(others[k], m);
		if (!(p > 0))
			continue;
		double g = 1.0 / sqrt(p / (double)m);
		int64_t off = (int64_t)(rng_unit_open(&s) * (double)m) % m;
		for (int64_t i = 0; i < n; i++)
			noise[i] += g * others[k][(off + i) % m];
		used++;
	}
	int rc = used ? mix_at_snr(x, n, noise, snr_db)
		      : err_set(ACC_EINVAL, "babble needs at least one non-silent other utterance");
	free(noise);
	return rc;
}

int augment_speed(const float *x, int64_t n, double factor, float **y, int64_t *ny)
{
	*y = NULL;
	*ny = 0;
	if (!(factor >= 0.5 && factor <= 2.0))
		return err_set(ACC_EINVAL, "speed factor %g outside [0.5, 2]", factor);
	if (n <= 0)
		return err_set(ACC_EINVAL, "speed: empty signal");
	/* Read the samples as if recorded at factor * 16 kHz and resample to
	 * 16 kHz: n / factor samples, tempo and pitch scaled by factor. */
	size_t olen = (size_t)ceil((double)n / factor) + 16, odone = 0, idone = 0;
	float *out = malloc(olen * sizeof *out);
	if (!out)
		return err_set(ACC_ENOMEM, "out of memory");
	soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
	soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
	soxr_error_t e = soxr_oneshot(factor * AUDIO_RATE, (double)AUDIO_RATE, 1, x, (size_t)n, &idone, out, olen, &odone,
				      &io, &q, NULL);
	if (e) {
		free(out);
		return err_set(ACC_EINTERNAL, "soxr: %s", e);
	}
	*y = out;
	*ny = (int64_t)odone;
	return 0;
}

void augment_gain(float *x, int64_t n, double db, int clip)
{
	double g = pow(10.0, db / 20.0);
	for (int64_t i = 0; i < n; i++) {
		double v = x[i] * g;
		if (clip)
			v = v > 1 ? 1 : v < -1 ? -1 : v;
		x[i] = (float)v;
	}
}

double augment_snr_db(const float *clean, const float *noisy, int64_t n)
{
	double ps = 0, pn = 0;
	for (int64_t i = 0; i < n; i++) {
		double d = (double)noisy[i] - clean[i];
		ps += (double)clean[i] * clean[i];
		pn += d * d;
	}
	if (!(ps > 0))
		return NAN;
	return pn > 0 ? 10.0 * log10(ps / pn) : INFINITY;
}
