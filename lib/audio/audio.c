/*
 * audio.c — decoding any audio file to 16 kHz mono float (see audio.h).
 *
 * The canonical 16 kHz signal is defined block-wise so that any span of it
 * can be recomputed exactly without decoding the whole file:
 *
 *   output block b covers 16 kHz samples [b*BLOCK_OUT, (b+1)*BLOCK_OUT).
 *   It is computed by seeking the decoder to input frame
 *   s = b*B_in - margin (clamped at 0), reading up to b*B_in + B_in + margin,
 *   down-mixing, and running a freshly cleared soxr resampler over exactly
 *   those frames (flushed at their end).  B_in = BLOCK_OUT*rate/16000.
 *
 * audio_decode() and audio_read_span() both compute blocks with this one
 * function (block_compute), performing the same seek, the same reads and the
 * same resampler calls, so a span is bit-identical to the same samples of
 * the whole-file decode (tests/test_audio.c checks equality, not closeness).
 * The margin (>= 0.1 s, a multiple of the rate's period rate/gcd(rate,16000)
 * so that s maps to an integer 16 kHz index) is longer than the resampling
 * filter's support, so blocks join without audible seams; the test also
 * checks that the block-wise signal is within 1e-4 of one continuous soxr
 * stream.  Memory is one block (10 s) plus the span, never the file.
 * 16 kHz input is copied unresampled.
 */
#include "audio/audio.h"
#include "base/err.h"
#include "base/fsutil.h"
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sndfile.h>
#include <soxr.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <stdio.h>
#include <unistd.h>
#include "base/banned.h"

#define BLOCK_OUT   ((int64_t)160000)  /* 10 s at 16 kHz; a multiple of 16000 */
#define READ_CHUNK  4096               /* frames per sf_readf_float call */
#define CLIP_LEVEL  0.999

/* sf_strerror(NULL) reports the last failed sf_open process-wide; re-open
 * under this lock on the failure path so that parallel workers get their
 * own file's reason. */
static pthread_mutex_t sf_open_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *container_name(int major)
{
	switch (major) {
	case SF_FORMAT_WAV: return "WAV";
	case SF_FORMAT_WAVEX: return "WAVEX";
	case SF_FORMAT_AIFF: return "AIFF";
	case SF_FORMAT_AU: return "AU";
	case SF_FORMAT_RAW: return "RAW";
	case SF_FORMAT_W64: return "W64";
	case SF_FORMAT_RF64: return "RF64";
	case SF_FORMAT_CAF: return "CAF";
	case SF_FORMAT_FLAC: return "FLAC";
	case SF_FORMAT_OGG: return "OGG";
	case SF_FORMAT_MPEG: return "MPEG";
	case SF_FORMAT_NIST: return "NIST";
	case SF_FORMAT_VOC: return "VOC";
	case SF_FORMAT_IRCAM: return "IRCAM";
	case SF_FORMAT_PAF: return "PAF";
	case SF_FORMAT_SVX: return "SVX";
	case SF_FORMAT_MAT4: return "MAT4";
	case SF_FORMAT_MAT5: return "MAT5";
	case SF_FORMAT_PVF: return "PVF";
	case SF_FORMAT_XI: return "XI";
	case SF_FORMAT_HTK: return "HTK";
	case SF_FORMAT_SDS: return "SDS";
	case SF_FORMAT_AVR: return "AVR";
	case SF_FORMAT_SD2: return "SD2";
	case SF_FORMAT_WVE: return "WVE";
	case SF_FORMAT_MPC2K: return "MPC2K";
	}
	return "OTHER";
}

