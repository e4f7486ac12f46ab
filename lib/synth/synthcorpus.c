/*
 * synthcorpus.c — a synthetic multi-speaker, multi-language corpus in any
 * layout prep reads, with ground truth (layouts and truth formats are
 * documented in synthcorpus.h).
 *
 * Flow: load the sentence files -> build the speakers -> for each round, for
 * each language and speaker, synthesize one unit (a short utterance, or a
 * long-recording session) -> resample (soxr HQ) + optional noise -> write the
 * audio file (libsndfile, temporary name + rename) -> keep a small record.
 * The layout's metadata files and the truth tables are written at the end
 * from those records (Kaldi needs sorted files), words.tsv as we go.
 * Units run on OpenMP threads; each synthesis is a request to synth's fork
 * server, started by synth_init() before the threads exist.
 */
#define _GNU_SOURCE
#include "synth/synthcorpus.h"
#include "base/err.h"
#include "base/rng.h"
#include "base/fsutil.h"
#include "synth/synth.h"
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <omp.h>
#include <sndfile.h>
#include <soxr.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unicode/uchar.h>
#include <unicode/ustring.h>
#include <unicode/utf8.h>
#include <unistd.h>
#include "base/banned.h"

enum { L_CV, L_LS, L_KALDI, L_NEMO, L_LJ, L_FOLDER, L_LONG };
static const char *const layout_names[] = { "commonvoice", "librispeech", "kaldi", "nemo", "ljspeech", "folder", "longform" };

/* ---- deterministic randomness: splitmix64 ---- */

typedef struct rng { uint64_t s; } rng;

static double rng_unif(rng *r, double a, double b) { return a + (b - a) * rng_unit(&r->s); }
static int rng_int(rng *r, int n) { return n > 0 ? (int)(rng_next(&r->s) % (uint64_t)n) : 0; }
static double rng_gauss(rng *r)
{
	double u = rng_unif(r, 1e-12, 1.0), v = rng_unif(r, 0.0, 1.0);
	return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}
/* A stream for one item, independent of generation order. */
static rng rng_for(uint64_t seed, uint64_t a, uint64_t b, uint64_t c)
{
	rng r = { seed ^ 0x5eed5eed12345678ull };
	r.s ^= rng_next(&r.s) + a * 0x100000001b3ull;
	r.s ^= rng_next(&r.s) + b * 0xc2b2ae3d27d4eb4full;
	r.s ^= rng_next(&r.s) + c * 0x165667b19e3779f9ull;
	rng_next(&r.s);
	return r;
}

/* ---- languages, voices, variants ---- */

typedef struct lang_def {
	const char *iso3, *iso1, *locale;
	const char *const *voices;  /* espeak voice per accent */
	const char *const *accents; /* accent label per voice ("" = unknown) */
	int nvoices;
} lang_def;

static const char *const eng_voices[] = { "en-us", "en", "en-gb-scotland", "en-029", "en-us-nyc", "en-gb-x-rp",
					  "en-gb-x-gbclan", "en-gb-x-gbcwmd" };
static const char *const eng_accents[] = { "en-us", "en-gb", "en-gb-scotland", "en-029", "en-us-nyc", "en-gb-x-rp",
					   "en-gb-x-gbclan", "en-gb-x-gbcwmd" };
static const char *const amh_voices[] = { "am" }, *const deu_voices[] = { "de" }, *const fra_voices[] = { "fr" },
			 *const spa_voices[] = { "es" }, *const hin_voices[] = { "hi" }, *const swh_voices[] = { "sw" },
			 *const ita_voices[] = { "it" }, *const por_voices[] = { "pt" }, *const pol_voices[] = { "pl" },
			 *const ces_voices[] = { "cs" }, *const ron_voices[] = { "ro" }, *const rus_voices[] = { "ru" },
			 *const bul_voices[] = { "bg" }, *const ukr_voices[] = { "uk" }, *const ell_voices[] = { "el" },
			 *const tam_voices[] = { "ta" };
static const char *const no_accent[] = { "" };

/* The languages synth speaks (16 at most in one corpus): iso3, iso1, locale,
 * espeak voices.  Each needs data/text/<iso3>.txt (fra and swh ship none);
 * the word-list languages' files come from tools/text/compose_words.py
 * (data/text/SOURCES.md).  Scripts: Latin (eng spa deu fra ita por pol ces
 * ron swh), Cyrillic (rus bul ukr), Greek (ell), Devanagari (hin), Tamil
 * (tam), Ethiopic (amh). */
static const lang_def langs_known[] = {
	{ "eng", "en", "en", eng_voices, eng_accents, 8 },
	{ "amh", "am", "am", amh_voices, no_accent, 1 },
	{ "deu", "de", "de", deu_voices, no_accent, 1 },
	{ "fra", "fr", "fr", fra_voices, no_accent, 1 },
	{ "spa", "es", "es", spa_voices, no_accent, 1 },
	{ "hin", "hi", "hi", hin_voices, no_accent, 1 },
	{ "swh", "sw", "sw", swh_voices, no_accent, 1 },
	{ "ita", "it", "it", ita_voices, no_accent, 1 },
	{ "por", "pt", "pt", por_voices, no_accent, 1 },
	{ "pol", "pl", "pl", pol_voices, no_accent, 1 },
	{ "ces", "cs", "cs", ces_voices, no_accent, 1 },
	{ "ron", "ro", "ro", ron_voices, no_accent, 1 },
	{ "rus", "ru", "ru", rus_voices, no_accent, 1 },
	{ "bul", "bg", "bg", bul_voices, no_accent, 1 },
	{ "ukr", "uk", "uk", ukr_voices, no_accent, 1 },
	{ "ell", "el", "el", ell_voices, no_accent, 1 },
	{ "tam", "ta", "ta", tam_voices, no_accent, 1 },
};

typedef struct variant_def { const char *name, *gender; } variant_def;
/* Interleaved so that consecutive speakers alternate gender.  The klatt
 * variants keep the base voice's (male) formants with Klatt synthesis. */
static const variant_def variants[] = {
	{ "m1", "male" }, { "f1", "female" }, { "m2", "male" }, { "f2", "female" }, { "m3", "male" },
	{ "f3", "female" }, { "m4", "male" }, { "f4", "female" }, { "m5", "male" }, { "f5", "female" },
	{ "m6", "male" }, { "Annie", "female" }, { "m7", "male" }, { "anika", "female" }, { "klatt", "male" },
	{ "belinda", "female" }, { "klatt2", "male" }, { "steph", "female" }, { "klatt3", "male" },
	{ "linda", "female" }, { "m8", "male" }, { "Andrea", "female" }, { "travis", "male" }, { "Alicia", "female" },
	{ "victor", "male" }, { "aunty", "female" }, { "Andy", "male" }, { "steph2", "female" }, { "Lee", "male" },
	{ "steph3", "female" }, { "klatt4", "male" },
};
#define NVARIANTS ((int)(sizeof variants / sizeof variants[0]))

typedef struct speaker {
	char label[80];            /* as the layout writes it */
	char name[32];             /* eng_s003 */
	int lang, idx, gidx;
	const char *voice, *variant, *gender, *accent;
	int age, rate, pitch, range;
	double level;              /* peak level of its utterances */
	int ls_id, ls_chapter;
} speaker;

/* ---- records ---- */

enum { BAD_NONE, BAD_CORRUPT, BAD_EMPTY, BAD_MISSING, BAD_DUP };
static const char *const bad_kind[] = { "", "corrupt", "empty_text", "missing_file", "duplicate_audio" };
static const char *const bad_reason[] = { "", "corrupt_audio", "empty_text", "missing_file", "duplicate_audio" };

typedef struct urec {
	char *key, *text, *file, *lid;   /* lid: layout id (CV path under clips/, LibriSpeech id) */
	int spk, lng;                    /* lng: index into the used languages, -1 none */
	double start, end, sp_start, sp_end;
	int complete, bad, in_long;
} urec;

typedef struct frec {                    /* one audio file */
	char *file, *key;
	const char *kind, *container, *codec;
	int rate, channels, n_utts, spk, first_utt;   /* first_utt: index into utts of long recordings */
	int64_t frames;
	double dur;
} frec;

/* The utterance and file records of the whole corpus (gen) or of one unit
 * of work until commit() moves them over. */
typedef struct records {
	urec *u;
	int nu;
	size_t capu;
	frec *f;
	int nf;
	size_t capf;
} records;

typedef struct afmt {
	const char *ext, *container, *codec;
	int sf_format, rate, channels;
} afmt;

typedef struct gen {
	const synthcorpus_opts *o;
	synthcorpus_stats *st;
	int layout;
	const lang_def *lang[16];
	int nlang;
	char **sent[16];
	int nsent[16];
	int *perm[16];
	speaker *spk;
	int nspk;
	records r;
	FILE *words;
	char words_tmp[4096], words_path[4096];
	double noise_long, noise_short;    /* dB, <0 none */
	int64_t files_done;
	int hours_reached;
	int failed, fail_rc;                /* first failure of a parallel batch */
	char fail_msg[1024], fail_hint[512];
} gen;

