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
	double nonfinite_ratio;/* share of NaN/Inf samples in the ORIGINAL channels (decoded as 0) */
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
 * round(end_s*16000) of the 16 kHz signal audio_decode() returns, and the
 * values are bit-identical to it (both compute the signal in the same 10 s
 * blocks: seek, decode, resample with a margin; see audio.c).
 * Streams: memory is proportional to the span, not the file.  ACC_EINVAL for
 * a span that starts after the end; a span running past the end is cut. */
int audio_read_span(const char *path, double start_s, double end_s, float **samples, int64_t *n);

/* Statistics of a 16 kHz mono buffer (clip_ratio from this buffer). */
void audio_compute_stats(const float *x, int64_t n, audio_stats *stats);

/* Write 16-bit PCM WAV (used by tests, exports and the synthesizer). */
int audio_write_wav(const char *path, const float *x, int64_t n, int sample_rate);

/* ---- streaming decode and fault classification (prep ingest) ---- */

/* Why a file could not be decoded, for reject reason codes. */
enum {
	AUDIO_FAULT_NONE = 0,
	AUDIO_FAULT_MISSING,      /* file does not exist */
	AUDIO_FAULT_UNREADABLE,   /* exists but cannot be read (permissions, not a file) */
	AUDIO_FAULT_ZERO_LENGTH,  /* 0 bytes */
	AUDIO_FAULT_UNSUPPORTED,  /* a format libsndfile does not decode (m4a, aac, wma, ...) */
	AUDIO_FAULT_CORRUPT,      /* unrecognised header or decoder error */
	AUDIO_FAULT_HEADER_ONLY,  /* valid header, no audio frames */
	AUDIO_FAULT_TRUNCATED,    /* fewer frames than the header declares */
	AUDIO_FAULT_BAD_RATE,     /* a sample rate no speech recording has (< AUDIO_MIN_RATE) */
};
/* Lowest input sample rate accepted (telephone speech is 8 kHz). */
#define AUDIO_MIN_RATE 4000
/* Reason code for a fault: "missing_file", "corrupt_audio", "truncated", ... */
const char *audio_fault_name(int fault);

/* Receives consecutive pieces of the 16 kHz mono signal in order; offset is
 * the index of x[0] in the whole signal.  A non-zero return stops decoding
 * and is returned by audio_decode_stream(). */
typedef int (*audio_block_fn)(void *ctx, const float *x, int64_t n, int64_t offset);

/* Decode a whole file in 10 s pieces (memory independent of the file's
 * length), calling fn (may be NULL) for each; fills info and stats (both
 * optional) and *fault (optional) on failure.  The samples are exactly those
 * audio_decode() returns. */
int audio_decode_stream(const char *path, audio_block_fn fn, void *ctx, audio_info *info,
			audio_stats *stats, int *fault);
