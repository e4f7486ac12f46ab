/*
 * tools/transcribe/main.c — the `transcribe` binary: greedy CTC
 * transcription of audio files or of a manifest's utterances with a
 * wav2vec2/MMS model directory.  Argument parsing and output only; the
 * work is in lib/w2v_infer.c (windowed emissions + greedy decoding),
 * lib/w2v_load.c, lib/vocab.c and lib/audio.c.
 *
 * Output: one line per input, "<file or utt_key>\t<text>" on stdout; with a
 * manifest whose utterances have text_norm, a CER/WER summary on stderr.
 */
#include <getopt.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio.h"
#include "cliopt.h"
#include "err.h"
#include "fsutil.h"
#include "manifest.h"
#include "metrics.h"
#include "progress.h"
#include "vocab.h"
#include "w2v.h"
#include "w2v_forward.h"
#include "w2v_infer.h"

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
		"  --bf16           bf16 matmuls (faster on CPUs with AVX512_BF16; slightly different)\n"
		"  --window S       seconds of output per window for long audio (default 30)\n"
		"  --context S      seconds of context on each side of a window (default 2)\n"
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

static int run_files(w2v_infer *wi, const vocab *v, char **files, int nfiles, double win, double ctx,
                     double *audio_s)
{
	int rc = 0;
	progress pg;
	progress_init(&pg, "transcribe", "files", nfiles);
	for (int i = 0; i < nfiles; i++) {
		float *x = NULL;
		int64_t n = 0;
		char *text = NULL;
		if ((rc = audio_decode(files[i], &x, &n, NULL, NULL)) ||
		    (rc = w2v_transcribe(wi, v, x, n, win, ctx, &text, NULL))) {
			free(x);
			err_wrap(rc, "%s", files[i]);
			break;
		}
		*audio_s += n / 16000.0;
		printf("%s\t%s\n", files[i], text);
		fflush(stdout);
		free(text);
		free(x);
		progress_add(&pg, 1);
	}
	progress_done(&pg);
	return rc;
}

static int run_manifest(w2v_infer *wi, const vocab *v, const char *db, const char *split, long limit,
                        const char *lang, double win, double ctx, double *audio_s)
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
		"SELECT utt_key, recording_id, start_s, end_s, text_norm FROM utterances"
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
		if ((rc = manifest_recording_abspath(mf, rec, path, sizeof path)) ||
		    (rc = audio_read_span(path, t0, t1, &x, &n)) ||
		    (rc = w2v_transcribe(wi, v, x, n, win, ctx, &text, NULL))) {
			free(x);
			err_wrap(rc, "utterance '%s'", key ? key : "?");
			break;
		}
		*audio_s += n / 16000.0;
		printf("%s\t%s\n", key ? key : "", text);
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
	const char *model = NULL, *lang = NULL, *db = NULL, *split = NULL;
	double win = 30, ctx = 2, audio_s = 0;
	long limit = 0;
	int bf16 = 0, rc;
	static const struct option opts[] = {
		{ "model", required_argument, 0, 'm' }, { "lang", required_argument, 0, 'l' },
		{ "manifest", required_argument, 0, 'd' }, { "split", required_argument, 0, 's' },
		{ "limit", required_argument, 0, 'n' }, { "bf16", no_argument, 0, 'b' },
		{ "window", required_argument, 0, 'w' }, { "context", required_argument, 0, 'c' },
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
		case 'b': bf16 = 1; break;
		case 'w': if (parse_double(optarg, 0.1, &win)) return usage_error("bad --window", optarg); break;
		case 'c': if (parse_double(optarg, 0, &ctx)) return usage_error("bad --context", optarg); break;
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

	w2v_model *m = NULL;
	vocab *v = NULL;
	w2v_infer *wi = NULL;
	char vpath[4096];
	double t0 = progress_now();
	if ((rc = w2v_load_lang(&m, model, lang)) ||
	    (rc = fs_join(vpath, sizeof vpath, model, "vocab.json")) ||
	    (rc = vocab_load(&v, vpath, lang)) ||
	    (rc = w2v_infer_create(&wi, m, bf16 ? W2V_FWD_BF16 : 0)))
		goto out;
	if (db)
		rc = run_manifest(wi, v, db, split, limit, lang, win, ctx, &audio_s);
	else
		rc = run_files(wi, v, argv + optind, argc - optind, win, ctx, &audio_s);
	if (!rc) {
		double dt = progress_now() - t0;
		fprintf(stderr, "transcribe: %.1f s of audio in %.1f s (%.2f audio s per s, %s)\n", audio_s, dt,
		        dt > 0 ? audio_s / dt : 0.0, bf16 ? "bf16" : "fp32");
	}
out:
	if (rc)
		err_print();
	w2v_infer_free(wi);
	vocab_free(v);
	w2v_free(m);
	return rc ? err_exit_code(rc) : 0;
}
