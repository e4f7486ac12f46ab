/*
 * db/report.c — `db report`: argument parsing and the summary line; the
 * page is lib/report (queries in report.c, layout in report_html.c).
 */
#include "db.h"
#include "base/cliopt.h"
#include "base/err.h"
#include "manifest/manifest.h"
#include "report/report.h"
#include <stdio.h>
#include <time.h>

typedef struct report_args {
	report_opts o;
	const char *out;
} report_args;

enum { O_RUN = 256, O_LANG };

static const cliopt report_table[] = {
	{ "out", 'o', "FILE", 'o', "the page to write (replaced atomically)" },
	{ "run", 0, "ID", O_RUN, "only training run ID (train_runs.id) and the evaluations of its\noutput directory" },
	{ "lang", 0, "L", O_LANG, "only language L (rejects, which have none, are all shown)" },
	CLIOPT_HELP_ROWS,
	{ 0 },
};

static int report_take(void *ctx, int id, const char *arg)
{
	report_args *a = ctx;
	long long n;
	switch (id) {
	case 'o': a->out = arg; break;
	case O_RUN:
		if (cliopt_integer(arg, &n) || n < 1)
			return cliopt_usage_error("db report",
						  "--run wants a training run number (train_runs.id), not '%s'", arg);
		a->o.filter.train_run = n;
		break;
	case O_LANG:
		if (!*arg)
			return cliopt_usage_error("db report", "%s", "--lang wants a language code");
		a->o.filter.lang = arg;
		break;
	}
	return 0;
}

static const db_cmd report_cmd = {
	"report",
	"usage: db report --out FILE.html [--run ID] [--lang L]\n\n"
	"Writes one self-contained HTML page about the manifest, to open in any browser\n"
	"offline (scripts and data inline, nothing fetched):\n"
	"  corpus      hours per language and split, speakers' natural vs balanced share,\n"
	"              durations, gender and accent, rejects by reason with examples\n"
	"  alignment   confidence histogram per language, flag counts, speaking-rate\n"
	"              outliers, the least confident alignments\n"
	"  training    learning curves per run (train/dev loss, dev CER/WER, learning\n"
	"              rate), best checkpoint marked\n"
	"  evaluation  CER/WER per decoder and condition; per speaker, gender, accent and\n"
	"              duration; the worst utterances with reference and hypothesis\n"
	"  header      manifest path, totals, schema versions, every run's command line\n"
	"Tables sort on a header click.  Everything is aggregated in SQL: the page\n"
	"stays small on manifests of millions of utterances.\n\n",
	"\nCharts are drawn by Chart.js, read from Debian's libjs-chart.js\n"
	"(" REPORT_CHARTJS_DEFAULT ") or the file named by $ACCENT_CHARTJS.\n",
	report_table, report_take, 0, NULL,
};

int db_report_main(int argc, char **argv)
{
	report_args a = { .out = NULL };
	report_stats st = { 0 };
	manifest *m = NULL;
	struct timespec t0, t1;
	int rc = db_parse(&report_cmd, argc, argv, &a);
	if (rc >= 0)
		return rc;
	if (!a.out)
		return cliopt_usage_error("db report", "%s", "--out FILE is required (the HTML page to write)");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((rc = manifest_open(&m, db_manifest_path, 0)) == 0)
		rc = report_write(m, &a.o, a.out, &st);
	manifest_close(m);
	if (rc)
		return cliopt_fail(rc);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("wrote %s (%.1f kB, %d charts, %d tables) in %.2f s\n", a.out, st.bytes / 1000.0, st.charts, st.tables,
	       (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9);
	return 0;
}
