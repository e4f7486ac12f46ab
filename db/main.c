/*
 * db/main.c — the `db` binary: look at and maintain a manifest (stats,
 * check, query, split, weights, export; report in db/report.c).  Argument
 * parsing and printing only; the work is in lib/manifest (dbstats, dbcheck,
 * dbquery, balance, export).  Each subcommand is an option table (each
 * option written once, for the parser and the help) and a function that
 * takes one option; db_parse runs them all alike.
 */
#include "db.h"
#include "manifest/balance.h"
#include "manifest/dbcheck.h"
#include "manifest/dbquery.h"
#include "manifest/dbstats.h"
#include "base/cliopt.h"
#include "base/dist.h"
#include "base/err.h"
#include "manifest/export.h"
#include "manifest/manifest.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *db_manifest_path = MANIFEST_DEFAULT;

static const char db_usage[] =
	"usage: db [--manifest PATH] <command> [options]\n"
	"\n"
	"Look at and maintain the manifest (" MANIFEST_DEFAULT " in the current directory unless\n"
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
	"Run 'db <command> --help' for a command's options.\n";

int db_parse(const db_cmd *cmd, int argc, char **argv, void *ctx)
{
	char name[64];
	const char *arg;
	int c, rc;
	snprintf(name, sizeof name, "db %s", cmd->name);
	while ((c = cliopt_next(argc, argv, cmd->opts, &arg)) != -1) {
		if (c == 'h') {
			cliopt_usage(stdout, cmd->head, cmd->opts, cmd->tail);
			if (cmd->more_help)
				cmd->more_help(stdout);
			return 0;
		}
		if (c == CLIOPT_VERSION) {
			printf("db %s\n", ACCENT_VERSION);
			return 0;
		}
		if (c == '?')
			return 2; /* getopt_long has said why */
		if ((rc = cmd->take(ctx, c, arg)))
			return rc;
	}
	if (!cmd->operands && optind < argc)
		return cliopt_usage_error(name, "unexpected argument '%s'", argv[optind]);
	return -1;
}

/* The commands that only read open the manifest read-only: they work on a
 * read-only file and can never change it. */
static int open_manifest(manifest **m, int write)
{
	return write ? manifest_open(m, db_manifest_path, 0) : manifest_open_ro(m, db_manifest_path);
}

/* ------------------------------------------------------------------ stats */

static const cliopt stats_table[] = {
	{ "format", 'f', "FMT", 'f', "table (default) or json" },
	{ "speakers", 's', "N", 's', "the N speakers with most audio (default 20, -1 = all, 0 = none)" },
	CLIOPT_HELP_ROWS,
	{ 0 },
};

static int stats_take(void *ctx, int id, const char *arg)
{
	dbstats_opts *o = ctx;
	long long n;
	if (id == 'f') {
		if (dbquery_parse_format(arg, &o->format) || o->format == DBQUERY_CSV)
			return cliopt_usage_error("db stats", "--format must be table or json, not '%s'", arg);
	} else if (id == 's') {
		if (cliopt_integer(arg, &n) || n < -1 || n > 1000000000)
			return cliopt_usage_error("db stats", "--speakers wants a count (-1 = all), not '%s'", arg);
		o->top_speakers = (int)n;
	}
	return 0;
}

static const db_cmd stats_cmd = {
	"stats",
	"usage: db stats [--format table|json] [--speakers N]\n\n"
	"Totals; hours and utterances by language and split, by status and by gender;\n"
	"the N speakers with most audio; rejects by reason; the utterance duration\n"
	"histogram.\n\n",
	NULL, stats_table, stats_take, 0, NULL,
};

static int cmd_stats(int argc, char **argv)
{
	dbstats_opts o = DBSTATS_OPTS_DEFAULT;
	manifest *m = NULL;
	int rc = db_parse(&stats_cmd, argc, argv, &o);
	if (rc >= 0)
		return rc;
	if ((rc = open_manifest(&m, 0)) == 0)
		rc = dbstats_print(m, &o, stdout);
	manifest_close(m);
	return cliopt_fail(rc);
}

/* ------------------------------------------------------------------ check */

