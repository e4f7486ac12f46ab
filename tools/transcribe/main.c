/*
 * tools/transcribe/main.c — the `transcribe` binary: greedy CTC
 * transcription of audio files or of a manifest's utterances with a
 * wav2vec2/MMS model directory.  Argument parsing and output only; the
 * work is in lib/model/w2v_infer.c (windowed emissions + greedy decoding),
 * lib/model/w2v_load.c, lib/model/vocab.c and lib/audio/audio.c.
 *
 * Output: one line per input, "<file or utt_key>\t<text>" on stdout; with a
 * manifest whose utterances have text_norm, a CER/WER summary on stderr.
 * With --words / --format: word and character timestamps and confidences
 * (lib/decode/ctc_words.c for the greedy path; with --lm, the beam hypothesis
 * timed by forced alignment, lib/align/align_file.c) in JSON lines, CTM, SRT or
 * WebVTT (lib/align/align_export.c).
 */
#include <getopt.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "align/align_export.h"
#include "align/align_file.h"
#include "decode/arpa.h"
#include "audio/audio.h"
#include "decode/ctc_beam.h"
#include "decode/ctc_words.h"
#include "base/cliopt.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "manifest/manifest.h"
#include "text/metrics.h"
#include "base/progress.h"
#include "model/vocab.h"
#include "model/w2v.h"
#include "model/w2v_forward.h"
#include "model/w2v_infer.h"
#include "model/w2v_precision.h"

static void usage(FILE *fp)
{
	fprintf(fp,
		"usage: transcribe --model DIR [options] FILE...\n"
		"       transcribe --model DIR --manifest DB [--split S] [--limit N] [options]\n"
		"\n"
		"Greedy CTC transcription (argmax per 20 ms frame, repeats grouped, blank\n"
		"dropped, '|' -> space, like Hugging Face's Wav2Vec2CTCTokenizer.decode).\n"
		"\n"
		"  --model DIR      Hugging Face model directory (config.json, model.safetensors,\n"
		"                   vocab.json)\n"
		"  --lang L         language: vocab.json[L] of a nested MMS vocabulary and\n"
		"                   adapter.L.safetensors when present\n"
		"  --manifest DB    transcribe the manifest's utterances (status 'ok') instead of files\n"
		"  --split S        only utterances of split S (train, dev, test)\n"
		"  --limit N        at most N utterances\n"
		"  --precision P    auto (default), fp32, bf16 or int8: auto picks int8 or bf16\n"
		"                   where this CPU runs them faster (measured), else fp32\n"
		"  --bf16           same as --precision bf16\n"
		"  --window S       seconds of output per window for long audio (default 30)\n"
		"  --context S      seconds of context on each side of a window (default 2)\n"
		"word timestamps:\n"
		"  --words          words and characters with start/end times (s) and\n"
		"                   confidences, one JSON object per input (= --format json)\n"
		"  --format F       json (JSON lines), ctm (NIST CTM: file name without extension\n"
		"                   as id; for --manifest the recording's id and times from its\n"
		"                   start), srt or vtt (one input only; cues of whole words,\n"
		"                   --max-chars N, --max-lines N, --max-duration S as in `align`)\n"
		"                   Greedy path: Hugging Face's output_word_offsets rules;\n"
		"                   confidence = mean probability of the path over the frames.\n"
		"beam search:\n"
		"  --lm ARPA        prefix beam search with this n-gram LM (`train lm`); word\n"
		"                   times are the hypothesis' forced alignment to the emissions\n"
		"  --alpha A        LM weight (default 0.5)\n"
		"  --beta B         word bonus (default 1.0)\n"
		"  --beam N         prefixes kept per frame (default 16)\n"
		"  --help, --version\n");
}

static int usage_error(const char *what, const char *arg)
{
	fprintf(stderr, "error: %s%s%s%s\nhint: see 'transcribe --help'\n", what, arg ? " '" : "",
	        arg ? arg : "", arg ? "'" : "");
	return 2;
}

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
	w2v_infer   *wi;
	const vocab *v;
	double       win, ctx;
	const char  *fmt;            /* NULL: "<key>\t<text>" lines */
	ax_cue_opts  cue;
	ctc_decoder *dec;            /* --lm */
	const char **tokens;         /* [V]: sentence markers NULL */
	int          V, blank;
} tx;

