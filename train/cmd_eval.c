/*
 * train/cmd_eval.c — `train eval`: decode a split of the manifest with a
 * model (greedy, and CTC beam search with an n-gram LM when given), report
 * CER/WER overall and per speaker/gender/accent/duration, optionally under
 * robustness conditions (white or babble noise at SNRs, speed, gain) and
 * for the digits / mixed-script subsets; alpha/beta can be tuned on the dev
 * split by a grid search.  Results go to eval_runs / eval_utterances.
 */
#include "decode/arpa.h"
#include "audio/audio.h"
#include "decode/ctc_beam.h"
#include "base/cliopt.h"
#include "base/err.h"
#include "eval/eval.h"
#include "base/fsutil.h"
#include "manifest/manifest.h"
#include "base/progress.h"
#include "model/vocab.h"
#include "model/w2v.h"
#include "model/w2v_forward.h"
#include "model/w2v_infer.h"
#include "model/w2v_precision.h"
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LIST 16
#define MAX_COND 64

static void eval_usage(FILE *fp)
{
	fprintf(fp,
		"usage: train eval --model DIR --lang CODE [options]\n"
		"       train eval --model DIR --lang CODE [--lm FILE ...] --audio FILE...\n"
		"\n"
		"Decode a split of the manifest and report CER/WER (overall, per speaker,\n"
		"gender, accent/dialect, duration bucket; worst utterances).  Results are\n"
		"stored in the manifest tables eval_runs and eval_utterances.\n"
		"\n"
		"options:\n"
		"  --model DIR        model directory (Hugging Face layout; adapter.<lang>.safetensors used when present)\n"
		"  --lang CODE        language (required)\n"
		"  --split NAME       split to evaluate (default test)\n"
		"  --manifest PATH    manifest database (default data.db)\n"
		"  --lm FILE.arpa     n-gram LM for the beam decoder (greedy is always reported too)\n"
		"  --alpha A          LM weight (default 0.5)\n"
		"  --beta B           word insertion bonus (default 1.0)\n"
		"  --beam N           beam width (default 16; beam search runs when --lm or --beam is given)\n"
		"  --top-k K          tokens tried per frame (default 40; 0 = all)\n"
		"  --cutoff-prob P    tokens tried until their probability sums to P (default 0.999)\n"
		"  --lexicon          only words of the LM vocabulary (others at --unk-penalty with --allow-unk)\n"
		"  --no-unk           with --lexicon: forbid words outside the vocabulary\n"
		"  --unk-penalty X    log10 penalty of a word the LM does not know (default -10)\n"
		"  --unk-char-penalty X  log10 penalty per character of such a word (default -0.5)\n"
		"  --beam-prune X     drop prefixes X (natural log) below the best (default -10; 0 = off)\n"
		"  --grid A1,A2:B1,B2 tune alpha and beta on the dev split first (every pair), then evaluate\n"
		"  --noise-snr L      also evaluate with white noise at these SNRs in dB (e.g. 10,20)\n"
		"  --babble           noise made of 3 other utterances instead of white noise (SNRs from --noise-snr, default 10)\n"
		"  --speed L          also evaluate speed-perturbed audio (e.g. 0.9,1.1)\n"
		"  --gain L           also evaluate with gain changes in dB (e.g. -6,6; clipped at full scale)\n"
		"  --subset NAME      digits | mixed-script: only utterances with that prep flag\n"
		"  --limit N          at most N utterances\n"
		"  --worst N          worst utterances to list (default 10)\n"
		"  --audio FILE...    transcribe these audio files instead (no manifest; one line each:\n"
		"                     file, tab, text; beam search when --lm or --beam is given)\n"
		"  --precision P      auto (default), fp32, bf16 or int8: the model's arithmetic;\n"
		"                     auto picks int8 or bf16 where this CPU runs them faster\n"
		"  --bf16             same as --precision bf16\n"
		"  --seed S           noise seed (default 1)\n"
		"  --help, --version\n");
}

static int parse_list(const char *s, double *out, int max, const char *what)
{
	int n = 0;
	const char *p = s;
	while (*p) {
		char *e;
		double v = strtod(p, &e);
		if (e == p || (*e && *e != ',') || n == max || !isfinite(v))
			return err_set(ACC_EINVAL, "bad %s list '%s' (comma-separated numbers, at most %d)", what, s, max);
		out[n++] = v;
		p = *e ? e + 1 : e;
	}
	if (!n)
		return err_set(ACC_EINVAL, "empty %s list", what);
	return n;
}

