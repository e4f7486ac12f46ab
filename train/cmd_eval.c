/*
 * train/cmd_eval.c — `train eval`: the options of an evaluation, then the
 * runner of lib/eval/eval_run.h (decode a split of the manifest with a
 * model, greedy and with the CTC beam + n-gram LM when given, optionally
 * under robustness conditions and after an alpha/beta grid on dev, results
 * stored in eval_runs / eval_utterances), and the printed reports.
 */
#include "cli.h"
#include "base/err.h"
#include "eval/eval_run.h"
#include "manifest/manifest.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LIST EVAL_GRID_MAX
#define MAX_COND (1 + 3 * MAX_LIST)

enum { O_MODEL = 256, O_LANG, O_SPLIT, O_MANIFEST, O_LM, O_ALPHA, O_BETA, O_BEAM, O_TOPK, O_CUTOFF, O_LEX,
       O_NOUNK, O_UNKP, O_UNKC, O_PRUNE, O_GRID, O_SNR, O_BABBLE, O_SPEED, O_GAIN, O_SUBSET, O_LIMIT, O_WORST,
       O_AUDIO, O_PREC, O_BF16, O_SEED };

static const cliopt opts[] = {
	{ "model", 0, "DIR", O_MODEL, "model directory (Hugging Face layout; adapter.<lang>.safetensors used when present)" },
	{ "lang", 0, "CODE", O_LANG, "language (required)" },
	{ "split", 0, "NAME", O_SPLIT, "split to evaluate (default test)" },
	CLIOPT_MANIFEST(O_MANIFEST),
	{ "lm", 0, "FILE.arpa", O_LM, "n-gram LM for the beam decoder (greedy is always reported too)" },
	CLIOPT_ALPHA(O_ALPHA),
	{ "beta", 0, "B", O_BETA, "word insertion bonus (default 1.0)" },
	{ "beam", 0, "N", O_BEAM, "beam width (default 16; beam search runs when --lm or --beam is given)" },
	{ "top-k", 0, "K", O_TOPK, "tokens tried per frame (default 40; 0 = all)" },
	{ "cutoff-prob", 0, "P", O_CUTOFF, "tokens tried until their probability sums to P (default 0.999)" },
	{ "lexicon", 0, NULL, O_LEX, "only words of the LM vocabulary (others at --unk-penalty with --allow-unk)" },
	{ "no-unk", 0, NULL, O_NOUNK, "with --lexicon: forbid words outside the vocabulary" },
	{ "unk-penalty", 0, "X", O_UNKP, "log10 penalty of a word the LM does not know (default -10)" },
	{ "unk-char-penalty", 0, "X", O_UNKC, "log10 penalty per character of such a word (default -0.5)" },
	{ "beam-prune", 0, "X", O_PRUNE, "drop prefixes X (natural log) below the best (default -10; 0 = off)" },
	{ "grid", 0, "A1,A2:B1,B2[:U1,U2]", O_GRID, "tune alpha, beta (and the unknown-word penalty) on the dev split\n"
	                                        "first (every combination), then evaluate with the best" },
	{ "noise-snr", 0, "L", O_SNR, "also evaluate with white noise at these SNRs in dB (e.g. 10,20)" },
	{ "babble", 0, NULL, O_BABBLE, "noise made of 3 other utterances instead of white noise (SNRs from\n"
	                               "--noise-snr, default 10)" },
	{ "speed", 0, "L", O_SPEED, "also evaluate speed-perturbed audio (e.g. 0.9,1.1)" },
	{ "gain", 0, "L", O_GAIN, "also evaluate with gain changes in dB (e.g. -6,6; clipped at full scale)" },
	{ "subset", 0, "NAME", O_SUBSET, "digits | mixed-script: only utterances with that prep flag" },
	CLIOPT_LIMIT(O_LIMIT),
	{ "worst", 0, "N", O_WORST, "worst utterances to list (default 10)" },
	{ "audio", 0, NULL, O_AUDIO, "transcribe the audio files that follow the options instead (no manifest;\n"
	                             "one line each: file, tab, text; beam search when --lm or --beam is given)" },
	CLIOPT_PRECISION(O_PREC, O_BF16, ""),
	{ "seed", 0, "S", O_SEED, "noise seed (default 1)" },
	CLIOPT_HELP_ROWS,
	{ 0 },
};

