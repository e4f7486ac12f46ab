/*
 * align — CTC forced alignment of the manifest's transcripts.
 *
 *   align run --lang CODE --model DIR     align utterances without a current alignment
 *   align export --format F --out DIR     write CTM / TextGrid / SRT / WebVTT / JSON
 *   align show UTTERANCE                  print an utterance's word timeline
 *   align file AUDIO TEXT --model DIR     align one recording, no manifest
 *
 * Thin: parses arguments and calls lib/align/align_stage.c; prints the summary.
 */
#include "align/align_file.h"
#include "align/align_stage.h"
#include "base/fsutil.h"
#include "base/cliopt.h"
#include "base/dist.h"
#include "base/err.h"
#include "manifest/manifest.h"
#include "model/vocab.h"
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage_main(FILE *f)
{
	fprintf(f,
		"usage: align <command> [options]\n"
		"\n"
		"commands:\n"
		"  run      align every utterance of a language that has no current alignment\n"
		"  export   write alignments as CTM, Praat TextGrid, SRT, WebVTT or JSON\n"
		"  show     print the word timeline of one utterance with its scores\n"
		"  file     align one audio file against its transcript (no manifest)\n"
		"\n"
		"`align <command> --help` describes each.  options: --help, --version\n");
}

static void usage_run(FILE *f)
{
	fprintf(f,
		"usage: align run --lang CODE --model DIR [options]\n"
		"\n"
		"Align the transcripts (text_norm) of every utterance of language CODE to their\n"
		"audio with the model's CTC emissions (Viterbi, exactly torchaudio's\n"
		"forced_align), store word and character timings and quality, and flag doubtful\n"
		"transcripts.  Long recordings ingested as pieces awaiting alignment are aligned\n"
		"as a whole and cut into utterances at the middle of the pauses between lines.\n"
		"An alignment is current until the transcript, the model or the options below\n"
		"change; a run only aligns the rest, so an interrupted run just resumes.\n"
		"\n"
		"  --lang CODE         language: selects vocab.json[CODE] and adapter.CODE.safetensors\n"
		"  --model DIR         model directory in Hugging Face layout\n"
		"  --manifest PATH     manifest database (default: data.db)\n"
		"text:\n"
		"  --oov POLICY        characters missing from the vocabulary: unk (map to <unk>),\n"
		"                      star (map to the <star> wildcard), romanize (ICU\n"
		"                      Any-Latin, then <unk>), error (flag, do not align)\n"
		"                      (default unk; missing characters are always reported)\n"
		"  --star-edges        a <star> wildcard before and after each transcript, to\n"
		"                      absorb untranscribed speech (default off for clips; always\n"
		"                      on for long recordings)\n"
		"  --star-between      long recordings: a <star> between lines instead of a space\n"
		"quality flags (stored in alignments.flags):\n"
		"  --low-conf X        flag when the minimum 0.6 s-window mean log-prob < X (default -4)\n"
		"  --window N          frames of that window (default 30 = 0.6 s)\n"
		"  --rate-min R        flag below R characters per second (default 2)\n"
		"  --rate-max R        flag above R characters per second (default 30)\n"
		"  --edge-max S        flag more than S seconds of unaligned audio at an edge (default 2)\n"
		"segmentation of long recordings:\n"
		"  --seg-min S         merge pieces shorter than S seconds (default 1)\n"
		"  --seg-max S         split pieces longer than S seconds at word pauses (default 30)\n"
		"run:\n"
		"  --batch N           utterances per database transaction (default 32)\n"
		"  --limit N           align at most N utterances\n"
		"  --redo              re-align even current alignments\n"
		"  --precision P       auto (default), fp32, bf16 or int8: the model's arithmetic;\n"
		"                      auto picks int8 or bf16 where this CPU runs them faster\n"
		"                      (measured), else fp32; the choice is printed and recorded\n"
		"                      in the run's row; a changed precision re-aligns only with --redo\n"
		"  --bf16              same as --precision bf16\n"
		"  --mem-budget MB     Viterbi backpointer memory before checkpointing (default 256)\n"
		"  --json              print the summary as JSON\n"
		"  --quiet             no summary\n"
		"\n"
		"exit status: 0 ok, 1 failure, 2 bad usage, 4 I/O or database failure,\n"
		"130 interrupted (finished batches are kept; run again to continue).\n");
}

