/* test_audio.c — decoding, down-mixing, resampling, span exactness and bad
 * files (lib/audio/audio.c).  Real recordings come from tests/data/speech (see its
 * SOURCES.md); everything else is generated into TEST_TMP.  Expected values
 * are derived independently: frame counts from libsndfile's header, the
 * resampled signal from a one-shot soxr call on libsndfile's samples, tone
 * frequencies from the generator's parameters. */
#include "check.h"
#include "audio/audio.h"
#include "base/err.h"
#include <sndfile.h>
#include <soxr.h>
#include <stdint.h>

static char *tmp_path(const char *name)
{
	static char buf[8][1024];
	static int k;
	char *p = buf[k++ % 8];
	snprintf(p, 1024, "%s/%s", TEST_TMP, name);
	return p;
}

/* Header frame count and rate via libsndfile directly. */
static int header(const char *path, SF_INFO *si)
{
	memset(si, 0, sizeof *si);
	SNDFILE *sf = sf_open(path, SFM_READ, si);
	if (!sf)
		return -1;
	sf_close(sf);
	return 0;
}

/* Whole file as mono (mean of channels) at its own rate, via libsndfile. */
static float *read_mono(const char *path, int64_t *n, int *rate)
{
	SF_INFO si = { 0 };
	SNDFILE *sf = sf_open(path, SFM_READ, &si);
	if (!sf)
		return NULL;
	int64_t cap = si.frames + 48000;   /* MP3 frame counts are estimates */
	float *inter = malloc(sizeof(float) * cap * si.channels);
	float *mono = malloc(sizeof(float) * cap);
	int64_t got = 0, r;
	while ((r = sf_readf_float(sf, inter + got * si.channels, cap - got)) > 0)
		got += r;
	for (int64_t i = 0; i < got; i++) {
		double acc = 0;
		for (int c = 0; c < si.channels; c++)
			acc += inter[i * si.channels + c];
		mono[i] = (float)(acc / si.channels);
	}
	free(inter);
	sf_close(sf);
	*n = got;
	*rate = si.samplerate;
	return mono;
}

static int write_file(const char *path, int format, int rate, int ch, const float *x, int64_t frames)
{
	SF_INFO si = { 0 };
	si.samplerate = rate;
	si.channels = ch;
	si.format = format;
	SNDFILE *sf = sf_open(path, SFM_WRITE, &si);
	if (!sf) {
		fprintf(stderr, "  cannot write %s: %s\n", path, sf_strerror(NULL));
		return -1;
	}
	sf_writef_float(sf, x, frames);
	sf_close(sf);
	return 0;
}

static void test_real_durations_exact(void)
{
	static const char *files[] = {
		"speech/2412-153948-0000.flac", "speech/ES2011a.Headset-0-40s-46s.wav",
		"speech/LJ002-0020.wav", "speech/LJ002-0035.wav",
		"speech/common_voice_en_651325.mp3", "speech/jfk.flac", 0 };
	for (int i = 0; files[i]; i++) {
		char path[256];
		SF_INFO si;
		float *x = NULL;
		int64_t n = 0;
		audio_info info;
		audio_stats st;
		snprintf(path, sizeof path, "tests/data/%s", files[i]);
		CHECKF(header(path, &si) == 0, "libsndfile cannot open %s", path);
		CHECK_OK(audio_decode(path, &x, &n, &info, &st));
		/* frames libsndfile decodes reading straight through (MP3 headers
		 * only estimate the length; PCM/FLAC must match the header) */
		int64_t nread;
		int rate;
		float *mono = read_mono(path, &nread, &rate);
		free(mono);
		if (!strstr(path, ".mp3"))
			CHECK_EQ_INT(nread, si.frames);
		si.frames = nread;
		double declared = (double)si.frames / si.samplerate;
		/* rounding to the 16 kHz grid: within half a 16 kHz sample */
		CHECKF(fabs(st.duration_s - declared) <= 0.5 / 16000 + 1e-12, "%s: %.6f vs %.6f", path,
		       st.duration_s, declared);
		CHECK_EQ_INT(n, (si.frames * 16000 + si.samplerate / 2) / si.samplerate);
		if (!strstr(path, ".mp3"))
			CHECK_NEAR(info.duration_declared, declared, 1e-9);
		CHECK_EQ_INT(info.sample_rate, si.samplerate);
		CHECK_EQ_INT(info.channels, si.channels);
		CHECK(st.peak > 0.05 && st.peak <= 1.01);
		CHECK(st.rms > 0.005 && st.rms < st.peak);
		CHECK(st.silence_ratio >= 0 && st.silence_ratio < 0.9);
		free(x);
	}
}

