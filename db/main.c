/*
 * db/main.c — the `db` binary: look at and maintain a manifest (stats,
 * check, query, split, weights, export).  Argument parsing and printing
 * only; the work is in lib/dbstats, dbcheck, dbquery, balance and export.
 */
#include "manifest/balance.h"
#include "manifest/dbcheck.h"
#include "manifest/dbquery.h"
#include "manifest/dbstats.h"
#include "base/cliopt.h"
#include "base/dist.h"
#include "base/err.h"
#include "manifest/export.h"
#include "manifest/manifest.h"
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *manifest_path = "data.db";

static void usage(FILE *fp)
{
	fprintf(fp,
		"usage: db [--manifest PATH] <command> [options]\n"
		"\n"
		"Look at and maintain the manifest (data.db in the current directory unless\n"
		"--manifest PATH).\n"
		"\n"
		"commands:\n"
		"  stats    hours and counts by language, split, status, gender, speaker; rejects by reason\n"
		"  check    files present and unchanged, spans inside recordings, orphans, split leaks\n"
		"  query    run SQL and print the result as a table, CSV or JSON\n"
		"  split    assign speaker-disjoint train/dev/test splits\n"
		"  weights  recompute the speaker balance weights\n"
		"  export   write NeMo, Kaldi, Lhotse or Hugging Face CSV files\n"
		"  report   one self-contained HTML page with charts: corpus, alignment, training, eval\n"
		"\n"
		"Run 'db <command> --help' for a command's options.\n");
}

/* Exit status for a library error: print it, map the code. */
static int fail(int rc)
{
	err_print();
	return err_exit_code(rc);
}

static int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nhint: see 'db %s --help'\n", cmd);
	return 2;
}

/* Strict number parsing: the whole argument must be a number. */
static int open_manifest(manifest **m)
{
	return manifest_open(m, manifest_path, 0);
}

/* The commands that only read open the manifest read-only: they work on a
 * read-only file and can never change it. */
static int open_manifest_ro(manifest **m)
{
	return manifest_open_ro(m, manifest_path);
}

/* ------------------------------------------------------------------ stats */

static int cmd_stats(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, 0, 'f' }, { "speakers", required_argument, 0, 's' },
		{ "help", no_argument, 0, 'h' }, { "version", no_argument, 0, 'V' }, { 0, 0, 0, 0 },
	};
	dbstats_opts o = DBSTATS_OPTS_DEFAULT;
	manifest *m = NULL;
	long long n;
	int c, rc;
	while ((c = getopt_long(argc, argv, "f:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (dbquery_parse_format(optarg, &o.format) || o.format == DBQUERY_CSV)
				return usage_error("stats", "--format must be table or json, not '%s'", optarg);
			break;
		case 's':
			if (cliopt_integer(optarg, &n) || n < -1 || n > 1000000000)
				return usage_error("stats", "--speakers wants a count (-1 = all), not '%s'", optarg);
			o.top_speakers = (int)n;
			break;
		case 'h':
			printf("usage: db stats [--format table|json] [--speakers N]\n\n"
			       "Totals; hours and utterances by language and split, by status and by gender;\n"
			       "the N speakers with most audio (default 20, -1 = all, 0 = none); rejects by\n"
			       "reason; the utterance duration histogram.\n");
			return 0;
		case 'V': printf("db %s\n", ACCENT_VERSION); return 0;
		default: return 2;
		}
	}
	if (optind < argc)
		return usage_error("stats", "unexpected argument '%s'", argv[optind]);
	if ((rc = open_manifest_ro(&m)))
		return fail(rc);
	rc = dbstats_print(m, &o, stdout);
	manifest_close(m);
	return rc ? fail(rc) : 0;
}

/* ------------------------------------------------------------------ check */

