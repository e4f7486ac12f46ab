/* test_vad.c — cutting long recordings at pauses (lib/audio/vad.c).  Signals are
 * built from speech-like bursts with known positions; on real speech the
 * pieces are checked against the bounds and the pauses we inserted. */
#include "check.h"
#include "speechclips.h"
#include "audio/audio.h"
#include "base/err.h"
#include "audio/vad.h"
#include <stdint.h>

static uint32_t rng = 1;
static double urand(void)
{
	rng = rng * 1664525u + 1013904223u;
	return (rng >> 8) / 16777216.0;
}

/* Append `sec` seconds of amplitude-modulated noise+tones (speech-like) or
 * of faint noise (pause) to x. */
static int64_t add(float *x, int64_t n, double sec, int speech)
{
	int64_t m = (int64_t)(sec * 16000);
	for (int64_t i = 0; i < m; i++) {
		double t = (n + i) / 16000.0;
		double v = (urand() - 0.5) * 0.0006;   /* about -70 dBFS floor */
		if (speech) {
			double env = 0.6 + 0.4 * sin(2 * M_PI * 4 * t);  /* syllable rate */
			v += env * (0.2 * sin(2 * M_PI * 180 * t) + 0.1 * sin(2 * M_PI * 900 * t) + (urand() - 0.5) * 0.1);
		}
		x[n + i] = (float)v;
	}
	return n + m;
}

typedef struct burst { double a, b; } burst;

static void run_vad(const float *x, int64_t n, vad_opts *o, vad_segment **s, int *ns)
{
	vad v;
	vad_init(&v);
	/* feed in odd-sized pieces: the result must not depend on them */
	for (int64_t i = 0; i < n; i += 12345)
		CHECK_OK(vad_feed(&v, x + i, n - i < 12345 ? n - i : 12345));
	CHECK_OK(vad_split(&v, o, s, ns));
	vad_free(&v);
}

/* run_vad with pieces of at most 12 s; returns their count */
static int run_vad_max12(const float *x, int64_t n, vad_opts *o, vad_segment **s)
{
	int ns;
	o->max_s = 12;
	run_vad(x, n, o, s, &ns);
	return ns;
}

static void test_cuts_at_pauses(void)
{
	/* speech lengths; pauses of 0.6 s between, 1 s lead-in/out */
	static const double lens[] = { 3.0, 2.5, 4.0, 6.0, 1.6, 5.5, 2.0, 7.0, 3.0 };
	int nb = sizeof lens / sizeof lens[0];
	burst b[16];
	float *x = malloc(sizeof(float) * 16000 * 60);
	int64_t n = add(x, 0, 1.0, 0);
	for (int i = 0; i < nb; i++) {
		b[i].a = n / 16000.0;
		n = add(x, n, lens[i], 1);
		b[i].b = n / 16000.0;
		n = add(x, n, i + 1 < nb ? 0.6 : 1.0, 0);
	}
	vad_opts o = VAD_OPTS_DEFAULT;
	vad_segment *s;
	int ns = run_vad_max12(x, n, &o, &s);
	CHECK(ns >= 3);
	for (int k = 0; k < ns; k++) {
		double d = s[k].end_s - s[k].start_s;
		CHECKF(d >= o.min_s - 1e-9 && d <= o.max_s + 1e-9, "piece %d: %.2f s", k, d);
		CHECK(!s[k].forced);
		if (k)
			CHECK(s[k].start_s >= s[k - 1].end_s);
		/* every cut lies in a pause, never inside a burst */
		for (int i = 0; i < nb; i++) {
			CHECKF(!(s[k].start_s > b[i].a + 0.02 && s[k].start_s < b[i].b - 0.02), "start %.2f inside burst %d", s[k].start_s, i);
			CHECKF(!(s[k].end_s > b[i].a + 0.02 && s[k].end_s < b[i].b - 0.02), "end %.2f inside burst %d", s[k].end_s, i);
		}
	}
	/* all speech is covered */
	for (int i = 0; i < nb; i++) {
		int covered = 0;
		for (int k = 0; k < ns; k++)
			if (s[k].start_s <= b[i].a + 0.03 && s[k].end_s >= b[i].b - 0.03)
				covered = 1;
		CHECKF(covered, "burst %d [%.2f, %.2f) not covered", i, b[i].a, b[i].b);
	}
	/* padding: pieces start a little before speech, not at the very start */
	CHECK(s[0].start_s > 0.8 && s[0].start_s < b[0].a);
	free(s);
	free(x);
}