static void test_mp3_48k(void)
{
	audio_info info;
	audio_stats st;
	float *x;
	int64_t n;
	CHECK_OK(audio_decode(TEST_DATA("data/speech/common_voice_en_651325.mp3"), &x, &n, &info, &st));
	CHECK_STR(info.container, "MPEG");
	CHECK_STR(info.codec, "MPEG_LAYER_III");
	CHECK_EQ_INT(info.sample_rate, 48000);
	/* SOURCES.md: about 2.4 s */
	CHECK(st.duration_s > 2.2 && st.duration_s < 2.6);
	free(x);
}

/* 24-bit stereo FLAC: the decode equals an independent mean-of-channels +
 * one-shot soxr resampling of libsndfile's own samples. */
static void check_against_oneshot(const char *path, double tol_max, double tol_rms)
{
	int64_t n0, n;
	int rate;
	float *ref_in = read_mono(path, &n0, &rate), *x = NULL;
	CHECK(ref_in != NULL);
	if (!ref_in)
		return;
	int64_t nref = (n0 * 16000 + rate / 2) / rate;
	float *ref = calloc(nref + 1024, sizeof(float));
	size_t odone = 0;
	soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
	soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
	if (rate != 16000) {
		CHECK(soxr_oneshot(rate, 16000, 1, ref_in, n0, NULL, ref, nref, &odone, &io, &q, NULL) == NULL);
	} else {
		memcpy(ref, ref_in, sizeof(float) * n0);
		odone = n0;
	}
	CHECK_OK(audio_decode(path, &x, &n, NULL, NULL));
	CHECK_EQ_INT(n, nref);
	double maxd = 0, sumsq = 0;
	int64_t m = (int64_t)odone < n ? (int64_t)odone : n;
	for (int64_t i = 0; i < m; i++) {
		double d = fabs(x[i] - ref[i]);
		if (d > maxd)
			maxd = d;
		sumsq += d * d;
	}
	CHECKF(maxd <= tol_max, "%s: max |diff| %.3g", path, maxd);
	CHECKF(sqrt(sumsq / (m ? m : 1)) <= tol_rms, "%s: rms diff %.3g", path, sqrt(sumsq / (m ? m : 1)));
	free(ref_in);
	free(ref);
	free(x);
}

static void test_stereo_24bit_flac_downmix(void)
{
	audio_info info;
	CHECK_OK(audio_probe(TEST_DATA("data/speech/jfk.flac"), &info));
	CHECK_STR(info.container, "FLAC");
	CHECK_STR(info.codec, "PCM_24");
	CHECK_EQ_INT(info.channels, 2);
	CHECK_EQ_INT(info.sample_rate, 44100);
	check_against_oneshot(TEST_DATA("data/speech/jfk.flac"), 1e-4, 1e-6);
}

static void test_22k_wav_resampled(void)
{
	check_against_oneshot(TEST_DATA("data/speech/LJ002-0020.wav"), 1e-4, 1e-6);
	/* 16 kHz input is passed through untouched */
	check_against_oneshot(TEST_DATA("data/speech/2412-153948-0000.flac"), 0, 0);
}

/* Exact down-mix: 16 kHz stereo (no resampling) gives (L+R)/2. */
static void test_downmix_mean(void)
{
	int64_t N = 8000;
	float *st = malloc(sizeof(float) * N * 2), *x;
	int64_t n;
	for (int64_t i = 0; i < N; i++) {
		st[2 * i] = 0.5f * sinf(i * 0.01f);
		st[2 * i + 1] = 0.25f * cosf(i * 0.03f);
	}
	const char *p = tmp_path("stereo16k.wav");
	CHECK(write_file(p, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 16000, 2, st, N) == 0);
	CHECK_OK(audio_decode(p, &x, &n, NULL, NULL));
	CHECK_EQ_INT(n, N);
	double maxd = 0;
	for (int64_t i = 0; i < N && i < n; i++)
		maxd = fmax(maxd, fabs(x[i] - (st[2 * i] + st[2 * i + 1]) / 2));
	CHECK(maxd < 1e-7);
	free(st);
	free(x);
}