void synthcorpus_opts_init(synthcorpus_opts *o)
{
	memset(o, 0, sizeof *o);
	o->layout = "folder";
	o->langs = "eng,amh";
	o->speakers = 4;
	o->utts_per_speaker = 5;
	o->utts_per_long = 8;
	o->noise_snr_db = -1;
	o->seed = 1;
}

const char *synthcorpus_layout(const char *name)
{
	if (!name)
		return NULL;
	if (!strcmp(name, "cv") || !strcmp(name, "common-voice") || !strcmp(name, "commonvoice"))
		return "commonvoice";
	if (!strcmp(name, "mms-long") || !strcmp(name, "mms") || !strcmp(name, "longform"))
		return "longform";
	for (int i = 0; i < 7; i++)
		if (!strcmp(name, layout_names[i]))
			return layout_names[i];
	return NULL;
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* ---- sentences ---- */

int synthcorpus_text_dir(const char *installed_dir, char *dst, size_t cap)
{
	char exe[4000], cand[4][4096], tried[4 * 4096 + 16] = "";
	int n = 0;
	snprintf(cand[n++], sizeof cand[0], "data/text");
	ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (len > 0) {
		exe[len] = 0;
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = 0;   /* the binary's directory */
			snprintf(cand[n++], sizeof cand[0], "%s/../data/text", exe);
			snprintf(cand[n++], sizeof cand[0], "%s/../share/accent/text", exe);
		}
	}
	if (installed_dir && *installed_dir)
		snprintf(cand[n++], sizeof cand[0], "%s", installed_dir);
	for (int i = 0; i < n; i++) {
		struct stat sb;
		if (stat(cand[i], &sb) == 0 && S_ISDIR(sb.st_mode)) {
			if (strlen(cand[i]) >= cap)
				return err_set(ACC_EINVAL, "text directory path too long");
			snprintf(dst, cap, "%s", cand[i]);
			return 0;
		}
		size_t k = strlen(tried);
		snprintf(tried + k, sizeof tried - k, "%s%s", k ? ", " : "", cand[i]);
	}
	err_set(ACC_ENOTFOUND, "no sentence files for synth: none of %s exists", tried);
	err_hint("pass --text-dir DIR (files <lang>.txt, one sentence per line), or `make install`");
	return ACC_ENOTFOUND;
}

static int load_sentences(gen *g, int li)
{
	const char *dir = g->o->text_dir ? g->o->text_dir : "data/text";
	char path[4096], *data = NULL, *p;
	size_t len;
	int rc, n = 0;
	size_t cap = 0;
	char **v = NULL;
	if ((rc = fs_join(path, sizeof path, dir, g->lang[li]->iso3)) != 0 || strlen(path) + 5 > sizeof path)
		return err_set(ACC_EINVAL, "text directory path too long");
	memcpy(path + strlen(path), ".txt", 5);
	if ((rc = fs_read_all(path, &data, &len, 64u << 20)) != 0) {
		err_wrap(rc, "sentences for '%s'", g->lang[li]->iso3);
		err_hint("write %s (one sentence per line) or point --text-dir at the directory", path);
		return rc == ACC_EIO ? ACC_EIO : ACC_ENOTFOUND;
	}
	for (p = data; p && *p;) {
		char *nl = strchr(p, '\n'), *e;
		if (nl)
			*nl = 0;
		for (char *q = p; *q; q++)   /* separators of the layouts never appear in text */
			if (*q == '\t' || *q == '\r' || *q == '|')
				*q = ' ';
		while (*p == ' ')
			p++;
		e = p + strlen(p);
		while (e > p && e[-1] == ' ')
			*--e = 0;
		if (*p && *p != '#') {
			char **words = NULL;
			int nw = synth_words(p, &words);
			for (int k = 0; nw > 0 && k < nw; k++)
				free(words[k]);
			free(words);
			if (nw > 0) {
				if ((rc = ARRAY_GROW(v, cap, (size_t)n + 1)))
					goto fail;
				if (!(v[n] = strdup(p))) {
					rc = err_set(ACC_ENOMEM, "out of memory");
					goto fail;
				}
				n++;
			}
		}
		p = nl ? nl + 1 : NULL;
	}
	free(data);
	if (!n) {
		free(v);
		return err_set(ACC_EINVAL, "'%s' has no sentences", path);
	}
	g->sent[li] = v;
	g->nsent[li] = n;
	g->perm[li] = malloc((size_t)n * sizeof(int));
	if (!g->perm[li])
		return err_set(ACC_ENOMEM, "out of memory");
	rng r = rng_for(g->o->seed, 101, (uint64_t)li, 0);
	for (int i = 0; i < n; i++)
		g->perm[li][i] = i;
	for (int i = n - 1; i > 0; i--) {
		int j = rng_int(&r, i + 1), t = g->perm[li][i];
		g->perm[li][i] = g->perm[li][j];
		g->perm[li][j] = t;
	}
	return 0;
fail:
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
	free(data);
	return rc;
}

/* The k-th sentence of speaker s (within its language). */
static const char *sentence_for(gen *g, const speaker *s, int k)
{
	int n = g->nsent[s->lang], stride = g->o->utts_per_speaker > 0 ? g->o->utts_per_speaker : 1;
	return g->sent[s->lang][g->perm[s->lang][(int)(((int64_t)s->idx * stride + k) % n)]];
}

/* ---- speakers ---- */

static int build_speakers(gen *g)
{
	int per = g->o->speakers;
	g->nspk = per * g->nlang;
	g->spk = calloc((size_t)g->nspk, sizeof *g->spk);
	if (!g->spk)
		return err_set(ACC_ENOMEM, "out of memory");
	rng rs = rng_for(g->o->seed, 202, 0, 0);
	int voff = 2 * rng_int(&rs, NVARIANTS / 2);   /* whole pairs: keeps the m/f alternation */
	for (int li = 0; li < g->nlang; li++)
		for (int i = 0; i < per; i++) {
			speaker *s = &g->spk[li * per + i];
			const lang_def *L = g->lang[li];
			rng r = rng_for(g->o->seed, 303, (uint64_t)li, (uint64_t)i);
			int v = (i + voff) % NVARIANTS, a = (int)(((int64_t)i * 3 + (int64_t)(g->o->seed % 8)) % L->nvoices);
			s->lang = li;
			s->idx = i;
			s->gidx = li * per + i;
			s->voice = L->voices[a];
			s->accent = L->accents[a];
			s->variant = variants[v].name;
			s->gender = variants[v].gender;
			s->age = 18 + rng_int(&r, 58);
			s->rate = 135 + rng_int(&r, 56);
			s->pitch = 30 + rng_int(&r, 41);
			s->range = 30 + rng_int(&r, 51);
			s->level = rng_unif(&r, 0.35, 0.85);
			snprintf(s->name, sizeof s->name, "%s_s%03d", L->iso3, i);
			s->ls_id = 100 + s->gidx;
			s->ls_chapter = 1000 + 10 * s->gidx;
			if (g->layout == L_CV) {
				char buf[128], hex[65];
				snprintf(buf, sizeof buf, "synth:%llu:%s:%d", (unsigned long long)g->o->seed, L->iso3, i);
				fs_sha256_buf(buf, strlen(buf), hex);
				snprintf(s->label, sizeof s->label, "%s", hex);
			} else if (g->layout == L_LS) {
				snprintf(s->label, sizeof s->label, "%d", s->ls_id);
			} else {
				snprintf(s->label, sizeof s->label, "%s", s->name);
			}
		}
	return 0;
}

static const char *cv_age(int age)
{
	static const char *const b[] = { "teens", "twenties", "thirties", "fourties", "fifties", "sixties", "seventies", "eighties" };
	int i = age < 20 ? 0 : age / 10 - 1;
	return b[i > 7 ? 7 : i];
}

/* ---- formats ---- */

static afmt fmt_of(const char *name, int rate, int channels)
{
	afmt f = { "wav", "WAV", "PCM_16", SF_FORMAT_WAV | SF_FORMAT_PCM_16, rate, channels };
	if (!strcmp(name, "flac"))
		f = (afmt){ "flac", "FLAC", "PCM_16", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, rate, channels };
	else if (!strcmp(name, "flac24"))
		f = (afmt){ "flac", "FLAC", "PCM_24", SF_FORMAT_FLAC | SF_FORMAT_PCM_24, rate, channels };
	else if (!strcmp(name, "wav24"))
		f = (afmt){ "wav", "WAV", "PCM_24", SF_FORMAT_WAV | SF_FORMAT_PCM_24, rate, channels };
	else if (!strcmp(name, "ogg"))
		f = (afmt){ "ogg", "OGG", "VORBIS", SF_FORMAT_OGG | SF_FORMAT_VORBIS, rate, channels };
	else if (!strcmp(name, "opus"))
		f = (afmt){ "opus", "OGG", "OPUS", SF_FORMAT_OGG | SF_FORMAT_OPUS, rate, channels };
	else if (!strcmp(name, "mp3"))
		f = (afmt){ "mp3", "MPEG", "MPEG_LAYER_III", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, rate, channels };
	return f;
}