static const char *codec_name(int sub)
{
	switch (sub) {
	case SF_FORMAT_PCM_S8: return "PCM_S8";
	case SF_FORMAT_PCM_16: return "PCM_16";
	case SF_FORMAT_PCM_24: return "PCM_24";
	case SF_FORMAT_PCM_32: return "PCM_32";
	case SF_FORMAT_PCM_U8: return "PCM_U8";
	case SF_FORMAT_FLOAT: return "FLOAT";
	case SF_FORMAT_DOUBLE: return "DOUBLE";
	case SF_FORMAT_ULAW: return "ULAW";
	case SF_FORMAT_ALAW: return "ALAW";
	case SF_FORMAT_IMA_ADPCM: return "IMA_ADPCM";
	case SF_FORMAT_MS_ADPCM: return "MS_ADPCM";
	case SF_FORMAT_GSM610: return "GSM610";
	case SF_FORMAT_VOX_ADPCM: return "VOX_ADPCM";
	case SF_FORMAT_G721_32: return "G721_32";
	case SF_FORMAT_G723_24: return "G723_24";
	case SF_FORMAT_G723_40: return "G723_40";
	case SF_FORMAT_DWVW_12: return "DWVW_12";
	case SF_FORMAT_DWVW_16: return "DWVW_16";
	case SF_FORMAT_DWVW_24: return "DWVW_24";
	case SF_FORMAT_DWVW_N: return "DWVW_N";
	case SF_FORMAT_DPCM_8: return "DPCM_8";
	case SF_FORMAT_DPCM_16: return "DPCM_16";
	case SF_FORMAT_VORBIS: return "VORBIS";
	case SF_FORMAT_OPUS: return "OPUS";
	case SF_FORMAT_ALAC_16: return "ALAC_16";
	case SF_FORMAT_ALAC_20: return "ALAC_20";
	case SF_FORMAT_ALAC_24: return "ALAC_24";
	case SF_FORMAT_ALAC_32: return "ALAC_32";
	case SF_FORMAT_MPEG_LAYER_I: return "MPEG_LAYER_I";
	case SF_FORMAT_MPEG_LAYER_II: return "MPEG_LAYER_II";
	case SF_FORMAT_MPEG_LAYER_III: return "MPEG_LAYER_III";
	}
	return "OTHER";
}

const char *audio_fault_name(int fault)
{
	switch (fault) {
	case AUDIO_FAULT_NONE: return "none";
	case AUDIO_FAULT_MISSING: return "missing_file";
	case AUDIO_FAULT_UNREADABLE: return "unreadable";
	case AUDIO_FAULT_ZERO_LENGTH: return "zero_length";
	case AUDIO_FAULT_UNSUPPORTED: return "unsupported_format";
	case AUDIO_FAULT_CORRUPT: return "corrupt_audio";
	case AUDIO_FAULT_HEADER_ONLY: return "header_only";
	case AUDIO_FAULT_TRUNCATED: return "truncated";
	case AUDIO_FAULT_BAD_RATE: return "bad_rate";
	}
	return "corrupt_audio";
}

static int lossy_codec(int sub)
{
	return sub == SF_FORMAT_VORBIS || sub == SF_FORMAT_OPUS || sub == SF_FORMAT_MPEG_LAYER_I ||
	       sub == SF_FORMAT_MPEG_LAYER_II || sub == SF_FORMAT_MPEG_LAYER_III;
}

/* Extensions libsndfile cannot decode: a clearer reason than "unknown format". */
static int unsupported_ext(const char *path)
{
	static const char *ext[] = { "m4a", "aac", "mp4", "wma", "webm", "amr", "ape", "wv", "mka", "3gp", 0 };
	const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
	if (!dot || (slash && dot < slash))
		return 0;
	for (int i = 0; ext[i]; i++)
		if (!strcasecmp(dot + 1, ext[i]))
			return 1;
	return 0;
}

static int set_fault(int *fault, int f) { if (fault) *fault = f; return 0; }

static int64_t gcd64(int64_t a, int64_t b) { while (b) { int64_t t = a % b; a = b; b = t; } return a; }

/* Open path for reading; fills si and info.  On failure returns an ACC_E*
 * code with the reason (libsndfile's for format errors) and *fault. */