static int parse_num(const char *s, double *v, const char *what)
{
	if (cliopt_number(s, v))
		return err_set(ACC_EINVAL, "%s must be a number, not '%s'", what, s);
	return 0;
}

/* Everything one evaluation needs, shared by the dev grid and the test run. */
typedef struct evalctx {
	w2v_model   *model;
	w2v_infer   *wi;
	vocab       *voc;
	const char **tokens, **beam_tokens;
	int          V, blank, delim;
	arpa        *lm;
	ctc_beam_opts bo;
	int          use_beam;
	progress     prog;
} evalctx;

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

/* Keep the first `limit` utterances (id order) of s. */
static void truncate_set(eval_set *s, int limit)
{
	if (limit <= 0 || s->n <= limit)
		return;
	for (int i = limit; i < s->n; i++) {
		eval_utt *u = &s->u[i];
		free(u->utt_key); free(u->audio_path); free(u->ref); free(u->speaker); free(u->gender); free(u->accent);
	}
	s->n = limit;
}

/* Audio of utterance u at 16 kHz. */
static int read_utt(const eval_utt *u, float **x, int64_t *n)
{
	int rc = audio_read_span(u->audio_path, u->start_s, u->end_s, x, n);
	return rc ? err_wrap(rc, "utterance %s", u->utt_key) : 0;
}

/* Emissions of one utterance under a condition; *lp malloc'ed [T, V]. */
static int emissions(evalctx *c, const eval_set *s, int i, const eval_condition *cond, uint64_t seed,
		     float **lp, int64_t *T, double *dur)
{
	float *x = NULL, *others[3] = { 0 };
	int64_t n = 0, on[3] = { 0 };
	int rc, no = 0;
	*lp = NULL;
	if ((rc = read_utt(&s->u[i], &x, &n)))
		goto out;
	if (cond->kind == EVAL_COND_BABBLE && s->n < 2) {
		rc = err_set(ACC_EINVAL, "babble noise is made of the other utterances of the evaluation set: at least 2 are needed");
		goto out;
	}
	if (cond->kind == EVAL_COND_BABBLE) {
		for (int k = 1; k <= 3 && k < s->n; k++)
			if ((rc = read_utt(&s->u[(i + k) % s->n], &others[no], &on[no])) == 0)
				no++;
			else
				goto out;
	}
	if ((rc = eval_condition_apply(cond, &x, &n, (const float *const *)others, on, no,
				       seed * 1000003u + (uint64_t)s->u[i].id)))
		goto out;
	*dur = (double)n / AUDIO_RATE;
	rc = w2v_infer_long_buf(c->wi, x, n, 0, -1, lp, T);
out:
	free(x);
	for (int k = 0; k < 3; k++)
		free(others[k]);
	return rc;
}

static int decode_beam(evalctx *c, ctc_decoder *d, const float *lp, int64_t T, char **hyp)
{
	double score;
	return ctc_decoder_decode(d, lp, (int)T, c->V, hyp, &score);
}

static void item_of(const eval_utt *u, const char *hyp, double dur, eval_item *it)
{
	memset(it, 0, sizeof *it);
	it->utt_id = u->id;
	it->utt_key = u->utt_key;
	it->ref = u->ref;
	it->hyp = hyp;
	it->duration_s = dur;
	it->speaker = u->speaker;
	it->gender = u->gender;
	it->accent = u->accent;
}

/* --audio: transcribe files (any format audio.h decodes, whole file). */
static int transcribe_files(evalctx *c, int n, char **paths)
{
	ctc_decoder *d = NULL;
	int rc = 0;
	if (c->use_beam && (rc = ctc_decoder_new(&d, c->beam_tokens, c->V, c->blank, c->delim, c->lm, &c->bo)))
		return rc;
	for (int i = 0; i < n && !rc; i++) {
		float *x = NULL, *lp = NULL;
		int64_t ns = 0, T = 0;
		char *hyp = NULL;
		if ((rc = audio_decode(paths[i], &x, &ns, NULL, NULL)) == 0 &&
		    (rc = w2v_infer_long_buf(c->wi, x, ns, 0, -1, &lp, &T)) == 0)
			rc = d ? decode_beam(c, d, lp, T, &hyp)
			       : ctc_greedy(lp, (int)T, c->V, c->V, c->tokens, c->blank, c->delim, &hyp);
		if (!rc)
			printf("%s\t%s\n", paths[i], hyp);
		else
			err_wrap(rc, "%s", paths[i]);
		free(hyp);
		free(lp);
		free(x);
	}
	ctc_decoder_free(d);
	return rc;
}

