/*
 * synth — write a synthetic multi-speaker, multi-language speech corpus
 * (espeak-ng) in one of the layouts prep ingests, with ground-truth word
 * timings in <out>/_truth/.  Thin: parses arguments, calls
 * lib/synth/synthcorpus.c, draws the progress bar and prints the summary.
 */
#include "base/cliopt.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "base/progress.h"
#include "synth/synthcorpus.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef ACCENT_VERSION
#define ACCENT_VERSION "dev"
#endif
/* Where `make install` puts data/text (mk/synth.mk sets it from PREFIX). */
#ifndef ACCENT_SHARE_TEXT
#define ACCENT_SHARE_TEXT "/usr/local/share/accent/text"
#endif

enum { O_OUT = 256, O_LAYOUT, O_LANGS, O_SPK, O_UTT, O_LONG, O_UPL, O_SNR, O_HOURS, O_BAD, O_SEED, O_FMT, O_RATE,
       O_CH, O_MIX, O_TEXT, O_FORCE, O_JOBS };

static const cliopt opts[] = {
	{ "out", 0, "DIR", O_OUT, "output directory (created; must be empty unless --force)" },
	{ "layout", 0, "NAME", O_LAYOUT,
	  "cv|commonvoice, librispeech, kaldi, nemo, ljspeech,\nfolder, mms-long|longform (default: folder)" },
	{ "langs", 0, "LIST", O_LANGS, "comma-separated ISO 639-3 codes (default: eng,amh)" },
	{ "speakers", 0, "N", O_SPK, "speakers per language (default: 4)" },
	{ "utts-per-speaker", 0, "N", O_UTT, "utterances per speaker (default: 5)" },
	{ "long", 0, "N", O_LONG,
	  "kaldi/nemo: N long recordings per language (segments /\noffsets); mms-long: N sessions per speaker "
	  "(default 1)" },
	{ "utts-per-long", 0, "N", O_UPL, "utterances joined in one extra long recording (default 8)" },
	{ "noise-snr", 0, "DB", O_SNR,
	  "background noise at this SNR in every file (default:\nclean short files, 30 dB in long recordings)" },
	{ "hours", 0, "H", O_HOURS, "keep adding utterances until H hours of audio" },
	{ "with-bad", 0, NULL, O_BAD,
	  "add broken items (corrupt file, empty transcript, missing\nfile, duplicate audio) listed in _truth/bad.tsv" },
	{ "seed", 0, "S", O_SEED, "random seed (default: 1); same seed, same bytes" },
	{ "format", 0, "F", O_FMT, "audio: wav, flac, ogg, mp3, opus (default: per layout)" },
	{ "rate", 0, "HZ", O_RATE, "16000, 22050, 44100, 48000 (default: per layout)" },
	{ "channels", 0, "N", O_CH, "1 or 2 (default: 1)" },
	{ "mix-formats", 0, NULL, O_MIX, "vary container, rate and channels per file" },
	{ "text-dir", 0, "DIR", O_TEXT,
	  "sentence files <lang>.txt (default: ./data/text, else next to\nthis binary: ../data/text or "
	  "../share/accent/text, else\n" ACCENT_SHARE_TEXT ")" },
	{ "force", 0, NULL, O_FORCE, "write into a non-empty directory" },
	{ "jobs", 0, "N", O_JOBS, "worker threads (default: all cores; output is the same)" },
	{ "quiet", 'q', NULL, 'q', "no summary" },
	CLIOPT_HELP_ROWS,
	{ 0 },
};

static const char usage_head[] =
	"usage: synth --out DIR [options]\n"
	"\n"
	"Synthesize a speech corpus with espeak-ng voices (speakers = voice variants x\n"
	"rates x pitches, deterministic from --seed) in one of prep's layouts, with the\n"
	"ground truth (utterances, word timings, speakers, files) in DIR/_truth/.\n"
	"\n";

static const char usage_tail[] =
	"\n"
	"example:\n"
	"  synth --out /tmp/corpus --layout kaldi --langs eng,amh --speakers 8 \\\n"
	"        --utts-per-speaker 20 --long 2 --seed 7\n";

static void on_progress(void *ctx, int64_t files, double audio_s)
{
	progress *p = ctx;
	char buf[64];
	snprintf(buf, sizeof buf, "%.1f min audio", audio_s / 60);
	progress_status(p, buf);
	if (p->total > 0 && p->unit && !strcmp(p->unit, "s audio"))
		progress_add(p, (int64_t)audio_s - p->done);
	else
		progress_add(p, files - p->done);
}

static int parse_int(const char *s, int *v)
{
	long long x;
	if (cliopt_integer(s, &x) || x < -1000000000LL || x > 1000000000LL)
		return err_set(ACC_EINVAL, "not an integer: '%s'", s);
	*v = (int)x;
	return 0;
}

static int parse_double(const char *s, double *v)
{
	return cliopt_number(s, v) ? err_set(ACC_EINVAL, "not a number: '%s'", s) : 0;
}