static double zero_cross_freq(const float *x, int64_t n, int64_t skip)
{
	int64_t first = -1, last = -1, count = 0;
	for (int64_t i = skip + 1; i < n - skip; i++)
		if ((x[i - 1] < 0) != (x[i] < 0)) {
			if (first < 0)
				first = i;
			last = i;
			count++;
		}
	return count > 1 ? (count - 1) / 2.0 / ((last - first) / 16000.0) : 0;
}

static void tone_case(int rate, double freq, int64_t frames, const char *name)
{
	float *y = malloc(sizeof(float) * frames), *x;
	int64_t n;
	audio_stats st;
	for (int64_t i = 0; i < frames; i++)
		y[i] = 0.5f * (float)sin(2 * M_PI * freq * i / rate);
	const char *p = tmp_path(name);
	CHECK(write_file(p, SF_FORMAT_WAV | SF_FORMAT_FLOAT, rate, 1, y, frames) == 0);
	CHECK_OK(audio_decode(p, &x, &n, NULL, &st));
	CHECK_EQ_INT(n, (frames * 16000 + rate / 2) / rate);
	if (freq < 7500) {
		double f = zero_cross_freq(x, n, 400);
		CHECKF(fabs(f - freq) < 0.05, "%s: %.4f Hz measured, %.1f generated", name, f, freq);
		CHECK_NEAR(st.rms, 0.5 / sqrt(2), 0.005);     /* amplitude preserved in the pass band */
	} else {
		CHECKF(st.rms < 1e-3, "%s: %.1f Hz above 8 kHz Nyquist not removed (rms %.3g)", name, freq, st.rms);
	}
	free(y);
	free(x);
}

static void test_tone_frequency_preserved(void)
{
	tone_case(44100, 1000, 44100 * 3, "tone1k_44k.wav");
	tone_case(22050, 440, 22050 * 2, "tone440_22k.wav");
	tone_case(48000, 3000, 48000 * 2, "tone3k_48k.wav");
	tone_case(8000, 1000, 8000 * 2, "tone1k_8k.wav");      /* upsampling */
	tone_case(44100, 11000, 44100 * 2, "tone11k_44k.wav");  /* anti-aliasing */
}

/* A 35 s test signal: speech-band noise + tones, so blocks are not trivial. */
static float *test_signal(int rate, int64_t frames)
{
	float *y = malloc(sizeof(float) * frames);
	uint32_t s = 12345;
	for (int64_t i = 0; i < frames; i++) {
		s = s * 1664525u + 1013904223u;
		double noise = ((s >> 8) / 16777216.0 - 0.5) * 0.2;
		y[i] = (float)(0.3 * sin(2 * M_PI * 523.25 * i / rate) + 0.2 * sin(2 * M_PI * 2100 * i / rate) + noise);
	}
	return y;
}

