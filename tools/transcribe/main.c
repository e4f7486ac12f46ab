/*
 * tools/transcribe/main.c — the `transcribe` binary: greedy CTC
 * transcription of audio files or of a manifest's utterances with a
 * wav2vec2/MMS model directory.  Argument parsing (one option table,
 * base/cliopt.h) and output only; the work is in lib/decode/transcribe.c
 * (model, emissions, greedy or beam decoding, word times, output formats,
 * the manifest's utterances) and lib/audio/audio.c.
 *
 * Output: one line per input, "<file or utt_key>\t<text>" on stdout; with a
 * manifest whose utterances have text_norm, a CER/WER summary on stderr.
 * With --words / --format: word and character timestamps and confidences
 * (lib/decode/ctc_words.c for the greedy path; with --lm, the beam hypothesis
 * timed by forced alignment, lib/align/align_file.c) in JSON lines, CTM, SRT or
 * WebVTT (lib/align/align_export.c).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/audio.h"
#include "base/cliopt.h"
#include "base/err.h"
#include "base/progress.h"
#include "decode/transcribe.h"
#include "manifest/manifest.h"
#include "text/metrics.h"

enum { O_MODEL = 256, O_LANG, O_MANIFEST, O_SPLIT, O_LIMIT, O_BF16, O_PREC, O_WINDOW, O_CONTEXT, O_WORDS, O_FORMAT,
       O_LM, O_ALPHA, O_BETA, O_BEAM, O_MAX_CHARS, O_MAX_LINES, O_MAX_DURATION };

static const cliopt opts[] = {
	{ "model", 0, "DIR", O_MODEL, "Hugging Face model directory (config.json, model.safetensors,\nvocab.json)" },
	{ "lang", 0, "L", O_LANG, "language: vocab.json[L] of a nested MMS vocabulary and\n"
	  "adapter.L.safetensors when present" },
	{ "manifest", 0, "DB", O_MANIFEST, "transcribe the manifest's utterances (status 'ok') instead of files" },
	{ "split", 0, "S", O_SPLIT, "only utterances of split S (train, dev, test)" },
	CLIOPT_LIMIT(O_LIMIT),
	CLIOPT_PRECISION(O_PREC, O_BF16, ""),
	{ "window", 0, "S", O_WINDOW, "seconds of output per window for long audio (default 30)" },
	{ "context", 0, "S", O_CONTEXT, "seconds of context on each side of a window (default 2)" },
	{ "words", 0, NULL, O_WORDS, "word timestamps: words and characters with start/end times (s)\n"
	  "and confidences, one JSON object per input (= --format json)" },
	{ "format", 0, "F", O_FORMAT, "json (JSON lines), ctm (NIST CTM: file name without extension\n"
	  "as id; for --manifest the recording's id and times from its\n"
	  "start), srt or vtt (one input only; cues of whole words,\n"
	  "--max-chars N, --max-lines N, --max-duration S as in `align`)\n"
	  "Greedy path: Hugging Face's output_word_offsets rules;\n"
	  "confidence = mean probability of the path over the frames." },
	CLIOPT_CUE_ROWS(O_MAX_CHARS, O_MAX_LINES, O_MAX_DURATION),
	{ "lm", 0, "ARPA", O_LM, "beam search: prefix beam search with this n-gram LM (`train lm`);\n"
	  "word times are the hypothesis' forced alignment to the emissions" },
	CLIOPT_ALPHA(O_ALPHA),
	{ "beta", 0, "B", O_BETA, "word bonus (default 1.0)" },
	{ "beam", 0, "N", O_BEAM, "prefixes kept per frame (default 16)" },
	CLIOPT_HELP_ROWS,
	{ 0 },
};

static void usage(FILE *fp)
{
	cliopt_usage(fp,
		"usage: transcribe --model DIR [options] FILE...\n"
		"       transcribe --model DIR --manifest DB [--split S] [--limit N] [options]\n"
		"\n"
		"Greedy CTC transcription (argmax per 20 ms frame, repeats grouped, blank\n"
		"dropped, '|' -> space, like Hugging Face's Wav2Vec2CTCTokenizer.decode).\n"
		"\n", opts, NULL);
}

/* A usage error: "error: what 'arg'" and the hint to --help; exit status 2. */
static int usage_error(const char *what, const char *arg)
{
	return cliopt_bad_arg("transcribe", what, arg);
}