static int cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "hash", no_argument, 0, 'H' }, { "no-files", no_argument, 0, 'n' },
		{ "examples", required_argument, 0, 'e' }, { "tolerance", required_argument, 0, 't' },
		{ "distinct-text", no_argument, 0, 'd' },
		{ "help", no_argument, 0, 'h' }, { "version", no_argument, 0, 'V' }, { 0, 0, 0, 0 },
	};
	dbcheck_opts o = DBCHECK_OPTS_DEFAULT;
	dbcheck_report r;
	manifest *m = NULL;
	long long n;
	double d;
	int c, rc;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'H': o.hash = 1; break;
		case 'n': o.skip_files = 1; break;
		case 'd': o.distinct_text = 1; break;
		case 'e':
			if (cliopt_integer(optarg, &n) || n < 0 || n > 1000000)
				return usage_error("check", "--examples wants a count, not '%s'", optarg);
			o.max_examples = (int)n;
			break;
		case 't':
			if (cliopt_number(optarg, &d) || d < 0)
				return usage_error("check", "--tolerance wants seconds >= 0, not '%s'", optarg);
			o.span_tolerance = d;
			break;
		case 'h':
			printf("usage: db check [--hash] [--no-files] [--examples N] [--tolerance S] [--distinct-text]\n\n"
			       "Checks that every recording file still exists with the size (and, when its\n"
			       "mtime changed or with --hash, the SHA-256) measured at ingest; that\n"
			       "utterance spans lie inside their recordings (with S seconds of tolerance,\n"
			       "default 0.05); that no row points to a missing row; and that no speaker,\n"
			       "audio or normalized sentence is in more than one of train/dev/test.\n"
			       "Orphan recordings/speakers and touched files are reported as notes.\n\n"
			       "  --hash        re-hash every file, not only those whose mtime changed\n"
			       "  --no-files    skip the file checks\n"
			       "  --examples N  examples shown per finding (default 5)\n"
			       "  --distinct-text  a sentence in two splits is a problem (splits made with\n"
			       "                --distinct-text); by default it is a note\n\n"
			       "Exit status: 0 no problems, 3 problems found, 4 database error.\n");
			return 0;
		case 'V': printf("db %s\n", ACCENT_VERSION); return 0;
		default: return 2;
		}
	}
	if (optind < argc)
		return usage_error("check", "unexpected argument '%s'", argv[optind]);
	if ((rc = open_manifest_ro(&m)))
		return fail(rc);
	rc = dbcheck_run(m, &o, &r);
	manifest_close(m);
	if (rc)
		return fail(rc);
	if (!o.skip_files)
		printf("checked %lld files (%lld hashed)\n", (long long)r.files_checked, (long long)r.files_hashed);
	for (int i = 0; i < DBCHECK_N; i++) {
		dbcheck_item *it = &r.item[i];
		if (!it->count)
			continue;
		printf("%s %s: %lld %s\n", it->problem ? "PROBLEM" : "note   ", it->name, (long long)it->count, it->what);
		for (int k = 0; k < it->nexamples; k++)
			printf("    %s\n", it->examples[k]);
		if (it->count > it->nexamples && it->nexamples)
			printf("    ... and %lld more\n", (long long)(it->count - it->nexamples));
	}
	if (r.problems)
		printf("%lld problem%s found\n", (long long)r.problems, r.problems == 1 ? "" : "s");
	else
		printf("ok: no problems found\n");
	rc = r.problems ? 3 : 0;
	dbcheck_report_free(&r);
	return rc;
}

/* ------------------------------------------------------------------ query */

static int cmd_query(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, 0, 'f' }, { "write", no_argument, 0, 'w' },
		{ "help", no_argument, 0, 'h' }, { "version", no_argument, 0, 'V' }, { 0, 0, 0, 0 },
	};
	dbquery_format f = DBQUERY_TABLE;
	manifest *m = NULL;
	int c, rc, write = 0;
	while ((c = getopt_long(argc, argv, "f:wh", opts, NULL)) != -1) {
		switch (c) {
		case 'w':
			write = 1;
			break;
		case 'f':
			if (dbquery_parse_format(optarg, &f))
				return usage_error("query", "--format must be table, csv or json, not '%s'", optarg);
			break;
		case 'h':
			printf("usage: db query [--format table|csv|json] [--write] \"SQL\"\n\n"
			       "Runs the SQL (several statements allowed) on the manifest and prints each\n"
			       "result.  The manifest is opened read-only: a statement that would change\n"
			       "it is refused unless --write is given.  ATTACH and VACUUM INTO are always\n"
			       "refused.  Tables and views are documented in the schema:\n"
			       "  db query \"SELECT sql FROM sqlite_master WHERE name = 'utterances'\"\n"
			       "Examples:\n"
			       "  db query \"SELECT * FROM hours_by_lang_split\"\n"
			       "  db query --format csv \"SELECT label, hours FROM hours_by_speaker ORDER BY hours DESC\"\n");
			return 0;
		case 'V': printf("db %s\n", ACCENT_VERSION); return 0;
		default: return 2;
		}
	}
	if (optind + 1 != argc)
		return usage_error("query", "%s", optind == argc ? "db query wants one SQL argument" : "db query wants exactly one SQL argument (quote it)");
	if ((rc = write ? open_manifest(&m) : open_manifest_ro(&m)))
		return fail(rc);
	rc = dbquery_exec(m, argv[optind], f, write ? DBQUERY_WRITE : 0, stdout, NULL);
	manifest_close(m);
	if (fflush(stdout) != 0 && !rc)
		rc = err_set(ACC_EIO, "cannot write the output");
	return rc ? fail(rc) : 0;
}