static int layout_default_rate(int layout)
{
	return layout == L_CV ? 48000 : layout == L_LJ ? 22050 : 16000;
}

static const char *layout_default_format(int layout)
{
	return layout == L_CV ? "mp3" : layout == L_LS ? "flac" : "wav";
}

/* The format of one file: the layout's default or the options', or with
 * mix_formats a random container/rate/channels (LibriSpeech keeps FLAC and
 * LJSpeech WAV, since their readers find audio by name). */
static afmt choose_format(gen *g, rng *r)
{
	const synthcorpus_opts *o = g->o;
	int rate = o->sample_rate > 0 ? o->sample_rate : layout_default_rate(g->layout);
	int ch = o->channels > 0 ? o->channels : 1;
	const char *name = o->format ? o->format : layout_default_format(g->layout);
	if (o->mix_formats) {
		static const int rates[] = { 16000, 22050, 44100, 48000 };
		static const char *const any[] = { "wav", "wav24", "flac", "flac24", "ogg", "mp3", "mp3", "opus" };
		static const char *const ls[] = { "flac", "flac24" };
		static const char *const lj[] = { "wav", "wav24" };
		name = g->layout == L_LS ? ls[rng_int(r, 2)] : g->layout == L_LJ ? lj[rng_int(r, 2)] : any[rng_int(r, 8)];
		rate = rates[rng_int(r, 4)];
		ch = 1 + rng_int(r, 2);
		if (!strcmp(name, "opus"))   /* Opus codes 8/12/16/24/48 kHz only */
			rate = rng_int(r, 2) ? 48000 : 16000;
	}
	return fmt_of(name, rate, ch);
}

/* ---- audio ---- */

/* Scale x so that its peak is `level`. */
static void set_level(float *x, int64_t n, double level)
{
	float peak = 0;
	for (int64_t i = 0; i < n; i++)
		if (fabsf(x[i]) > peak)
			peak = fabsf(x[i]);
	if (peak > 0)
		for (int64_t i = 0; i < n; i++)
			x[i] = (float)(x[i] * (level / peak));
}

/* Sum of squares of x[a, b). */
static double energy(const float *x, int64_t a, int64_t b)
{
	double e = 0;
	for (int64_t i = a; i < b; i++)
		e += (double)x[i] * x[i];
	return e;
}

/* Add coloured background noise (a hum + low-passed noise, like a room) at
 * snr_db below speech_rms, the RMS of the speech (pauses excluded). */
static void add_noise(float *x, int64_t n, double speech_rms, double snr_db, rng *r)
{
	double lp = 0, hum_f = 50.0 + 10.0 * rng_int(r, 2);
	if (speech_rms <= 0)
		return;
	double target = speech_rms / pow(10.0, snr_db / 20.0);
	/* generate unit-RMS noise, then scale */
	float *nz = malloc((size_t)n * sizeof *nz);
	if (!nz)
		return;
	double ne = 0;
	for (int64_t i = 0; i < n; i++) {
		double w = rng_gauss(r);
		lp = 0.9 * lp + 0.1 * w;
		double v = 0.6 * w + 2.0 * lp + 0.3 * sin(2.0 * M_PI * hum_f * (double)i / SYNTH_RATE);
		nz[i] = (float)v;
		ne += v * v;
	}
	double k = target / sqrt(ne / (double)n);
	for (int64_t i = 0; i < n; i++)
		x[i] += (float)(nz[i] * k);
	free(nz);
}

/* Resample x (SYNTH_RATE) to f->rate, write it as f to out_dir/rel (temporary
 * name + rename).  *frames gets the frame count written. */