static void usage_export(FILE *f)
{
	fprintf(f,
		"usage: align export --format FORMAT --out DIR [options]\n"
		"\n"
		"Word labels are the words as written in the transcript (case, punctuation,\n"
		"digits); the normalized form, and the romanized one under --oov romanize, are\n"
		"extra fields in JSON.\n"
		"\n"
		"  ctm       DIR/alignments.ctm: \"<id> 1 <start> <dur> <word> <conf>\" with the\n"
		"            recording's id and times from the recording's start (NIST sclite,\n"
		"            Kaldi); ids are the recording path without its extension, '/' and\n"
		"            '.' as '_', other bytes outside [A-Za-z0-9_-] as _xHH (NIST's\n"
		"            ctmValidator accepts them)\n"
		"  textgrid  DIR/<utt>.TextGrid: Praat TextGrid with \"words\" and \"chars\" tiers\n"
		"  srt, vtt  DIR/<recording>.srt|.vtt: cues of whole words, recording time\n"
		"  json      DIR/alignments.json: utterances with word and character timings\n"
		"\n"
		"options:\n"
		"  --lang CODE          only this language\n"
		"  --manifest PATH      manifest database (default: data.db)\n"
		"  --labels L           written (default): words as in the transcript; norm: the\n"
		"                       normalized words (to score against normalized references)\n"
		"  --ctm-times T        recording (default) or utterance: CTM ids and times per\n"
		"                       utterance (utterance keys mapped as above)\n"
		"  --max-chars N        subtitles: characters per line (default 42)\n"
		"  --max-lines N        subtitles: lines per cue (default 2)\n"
		"  --max-duration S     subtitles: seconds per cue (default 7)\n");
}

static void usage_file(FILE *f)
{
	fprintf(f,
		"usage: align file AUDIO TEXT --model DIR --lang CODE [options]\n"
		"\n"
		"Align one recording against its transcript, with no manifest and no corpus:\n"
		"nothing is written but the output.  TEXT is a file holding the transcript as\n"
		"written (lines are joined), or - for standard input.  The text is normalized\n"
		"(profile of `prep ingest`), aligned as `align run` aligns a clip (audio longer\n"
		"than 30 s gets <star> edges as long recordings do; emissions are windowed), and\n"
		"the words are labelled as written.\n"
		"\n"
		"  --model DIR          model directory in Hugging Face layout\n"
		"  --lang CODE          language: vocabulary, adapter and normalization\n"
		"  --format F           json (default), textgrid, ctm, srt, vtt\n"
		"  --out FILE           write there (atomically) instead of standard output\n"
		"  --norm PROFILE       normalization profile: default, mms, none (default: default)\n"
		"  --oov POLICY         unk (default), star, romanize, error (see `align run --help`)\n"
		"  --star-edges         <star> before and after the transcript\n"
		"  --low-conf X, --window N, --rate-min R, --rate-max R, --edge-max S\n"
		"                       quality flags as in `align run`\n"
		"  --max-chars N, --max-lines N, --max-duration S\n"
		"                       subtitle layout (defaults 42, 2, 7)\n"
		"  --precision P        auto (default), fp32, bf16, int8 (see `align run --help`)\n"
		"  --bf16               same as --precision bf16\n"
		"  --mem-budget MB      Viterbi backpointer memory before checkpointing (default 256)\n"
		"  --quiet              no summary on standard error\n"
		"\n"
		"exit status: 0 aligned (flags are reported on standard error), 2 bad usage,\n"
		"3 the transcript cannot be aligned to this audio (too long for it, empty,\n"
		"characters missing under --oov error) or malformed audio/text, 4 I/O failure.\n");
}

static void usage_show(FILE *f)
{
	fprintf(f, "usage: align show UTTERANCE [--manifest PATH]\n\n"
		   "UTTERANCE is an utterance key (utt_key) or a numeric utterance id.\n");
}

/* The whole command line, for the runs table. */
static int g_argc;
static char **g_argv;

