/*
 * align — CTC forced alignment of the manifest's transcripts.
 *
 *   align run --lang CODE --model DIR     align utterances without a current alignment
 *   align export --format F --out DIR     write CTM / TextGrid / SRT / WebVTT / JSON
 *   align show UTTERANCE                  print an utterance's word timeline
 *   align file AUDIO TEXT --model DIR     align one recording, no manifest
 *
 * Thin: one option table per subcommand (base/cliopt.h), then
 * lib/align/align_run.c (run, show, export) or lib/align/align_file.c;
 * prints the summary.
 */
#include "align/align_file.h"
#include "align/align_run.h"
#include "base/cliopt.h"
#include "base/dist.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "manifest/manifest.h"
#include "model/vocab.h"
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Option ids of every subcommand (letters are their own ids). */
enum {
	O_MANIFEST = 256, O_OOV, O_STAR_EDGES, O_STAR_BETWEEN, O_LOW_CONF, O_WINDOW, O_RATE_MIN, O_RATE_MAX,
	O_EDGE_MAX, O_SEG_MIN, O_SEG_MAX, O_BATCH, O_LIMIT, O_REDO, O_BF16, O_PREC, O_MEM, O_JSON, O_QUIET, O_NORM,
	O_CTM_TIMES, O_LABELS, O_MAX_CHARS, O_MAX_LINES, O_MAX_DURATION,
};

/* Rows shared by `run` and `file` (each written once, here). */
#define ROWS_MANIFEST CLIOPT_MANIFEST(O_MANIFEST)
#define ROWS_OOV \
	{ "oov", 0, "POLICY", O_OOV, "characters missing from the vocabulary: unk (map to <unk>),\n" \
	  "star (map to the <star> wildcard), romanize (ICU Any-Latin,\n" \
	  "then <unk>), error (flag, do not align)\n" \
	  "(default unk; missing characters are always reported)" }, \
	{ "star-edges", 0, NULL, O_STAR_EDGES, "a <star> wildcard before and after each transcript, to\n" \
	  "absorb untranscribed speech (default off for clips; always\n" \
	  "on for long recordings)" }
#define ROWS_QUALITY \
	{ "low-conf", 0, "X", O_LOW_CONF, "flag when the minimum 0.6 s-window mean log-prob < X (default -4)" }, \
	{ "window", 0, "N", O_WINDOW, "frames of that window (default 30 = 0.6 s)" }, \
	{ "rate-min", 0, "R", O_RATE_MIN, "flag below R characters per second (default 2)" }, \
	{ "rate-max", 0, "R", O_RATE_MAX, "flag above R characters per second (default 30)" }, \
	{ "edge-max", 0, "S", O_EDGE_MAX, "flag more than S seconds of unaligned audio at an edge (default 2)" }
#define ROWS_MODEL \
	CLIOPT_PRECISION(O_PREC, O_BF16, "; the choice is printed (and recorded\n" \
	                 "in a run's row; a changed precision re-aligns only with --redo)"), \
	{ "mem-budget", 0, "MB", O_MEM, "Viterbi backpointer memory before checkpointing (default 256)" }
#define ROWS_CUES CLIOPT_CUE_ROWS(O_MAX_CHARS, O_MAX_LINES, O_MAX_DURATION)

static const cliopt run_opts[] = {
	{ "lang", 'l', "CODE", 'l', "language: selects vocab.json[CODE] and adapter.CODE.safetensors" },
	{ "model", 'm', "DIR", 'm', "model directory in Hugging Face layout" },
	ROWS_MANIFEST,
	ROWS_OOV,
	{ "star-between", 0, NULL, O_STAR_BETWEEN, "long recordings: a <star> between lines instead of a space" },
	ROWS_QUALITY,
	{ "seg-min", 0, "S", O_SEG_MIN, "long recordings: merge pieces shorter than S seconds (default 1)" },
	{ "seg-max", 0, "S", O_SEG_MAX, "long recordings: split pieces longer than S seconds at word\npauses (default 30)" },
	{ "batch", 0, "N", O_BATCH, "utterances per database transaction (default 32)" },
	{ "limit", 0, "N", O_LIMIT, "align at most N utterances" },
	{ "redo", 0, NULL, O_REDO, "re-align even current alignments" },
	ROWS_MODEL,
	CLIOPT_JSON(O_JSON),
	CLIOPT_QUIET(O_QUIET),
	CLIOPT_HELP_ROWS,
	{ 0 },
};

