/*
 * tools/aligneval/main.c — the `aligneval` binary: accuracy of the
 * manifest's forced alignments against a synthesized corpus's ground-truth
 * word timings (lib/eval/align_eval.h), per language: mean and median absolute
 * word-boundary error, share within 20 ms and 50 ms, start/end bias.
 */
#include "eval/align_eval.h"
#include "base/cliopt.h"
#include "base/err.h"
#include "manifest/manifest.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { O_TRUTH = 256, O_MANIFEST, O_LANG, O_JSON };
static const cliopt opts[] = {
	{ "truth", 0, "DIR", O_TRUTH, "ground-truth directory (repeatable: several corpora)" },
	CLIOPT_MANIFEST(O_MANIFEST),
	{ "lang", 0, "CODE", O_LANG, "only this language" },
	{ "json", 0, NULL, O_JSON, "print the result as JSON" },
	CLIOPT_HELP_ROWS,
	{ 0 },
};

static void usage(FILE *fp)
{
	cliopt_usage(fp,
		"usage: aligneval --truth DIR [--truth DIR ...] [options]\n"
		"\n"
		"Measure how close `align run`'s word boundaries (align_words) are to the\n"
		"synthesizer's ground truth (DIR = <corpus>/_truth written by `synth`; the\n"
		"corpus must have been ingested into the manifest).  Words are matched per\n"
		"recording by their normalized text; a word's start is scored when espeak\n"
		"measured it, its end when it ends an utterance or the next start was measured.\n"
		"\n", opts,
		"\n"
		"Columns: boundaries scored; mean/median |error| in ms; share within 20 and\n"
		"50 ms; bias = mean signed error (aligned - truth) of starts and of ends;\n"
		"matched = reference words paired with an aligned word.  For scale, published\n"
		"mean word-boundary errors are 21-27 ms (MFA) and 37-48 ms (torchaudio's MMS\n"
		"aligner) on TIMIT/Buckeye.\n"
		"\n"
		"exit status: 0 ok, 1 truth files, manifest or corpus not found, 2 bad usage,\n"
		"3 malformed truth files, 4 I/O or database failure.\n");
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

static void json_num(double v)
{
	if (isfinite(v))
		printf("%.3f", v);
	else
		printf("null");
}

static void print_json(align_eval_stats *s, int comma)
{
	printf("  {\"lang\": ");
	json_str(s->lang);
	printf(", \"recordings\": %lld, \"recordings_missing\": %lld, \"ref_words\": %lld, "
	       "\"aligned_words\": %lld, \"matched_words\": %lld, \"boundaries\": %lld, \"mean_ms\": ",
	       (long long)s->recordings, (long long)s->recordings_missing, (long long)s->ref_words,
	       (long long)s->hyp_words, (long long)s->matched_words, (long long)s->boundaries);
	json_num(align_eval_mean_ms(s));
	printf(", \"median_ms\": ");
	json_num(align_eval_median_ms(s));
	printf(", \"within20\": ");
	json_num(align_eval_share20(s));
	printf(", \"within50\": ");
	json_num(align_eval_share50(s));
	printf(", \"bias_start_ms\": ");
	json_num(align_eval_bias_start_ms(s));
	printf(", \"bias_end_ms\": ");
	json_num(align_eval_bias_end_ms(s));
	printf("}%s\n", comma ? "," : "");
}

static void print_row(align_eval_stats *s)
{
	double pm = s->ref_words ? 100.0 * (double)s->matched_words / (double)s->ref_words : NAN;
	printf("%-5s %10lld %7.1f%% %10lld %8.1f %9.1f %7.1f%% %7.1f%% %+9.1f %+9.1f\n", s->lang,
	       (long long)s->ref_words, pm, (long long)s->boundaries, align_eval_mean_ms(s), align_eval_median_ms(s),
	       100 * align_eval_share20(s), 100 * align_eval_share50(s), align_eval_bias_start_ms(s),
	       align_eval_bias_end_ms(s));
}

int main(int argc, char **argv)
{
	const char *mpath = MANIFEST_DEFAULT, *lang = NULL, *arg;
	const char **truths = NULL;
	int ntruth = 0, json = 0, rc = 0;
	manifest *m = NULL;
	align_eval_report rep = { 0 };
	truths = calloc((size_t)argc, sizeof *truths);
	if (!truths) {
		fprintf(stderr, "error: out of memory\n");
		return 1;
	}
	int c;
	while ((c = cliopt_next(argc, argv, opts, &arg)) != -1) {
		switch (c) {
		case O_TRUTH: truths[ntruth++] = arg; break;
		case O_MANIFEST: mpath = arg; break;
		case O_LANG: lang = arg; break;
		case O_JSON: json = 1; break;
		case 'h': usage(stdout); free(truths); return 0;
		case CLIOPT_VERSION: printf("aligneval (accent) %s\n", ACCENT_VERSION); free(truths); return 0;
		default: usage(stderr); free(truths); return 2;
		}
	}
	if (optind < argc || ntruth == 0) {
		fprintf(stderr, "error: %s\nhint: see 'aligneval --help'\n",
			ntruth == 0 ? "--truth DIR is required" : "unexpected argument");
		free(truths);
		return 2;
	}
	if ((rc = manifest_open(&m, mpath, 0)))
		goto out;
	for (int i = 0; i < ntruth; i++)
		if ((rc = align_eval_truth(m, truths[i], lang, &rep)))
			goto out;
	if (json) {
		printf("{\"manifest\": ");
		json_str(mpath);
		printf(", \"langs\": [\n");
		for (int i = 0; i < rep.n_langs; i++)
			print_json(&rep.langs[i], 1);
		print_json(&rep.total, 0);
		printf("]}\n");
	} else {
		printf("%-5s %10s %8s %10s %8s %9s %8s %8s %9s %9s\n", "lang", "ref_words", "matched", "boundaries",
		       "mean_ms", "median_ms", "<=20ms", "<=50ms", "bias_beg", "bias_end");
		for (int i = 0; i < rep.n_langs; i++)
			print_row(&rep.langs[i]);
		if (rep.n_langs > 1)
			print_row(&rep.total);
		if (rep.total.recordings_missing)
			printf("note: %lld of %lld reference recordings have no aligned words in %s\n",
			       (long long)rep.total.recordings_missing, (long long)rep.total.recordings, mpath);
		if (rep.total.boundaries == 0)
			printf("note: no boundary could be scored (run `align run` first?)\n");
	}
out:
	if (rc)
		err_print();
	align_eval_report_free(&rep);
	manifest_close(m);
	free(truths);
	return rc ? err_exit_code(rc) : 0;
}