/* Transcribe one input and print it; *text (malloc'ed) for the metrics.
 * rec/offset: where the audio sits in its recording (CTM ids and times). */
static int tx_one(tx *c, const char *key, const char *rec, double offset, const float *x, int64_t n, char **text)
{
	float *lp = NULL;
	int64_t T = 0, nw = 0, nc = 0;
	ax_item *w = NULL, *ch = NULL;
	int rc;
	*text = NULL;
	if (!c->fmt && !c->dec) {
		if ((rc = w2v_transcribe(c->wi, c->v, x, n, c->win, c->ctx, text, NULL)))
			return rc;
		printf("%s\t%s\n", key, *text);
		return 0;
	}
	if ((rc = w2v_infer_long_buf(c->wi, x, n, c->win, c->ctx, &lp, &T)))
		goto out;
	if (c->dec)
		rc = ctc_decoder_decode(c->dec, lp, (int)T, c->V, text, NULL);
	else
		rc = ctc_greedy(lp, (int)T, c->V, c->V, c->tokens, c->blank, vocab_delim_id(c->v), text);
	if (rc)
		goto out;
	if (!c->fmt) {
		printf("%s\t%s\n", key, *text);
		goto out;
	}
	if (c->dec)
		rc = align_text_items(lp, T, c->V, c->blank, c->v, *text, &w, &nw, &ch, &nc);
	else
		rc = ctc_words_greedy(lp, T, c->V, c->v, &w, &nw, &ch, &nc);
	if (rc)
		goto out;
	ax_utt u = { .key = key, .rec = rec, .text = *text, .offset = offset, .duration = (double)n / 16000.0,
		     .words = w, .nwords = nw, .chars = ch, .nchars = nc };
	int64_t idx = 0;
	if (!strcmp(c->fmt, "json")) {
		if (!(rc = align_export_json(stdout, &u)))
			putchar('\n');
	} else if (!strcmp(c->fmt, "ctm")) {
		rc = align_export_ctm(stdout, &u);
	} else {
		int vtt = !strcmp(c->fmt, "vtt");
		if (!(vtt && (rc = align_export_vtt_header(stdout))))
			rc = align_export_cues(stdout, &u, &idx, vtt, &c->cue);
	}
out:
	if (rc && *text) {
		free(*text);
		*text = NULL;
	}
	align_export_items_free(w, nw);
	align_export_items_free(ch, nc);
	free(lp);
	return rc;
}

static int run_files(tx *c, char **files, int nfiles, double *audio_s)
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
		*audio_s += n / 16000.0;
		fflush(stdout);
		free(text);
		free(x);
		progress_add(&pg, 1);
	}
	progress_done(&pg);
	return rc;
}

