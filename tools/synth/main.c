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
#include <getopt.h>
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

static void usage(FILE *f)
{
	fprintf(f,
		"usage: synth --out DIR [options]\n"
		"\n"
		"Synthesize a speech corpus with espeak-ng voices (speakers = voice variants x\n"
		"rates x pitches, deterministic from --seed) in one of prep's layouts, with the\n"
		"ground truth (utterances, word timings, speakers, files) in DIR/_truth/.\n"
		"\n"
		"corpus:\n"
		"  --out DIR              output directory (created; must be empty unless --force)\n"
		"  --layout NAME          cv|commonvoice, librispeech, kaldi, nemo, ljspeech,\n"
		"                         folder, mms-long|longform (default: folder)\n"
		"  --langs LIST           comma-separated ISO 639-3 codes (default: eng,amh)\n"
		"  --speakers N           speakers per language (default: 4)\n"
		"  --utts-per-speaker N   utterances per speaker (default: 5)\n"
		"  --long N               kaldi/nemo: N long recordings per language (segments /\n"
		"                         offsets); mms-long: N sessions per speaker (default 1)\n"
		"  --utts-per-long N      utterances joined in one extra long recording (default 8)\n"
		"  --noise-snr DB         background noise at this SNR in every file (default:\n"
		"                         clean short files, 30 dB in long recordings)\n"
		"  --hours H              keep adding utterances until H hours of audio\n"
		"  --with-bad             add broken items (corrupt file, empty transcript, missing\n"
		"                         file, duplicate audio) listed in _truth/bad.tsv\n"
		"  --seed S               random seed (default: 1); same seed, same bytes\n"
		"audio:\n"
		"  --format F             wav, flac, ogg, mp3, opus (default: per layout)\n"
		"  --rate HZ              16000, 22050, 44100, 48000 (default: per layout)\n"
		"  --channels N           1 or 2 (default: 1)\n"
		"  --mix-formats          vary container, rate and channels per file\n"
		"other:\n"
		"  --text-dir DIR         sentence files <lang>.txt (default: ./data/text, else next to\n"
		"                         this binary: ../data/text or ../share/accent/text, else\n"
		"                         " ACCENT_SHARE_TEXT ")\n"
		"  --force                write into a non-empty directory\n"
		"  --jobs N               worker threads (default: all cores; output is the same)\n"
		"  -q, --quiet            no summary\n"
		"  --help, --version\n"
		"\n"
		"example:\n"
		"  synth --out /tmp/corpus --layout kaldi --langs eng,amh --speakers 8 \\\n"
		"        --utts-per-speaker 20 --long 2 --seed 7\n");
}

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