static int open_audio(const char *path, SNDFILE **out, SF_INFO *si, audio_info *info, int *fault)
{
	struct stat st;
	SNDFILE *sf;
	*out = NULL;
	set_fault(fault, AUDIO_FAULT_NONE);
	if (stat(path, &st) != 0) {
		int e = errno;
		set_fault(fault, e == ENOENT ? AUDIO_FAULT_MISSING : AUDIO_FAULT_UNREADABLE);
		return err_set(e == ENOENT ? ACC_ENOTFOUND : ACC_EIO, "cannot open '%s': %s", path, strerror(e));
	}
	if (!S_ISREG(st.st_mode)) {
		set_fault(fault, AUDIO_FAULT_UNREADABLE);
		return err_set(ACC_EIO, "cannot decode '%s': not a regular file", path);
	}
	if (st.st_size == 0) {
		set_fault(fault, AUDIO_FAULT_ZERO_LENGTH);
		return err_set(ACC_EFORMAT, "cannot decode '%s': zero-length file", path);
	}
	memset(si, 0, sizeof *si);
	sf = sf_open(path, SFM_READ, si);
	if (!sf) {
		char why[256];
		SF_INFO tmp;
		int e;
		pthread_mutex_lock(&sf_open_lock);
		memset(&tmp, 0, sizeof tmp);
		SNDFILE *again = sf_open(path, SFM_READ, &tmp);
		e = sf_error(NULL);
		snprintf(why, sizeof why, "%s", again ? "unstable open" : sf_strerror(NULL));
		pthread_mutex_unlock(&sf_open_lock);
		if (again)
			sf_close(again);
		if (access(path, R_OK) != 0) {
			int en = errno;
			set_fault(fault, AUDIO_FAULT_UNREADABLE);
			return err_set(ACC_EIO, "cannot open '%s': %s", path, strerror(en));
		}
		if (unsupported_ext(path) || (e == SF_ERR_UNRECOGNISED_FORMAT && !strchr(path, '.'))) {
			set_fault(fault, AUDIO_FAULT_UNSUPPORTED);
			err_set(ACC_EUNSUPPORTED, "cannot decode '%s': %s", path, why);
			err_hint("libsndfile reads WAV, FLAC, OGG/Vorbis, Opus and MP3; convert other formats with ffmpeg");
			return ACC_EUNSUPPORTED;
		}
		set_fault(fault, AUDIO_FAULT_CORRUPT);
		return err_set(ACC_EFORMAT, "cannot decode '%s': %s", path, why);
	}
	{
		/* libsndfile shortens the data chunk of a cut-off WAV/AIFF to what
		 * is there and says so only in its log: "data : N (should be M)". */
		char log[4096];
		log[0] = 0;
		sf_command(sf, SFC_GET_LOG_INFO, log, sizeof log);
		log[sizeof log - 1] = 0;
		const char *dl = strstr(log, "\ndata : ");
		const char *nl = dl ? strchr(dl + 1, '\n') : NULL;
		const char *sb = dl ? strstr(dl, "(should be") : NULL;
		if (sb && (!nl || sb < nl) && si->frames > 0) {
			sf_close(sf);
			set_fault(fault, AUDIO_FAULT_TRUNCATED);
			return err_set(ACC_EFORMAT, "cannot decode '%s': truncated: the data chunk is shorter than its header declares",
				       path);
		}
	}
	if (si->samplerate > 0 && si->samplerate < AUDIO_MIN_RATE && si->channels > 0) {
		/* a 1 Hz header would make 16,000 output samples per input frame */
		sf_close(sf);
		set_fault(fault, AUDIO_FAULT_BAD_RATE);
		return err_set(ACC_EFORMAT, "cannot decode '%s': implausible sample rate %d Hz (minimum %d Hz)", path,
			       si->samplerate, AUDIO_MIN_RATE);
	}
	if (si->samplerate <= 0 || si->samplerate > 1000000 || si->channels <= 0 || si->channels > 1024) {
		sf_close(sf);
		set_fault(fault, AUDIO_FAULT_CORRUPT);
		return err_set(ACC_EFORMAT, "cannot decode '%s': implausible header (%d Hz, %d channels)",
			       path, si->samplerate, si->channels);
	}
	if (info) {
		memset(info, 0, sizeof *info);
		snprintf(info->container, sizeof info->container, "%s", container_name(si->format & SF_FORMAT_TYPEMASK));
		snprintf(info->codec, sizeof info->codec, "%s", codec_name(si->format & SF_FORMAT_SUBMASK));
		info->sample_rate = si->samplerate;
		info->channels = si->channels;
		if (si->frames >= 0 && si->frames < ((int64_t)1 << 50)) {
			info->frames = si->frames;
			info->duration_declared = (double)si->frames / si->samplerate;
		} else {
			info->frames = -1;
			info->duration_declared = -1;
		}
	}
	*out = sf;
	return 0;
}