static const cliopt export_opts[] = {
	{ "format", 'f', "FORMAT", 'f', "ctm, textgrid, srt, vtt or json (above)" },
	{ "out", 'o', "DIR", 'o', "output directory (created)" },
	{ "lang", 'l', "CODE", 'l', "only this language" },
	ROWS_MANIFEST,
	{ "labels", 0, "L", O_LABELS, "written (default): words as in the transcript; norm: the\n"
	  "normalized words (to score against normalized references)" },
	{ "ctm-times", 0, "T", O_CTM_TIMES, "recording (default) or utterance: CTM ids and times per\n"
	  "utterance (utterance keys mapped as above)" },
	ROWS_CUES,
	CLIOPT_HELP_ROWS,
	{ 0 },
};

static const cliopt file_opts[] = {
	{ "model", 'm', "DIR", 'm', "model directory in Hugging Face layout" },
	{ "lang", 'l', "CODE", 'l', "language: vocabulary, adapter and normalization" },
	{ "format", 'f', "F", 'f', "json (default), textgrid, ctm, srt, vtt" },
	{ "out", 'o', "FILE", 'o', "write there (atomically) instead of standard output" },
	{ "norm", 0, "PROFILE", O_NORM, "normalization profile: default, mms, none (default: default)" },
	ROWS_OOV,
	ROWS_QUALITY,
	ROWS_CUES,
	ROWS_MODEL,
	{ "quiet", 0, NULL, O_QUIET, "no summary on standard error" },
	CLIOPT_HELP_ROWS,
	{ 0 },
};

static const cliopt show_opts[] = {
	ROWS_MANIFEST,
	CLIOPT_HELP_ROWS,
	{ 0 },
};

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
		"transcripts (flags stored in alignments.flags).  Long recordings ingested as\n"
		"pieces awaiting alignment are aligned as a whole and cut into utterances at the\n"
		"middle of the pauses between lines.  An alignment is current until the\n"
		"transcript, the model or the options below change; a run only aligns the rest,\n"
		"so an interrupted run just resumes.\n"
		"\n");
	cliopt_print(f, run_opts);
	fprintf(f,
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
		"options:\n");
	cliopt_print(f, export_opts);
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
		"\n");
	cliopt_print(f, file_opts);
	fprintf(f,
		"\n"
		"exit status: 0 aligned (flags are reported on standard error), 2 bad usage,\n"
		"3 the transcript cannot be aligned to this audio (too long for it, empty,\n"
		"characters missing under --oov error) or malformed audio/text, 4 I/O failure.\n");
}

static void usage_show(FILE *f)
{
	fprintf(f, "usage: align show UTTERANCE [--manifest PATH]\n\n"
		   "UTTERANCE is an utterance key (utt_key) or a numeric utterance id.\n\n");
	cliopt_print(f, show_opts);
}

/* The whole command line, for the runs table. */
static int g_argc;
static char **g_argv;

static void on_sigint(int sig)
{
	(void)sig;
	align_run_stop = 1;
}

/* Print the library's error (and hint) and give its exit status. */
static int fail(int rc)
{
	err_print();
	return err_exit_code(rc);
}

/* A usage error of `align cmd` whose message is set: a hint to the
 * subcommand's help (unless the error has its own), exit status 2. */
static int usage_fail(const char *cmd)
{
	if (!err_hint_msg())
		err_hint("see 'align %s --help'", cmd);
	return fail(ACC_EINVAL);
}

/* A usage error with message msg, or NULL when getopt has printed why. */
static int usage_error(const char *cmd, const char *msg)
{
	if (!msg) {
		fprintf(stderr, "hint: see 'align %s --help'\n", cmd);
		return 2;
	}
	err_set(ACC_EINVAL, "%s", msg);
	return usage_fail(cmd);
}