static int run_manifest(tx *c, const char *db, const char *split, long limit, const char *lang, double *audio_s)
{
	int rc = 0, src;
	manifest *mf = NULL;
	sqlite3_stmt *st = NULL;
	metrics_accum acc;
	int have_ref = 0;
	long count = 0;
	progress pg;
	metrics_accum_init(&acc);
	if ((rc = manifest_open(&mf, db, 0)))
		return rc;
	if ((rc = manifest_prepare(mf,
		"SELECT utt_key, recording_id, start_s, end_s, text_norm, (SELECT path FROM recordings r WHERE r.id = recording_id)"
		" FROM utterances"
		" WHERE status = 'ok' AND (?1 IS NULL OR split = ?1) AND (?2 IS NULL OR lang = ?2 OR lang IS NULL)"
		" ORDER BY id LIMIT ?3", &st)))
		goto out;
	if (split)
		sqlite3_bind_text(st, 1, split, -1, SQLITE_STATIC);
	if (lang)
		sqlite3_bind_text(st, 2, lang, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, limit > 0 ? limit : -1);
	progress_init(&pg, "transcribe", "utt", 0);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		const char *key = (const char *)sqlite3_column_text(st, 0);
		int64_t rec = sqlite3_column_int64(st, 1);
		double t0 = sqlite3_column_double(st, 2), t1 = sqlite3_column_double(st, 3);
		const char *ref = (const char *)sqlite3_column_text(st, 4);
		char path[4096];
		float *x = NULL;
		int64_t n = 0;
		char *text = NULL;
		const char *rpath = (const char *)sqlite3_column_text(st, 5);
		if ((rc = manifest_recording_abspath(mf, rec, path, sizeof path)) ||
		    (rc = audio_read_span(path, t0, t1, &x, &n)) ||
		    (rc = tx_one(c, key ? key : "", rpath ? rpath : key, round(t0 * 16000) / 16000, x, n, &text))) {
			free(x);
			err_wrap(rc, "utterance '%s'", key ? key : "?");
			break;
		}
		*audio_s += n / 16000.0;
		fflush(stdout);
		if (ref && metrics_accum_add(&acc, ref, text) == 0)
			have_ref = 1;
		free(text);
		free(x);
		count++;
		progress_add(&pg, 1);
	}
	progress_done(&pg);
	if (!rc && src != SQLITE_DONE)
		rc = manifest_db_error(mf, "reading utterances");
	if (!rc && count == 0) {
		rc = err_set(ACC_ENOTFOUND, "no utterances%s%s%s%s%s in %s", lang ? " of language '" : "", lang ? lang : "",
		             lang ? "'" : "", split ? " in split " : "", split ? split : "", db);
		manifest_langs_hint(mf, NULL);
	}
	if (!rc && have_ref)
		fprintf(stderr, "transcribe: %ld utterances, CER %.2f%%, WER %.2f%%\n", count,
		        100 * metrics_accum_cer(&acc), 100 * metrics_accum_wer(&acc));
out:
	sqlite3_finalize(st);
	manifest_close(mf);
	return rc;
}