int audio_probe(const char *path, audio_info *info)
{
	SNDFILE *sf;
	SF_INFO si;
	int rc = open_audio(path, &sf, &si, info, NULL);
	if (rc)
		return rc;
	sf_close(sf);
	return 0;
}

/* Block decoder state shared by the whole-file and span paths. */
typedef struct blockdec {
	const char *path;
	SNDFILE *sf;
	SF_INFO si;
	int rate, ch;
	int64_t b_in;       /* input frames per block */
	int64_t margin;     /* input frames before/after a block, multiple of the period */
	int64_t end_in;     /* true input length once EOF was seen, else -1 */
	soxr_t rs;          /* NULL when rate == 16000 */
	float *ibuf;        /* READ_CHUNK * ch interleaved */
	float *mono;        /* b_in + 2*margin */
	float *obuf;        /* resampler output for one block (+ margin) */
	int64_t obuf_cap;
	int64_t clip, seen; /* clip counting over original channel samples */
	int64_t nonfinite;  /* NaN/Inf samples met (counted like clip) */
	int count_clip;
} blockdec;

static void blockdec_free(blockdec *d)
{
	if (d->rs)
		soxr_delete(d->rs);
	if (d->sf)
		sf_close(d->sf);
	free(d->ibuf);
	free(d->mono);
	free(d->obuf);
	memset(d, 0, sizeof *d);
}

static int blockdec_open(blockdec *d, const char *path, audio_info *info, int *fault)
{
	int rc;
	memset(d, 0, sizeof *d);
	d->path = path;
	d->end_in = -1;
	rc = open_audio(path, &d->sf, &d->si, info, fault);
	if (rc)
		return rc;
	d->rate = d->si.samplerate;
	d->ch = d->si.channels;
	d->b_in = BLOCK_OUT / AUDIO_RATE * d->rate;
	if (d->rate != AUDIO_RATE) {
		int64_t period = d->rate / gcd64(d->rate, AUDIO_RATE);
		int64_t want = d->rate / 10;
		soxr_error_t se;
		soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
		soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
		d->margin = (want + period - 1) / period * period;
		d->rs = soxr_create(d->rate, AUDIO_RATE, 1, &se, &io, &q, NULL);
		if (!d->rs) {
			blockdec_free(d);
			return err_set(ACC_EINTERNAL, "soxr: %s", se);
		}
	}
	d->ibuf = malloc(sizeof(float) * READ_CHUNK * d->ch);
	d->mono = malloc(sizeof(float) * (d->b_in + 2 * d->margin));
	d->obuf_cap = BLOCK_OUT + (2 * d->margin * AUDIO_RATE) / d->rate + 256;
	d->obuf = malloc(sizeof(float) * d->obuf_cap);
	if (!d->ibuf || !d->mono || !d->obuf) {
		blockdec_free(d);
		return err_set(ACC_ENOMEM, "out of memory decoding '%s'", path);
	}
	return 0;
}

/* 16 kHz length of an input of n frames. */
static int64_t out_len(const blockdec *d, int64_t n)
{
	return (n * AUDIO_RATE + d->rate / 2) / d->rate;
}

/* Compute output block b into *y / *ny (pointing into d->obuf).  *ny = 0 at
 * the end of the signal.  The result depends only on (file, b). */