static int write_audio(gen *g, const char *rel, const float *x, int64_t n, const afmt *f, int64_t *frames)
{
	char path[4096], tmp[4096];
	int rc = 0;
	float *y = NULL, *il = NULL;
	SNDFILE *sf = NULL;
	FILE *tfp = NULL;
	SF_INFO info = { 0 };
	size_t ylen = (size_t)n, done = 0;
	if ((rc = fs_join(path, sizeof path, g->o->out_dir, rel)) != 0)
		return rc;
	{
		char dir[4096];
		snprintf(dir, sizeof dir, "%s", path);
		char *sl = strrchr(dir, '/');
		if (sl) {
			*sl = 0;
			if ((rc = fs_mkdir_p(dir)) != 0)
				return rc;
		}
	}
	if (f->rate != SYNTH_RATE) {
		ylen = (size_t)ceil((double)n * f->rate / SYNTH_RATE) + 16;
		y = malloc(ylen * sizeof *y);
		if (!y)
			return err_set(ACC_ENOMEM, "out of memory");
		soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
		soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
		soxr_error_t e = soxr_oneshot(SYNTH_RATE, f->rate, 1, x, (size_t)n, NULL, y, ylen, &done, &io, &q, NULL);
		if (e) {
			rc = err_set(ACC_EINTERNAL, "soxr: %s", soxr_strerror(e));
			goto out;
		}
		ylen = done;
	} else {
		y = malloc((size_t)n * sizeof *y);
		if (!y)
			return err_set(ACC_ENOMEM, "out of memory");
		memcpy(y, x, (size_t)n * sizeof *y);
	}
	for (size_t i = 0; i < ylen; i++)   /* the resampler may overshoot a little */
		y[i] = y[i] > 0.999f ? 0.999f : y[i] < -0.999f ? -0.999f : y[i];
	if (f->channels > 1) {
		il = malloc(ylen * (size_t)f->channels * sizeof *il);
		if (!il) {
			rc = err_set(ACC_ENOMEM, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < ylen; i++)
			for (int c = 0; c < f->channels; c++)
				il[i * (size_t)f->channels + (size_t)c] = y[i];
	}
	info.samplerate = f->rate;
	info.channels = f->channels;
	info.format = f->sf_format;
	/* fs_open_tmp: a fresh name, never through a planted symlink */
	if ((rc = fs_open_tmp(path, tmp, &tfp)) != 0)
		goto out;
	if (!(sf = sf_open_fd(fileno(tfp), SFM_WRITE, &info, 0))) {
		rc = err_set(ACC_EIO, "cannot create '%s' as %s/%s at %d Hz: %s", tmp, f->container, f->codec, f->rate,
			     sf_strerror(NULL));
		goto out;
	}
	if (f->sf_format == (SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III)) {
		double comp = 0.5;   /* VBR quality; fixed so output is reproducible */
		sf_command(sf, SFC_SET_COMPRESSION_LEVEL, &comp, sizeof comp);
	}
	if (sf_writef_float(sf, il ? il : y, (sf_count_t)ylen) != (sf_count_t)ylen) {
		rc = err_set(ACC_EIO, "cannot write '%s': %s", tmp, sf_strerror(sf));
		goto out;
	}
	if (sf_close(sf) != 0) {
		sf = NULL;
		rc = err_set(ACC_EIO, "cannot finish '%s'", tmp);
		goto out;
	}
	sf = NULL;
	rc = fs_commit_tmp(tfp, tmp, path);
	tfp = NULL;
	if (rc)
		goto out;
	*frames = (int64_t)ylen;
out:
	if (sf)
		sf_close(sf);
	if (tfp)
		fs_abort_tmp(tfp, tmp);
	free(y);
	free(il);
	return rc;
}

/* ---- records ---- */

/* A new zeroed record at the end of *v (n records of size bytes, capacity
 * *cap); NULL when out of memory (the message set). */
static void *record_push(void **v, int *n, size_t *cap, size_t size)
{
	if (err_array_grow(v, cap, (size_t)*n + 1, size))   /* ARRAY_GROW on an untyped array */
		return NULL;
	void *r = (char *)*v + (size_t)(*n)++ * size;
	memset(r, 0, size);
	return r;
}

static urec *utt_new(urec *u)
{
	if (u)
		u->lng = -1;
	return u;
}

static frec *file_new(frec *f)
{
	if (f)
		f->first_utt = -1;
	return f;
}

#define add_utt(x) utt_new(record_push((void **)&(x)->r.u, &(x)->r.nu, &(x)->r.capu, sizeof *(x)->r.u))
#define add_file(x) file_new(record_push((void **)&(x)->r.f, &(x)->r.nf, &(x)->r.capf, sizeof *(x)->r.f))

static void urec_free(urec *u)
{
	free(u->key);
	free(u->text);
	free(u->file);
	free(u->lid);
}

/* Free the records' strings (those r still owns: commit() moves them out
 * and sets the counts to 0) and arrays. */
static void records_free(records *r)
{
	for (int i = 0; i < r->nu; i++)
		urec_free(&r->u[i]);
	for (int i = 0; i < r->nf; i++) {
		free(r->f[i].file);
		free(r->f[i].key);
	}
	free(r->u);
	free(r->f);
}

/* One unit of work (a short utterance or a long recording) made by a worker
 * thread; commit() appends it to the generator in unit order, so the output
 * does not depend on the number of threads. */
typedef struct unit {
	records r;
	FILE *words;            /* words.tsv lines (memory stream) */
	char *wbuf;
	size_t wlen;
	double synth_s;
	int64_t nwords, utts, longs;
} unit;

static int unit_init(unit *un)
{
	memset(un, 0, sizeof *un);
	un->words = open_memstream(&un->wbuf, &un->wlen);
	return un->words ? 0 : err_set(ACC_ENOMEM, "out of memory");
}

/* Free what the unit still owns (after commit(): only its arrays). */
static void unit_free(unit *un)
{
	records_free(&un->r);
	if (un->words)
		fclose(un->words);
	free(un->wbuf);
	memset(un, 0, sizeof *un);
}

static char *xprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xprintf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

static int write_words(unit *un, const char *key, const synth_audio *a, double offset)
{
	for (int i = 0; i < a->n_words; i++)
		if (fprintf(un->words, "%s\t%d\t%s\t%.6f\t%.6f\t%d\n", key, i, a->words[i].text, a->words[i].start_s + offset,
			    a->words[i].end_s + offset, a->words[i].timed) < 0)
			return err_set(ACC_ENOMEM, "out of memory");
	un->nwords += a->n_words;
	return 0;
}

static void progress_tick(gen *g, double dur)
{
	g->files_done++;
	g->st->audio_s += dur;
	if (g->o->progress)
		g->o->progress(g->o->progress_ctx, g->files_done, g->st->audio_s);
	if (g->o->hours > 0 && g->st->audio_s >= g->o->hours * 3600)
		g->hours_reached = 1;
}

static int speak(double *synth_s, const speaker *s, const char *text, double lead, double trail, rng *r,
		 synth_audio *a)
{
	synth_voice v = { s->voice, s->variant, s->rate + rng_int(r, 11) - 5, s->pitch, s->range, 0 };
	double t0 = now_s();
	int rc = synth_speak(&v, text, lead, trail, a);
	*synth_s += now_s() - t0;
	if (rc)
		return err_wrap(rc, "speaker %s (%s+%s)", s->name, s->voice, s->variant);
	set_level(a->samples, a->n, s->level * rng_unif(r, 0.85, 1.0));
	return 0;
}

/* The file name (relative to out) of a short utterance of speaker s. */
static int short_names(gen *g, const speaker *s, int k, const afmt *f, urec *u)
{
	const char *loc = g->lang[s->lang]->locale;
	u->key = xprintf("%s-%04d", s->name, k);
	switch (g->layout) {
	case L_CV:
		u->lid = xprintf("common_voice_%s_%d.%s", loc, 20000000 + s->gidx * 10000 + k, f->ext);
		u->file = u->lid ? xprintf("clips/%s", u->lid) : NULL;
		break;
	case L_LS:
		u->lid = xprintf("%d-%d-%04d", s->ls_id, s->ls_chapter, k);
		u->file = u->lid ? xprintf("%d/%d/%s.%s", s->ls_id, s->ls_chapter, u->lid, f->ext) : NULL;
		break;
	case L_KALDI:
		u->file = xprintf("wav/%s.%s", u->key, f->ext);
		break;
	case L_NEMO:
		u->file = xprintf("audio/%s/%s.%s", s->label, u->key, f->ext);
		break;
	case L_LJ:
		u->file = xprintf("wavs/%s.%s", u->key, f->ext);
		break;
	default:
		u->file = xprintf("%s/%s.%s", s->label, u->key, f->ext);
		break;
	}
	return u->key && u->file && (u->lid || (g->layout != L_CV && g->layout != L_LS)) ? 0 :
		err_set(ACC_ENOMEM, "out of memory");
}

/* One short utterance: its own file. */
static int make_short(gen *g, unit *un, const speaker *s, int k)
{
	rng r = rng_for(g->o->seed, 404, (uint64_t)s->gidx, (uint64_t)k);
	const char *text = sentence_for(g, s, k);
	synth_audio a = { 0 };
	afmt f = choose_format(g, &r);
	int64_t frames = 0;
	int rc;
	urec *u = add_utt(un);
	frec *fr;
	if (!u)
		return err_set(ACC_ENOMEM, "out of memory");
	u->spk = s->gidx;
	u->lng = s->lang;
	if ((rc = short_names(g, s, k, &f, u)) != 0)
		return rc;
	if (!(u->text = strdup(text)))
		return err_set(ACC_ENOMEM, "out of memory");
	if ((rc = speak(&un->synth_s, s, text, rng_unif(&r, 0.1, 0.5), rng_unif(&r, 0.1, 0.5), &r, &a)) != 0)
		return rc;
	if (g->noise_short >= 0) {
		int64_t a0 = (int64_t)(a.speech_start_s * SYNTH_RATE), a1 = (int64_t)(a.speech_end_s * SYNTH_RATE);
		add_noise(a.samples, a.n, a1 > a0 ? sqrt(energy(a.samples, a0, a1) / (double)(a1 - a0)) : 0, g->noise_short, &r);
	}
	if ((rc = write_audio(g, u->file, a.samples, a.n, &f, &frames)) != 0)
		goto out;
	u->start = 0;
	u->end = (double)frames / f.rate;
	u->sp_start = a.speech_start_s;
	u->sp_end = a.speech_end_s;
	u->complete = a.complete;
	if ((rc = write_words(un, u->key, &a, 0)) != 0)
		goto out;
	if (!(fr = add_file(un))) {
		rc = err_set(ACC_ENOMEM, "out of memory");
		goto out;
	}
	fr->file = strdup(u->file);
	fr->key = strdup(u->key);
	fr->kind = "short";
	fr->container = f.container;
	fr->codec = f.codec;
	fr->rate = f.rate;
	fr->channels = f.channels;
	fr->frames = frames;
	fr->dur = u->end;
	fr->n_utts = 1;
	fr->spk = s->gidx;
	if (!fr->file || !fr->key) {
		rc = err_set(ACC_ENOMEM, "out of memory");
		goto out;
	}
	un->utts++;
out:
	synth_audio_free(&a);
	return rc;
}

/* One long recording of speaker s: nutt utterances (sentences k0..) joined
 * with pauses, background noise, one file. */
static int make_long(gen *g, unit *un, const speaker *s, int session, int k0, int nutt)
{
	rng r = rng_for(g->o->seed, 505, (uint64_t)s->gidx, (uint64_t)session);
	afmt f = choose_format(g, &r);
	synth_audio *a = calloc((size_t)nutt, sizeof *a);
	double *pause = calloc((size_t)nutt + 1, sizeof *pause);
	float *x = NULL;
	int64_t n = 0, pos, frames = 0;
	int rc = 0, first = un->r.nu;
	char *lkey = NULL, *file = NULL;
	frec *fr;
	if (!a || !pause) {
		rc = err_set(ACC_ENOMEM, "out of memory");
		goto out;
	}
	lkey = xprintf("%s-L%02d", s->name, session);
	switch (g->layout) {
	case L_KALDI: file = lkey ? xprintf("wav/%s.%s", lkey, f.ext) : NULL; break;
	case L_NEMO: file = lkey ? xprintf("audio/%s/%s.%s", s->label, lkey, f.ext) : NULL; break;
	default: file = lkey ? xprintf("%s/%s.%s", s->label, lkey, f.ext) : NULL; break;
	}
	if (!lkey || !file) {
		rc = err_set(ACC_ENOMEM, "out of memory");
		goto out;
	}
	pause[0] = rng_unif(&r, 0.3, 0.8);
	pause[nutt] = rng_unif(&r, 0.3, 0.8);
	for (int i = 1; i < nutt; i++)
		pause[i] = rng_unif(&r, 0.3, 1.5);
	n = (int64_t)llround(pause[0] * SYNTH_RATE);
	for (int i = 0; i < nutt; i++) {
		if ((rc = speak(&un->synth_s, s, sentence_for(g, s, k0 + i), 0, 0, &r, &a[i])) != 0)
			goto out;
		n += a[i].n + (int64_t)llround(pause[i + 1] * SYNTH_RATE);
	}
	if (!(x = calloc((size_t)n, sizeof *x))) {
		rc = err_set(ACC_ENOMEM, "out of memory");
		goto out;
	}
	pos = (int64_t)llround(pause[0] * SYNTH_RATE);
	double sp_e = 0;
	int64_t sp_n = 0;
	for (int i = 0; i < nutt; i++) {
		double off = (double)pos / SYNTH_RATE;
		urec *u = add_utt(un);
		if (!u) {
			rc = err_set(ACC_ENOMEM, "out of memory");
			goto out;
		}
		memcpy(x + pos, a[i].samples, (size_t)a[i].n * sizeof *x);
		u->key = xprintf("%s-%03d", lkey, i);
		u->text = strdup(sentence_for(g, s, k0 + i));
		u->file = strdup(file);
		if (!u->key || !u->text || !u->file) {
			rc = err_set(ACC_ENOMEM, "out of memory");
			goto out;
		}
		u->spk = s->gidx;
		u->lng = s->lang;
		u->in_long = 1;
		u->sp_start = off + a[i].speech_start_s;
		u->sp_end = off + a[i].speech_end_s;
		double mb = fmin(0.15, pause[i] / 2), ma = fmin(0.15, pause[i + 1] / 2);
		if (i == 0)
			mb = fmin(0.15, pause[0]);
		if (i == nutt - 1)
			ma = fmin(0.15, pause[nutt]);
		u->start = u->sp_start - mb;
		u->end = u->sp_end + ma;
		u->complete = a[i].complete;
		if ((rc = write_words(un, u->key, &a[i], off)) != 0)
			goto out;
		sp_e += energy(a[i].samples, 0, a[i].n);   /* pieces are trimmed to their speech */
		sp_n += a[i].n;
		pos += a[i].n;
		pos += (int64_t)llround(pause[i + 1] * SYNTH_RATE);
	}
	add_noise(x, n, sp_n ? sqrt(sp_e / (double)sp_n) : 0, g->noise_long, &r);
	if ((rc = write_audio(g, file, x, n, &f, &frames)) != 0)
		goto out;
	if (!(fr = add_file(un))) {
		rc = err_set(ACC_ENOMEM, "out of memory");
		goto out;
	}
	fr->file = file;
	fr->key = lkey;
	file = lkey = NULL;
	fr->kind = "long";
	fr->container = f.container;
	fr->codec = f.codec;
	fr->rate = f.rate;
	fr->channels = f.channels;
	fr->frames = frames;
	fr->dur = (double)frames / f.rate;
	fr->n_utts = nutt;
	fr->first_utt = first;
	fr->spk = s->gidx;
	un->utts += nutt;
	un->longs++;
out:
	for (int i = 0; a && i < nutt; i++)
		synth_audio_free(&a[i]);
	free(a);
	free(pause);
	free(x);
	free(lkey);
	free(file);
	return rc;
}

/* ---- parallel driver ---- */

/* Append a finished unit to the generator; callers serialize (ordered). */
static int commit(gen *g, unit *un)
{
	int base = g->r.nu, nu = un->r.nu, nf = un->r.nf;
	un->r.nu = un->r.nf = 0;   /* ownership of the strings moves to g */
	for (int i = 0; i < nu; i++) {
		urec *u = add_utt(g);
		if (!u) {
			for (int k = i; k < nu; k++)
				urec_free(&un->r.u[k]);
			for (int k = 0; k < nf; k++) {
				free(un->r.f[k].file);
				free(un->r.f[k].key);
			}
			return err_set(ACC_ENOMEM, "out of memory");
		}
		*u = un->r.u[i];
	}
	for (int i = 0; i < nf; i++) {
		frec *f = add_file(g);
		if (!f) {
			for (int k = i; k < nf; k++) {
				free(un->r.f[k].file);
				free(un->r.f[k].key);
			}
			return err_set(ACC_ENOMEM, "out of memory");
		}
		*f = un->r.f[i];
		if (f->first_utt >= 0)
			f->first_utt += base;
	}
	if (fflush(un->words) != 0)
		return err_set(ACC_ENOMEM, "out of memory");
	if (un->wlen && fwrite(un->wbuf, 1, un->wlen, g->words) != un->wlen)
		return err_set(ACC_EIO, "cannot write '%s': %s", g->words_tmp, strerror(errno));
	g->st->utterances += un->utts;
	g->st->long_recordings += un->longs;
	g->st->words += un->nwords;
	g->st->synth_wall_s += un->synth_s;
	for (int i = g->r.nf - nf; i < g->r.nf; i++)
		progress_tick(g, g->r.f[i].dur);
	return 0;
}

typedef struct job {
	const speaker *s;
	int is_long, a, b, c;   /* short: k = a; long: session a, first sentence b, c utterances */
} job;

/* Make jobs[0..n) on the worker threads (synthesis, resampling and encoding
 * in parallel), committing them in job order. */
static int run_jobs(gen *g, const job *jobs, int n)
{
	int nth = g->o->jobs > 0 ? g->o->jobs : omp_get_max_threads();
	if (nth > n)
		nth = n > 0 ? n : 1;
	#pragma omp parallel for schedule(dynamic, 1) ordered num_threads(nth)
	for (int i = 0; i < n; i++) {
		unit un;
		int rc, skip;
		#pragma omp atomic read
		skip = g->failed;
		if (!skip) {
			rc = unit_init(&un);
			if (!rc)
				rc = jobs[i].is_long ? make_long(g, &un, jobs[i].s, jobs[i].a, jobs[i].b, jobs[i].c) :
						       make_short(g, &un, jobs[i].s, jobs[i].a);
		}
		#pragma omp ordered
		{
			if (!skip && !g->failed) {
				if (!rc)
					rc = commit(g, &un);
				if (rc) {   /* this thread made the error: its message is here */
					g->fail_rc = rc;
					snprintf(g->fail_msg, sizeof g->fail_msg, "%s", err_msg());
					snprintf(g->fail_hint, sizeof g->fail_hint, "%s", err_hint_msg() ? err_hint_msg() : "");
					#pragma omp atomic write
					g->failed = 1;
				}
			}
		}
		if (!skip)
			unit_free(&un);
	}
	if (g->failed) {
		err_set(g->fail_rc, "%s", g->fail_msg);
		if (g->fail_hint[0])
			err_hint("%s", g->fail_hint);
		return g->fail_rc;
	}
	return 0;
}

/* ---- bad items ---- */

static int copy_file(gen *g, const char *from_rel, const char *to_rel)
{
	char a[4096], b[4096], *data;
	size_t len;
	int rc;
	if ((rc = fs_join(a, sizeof a, g->o->out_dir, from_rel)) || (rc = fs_join(b, sizeof b, g->o->out_dir, to_rel)))
		return rc;
	if ((rc = fs_read_all(a, &data, &len, 0)) != 0)
		return rc;
	rc = fs_write_atomic(b, data, len);
	free(data);
	return rc;
}

/* Synthesize speaker s's sentence k into out/rel as format f (no records). */
static int synth_file(gen *g, const speaker *s, int k, const char *rel, const afmt *f)
{
	rng r = rng_for(g->o->seed, 606, (uint64_t)s->gidx, (uint64_t)k);
	synth_audio a = { 0 };
	int64_t frames;
	int rc = speak(&g->st->synth_wall_s, s, sentence_for(g, s, k), 0.3, 0.3, &r, &a);
	if (!rc)
		rc = write_audio(g, rel, a.samples, a.n, f, &frames);
	synth_audio_free(&a);
	return rc;
}

static int make_dirs_for(gen *g, const char *rel)
{
	char path[4096];
	int rc = fs_join(path, sizeof path, g->o->out_dir, rel);
	char *sl = rc ? NULL : strrchr(path, '/');
	if (rc)
		return rc;
	if (sl) {
		*sl = 0;
		return fs_mkdir_p(path);
	}
	return 0;
}

/* The four deliberately broken items of bad.tsv, all from the first speaker. */
static int make_bad(gen *g)
{
	speaker *s = &g->spk[0];
	int rc, is_long = g->layout == L_LONG;
	for (int kind = BAD_CORRUPT; kind <= BAD_DUP; kind++) {
		int k = 9000 + kind, src = -1;
		const char *src_text = NULL;
		afmt f = fmt_of(layout_default_format(g->layout), 16000, 1);
		urec *u;
		if (kind == BAD_DUP) {   /* duplicate the first good file of the right kind */
			for (int i = 0; i < g->r.nf && src < 0; i++)
				if (!strcmp(g->r.f[i].kind, is_long ? "long" : "short"))
					src = i;
			if (src < 0)
				continue;
			const char *dot = strrchr(g->r.f[src].file, '.');
			f.ext = dot ? dot + 1 : "wav";
			for (int i = 0; i < g->r.nu && !src_text; i++)
				if (!g->r.u[i].bad && !strcmp(g->r.u[i].file, g->r.f[src].file))
					src_text = g->r.u[i].text;
		}
		if (!(u = add_utt(g)))
			return err_set(ACC_ENOMEM, "out of memory");
		u->spk = s->gidx;
		u->lng = s->lang;
		u->bad = kind;
		if (is_long) {
			u->key = xprintf("%s-L%02d", s->name, 90 + kind);
			u->file = u->key ? xprintf("%s/%s.%s", s->label, u->key, f.ext) : NULL;
		} else if ((rc = short_names(g, s, k, &f, u)) != 0) {
			return rc;
		}
		if (!u->key || !u->file)
			return err_set(ACC_ENOMEM, "out of memory");
		if (kind == BAD_EMPTY)
			u->text = strdup("");
		else if (kind == BAD_DUP && src_text && !is_long)
			u->text = strdup(src_text);
		else if (is_long) {   /* a long-form transcript of the duplicated file's lines */
			int a = src >= 0 ? g->r.f[src].first_utt : -1, n = src >= 0 ? g->r.f[src].n_utts : 0;
			size_t len = 0;
			FILE *m = open_memstream(&u->text, &len);
			if (!m)
				return err_set(ACC_ENOMEM, "out of memory");
			if (a >= 0)
				for (int i = 0; i < n; i++)
					fprintf(m, "%s%s", i ? "\n" : "", g->r.u[a + i].text);
			else
				fprintf(m, "%s\n%s", sentence_for(g, s, k), sentence_for(g, s, k + 1));
			fclose(m);
		} else
			u->text = strdup(sentence_for(g, s, k));
		if (!u->text)
			return err_set(ACC_ENOMEM, "out of memory");
		char *file = u->file;   /* g->r.u may move below; keep what we need */
		if (kind == BAD_CORRUPT) {
			char path[4096], junk[2400];
			size_t l = 0;
			while (l + 40 < sizeof junk)
				l += (size_t)snprintf(junk + l, sizeof junk - l, "this is not audio, line %04zu\n", l / 30);
			if ((rc = make_dirs_for(g, file)) || (rc = fs_join(path, sizeof path, g->o->out_dir, file)) ||
			    (rc = fs_write_atomic(path, junk, l)))
				return rc;
			g->files_done++;
		} else if (kind == BAD_EMPTY) {
			if ((rc = synth_file(g, s, k, file, &f)) != 0)
				return rc;
			g->files_done++;
		} else if (kind == BAD_DUP) {
			if ((rc = make_dirs_for(g, file)) || (rc = copy_file(g, g->r.f[src].file, file)))
				return rc;
			g->files_done++;
		}
		g->st->bad_items++;
	}
	return 0;
}

/* ---- layout metadata ---- */

typedef struct lines {
	char **v;
	int n;
	size_t cap;
} lines;

static int lines_add(lines *l, char *s)
{
	if (!s)
		return err_set(ACC_ENOMEM, "out of memory");
	int rc = ARRAY_GROW(l->v, l->cap, (size_t)l->n + 1);
	if (rc) {
		free(s);
		return rc;
	}
	l->v[l->n++] = s;
	return 0;
}

static void lines_free(lines *l)
{
	for (int i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof *l);
}

static int cmp_cstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Write header (may be NULL) + lines (sorted with C strcmp when asked) to out/rel. */
static int lines_write(gen *g, const char *rel, const char *header, lines *l, int sort)
{
	char path[4096], *buf = NULL;
	size_t len = 0;
	int rc;
	FILE *m;
	if ((rc = make_dirs_for(g, rel)) || (rc = fs_join(path, sizeof path, g->o->out_dir, rel)))
		return rc;
	if (sort)
		qsort(l->v, (size_t)l->n, sizeof *l->v, cmp_cstr);
	if (!(m = open_memstream(&buf, &len)))
		return err_set(ACC_ENOMEM, "out of memory");
	if (header)
		fprintf(m, "%s\n", header);
	for (int i = 0; i < l->n; i++)
		fprintf(m, "%s\n", l->v[i]);
	fclose(m);
	rc = fs_write_atomic(path, buf, len);
	free(buf);
	return rc;
}

/* LibriSpeech transcript style: upper case (ICU, root locale), punctuation
 * and symbols removed except apostrophes inside words, single spaces. */
static char *ls_text(const char *in)
{
	UErrorCode e = U_ZERO_ERROR;
	int32_t n16 = 0, cap = (int32_t)strlen(in) * 2 + 8, o = 0;
	UChar *a = malloc((size_t)cap * sizeof *a), *b = malloc((size_t)cap * sizeof *b);
	char *out = NULL;
	if (!a || !b)
		goto done;
	u_strFromUTF8(a, cap, &n16, in, -1, &e);
	if (U_FAILURE(e))
		goto done;
	for (int32_t i = 0; i < n16;) {
		UChar32 c;
		int32_t at = i;
		U16_NEXT(a, i, n16, c);
		int keep = u_isalnum(c) || (U_GET_GC_MASK(c) & U_GC_M_MASK);
		if (!keep && (c == '\'' || c == 0x2019) && at > 0 && i < n16 && u_isalpha(a[at - 1]) && u_isalpha(a[i]))
			c = '\'', keep = 1;
		if (keep)
			U16_APPEND_UNSAFE(b, o, c);
		else if (o > 0 && b[o - 1] != ' ')
			b[o++] = ' ';
	}
	while (o > 0 && b[o - 1] == ' ')
		o--;
	e = U_ZERO_ERROR;
	n16 = u_strToUpper(a, cap, b, o, "", &e);
	if (U_FAILURE(e))
		goto done;
	int32_t n8 = 0;
	e = U_ZERO_ERROR;
	u_strToUTF8(NULL, 0, &n8, a, n16, &e);
	out = malloc((size_t)n8 + 1);
	e = U_ZERO_ERROR;
	if (out)
		u_strToUTF8(out, n8 + 1, NULL, a, n16, &e);
	if (out && U_FAILURE(e)) {
		free(out);
		out = NULL;
	}
done:
	free(a);
	free(b);
	return out;
}

/* The stem of a relative path + ".txt". */
static char *txt_name(const char *file)
{
	const char *dot = strrchr(file, '.'), *sl = strrchr(file, '/');
	int stem = dot && (!sl || dot > sl) ? (int)(dot - file) : (int)strlen(file);
	return xprintf("%.*s.txt", stem, file);
}

/* The list file rel (after header, unless NULL): one line per utterance,
 * in utterance order, made by line (malloc'ed; NULL when out of memory). */
static int write_utt_list(gen *g, const char *rel, const char *header, char *(*line)(const gen *g, const urec *u))
{
	lines l = { 0 };
	int rc = 0;
	for (int i = 0; i < g->r.nu && !rc; i++)
		rc = lines_add(&l, line(g, &g->r.u[i]));
	if (!rc)
		rc = lines_write(g, rel, header, &l, 0);
	lines_free(&l);
	return rc;
}

static char *cv_line(const gen *g, const urec *u)
{
	const speaker *s = &g->spk[u->spk];
	return xprintf("%s\t%s\t%s\t2\t0\t%s\t%s\t%s\t\t%s\t", s->label, u->lid, u->text, cv_age(s->age), s->gender,
		       s->accent, g->lang[s->lang]->locale);
}

static int write_cv(gen *g)
{
	return write_utt_list(g, "validated.tsv",
			      "client_id\tpath\tsentence\tup_votes\tdown_votes\tage\tgender\taccents\tvariant\tlocale\tsegment",
			      cv_line);
}

static int write_ls(gen *g)
{
	int rc = 0;
	lines sp = { 0 };
	for (int si = 0; si < g->nspk && !rc; si++) {
		const speaker *s = &g->spk[si];
		lines l = { 0 };
		double minutes = 0;
		for (int i = 0; i < g->r.nu && !rc; i++) {
			const urec *u = &g->r.u[i];
			if (u->spk != si)
				continue;
			char *t = ls_text(u->text);
			if (!t) {
				rc = err_set(ACC_ENOMEM, "cannot convert \"%.40s\"", u->text);
				break;
			}
			rc = lines_add(&l, *t ? xprintf("%s %s", u->lid, t) : xprintf("%s", u->lid));
			free(t);
			if (!u->bad)
				minutes += (u->end - u->start) / 60;
		}
		if (!rc && l.n) {
			char rel[256];
			snprintf(rel, sizeof rel, "%d/%d/%d-%d.trans.txt", s->ls_id, s->ls_chapter, s->ls_id, s->ls_chapter);
			rc = lines_write(g, rel, NULL, &l, 1);
		}
		lines_free(&l);
		if (!rc)
			rc = lines_add(&sp, xprintf("%-5d| %s | train-clean-100  | %6.2f | synthetic %s %s+%s", s->ls_id,
						    s->gender[0] == 'f' ? "F" : "M", minutes, s->name, s->voice, s->variant));
	}
	if (!rc)
		rc = lines_write(g, "SPEAKERS.TXT", ";ID  |SEX| SUBSET           |MINUTES| NAME", &sp, 0);
	lines_free(&sp);
	return rc;
}

static int write_kaldi(gen *g)
{
	lines scp = { 0 }, text = { 0 }, u2s = { 0 }, s2u = { 0 }, s2g = { 0 }, u2l = { 0 }, seg = { 0 };
	int rc = 0, any_long = 0;
	for (int i = 0; i < g->r.nf; i++)
		any_long |= !strcmp(g->r.f[i].kind, "long");
	for (int i = 0; i < g->r.nu && !rc; i++) {
		const urec *u = &g->r.u[i];
		const speaker *s = &g->spk[u->spk];
		int in_long = u->in_long;
		const char *rec = u->key;
		if (in_long) {   /* recording id = the long file's key */
			for (int f = 0; f < g->r.nf; f++)
				if (!strcmp(g->r.f[f].file, u->file))
					rec = g->r.f[f].key;
		}
		if (!in_long)
			rc = lines_add(&scp, xprintf("%s %s", u->key, u->file));
		if (!rc)
			rc = lines_add(&text, *u->text ? xprintf("%s %s", u->key, u->text) : xprintf("%s", u->key));
		if (!rc)
			rc = lines_add(&u2s, xprintf("%s %s", u->key, s->label));
		if (!rc)
			rc = lines_add(&u2l, xprintf("%s %s", u->key, g->lang[s->lang]->iso3));
		if (!rc && any_long)
			rc = lines_add(&seg, in_long ? xprintf("%s %s %.3f %.3f", u->key, rec, u->start, u->end) :
					      xprintf("%s %s 0.000 %.3f", u->key, rec, u->bad ? 1.0 : u->end));
	}
	for (int f = 0; f < g->r.nf && !rc; f++)
		if (!strcmp(g->r.f[f].kind, "long"))
			rc = lines_add(&scp, xprintf("%s %s", g->r.f[f].key, g->r.f[f].file));
	for (int si = 0; si < g->nspk && !rc; si++) {
		const speaker *s = &g->spk[si];
		char *buf = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&buf, &len);
		if (!m) {
			rc = err_set(ACC_ENOMEM, "out of memory");
			break;
		}
		fprintf(m, "%s", s->label);
		/* utterance ids sorted, as Kaldi wants */
		lines ids = { 0 };
		for (int i = 0; i < g->r.nu && !rc; i++)
			if (g->r.u[i].spk == si)
				rc = lines_add(&ids, strdup(g->r.u[i].key));
		qsort(ids.v, (size_t)ids.n, sizeof *ids.v, cmp_cstr);
		for (int i = 0; i < ids.n; i++)
			fprintf(m, " %s", ids.v[i]);
		lines_free(&ids);
		fclose(m);
		if (!rc)
			rc = lines_add(&s2u, buf);
		else
			free(buf);
		if (!rc)
			rc = lines_add(&s2g, xprintf("%s %c", s->label, s->gender[0]));
	}
	if (!rc)
		rc = lines_write(g, "wav.scp", NULL, &scp, 1);
	if (!rc)
		rc = lines_write(g, "text", NULL, &text, 1);
	if (!rc)
		rc = lines_write(g, "utt2spk", NULL, &u2s, 1);
	if (!rc)
		rc = lines_write(g, "spk2utt", NULL, &s2u, 1);
	if (!rc)
		rc = lines_write(g, "spk2gender", NULL, &s2g, 1);
	if (!rc)
		rc = lines_write(g, "utt2lang", NULL, &u2l, 1);
	if (!rc && any_long)
		rc = lines_write(g, "segments", NULL, &seg, 1);
	lines_free(&scp);
	lines_free(&text);
	lines_free(&u2s);
	lines_free(&s2u);
	lines_free(&s2g);
	lines_free(&u2l);
	lines_free(&seg);
	return rc;
}