/* Grid search on dev: emissions once, every (alpha, beta) decoded. */
static int tune(evalctx *c, manifest *m, const char *lang, int limit, const double *as, int na, const double *bs,
		int nb, double *best_a, double *best_b)
{
	eval_set dev;
	int rc;
	float **lps = NULL;
	int64_t *Ts = NULL;
	eval_condition clean;
	eval_condition_set(&clean, EVAL_COND_CLEAN, 0);
	if ((rc = eval_set_load(&dev, m, lang, "dev", 0)))
		return rc;
	truncate_set(&dev, limit);
	if (!dev.n) {
		eval_set_free(&dev);
		return err_set(ACC_ENOTFOUND, "--grid needs dev-split utterances of '%s'", lang);
	}
	lps = calloc(dev.n, sizeof *lps);
	Ts = calloc(dev.n, sizeof *Ts);
	if (!lps || !Ts) {
		rc = err_set(ACC_ENOMEM, "out of memory");
		goto out;
	}
	progress_init(&c->prog, "dev emissions", "utt", dev.n);
	for (int i = 0; i < dev.n; i++) {
		double dur;
		if ((rc = emissions(c, &dev, i, &clean, 1, &lps[i], &Ts[i], &dur)))
			goto out;
		progress_add(&c->prog, 1);
	}
	progress_done(&c->prog);
	double best = INFINITY;
	printf("grid search on dev (%d utterances, beam %d):\n  %7s %7s %8s\n", dev.n, c->bo.beam, "alpha", "beta", "WER %");
	for (int ia = 0; ia < na; ia++)
		for (int ib = 0; ib < nb; ib++) {
			ctc_beam_opts o = c->bo;
			o.alpha = (float)as[ia];
			o.beta = (float)bs[ib];
			ctc_decoder *d = NULL;
			metrics_accum acc;
			metrics_accum_init(&acc);
			if ((rc = ctc_decoder_new(&d, c->beam_tokens, c->V, c->blank, c->delim, c->lm, &o)))
				goto out;
			for (int i = 0; i < dev.n && !rc; i++) {
				char *hyp = NULL;
				if (!(rc = decode_beam(c, d, lps[i], Ts[i], &hyp)))
					rc = metrics_accum_add(&acc, dev.u[i].ref, hyp);
				free(hyp);
			}
			ctc_decoder_free(d);
			if (rc)
				goto out;
			double w = metrics_accum_wer(&acc);
			printf("  %7.3g %7.3g %8.2f\n", as[ia], bs[ib], 100 * w);
			if (w < best) {
				best = w;
				*best_a = as[ia];
				*best_b = bs[ib];
			}
		}
	printf("  best: alpha %g, beta %g (dev WER %.2f%%)\n\n", *best_a, *best_b, 100 * best);
out:
	for (int i = 0; lps && i < dev.n; i++)
		free(lps[i]);
	free(lps);
	free(Ts);
	eval_set_free(&dev);
	return rc;
}