/* --help and --version of a subcommand: 1 when c was one of them. */
static int help_or_version(int c, void (*usage)(FILE *))
{
	if (c == 'h')
		usage(stdout);
	else if (c == CLIOPT_VERSION)
		printf("align %s\n", ACCENT_VERSION);
	return c == 'h' || c == CLIOPT_VERSION;
}

/* The options `run` and `file` share (alignment parameters and the model's
 * precision): 1 handled, 0 not one of them, -1 a bad value (message set). */
static int param_option(int c, const char *arg, align_params *p, w2v_precision *prec)
{
	double d;
	switch (c) {
	case O_OOV:
		return align_oov_parse(arg, &p->oov) ? -1 : 1;
	case O_STAR_EDGES: p->star_edges = 1; return 1;
	case O_LOW_CONF:
		if (cliopt_number(arg, &p->low_conf))
			return err_set(ACC_EINVAL, "--low-conf needs a number"), -1;
		return 1;
	case O_WINDOW:
		if (cliopt_number(arg, &d) || d < 1 || d > 100000)
			return err_set(ACC_EINVAL, "--window needs a frame count >= 1"), -1;
		p->window = (int)d;
		return 1;
	case O_RATE_MIN:
	case O_RATE_MAX:
	case O_EDGE_MAX:
	case O_SEG_MIN:
	case O_SEG_MAX:
		if (cliopt_number(arg, &d) || d < 0)
			return err_set(ACC_EINVAL, "rates, durations and bounds must be numbers >= 0"), -1;
		if (c == O_RATE_MIN) p->rate_min = d;
		else if (c == O_RATE_MAX) p->rate_max = d;
		else if (c == O_EDGE_MAX) p->edge_max_s = d;
		else if (c == O_SEG_MIN) p->seg_min_s = d;
		else p->seg_max_s = d;
		return 1;
	case O_BF16: *prec = W2V_PREC_BF16; return 1;
	case O_PREC:
		if (w2v_precision_parse(arg, prec))
			return err_set(ACC_EINVAL, "--precision must be auto, fp32, bf16 or int8"), -1;
		return 1;
	case O_MEM:
		if (cliopt_number(arg, &d) || d < 1)
			return err_set(ACC_EINVAL, "--mem-budget needs megabytes >= 1"), -1;
		p->mem_budget = (size_t)(d * 1048576.0);
		return 1;
	}
	return 0;
}

/* Subtitle layout options shared by `export` and `file`: 1 handled, 0 not
 * one of them, -1 a bad value (message set). */
static int cue_option(int c, const char *arg, ax_cue_opts *o)
{
	double d;
	if (c != O_MAX_CHARS && c != O_MAX_LINES && c != O_MAX_DURATION)
		return 0;
	if (cliopt_number(arg, &d))
		d = -1;
	if (c == O_MAX_CHARS && d >= 1 && d <= 10000)
		o->max_chars = (int)d;
	else if (c == O_MAX_LINES && d >= 1 && d <= 100)
		o->max_lines = (int)d;
	else if (c == O_MAX_DURATION && d > 0 && d <= 86400)
		o->max_duration = d;
	else
		return err_set(ACC_EINVAL, "--max-chars, --max-lines and --max-duration need positive numbers"), -1;
	return 1;
}

/* `align run`'s summary: JSON (also stored in the run's row) or lines. */
static void run_counts(const align_summary *sum, const emitter *em, char *buf, size_t size)
{
	snprintf(buf, size,
		 "{\"candidates\":%lld,\"current\":%lld,\"aligned\":%lld,\"failed\":%lld,\"flagged\":%lld,"
		 "\"recordings_segmented\":%lld,\"segments_created\":%lld,\"audio_s\":%.2f,\"emit_s\":%.2f,"
		 "\"viterbi_s\":%.3f,\"wall_s\":%.2f,\"oov_chars\":%lld,\"precision\":\"%s\"}",
		 (long long)sum->candidates, (long long)sum->current, (long long)sum->aligned, (long long)sum->failed,
		 (long long)sum->flagged, (long long)sum->recordings_segmented, (long long)sum->segments_created,
		 sum->audio_s, sum->emit_s, sum->viterbi_s, sum->wall_s, (long long)sum->oov_total,
		 w2v_precision_name(em->precision));
}

