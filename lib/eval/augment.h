/*
 * augment.h — robustness conditions for evaluation: additive white noise
 * and babble noise at a chosen signal-to-noise ratio, speed perturbation
 * (resampling with soxr, as Kaldi's / sox's "speed": tempo and pitch change
 * together) and gain changes.  All operate on 16 kHz mono float signals and
 * are deterministic given their seed.
 *
 * SNR is measured over the whole utterance: 10 log10(sum s^2 / sum n^2).
 */
#pragma once
#include <stdint.h>

/* Add Gaussian white noise so that the SNR is snr_db (in place).  The noise
 * is scaled on its actual power, so the SNR is exact, not just expected.
 * ACC_EINVAL for an empty or silent signal. */
int augment_white_noise(float *x, int64_t n, double snr_db, uint64_t seed);

/* Add babble: the sum of n_others other utterances (each brought to unit
 * RMS, started at a seed-chosen offset and looped to cover x) scaled to
 * snr_db (in place).  Silent others are skipped; ACC_EINVAL when none is
 * usable or x is silent. */
int augment_babble(float *x, int64_t n, const float *const *others, const int64_t *others_n, int n_others,
		   double snr_db, uint64_t seed);

/* Speed perturbation by factor (0.9 = slower and longer, 1.1 = faster and
 * shorter): *y is malloc'ed with *ny = round(n / factor) samples (+-1).
 * ACC_EINVAL for a factor outside [0.5, 2]; ACC_EINTERNAL with soxr's
 * message when resampling fails. */
int augment_speed(const float *x, int64_t n, double factor, float **y, int64_t *ny);

/* Multiply by 10^(db/20) (in place); with clip, samples are limited to
 * [-1, 1] as a recorder would. */
void augment_gain(float *x, int64_t n, double db, int clip);

/* SNR in dB of noisy against clean (noise = noisy - clean); +inf when they
 * are identical, NAN when clean is silent. */
double augment_snr_db(const float *clean, const float *noisy, int64_t n);