static void on_sigint(int sig)
{
	(void)sig;
	align_stage_stop = 1;
}

static int fail(int rc)
{
	err_print();
	return err_exit_code(rc);
}

static int bad_usage(const char *msg, void (*usage)(FILE *))
{
	fprintf(stderr, "error: %s\n", msg);
	usage(stderr);
	return 2;
}

static int cmd_run(int argc, char **argv)
{
	enum { O_MANIFEST = 256, O_OOV, O_STAR_EDGES, O_STAR_BETWEEN, O_LOW_CONF, O_WINDOW, O_RATE_MIN, O_RATE_MAX,
	       O_EDGE_MAX, O_SEG_MIN, O_SEG_MAX, O_BATCH, O_LIMIT, O_REDO, O_BF16, O_MEM, O_JSON, O_QUIET, O_HELP, O_VERSION,
	       O_PREC };
	static const struct option opts[] = {
		{ "lang", 1, 0, 'l' }, { "model", 1, 0, 'm' }, { "manifest", 1, 0, O_MANIFEST }, { "oov", 1, 0, O_OOV },
		{ "star-edges", 0, 0, O_STAR_EDGES }, { "star-between", 0, 0, O_STAR_BETWEEN },
		{ "low-conf", 1, 0, O_LOW_CONF }, { "window", 1, 0, O_WINDOW }, { "rate-min", 1, 0, O_RATE_MIN },
		{ "rate-max", 1, 0, O_RATE_MAX }, { "edge-max", 1, 0, O_EDGE_MAX }, { "seg-min", 1, 0, O_SEG_MIN },
		{ "seg-max", 1, 0, O_SEG_MAX }, { "batch", 1, 0, O_BATCH }, { "limit", 1, 0, O_LIMIT },
		{ "redo", 0, 0, O_REDO }, { "bf16", 0, 0, O_BF16 }, { "precision", 1, 0, O_PREC },
		{ "mem-budget", 1, 0, O_MEM }, { "json", 0, 0, O_JSON },
		{ "quiet", 0, 0, O_QUIET }, { "help", 0, 0, O_HELP }, { "version", 0, 0, O_VERSION }, { 0, 0, 0, 0 }
	};
	align_run_opts o = { 0 };
	align_params_default(&o.p);
	const char *db = "data.db";
	w2v_precision prec = W2V_PREC_AUTO;
	int json = 0, quiet = 0, c;
	double d;
	optind = 1;
	while ((c = getopt_long(argc, argv, "l:m:", opts, NULL)) != -1) {
		switch (c) {
		case 'l': o.lang = optarg; break;
		case 'm': o.model_dir = optarg; break;
		case O_MANIFEST: db = optarg; break;
		case O_OOV:
			if (align_oov_parse(optarg, &o.p.oov))
				return fail(ACC_EINVAL);
			break;
		case O_STAR_EDGES: o.p.star_edges = 1; break;
		case O_STAR_BETWEEN: o.p.star_between = 1; break;
		case O_LOW_CONF:
			if (cliopt_number(optarg, &o.p.low_conf))
				return bad_usage("--low-conf needs a number", usage_run);
			break;
		case O_WINDOW:
			if (cliopt_number(optarg, &d) || d < 1 || d > 100000)
				return bad_usage("--window needs a frame count >= 1", usage_run);
			o.p.window = (int)d;
			break;
		case O_RATE_MIN:
		case O_RATE_MAX:
		case O_EDGE_MAX:
		case O_SEG_MIN:
		case O_SEG_MAX:
			if (cliopt_number(optarg, &d) || d < 0)
				return bad_usage("rates, durations and bounds must be numbers >= 0", usage_run);
			if (c == O_RATE_MIN) o.p.rate_min = d;
			else if (c == O_RATE_MAX) o.p.rate_max = d;
			else if (c == O_EDGE_MAX) o.p.edge_max_s = d;
			else if (c == O_SEG_MIN) o.p.seg_min_s = d;
			else o.p.seg_max_s = d;
			break;
		case O_BATCH:
			if (cliopt_number(optarg, &d) || d < 1 || d > 1e6)
				return bad_usage("--batch needs a count >= 1", usage_run);
			o.batch = (int)d;
			break;
		case O_LIMIT:
			if (cliopt_number(optarg, &d) || d < 0)
				return bad_usage("--limit needs a count", usage_run);
			o.limit = (int64_t)d;
			break;
		case O_REDO: o.redo = 1; break;
		case O_BF16: prec = W2V_PREC_BF16; break;
		case O_PREC:
			if (w2v_precision_parse(optarg, &prec))
				return bad_usage("--precision must be auto, fp32, bf16 or int8", usage_run);
			break;
		case O_MEM:
			if (cliopt_number(optarg, &d) || d < 1)
				return bad_usage("--mem-budget needs megabytes >= 1", usage_run);
			o.p.mem_budget = (size_t)(d * 1048576.0);
			break;
		case O_JSON: json = 1; break;
		case O_QUIET: quiet = 1; break;
		case O_HELP: usage_run(stdout); return 0;
		case O_VERSION: printf("align %s\n", ACCENT_VERSION); return 0;
		default: usage_run(stderr); return 2;
		}
	}
	if (optind < argc)
		return bad_usage("unexpected argument", usage_run);
	if (!o.lang || !o.model_dir)
		return bad_usage("--lang and --model are required", usage_run);
	if (o.p.seg_min_s > o.p.seg_max_s || o.p.rate_min > o.p.rate_max)
		return bad_usage("a minimum is above its maximum", usage_run);

	manifest *m = NULL;
	vocab *v = NULL;
	emitter em = { 0 };
	align_summary sum = { 0 };
	int64_t run_id = 0;
	char vpath[4200];
	int rc;
	snprintf(vpath, sizeof vpath, "%s/vocab.json", o.model_dir);
	if ((rc = vocab_load(&v, vpath, o.lang))) {
		err_wrap(rc, "vocabulary");
		goto out;
	}
	if ((rc = emitter_open(&em, o.model_dir, o.lang, prec)))
		goto out;
	if (!quiet && !json && dist_rank() == 0)
		fprintf(stderr, "precision: %s (%s)\n", w2v_precision_name(em.precision), em.precision_why);
	/* mpirun: rank 0 alone opens the manifest (lib/align/align_stage.c, run_ranks) */
	if (dist_rank() == 0 && (rc = manifest_open(&m, db, 0)))
		goto out;
	signal(SIGINT, on_sigint);
	signal(SIGTERM, on_sigint);
	if (dist_rank() == 0 && (rc = manifest_run_begin(m, "align", g_argc, g_argv, &run_id)))
		goto out;
	rc = align_stage_run(m, &o, &em, v, run_id, &sum);
	if (!rc && dist_rank() == 0 && sum.candidates == 0 && sum.recordings_segmented == 0) {
		/* nothing in this language: name the languages there are (a Common
		 * Voice 'en' next to --lang eng) */
		char langs[512] = "";
		manifest_langs_describe(m, langs, sizeof langs);
		rc = err_set(ACC_ENOTFOUND, "no utterances of language '%s' in %s%s%s%s", o.lang, db,
		             *langs ? " (it has: " : "", langs, *langs ? ")" : "");
		err_hint("relabel them with `prep relabel --from CODE --lang %s`, or align one of those languages", o.lang);
	} else if (!rc && dist_rank() == 0 && sum.failed > 0 && sum.aligned == 0) {
		rc = err_set(ACC_EFORMAT, "all %lld utterances aligned in this run failed", (long long)sum.failed);
		err_hint("see why: db query \"SELECT message, count(*) FROM alignments WHERE status = 'failed' GROUP BY 1\"");
	}
	int erc = rc;
	if (dist_rank() > 0) {
		if (rc) {
			err_print();
			dist_abort(err_exit_code(rc));
		}
		goto done;
	}
	char counts[1024];
	snprintf(counts, sizeof counts,
		 "{\"candidates\":%lld,\"current\":%lld,\"aligned\":%lld,\"failed\":%lld,\"flagged\":%lld,"
		 "\"recordings_segmented\":%lld,\"segments_created\":%lld,\"audio_s\":%.2f,\"emit_s\":%.2f,"
		 "\"viterbi_s\":%.3f,\"wall_s\":%.2f,\"oov_chars\":%lld,\"precision\":\"%s\"}",
		 (long long)sum.candidates, (long long)sum.current, (long long)sum.aligned, (long long)sum.failed,
		 (long long)sum.flagged, (long long)sum.recordings_segmented, (long long)sum.segments_created, sum.audio_s,
		 sum.emit_s, sum.viterbi_s, sum.wall_s, (long long)sum.oov_total, w2v_precision_name(em.precision));
	if (rc)
		err_print();
	manifest_run_end(m, run_id, err_exit_code(erc), counts);
	if (rc && dist_size() > 1)
		dist_abort(err_exit_code(rc));   /* the other ranks may wait for rank 0 */
	if (json)
		printf("%s\n", counts);
	else if (!quiet) {
		printf("align %s: %lld utterances, %lld already current, %lld aligned, %lld failed, %lld flagged\n", o.lang,
		       (long long)sum.candidates, (long long)sum.current, (long long)sum.aligned, (long long)sum.failed,
		       (long long)sum.flagged);
		if (sum.recordings_segmented)
			printf("long recordings: %lld segmented into %lld utterances\n", (long long)sum.recordings_segmented,
			       (long long)sum.segments_created);
		if (sum.oov_total)
			printf("characters missing from the vocabulary (%s policy): %lld, e.g. %s\n", align_oov_name(o.p.oov),
			       (long long)sum.oov_total, sum.oov_desc);
		if (sum.audio_s > 0)
			printf("%.1f s of audio in %.1f s (%.1f audio s/s; emissions %.1f s, Viterbi %.2f s)\n", sum.audio_s,
			       sum.wall_s, sum.audio_s / (sum.wall_s > 0 ? sum.wall_s : 1), sum.emit_s, sum.viterbi_s);
		if (sum.flagged)
			printf("see the worst: sqlite3 %s \"SELECT utt_key, min_window_logp, flag_names FROM align_quality "
			       "WHERE flags != 0 ORDER BY min_window_logp LIMIT 20\"\n", db);
	}
done:
	emitter_close(&em);
	vocab_free(v);
	manifest_close(m);
	return erc ? err_exit_code(erc) : 0;
out:
	emitter_close(&em);
	vocab_free(v);
	manifest_close(m);
	if (dist_size() > 1) {
		err_print();
		dist_abort(err_exit_code(rc));
	}
	return fail(rc);
}