static void run_print(const align_run_opts *o, const align_summary *sum, const char *db)
{
	printf("align %s: %lld utterances, %lld already current, %lld aligned, %lld failed, %lld flagged\n", o->lang,
	       (long long)sum->candidates, (long long)sum->current, (long long)sum->aligned, (long long)sum->failed,
	       (long long)sum->flagged);
	if (sum->recordings_segmented)
		printf("long recordings: %lld segmented into %lld utterances\n", (long long)sum->recordings_segmented,
		       (long long)sum->segments_created);
	if (sum->oov_total)
		printf("characters missing from the vocabulary (%s policy): %lld, e.g. %s\n", align_oov_name(o->p.oov),
		       (long long)sum->oov_total, sum->oov_desc);
	if (sum->audio_s > 0)
		printf("%.1f s of audio in %.1f s (%.1f audio s/s; emissions %.1f s, Viterbi %.2f s)\n", sum->audio_s,
		       sum->wall_s, sum->audio_s / (sum->wall_s > 0 ? sum->wall_s : 1), sum->emit_s, sum->viterbi_s);
	if (sum->flagged)
		printf("see the worst: sqlite3 %s \"%s\"\n", db, align_run_worst_sql());
}

/* The run itself, once the options are parsed.  Under mpirun every rank
 * comes here; rank 0 alone opens the manifest (lib/align/align_run.c,
 * run_ranks), prints and records the run. */
static int run_align(align_run_opts *o, const char *db, w2v_precision prec, int json, int quiet)
{
	manifest *m = NULL;
	vocab *v = NULL;
	emitter em = { 0 };
	align_summary sum = { 0 };
	int64_t run_id = 0;
	char vpath[4200], counts[1024];
	int rc, root = dist_rank() == 0;
	snprintf(vpath, sizeof vpath, "%s/vocab.json", o->model_dir);
	if ((rc = vocab_load(&v, vpath, o->lang))) {
		err_wrap(rc, "vocabulary");
		goto out;
	}
	if ((rc = emitter_open(&em, o->model_dir, o->lang, prec)))
		goto out;
	if (!quiet && !json && root)
		fprintf(stderr, "precision: %s (%s)\n", w2v_precision_name(em.precision), em.precision_why);
	if (root && (rc = manifest_open(&m, db, 0)))
		goto out;
	signal(SIGINT, on_sigint);
	signal(SIGTERM, on_sigint);
	if (root && (rc = manifest_run_begin(m, "align", g_argc, g_argv, &run_id)))
		goto out;
	rc = align_run(m, o, &em, v, run_id, &sum);
	if (!rc && root)
		rc = align_run_verdict(m, db, o, &sum);
	if (!root)
		goto out;
	run_counts(&sum, &em, counts, sizeof counts);
	if (rc)
		err_print();
	manifest_run_end(m, run_id, err_exit_code(rc), counts);
	if (rc && dist_size() > 1)
		dist_abort(err_exit_code(rc));   /* the other ranks may wait for rank 0 */
	if (json)
		printf("%s\n", counts);
	else if (!quiet)
		run_print(o, &sum, db);
	emitter_close(&em);
	vocab_free(v);
	manifest_close(m);
	return rc ? err_exit_code(rc) : 0;
out:
	emitter_close(&em);
	vocab_free(v);
	manifest_close(m);
	if (rc && dist_size() > 1) {
		err_print();
		dist_abort(err_exit_code(rc));
	}
	return rc ? fail(rc) : 0;
}