/* A number >= lo (and <= 1e6) into *out: 0, or -1 leaving *out alone. */
static int parse_double(const char *s, double lo, double *out)
{
	double v;
	if (cliopt_number(s, &v) || v < lo || v > 1e6)
		return -1;
	*out = v;
	return 0;
}

/* What every input goes through. */
typedef struct tx {
	transcriber t;
	const char *fmt;            /* NULL: "<key>\t<text>" lines */
	ax_cue_opts cue;
	double      audio_s;
} tx;

/* Transcribe one input and print it; *text (malloc'ed) for the metrics.
 * rec/offset: where the audio sits in its recording (CTM ids and times). */
static int tx_one(tx *c, const char *key, const char *rec, double offset, const float *x, int64_t n, char **text)
{
	transcript r;
	int rc;
	*text = NULL;
	if ((rc = transcriber_run(&c->t, x, n, c->fmt != NULL, &r)))
		return rc;
	if (!c->fmt) {
		printf("%s\t%s\n", key, r.text);
	} else {
		ax_utt u = { .key = key, .rec = rec, .text = r.text, .offset = offset, .duration = (double)n / AUDIO_RATE,
			     .words = r.words, .nwords = r.nw, .chars = r.chars, .nchars = r.nc };
		rc = transcript_write(stdout, c->fmt, &u, &c->cue);
	}
	c->audio_s += (double)n / AUDIO_RATE;
	fflush(stdout);
	if (!rc) {
		*text = r.text;
		r.text = NULL;
	}
	transcript_free(&r);
	return rc;
}

static int run_files(tx *c, char **files, int nfiles)
{
	int rc = 0;
	progress pg;
	progress_init(&pg, "transcribe", "files", nfiles);
	for (int i = 0; i < nfiles; i++) {
		float *x = NULL;
		int64_t n = 0;
		char *text = NULL;
		const char *base = strrchr(files[i], '/');
		if ((rc = audio_decode(files[i], &x, &n, NULL, NULL)) ||
		    (rc = tx_one(c, files[i], base ? base + 1 : files[i], 0, x, n, &text))) {
			free(x);
			err_wrap(rc, "%s", files[i]);
			break;
		}
		free(text);
		free(x);
		progress_add(&pg, 1);
	}
	progress_done(&pg);
	return rc;
}

static int run_manifest(tx *c, const char *db, const char *split, long limit, const char *lang)
{
	manifest *mf = NULL;
	transcribe_utt *u = NULL;
	int64_t nu = 0, count = 0;
	metrics_accum acc;
	int have_ref = 0, rc;
	progress pg;
	metrics_accum_init(&acc);
	if ((rc = manifest_open(&mf, db, 0)) || (rc = transcribe_utts(mf, split, lang, limit, &u, &nu)))
		goto out;
	progress_init(&pg, "transcribe", "utt", 0);
	for (int64_t i = 0; i < nu; i++) {
		float *x = NULL;
		int64_t n = 0;
		char *text = NULL;
		if ((rc = audio_read_span(u[i].path, u[i].start, u[i].end, &x, &n)) ||
		    (rc = tx_one(c, u[i].key, u[i].rec, round(u[i].start * AUDIO_RATE) / AUDIO_RATE, x, n, &text))) {
			free(x);
			err_wrap(rc, "utterance '%s'", u[i].key);
			break;
		}
		if (u[i].ref && metrics_accum_add(&acc, u[i].ref, text) == 0)
			have_ref = 1;
		free(text);
		free(x);
		count++;
		progress_add(&pg, 1);
	}
	progress_done(&pg);
	if (!rc && count == 0) {
		rc = err_set(ACC_ENOTFOUND, "no utterances%s%s%s%s%s in %s", lang ? " of language '" : "", lang ? lang : "",
		             lang ? "'" : "", split ? " in split " : "", split ? split : "", db);
		manifest_langs_hint(mf, NULL);
	}
	if (!rc && have_ref)
		fprintf(stderr, "transcribe: %lld utterances, CER %.2f%%, WER %.2f%%\n", (long long)count,
		        100 * metrics_accum_cer(&acc), 100 * metrics_accum_wer(&acc));
out:
	transcribe_utts_free(u, nu);
	manifest_close(mf);
	return rc;
}