enum { O_HASH = 256, O_NO_FILES, O_EXAMPLES, O_TOLERANCE, O_DISTINCT, O_TRAIN, O_DEV, O_TEST, O_SEED, O_BY_COUNT,
       O_ALPHA, O_CAP, O_NO_ACCENT, O_SPLIT, O_STATUS, O_LANG, O_RAW_TEXT };

static const cliopt check_table[] = {
	{ "hash", 0, NULL, O_HASH, "re-hash every file, not only those whose mtime changed" },
	{ "no-files", 0, NULL, O_NO_FILES, "skip the file checks" },
	{ "examples", 0, "N", O_EXAMPLES, "examples shown per finding (default 5)" },
	{ "tolerance", 0, "S", O_TOLERANCE, "seconds a span may pass its recording's end (default 0.05)" },
	{ "distinct-text", 0, NULL, O_DISTINCT,
	  "a sentence in two splits is a problem (splits made with\n--distinct-text); by default it is a note" },
	CLIOPT_HELP_ROWS,
	{ 0 },
};

static int check_take(void *ctx, int id, const char *arg)
{
	dbcheck_opts *o = ctx;
	long long n;
	double d;
	switch (id) {
	case O_HASH: o->hash = 1; break;
	case O_NO_FILES: o->skip_files = 1; break;
	case O_DISTINCT: o->distinct_text = 1; break;
	case O_EXAMPLES:
		if (cliopt_integer(arg, &n) || n < 0 || n > 1000000)
			return cliopt_usage_error("db check", "--examples wants a count, not '%s'", arg);
		o->max_examples = (int)n;
		break;
	case O_TOLERANCE:
		if (cliopt_number(arg, &d) || d < 0)
			return cliopt_usage_error("db check", "--tolerance wants seconds >= 0, not '%s'", arg);
		o->span_tolerance = d;
		break;
	}
	return 0;
}

static const db_cmd check_cmd = {
	"check",
	"usage: db check [--hash] [--no-files] [--examples N] [--tolerance S] [--distinct-text]\n\n"
	"Checks that every recording file still exists with the size (and, when its\n"
	"mtime changed or with --hash, the SHA-256) measured at ingest; that\n"
	"utterance spans lie inside their recordings (with S seconds of tolerance,\n"
	"default 0.05); that no row points to a missing row; and that no speaker,\n"
	"audio or normalized sentence is in more than one of train/dev/test.\n"
	"Orphan recordings/speakers and touched files are reported as notes.\n\n",
	"\nExit status: 0 no problems, 3 problems found, 4 database error.\n", check_table, check_take, 0, NULL,
};

static void check_print(const dbcheck_opts *o, const dbcheck_report *r)
{
	if (!o->skip_files)
		printf("checked %lld files (%lld hashed)\n", (long long)r->files_checked, (long long)r->files_hashed);
	for (int i = 0; i < DBCHECK_N; i++) {
		const dbcheck_item *it = &r->item[i];
		if (!it->count)
			continue;
		printf("%s %s: %lld %s\n", it->problem ? "PROBLEM" : "note   ", it->name, (long long)it->count, it->what);
		for (int k = 0; k < it->nexamples; k++)
			printf("    %s\n", it->examples[k]);
		if (it->count > it->nexamples && it->nexamples)
			printf("    ... and %lld more\n", (long long)(it->count - it->nexamples));
	}
	if (r->problems)
		printf("%lld problem%s found\n", (long long)r->problems, r->problems == 1 ? "" : "s");
	else
		printf("ok: no problems found\n");
}

static int cmd_check(int argc, char **argv)
{
	dbcheck_opts o = DBCHECK_OPTS_DEFAULT;
	dbcheck_report r;
	manifest *m = NULL;
	int rc = db_parse(&check_cmd, argc, argv, &o);
	if (rc >= 0)
		return rc;
	if ((rc = open_manifest(&m, 0)) == 0)
		rc = dbcheck_run(m, &o, &r);
	manifest_close(m);
	if (rc)
		return cliopt_fail(rc);
	check_print(&o, &r);
	rc = r.problems ? 3 : 0;
	dbcheck_report_free(&r);
	return rc;
}

/* ------------------------------------------------------------------ query */

typedef struct query_args {
	dbquery_format format;
	int write;
} query_args;

static const cliopt query_table[] = {
	{ "format", 'f', "FMT", 'f', "table (default), csv or json" },
	{ "write", 'w', NULL, 'w', "allow statements that change the manifest" },
	CLIOPT_HELP_ROWS,
	{ 0 },
};

