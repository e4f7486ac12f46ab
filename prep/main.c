/*
 * prep — turn a speech corpus into the accent manifest.
 *
 *   prep ingest [options] CORPUS   read, decode, check and record a corpus
 *   prep detect CORPUS             print the layout ingest would use
 *
 *   prep relabel [options]         relabel and renormalize ingested utterances
 *
 * Thin: parses arguments (one cliopt table per command, built from its
 * sections) and calls lib/prep; prints the summary.  Under `mpirun -np N`
 * only ingest runs (on every rank; rank 0 prints).
 */
#include "prep/corpus.h"
#include "base/cliopt.h"
#include "base/dist.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "prep/ingest.h"
#include "text/langcode.h"
#include "prep/relabel.h"
#include "model/vocab.h"
#include "manifest/manifest.h"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage_main(FILE *f)
{
	fprintf(f,
		"usage: prep <command> [options]\n"
		"\n"
		"commands:\n"
		"  ingest CORPUS   read a corpus into the manifest (" MANIFEST_DEFAULT "); see `prep ingest --help`;\n"
		"                  runs on N ranks under `mpirun -np N`\n"
		"  relabel         change the language of ingested utterances and normalize them again;\n"
		"                  see `prep relabel --help`\n"
		"  detect CORPUS   print the corpus layout that ingest would use\n"
		"\n"
		"options: --help, --version\n");
}

/* ---- option tables: each option once, help from the rows ---- */

enum { O_LAYOUT = 256, O_LANG, O_MANIFEST, O_NORM, O_RULES, O_MIN, O_MAX, O_VMIN, O_VMAX, O_NOVAD, O_SIL,
       O_CLIP, O_STRICT, O_ALPHA, O_CAP, O_SPLIT, O_SEED, O_DISTINCT, O_NOBAL, O_THREADS, O_JSON, O_QUIET,
       O_BATCH, O_OUTSIDE, O_MODEL, O_STRIP, O_NOSTRIP, O_HARAKAT, O_DROPD, O_KEEPD, O_FROM, O_CORPUS };

#define MANIFEST_ROW CLIOPT_MANIFEST(O_MANIFEST)

static const cliopt ingest_corpus_opts[] = {
	{ "layout", 0, "NAME", O_LAYOUT, "commonvoice, librispeech, kaldi, nemo, ljspeech, folder,\n"
	  "longform (default: detected)" },
	{ "lang", 0, "CODE", O_LANG, "language of every utterance (overrides the corpus')" },
	{ "model", 0, "DIR", O_MODEL, "resolve language codes against DIR/vocab.json's languages: a\n"
	  "macrolanguage becomes the individual language the model has\n"
	  "(Common Voice 'fa' -> 'pes'); without it codes become ISO 639-3\n"
	  "('en' -> 'eng', 'cy' -> 'cym'); what was chosen is printed" },
	MANIFEST_ROW,
	{ "allow-outside", 0, NULL, O_OUTSIDE, "read audio paths that lead outside the corpus directory\n"
	  "(absolute or ../ paths in wav.scp, TSV, JSONL); by default\n"
	  "they are rejected as outside_root" },
	{ 0 },
};

/* shared by ingest and relabel */
static const cliopt text_opts[] = {
	{ "norm", 0, "PROFILE", O_NORM, "normalization profile: default, mms, none (default: default)" },
	{ "rules", 0, "FILE", O_RULES, "extra PCRE2 rules, \"regex<TAB>replacement\" per line" },
	{ "strip-diacritics", 0, NULL, O_STRIP, "remove Latin-script diacritics (cafe for café; other scripts'\n"
	  "marks are kept); default: off (mms profile: on for jav only)" },
	{ "no-strip-diacritics", 0, NULL, O_NOSTRIP, "keep them" },
	{ "strip-harakat", 0, NULL, O_HARAKAT, "remove Arabic harakat (U+064B..U+065F, U+0670)" },
	{ "drop-digit-tokens", 0, NULL, O_DROPD, "drop words made only of digits (default: keep; mms: drop)" },
	{ "keep-digit-tokens", 0, NULL, O_KEEPD, "keep them" },
	{ 0 },
};