/* Subtitle layout options shared by `export` and `file`. */
static int cue_option(int c, const char *arg, ax_cue_opts *o)
{
	double d;
	if (cliopt_number(arg, &d))
		return -1;
	if (c == 'C' && d >= 1 && d <= 10000)
		o->max_chars = (int)d;
	else if (c == 'L' && d >= 1 && d <= 100)
		o->max_lines = (int)d;
	else if (c == 'D' && d > 0 && d <= 86400)
		o->max_duration = d;
	else
		return -1;
	return 0;
}

static int cmd_export(int argc, char **argv)
{
	static const struct option opts[] = { { "format", 1, 0, 'f' }, { "out", 1, 0, 'o' }, { "lang", 1, 0, 'l' },
					      { "manifest", 1, 0, 'M' }, { "ctm-times", 1, 0, 'T' }, { "max-chars", 1, 0, 'C' },
					      { "max-lines", 1, 0, 'L' }, { "max-duration", 1, 0, 'D' }, { "labels", 1, 0, 'W' },
					      { "help", 0, 0, 'h' },
					      { "version", 0, 0, 'V' }, { 0, 0, 0, 0 } };
	align_export_opts eo = { 0 };
	align_export_cue_opts_default(&eo.cue);
	const char *db = "data.db";
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "f:o:l:", opts, NULL)) != -1) {
		switch (c) {
		case 'f': eo.format = optarg; break;
		case 'o': eo.dir = optarg; break;
		case 'l': eo.lang = optarg; break;
		case 'M': db = optarg; break;
		case 'W':
			if (strcmp(optarg, "written") && strcmp(optarg, "norm"))
				return bad_usage("--labels is written or norm", usage_export);
			eo.norm_labels = !strcmp(optarg, "norm");
			break;
		case 'T':
			if (strcmp(optarg, "recording") && strcmp(optarg, "utterance"))
				return bad_usage("--ctm-times is recording or utterance", usage_export);
			eo.ctm_utterance = !strcmp(optarg, "utterance");
			break;
		case 'C':
		case 'L':
		case 'D':
			if (cue_option(c, optarg, &eo.cue))
				return bad_usage("--max-chars, --max-lines and --max-duration need positive numbers", usage_export);
			break;
		case 'h': usage_export(stdout); return 0;
		case 'V': printf("align %s\n", ACCENT_VERSION); return 0;
		default: usage_export(stderr); return 2;
		}
	}
	if (!eo.format || !eo.dir || optind < argc)
		return bad_usage("--format and --out are required", usage_export);
	manifest *m = NULL;
	int64_t n = 0;
	int rc = manifest_open(&m, db, 0);
	if (!rc)
		rc = align_stage_export_ex(m, &eo, &n);
	manifest_close(m);
	if (rc)
		return fail(rc);
	printf("exported %lld utterances as %s to %s\n", (long long)n, eo.format, eo.dir);
	return 0;
}