static char *nemo_line(const gen *g, const urec *u)
{
	const speaker *s = &g->spk[u->spk];
	json_t *o = json_object();
	if (!o)
		return NULL;
	json_object_set_new(o, "audio_filepath", json_string(u->file));
	json_object_set_new(o, "duration", json_real(u->bad ? 2.0 : round((u->end - u->start) * 1e6) / 1e6));
	if (u->in_long)
		json_object_set_new(o, "offset", json_real(round(u->start * 1e6) / 1e6));
	json_object_set_new(o, "text", json_string(u->text));
	json_object_set_new(o, "speaker", json_string(s->label));
	json_object_set_new(o, "lang", json_string(g->lang[s->lang]->iso3));
	char *js = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
	json_decref(o);
	return js;
}

static int write_nemo(gen *g)
{
	return write_utt_list(g, "manifest.jsonl", NULL, nemo_line);
}

static char *lj_line(const gen *g, const urec *u)
{
	(void)g;
	const char *sl = strrchr(u->file, '/'), *dot = strrchr(u->file, '.');
	const char *stem = sl ? sl + 1 : u->file;
	int sn = dot && dot > stem ? (int)(dot - stem) : (int)strlen(stem);
	return xprintf("%.*s|%s|%s", sn, stem, u->text, u->text);
}