/*
 * The write commands (split, weights, export) are recorded in runs:
 * write_begin opens the manifest and starts the run; write_end closes the
 * run (with the counts when rc is 0, with the exit code otherwise) and the
 * manifest, and returns the command's exit status.
 */
static int write_begin(manifest **m, const char *stage, int argc, char **argv, int64_t *run)
{
	int rc = open_manifest(m);
	return rc ? rc : manifest_run_begin(*m, stage, argc, argv, run);
}

static int write_end(manifest *m, int64_t run, int rc, const char *counts)
{
	if (!rc)
		rc = manifest_run_end(m, run, 0, counts);
	else if (run)
		manifest_run_end(m, run, err_exit_code(rc), NULL);
	manifest_close(m);
	return rc ? fail(rc) : 0;
}

/* ------------------------------------------------------------------ split */

static int cmd_split(int argc, char **argv, int full_argc, char **full_argv)
{
	static const struct option opts[] = {
		{ "train", required_argument, 0, 'r' }, { "dev", required_argument, 0, 'd' },
		{ "test", required_argument, 0, 't' }, { "seed", required_argument, 0, 's' },
		{ "distinct-text", no_argument, 0, 'x' }, { "by-count", no_argument, 0, 'c' },
		{ "help", no_argument, 0, 'h' }, { "version", no_argument, 0, 'V' }, { 0, 0, 0, 0 },
	};
	split_opts o = SPLIT_OPTS_DEFAULT;
	split_stats st;
	char counts[256];
	manifest *m = NULL;
	int64_t run = 0;
	long long n;
	double d;
	int c, rc;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r': case 'd': case 't':
			if (cliopt_number(optarg, &d) || d < 0)
				return usage_error("split", "proportions are numbers >= 0, not '%s'", optarg);
			*(c == 'r' ? &o.train : c == 'd' ? &o.dev : &o.test) = d;
			break;
		case 's':
			if (cliopt_integer(optarg, &n) || n < 0)
				return usage_error("split", "--seed wants a non-negative integer, not '%s'", optarg);
			o.seed = (uint64_t)n;
			break;
		case 'x': o.distinct_text = 1; break;
		case 'c': o.by_count = 1; break;
		case 'h':
			printf("usage: db split [--train P] [--dev P] [--test P] [--seed N] [--distinct-text] [--by-count]\n\n"
			       "Assigns every utterance to train, dev or test so that each speaker (or, when\n"
			       "the speaker is unknown, each recording) is in exactly one split.  Per language,\n"
			       "speakers are ordered by a hash of the seed and their label and cut by the\n"
			       "proportions (default 0.8/0.1/0.1, normalized) of audio duration, or of\n"
			       "speakers with --by-count.  Same seed and data, same splits.\n\n"
			       "  --distinct-text  move utterances whose normalized sentence is also in a\n"
			       "                   higher split (test > dev > train) to split 'excluded'\n");
			return 0;
		case 'V': printf("db %s\n", ACCENT_VERSION); return 0;
		default: return 2;
		}
	}
	if (optind < argc)
		return usage_error("split", "unexpected argument '%s'", argv[optind]);
	if ((rc = write_begin(&m, "db split", full_argc, full_argv, &run)))
		goto out;
	if ((rc = balance_split(m, &o, &st)))
		goto out;
	printf("%-9s %9s %11s %9s\n", "split", "speakers", "utterances", "hours");
	for (int i = 0; i < 3; i++)
		printf("%-9s %9lld %11lld %9.3f\n", balance_split_name(i), (long long)st.speakers[i],
		       (long long)st.utterances[i], st.hours[i]);
	if (o.distinct_text)
		printf("excluded  %lld utterances (sentence in a higher split)\n", (long long)st.excluded);
	snprintf(counts, sizeof counts, "{\"train_speakers\":%lld,\"dev_speakers\":%lld,\"test_speakers\":%lld,"
		 "\"train\":%lld,\"dev\":%lld,\"test\":%lld,\"excluded\":%lld}",
		 (long long)st.speakers[0], (long long)st.speakers[1], (long long)st.speakers[2],
		 (long long)st.utterances[0], (long long)st.utterances[1], (long long)st.utterances[2],
		 (long long)st.excluded);
