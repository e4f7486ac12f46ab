/*
 * prep — turn a speech corpus into the accent manifest.
 *
 *   prep ingest [options] CORPUS   read, decode, check and record a corpus
 *   prep detect CORPUS             print the layout ingest would use
 *
 * Thin: parses arguments and calls lib/prep/ingest.c; prints the summary.
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
#include <getopt.h>
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
		"  ingest CORPUS   read a corpus into the manifest (data.db); see `prep ingest --help`\n"
		"  relabel         change the language of ingested utterances and normalize them again;\n"
		"                  see `prep relabel --help`\n"
		"  detect CORPUS   print the corpus layout that ingest would use\n"
		"\n"
		"options: --help, --version\n");
}

static void usage_ingest(FILE *f)
{
	fprintf(f,
		"usage: prep ingest [options] CORPUS\n"
		"\n"
		"Decode every audio file of CORPUS (16 kHz mono, measured duration and signal\n"
		"statistics), normalize its transcripts and record recordings, speakers,\n"
		"utterances and rejects in the manifest; then compute speaker balance weights\n"
		"and speaker-disjoint train/dev/test splits.  Re-running adds only what is new.\n"
		"\n"
		"corpus:\n"
		"  --layout NAME      commonvoice, librispeech, kaldi, nemo, ljspeech, folder,\n"
		"                     longform (default: detected)\n"
		"  --lang CODE        language of every utterance (overrides the corpus')\n"
		"  --model DIR        resolve language codes against DIR/vocab.json's languages: a\n"
		"                     macrolanguage becomes the individual language the model has\n"
		"                     (Common Voice 'fa' -> 'pes'); without it codes become ISO 639-3\n"
		"                     ('en' -> 'eng', 'cy' -> 'cym'); what was chosen is printed\n"
		"  --manifest PATH    manifest database (default: data.db)\n"
		"  --allow-outside    read audio paths that lead outside the corpus directory\n"
		"                     (absolute or ../ paths in wav.scp, TSV, JSONL); by default\n"
		"                     they are rejected as outside_root\n"
		"text:\n"
		"  --norm PROFILE     normalization profile: default, mms, none (default: default)\n"
		"  --rules FILE       extra PCRE2 rules, \"regex<TAB>replacement\" per line\n"
		"  --strip-diacritics, --no-strip-diacritics\n"
		"                     remove Latin-script diacritics (cafe for café; other scripts'\n"
		"                     marks are kept); default: off (mms profile: on for jav only)\n"
		"  --strip-harakat    remove Arabic harakat (U+064B..U+065F, U+0670)\n"
		"  --drop-digit-tokens, --keep-digit-tokens\n"
		"                     drop words made only of digits (default: keep; mms: drop)\n"
		"checks:\n"
		"  --min-dur S        shortest utterance kept (default 0.5)\n"
		"  --max-dur S        longest utterance kept (default 30); longer whole files are\n"
		"                     cut at pauses into pieces awaiting alignment\n"
		"  --vad-min S        shortest piece of a long recording (default 1)\n"
		"  --vad-max S        longest piece of a long recording (default 20)\n"
		"  --no-vad           reject too-long files instead of cutting them\n"
		"  --silence-db DB    near-silent when no 10 ms frame is louder (default -45)\n"
		"  --max-clip R       heavily clipped above this share of samples (default 0.01)\n"
		"  --strict           exit with status 3 when anything was rejected\n"
		"balance and splits (run at the end):\n"
		"  --alpha A          speaker balance exponent 0..1 (default 0.5)\n"
		"  --cap C            max share of the mass per speaker, 0 = none (default 0)\n"
		"  --split T,D,E      train,dev,test proportions of audio (default 0.8,0.1,0.1)\n"
		"  --seed N           split seed (default 0)\n"
		"  --distinct-text    keep identical sentences out of more than one split\n"
		"  --no-balance       do not recompute weights and splits\n"
		"run:\n"
		"  --threads N        decoding threads (default: all CPUs)\n"
		"  --batch N          files per transaction (default 200)\n"
		"  --json             print the summary as JSON\n"
		"  --quiet            no summary\n"
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
		"\n"
		"  --lang CODE        the new label (a 2-letter code becomes ISO 639-3: cy -> cym)\n"
		"  --model DIR        resolve labels against DIR/vocab.json's languages (with --lang:\n"
		"                     that code; without: each utterance's own label), e.g. fa -> pes\n"
		"  --from CODE        only utterances labeled CODE (default: all)\n"
		"  --corpus DIR       only utterances of the corpus ingested from DIR\n"
		"  --manifest PATH    manifest database (default: data.db)\n"
		"  --norm, --rules, --strip-diacritics, --no-strip-diacritics, --strip-harakat,\n"
		"  --drop-digit-tokens, --keep-digit-tokens   as for `prep ingest`\n"
		"  --help, --version\n"
		"\n"
		"Splits are per language: run `db split` afterwards when labels merged or split.\n"
		"exit status: 0 ok, 2 bad usage, 3 nothing selected, 4 I/O or database failure.\n");
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
	if (s->rejects)
		printf("  see: db query \"SELECT reason, source, message FROM rejects WHERE run_id = %lld\"\n",
		       (long long)s->run_id);
}

static int cmd_ingest(int argc, char **argv, int full_argc, char **full_argv)
{
	enum { O_LAYOUT = 256, O_LANG, O_MANIFEST, O_NORM, O_RULES, O_MIN, O_MAX, O_VMIN, O_VMAX, O_NOVAD, O_SIL,
	       O_CLIP, O_STRICT, O_ALPHA, O_CAP, O_SPLIT, O_SEED, O_DISTINCT, O_NOBAL, O_THREADS, O_JSON, O_QUIET,
	       O_HELP, O_VERSION, O_BATCH, O_OUTSIDE, O_MODEL, O_STRIP, O_NOSTRIP, O_HARAKAT, O_DROPD, O_KEEPD };
	static const struct option lo[] = {
		{ "layout", 1, 0, O_LAYOUT }, { "lang", 1, 0, O_LANG }, { "manifest", 1, 0, O_MANIFEST },
		{ "norm", 1, 0, O_NORM }, { "rules", 1, 0, O_RULES }, { "min-dur", 1, 0, O_MIN },
		{ "max-dur", 1, 0, O_MAX }, { "vad-min", 1, 0, O_VMIN }, { "vad-max", 1, 0, O_VMAX },
		{ "no-vad", 0, 0, O_NOVAD }, { "silence-db", 1, 0, O_SIL }, { "max-clip", 1, 0, O_CLIP },
		{ "strict", 0, 0, O_STRICT }, { "alpha", 1, 0, O_ALPHA }, { "cap", 1, 0, O_CAP },
		{ "split", 1, 0, O_SPLIT }, { "seed", 1, 0, O_SEED }, { "distinct-text", 0, 0, O_DISTINCT },
		{ "no-balance", 0, 0, O_NOBAL }, { "threads", 1, 0, O_THREADS }, { "json", 0, 0, O_JSON },
		{ "quiet", 0, 0, O_QUIET }, { "batch", 1, 0, O_BATCH }, { "allow-outside", 0, 0, O_OUTSIDE },
		{ "help", 0, 0, O_HELP }, { "version", 0, 0, O_VERSION },
		{ "model", 1, 0, O_MODEL }, { "strip-diacritics", 0, 0, O_STRIP }, { "no-strip-diacritics", 0, 0, O_NOSTRIP },
		{ "strip-harakat", 0, 0, O_HARAKAT }, { "drop-digit-tokens", 0, 0, O_DROPD },
		{ "keep-digit-tokens", 0, 0, O_KEEPD }, { 0, 0, 0, 0 }
	};
	ingest_opts o;
	const char *model = NULL;
	char **langs = NULL;
	int nlangs = 0;
	ingest_summary s;
	int strict = 0, json = 0, quiet = 0, c, rc = 0;
	double d;
	ingest_opts_default(&o);
	optind = 1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case O_LAYOUT: o.layout = optarg; break;
		case O_LANG: o.lang = optarg; break;
		case O_MANIFEST: o.manifest_path = optarg; break;
		case O_NORM: o.norm_profile = optarg; break;
		case O_RULES: o.rules_path = optarg; break;
		case O_MIN: rc = parse_num("--min-dur", optarg, &o.min_dur); break;
		case O_MAX: rc = parse_num("--max-dur", optarg, &o.max_dur); break;
		case O_VMIN: rc = parse_num("--vad-min", optarg, &o.vad.min_s); break;
		case O_VMAX: rc = parse_num("--vad-max", optarg, &o.vad.max_s); break;
		case O_NOVAD: o.no_vad = 1; break;
		case O_OUTSIDE: o.allow_outside = 1; break;
		case O_SIL: rc = parse_num("--silence-db", optarg, &o.silence_db); break;
		case O_CLIP: rc = parse_num("--max-clip", optarg, &o.max_clip); break;
		case O_STRICT: strict = 1; break;
		case O_ALPHA: rc = parse_num("--alpha", optarg, &o.bal.alpha); break;
		case O_CAP: rc = parse_num("--cap", optarg, &o.bal.cap); break;
		case O_SPLIT:
			if (sscanf(optarg, "%lf,%lf,%lf", &o.split.train, &o.split.dev, &o.split.test) != 3)
				rc = err_set(ACC_EINVAL, "--split: want three proportions like 0.8,0.1,0.1, got '%s'", optarg);
			break;
		case O_SEED: rc = parse_num("--seed", optarg, &d); o.split.seed = (uint64_t)d; break;
		case O_DISTINCT: o.split.distinct_text = 1; break;
		case O_NOBAL: o.no_balance = 1; break;
		case O_THREADS: rc = parse_num("--threads", optarg, &d); o.threads = (int)d; break;
		case O_BATCH: rc = parse_num("--batch", optarg, &d); o.batch = (int)d; break;
		case O_JSON: json = 1; break;
		case O_QUIET: quiet = 1; break;
		case O_MODEL: model = optarg; break;
		case O_STRIP: o.strip_diacritics = 1; break;
		case O_NOSTRIP: o.strip_diacritics = 0; break;
		case O_HARAKAT: o.strip_harakat = 1; break;
		case O_DROPD: o.drop_digit_tokens = 1; break;
		case O_KEEPD: o.drop_digit_tokens = 0; break;
		case O_HELP: usage_ingest(stdout); return 0;
		case O_VERSION: printf("prep %s\n", ACCENT_VERSION); return 0;
		default: usage_ingest(stderr); return 2;
		}
		if (rc) {
			err_print();
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "error: prep ingest needs exactly one CORPUS directory\n");
		usage_ingest(stderr);
		return 2;
	}
	o.root = argv[optind];
	o.argc = full_argc;
	o.argv = full_argv;
	o.progress = !quiet && !json;   /* a bar on a terminal, else plain lines (lib/base/progress.h) */
	if (model) {
		if ((rc = model_langs(model, &langs, &nlangs))) {
			err_print();
			return err_exit_code(rc);
		}
		o.model_langs = langs;
		o.n_model_langs = nlangs;
	}
	signal(SIGINT, on_sigint);
	signal(SIGTERM, on_sigint);
	rc = ingest_run(&o, &s);
	free_langs(langs, nlangs);
	if (!json)
		print_lang_notes();
	if (rc) {
		err_print();
		return err_exit_code(rc);
	}
	if (json) {
		char buf[4096];
		ingest_summary_json(&s, buf, sizeof buf);
		printf("%s\n", buf);
	} else if (!quiet) {
		print_summary(&s, &o);
	}
	if (s.interrupted)
		return 130;
	if (strict && s.rejects) {
		fprintf(stderr, "error: %lld input(s) rejected (--strict)\n", (long long)s.rejects);
		return err_exit_code(ACC_EFORMAT);
	}
	return 0;
}