static int block_compute(blockdec *d, int64_t b, float **y, int64_t *ny)
{
	int64_t in_start = b * d->b_in;
	int64_t s = in_start - d->margin, t = in_start + d->b_in + d->margin, got = 0;
	*ny = 0;
	*y = d->obuf;
	if (s < 0)
		s = 0;
	if (d->end_in >= 0 && in_start >= d->end_in)
		return 0;
	if (sf_seek(d->sf, s, SEEK_SET) < 0) {
		/* seeking past the end (span requests beyond the signal) */
		if (d->si.frames >= 0 && s >= d->si.frames - d->si.frames / 50) {
			d->end_in = s;
			return 0;
		}
		return err_set(ACC_EFORMAT, "cannot decode '%s': seek to frame %lld failed: %s",
			       d->path, (long long)s, sf_strerror(d->sf));
	}
	while (s + got < t) {
		int64_t want = t - s - got;
		if (want > READ_CHUNK)
			want = READ_CHUNK;
		sf_count_t r = sf_readf_float(d->sf, d->ibuf, want);
		if (sf_error(d->sf) != SF_ERR_NO_ERROR)
			return err_set(ACC_EFORMAT, "cannot decode '%s' at frame %lld: %s", d->path,
				       (long long)(s + got), sf_strerror(d->sf));
		if (r <= 0)
			break;
		for (sf_count_t i = 0; i < r; i++) {
			const float *fr = d->ibuf + i * d->ch;
			double acc = 0;
			int64_t pos = s + got + i;
			int counted = d->count_clip && pos >= in_start && pos < in_start + d->b_in;
			for (int c = 0; c < d->ch; c++) {
				float v = fr[c];
				if (!isfinite(v)) {
					v = 0;
					d->nonfinite += counted;
				}
				acc += v;
				if (counted && fabsf(v) >= CLIP_LEVEL)
					d->clip++;
			}
			if (counted)
				d->seen += d->ch;
			d->mono[got + i] = (float)(acc / d->ch);
		}
		got += r;
	}
	if (s + got < t)
		d->end_in = s + got;
	if (in_start >= s + got)
		return 0;

	int64_t first = s * AUDIO_RATE / d->rate;     /* exact: s is a multiple of the period */
	int64_t want_lo = b * BLOCK_OUT, want_hi = (b + 1) * BLOCK_OUT;
	if (d->end_in >= 0 && out_len(d, d->end_in) < want_hi)
		want_hi = out_len(d, d->end_in);
	if (want_hi <= want_lo)
		return 0;
	if (!d->rs) {
		*y = d->mono + (want_lo - s);
		*ny = want_hi - want_lo;
		return 0;
	}
	size_t idone = 0, odone = 0, o;
	soxr_error_t se;
	int64_t need = want_hi - first;
	soxr_clear(d->rs);
	se = soxr_process(d->rs, d->mono, got, &idone, d->obuf, d->obuf_cap, &odone);
	if (se)
		return err_set(ACC_EINTERNAL, "soxr: %s", se);
	while ((int64_t)odone < need && (int64_t)odone < d->obuf_cap) {
		se = soxr_process(d->rs, NULL, 0, NULL, d->obuf + odone, d->obuf_cap - odone, &o);
		if (se)
			return err_set(ACC_EINTERNAL, "soxr: %s", se);
		if (!o)
			break;
		odone += o;
	}
	/* soxr's flushed length can be a sample short of the rounded length. */
	for (int64_t i = odone; i < need && i < d->obuf_cap; i++)
		d->obuf[i] = 0;
	*y = d->obuf + (want_lo - first);
	*ny = want_hi - want_lo;
	return 0;
}

/* Streaming statistics over consecutive 16 kHz pieces. */
typedef struct stats_acc {
	int64_t n;
	double peak, sumsq;
	int64_t frames, silent;
	double fr_sumsq;
	int fr_n;
	int64_t clip;
} stats_acc;

#define SIL_FRAME 320               /* 20 ms */
#define SIL_LEVEL 1e-5              /* (-50 dBFS)^2 as a mean square */