static const cliopt ingest_check_opts[] = {
	{ "min-dur", 0, "S", O_MIN, "shortest utterance kept (default 0.5)" },
	{ "max-dur", 0, "S", O_MAX, "longest utterance kept (default 30); longer whole files are\n"
	  "cut at pauses into pieces awaiting alignment" },
	{ "vad-min", 0, "S", O_VMIN, "shortest piece of a long recording (default 1)" },
	{ "vad-max", 0, "S", O_VMAX, "longest piece of a long recording (default 20)" },
	{ "no-vad", 0, NULL, O_NOVAD, "reject too-long files instead of cutting them" },
	{ "silence-db", 0, "DB", O_SIL, "near-silent when no 10 ms frame is louder (default -45)" },
	{ "max-clip", 0, "R", O_CLIP, "heavily clipped above this share of samples (default 0.01)" },
	{ "strict", 0, NULL, O_STRICT, "exit with status 3 when anything was rejected" },
	{ 0 },
};

static const cliopt ingest_balance_opts[] = {
	{ "alpha", 0, "A", O_ALPHA, "speaker balance exponent 0..1 (default 0.5)" },
	{ "cap", 0, "C", O_CAP, "max share of the mass per speaker, 0 = none (default 0)" },
	{ "split", 0, "T,D,E", O_SPLIT, "train,dev,test proportions of audio (default 0.8,0.1,0.1)" },
	{ "seed", 0, "N", O_SEED, "split seed (default 0)" },
	{ "distinct-text", 0, NULL, O_DISTINCT, "keep identical sentences out of more than one split" },
	{ "no-balance", 0, NULL, O_NOBAL, "do not recompute weights and splits" },
	{ 0 },
};

static const cliopt ingest_run_opts[] = {
	{ "threads", 0, "N", O_THREADS, "decoding threads (default: all CPUs; under mpirun: per rank)" },
	{ "batch", 0, "N", O_BATCH, "files per transaction (default 200; under mpirun also the\n"
	  "files handed out to the ranks at a time)" },
	CLIOPT_JSON(O_JSON),
	CLIOPT_QUIET(O_QUIET),
	CLIOPT_HELP_ROWS,
	{ 0 },
};

static const cliopt relabel_opts_own[] = {
	{ "lang", 0, "CODE", O_LANG, "the new label (a 2-letter code becomes ISO 639-3: cy -> cym)" },
	{ "model", 0, "DIR", O_MODEL, "resolve labels against DIR/vocab.json's languages (with --lang:\n"
	  "that code; without: each utterance's own label), e.g. fa -> pes" },
	{ "from", 0, "CODE", O_FROM, "only utterances labeled CODE (default: all)" },
	{ "corpus", 0, "DIR", O_CORPUS, "only utterances of the corpus ingested from DIR" },
	MANIFEST_ROW,
	CLIOPT_HELP_ROWS,
	{ 0 },
};

/* A command's options come in sections (a heading and a table); they are
 * parsed as one table, built from the sections' rows. */
typedef struct opt_section {
	const char   *title;
	const cliopt *opts;
} opt_section;

static const opt_section ingest_sections[] = {
	{ "corpus", ingest_corpus_opts }, { "text", text_opts }, { "checks", ingest_check_opts },
	{ "balance and splits (run at the end)", ingest_balance_opts }, { "run", ingest_run_opts }, { 0 },
};

static const opt_section relabel_sections[] = {
	{ "selection and labels", relabel_opts_own }, { "text (as for `prep ingest`)", text_opts }, { 0 },
};

/* All the sections' rows in all[] (cap rows, the last one the end mark). */
static void sections_table(const opt_section *sec, cliopt *all, size_t cap)
{
	size_t n = 0;
	for (; sec->title; sec++)
		for (const cliopt *o = sec->opts; o->name && n + 1 < cap; o++)
			all[n++] = *o;
	memset(&all[n], 0, sizeof all[n]);
}

static void sections_print(FILE *f, const opt_section *sec)
{
	for (; sec->title; sec++) {
		fprintf(f, "%s:\n", sec->title);
		cliopt_print(f, sec->opts);
	}
}

static void usage_ingest(FILE *f)
{
	fprintf(f,
		"usage: prep ingest [options] CORPUS\n"
		"       mpirun -np N prep ingest [options] CORPUS\n"
		"\n"
		"Decode every audio file of CORPUS (16 kHz mono, measured duration and signal\n"
		"statistics), normalize its transcripts and record recordings, speakers,\n"
		"utterances and rejects in the manifest; then compute speaker balance weights\n"
		"and speaker-disjoint train/dev/test splits.  Re-running adds only what is new.\n"
		"Under mpirun the ranks decode and normalize disjoint shares of the files and\n"
		"rank 0 writes the manifest: the same rows as one process.\n"
		"\n");
	sections_print(f, ingest_sections);
	fprintf(f,
		"\n"
		"exit status: 0 ok, 2 bad usage, 3 rejects with --strict, 4 I/O or database\n"
		"failure, 130 interrupted (the manifest keeps every committed batch; run again\n"
		"to complete it).\n");
}