int main(int argc, char **argv)
{
	enum { O_OUT = 256, O_LAYOUT, O_LANGS, O_SPK, O_UTT, O_LONG, O_UPL, O_SNR, O_HOURS, O_BAD, O_SEED, O_FMT,
	       O_RATE, O_CH, O_MIX, O_TEXT, O_FORCE, O_JOBS, O_HELP, O_VERSION };
	static const struct option opts[] = {
		{ "out", 1, 0, O_OUT }, { "layout", 1, 0, O_LAYOUT }, { "langs", 1, 0, O_LANGS },
		{ "speakers", 1, 0, O_SPK }, { "utts-per-speaker", 1, 0, O_UTT }, { "long", 1, 0, O_LONG },
		{ "utts-per-long", 1, 0, O_UPL }, { "noise-snr", 1, 0, O_SNR }, { "hours", 1, 0, O_HOURS },
		{ "with-bad", 0, 0, O_BAD }, { "seed", 1, 0, O_SEED }, { "format", 1, 0, O_FMT },
		{ "rate", 1, 0, O_RATE }, { "channels", 1, 0, O_CH }, { "mix-formats", 0, 0, O_MIX },
		{ "text-dir", 1, 0, O_TEXT }, { "force", 0, 0, O_FORCE }, { "jobs", 1, 0, O_JOBS }, { "quiet", 0, 0, 'q' },
		{ "help", 0, 0, O_HELP }, { "version", 0, 0, O_VERSION }, { 0, 0, 0, 0 }
	};
	synthcorpus_opts o;
	synthcorpus_stats st;
	progress pg;
	int c, rc = 0, quiet = 0;
	synthcorpus_opts_init(&o);
	while ((c = getopt_long(argc, argv, "q", opts, NULL)) != -1) {
		switch (c) {
		case O_OUT: o.out_dir = optarg; break;
		case O_LAYOUT: o.layout = optarg; break;
		case O_LANGS: o.langs = optarg; break;
		case O_SPK: rc = parse_int(optarg, &o.speakers); break;
		case O_UTT: rc = parse_int(optarg, &o.utts_per_speaker); break;
		case O_LONG: rc = parse_int(optarg, &o.n_long); break;
		case O_UPL: rc = parse_int(optarg, &o.utts_per_long); break;
		case O_SNR: rc = parse_double(optarg, &o.noise_snr_db); break;
		case O_HOURS: rc = parse_double(optarg, &o.hours); break;
		case O_BAD: o.with_bad = 1; break;
		case O_SEED: {
			char *e;
			o.seed = strtoull(optarg, &e, 10);
			if (!*optarg || *e)
				rc = err_set(ACC_EINVAL, "not a seed: '%s'", optarg);
			break;
		}
		case O_FMT: o.format = optarg; break;
		case O_RATE: rc = parse_int(optarg, &o.sample_rate); break;
		case O_CH: rc = parse_int(optarg, &o.channels); break;
		case O_MIX: o.mix_formats = 1; break;
		case O_TEXT: o.text_dir = optarg; break;
		case O_FORCE: o.force = 1; break;
		case O_JOBS: rc = parse_int(optarg, &o.jobs); break;
		case 'q': quiet = 1; break;
		case O_HELP: usage(stdout); return 0;
		case O_VERSION: printf("synth (accent) %s\n", ACCENT_VERSION); return 0;
		default: usage(stderr); return 2;
		}
		if (rc) {
			err_print();
			return err_exit_code(rc);
		}
	}
	if (optind < argc) {
		err_set(ACC_EINVAL, "unexpected argument '%s'", argv[optind]);
		err_print();
		return 2;
	}
	if (!o.out_dir) {
		err_set(ACC_EINVAL, "--out DIR is required");
		err_hint("synth --out /tmp/corpus --layout folder");
		err_print();
		return 2;
	}
	/* Sentence files: ./data/text, next to the binary (source tree or
	 * installed prefix), else the build's install location. */
	char text_dir[4096];
	if (!o.text_dir) {
		if ((rc = synthcorpus_text_dir(ACCENT_SHARE_TEXT, text_dir, sizeof text_dir))) {
			err_print();
			return err_exit_code(rc);
		}
		o.text_dir = text_dir;
	}
	if (o.hours > 0)
		progress_init(&pg, "synth", "s audio", (int64_t)(o.hours * 3600));
	else {
		/* files to write: rounds x speakers x languages, plus extra long recordings */
		int64_t nl = 1, total;
		const char *lay = synthcorpus_layout(o.layout);
		int is_long = lay && !strcmp(lay, "longform");
		for (const char *p = o.langs; p && *p; p++)
			nl += *p == ',';
		total = nl * o.speakers * (int64_t)(is_long ? (o.n_long > 0 ? o.n_long : 1) : o.utts_per_speaker);
		if (!is_long)
			total += nl * o.n_long;
		progress_init(&pg, "synth", "files", total > 0 ? total : 0);
	}
	o.progress = on_progress;
	o.progress_ctx = &pg;
	rc = synthcorpus_write(&o, &st);
	progress_done(&pg);
	if (rc) {
		err_print();
		return err_exit_code(rc);
	}
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