static void eval_usage(FILE *fp)
{
	cli_help(fp,
		"usage: train eval --model DIR --lang CODE [options]\n"
		"       train eval --model DIR --lang CODE [--lm FILE ...] --audio FILE...\n"
		"\n"
		"Decode a split of the manifest and report CER/WER (overall, per speaker,\n"
		"gender, accent/dialect, duration bucket; worst utterances).  Results are\n"
		"stored in the manifest tables eval_runs and eval_utterances.\n", opts, NULL);
}

/* The command line of an evaluation. */
typedef struct eval_cli {
	eval_opts o;
	const char *grid;
	double snr[MAX_LIST], speed[MAX_LIST], gain[MAX_LIST];
	int nsnr, nspeed, ngain, babble, worst, beam_given, audio_mode;
} eval_cli;

/* One option into the command line (cli_cmd.set). */
static int set_option(void *ctx, int id, const char *arg)
{
	eval_cli *c = ctx;
	ctc_beam_opts *bo = &c->o.bo;
	double v;
	long long k;
	int rc = 0;
	switch (id) {
	case O_MODEL: c->o.model_dir = arg; break;
	case O_LANG: c->o.lang = arg; break;
	case O_SPLIT: c->o.split = arg; break;
	case O_MANIFEST: c->o.manifest = arg; break;
	case O_LM: c->o.lm_path = arg; break;
	case O_ALPHA: if (!(rc = cli_number(arg, &v, "--alpha"))) bo->alpha = (float)v; break;
	case O_BETA: if (!(rc = cli_number(arg, &v, "--beta"))) bo->beta = (float)v; break;
	case O_BEAM:
		if (!(rc = cli_integer(arg, 1, 100000, &k, "--beam"))) {
			bo->beam = (int)k;
			c->beam_given = 1;
		}
		break;
	case O_TOPK: if (!(rc = cli_number(arg, &v, "--top-k"))) bo->top_k = (int)v; break;
	case O_CUTOFF: if (!(rc = cli_number(arg, &v, "--cutoff-prob"))) bo->cutoff_prob = (float)v; break;
	case O_LEX: bo->lexicon = 1; break;
	case O_NOUNK: bo->allow_unk = 0; break;
	case O_UNKP: if (!(rc = cli_number(arg, &v, "--unk-penalty"))) bo->unk_penalty = (float)v; break;
	case O_UNKC: if (!(rc = cli_number(arg, &v, "--unk-char-penalty"))) bo->unk_char_penalty = (float)v; break;
	case O_PRUNE: if (!(rc = cli_number(arg, &v, "--beam-prune"))) bo->beam_prune = (float)v; break;
	case O_GRID: c->grid = arg; break;
	case O_SNR: if ((c->nsnr = eval_list_parse(arg, c->snr, MAX_LIST, "--noise-snr")) < 0) rc = c->nsnr; break;
	case O_BABBLE: c->babble = 1; break;
	case O_SPEED: if ((c->nspeed = eval_list_parse(arg, c->speed, MAX_LIST, "--speed")) < 0) rc = c->nspeed; break;
	case O_GAIN: if ((c->ngain = eval_list_parse(arg, c->gain, MAX_LIST, "--gain")) < 0) rc = c->ngain; break;
	case O_SUBSET:
		c->o.subset_name = arg;
		if (!strcmp(arg, "digits"))
			c->o.subset = EVAL_SUBSET_DIGITS;
		else if (!strcmp(arg, "mixed-script"))
			c->o.subset = EVAL_SUBSET_MIXED_SCRIPT;
		else if (!strcmp(arg, "all"))
			c->o.subset = 0;
		else
			rc = err_set(ACC_EINVAL, "--subset must be digits, mixed-script or all, not '%s'", arg);
		break;
	case O_LIMIT: if (!(rc = cli_number(arg, &v, "--limit"))) c->o.limit = (int)v; break;
	case O_WORST: if (!(rc = cli_number(arg, &v, "--worst"))) c->worst = (int)v; break;
	case O_BF16: c->o.precision = W2V_PREC_BF16; break;
	case O_PREC: rc = w2v_precision_parse(arg, &c->o.precision); break;
	case O_AUDIO: c->audio_mode = 1; break;
	case O_SEED: if (!(rc = cli_number(arg, &v, "--seed"))) c->o.seed = (uint64_t)v; break;
	}
	return rc;
}