/* The transcript: a file or standard input. */
static int read_text(const char *path, char **text)
{
	if (strcmp(path, "-"))
		return fs_read_all(path, text, &(size_t){ 0 }, 64 << 20);
	size_t cap = 4096, len = 0;
	char *b = malloc(cap);
	if (!b)
		return err_set(ACC_ENOMEM, "out of memory");
	size_t got;
	while ((got = fread(b + len, 1, cap - len - 1, stdin)) > 0) {
		len += got;
		if (len + 1 == cap) {
			if (cap > (64u << 20)) {
				free(b);
				return err_set(ACC_EFORMAT, "the transcript on standard input is larger than 64 MiB");
			}
			char *nb = realloc(b, cap * 2);
			if (!nb) {
				free(b);
				return err_set(ACC_ENOMEM, "out of memory");
			}
			b = nb;
			cap *= 2;
		}
	}
	if (ferror(stdin)) {
		free(b);
		return err_set(ACC_EIO, "cannot read the transcript from standard input");
	}
	b[len] = 0;
	*text = b;
	return 0;
}

static int write_file_result(FILE *f, const char *fmt, const align_file_result *fr, const ax_cue_opts *cue)
{
	int64_t idx = 0;
	if (!strcmp(fmt, "json")) {
		int rc = align_export_json(f, &fr->u);
		fputc('\n', f);
		return rc;
	}
	if (!strcmp(fmt, "textgrid"))
		return align_export_textgrid(f, &fr->u);
	if (!strcmp(fmt, "ctm"))
		return align_export_ctm(f, &fr->u);
	if (!strcmp(fmt, "vtt")) {
		int rc = align_export_vtt_header(f);
		return rc ? rc : align_export_cues(f, &fr->u, &idx, 1, cue);
	}
	return align_export_cues(f, &fr->u, &idx, 0, cue);
}

