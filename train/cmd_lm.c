/*
 * train/cmd_lm.c — `train lm`: estimate a word n-gram language model
 * (interpolated modified Kneser-Ney) from the manifest's normalized
 * train-split transcripts of one language and write it as ARPA.  Dev and
 * test text never enter the model; --ppl scores the dev transcripts.
 */
#include "cli.h"
#include "decode/arpa.h"
#include "base/err.h"
#include "decode/lm_build.h"
#include "manifest/manifest.h"
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { O_LANG = 256, O_OUT, O_ORDER, O_MANIFEST, O_PPL };

#define STR_(x) #x
#define STR(x) STR_(x)

static const cliopt opts[] = {
	{ "lang", 0, "CODE", O_LANG, "language of the utterances to use (required)" },
	{ "out", 0, "FILE", O_OUT, "ARPA file to write (default lm.<lang>.arpa)" },
	{ "order", 0, "N", O_ORDER, "n-gram order, 1.." STR(ARPA_MAX_ORDER) " (default 4)" },
	CLIOPT_MANIFEST(O_MANIFEST),
	{ "ppl", 0, NULL, O_PPL, "also report the perplexity on the dev split's transcripts" },
	CLIOPT_HELP_ROWS,
	{ 0 },
};

static void lm_usage(FILE *fp)
{
	cli_help(fp,
		"usage: train lm --lang CODE --out FILE.arpa [options]\n"
		"\n"
		"Build an n-gram language model (modified Kneser-Ney, ARPA format) from the\n"
		"normalized transcripts of the train split of one language.\n", opts, NULL);
}

/* The command line of `train lm`. */
typedef struct lm_cli {
	const char *lang, *out, *mpath;
	int         order, ppl;
} lm_cli;

/* One option into the command line (cli_cmd.set). */
static int set_option(void *ctx, int id, const char *arg)
{
	lm_cli *c = ctx;
	long long v;
	int rc = 0;
	switch (id) {
	case O_LANG: c->lang = arg; break;
	case O_OUT: c->out = arg; break;
	case O_MANIFEST: c->mpath = arg; break;
	case O_PPL: c->ppl = 1; break;
	case O_ORDER:
		if (!(rc = cli_integer(arg, 1, ARPA_MAX_ORDER, &v, "--order")))
			c->order = (int)v;
		break;
	}
	return rc;
}

int cmd_lm(int argc, char **argv)
{
	static const cli_cmd cmd = { "train lm", opts, lm_usage, set_option };
	lm_cli cl = { .mpath = MANIFEST_DEFAULT, .order = 4 };
	char outbuf[PATH_MAX];
	int rc;
	manifest *m = NULL;
	lm_build *b = NULL;
	arpa *lm = NULL;
	int64_t run_id = 0;
	lm_build_stats st;
	arpa_ppl dev = { 0 };

	if ((rc = cli_parse(&cmd, argc, argv, &cl)) >= 0)
		return rc;
	rc = 0;
	const char *lang = cl.lang, *out = cl.out, *mpath = cl.mpath;
	int order = cl.order, ppl = cl.ppl;
	if (optind < argc) {
		rc = err_set(ACC_EINVAL, "unexpected argument '%s'", argv[optind]);
		err_hint("run 'train lm --help'");
		return cli_fail(rc);
	}
	if (!lang) {
		rc = err_set(ACC_EINVAL, "--lang is required");
		err_hint("run 'train lm --help'");
		return cli_fail(rc);
	}
	if (!out) {
		snprintf(outbuf, sizeof outbuf, "lm.%s.arpa", lang);
		out = outbuf;
	}
	if ((rc = manifest_open(&m, mpath, 0)))
		goto out;
	if ((rc = manifest_run_begin(m, "train lm", argc, argv, &run_id)))
		goto out;
	if ((rc = lm_build_new(&b, order)))
		goto out;
	uint64_t n = 0;
	if ((rc = lm_build_add_manifest(b, m, lang, "train", &n)))
		goto out;
	if (!n) {
		rc = err_set(ACC_ENOTFOUND, "no train-split transcripts for language '%s' in %s", lang, mpath);
		manifest_langs_hint(m, "assign splits with 'db split'");
		goto out;
	}
	if ((rc = lm_build_estimate(b, &lm, &st)))
		goto out;
	if ((rc = arpa_write(lm, out)))
		goto out;
	printf("language model: %s (order %d, %s)\n", out, order, lang);
	printf("  train sentences %llu, words %llu, vocabulary %d\n", (unsigned long long)st.sentences,
	       (unsigned long long)st.tokens, arpa_vocab_size(lm));
	for (int k = 1; k <= order; k++)
		printf("  %d-grams %10llu   D1 %.4f  D2 %.4f  D3+ %.4f%s\n", k, (unsigned long long)arpa_count(lm, k),
		       st.discount[k - 1][0], st.discount[k - 1][1], st.discount[k - 1][2],
		       st.fallback[k - 1] ? "  (fallback: too few n-grams to estimate)" : "");
	if (ppl) {
		if ((rc = lm_ppl_manifest(lm, m, lang, "dev", &dev)))
			goto out;
		if (dev.sentences)
			printf("  dev perplexity %.2f (unknown words excluded; %.2f%% of %llu words unknown), %.2f including them\n",
			       arpa_ppl_value(&dev), dev.words ? 100.0 * dev.oov / dev.words : 0.0,
			       (unsigned long long)dev.words, arpa_ppl_value_with_oov(&dev));
		else
			printf("  dev perplexity: no dev-split transcripts for '%s'\n", lang);
	}
	char abspath[PATH_MAX];
	if (!realpath(out, abspath))
		snprintf(abspath, sizeof abspath, "%s", out);
	if ((rc = lm_record(m, run_id, abspath, lang, lm, &st, ppl ? &dev : NULL, NULL)))
		goto out;
out:
	if (m && run_id) {
		char counts[256];
		snprintf(counts, sizeof counts, "{\"sentences\":%llu,\"order\":%d}", lm ? (unsigned long long)st.sentences : 0ULL, order);
		manifest_run_end(m, run_id, err_exit_code(rc), counts);
	}
	arpa_free(lm);
	lm_build_free(b);
	manifest_close(m);
	return cli_fail(rc);
}