static void usage_relabel(FILE *f)
{
	fprintf(f,
		"usage: prep relabel [options] (--lang CODE | --model DIR) [--from CODE] [--corpus DIR]\n"
		"\n"
		"Give ingested utterances another language label and normalize their text_raw\n"
		"again with that language's profile (re-running `prep ingest --lang` adds only\n"
		"new files).  Their alignments become stale and are redone by `align run`.\n"
		"\n");
	sections_print(f, relabel_sections);
	fprintf(f,
		"\n"
		"Splits are per language: run `db split` afterwards when labels merged or split.\n"
		"exit status: 0 ok, 2 bad usage, 3 nothing selected, 4 I/O or database failure.\n");
}

/* The text options, shared by ingest and relabel: 1 when id was one. */
static int text_opt(int id, int *strip, int *drop, int *harakat, const char **norm, const char **rules,
		    const char *arg)
{
	switch (id) {
	case O_NORM: *norm = arg; return 1;
	case O_RULES: *rules = arg; return 1;
	case O_STRIP: *strip = 1; return 1;
	case O_NOSTRIP: *strip = 0; return 1;
	case O_HARAKAT: *harakat = 1; return 1;
	case O_DROPD: *drop = 1; return 1;
	case O_KEEPD: *drop = 0; return 1;
	default: return 0;
	}
}

/* The languages of DIR/vocab.json (a nested MMS vocabulary), for --model. */
static int model_langs(const char *dir, char ***langs, int *n)
{
	char path[4096];
	int rc = fs_join(path, sizeof path, dir, "vocab.json");
	if (rc)
		return rc;
	if ((rc = vocab_languages(path, langs, n)))
		return err_wrap(rc, "--model %s", dir);
	if (*n == 0) {
		rc = err_set(ACC_EINVAL, "--model %s: vocab.json is not nested by language (a single-language model)",
		             dir);
		err_hint("--model is for MMS-style models with one vocabulary per language");
	}
	return rc;
}

static void free_langs(char **langs, int n)
{
	for (int i = 0; i < n; i++)
		free(langs[i]);
	free(langs);
}