int main(int argc, char **argv)
{
	const char *model = NULL, *lang = NULL, *db = NULL, *split = NULL, *lm_path = NULL, *arg;
	double win = 30, ctx = 2, d;
	long long limit = 0;
	int rc, o;
	w2v_precision prec = W2V_PREC_AUTO;
	tx c = { 0 };
	align_export_cue_opts_default(&c.cue);
	ctc_beam_opts bo;
	ctc_beam_defaults(&bo);
	while ((o = cliopt_next(argc, argv, opts, &arg)) != -1) {
		switch (o) {
		case O_MODEL: model = arg; break;
		case O_LANG: lang = arg; break;
		case O_MANIFEST: db = arg; break;
		case O_SPLIT: split = arg; break;
		case O_LIMIT: if (cliopt_integer(arg, &limit) || limit <= 0) return usage_error("bad --limit", arg); break;
		case O_BF16: prec = W2V_PREC_BF16; break;
		case O_PREC:
			if (w2v_precision_parse(arg, &prec))
				return usage_error("--precision is auto, fp32, bf16 or int8, not", arg);
			break;
		case O_WINDOW: if (parse_double(arg, 0.1, &win)) return usage_error("bad --window", arg); break;
		case O_CONTEXT: if (parse_double(arg, 0, &ctx)) return usage_error("bad --context", arg); break;
		case O_WORDS: c.fmt = "json"; break;
		case O_FORMAT:
			if (strcmp(arg, "json") && strcmp(arg, "ctm") && strcmp(arg, "srt") && strcmp(arg, "vtt"))
				return usage_error("--format is json, ctm, srt or vtt, not", arg);
			c.fmt = arg;
			break;
		case O_LM: lm_path = arg; break;
		case O_ALPHA: if (cliopt_number(arg, &d)) return usage_error("bad --alpha", arg); bo.alpha = (float)d; break;
		case O_BETA: if (cliopt_number(arg, &d)) return usage_error("bad --beta", arg); bo.beta = (float)d; break;
		case O_BEAM: if (parse_double(arg, 1, &d)) return usage_error("bad --beam", arg); bo.beam = (int)d; break;
		case O_MAX_CHARS: if (parse_double(arg, 1, &d)) return usage_error("bad --max-chars", arg); c.cue.max_chars = (int)d; break;
		case O_MAX_LINES: if (parse_double(arg, 1, &d)) return usage_error("bad --max-lines", arg); c.cue.max_lines = (int)d; break;
		case O_MAX_DURATION: if (parse_double(arg, 0.1, &c.cue.max_duration)) return usage_error("bad --max-duration", arg); break;
		case 'h': usage(stdout); return 0;
		case CLIOPT_VERSION: printf("transcribe (accent) %s\n", ACCENT_VERSION); return 0;
		default: return usage_error("unknown option", NULL);
		}
	}
	if (!model)
		return usage_error("--model DIR is required", NULL);
	if (!db && optind >= argc)
		return usage_error("no input: give audio files or --manifest DB", NULL);
	if (db && optind < argc)
		return usage_error("give either audio files or --manifest, not both", NULL);
	if (c.fmt && (!strcmp(c.fmt, "srt") || !strcmp(c.fmt, "vtt")) && (db || argc - optind != 1))
		return usage_error("subtitles (--format srt|vtt) are made for one audio file", NULL);

	double t0 = progress_now();
	char why[160];
	prec = w2v_precision_resolve(prec, why, sizeof why);
	fprintf(stderr, "precision: %s (%s)\n", w2v_precision_name(prec), why);
	if ((rc = transcriber_open(&c.t, model, lang, prec, win, ctx, lm_path, &bo)))
		goto out;
	if (db)
		rc = run_manifest(&c, db, split, (long)limit, lang);
	else
		rc = run_files(&c, argv + optind, argc - optind);
	if (!rc) {
		double dt = progress_now() - t0;
		fprintf(stderr, "transcribe: %.1f s of audio in %.1f s (%.2f audio s per s, %s%s)\n", c.audio_s, dt,
		        dt > 0 ? c.audio_s / dt : 0.0, w2v_precision_name(c.t.precision), c.t.lm ? ", beam search" : "");
	}
out:
	if (rc)
		err_print();
	transcriber_close(&c.t);
	return rc ? err_exit_code(rc) : 0;
}