out:
	return write_end(m, run, rc, counts);
}

/* ---------------------------------------------------------------- weights */

static int cmd_weights(int argc, char **argv, int full_argc, char **full_argv)
{
	static const struct option opts[] = {
		{ "alpha", required_argument, 0, 'a' }, { "cap", required_argument, 0, 'c' },
		{ "no-accent", no_argument, 0, 'n' }, { "split", required_argument, 0, 's' },
		{ "status", required_argument, 0, 'S' },
		{ "help", no_argument, 0, 'h' }, { "version", no_argument, 0, 'V' }, { 0, 0, 0, 0 },
	};
	balance_opts o = BALANCE_OPTS_DEFAULT;
	balance_stats st;
	char counts[256];
	manifest *m = NULL;
	int64_t run = 0;
	double d;
	int c, rc;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			if (cliopt_number(optarg, &d) || d < 0 || d > 1)
				return usage_error("weights", "--alpha wants a number between 0 and 1, not '%s'", optarg);
			o.alpha = d;
			break;
		case 'c':
			if (cliopt_number(optarg, &d) || d < 0 || d > 1)
				return usage_error("weights", "--cap wants a share between 0 and 1, not '%s'", optarg);
			o.cap = d;
			break;
		case 'n': o.use_accent = 0; break;
		case 's': o.split = optarg; break;
		case 'S': o.status = optarg; break;
		case 'h':
			printf("usage: db weights [--alpha A] [--cap C] [--no-accent] [--split S] [--status S]\n\n"
			       "Recomputes utterances.weight = duration * T_s^(A-1), normalized to mean 1 over\n"
			       "the weighted utterances (T_s = the speaker's total duration).  A = 1 keeps the\n"
			       "natural distribution, A = 0 gives every speaker the same mass (default 0.5).\n"
			       "Speakers with a known accent are balanced by accent first, then within it\n"
			       "(--no-accent: speakers only).  --cap C: no speaker above a share C of the\n"
			       "total mass.  Only utterances of status S (default ok) and, with --split,\n"
			       "of that split get a weight; the others get NULL.\n");
			return 0;
		case 'V': printf("db %s\n", ACCENT_VERSION); return 0;
		default: return 2;
		}
	}
	if (optind < argc)
		return usage_error("weights", "unexpected argument '%s'", argv[optind]);
	if ((rc = write_begin(&m, "db weights", full_argc, full_argv, &run)))
		goto out;
	if ((rc = balance_weights(m, &o, &st)))
		goto out;
	printf("weighted %lld utterances of %lld speakers (%lld accent groups), alpha %g%s\n",
	       (long long)st.utterances, (long long)st.speakers, (long long)st.accents, o.alpha,
	       o.cap > 0 ? "" : ", no cap");
	if (o.cap > 0)
		printf("cap %g: %lld speakers held at the cap\n", o.cap, (long long)st.capped);
	printf("speaker share of the mass: min %.4g, max %.4g\n", st.min_share, st.max_share);
	snprintf(counts, sizeof counts, "{\"utterances\":%lld,\"speakers\":%lld,\"accents\":%lld,\"capped\":%lld}",
		 (long long)st.utterances, (long long)st.speakers, (long long)st.accents, (long long)st.capped);
out:
	return write_end(m, run, rc, counts);
}

/* ----------------------------------------------------------------- export */

