/*
 * db/report.c — `db report`: argument parsing and the summary line; the
 * page is lib/report (queries in report.c, layout in report_html.c).
 */
#include "base/cliopt.h"
#include "base/err.h"
#include "manifest/manifest.h"
#include "report/report.h"
#include <getopt.h>
#include <stdio.h>
#include <time.h>

int db_report_main(int argc, char **argv, const char *manifest_path);

static void report_usage(void)
{
	printf("usage: db report --out FILE.html [--run ID] [--lang L]\n\n"
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
	       "stays small on manifests of millions of utterances.\n\n"
	       "  --out FILE  the page to write (replaced atomically)\n"
	       "  --run ID    only training run ID (train_runs.id) and the evaluations of its\n"
	       "              output directory\n"
	       "  --lang L    only language L (rejects, which have none, are all shown)\n\n"
	       "Charts are drawn by Chart.js, read from Debian's libjs-chart.js\n"
	       "(" REPORT_CHARTJS_DEFAULT ") or the file named by $ACCENT_CHARTJS.\n");
}

static int report_usage_error(const char *msg, const char *arg)
{
	fprintf(stderr, "error: %s%s%s%s\nhint: see 'db report --help'\n", msg, arg ? " '" : "", arg ? arg : "",
		arg ? "'" : "");
	return 2;
}

int db_report_main(int argc, char **argv, const char *manifest_path)
{
	static const struct option opts[] = {
		{ "out", required_argument, 0, 'o' }, { "run", required_argument, 0, 'r' },
		{ "lang", required_argument, 0, 'l' }, { "help", no_argument, 0, 'h' },
		{ "version", no_argument, 0, 'V' }, { 0, 0, 0, 0 },
	};
	report_opts o = { 0 };
	report_stats st = { 0 };
	const char *out = NULL;
	manifest *m = NULL;
	struct timespec t0, t1;
	long long n;
	int c, rc;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'r':
			if (cliopt_integer(optarg, &n) || n < 1)
				return report_usage_error("--run wants a training run number (train_runs.id), not", optarg);
			o.filter.train_run = n;
			break;
		case 'l':
			if (!*optarg)
				return report_usage_error("--lang wants a language code", NULL);
			o.filter.lang = optarg;
			break;
		case 'h': report_usage(); return 0;
		case 'V': printf("db %s\n", ACCENT_VERSION); return 0;
		default: return 2;
		}
	}
	if (optind < argc)
		return report_usage_error("unexpected argument", argv[optind]);
	if (!out)
		return report_usage_error("--out FILE is required (the HTML page to write)", NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((rc = manifest_open(&m, manifest_path, 0)) == 0)
		rc = report_write(m, &o, out, &st);
	manifest_close(m);
	if (rc) {
		err_print();
		return err_exit_code(rc);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("wrote %s (%.1f kB, %d charts, %d tables) in %.2f s\n", out, st.bytes / 1000.0, st.charts, st.tables,
	       (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9);
	return 0;
}