static void stats_add(stats_acc *a, const float *x, int64_t n)
{
	for (int64_t i = 0; i < n; i++) {
		double v = x[i], av = fabs(v);
		if (av > a->peak)
			a->peak = av;
		a->sumsq += v * v;
		if (av >= CLIP_LEVEL)
			a->clip++;
		a->fr_sumsq += v * v;
		if (++a->fr_n == SIL_FRAME) {
			a->frames++;
			if (a->fr_sumsq / SIL_FRAME < SIL_LEVEL)
				a->silent++;
			a->fr_n = 0;
			a->fr_sumsq = 0;
		}
	}
	a->n += n;
}

static void stats_finish(stats_acc *a, audio_stats *s)
{
	if (a->fr_n) {   /* the last partial frame counts as a frame */
		a->frames++;
		if (a->fr_sumsq / a->fr_n < SIL_LEVEL)
			a->silent++;
		a->fr_n = 0;
	}
	s->duration_s = (double)a->n / AUDIO_RATE;
	s->peak = a->peak;
	s->rms = a->n ? sqrt(a->sumsq / a->n) : 0;
	s->clip_ratio = a->n ? (double)a->clip / a->n : 0;
	s->silence_ratio = a->frames ? (double)a->silent / a->frames : 0;
}

void audio_compute_stats(const float *x, int64_t n, audio_stats *stats)
{
	stats_acc a = { 0 };
	stats_add(&a, x, n);
	stats_finish(&a, stats);
}

int audio_decode_stream(const char *path, audio_block_fn fn, void *ctx, audio_info *info,
			audio_stats *stats, int *fault)
{
	blockdec d;
	stats_acc acc = { 0 };
	audio_info inf;
	int rc = blockdec_open(&d, path, &inf, fault);
	if (rc)
		return rc;
	d.count_clip = 1;
	for (int64_t b = 0;; b++) {
		float *y;
		int64_t ny;
		rc = block_compute(&d, b, &y, &ny);
		if (rc) {
			set_fault(fault, AUDIO_FAULT_CORRUPT);
			goto out;
		}
		if (!ny)
			break;
		stats_add(&acc, y, ny);
		if (fn && (rc = fn(ctx, y, ny, b * BLOCK_OUT)) != 0)
			goto out;
	}
	if (acc.n == 0) {
		set_fault(fault, inf.frames > 0 ? AUDIO_FAULT_TRUNCATED : AUDIO_FAULT_HEADER_ONLY);
		rc = err_set(ACC_EFORMAT, "cannot decode '%s': %s", path,
			     inf.frames > 0 ? "no audio frames could be decoded (truncated)" :
			     "no audio frames (header only)");
		goto out;
	}
	if (inf.frames > 0 && d.end_in >= 0 && d.end_in < inf.frames) {
		/* PCM/FLAC headers state the exact length; lossy decoders may
		 * estimate it, so allow them 2% (or 50 ms). */
		int64_t tol = lossy_codec(d.si.format & SF_FORMAT_SUBMASK) ?
			(int64_t)fmax(inf.frames * 0.02, d.rate * 0.05) : 0;
		if (inf.frames - d.end_in > tol) {
			set_fault(fault, AUDIO_FAULT_TRUNCATED);
			rc = err_set(ACC_EFORMAT, "cannot decode '%s': truncated: header declares %lld frames, only %lld decoded",
				     path, (long long)inf.frames, (long long)d.end_in);
			goto out;
		}
	}
	if (info)
		*info = inf;
	if (stats) {
		stats_finish(&acc, stats);
		stats->clip_ratio = d.seen ? (double)d.clip / d.seen : 0;
		stats->nonfinite_ratio = d.seen ? (double)d.nonfinite / d.seen : 0;
	}
	rc = 0;
out:
	blockdec_free(&d);
	return rc;
}

typedef struct growbuf {
	float *x;
	int64_t n;
	size_t cap;
} growbuf;