int cmd_eval(int argc, char **argv)
{
	enum { O_ALPHA = 256, O_BETA, O_BEAM, O_TOPK, O_CUTOFF, O_LEX, O_NOUNK, O_UNKP, O_GRID, O_SNR, O_BABBLE,
	       O_SPEED, O_GAIN, O_SUBSET, O_LIMIT, O_WORST, O_BF16, O_SEED, O_SPLIT, O_UNKC, O_PRUNE, O_AUDIO, O_PREC };
	static const struct option opts[] = {
		{ "model", required_argument, 0, 'M' }, { "lang", required_argument, 0, 'l' },
		{ "split", required_argument, 0, O_SPLIT }, { "manifest", required_argument, 0, 'm' },
		{ "lm", required_argument, 0, 'L' }, { "alpha", required_argument, 0, O_ALPHA },
		{ "beta", required_argument, 0, O_BETA }, { "beam", required_argument, 0, O_BEAM },
		{ "top-k", required_argument, 0, O_TOPK }, { "cutoff-prob", required_argument, 0, O_CUTOFF },
		{ "lexicon", no_argument, 0, O_LEX }, { "no-unk", no_argument, 0, O_NOUNK },
		{ "unk-penalty", required_argument, 0, O_UNKP }, { "unk-char-penalty", required_argument, 0, O_UNKC },
		{ "beam-prune", required_argument, 0, O_PRUNE }, { "audio", no_argument, 0, O_AUDIO }, { "grid", required_argument, 0, O_GRID },
		{ "noise-snr", required_argument, 0, O_SNR }, { "babble", no_argument, 0, O_BABBLE },
		{ "speed", required_argument, 0, O_SPEED }, { "gain", required_argument, 0, O_GAIN },
		{ "subset", required_argument, 0, O_SUBSET }, { "limit", required_argument, 0, O_LIMIT },
		{ "worst", required_argument, 0, O_WORST }, { "bf16", no_argument, 0, O_BF16 },
		{ "precision", required_argument, 0, O_PREC },
		{ "seed", required_argument, 0, O_SEED }, { "help", no_argument, 0, 'h' },
		{ "version", no_argument, 0, 'V' }, { 0, 0, 0, 0 }
	};
	const char *model_dir = NULL, *lang = NULL, *split = "test", *mpath = "data.db", *lm_path = NULL;
	const char *subset_name = "all", *grid = NULL;
	double snr[MAX_LIST], speed[MAX_LIST], gain[MAX_LIST], v, ga[MAX_LIST], gb[MAX_LIST];
	int nsnr = 0, nspeed = 0, ngain = 0, babble = 0, subset = 0, limit = 0, worst = 10, nga = 0, ngb = 0;
	w2v_precision prec = W2V_PREC_AUTO;
	char why[160];
	int beam_given = 0, audio_mode = 0, c, rc = 0;
	uint64_t seed = 1;
	evalctx ctx;
	manifest *m = NULL;
	eval_set set = { 0 };
	int64_t run_id = 0;
	char lm_abs[PATH_MAX], model_abs[PATH_MAX];
	int n_evals = 0;

	memset(&ctx, 0, sizeof ctx);
	ctc_beam_defaults(&ctx.bo);
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'M': model_dir = optarg; break;
		case 'l': lang = optarg; break;
		case O_SPLIT: split = optarg; break;
		case 'm': mpath = optarg; break;
		case 'L': lm_path = optarg; break;
		case O_ALPHA: if ((rc = parse_num(optarg, &v, "--alpha"))) goto out; ctx.bo.alpha = (float)v; break;
		case O_BETA: if ((rc = parse_num(optarg, &v, "--beta"))) goto out; ctx.bo.beta = (float)v; break;
		case O_BEAM:
			if ((rc = parse_num(optarg, &v, "--beam")))
				goto out;
			if (v < 1 || v > 100000 || v != floor(v)) {
				rc = err_set(ACC_EINVAL, "--beam must be an integer 1..100000");
				goto out;
			}
			ctx.bo.beam = (int)v;
			beam_given = 1;
			break;
		case O_TOPK: if ((rc = parse_num(optarg, &v, "--top-k"))) goto out; ctx.bo.top_k = (int)v; break;
		case O_CUTOFF: if ((rc = parse_num(optarg, &v, "--cutoff-prob"))) goto out; ctx.bo.cutoff_prob = (float)v; break;
		case O_LEX: ctx.bo.lexicon = 1; break;
		case O_NOUNK: ctx.bo.allow_unk = 0; break;
		case O_UNKP: if ((rc = parse_num(optarg, &v, "--unk-penalty"))) goto out; ctx.bo.unk_penalty = (float)v; break;
		case O_UNKC: if ((rc = parse_num(optarg, &v, "--unk-char-penalty"))) goto out; ctx.bo.unk_char_penalty = (float)v; break;
		case O_PRUNE: if ((rc = parse_num(optarg, &v, "--beam-prune"))) goto out; ctx.bo.beam_prune = (float)v; break;
		case O_GRID: grid = optarg; break;
		case O_SNR: if ((nsnr = parse_list(optarg, snr, MAX_LIST, "--noise-snr")) < 0) { rc = nsnr; goto out; } break;
		case O_BABBLE: babble = 1; break;
		case O_SPEED: if ((nspeed = parse_list(optarg, speed, MAX_LIST, "--speed")) < 0) { rc = nspeed; goto out; } break;
		case O_GAIN: if ((ngain = parse_list(optarg, gain, MAX_LIST, "--gain")) < 0) { rc = ngain; goto out; } break;
		case O_SUBSET:
			subset_name = optarg;
			if (!strcmp(optarg, "digits"))
				subset = EVAL_SUBSET_DIGITS;
			else if (!strcmp(optarg, "mixed-script"))
				subset = EVAL_SUBSET_MIXED_SCRIPT;
			else if (!strcmp(optarg, "all"))
				subset = 0;
			else {
				rc = err_set(ACC_EINVAL, "--subset must be digits, mixed-script or all, not '%s'", optarg);
				goto out;
			}
			break;
		case O_LIMIT: if ((rc = parse_num(optarg, &v, "--limit"))) goto out; limit = (int)v; break;
		case O_WORST: if ((rc = parse_num(optarg, &v, "--worst"))) goto out; worst = (int)v; break;
		case O_BF16: prec = W2V_PREC_BF16; break;
		case O_PREC:
			if (w2v_precision_parse(optarg, &prec)) {
				err_print();
				return 2;
			}
			break;
		case O_AUDIO: audio_mode = 1; break;
		case O_SEED: if ((rc = parse_num(optarg, &v, "--seed"))) goto out; seed = (uint64_t)v; break;
		case 'h': eval_usage(stdout); return 0;
		case 'V': printf("train eval (accent) %s\n", ACCENT_VERSION); return 0;
		default: eval_usage(stderr); return 2;
		}
	}
	if (optind < argc && !audio_mode) {
		rc = err_set(ACC_EINVAL, "unexpected argument '%s'", argv[optind]);
		err_hint("run 'train eval --help' (audio files to transcribe follow --audio)");
		goto out;
	}
	if (audio_mode && optind >= argc) {
		rc = err_set(ACC_EINVAL, "--audio needs audio files to transcribe");
		goto out;
	}
	if (!model_dir || !lang) {
		rc = err_set(ACC_EINVAL, "--model and --lang are required");
		err_hint("run 'train eval --help'");
		goto out;
	}
	if (grid) {
		const char *colon = strchr(grid, ':');
		char abuf[256];
		if (!colon || (size_t)(colon - grid) >= sizeof abuf) {
			rc = err_set(ACC_EINVAL, "--grid must look like 0.3,0.5,0.8:0,1,2 (alphas:betas)");
			goto out;
		}
		memcpy(abuf, grid, (size_t)(colon - grid));
		abuf[colon - grid] = 0;
		if ((nga = parse_list(abuf, ga, MAX_LIST, "--grid alpha")) < 0 ||
		    (ngb = parse_list(colon + 1, gb, MAX_LIST, "--grid beta")) < 0) {
			rc = nga < 0 ? nga : ngb;
			goto out;
		}
		if (!lm_path) {
			rc = err_set(ACC_EINVAL, "--grid tunes the LM weights: give --lm too");
			goto out;
		}
	}
	if (babble && !nsnr) {
		snr[0] = 10;
		nsnr = 1;
	}
	ctx.use_beam = lm_path || beam_given;

	/* Model, vocabulary, LM. */
	{
		char adapter[PATH_MAX], vpath[PATH_MAX];
		snprintf(adapter, sizeof adapter, "%s/adapter.%s.safetensors", model_dir, lang);
		prec = w2v_precision_resolve(prec, why, sizeof why);
		fprintf(stderr, "precision: %s (%s)\n", w2v_precision_name(prec), why);
		/* bf16/int8: each weight packed as it is read, its fp32 copy released */
		if ((rc = w2v_infer_load(&ctx.wi, &ctx.model, model_dir, fs_exists(adapter) ? lang : NULL,
		                         w2v_precision_flags(prec), 1)))
			goto out;
		snprintf(vpath, sizeof vpath, "%s/vocab.json", model_dir);
		if ((rc = vocab_load(&ctx.voc, vpath, lang)))
			goto out;
		ctx.V = vocab_size(ctx.voc);
		if (ctx.V != ctx.model->cfg.vocab_size) {
			rc = err_set(ACC_EFORMAT, "vocab.json for '%s' has %d tokens but the model's lm_head has %d", lang,
				     ctx.V, ctx.model->cfg.vocab_size);
			goto out;
		}
		ctx.blank = vocab_pad_id(ctx.voc);
		ctx.delim = vocab_delim_id(ctx.voc);
		ctx.tokens = calloc(ctx.V, sizeof *ctx.tokens);
		ctx.beam_tokens = calloc(ctx.V, sizeof *ctx.beam_tokens);
		if (!ctx.tokens || !ctx.beam_tokens) {
			rc = err_set(ACC_ENOMEM, "out of memory");
			goto out;
		}
		for (int i = 0; i < ctx.V; i++) {
			const char *t = vocab_token(ctx.voc, i);
			ctx.tokens[i] = t;
			/* sentence markers are never part of a transcript */
			ctx.beam_tokens[i] = t && (!strcmp(t, "<s>") || !strcmp(t, "</s>")) ? NULL : t;
		}
		if (lm_path) {
			if ((rc = arpa_load(&ctx.lm, lm_path)))
				goto out;
			if (!realpath(lm_path, lm_abs))
				snprintf(lm_abs, sizeof lm_abs, "%s", lm_path);
		}
		if (!realpath(model_dir, model_abs))
			snprintf(model_abs, sizeof model_abs, "%s", model_dir);
	}
	if (audio_mode) {
		rc = transcribe_files(&ctx, argc - optind, argv + optind);
		goto out;
	}
	if ((rc = manifest_open(&m, mpath, 0)))
		goto out;
	if ((rc = manifest_run_begin(m, "train eval", argc, argv, &run_id)))
		goto out;

	int tuned = 0;
	if (grid) {
		double a = ctx.bo.alpha, b = ctx.bo.beta;
		if ((rc = tune(&ctx, m, lang, limit, ga, nga, gb, ngb, &a, &b)))
			goto out;
		ctx.bo.alpha = (float)a;
		ctx.bo.beta = (float)b;
		tuned = 1;
	}

	if ((rc = eval_set_load(&set, m, lang, split, subset)))
		goto out;
	truncate_set(&set, limit);
	if (!set.n) {
		rc = err_set(ACC_ENOTFOUND, "no '%s' utterances of language '%s'%s%s in %s", split, lang,
			     subset ? " in subset " : "", subset ? subset_name : "", mpath);
		manifest_langs_hint(m, "check the splits with 'db stats'");
		goto out;
	}

	eval_condition conds[MAX_COND];
	int nc = 0;
	eval_condition_set(&conds[nc++], EVAL_COND_CLEAN, 0);
	for (int i = 0; i < nsnr; i++)
		eval_condition_set(&conds[nc++], babble ? EVAL_COND_BABBLE : EVAL_COND_WHITE, snr[i]);
	for (int i = 0; i < nspeed; i++)
		eval_condition_set(&conds[nc++], EVAL_COND_SPEED, speed[i]);
	for (int i = 0; i < ngain; i++)
		eval_condition_set(&conds[nc++], EVAL_COND_GAIN, gain[i]);

	summary_row sum[2 * MAX_COND];
	int nsum = 0;
	ctc_decoder *dec = NULL;
	if (ctx.use_beam && (rc = ctc_decoder_new(&dec, ctx.beam_tokens, ctx.V, ctx.blank, ctx.delim, ctx.lm, &ctx.bo)))
		goto out;
	printf("evaluating %d %s utterances of '%s'%s%s with %s\n\n", set.n, split, lang,
	       subset ? ", subset " : "", subset ? subset_name : "", model_dir);
	for (int ci = 0; ci < nc && !rc; ci++) {
		eval_report *rg = NULL, *rb = NULL;
		double t_greedy = 0, t_beam = 0;
		if ((rc = eval_report_new(&rg)) || (ctx.use_beam && (rc = eval_report_new(&rb)))) {
			eval_report_free(rg);
			break;
		}
		progress_init(&ctx.prog, conds[ci].name, "utt", set.n);
		for (int i = 0; i < set.n && !rc; i++) {
			float *lp = NULL;
			int64_t T = 0;
			double dur = 0;
			char *hg = NULL, *hb = NULL;
			eval_item it;
			if ((rc = emissions(&ctx, &set, i, &conds[ci], seed, &lp, &T, &dur)))
				break;
			double t0 = progress_now();
			rc = ctc_greedy(lp, (int)T, ctx.V, ctx.V, ctx.tokens, ctx.blank, ctx.delim, &hg);
			double t1 = progress_now();
			t_greedy += t1 - t0;
			if (!rc) {
				item_of(&set.u[i], hg, dur, &it);
				rc = eval_report_add(rg, &it);
			}
			if (!rc && rb) {
				rc = decode_beam(&ctx, dec, lp, T, &hb);
				t_beam += progress_now() - t1;
				if (!rc) {
					item_of(&set.u[i], hb, dur, &it);
					rc = eval_report_add(rb, &it);
				}
			}
			free(hg);
			free(hb);
			free(lp);
			progress_add(&ctx.prog, 1);
		}
		progress_done(&ctx.prog);
		if (!rc) {
			char title[256];
			eval_run_info info = { .run_id = run_id, .model_dir = model_abs, .lang = lang, .split = split,
					       .subset = subset_name, .condition = conds[ci].name, .decoder = "greedy",
					       .decode_s = t_greedy };
			snprintf(title, sizeof title, "%s / %s / greedy", split, conds[ci].name);
			if (ci == 0)
				eval_report_print(rg, stdout, title, !rb ? worst : 0);
			add_summary(sum, &nsum, conds[ci].name, "greedy", rg);
			rc = eval_report_store(rg, m, &info, NULL);
			n_evals++;
			if (!rc && rb) {
				info.decoder = "beam";
				info.lm_path = lm_path ? lm_abs : NULL;
				info.alpha = ctx.bo.alpha;
				info.beta = ctx.bo.beta;
				info.beam = ctx.bo.beam;
				info.tuned_on_dev = tuned;
				info.decode_s = t_beam;
				snprintf(title, sizeof title, "%s / %s / beam %d%s (alpha %g, beta %g)", split, conds[ci].name,
					 ctx.bo.beam, lm_path ? " + LM" : "", ctx.bo.alpha, ctx.bo.beta);
				if (ci == 0) {
					double audio = eval_report_audio_s(rb);
					printf("\n");
					eval_report_print(rb, stdout, title, worst);
					printf("  beam decoding: %.1f audio s/s (one core)\n", t_beam > 0 ? audio / t_beam : 0);
				}
				add_summary(sum, &nsum, conds[ci].name, "beam", rb);
				rc = eval_report_store(rb, m, &info, NULL);
				n_evals++;
			}
			if (ci == 0)
				printf("\n");
		}
		eval_report_free(rg);
		eval_report_free(rb);
	}
	ctc_decoder_free(dec);
	if (!rc && nc > 1) {
		printf("%s by condition:\n  %-16s %-7s %6s %8s %8s\n", split, "condition", "decoder", "utts", "CER %", "WER %");
		for (int i = 0; i < nsum; i++)
			printf("  %-16s %-7s %6d %8.2f %8.2f\n", sum[i].cond, sum[i].dec, sum[i].n, 100 * sum[i].cer, 100 * sum[i].wer);
		printf("\n");
	}
	if (!rc)
		printf("stored %d evaluation%s: SELECT * FROM eval_runs WHERE run_id = %lld;\n", n_evals,
		       n_evals == 1 ? "" : "s", (long long)run_id);
out:
	if (m && run_id) {
		char counts[128];
		snprintf(counts, sizeof counts, "{\"utterances\":%d,\"evaluations\":%d}", set.n, n_evals);
		manifest_run_end(m, run_id, err_exit_code(rc), counts);
	}
	if (rc)
		err_print();
	eval_set_free(&set);
	manifest_close(m);
	arpa_free(ctx.lm);
	w2v_infer_free(ctx.wi);
	w2v_free(ctx.model);
	vocab_free(ctx.voc);
	free(ctx.tokens);
	free(ctx.beam_tokens);
	return err_exit_code(rc);
}