static int parse_seed(const char *s, uint64_t *v)
{
	char *e;
	*v = strtoull(s, &e, 10);
	return !*s || *e ? err_set(ACC_EINVAL, "not a seed: '%s'", s) : 0;
}

/* One option into o (*quiet for -q): 0 or an ACC_E* code with the message set. */
static int take(synthcorpus_opts *o, int *quiet, int id, const char *arg)
{
	switch (id) {
	case O_OUT: o->out_dir = arg; break;
	case O_LAYOUT: o->layout = arg; break;
	case O_LANGS: o->langs = arg; break;
	case O_SPK: return parse_int(arg, &o->speakers);
	case O_UTT: return parse_int(arg, &o->utts_per_speaker);
	case O_LONG: return parse_int(arg, &o->n_long);
	case O_UPL: return parse_int(arg, &o->utts_per_long);
	case O_SNR: return parse_double(arg, &o->noise_snr_db);
	case O_HOURS: return parse_double(arg, &o->hours);
	case O_BAD: o->with_bad = 1; break;
	case O_SEED: return parse_seed(arg, &o->seed);
	case O_FMT: o->format = arg; break;
	case O_RATE: return parse_int(arg, &o->sample_rate);
	case O_CH: return parse_int(arg, &o->channels);
	case O_MIX: o->mix_formats = 1; break;
	case O_TEXT: o->text_dir = arg; break;
	case O_FORCE: o->force = 1; break;
	case O_JOBS: return parse_int(arg, &o->jobs);
	case 'q': *quiet = 1; break;
	}
	return 0;
}

/* The files the progress bar counts to: rounds x speakers x languages,
 * plus the extra long recordings. */
static int64_t files_to_write(const synthcorpus_opts *o)
{
	int64_t nl = 1, total;
	const char *lay = synthcorpus_layout(o->layout);
	int is_long = lay && !strcmp(lay, "longform");
	for (const char *p = o->langs; p && *p; p++)
		nl += *p == ',';
	total = nl * o->speakers * (int64_t)(is_long ? (o->n_long > 0 ? o->n_long : 1) : o->utts_per_speaker);
	if (!is_long)
		total += nl * o->n_long;
	return total > 0 ? total : 0;
}

int main(int argc, char **argv)
{
	synthcorpus_opts o;
	synthcorpus_stats st;
	progress pg;
	const char *arg;
	int c, rc = 0, quiet = 0;
	synthcorpus_opts_init(&o);
	while ((c = cliopt_next(argc, argv, opts, &arg)) != -1) {
		switch (c) {
		case 'h': cliopt_usage(stdout, usage_head, opts, usage_tail); return 0;
		case CLIOPT_VERSION: printf("synth (accent) %s\n", ACCENT_VERSION); return 0;
		case '?': cliopt_usage(stderr, usage_head, opts, usage_tail); return 2;
		}
		if ((rc = take(&o, &quiet, c, arg)))
			return cliopt_fail(rc);
	}
	if (optind < argc)
		return cliopt_usage_error("synth", "unexpected argument '%s'", argv[optind]);
	if (!o.out_dir) {
		err_set(ACC_EINVAL, "--out DIR is required");
		err_hint("synth --out /tmp/corpus --layout folder");
		return cliopt_fail(ACC_EINVAL);
	}
	/* Sentence files: ./data/text, next to the binary (source tree or
	 * installed prefix), else the build's install location. */
	char text_dir[4096];
	if (!o.text_dir) {
		if ((rc = synthcorpus_text_dir(ACCENT_SHARE_TEXT, text_dir, sizeof text_dir)))
			return cliopt_fail(rc);
		o.text_dir = text_dir;
	}
	if (o.hours > 0)
		progress_init(&pg, "synth", "s audio", (int64_t)(o.hours * 3600));
	else
		progress_init(&pg, "synth", "files", files_to_write(&o));
	o.progress = on_progress;
	o.progress_ctx = &pg;
	rc = synthcorpus_write(&o, &st);
	progress_done(&pg);
	if (rc)
		return cliopt_fail(rc);
	if (!quiet)
		printf("synth: %s layout in %s: %lld speakers, %lld utterances (%lld long recordings), %lld files, "
		       "%lld words timed, %lld bad items\n"
		       "synth: %.1f min of audio in %.1f s wall (%.0fx real time); espeak-ng %.1f s over all threads (%.0fx)\n",
		       synthcorpus_layout(o.layout), o.out_dir, (long long)st.speakers, (long long)st.utterances,
		       (long long)st.long_recordings, (long long)st.files, (long long)st.words, (long long)st.bad_items,
		       st.audio_s / 60, st.wall_s, st.wall_s > 0 ? st.audio_s / st.wall_s : 0, st.synth_wall_s,
		       st.synth_wall_s > 0 ? st.audio_s / st.synth_wall_s : 0);
	return 0;
}