/* --audio: one line per file. */
static int transcribe_files(eval_runner *r, int n, char **paths)
{
	int rc = 0;
	for (int i = 0; i < n && !rc; i++) {
		char *hyp = NULL;
		if (!(rc = eval_runner_transcribe(r, paths[i], &hyp)))
			printf("%s\t%s\n", paths[i], hyp);
		free(hyp);
	}
	return rc;
}

/* The dev grid, printed. */
static int tune(eval_runner *r, const char *grid)
{
	eval_grid_axes g;
	eval_grid_cell *cells = NULL;
	int best = -1, n_dev = 0, rc;
	if ((rc = eval_grid_parse(grid, &g)))
		return rc;
	if (!(cells = calloc((size_t)eval_grid_cells(&g), sizeof *cells)))
		return err_set(ACC_ENOMEM, "out of memory");
	if ((rc = eval_runner_tune(r, &g, cells, &best, &n_dev)))
		goto out;
	printf("grid search on dev (%d utterances, beam %d):\n  %7s %7s %7s %8s\n", n_dev, r->o.bo.beam, "alpha", "beta",
	       "unk", "WER %");
	for (int i = 0; i < eval_grid_cells(&g); i++)
		printf("  %7.3g %7.3g %7.3g %8.2f\n", cells[i].alpha, cells[i].beta, cells[i].unk, 100 * cells[i].wer);
	printf("  best: alpha %g, beta %g, unknown-word penalty %g (dev WER %.2f%%)\n\n", r->o.bo.alpha, r->o.bo.beta,
	       r->o.bo.unk_penalty, 100 * (best >= 0 ? cells[best].wer : INFINITY));
out:
	free(cells);
	return rc;
}

typedef struct summary_row {
	char        cond[32];
	const char *dec;
	int         n;
	double      cer, wer;
} summary_row;

static void add_summary(summary_row *rows, int *n, const char *cond, const char *dec, const eval_report *r)
{
	summary_row *x = &rows[(*n)++];
	snprintf(x->cond, sizeof x->cond, "%s", cond);
	x->dec = dec;
	x->n = eval_report_count(r);
	x->cer = metrics_accum_cer(eval_report_total(r));
	x->wer = metrics_accum_wer(eval_report_total(r));
}

/* Every condition evaluated, stored and printed (the clean one in full,
 * the others in the summary table). */
static int run_conditions(eval_runner *r, const eval_condition *conds, int nc, int worst)
{
	const eval_opts *o = &r->o;
	summary_row sum[2 * MAX_COND];
	int nsum = 0, rc = 0;
	printf("evaluating %d %s utterances of '%s'%s%s with %s\n\n", (int)r->set.n, o->split, o->lang,
	       o->subset ? ", subset " : "", o->subset ? o->subset_name : "", o->model_dir);
	for (int ci = 0; ci < nc && !rc; ci++) {
		eval_report *rg = NULL, *rb = NULL;
		double t_greedy = 0, t_beam = 0;
		char title[256];
		if ((rc = eval_runner_condition(r, &conds[ci], &rg, &rb, &t_greedy, &t_beam)))
			break;
		snprintf(title, sizeof title, "%s / %s / greedy", o->split, conds[ci].name);
		if (ci == 0)
			eval_report_print(rg, stdout, title, !rb ? worst : 0);
		add_summary(sum, &nsum, conds[ci].name, "greedy", rg);
		rc = eval_runner_store(r, rg, &conds[ci], 0, t_greedy);
		if (!rc && rb) {
			snprintf(title, sizeof title, "%s / %s / beam %d%s (alpha %g, beta %g)", o->split, conds[ci].name,
			         o->bo.beam, o->lm_path ? " + LM" : "", o->bo.alpha, o->bo.beta);
			if (ci == 0) {
				double audio = eval_report_audio_s(rb);
				printf("\n");
				eval_report_print(rb, stdout, title, worst);
				printf("  beam decoding: %.1f audio s/s (one core)\n", t_beam > 0 ? audio / t_beam : 0);
			}
			add_summary(sum, &nsum, conds[ci].name, "beam", rb);
			rc = eval_runner_store(r, rb, &conds[ci], 1, t_beam);
		}
		if (ci == 0)
			printf("\n");
		eval_report_free(rg);
		eval_report_free(rb);
	}
	if (!rc && nc > 1) {
		printf("%s by condition:\n  %-16s %-7s %6s %8s %8s\n", o->split, "condition", "decoder", "utts", "CER %",
		       "WER %");
		for (int i = 0; i < nsum; i++)
			printf("  %-16s %-7s %6d %8.2f %8.2f\n", sum[i].cond, sum[i].dec, sum[i].n, 100 * sum[i].cer,
			       100 * sum[i].wer);
		printf("\n");
	}
	if (!rc)
		printf("stored %d evaluation%s: SELECT * FROM eval_runs WHERE run_id = %lld;\n", r->n_evals,
		       r->n_evals == 1 ? "" : "s", (long long)r->run_id);
	return rc;
}