static int query_take(void *ctx, int id, const char *arg)
{
	query_args *q = ctx;
	if (id == 'w')
		q->write = 1;
	else if (id == 'f' && dbquery_parse_format(arg, &q->format))
		return cliopt_usage_error("db query", "--format must be table, csv or json, not '%s'", arg);
	return 0;
}

/* After the option list: the examples, from the library that owns the
 * schema they read (test_dbtools runs them). */
static void query_examples(FILE *fp)
{
	fprintf(fp, "\nExamples:\n");
	for (const dbquery_example *e = dbquery_examples; e->sql; e++)
		fprintf(fp, "  db query %s\"%s\"\n", e->opts, e->sql);
}

static const db_cmd query_cmd = {
	"query",
	"usage: db query [--format table|csv|json] [--write] \"SQL\"\n\n"
	"Runs the SQL (several statements allowed) on the manifest and prints each\n"
	"result.  The manifest is opened read-only: a statement that would change\n"
	"it is refused unless --write is given.  ATTACH and VACUUM INTO are always\n"
	"refused.  Tables and views are documented in the schema (the first example).\n\n",
	NULL, query_table, query_take, 1, query_examples,
};

static int cmd_query(int argc, char **argv)
{
	query_args q = { DBQUERY_TABLE, 0 };
	manifest *m = NULL;
	int rc = db_parse(&query_cmd, argc, argv, &q);
	if (rc >= 0)
		return rc;
	if (optind + 1 != argc)
		return cliopt_usage_error("db query", "%s",
					  optind == argc ? "db query wants one SQL argument"
							 : "db query wants exactly one SQL argument (quote it)");
	if ((rc = open_manifest(&m, q.write)) == 0)
		rc = dbquery_exec(m, argv[optind], q.format, q.write ? DBQUERY_WRITE : 0, stdout, NULL);
	manifest_close(m);
	if (fflush(stdout) != 0 && !rc)
		rc = err_set(ACC_EIO, "cannot write the output");
	return cliopt_fail(rc);
}

/*
 * The write commands (split, weights, export) are recorded in runs:
 * write_run opens the manifest, starts the run (stage, with the whole
 * command line argv), runs work, which prints its summary and writes the
 * run's counts (JSON), and closes the run (with the counts when work
 * succeeded, with the exit code otherwise) and the manifest.  Returns the
 * command's exit status.
 */
typedef int (*write_work)(manifest *m, void *ctx, char *counts, size_t cap);

static int write_run(const char *stage, int argc, char **argv, void *ctx, write_work work)
{
	char counts[256] = "{}";
	manifest *m = NULL;
	int64_t run = 0;
	int rc = open_manifest(&m, 1);
	if (!rc && !(rc = manifest_run_begin(m, stage, argc, argv, &run)))
		rc = work(m, ctx, counts, sizeof counts);
	if (!rc)
		rc = manifest_run_end(m, run, 0, counts);
	else if (run)
		manifest_run_end(m, run, err_exit_code(rc), NULL);
	manifest_close(m);
	return cliopt_fail(rc);
}

/* ------------------------------------------------------------------ split */

static const cliopt split_table[] = {
	{ "train", 0, "P", O_TRAIN, "share of train (default 0.8; the three are normalized)" },
	{ "dev", 0, "P", O_DEV, "share of dev (default 0.1)" },
	{ "test", 0, "P", O_TEST, "share of test (default 0.1)" },
	{ "seed", 0, "N", O_SEED, "the seed of the speakers' order" },
	{ "distinct-text", 0, NULL, O_DISTINCT,
	  "move utterances whose normalized sentence is also in a\nhigher split (test > dev > train) to split 'excluded'" },
	{ "by-count", 0, NULL, O_BY_COUNT, "cut by number of speakers, not duration" },
	CLIOPT_HELP_ROWS,
	{ 0 },
};