static void span_case(const char *name, int format, int rate, int exact)
{
	int64_t frames = (int64_t)rate * 35;
	float *y = test_signal(rate, frames), *full = NULL, *sp = NULL;
	int64_t nfull = 0, nsp = 0;
	const char *p = tmp_path(name);
	if (write_file(p, format, rate, 1, y, frames) != 0) {
		free(y);
		CHECKF(0, "cannot write %s", name);
		return;
	}
	CHECK_OK(audio_decode(p, &full, &nfull, NULL, NULL));
	static const double spans[][2] = { { 0, 1.5 }, { 9.2, 10.7 }, { 9.99, 30.01 }, { 19.999937, 20.0 },
					   { 25.3, -1 }, { 33.0, 40.0 }, { 0, -1 } };
	for (size_t k = 0; k < sizeof spans / sizeof spans[0]; k++) {
		double a = spans[k][0], b = spans[k][1];
		CHECK_OK(audio_read_span(p, a, b, &sp, &nsp));
		int64_t lo = llround(a * 16000), hi = b < 0 ? nfull : llround(b * 16000);
		if (hi > nfull)
			hi = nfull;
		CHECKF(nsp == hi - lo, "%s [%g,%g): %lld samples, want %lld", name, a, b, (long long)nsp,
		       (long long)(hi - lo));
		double maxd = 0;
		for (int64_t i = 0; i < nsp && lo + i < nfull; i++)
			maxd = fmax(maxd, fabs(sp[i] - full[lo + i]));
		if (exact)
			CHECKF(maxd == 0, "%s [%g,%g): max |diff| %.3g, want bit-identical", name, a, b, maxd);
		else
			CHECKF(maxd < 1e-6, "%s [%g,%g): max |diff| %.3g", name, a, b, maxd);
		free(sp);
		sp = NULL;
	}
	/* past the end is an error, not a crash */
	CHECK(audio_read_span(p, 50, 51, &sp, &nsp) == ACC_EINVAL);
	CHECK(audio_read_span(p, 2, 1, &sp, &nsp) == ACC_EINVAL);
	free(y);
	free(full);
}