static int cmd_export(int argc, char **argv, int full_argc, char **full_argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, 0, 'f' }, { "out", required_argument, 0, 'o' },
		{ "split", required_argument, 0, 's' }, { "lang", required_argument, 0, 'l' },
		{ "status", required_argument, 0, 'S' }, { "raw-text", no_argument, 0, 'r' },
		{ "help", no_argument, 0, 'h' }, { "version", no_argument, 0, 'V' }, { 0, 0, 0, 0 },
	};
	export_opts o = EXPORT_OPTS_DEFAULT;
	export_stats st;
	char counts[192];
	manifest *m = NULL;
	int64_t run = 0;
	int c, rc, have_format = 0;
	while ((c = getopt_long(argc, argv, "f:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (export_parse_format(optarg, &o.format))
				return usage_error("export", "--format must be nemo, kaldi, lhotse or hf-csv, not '%s'", optarg);
			have_format = 1;
			break;
		case 'o': o.out_dir = optarg; break;
		case 's': o.split = optarg; break;
		case 'l': o.lang = optarg; break;
		case 'S': o.status = optarg; break;
		case 'r': o.raw_text = 1; break;
		case 'h':
			printf("usage: db export --format nemo|kaldi|lhotse|hf-csv --out DIR\n"
			       "                 [--split S] [--lang L] [--status S] [--raw-text]\n\n"
			       "Writes one set of files per split (train, dev, test; 'unassigned' for\n"
			       "utterances with no split) with absolute audio paths:\n"
			       "  nemo    DIR/<split>_manifest.json (audio_filepath, offset, duration, text, ...)\n"
			       "  kaldi   DIR/<split>/wav.scp segments text utt2spk spk2utt utt2dur reco2dur\n"
			       "  lhotse  DIR/recordings_<split>.jsonl DIR/supervisions_<split>.jsonl\n"
			       "  hf-csv  DIR/<split>.csv (audio,utt_id,start_s,end_s,duration_s,text,...)\n"
			       "Only utterances of status S (default ok); text_norm unless --raw-text.\n"
			       "Files are replaced atomically, and only when all of them were written.\n");
			return 0;
		case 'V': printf("db %s\n", ACCENT_VERSION); return 0;
		default: return 2;
		}
	}
	if (optind < argc)
		return usage_error("export", "unexpected argument '%s'", argv[optind]);
	if (!have_format)
		return usage_error("export", "%s", "--format is required (nemo, kaldi, lhotse or hf-csv)");
	if (!o.out_dir)
		return usage_error("export", "%s", "--out DIR is required");
	if ((rc = write_begin(&m, "db export", full_argc, full_argv, &run)))
		goto out;
	if ((rc = export_write(m, &o, &st)))
		goto out;
	printf("exported %lld utterances (%lld recordings, %d split%s) as %s: %d files in %s\n",
	       (long long)st.utterances, (long long)st.recordings, st.splits, st.splits == 1 ? "" : "s",
	       export_format_name(o.format), st.files, o.out_dir);
	snprintf(counts, sizeof counts, "{\"utterances\":%lld,\"recordings\":%lld,\"files\":%d}",
		 (long long)st.utterances, (long long)st.recordings, st.files);
out:
	return write_end(m, run, rc, counts);
}

int db_report_main(int argc, char **argv, const char *manifest_path);  /* db/report.c */

int main(int argc, char **argv)
{
	/* one process: N copies under mpirun would race on the manifest */
	int rc = dist_init(&argc, &argv);
	if (rc) {
		err_print();
		return err_exit_code(rc);
	}
	if (dist_one_rank("db", NULL)) {
		if (dist_rank() == 0)
			err_print();
		dist_abort(2);
	}
	char **args = calloc((size_t)argc + 1, sizeof *args);
	int nargs = 0;
	if (!args)
		return 1;
	/* --manifest is global: accepted before or after the command. */
	for (int i = 0; i < argc; i++) {
		if (i && !strcmp(argv[i], "--manifest")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "error: --manifest wants a path\n");
				free(args);
				return 2;
			}
			manifest_path = argv[++i];
		} else if (i && !strncmp(argv[i], "--manifest=", 11)) {
			manifest_path = argv[i] + 11;
		} else {
			args[nargs++] = argv[i];
		}
	}
	if (nargs < 2 || !strcmp(args[1], "--help") || !strcmp(args[1], "-h") || !strcmp(args[1], "help")) {
		usage(nargs < 2 ? stderr : stdout);
		rc = nargs < 2 ? 2 : 0;
	} else if (!strcmp(args[1], "--version")) {
		printf("db %s\n", ACCENT_VERSION);
		rc = 0;
	} else {
		const char *cmd = args[1];
		int sub_argc = nargs - 1;
		char **sub_argv = args + 1;
		if (!strcmp(cmd, "stats"))
			rc = cmd_stats(sub_argc, sub_argv);
		else if (!strcmp(cmd, "check"))
			rc = cmd_check(sub_argc, sub_argv);
		else if (!strcmp(cmd, "query"))
			rc = cmd_query(sub_argc, sub_argv);
		else if (!strcmp(cmd, "split"))
			rc = cmd_split(sub_argc, sub_argv, argc, argv);
		else if (!strcmp(cmd, "weights"))
			rc = cmd_weights(sub_argc, sub_argv, argc, argv);
		else if (!strcmp(cmd, "export"))
			rc = cmd_export(sub_argc, sub_argv, argc, argv);
		else if (!strcmp(cmd, "report"))
			rc = db_report_main(sub_argc, sub_argv, manifest_path);
		else {
			fprintf(stderr, "error: unknown command '%s'\nhint: run 'db --help' for the list\n", cmd);
			rc = 2;
		}
	}
	free(args);
	return rc;
}