static int split_take(void *ctx, int id, const char *arg)
{
	split_opts *o = ctx;
	long long n;
	double d;
	switch (id) {
	case O_TRAIN: case O_DEV: case O_TEST:
		if (cliopt_number(arg, &d) || d < 0)
			return cliopt_usage_error("db split", "proportions are numbers >= 0, not '%s'", arg);
		*(id == O_TRAIN ? &o->train : id == O_DEV ? &o->dev : &o->test) = d;
		break;
	case O_SEED:
		if (cliopt_integer(arg, &n) || n < 0)
			return cliopt_usage_error("db split", "--seed wants a non-negative integer, not '%s'", arg);
		o->seed = (uint64_t)n;
		break;
	case O_DISTINCT: o->distinct_text = 1; break;
	case O_BY_COUNT: o->by_count = 1; break;
	}
	return 0;
}

static const db_cmd split_cmd = {
	"split",
	"usage: db split [--train P] [--dev P] [--test P] [--seed N] [--distinct-text] [--by-count]\n\n"
	"Assigns every utterance to train, dev or test so that each speaker (or, when\n"
	"the speaker is unknown, each recording) is in exactly one split.  Per language,\n"
	"speakers are ordered by a hash of the seed and their label and cut by the\n"
	"proportions (default 0.8/0.1/0.1, normalized) of audio duration, or of\n"
	"speakers with --by-count.  Same seed and data, same splits.\n\n",
	NULL, split_table, split_take, 0, NULL,
};

static int split_work(manifest *m, void *ctx, char *counts, size_t cap)
{
	const split_opts *o = ctx;
	split_stats st;
	int rc = balance_split(m, o, &st);
	if (rc)
		return rc;
	printf("%-9s %9s %11s %9s\n", "split", "speakers", "utterances", "hours");
	for (int i = 0; i < 3; i++)
		printf("%-9s %9lld %11lld %9.3f\n", balance_split_name(i), (long long)st.speakers[i],
		       (long long)st.utterances[i], st.hours[i]);
	if (o->distinct_text)
		printf("excluded  %lld utterances (sentence in a higher split)\n", (long long)st.excluded);
	snprintf(counts, cap, "{\"train_speakers\":%lld,\"dev_speakers\":%lld,\"test_speakers\":%lld,"
		 "\"train\":%lld,\"dev\":%lld,\"test\":%lld,\"excluded\":%lld}",
		 (long long)st.speakers[0], (long long)st.speakers[1], (long long)st.speakers[2],
		 (long long)st.utterances[0], (long long)st.utterances[1], (long long)st.utterances[2],
		 (long long)st.excluded);
	return 0;
}

static int cmd_split(int argc, char **argv, int full_argc, char **full_argv)
{
	split_opts o = SPLIT_OPTS_DEFAULT;
	int rc = db_parse(&split_cmd, argc, argv, &o);
	return rc >= 0 ? rc : write_run("db split", full_argc, full_argv, &o, split_work);
}

/* ---------------------------------------------------------------- weights */

static const cliopt weights_table[] = {
	{ "alpha", 0, "A", O_ALPHA, "between 0 (every speaker the same mass) and 1 (natural; default 0.5)" },
	{ "cap", 0, "C", O_CAP, "no speaker above a share C of the total mass" },
	{ "no-accent", 0, NULL, O_NO_ACCENT, "balance speakers only, not accents first" },
	{ "split", 0, "S", O_SPLIT, "only utterances of split S get a weight" },
	{ "status", 0, "S", O_STATUS, "only utterances of status S get a weight (default ok)" },
	CLIOPT_HELP_ROWS,
	{ 0 },
};

static int weights_take(void *ctx, int id, const char *arg)
{
	balance_opts *o = ctx;
	double d;
	switch (id) {
	case O_ALPHA:
		if (cliopt_number(arg, &d) || d < 0 || d > 1)
			return cliopt_usage_error("db weights", "--alpha wants a number between 0 and 1, not '%s'", arg);
		o->alpha = d;
		break;
	case O_CAP:
		if (cliopt_number(arg, &d) || d < 0 || d > 1)
			return cliopt_usage_error("db weights", "--cap wants a share between 0 and 1, not '%s'", arg);
		o->cap = d;
		break;
	case O_NO_ACCENT: o->use_accent = 0; break;
	case O_SPLIT: o->split = arg; break;
	case O_STATUS: o->status = arg; break;
	}
	return 0;
}