static int write_lj(gen *g)
{
	return write_utt_list(g, "metadata.csv", NULL, lj_line);
}

/* folder and longform: a same-stem .txt beside each audio file. */
static int write_txts(gen *g)
{
	int rc = 0;
	for (int i = 0; i < g->r.nu && !rc; i++) {
		const urec *u = &g->r.u[i];
		if (!u->bad && g->layout == L_LONG)
			continue;   /* long recordings: written per file below */
		char *t = txt_name(u->file), path[4096];
		if (!t)
			return err_set(ACC_ENOMEM, "out of memory");
		char *body = *u->text ? xprintf("%s\n", u->text) : strdup("");
		if (!body)
			rc = err_set(ACC_ENOMEM, "out of memory");
		if (!rc && !(rc = make_dirs_for(g, t)) && !(rc = fs_join(path, sizeof path, g->o->out_dir, t)))
			rc = fs_write_atomic(path, body, strlen(body));
		free(body);
		free(t);
	}
	for (int f = 0; f < g->r.nf && !rc; f++) {
		const frec *fr = &g->r.f[f];
		if (strcmp(fr->kind, "long"))
			continue;
		lines l = { 0 };
		for (int i = 0; i < fr->n_utts && !rc; i++)
			rc = lines_add(&l, strdup(g->r.u[fr->first_utt + i].text));
		char *t = txt_name(fr->file);
		if (!t)
			rc = err_set(ACC_ENOMEM, "out of memory");
		if (!rc)
			rc = lines_write(g, t, NULL, &l, 0);
		free(t);
		lines_free(&l);
	}
	return rc;
}