static void test_forced_cut_and_short(void)
{
	/* 25 s without any pause (must be cut inside speech), then an isolated
	 * 0.3 s blip far from everything (kept but short) */
	float *x = malloc(sizeof(float) * 16000 * 40);
	int64_t n = add(x, 0, 0.5, 0);
	n = add(x, n, 25, 1);
	n = add(x, n, 5, 0);
	double blip = n / 16000.0;
	n = add(x, n, 0.3, 1);
	n = add(x, n, 0.5, 0);
	vad_opts o = VAD_OPTS_DEFAULT;
	vad_segment *s;
	int ns;
	run_vad(x, n, &o, &s, &ns);
	CHECKF(ns == 3, "%d pieces", ns);
	if (ns == 3) {
		CHECK(s[0].forced && s[1].forced);
		CHECK(s[0].end_s - s[0].start_s <= 20 + 1e-9);
		CHECK(s[1].end_s - s[1].start_s <= 20 + 1e-9);
		CHECK_NEAR(s[0].end_s, s[1].start_s, 1e-9);  /* cut inside speech: contiguous */
		CHECK(s[2].start_s < blip && s[2].end_s > blip + 0.3);
		/* the blip was widened into its silence up to min_s */
		CHECK_NEAR(s[2].end_s - s[2].start_s, 1.0, 0.011);
	}
	free(s);
	free(x);
}

static void test_silence_and_options(void)
{
	float *x = malloc(sizeof(float) * 16000 * 5);
	int64_t n = add(x, 0, 5, 0);
	vad_opts o = VAD_OPTS_DEFAULT;
	vad_segment *s;
	int ns;
	for (int64_t i = 0; i < n; i++)
		x[i] *= 0.01f;   /* -110 dBFS: below the absolute floor */
	run_vad(x, n, &o, &s, &ns);
	CHECK_EQ_INT(ns, 0);
	free(s);
	vad v;
	vad_init(&v);
	vad_opts bad = VAD_OPTS_DEFAULT;
	bad.min_s = 5;
	bad.max_s = 4;
	CHECK(vad_split(&v, &bad, &s, &ns) == ACC_EINVAL);
	vad_free(&v);
	free(x);
}

/* Real speech: the three LJ/LibriSpeech/JFK clips joined with 0.8 s pauses;
 * with max 12 s, every piece fits the bounds and no cut falls inside a clip
 * except where a clip alone exceeds max. */
static void test_real_speech(void)
{
	static const char *files[] = { "data/speech/LJ002-0020.wav", "data/speech/jfk.flac",
				       "data/speech/LJ002-0035.wav", "data/speech/2412-153948-0000.flac", 0 };
	int64_t n;
	double bound[8][2];
	float *all = join_speech_clips(files, 12800, NULL, bound, &n);
	int nf = 0;
	while (files[nf])
		nf++;
	vad_opts o = VAD_OPTS_DEFAULT;
	vad_segment *s;
	int ns = run_vad_max12(all, n, &o, &s);
	CHECK(ns >= 4);
	double covered = 0;
	for (int k = 0; k < ns; k++) {
		double d = s[k].end_s - s[k].start_s;
		CHECKF(d >= 1 - 1e-9 && d <= 12 + 1e-9, "piece %d: %.2f s", k, d);
		covered += d;
		/* a cut between clips lies in the inserted pause or in a clip's own
		 * leading/trailing quiet */
	}
	CHECK(covered > 0.6 * (bound[3][1] - bound[0][0] - 3 * 0.8) && covered <= n / 16000.0);
	/* the pauses between clips are never inside a piece unless a clip is
	 * shorter than min_s (LJ clips are 1.5 s, so none is) */
	for (int i = 0; i + 1 < nf; i++) {
		double mid = (bound[i][1] + bound[i + 1][0]) / 2;
		for (int k = 0; k < ns; k++)
			CHECKF(!(s[k].start_s < mid - 0.35 && s[k].end_s > mid + 0.35), "piece %d spans the pause at %.2f", k, mid);
	}
	free(s);
	free(all);
}

int main(void)
{
	RUN(test_cuts_at_pauses);
	RUN(test_forced_cut_and_short);
	RUN(test_silence_and_options);
	RUN(test_real_speech);
	return check_summary();
}