static const db_cmd weights_cmd = {
	"weights",
	"usage: db weights [--alpha A] [--cap C] [--no-accent] [--split S] [--status S]\n\n"
	"Recomputes utterances.weight = duration * T_s^(A-1), normalized to mean 1 over\n"
	"the weighted utterances (T_s = the speaker's total duration).  A = 1 keeps the\n"
	"natural distribution, A = 0 gives every speaker the same mass (default 0.5).\n"
	"Speakers with a known accent are balanced by accent first, then within it\n"
	"(--no-accent: speakers only).  --cap C: no speaker above a share C of the\n"
	"total mass.  Only utterances of status S (default ok) and, with --split,\n"
	"of that split get a weight; the others get NULL.\n\n",
	NULL, weights_table, weights_take, 0, NULL,
};

static int weights_work(manifest *m, void *ctx, char *counts, size_t cap)
{
	const balance_opts *o = ctx;
	balance_stats st;
	int rc = balance_weights(m, o, &st);
	if (rc)
		return rc;
	printf("weighted %lld utterances of %lld speakers (%lld accent groups), alpha %g%s\n",
	       (long long)st.utterances, (long long)st.speakers, (long long)st.accents, o->alpha,
	       o->cap > 0 ? "" : ", no cap");
	if (o->cap > 0)
		printf("cap %g: %lld speakers held at the cap\n", o->cap, (long long)st.capped);
	printf("speaker share of the mass: min %.4g, max %.4g\n", st.min_share, st.max_share);
	snprintf(counts, cap, "{\"utterances\":%lld,\"speakers\":%lld,\"accents\":%lld,\"capped\":%lld}",
		 (long long)st.utterances, (long long)st.speakers, (long long)st.accents, (long long)st.capped);
	return 0;
}

static int cmd_weights(int argc, char **argv, int full_argc, char **full_argv)
{
	balance_opts o = BALANCE_OPTS_DEFAULT;
	int rc = db_parse(&weights_cmd, argc, argv, &o);
	return rc >= 0 ? rc : write_run("db weights", full_argc, full_argv, &o, weights_work);
}

/* ----------------------------------------------------------------- export */

typedef struct export_args {
	export_opts o;
	int have_format;
} export_args;

static const cliopt export_table[] = {
	{ "format", 'f', "FMT", 'f', "nemo, kaldi, lhotse or hf-csv (required)" },
	{ "out", 'o', "DIR", 'o', "the output directory (required)" },
	{ "split", 0, "S", O_SPLIT, "only split S" },
	{ "lang", 0, "L", O_LANG, "only language L" },
	{ "status", 0, "S", O_STATUS, "only utterances of status S (default ok)" },
	{ "raw-text", 0, NULL, O_RAW_TEXT, "the transcript as written (text_raw), not text_norm" },
	CLIOPT_HELP_ROWS,
	{ 0 },
};

static int export_take(void *ctx, int id, const char *arg)
{
	export_args *x = ctx;
	switch (id) {
	case 'f':
		if (export_parse_format(arg, &x->o.format))
			return cliopt_usage_error("db export", "--format must be nemo, kaldi, lhotse or hf-csv, not '%s'",
						  arg);
		x->have_format = 1;
		break;
	case 'o': x->o.out_dir = arg; break;
	case O_SPLIT: x->o.split = arg; break;
	case O_LANG: x->o.lang = arg; break;
	case O_STATUS: x->o.status = arg; break;
	case O_RAW_TEXT: x->o.raw_text = 1; break;
	}
	return 0;
}

static const db_cmd export_cmd = {
	"export",
	"usage: db export --format nemo|kaldi|lhotse|hf-csv --out DIR\n"
	"                 [--split S] [--lang L] [--status S] [--raw-text]\n\n"
	"Writes one set of files per split (train, dev, test; 'unassigned' for\n"
	"utterances with no split) with absolute audio paths:\n"
	"  nemo    DIR/<split>_manifest.json (audio_filepath, offset, duration, text, ...)\n"
	"  kaldi   DIR/<split>/wav.scp segments text utt2spk spk2utt utt2dur reco2dur\n"
	"  lhotse  DIR/recordings_<split>.jsonl DIR/supervisions_<split>.jsonl\n"
	"  hf-csv  DIR/<split>.csv (audio,utt_id,start_s,end_s,duration_s,text,...)\n"
	"Files are replaced atomically, and only when all of them were written.\n\n",
	NULL, export_table, export_take, 0, NULL,
};