/* ---- ground truth ---- */

static int write_truth(gen *g)
{
	lines ut = { 0 }, sp = { 0 }, rec = { 0 }, bad = { 0 };
	int rc = 0;
	for (int i = 0; i < g->r.nu && !rc; i++) {
		const urec *u = &g->r.u[i];
		const speaker *s = &g->spk[u->spk];
		if (u->bad)
			rc = lines_add(&bad, xprintf("%s\t%s\t%s\t%s", bad_kind[u->bad], u->file, u->key, bad_reason[u->bad]));
		else {
			/* long-form text may hold newlines only for bad items; good texts are one line */
			rc = lines_add(&ut, xprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.6f\t%.6f\t%.6f\t%.6f\t%d", u->key, s->label,
						    g->lang[s->lang]->iso3, s->gender, s->accent, u->text, u->file, u->start,
						    u->end, u->sp_start, u->sp_end, u->complete));
		}
	}
	for (int i = 0; i < g->nspk && !rc; i++) {
		const speaker *s = &g->spk[i];
		rc = lines_add(&sp, xprintf("%s\t%s\t%s\t%d\t%s\t%s\t%s\t%d\t%d\t%d", s->label, g->lang[s->lang]->iso3,
					    s->gender, s->age, s->accent, s->voice, s->variant, s->rate, s->pitch, s->range));
	}
	for (int i = 0; i < g->r.nf && !rc; i++) {
		const frec *f = &g->r.f[i];
		rc = lines_add(&rec, xprintf("%s\t%s\t%s\t%s\t%d\t%d\t%lld\t%.6f\t%d", f->file, f->kind, f->container, f->codec,
					     f->rate, f->channels, (long long)f->frames, f->dur, f->n_utts));
	}
	if (!rc)
		rc = lines_write(g, "_truth/utterances.tsv",
				 "utt_key\tspeaker\tlang\tgender\taccent\ttext\tfile\tstart_s\tend_s\tspeech_start_s\t"
				 "speech_end_s\twords_complete", &ut, 0);
	if (!rc)
		rc = lines_write(g, "_truth/speakers.tsv",
				 "speaker\tlang\tgender\tage\taccent\tvoice\tvariant\trate\tpitch\trange", &sp, 0);
	if (!rc)
		rc = lines_write(g, "_truth/recordings.tsv",
				 "file\tkind\tcontainer\tcodec\tsample_rate\tchannels\tframes\tduration_s\tn_utts", &rec, 0);
	if (!rc && g->o->with_bad)
		rc = lines_write(g, "_truth/bad.tsv", "kind\tfile\tkey\texpected_reason", &bad, 0);
	lines_free(&ut);
	lines_free(&sp);
	lines_free(&rec);
	lines_free(&bad);
	return rc;
}

/* ---- driver ---- */

static int parse_langs(gen *g, const char *spec)
{
	const char *p = spec;
	g->nlang = 0;
	while (p && *p) {
		const char *c = strchr(p, ',');
		size_t n = c ? (size_t)(c - p) : strlen(p);
		int found = -1;
		for (int i = 0; i < (int)(sizeof langs_known / sizeof langs_known[0]); i++)
			if ((strlen(langs_known[i].iso3) == n && !strncmp(langs_known[i].iso3, p, n)) ||
			    (strlen(langs_known[i].iso1) == n && !strncmp(langs_known[i].iso1, p, n)))
				found = i;
		if (found < 0) {
			err_set(ACC_EINVAL, "unknown language '%.*s'", (int)n, p);
			err_hint("languages: eng amh spa deu ita por pol ces ron rus bul ukr ell hin tam (fra, swh given a <code>.txt)");
			return ACC_EINVAL;
		}
		for (int i = 0; i < g->nlang; i++)
			if (g->lang[i] == &langs_known[found])
				return err_set(ACC_EINVAL, "language '%.*s' given twice", (int)n, p);
		if (g->nlang == 16)
			return err_set(ACC_EINVAL, "too many languages (16 at most)");
		g->lang[g->nlang++] = &langs_known[found];
		p = c ? c + 1 : NULL;
	}
	return g->nlang ? 0 : err_set(ACC_EINVAL, "no language given");
}

