/*
 * fuzz_audio.c — libFuzzer harness for the decode path every stage uses,
 * audio_read_span (libsndfile: WAV, FLAC, OGG ... + soxr): any bytes give
 * the requested samples or an error with a message.  Spans are short so a
 * hostile header cannot ask for hours of output.
 */
#include "fuzz_util.h"
#include "audio/audio.h"
#include "base/err.h"
#include <math.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const double spans[][2] = { { 0, 0.5 }, { 0.25, 1.3 }, { 10.0, 10.2 } };
	const char *p = fuzz_put(size >= 4 && !memcmp(data, "fLaC", 4) ? "x.flac" : "x.wav", data, size);
	for (int i = 0; i < 3; i++) {
		float *x = NULL;
		int64_t n = 0;
		if (audio_read_span(p, spans[i][0], spans[i][1], &x, &n) != 0) {
			if (x || !err_msg()[0])
				abort();
			continue;
		}
		int64_t want = (int64_t)llround(spans[i][1] * 16000) - (int64_t)llround(spans[i][0] * 16000);
		if (n < 0 || n > want)
			abort();
		volatile float acc = 0;
		for (int64_t k = 0; k < n; k++) {
			if (!isfinite(x[k]))
				abort();
			acc += x[k];
		}
		free(x);
	}
	audio_info info;
	if (audio_probe(p, &info) == 0 && (info.sample_rate <= 0 || info.channels <= 0))
		abort();
	return 0;
}