static int cmd_run(int argc, char **argv)
{
	align_run_opts o = { 0 };
	align_params_default(&o.p);
	const char *db = MANIFEST_DEFAULT, *arg;
	w2v_precision prec = W2V_PREC_AUTO;
	int json = 0, quiet = 0, c, h;
	double d;
	optind = 1;
	while ((c = cliopt_next(argc, argv, run_opts, &arg)) != -1) {
		if (help_or_version(c, usage_run))
			return 0;
		if ((h = param_option(c, arg, &o.p, &prec)) < 0)
			return usage_fail("run");
		switch (h ? 0 : c) {
		case 0: break;
		case 'l': o.lang = arg; break;
		case 'm': o.model_dir = arg; break;
		case O_MANIFEST: db = arg; break;
		case O_STAR_BETWEEN: o.p.star_between = 1; break;
		case O_BATCH:
			if (cliopt_number(arg, &d) || d < 1 || d > 1e6)
				return usage_error("run", "--batch needs a count >= 1");
			o.batch = (int)d;
			break;
		case O_LIMIT:
			if (cliopt_number(arg, &d) || d < 0)
				return usage_error("run", "--limit needs a count");
			o.limit = (int64_t)d;
			break;
		case O_REDO: o.redo = 1; break;
		case O_JSON: json = 1; break;
		case O_QUIET: quiet = 1; break;
		default: return usage_error("run", NULL);
		}
	}
	if (optind < argc)
		return usage_error("run", "unexpected argument");
	if (!o.lang || !o.model_dir)
		return usage_error("run", "--lang and --model are required");
	if (o.p.seg_min_s > o.p.seg_max_s || o.p.rate_min > o.p.rate_max)
		return usage_error("run", "a minimum is above its maximum");
	return run_align(&o, db, prec, json, quiet);
}