static int grow_append(void *ctx, const float *x, int64_t n, int64_t offset)
{
	growbuf *g = ctx;
	int rc = ARRAY_GROW(g->x, g->cap, (size_t)(g->n + n));
	if (rc)
		return err_wrap(rc, "decoding audio");
	memcpy(g->x + g->n, x, sizeof(float) * n);
	g->n += n;
	return 0;
}

int audio_decode(const char *path, float **samples, int64_t *n, audio_info *info, audio_stats *stats)
{
	growbuf g = { 0 };
	int rc = audio_decode_stream(path, grow_append, &g, info, stats, NULL);
	if (rc) {
		free(g.x);
		*samples = NULL;
		*n = 0;
		return rc;
	}
	*samples = g.x;
	*n = g.n;
	return 0;
}

int audio_read_span(const char *path, double start_s, double end_s, float **samples, int64_t *n)
{
	blockdec d;
	growbuf g = { 0 };
	int rc;
	int64_t lo, hi;
	*samples = NULL;
	*n = 0;
	if (!(start_s >= 0) || (end_s >= 0 && end_s < start_s) || start_s > 1e8 || end_s > 1e8)
		return err_set(ACC_EINVAL, "bad span [%g, %g) for '%s'", start_s, end_s, path);
	rc = blockdec_open(&d, path, NULL, NULL);
	if (rc)
		return rc;
	lo = llround(start_s * AUDIO_RATE);
	hi = end_s < 0 ? INT64_MAX : llround(end_s * AUDIO_RATE);
	for (int64_t b = lo / BLOCK_OUT; b * BLOCK_OUT < hi; b++) {
		float *y;
		int64_t ny;
		rc = block_compute(&d, b, &y, &ny);
		if (rc)
			goto out;
		if (!ny)
			break;
		int64_t a = b * BLOCK_OUT, e = a + ny;
		int64_t c0 = lo > a ? lo : a, c1 = hi < e ? hi : e;
		if (c1 > c0 && (rc = grow_append(&g, y + (c0 - a), c1 - c0, 0)) != 0)
			goto out;
		if (ny < BLOCK_OUT)
			break;
	}
	if (g.n == 0 && hi > lo) {
		rc = err_set(ACC_EINVAL, "span [%g, %g) starts after the end of '%s'", start_s, end_s, path);
		goto out;
	}
	if (!g.x && !(g.x = malloc(sizeof(float)))) {
		rc = err_set(ACC_ENOMEM, "out of memory");
		goto out;
	}
	*samples = g.x;
	*n = g.n;
	g.x = NULL;
	rc = 0;
out:
	free(g.x);
	blockdec_free(&d);
	return rc;
}

int audio_write_wav(const char *path, const float *x, int64_t n, int sample_rate)
{
	SF_INFO si = { 0 };
	SNDFILE *sf = NULL;
	FILE *fp = NULL;
	char tmp[4096];
	int rc;
	/* a fresh temporary (never through a planted symlink) + rename: a
	 * killed writer never leaves a half WAV */
	if ((rc = fs_open_tmp(path, tmp, &fp)) != 0)
		return rc;
	si.samplerate = sample_rate;
	si.channels = 1;
	si.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
	sf = sf_open_fd(fileno(fp), SFM_WRITE, &si, 0);
	if (!sf) {
		rc = err_set(ACC_EIO, "cannot write '%s': %s", path, sf_strerror(NULL));
		goto out;
	}
	sf_command(sf, SFC_SET_CLIPPING, NULL, SF_TRUE);
	if (sf_writef_float(sf, x, n) != n) {
		rc = err_set(ACC_EIO, "cannot write '%s': %s", path, sf_strerror(sf));
		goto out;
	}
	if (sf_close(sf) != 0) {
		sf = NULL;
		rc = err_set(ACC_EIO, "cannot write '%s'", path);
		goto out;
	}
	sf = NULL;
	rc = fs_commit_tmp(fp, tmp, path);
	fp = NULL;
out:
	if (sf)
		sf_close(sf);
	if (fp)
		fs_abort_tmp(fp, tmp);
	return rc;
}