static void test_span_bit_identical(void)
{
	span_case("span44.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, 1);
	span_case("span22.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_24, 22050, 1);
	span_case("span16.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1);
	span_case("span48.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 48000, 1);
	span_case("span48.opus", SF_FORMAT_OGG | SF_FORMAT_OPUS, 48000, 1);
	span_case("span44.mp3", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, 44100, 1);
}

/* Block-wise resampling joins seamlessly: close to one continuous stream. */
static void test_blocks_match_continuous(void)
{
	int rate = 44100;
	int64_t frames = (int64_t)rate * 35;
	float *y = test_signal(rate, frames), *x;
	int64_t n;
	const char *p = tmp_path("cont.wav");
	CHECK(write_file(p, SF_FORMAT_WAV | SF_FORMAT_FLOAT, rate, 1, y, frames) == 0);
	CHECK_OK(audio_decode(p, &x, &n, NULL, NULL));
	int64_t nref = (frames * 16000 + rate / 2) / rate;
	float *ref = calloc(nref + 1024, sizeof(float));
	size_t odone;
	soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
	soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
	CHECK(soxr_oneshot(rate, 16000, 1, y, frames, NULL, ref, nref, &odone, &io, &q, NULL) == NULL);
	double maxd = 0;
	for (int64_t i = 0; i < n && i < (int64_t)odone; i++)
		maxd = fmax(maxd, fabs(x[i] - ref[i]));
	CHECKF(maxd < 1e-4, "block seams: max |diff| %.3g", maxd);
	free(y);
	free(x);
	free(ref);
}

static void bad_case(const char *name, const void *bytes, size_t len, int want_rc, int want_fault)
{
	const char *p = tmp_path(name);
	FILE *f = fopen(p, "wb");
	if (len)
		fwrite(bytes, 1, len, f);
	fclose(f);
	float *x = NULL;
	int64_t n = 0;
	int fault = -1;
	audio_info info;
	int rc = audio_decode_stream(p, NULL, NULL, &info, NULL, &fault);
	CHECKF(rc == want_rc, "%s: rc %d (%s), want %d", name, rc, err_msg(), want_rc);
	CHECKF(fault == want_fault, "%s: fault %s, want %s", name, audio_fault_name(fault), audio_fault_name(want_fault));
	CHECKF(strlen(err_msg()) > 0 && strstr(err_msg(), name), "%s: message '%s'", name, err_msg());
	CHECK(audio_decode(p, &x, &n, NULL, NULL) == want_rc);
	CHECK(x == NULL);
	free(x);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	*len = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *b = malloc(*len + 1);
	if (fread(b, 1, *len, f) != *len) { /* checked by the caller's sizes */ }
	fclose(f);
	return b;
}

static void test_bad_files(void)
{
	size_t len;
	char *wav = slurp(TEST_DATA("data/speech/LJ002-0020.wav"), &len);
	char *flac, *mp3;
	size_t flen, mlen;
	CHECK(wav != NULL);
	bad_case("empty.wav", "", 0, ACC_EFORMAT, AUDIO_FAULT_ZERO_LENGTH);
	bad_case("garbage.wav", "this is not audio at all, just text bytes....", 45, ACC_EFORMAT, AUDIO_FAULT_CORRUPT);
	bad_case("header.wav", wav, 44, ACC_EFORMAT, AUDIO_FAULT_HEADER_ONLY);
	bad_case("trunc.wav", wav, len / 2, ACC_EFORMAT, AUDIO_FAULT_TRUNCATED);
	bad_case("song.m4a", "\0\0\0\x20" "ftypM4A junk junk junk", 26, ACC_EUNSUPPORTED, AUDIO_FAULT_UNSUPPORTED);
	flac = slurp(TEST_DATA("data/speech/2412-153948-0000.flac"), &flen);
	bad_case("trunc.flac", flac, flen / 3, ACC_EFORMAT, AUDIO_FAULT_CORRUPT);  /* "flac decoder lost sync" */
	bad_case("hdr.flac", flac, 20, ACC_EFORMAT, AUDIO_FAULT_CORRUPT);
	/* a FLAC whose frames are overwritten with junk mid-file */
	for (size_t i = flen / 2; i < flen / 2 + 4000 && i < flen; i++)
		flac[i] = (char)(i * 7919);
	{
		const char *p = tmp_path("junk.flac");
		FILE *f = fopen(p, "wb");
		fwrite(flac, 1, flen, f);
		fclose(f);
		float *x = NULL;
		int64_t n;
		int rc = audio_decode(p, &x, &n, NULL, NULL);
		/* libsndfile may resync past the damage; it must not crash and,
		 * when it fails, must say why */
		CHECK(rc == 0 || (rc == ACC_EFORMAT && strlen(err_msg()) > 0));
		free(x);
	}
	mp3 = slurp(TEST_DATA("data/speech/common_voice_en_651325.mp3"), &mlen);
	bad_case("trunc.mp3", mp3, 200, ACC_EFORMAT, AUDIO_FAULT_CORRUPT);
	{
		float *x = NULL;
		int64_t n;
		CHECK(audio_decode(tmp_path("does-not-exist.wav"), &x, &n, NULL, NULL) == ACC_ENOTFOUND);
	}
	free(wav);
	free(flac);
	free(mp3);
}

static void test_stats(void)
{
	int64_t n = 16000;
	float *x = calloc(n, sizeof(float));
	audio_stats st;
	for (int64_t i = 8000; i < n; i++)
		x[i] = (i % 2) ? 1.0f : -1.0f;   /* second half: full-scale square wave */
	audio_compute_stats(x, n, &st);
	CHECK_NEAR(st.duration_s, 1.0, 1e-12);
	CHECK_NEAR(st.peak, 1.0, 1e-12);
	CHECK_NEAR(st.rms, sqrt(0.5), 1e-9);
	CHECK_NEAR(st.clip_ratio, 0.5, 1e-12);
	CHECK_NEAR(st.silence_ratio, 0.5, 1e-12);  /* 25 of 50 frames of 20 ms */
	free(x);
}

static void test_write_wav_roundtrip(void)
{
	float y[1600];
	for (int i = 0; i < 1600; i++)
		y[i] = 0.25f * sinf(i * 0.2f);
	const char *p = tmp_path("rt.wav");
	CHECK_OK(audio_write_wav(p, y, 1600, 16000));
	float *x;
	int64_t n;
	CHECK_OK(audio_decode(p, &x, &n, NULL, NULL));
	CHECK_EQ_INT(n, 1600);
	double maxd = 0;
	for (int i = 0; i < 1600 && i < n; i++)
		maxd = fmax(maxd, fabs(x[i] - y[i]));
	CHECK(maxd < 1.0 / 32768 + 1e-7);
	free(x);
}

int main(void)
{
	RUN(test_real_durations_exact);
	RUN(test_mp3_48k);
	RUN(test_stereo_24bit_flac_downmix);
	RUN(test_22k_wav_resampled);
	RUN(test_downmix_mean);
	RUN(test_tone_frequency_preserved);
	RUN(test_span_bit_identical);
	RUN(test_blocks_match_continuous);
	RUN(test_bad_files);
	RUN(test_stats);
	RUN(test_write_wav_roundtrip);
	return check_summary();
}
