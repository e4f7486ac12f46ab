/*
 * audio.h — decoding any audio file to 16 kHz mono float, and its signal
 * statistics.  Every stage reads audio through audio_read_span(), so prep,
 * align and train see bit-identical samples.
 *
 * Decoding: libsndfile (WAV, FLAC, OGG/Vorbis, Opus, MP3, ...); channels are
 * averaged to mono; resampling to 16 kHz with soxr (SOXR_HQ).
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#define AUDIO_RATE 16000

/* What the container says, before decoding (sf_open + sf_command). */
typedef struct audio_info {
	char    container[32];     /* "WAV", "FLAC", "MPEG", "OGG", ... */
	char    codec[32];         /* "PCM_16", "PCM_24", "FLOAT", "MPEG_LAYER_III", "VORBIS", "OPUS", ... */
	int     sample_rate;       /* as found in the file */
	int     channels;
	int64_t frames;            /* as declared by the header (may be wrong; -1 when unknown) */
	double  duration_declared; /* frames / sample_rate, -1 when unknown */
} audio_info;

/* Signal statistics of the decoded 16 kHz mono signal. */
typedef struct audio_stats {
	double duration_s;     /* measured: decoded samples / 16000 */
	double peak;           /* max |x| (full scale = 1.0) */
	double rms;            /* sqrt(mean x^2) */
	double clip_ratio;     /* share of samples with |x| >= 0.999 in the ORIGINAL channels */
	double silence_ratio;  /* share of 20 ms frames whose RMS < -50 dBFS */
} audio_stats;

/* Probe a file's header.  ACC_EFORMAT (libsndfile's reason) when it cannot
 * be opened as audio; ACC_EIO/ACC_ENOTFOUND when the file cannot be read. */
int audio_probe(const char *path, audio_info *info);

/* Decode a whole file to 16 kHz mono float.  *samples is malloc'ed; *n is its
 * length.  stats (optional) receives the statistics.  ACC_EFORMAT for corrupt,
 * truncated, header-only or zero-length audio. */
int audio_decode(const char *path, float **samples, int64_t *n, audio_info *info, audio_stats *stats);

/* Decode [start_s, end_s) of a file (end_s < 0 = to the end) at 16 kHz mono.
 * Sample-exact: the span covers samples round(start_s*16000) ..
 * round(end_s*16000) of the 16 kHz signal audio_decode() returns.
 * Streams: memory is proportional to the span, not the file. */
int audio_read_span(const char *path, double start_s, double end_s, float **samples, int64_t *n);

/* Statistics of a 16 kHz mono buffer (clip_ratio from this buffer). */
void audio_compute_stats(const float *x, int64_t n, audio_stats *stats);

/* Write 16-bit PCM WAV (used by tests, exports and the synthesizer). */
int audio_write_wav(const char *path, const float *x, int64_t n, int sample_rate);