static int cmd_file(int argc, char **argv)
{
	enum { O_OOV = 256, O_STAR_EDGES, O_LOW_CONF, O_WINDOW, O_RATE_MIN, O_RATE_MAX, O_EDGE_MAX, O_BF16, O_MEM,
	       O_QUIET, O_NORM, O_HELP, O_VERSION, O_PREC };
	static const struct option opts[] = {
		{ "lang", 1, 0, 'l' }, { "model", 1, 0, 'm' }, { "format", 1, 0, 'f' }, { "out", 1, 0, 'o' },
		{ "oov", 1, 0, O_OOV }, { "star-edges", 0, 0, O_STAR_EDGES }, { "low-conf", 1, 0, O_LOW_CONF },
		{ "window", 1, 0, O_WINDOW }, { "rate-min", 1, 0, O_RATE_MIN }, { "rate-max", 1, 0, O_RATE_MAX },
		{ "edge-max", 1, 0, O_EDGE_MAX }, { "bf16", 0, 0, O_BF16 }, { "precision", 1, 0, O_PREC },
		{ "mem-budget", 1, 0, O_MEM }, { "quiet", 0, 0, O_QUIET }, { "norm", 1, 0, O_NORM }, { "max-chars", 1, 0, 'C' }, { "max-lines", 1, 0, 'L' },
		{ "max-duration", 1, 0, 'D' }, { "help", 0, 0, O_HELP }, { "version", 0, 0, O_VERSION }, { 0, 0, 0, 0 }
	};
	align_file_opts fo = { .long_s = 30.0 };
	align_params_default(&fo.p);
	ax_cue_opts cue;
	align_export_cue_opts_default(&cue);
	const char *model = NULL, *fmt = "json", *out = NULL;
	int quiet = 0, c;
	w2v_precision prec = W2V_PREC_AUTO;
	double d;
	optind = 1;
	while ((c = getopt_long(argc, argv, "l:m:f:o:", opts, NULL)) != -1) {
		switch (c) {
		case 'l': fo.lang = optarg; break;
		case 'm': model = optarg; break;
		case 'f': fmt = optarg; break;
		case 'o': out = optarg; break;
		case O_NORM: fo.profile = optarg; break;
		case O_OOV:
			if (align_oov_parse(optarg, &fo.p.oov))
				return fail(ACC_EINVAL);
			break;
		case O_STAR_EDGES: fo.p.star_edges = 1; break;
		case O_LOW_CONF:
			if (cliopt_number(optarg, &fo.p.low_conf))
				return bad_usage("--low-conf needs a number", usage_file);
			break;
		case O_WINDOW:
			if (cliopt_number(optarg, &d) || d < 1 || d > 100000)
				return bad_usage("--window needs a frame count >= 1", usage_file);
			fo.p.window = (int)d;
			break;
		case O_RATE_MIN:
		case O_RATE_MAX:
		case O_EDGE_MAX:
			if (cliopt_number(optarg, &d) || d < 0)
				return bad_usage("rates and durations must be numbers >= 0", usage_file);
			if (c == O_RATE_MIN) fo.p.rate_min = d;
			else if (c == O_RATE_MAX) fo.p.rate_max = d;
			else fo.p.edge_max_s = d;
			break;
		case 'C':
		case 'L':
		case 'D':
			if (cue_option(c, optarg, &cue))
				return bad_usage("--max-chars, --max-lines and --max-duration need positive numbers", usage_file);
			break;
		case O_BF16: prec = W2V_PREC_BF16; break;
		case O_PREC:
			if (w2v_precision_parse(optarg, &prec))
				return bad_usage("--precision must be auto, fp32, bf16 or int8", usage_file);
			break;
		case O_MEM:
			if (cliopt_number(optarg, &d) || d < 1)
				return bad_usage("--mem-budget needs megabytes >= 1", usage_file);
			fo.p.mem_budget = (size_t)(d * 1048576.0);
			break;
		case O_QUIET: quiet = 1; break;
		case O_HELP: usage_file(stdout); return 0;
		case O_VERSION: printf("align %s\n", ACCENT_VERSION); return 0;
		default: usage_file(stderr); return 2;
		}
	}
	if (optind + 2 != argc)
		return bad_usage("an audio file and a transcript (file or -) are required", usage_file);
	if (!fo.lang || !model)
		return bad_usage("--lang and --model are required", usage_file);
	if (strcmp(fmt, "json") && strcmp(fmt, "textgrid") && strcmp(fmt, "ctm") && strcmp(fmt, "srt") && strcmp(fmt, "vtt"))
		return bad_usage("--format is json, textgrid, ctm, srt or vtt", usage_file);
	if (fo.p.rate_min > fo.p.rate_max)
		return bad_usage("a minimum is above its maximum", usage_file);
	const char *audio = argv[optind], *tpath = argv[optind + 1];
	vocab *v = NULL;
	emitter em = { 0 };
	align_file_result fr = { 0 };
	char *text = NULL, vpath[4200], tmp[4200];
	FILE *fp = NULL;
	int rc;
	snprintf(vpath, sizeof vpath, "%s/vocab.json", model);
	if ((rc = read_text(tpath, &text))) {
		err_wrap(rc, "transcript '%s'", tpath);
		goto out;
	}
	if ((rc = vocab_load(&v, vpath, fo.lang))) {
		err_wrap(rc, "vocabulary");
		goto out;
	}
	if ((rc = emitter_open(&em, model, fo.lang, prec)))
		goto out;
	if (!quiet)
		fprintf(stderr, "precision: %s (%s)\n", w2v_precision_name(em.precision), em.precision_why);
	if ((rc = align_file_run(audio, text, &fo, &em, v, &fr))) {
		err_wrap(rc, "%s", audio);
		goto out;
	}
	if (!fr.r.status_ok) {
		rc = err_set(ACC_EFORMAT, "cannot align '%s' against '%s': %s", audio, tpath, fr.r.message);
		if (fr.r.flags & ALIGN_FLAG_IMPOSSIBLE)
			err_hint("check that the transcript belongs to this audio");
		goto out;
	}
	if (out) {
		if ((rc = fs_open_tmp(out, tmp, &fp)))
			goto out;
		if ((rc = write_file_result(fp, fmt, &fr, &cue))) {
			fs_abort_tmp(fp, tmp);
			goto out;
		}
		if ((rc = fs_commit_tmp(fp, tmp, out)))
			goto out;
	} else {
		if ((rc = write_file_result(stdout, fmt, &fr, &cue)))
			goto out;
		if (fflush(stdout)) {
			rc = err_set(ACC_EIO, "cannot write to standard output");
			goto out;
		}
	}
	if (!quiet) {
		fprintf(stderr, "align file: %lld words in %.2f s of audio, mean log-prob %.3f, min window %.3f, %.1f chars/s\n",
			(long long)fr.nwords, fr.u.duration, fr.r.mean_logp, fr.r.min_window_logp, fr.r.chars_per_s);
		if (fr.oov_total)
			fprintf(stderr, "characters missing from the vocabulary (%s policy): %lld, e.g. %s\n",
				align_oov_name(fo.p.oov), (long long)fr.oov_total, fr.oov_desc);
		if (fr.r.flags && fr.r.message[0])
			fprintf(stderr, "warning: %s\n", fr.r.message);
	}
out:
	align_file_result_free(&fr);
	emitter_close(&em);
	vocab_free(v);
	free(text);
	return rc ? fail(rc) : 0;
}

