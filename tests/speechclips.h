/*
 * tests/speechclips.h — the real speech clips under tests/data/speech joined
 * into one 16 kHz signal with pauses between them, for the tests that cut
 * long audio (VAD, long-form ingest).  Include after check.h.
 */
#ifndef ACCENT_SPEECHCLIPS_H
#define ACCENT_SPEECHCLIPS_H

#include "audio/audio.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Decodes files[] (paths below tests/, NULL-terminated; at most 40 s in all)
 * and joins them, each followed by `pause` samples of fill() (0 where fill is
 * NULL).  bound, when not NULL, gets each clip's start and end in seconds.
 * Returns the signal (free it) and its length in *n. */
__attribute__((unused)) static float *join_speech_clips(const char *const *files, int64_t pause, float (*fill)(void),
							 double (*bound)[2], int64_t *n)
{
	float *all = malloc(sizeof(float) * 16000 * 40);
	*n = 0;
	for (int i = 0; files[i]; i++) {
		char p[256];
		float *x;
		int64_t m;
		snprintf(p, sizeof p, "tests/%s", files[i]);
		CHECK_OK(audio_decode(p, &x, &m, NULL, NULL));
		if (bound)
			bound[i][0] = *n / 16000.0;
		memcpy(all + *n, x, sizeof(float) * m);
		*n += m;
		if (bound)
			bound[i][1] = *n / 16000.0;
		for (int64_t k = 0; k < pause; k++)
			all[(*n)++] = fill ? fill() : 0;
		free(x);
	}
	return all;
}

#endif