/* The options checked after parsing (usage errors). */
static int check_cli(eval_cli *c, int argc, char **argv)
{
	int rc = 0;
	if (optind < argc && !c->audio_mode) {
		rc = err_set(ACC_EINVAL, "unexpected argument '%s'", argv[optind]);
		err_hint("run 'train eval --help' (audio files to transcribe follow --audio)");
	} else if (c->audio_mode && optind >= argc) {
		rc = err_set(ACC_EINVAL, "--audio needs audio files to transcribe");
	} else if (!c->o.model_dir || !c->o.lang) {
		rc = err_set(ACC_EINVAL, "--model and --lang are required");
		err_hint("run 'train eval --help'");
	} else if (c->grid) {
		eval_grid_axes g;
		if (!(rc = eval_grid_parse(c->grid, &g)) && !c->o.lm_path)
			rc = err_set(ACC_EINVAL, "--grid tunes the LM weights: give --lm too");
	}
	return rc;
}

int cmd_eval(int argc, char **argv)
{
	eval_cli c;
	eval_runner r;
	eval_condition conds[MAX_COND];
	static const cli_cmd cmd = { "train eval", opts, eval_usage, set_option };
	int rc, nc = 0;
	memset(&c, 0, sizeof c);
	memset(&r, 0, sizeof r);
	c.o.manifest = MANIFEST_DEFAULT;
	c.o.split = "test";
	c.o.subset_name = "all";
	c.o.seed = 1;
	c.o.precision = W2V_PREC_AUTO;
	c.o.argc = argc;
	c.o.argv = argv;
	c.worst = 10;
	ctc_beam_defaults(&c.o.bo);
	if ((rc = cli_parse(&cmd, argc, argv, &c)) >= 0)
		return rc;
	if ((rc = check_cli(&c, argc, argv)))
		return cli_fail(rc);
	if (c.babble && !c.nsnr) {
		c.snr[0] = 10;
		c.nsnr = 1;
	}
	c.o.use_beam = c.o.lm_path || c.beam_given;
	eval_condition_set(&conds[nc++], EVAL_COND_CLEAN, 0);
	for (int i = 0; i < c.nsnr; i++)
		eval_condition_set(&conds[nc++], c.babble ? EVAL_COND_BABBLE : EVAL_COND_WHITE, c.snr[i]);
	for (int i = 0; i < c.nspeed; i++)
		eval_condition_set(&conds[nc++], EVAL_COND_SPEED, c.speed[i]);
	for (int i = 0; i < c.ngain; i++)
		eval_condition_set(&conds[nc++], EVAL_COND_GAIN, c.gain[i]);

	if ((rc = eval_runner_open(&r, &c.o)))
		goto out;
	fprintf(stderr, "precision: %s (%s)\n", w2v_precision_name(r.em.precision), r.em.precision_why);
	if (c.audio_mode) {
		rc = transcribe_files(&r, argc - optind, argv + optind);
		goto out;
	}
	if ((rc = eval_runner_begin(&r)))
		goto out;
	if (c.grid && (rc = tune(&r, c.grid)))
		goto out;
	if ((rc = eval_runner_load(&r)))
		goto out;
	rc = run_conditions(&r, conds, nc, c.worst);
out:
	eval_runner_close(&r, rc);
	return cli_fail(rc);
}