static int cmd_show(int argc, char **argv)
{
	static const struct option opts[] = { { "manifest", 1, 0, 'M' }, { "help", 0, 0, 'h' }, { "version", 0, 0, 'V' },
					      { 0, 0, 0, 0 } };
	const char *db = "data.db";
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'M': db = optarg; break;
		case 'h': usage_show(stdout); return 0;
		case 'V': printf("align %s\n", ACCENT_VERSION); return 0;
		default: usage_show(stderr); return 2;
		}
	}
	if (optind + 1 != argc)
		return bad_usage("one utterance key or id is required", usage_show);
	manifest *m = NULL;
	int rc = manifest_open(&m, db, 0);
	if (!rc)
		rc = align_stage_show(m, argv[optind], stdout);
	manifest_close(m);
	return rc ? fail(rc) : 0;
}

int main(int argc, char **argv)
{
	/* one rank unless started by mpirun (lib/base/dist.h) */
	int rc = dist_init(&argc, &argv);
	if (rc)
		return fail(rc);
	if (argc < 2) {
		usage_main(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	g_argc = argc;
	g_argv = argv;
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		usage_main(stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version")) {
		printf("align %s\n", ACCENT_VERSION);
		return 0;
	}
	if (strcmp(cmd, "run")) {
		char what[64];
		snprintf(what, sizeof what, "'align %.40s'", cmd);
		if (dist_one_rank(what, "only 'align run' is shared among ranks")) {
			if (dist_rank() == 0)
				err_print();
			dist_abort(2);
		}
	}
	if (!strcmp(cmd, "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(cmd, "export"))
		return cmd_export(argc - 1, argv + 1);
	if (!strcmp(cmd, "show"))
		return cmd_show(argc - 1, argv + 1);
	if (!strcmp(cmd, "file"))
		return cmd_file(argc - 1, argv + 1);
	fprintf(stderr, "error: unknown command '%s'\n", cmd);
	usage_main(stderr);
	return 2;
}