static int cmd_export(int argc, char **argv)
{
	align_export_opts eo = { 0 };
	align_export_cue_opts_default(&eo.cue);
	const char *db = MANIFEST_DEFAULT, *arg;
	int c, h;
	optind = 1;
	while ((c = cliopt_next(argc, argv, export_opts, &arg)) != -1) {
		if (help_or_version(c, usage_export))
			return 0;
		if ((h = cue_option(c, arg, &eo.cue)) < 0)
			return usage_fail("export");
		switch (h ? 0 : c) {
		case 0: break;
		case 'f': eo.format = arg; break;
		case 'o': eo.dir = arg; break;
		case 'l': eo.lang = arg; break;
		case O_MANIFEST: db = arg; break;
		case O_LABELS:
			if (strcmp(arg, "written") && strcmp(arg, "norm"))
				return usage_error("export", "--labels is written or norm");
			eo.norm_labels = !strcmp(arg, "norm");
			break;
		case O_CTM_TIMES:
			if (strcmp(arg, "recording") && strcmp(arg, "utterance"))
				return usage_error("export", "--ctm-times is recording or utterance");
			eo.ctm_utterance = !strcmp(arg, "utterance");
			break;
		default: return usage_error("export", NULL);
		}
	}
	if (!eo.format || !eo.dir || optind < argc)
		return usage_error("export", "--format and --out are required");
	manifest *m = NULL;
	int64_t n = 0;
	int rc = manifest_open(&m, db, 0);
	if (!rc)
		rc = align_run_export_ex(m, &eo, &n);
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
			if (ARRAY_GROW(b, cap, cap * 2)) {
				free(b);
				return ACC_ENOMEM;
			}
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

/* `align file`'s output: to out atomically, or to standard output. */
static int file_write(const char *out, const char *fmt, const align_file_result *fr, const ax_cue_opts *cue)
{
	char tmp[4200];
	FILE *fp = NULL;
	int rc;
	if (!out) {
		if ((rc = write_file_result(stdout, fmt, fr, cue)))
			return rc;
		return fflush(stdout) ? err_set(ACC_EIO, "cannot write to standard output") : 0;
	}
	if ((rc = fs_open_tmp(out, tmp, &fp)))
		return rc;
	if ((rc = write_file_result(fp, fmt, fr, cue))) {
		fs_abort_tmp(fp, tmp);
		return rc;
	}
	return fs_commit_tmp(fp, tmp, out);
}

/* Align the file once the options are parsed, write and summarize. */
static int file_align(const char *audio, const char *tpath, const char *model, const char *fmt, const char *out,
		      const align_file_opts *fo, const ax_cue_opts *cue, w2v_precision prec, int quiet)
{
	vocab *v = NULL;
	emitter em = { 0 };
	align_file_result fr = { 0 };
	char *text = NULL, vpath[4200];
	int rc;
	snprintf(vpath, sizeof vpath, "%s/vocab.json", model);
	if ((rc = read_text(tpath, &text))) {
		err_wrap(rc, "transcript '%s'", tpath);
		goto out;
	}
	if ((rc = vocab_load(&v, vpath, fo->lang))) {
		err_wrap(rc, "vocabulary");
		goto out;
	}
	if ((rc = emitter_open(&em, model, fo->lang, prec)))
		goto out;
	if (!quiet)
		fprintf(stderr, "precision: %s (%s)\n", w2v_precision_name(em.precision), em.precision_why);
	if ((rc = align_file_run(audio, text, fo, &em, v, &fr))) {
		err_wrap(rc, "%s", audio);
		goto out;
	}
	if (!fr.r.status_ok) {
		rc = err_set(ACC_EFORMAT, "cannot align '%s' against '%s': %s", audio, tpath, fr.r.message);
		if (fr.r.flags & ALIGN_FLAG_IMPOSSIBLE)
			err_hint("check that the transcript belongs to this audio");
		goto out;
	}
	if ((rc = file_write(out, fmt, &fr, cue)))
		goto out;
	if (!quiet) {
		fprintf(stderr, "align file: %lld words in %.2f s of audio, mean log-prob %.3f, min window %.3f, %.1f chars/s\n",
			(long long)fr.nwords, fr.u.duration, fr.r.mean_logp, fr.r.min_window_logp, fr.r.chars_per_s);
		if (fr.oov_total)
			fprintf(stderr, "characters missing from the vocabulary (%s policy): %lld, e.g. %s\n",
				align_oov_name(fo->p.oov), (long long)fr.oov_total, fr.oov_desc);
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

static int cmd_file(int argc, char **argv)
{
	align_file_opts fo = { .long_s = 30.0 };
	align_params_default(&fo.p);
	ax_cue_opts cue;
	align_export_cue_opts_default(&cue);
	const char *model = NULL, *fmt = "json", *out = NULL, *arg;
	int quiet = 0, c, h;
	w2v_precision prec = W2V_PREC_AUTO;
	optind = 1;
	while ((c = cliopt_next(argc, argv, file_opts, &arg)) != -1) {
		if (help_or_version(c, usage_file))
			return 0;
		if ((h = param_option(c, arg, &fo.p, &prec)) == 0)
			h = cue_option(c, arg, &cue);
		if (h < 0)
			return usage_fail("file");
		switch (h ? 0 : c) {
		case 0: break;
		case 'l': fo.lang = arg; break;
		case 'm': model = arg; break;
		case 'f': fmt = arg; break;
		case 'o': out = arg; break;
		case O_NORM: fo.profile = arg; break;
		case O_QUIET: quiet = 1; break;
		default: return usage_error("file", NULL);
		}
	}
	if (optind + 2 != argc)
		return usage_error("file", "an audio file and a transcript (file or -) are required");
	if (!fo.lang || !model)
		return usage_error("file", "--lang and --model are required");
	if (strcmp(fmt, "json") && strcmp(fmt, "textgrid") && strcmp(fmt, "ctm") && strcmp(fmt, "srt") && strcmp(fmt, "vtt"))
		return usage_error("file", "--format is json, textgrid, ctm, srt or vtt");
	if (fo.p.rate_min > fo.p.rate_max)
		return usage_error("file", "a minimum is above its maximum");
	return file_align(argv[optind], argv[optind + 1], model, fmt, out, &fo, &cue, prec, quiet);
}

static int cmd_show(int argc, char **argv)
{
	const char *db = MANIFEST_DEFAULT, *arg;
	int c;
	optind = 1;
	while ((c = cliopt_next(argc, argv, show_opts, &arg)) != -1) {
		if (help_or_version(c, usage_show))
			return 0;
		if (c != O_MANIFEST)
			return usage_error("show", NULL);
		db = arg;
	}
	if (optind + 1 != argc)
		return usage_error("show", "one utterance key or id is required");
	manifest *m = NULL;
	int rc = manifest_open(&m, db, 0);
	if (!rc)
		rc = align_run_show(m, argv[optind], stdout);
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