static int cmd_relabel(int argc, char **argv, int full_argc, char **full_argv)
{
	enum { O_LANG = 256, O_MODEL, O_FROM, O_CORPUS, O_MANIFEST, O_NORM, O_RULES, O_STRIP, O_NOSTRIP, O_HARAKAT,
	       O_DROPD, O_KEEPD, O_HELP, O_VERSION };
	static const struct option lo[] = {
		{ "lang", 1, 0, O_LANG }, { "model", 1, 0, O_MODEL }, { "from", 1, 0, O_FROM }, { "corpus", 1, 0, O_CORPUS },
		{ "manifest", 1, 0, O_MANIFEST }, { "norm", 1, 0, O_NORM }, { "rules", 1, 0, O_RULES },
		{ "strip-diacritics", 0, 0, O_STRIP }, { "no-strip-diacritics", 0, 0, O_NOSTRIP },
		{ "strip-harakat", 0, 0, O_HARAKAT }, { "drop-digit-tokens", 0, 0, O_DROPD },
		{ "keep-digit-tokens", 0, 0, O_KEEPD }, { "help", 0, 0, O_HELP }, { "version", 0, 0, O_VERSION },
		{ 0, 0, 0, 0 }
	};
	relabel_opts o;
	relabel_summary s;
	const char *model = NULL;
	char **langs = NULL;
	int nlangs = 0, c, rc;
	relabel_opts_default(&o);
	optind = 1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case O_LANG: o.lang = optarg; break;
		case O_MODEL: model = optarg; break;
		case O_FROM: o.from = optarg; break;
		case O_CORPUS: o.corpus = optarg; break;
		case O_MANIFEST: o.manifest_path = optarg; break;
		case O_NORM: o.norm_profile = optarg; break;
		case O_RULES: o.rules_path = optarg; break;
		case O_STRIP: o.strip_diacritics = 1; break;
		case O_NOSTRIP: o.strip_diacritics = 0; break;
		case O_HARAKAT: o.strip_harakat = 1; break;
		case O_DROPD: o.drop_digit_tokens = 1; break;
		case O_KEEPD: o.drop_digit_tokens = 0; break;
		case O_HELP: usage_relabel(stdout); return 0;
		case O_VERSION: printf("prep %s\n", ACCENT_VERSION); return 0;
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
	/* Ingest is not shared among MPI ranks: N copies would race on one
	 * manifest, so a run under mpirun with several ranks is refused. */
	int rc = dist_init(&argc, &argv);
	if (rc) {
		err_print();
		return err_exit_code(rc);
	}
	if (dist_one_rank("prep", "run 'prep ingest' without mpirun; it uses every core of its machine")) {
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