/* The codes mapped to others (Common Voice 'cy' -> 'cym'), on stderr. */
static void print_lang_notes(void)
{
	char notes[4096], *line, *save = NULL;
	langcode_label_notes(notes, sizeof notes);
	for (line = strtok_r(notes, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		fprintf(stderr, "language: %s\n", line);
}

static void on_sigint(int sig)
{
	(void)sig;
	ingest_request_stop();
}

static int parse_num(const char *opt, const char *v, double *out)
{
	if (cliopt_number(v, out))
		return err_set(ACC_EINVAL, "%s: '%s' is not a number", opt, v);
	return 0;
}

static void print_summary(const ingest_summary *s, const ingest_opts *o)
{
	double rate = s->wall_s > 0 ? s->seconds_decoded / 3600 / (s->wall_s / 60) : 0;
	printf("ingest: %s layout, run %lld\n", s->layout, (long long)s->run_id);
	printf("  items:       %lld read, %lld already in the manifest\n", (long long)s->items, (long long)s->skipped);
	printf("  recordings:  %lld added\n", (long long)s->files_new);
	printf("  utterances:  %lld added, %lld pieces awaiting alignment, %lld already present\n",
	       (long long)s->utts_new, (long long)s->pieces_new, (long long)s->utts_present);
	printf("  audio:       %.3f h added; %.3f h decoded in %.1f s (%.2f h/min)\n", s->seconds_new / 3600,
	       s->seconds_decoded / 3600, s->wall_s, rate);
	printf("  rejects:     %lld (%lld new rows)\n", (long long)s->rejects, (long long)s->rejects_new);
	for (int i = 0; i < s->nreasons; i++)
		printf("    %-20s %lld\n", s->by_reason[i].reason, (long long)s->by_reason[i].n);
	if (!o->no_balance && !s->interrupted)
		printf("  splits:      train %lld / dev %lld / test %lld utterances (%lld / %lld / %lld speakers); "
		       "weights on %lld utterances (alpha %g)\n",
		       (long long)s->split.utterances[0], (long long)s->split.utterances[1],
		       (long long)s->split.utterances[2], (long long)s->split.speakers[0],
		       (long long)s->split.speakers[1], (long long)s->split.speakers[2], (long long)s->bal.utterances,
		       o->bal.alpha);
	if (s->interrupted)
		printf("  interrupted: run `prep ingest` again to complete\n");
	if (s->rejects) {
		char q[256];
		ingest_rejects_query(s->run_id, q, sizeof q);
		printf("  see: db query \"%s\"\n", q);
	}
}

/* One ingest option (not the text ones) into o and the flags; 0, or an
 * error for a bad value. */
static int ingest_opt(int id, const char *arg, ingest_opts *o, int *strict, const char **model)
{
	double d;
	int rc = 0;
	switch (id) {
	case O_LAYOUT: o->layout = arg; break;
	case O_LANG: o->lang = arg; break;
	case O_MANIFEST: o->manifest_path = arg; break;
	case O_MODEL: *model = arg; break;
	case O_MIN: rc = parse_num("--min-dur", arg, &o->min_dur); break;
	case O_MAX: rc = parse_num("--max-dur", arg, &o->max_dur); break;
	case O_VMIN: rc = parse_num("--vad-min", arg, &o->vad.min_s); break;
	case O_VMAX: rc = parse_num("--vad-max", arg, &o->vad.max_s); break;
	case O_NOVAD: o->no_vad = 1; break;
	case O_OUTSIDE: o->allow_outside = 1; break;
	case O_SIL: rc = parse_num("--silence-db", arg, &o->silence_db); break;
	case O_CLIP: rc = parse_num("--max-clip", arg, &o->max_clip); break;
	case O_STRICT: *strict = 1; break;
	case O_ALPHA: rc = parse_num("--alpha", arg, &o->bal.alpha); break;
	case O_CAP: rc = parse_num("--cap", arg, &o->bal.cap); break;
	case O_SPLIT:
		if (sscanf(arg, "%lf,%lf,%lf", &o->split.train, &o->split.dev, &o->split.test) != 3)
			rc = err_set(ACC_EINVAL, "--split: want three proportions like 0.8,0.1,0.1, got '%s'", arg);
		break;
	case O_SEED: rc = parse_num("--seed", arg, &d); o->split.seed = (uint64_t)d; break;
	case O_DISTINCT: o->split.distinct_text = 1; break;
	case O_NOBAL: o->no_balance = 1; break;
	case O_THREADS: rc = parse_num("--threads", arg, &d); o->threads = (int)d; break;
	case O_BATCH: rc = parse_num("--batch", arg, &d); o->batch = (int)d; break;
	default: rc = err_set(ACC_EINVAL, "unexpected option");
	}
	return rc;
}

/* Under mpirun every rank runs this; rank 0 alone prints the summary (the
 * other ranks' summaries are empty: rank 0 wrote everything).  A failing
 * rank ends them all (dist_abort), since the others would wait for it. */
static int cmd_ingest(int argc, char **argv, int full_argc, char **full_argv)
{
	cliopt all[96];
	ingest_opts o;
	const char *model = NULL, *arg;
	char **langs = NULL;
	int nlangs = 0;
	ingest_summary s;
	int strict = 0, json = 0, quiet = 0, c, rc = 0, me = dist_rank();
	ingest_opts_default(&o);
	sections_table(ingest_sections, all, sizeof all / sizeof all[0]);
	optind = 1;
	while ((c = cliopt_next(argc, argv, all, &arg)) != -1) {
		if (c == 'h' || c == '?') {
			if (me == 0)   /* once under mpirun */
				usage_ingest(c == 'h' ? stdout : stderr);
			return c == 'h' ? 0 : 2;
		}
		if (c == CLIOPT_VERSION) {
			if (me == 0)
				printf("prep %s\n", ACCENT_VERSION);
			return 0;
		}
		if (c == O_JSON)
			json = 1;
		else if (c == O_QUIET)
			quiet = 1;
		else if (!text_opt(c, &o.strip_diacritics, &o.drop_digit_tokens, &o.strip_harakat, &o.norm_profile,
				   &o.rules_path, arg) && (rc = ingest_opt(c, arg, &o, &strict, &model))) {
			err_print();
			return 2;
		}
	}
	if (optind != argc - 1) {
		if (me == 0) {
			fprintf(stderr, "error: prep ingest needs exactly one CORPUS directory\n");
			usage_ingest(stderr);
		}
		return 2;
	}
	o.root = argv[optind];
	o.argc = full_argc;
	o.argv = full_argv;
	o.progress = !quiet && !json && me == 0;   /* a bar on a terminal, else plain lines (lib/base/progress.h) */
	if (model) {
		if ((rc = model_langs(model, &langs, &nlangs)))
			goto out;
		o.model_langs = langs;
		o.n_model_langs = nlangs;
	}
	signal(SIGINT, on_sigint);
	signal(SIGTERM, on_sigint);
	rc = ingest_run(&o, &s);
	if (!json && me == 0)
		print_lang_notes();
out:
	free_langs(langs, nlangs);
	if (rc) {
		err_print();
		if (dist_size() > 1)
			dist_abort(err_exit_code(rc));
		return err_exit_code(rc);
	}
	if (s.interrupted)
		return 130;
	if (me > 0)
		return 0;
	if (json) {
		char buf[4096];
		ingest_summary_json(&s, buf, sizeof buf);
		printf("%s\n", buf);
	} else if (!quiet) {
		print_summary(&s, &o);
	}
	if (strict && s.rejects) {
		fprintf(stderr, "error: %lld input(s) rejected (--strict)\n", (long long)s.rejects);
		return err_exit_code(ACC_EFORMAT);
	}
	return 0;
}

static int cmd_relabel(int argc, char **argv, int full_argc, char **full_argv)
{
	cliopt all[96];
	relabel_opts o;
	relabel_summary s;
	const char *model = NULL, *arg;
	char **langs = NULL;
	int nlangs = 0, c, rc;
	relabel_opts_default(&o);
	sections_table(relabel_sections, all, sizeof all / sizeof all[0]);
	optind = 1;
	while ((c = cliopt_next(argc, argv, all, &arg)) != -1) {
		if (text_opt(c, &o.strip_diacritics, &o.drop_digit_tokens, &o.strip_harakat, &o.norm_profile,
			     &o.rules_path, arg))
			continue;
		switch (c) {
		case O_LANG: o.lang = arg; break;
		case O_MODEL: model = arg; break;
		case O_FROM: o.from = arg; break;
		case O_CORPUS: o.corpus = arg; break;
		case O_MANIFEST: o.manifest_path = arg; break;
		case 'h': usage_relabel(stdout); return 0;
		case CLIOPT_VERSION: printf("prep %s\n", ACCENT_VERSION); return 0;
		default: usage_relabel(stderr); return 2;
		}
	}
	if (optind != argc || (!o.lang && !model)) {
		fprintf(stderr, "error: prep relabel needs --lang CODE or --model DIR, and no other argument\n");
		usage_relabel(stderr);
		return 2;
	}
	o.argc = full_argc;
	o.argv = full_argv;
	if (model && (rc = model_langs(model, &langs, &nlangs)))
		goto out;
	o.model_langs = langs;
	o.n_model_langs = nlangs;
	rc = relabel_run(&o, &s);
	print_lang_notes();
	if (!rc) {
		printf("relabel: %lld utterances, %lld relabeled, %lld with a new normalized text, %lld long-text lines\n",
		       (long long)s.utterances, (long long)s.relabeled, (long long)s.text_changed, (long long)s.lines);
		if (s.relabeled)
			printf("  splits are per language: run `db split` to recompute them\n");
	}
out:
	free_langs(langs, nlangs);
	if (rc) {
		err_print();
		return err_exit_code(rc);
	}
	return 0;
}

static int cmd_detect(int argc, char **argv)
{
	const char *name;
	int rc;
	if (argc != 2 || !strcmp(argv[1], "--help")) {
		printf("usage: prep detect CORPUS\n\nPrint the layout `prep ingest` would read CORPUS as.\n");
		return argc == 2 ? 0 : 2;
	}
	if ((rc = corpus_detect(argv[1], &name)) != 0) {
		err_print();
		return err_exit_code(rc);
	}
	printf("%s\n", name);
	return 0;
}

int main(int argc, char **argv)
{
	/* `mpirun -np N prep ingest` shares the decoding among the ranks
	 * (lib/prep/ingest.c); the other commands run on one process. */
	int rc = dist_init(&argc, &argv);
	if (rc) {
		err_print();
		return err_exit_code(rc);
	}
	if (argc >= 2 && strcmp(argv[1], "ingest") &&
	    dist_one_rank("prep", "only 'prep ingest' runs under mpirun; run the others without it")) {
		if (dist_rank() == 0)
			err_print();
		dist_abort(2);
	}
	if (argc < 2) {
		usage_main(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage_main(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("prep %s\n", ACCENT_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "ingest"))
		return cmd_ingest(argc - 1, argv + 1, argc, argv);
	if (!strcmp(argv[1], "relabel"))
		return cmd_relabel(argc - 1, argv + 1, argc, argv);
	if (!strcmp(argv[1], "detect"))
		return cmd_detect(argc - 1, argv + 1);
	fprintf(stderr, "error: unknown command '%s'\n", argv[1]);
	usage_main(stderr);
	return 2;
}