static int export_work(manifest *m, void *ctx, char *counts, size_t cap)
{
	const export_opts *o = ctx;
	export_stats st;
	int rc = export_write(m, o, &st);
	if (rc)
		return rc;
	printf("exported %lld utterances (%lld recordings, %d split%s) as %s: %d files in %s\n",
	       (long long)st.utterances, (long long)st.recordings, st.splits, st.splits == 1 ? "" : "s",
	       export_format_name(o->format), st.files, o->out_dir);
	snprintf(counts, cap, "{\"utterances\":%lld,\"recordings\":%lld,\"files\":%d}",
		 (long long)st.utterances, (long long)st.recordings, st.files);
	return 0;
}

static int cmd_export(int argc, char **argv, int full_argc, char **full_argv)
{
	export_args x = { EXPORT_OPTS_DEFAULT, 0 };
	int rc = db_parse(&export_cmd, argc, argv, &x);
	if (rc >= 0)
		return rc;
	if (!x.have_format)
		return cliopt_usage_error("db export", "%s", "--format is required (nemo, kaldi, lhotse or hf-csv)");
	if (!x.o.out_dir)
		return cliopt_usage_error("db export", "%s", "--out DIR is required");
	return write_run("db export", full_argc, full_argv, &x.o, export_work);
}

/* ------------------------------------------------------------------- main */

/* --manifest is global: accepted before or after the command.  args gets
 * argv without it; *nargs its length.  0, or the exit status of a usage
 * error. */
static int take_manifest(int argc, char **argv, char **args, int *nargs)
{
	static const char opt[] = "--manifest";
	const size_t n = sizeof opt - 1;
	*nargs = 0;
	for (int i = 0; i < argc; i++) {
		if (i && !strcmp(argv[i], opt)) {
			if (i + 1 >= argc)
				return cliopt_usage_error("db", "%s wants a path", opt);
			db_manifest_path = argv[++i];
		} else if (i && !strncmp(argv[i], opt, n) && argv[i][n] == '=') {
			db_manifest_path = argv[i] + n + 1;
		} else {
			args[(*nargs)++] = argv[i];
		}
	}
	return 0;
}

/* The subcommand args[1] with its arguments; full argv for the runs row. */
static int run_command(int nargs, char **args, int argc, char **argv)
{
	const char *cmd = args[1];
	int sub_argc = nargs - 1;
	char **sub_argv = args + 1;
	if (!strcmp(cmd, "stats"))
		return cmd_stats(sub_argc, sub_argv);
	if (!strcmp(cmd, "check"))
		return cmd_check(sub_argc, sub_argv);
	if (!strcmp(cmd, "query"))
		return cmd_query(sub_argc, sub_argv);
	if (!strcmp(cmd, "split"))
		return cmd_split(sub_argc, sub_argv, argc, argv);
	if (!strcmp(cmd, "weights"))
		return cmd_weights(sub_argc, sub_argv, argc, argv);
	if (!strcmp(cmd, "export"))
		return cmd_export(sub_argc, sub_argv, argc, argv);
	if (!strcmp(cmd, "report"))
		return db_report_main(sub_argc, sub_argv);
	err_set(ACC_EINVAL, "unknown command '%s'", cmd);
	err_hint("run 'db --help' for the list");
	return cliopt_fail(ACC_EINVAL);
}

int main(int argc, char **argv)
{
	/* one process: N copies under mpirun would race on the manifest */
	int rc = dist_init(&argc, &argv);
	if (rc)
		return cliopt_fail(rc);
	if (dist_one_rank("db", NULL)) {
		if (dist_rank() == 0)
			err_print();
		dist_abort(2);
	}
	char **args = calloc((size_t)argc + 1, sizeof *args);
	int nargs = 0;
	if (!args)
		return 1;
	if ((rc = take_manifest(argc, argv, args, &nargs))) {
		free(args);
		return rc;
	}
	if (nargs < 2 || !strcmp(args[1], "--help") || !strcmp(args[1], "-h") || !strcmp(args[1], "help")) {
		fputs(db_usage, nargs < 2 ? stderr : stdout);
		rc = nargs < 2 ? 2 : 0;
	} else if (!strcmp(args[1], "--version")) {
		printf("db %s\n", ACCENT_VERSION);
		rc = 0;
	} else {
		rc = run_command(nargs, args, argc, argv);
	}
	free(args);
	return rc;
}