int main(int argc, char **argv)
{
	const char *model = NULL, *lang = NULL, *db = NULL, *split = NULL, *lm_path = NULL;
	double win = 30, ctx = 2, audio_s = 0, d;
	long limit = 0;
	int rc;
	w2v_precision prec = W2V_PREC_AUTO;
	char why[160];
	tx c = { 0 };
	align_export_cue_opts_default(&c.cue);
	ctc_beam_opts bo;
	ctc_beam_defaults(&bo);
	static const struct option opts[] = {
		{ "model", required_argument, 0, 'm' }, { "lang", required_argument, 0, 'l' },
		{ "manifest", required_argument, 0, 'd' }, { "split", required_argument, 0, 's' },
		{ "limit", required_argument, 0, 'n' }, { "bf16", no_argument, 0, 'b' },
		{ "precision", required_argument, 0, 'P' },
		{ "window", required_argument, 0, 'w' }, { "context", required_argument, 0, 'c' },
		{ "words", no_argument, 0, 'W' }, { "format", required_argument, 0, 'f' },
		{ "lm", required_argument, 0, 'L' }, { "alpha", required_argument, 0, 'A' },
		{ "beta", required_argument, 0, 'B' }, { "beam", required_argument, 0, 'K' },
		{ "max-chars", required_argument, 0, 'x' }, { "max-lines", required_argument, 0, 'y' },
		{ "max-duration", required_argument, 0, 'z' },
		{ "help", no_argument, 0, 'h' }, { "version", no_argument, 0, 'V' }, { 0, 0, 0, 0 }
	};
	int o;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'm': model = optarg; break;
		case 'l': lang = optarg; break;
		case 'd': db = optarg; break;
		case 's': split = optarg; break;
		case 'n': limit = atol(optarg); if (limit <= 0) return usage_error("bad --limit", optarg); break;
		case 'b': prec = W2V_PREC_BF16; break;
		case 'P':
			if (w2v_precision_parse(optarg, &prec))
				return usage_error("--precision is auto, fp32, bf16 or int8, not", optarg);
			break;
		case 'w': if (parse_double(optarg, 0.1, &win)) return usage_error("bad --window", optarg); break;
		case 'c': if (parse_double(optarg, 0, &ctx)) return usage_error("bad --context", optarg); break;
		case 'W': c.fmt = "json"; break;
		case 'f':
			if (strcmp(optarg, "json") && strcmp(optarg, "ctm") && strcmp(optarg, "srt") && strcmp(optarg, "vtt"))
				return usage_error("--format is json, ctm, srt or vtt, not", optarg);
			c.fmt = optarg;
			break;
		case 'L': lm_path = optarg; break;
		case 'A': if (cliopt_number(optarg, &d)) return usage_error("bad --alpha", optarg); bo.alpha = (float)d; break;
		case 'B': if (cliopt_number(optarg, &d)) return usage_error("bad --beta", optarg); bo.beta = (float)d; break;
		case 'K': if (parse_double(optarg, 1, &d)) return usage_error("bad --beam", optarg); bo.beam = (int)d; break;
		case 'x': if (parse_double(optarg, 1, &d)) return usage_error("bad --max-chars", optarg); c.cue.max_chars = (int)d; break;
		case 'y': if (parse_double(optarg, 1, &d)) return usage_error("bad --max-lines", optarg); c.cue.max_lines = (int)d; break;
		case 'z': if (parse_double(optarg, 0.1, &c.cue.max_duration)) return usage_error("bad --max-duration", optarg); break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("transcribe (accent) %s\n", ACCENT_VERSION); return 0;
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

	w2v_model *m = NULL;
	vocab *v = NULL;
	w2v_infer *wi = NULL;
	arpa *lm = NULL;
	char vpath[4096];
	double t0 = progress_now();
	prec = w2v_precision_resolve(prec, why, sizeof why);
	fprintf(stderr, "precision: %s (%s)\n", w2v_precision_name(prec), why);
	/* bf16/int8: each weight packed as it is read, its fp32 copy released */
	if ((rc = w2v_infer_load(&wi, &m, model, lang, w2v_precision_flags(prec), 1)) ||
	    (rc = fs_join(vpath, sizeof vpath, model, "vocab.json")) ||
	    (rc = vocab_load(&v, vpath, lang)))
		goto out;
	c.wi = wi;
	c.v = v;
	c.win = win;
	c.ctx = ctx;
	c.V = vocab_size(v);
	c.blank = vocab_pad_id(v);
	if (c.V != m->cfg.vocab_size) {
		rc = err_set(ACC_EINVAL, "the vocabulary has %d tokens but the model emits %d", c.V, m->cfg.vocab_size);
		goto out;
	}
	if (!(c.tokens = calloc((size_t)c.V, sizeof *c.tokens))) {
		rc = err_set(ACC_ENOMEM, "out of memory");
		goto out;
	}
	for (int i = 0; i < c.V; i++) {
		const char *t = vocab_token(v, i);
		/* sentence markers are never part of a transcript */
		c.tokens[i] = t && (!strcmp(t, "<s>") || !strcmp(t, "</s>")) ? NULL : t;
	}
	if (lm_path && ((rc = arpa_load(&lm, lm_path)) ||
			(rc = ctc_decoder_new(&c.dec, c.tokens, c.V, c.blank, vocab_delim_id(v), lm, &bo))))
		goto out;
	if (db)
		rc = run_manifest(&c, db, split, limit, lang, &audio_s);
	else
		rc = run_files(&c, argv + optind, argc - optind, &audio_s);
	if (!rc) {
		double dt = progress_now() - t0;
		fprintf(stderr, "transcribe: %.1f s of audio in %.1f s (%.2f audio s per s, %s%s)\n", audio_s, dt,
		        dt > 0 ? audio_s / dt : 0.0, w2v_precision_name(prec), lm ? ", beam search" : "");
	}
out:
	if (rc)
		err_print();
	ctc_decoder_free(c.dec);
	arpa_free(lm);
	free(c.tokens);
	w2v_infer_free(wi);
	vocab_free(v);
	w2v_free(m);
	return rc ? err_exit_code(rc) : 0;
}