static int dir_is_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int empty = 1;
	if (!d)
		return 1;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			empty = 0;
	closedir(d);
	return empty;
}

/* The options checked against each other and g's layout set from them. */
static int check_opts(gen *g, const synthcorpus_opts *o)
{
	const char *lname;
	if (!o->out_dir || !*o->out_dir)
		return err_set(ACC_EINVAL, "no output directory");
	if (!(lname = synthcorpus_layout(o->layout))) {
		err_set(ACC_EINVAL, "unknown layout '%s'", o->layout ? o->layout : "(null)");
		err_hint("layouts: cv|commonvoice, librispeech, kaldi, nemo, ljspeech, folder, mms-long|longform");
		return ACC_EINVAL;
	}
	for (int i = 0; i < 7; i++)
		if (!strcmp(lname, layout_names[i]))
			g->layout = i;
	if (o->speakers < 1 || o->speakers > 10000 || o->utts_per_speaker < 0 || o->utts_per_speaker > 1000000 ||
	    o->n_long < 0 || o->n_long > 10000 || o->utts_per_long < 0 || o->utts_per_long > 1000 || o->hours < 0 ||
	    o->hours > 10000 || o->jobs < 0 || o->jobs > 256)
		return err_set(ACC_EINVAL, "speaker/utterance/long-recording/job counts out of range");
	if (o->n_long > 0 && (g->layout == L_CV || g->layout == L_LS || g->layout == L_LJ || g->layout == L_FOLDER)) {
		err_set(ACC_EINVAL, "the %s layout cannot hold long recordings", lname);
		err_hint("use --layout kaldi (segments), nemo (offsets) or mms-long");
		return ACC_EINVAL;
	}
	if (o->sample_rate && o->sample_rate != 16000 && o->sample_rate != 22050 && o->sample_rate != 44100 &&
	    o->sample_rate != 48000 && o->sample_rate != 8000 && o->sample_rate != 24000 && o->sample_rate != 32000)
		return err_set(ACC_EINVAL, "unsupported sample rate %d", o->sample_rate);
	if (o->channels < 0 || o->channels > 2)
		return err_set(ACC_EINVAL, "channels must be 1 or 2");
	if (o->format && strcmp(o->format, "wav") && strcmp(o->format, "flac") && strcmp(o->format, "ogg") &&
	    strcmp(o->format, "mp3") && strcmp(o->format, "opus"))
		return err_set(ACC_EINVAL, "unknown format '%s' (wav, flac, ogg, mp3, opus)", o->format);
	if ((g->layout == L_LS && o->format && strcmp(o->format, "flac")) ||
	    (g->layout == L_LJ && o->format && strcmp(o->format, "wav")))
		return err_set(ACC_EINVAL, "the %s layout stores %s files", lname, g->layout == L_LS ? "flac" : "wav");
	if (g->layout == L_LONG && o->utts_per_speaker < 2 && o->hours <= 0)
		return err_set(ACC_EINVAL, "the longform layout needs at least 2 utterances per speaker");
	return 0;
}

/* Every speaker's espeak voice exists. */
static int check_voices(const gen *g)
{
	for (int i = 0; i < g->nspk; i++) {
		char v[128];
		snprintf(v, sizeof v, "%s+%s", g->spk[i].voice, g->spk[i].variant);
		if (!synth_voice_exists(v)) {
			int rc = err_set(ACC_ENOTFOUND, "espeak-ng has no voice '%s'", v);
			err_hint("install espeak-ng-data (make deps)");
			return rc;
		}
	}
	return 0;
}

/* Synthesize the units: rounds over all speakers (with --hours, one round
 * per batch: whole rounds, so the output does not depend on thread
 * timing), then the extra long recordings (kaldi, nemo). */
static int synth_units(gen *g)
{
	const synthcorpus_opts *o = g->o;
	int rounds, per = 1, is_long = g->layout == L_LONG, rc = 0;
	if (is_long) {
		rounds = o->n_long > 0 ? o->n_long : 1;
		per = o->utts_per_speaker / rounds;
		if (per < 2)
			per = 2;
	} else {
		rounds = o->utts_per_speaker;
	}
	job *jobs = calloc((size_t)g->nspk * (size_t)(o->hours > 0 || rounds < 1 ? 1 : rounds) +
				   (size_t)o->n_long * (size_t)g->nlang + 1, sizeof *jobs);
	if (!jobs)
		return err_set(ACC_ENOMEM, "out of memory");
	int nj = 0;
	for (int r = 0; (o->hours > 0 ? !g->hours_reached : r < rounds) && !rc; r++) {
		for (int i = 0; i < g->nspk; i++)
			jobs[nj++] = (job){ &g->spk[i], is_long, r, r * per, per };
		if (o->hours > 0 || r == rounds - 1) {
			rc = run_jobs(g, jobs, nj);
			nj = 0;
		}
	}
	int upl = o->utts_per_long > 0 ? o->utts_per_long : 8;
	nj = 0;
	for (int k = 0; k < o->n_long && !rc && !is_long; k++)
		for (int li = 0; li < g->nlang; li++)
			jobs[nj++] = (job){ &g->spk[li * o->speakers + k % o->speakers], 1, k, 5000 + k * upl, upl };
	if (!rc && nj)
		rc = run_jobs(g, jobs, nj);
	free(jobs);
	return rc;
}

/* The layout's list files, the ground truth, and words.tsv committed. */
static int write_layout(gen *g)
{
	int rc;
	switch (g->layout) {
	case L_CV: rc = write_cv(g); break;
	case L_LS: rc = write_ls(g); break;
	case L_KALDI: rc = write_kaldi(g); break;
	case L_NEMO: rc = write_nemo(g); break;
	case L_LJ: rc = write_lj(g); break;
	default: rc = write_txts(g); break;
	}
	if (!rc)
		rc = write_truth(g);
	if (!rc) {
		FILE *w = g->words;
		g->words = NULL;
		rc = fs_commit_tmp(w, g->words_tmp, g->words_path);
	}
	return rc;
}

static void gen_free(gen *g)
{
	if (g->words)
		fs_abort_tmp(g->words, g->words_tmp);
	for (int li = 0; li < g->nlang; li++) {
		for (int i = 0; i < g->nsent[li]; i++)
			free(g->sent[li][i]);
		free(g->sent[li]);
		free(g->perm[li]);
	}
	records_free(&g->r);
	free(g->spk);
}

int synthcorpus_write(const synthcorpus_opts *o, synthcorpus_stats *st_out)
{
	gen g = { 0 };
	synthcorpus_stats st = { 0 };
	int rc = 0;
	double t0 = now_s();
	g.o = o;
	g.st = &st;
	if ((rc = check_opts(&g, o)) || (rc = parse_langs(&g, o->langs)))
		return rc;
	g.noise_short = o->noise_snr_db >= 0 ? o->noise_snr_db : -1;
	g.noise_long = o->noise_snr_db >= 0 ? o->noise_snr_db : 30;
	if (fs_exists(o->out_dir) && !dir_is_empty(o->out_dir) && !o->force) {
		err_set(ACC_EINVAL, "output directory '%s' is not empty", o->out_dir);
		err_hint("choose a new directory or pass --force to write into it");
		return ACC_EINVAL;
	}
	if ((rc = fs_mkdir_p(o->out_dir)) != 0)
		return rc;
	/* Starts synth's fork server, so this must come before the OpenMP team
	 * exists: the worker threads below never fork themselves (synth.h). */
	if ((rc = synth_init(NULL)) != 0)
		return rc;
	for (int li = 0; li < g.nlang; li++)
		if ((rc = load_sentences(&g, li)) != 0)
			goto out;
	if ((rc = build_speakers(&g)) || (rc = check_voices(&g)))
		goto out;
	if ((rc = make_dirs_for(&g, "_truth/words.tsv")) != 0 ||
	    (rc = fs_join(g.words_path, sizeof g.words_path, o->out_dir, "_truth/words.tsv")) != 0 ||
	    (rc = fs_open_tmp(g.words_path, g.words_tmp, &g.words)) != 0)
		goto out;
	fprintf(g.words, "utt_key\tindex\tword\tstart_s\tend_s\ttimed\n");
	if ((rc = synth_units(&g)))
		goto out;
	if (o->with_bad && (rc = make_bad(&g)))
		goto out;
	rc = write_layout(&g);
out:
	st.files = g.files_done;
	st.speakers = g.nspk;
	st.wall_s = now_s() - t0;
	if (st_out)
		*st_out = st;
	gen_free(&g);
	return rc;
}
