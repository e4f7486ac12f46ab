/*
 * train/cmd_train.c — `train --manifest data.db --model DIR --lang CODE --out
 * DIR [options]` (also `train run ...`): parse the options and call
 * trainer_run() (lib/train/trainer.h), print what it tells on the way
 * (trainer_note) and a summary.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "base/dist.h"
#include "base/err.h"
#include "manifest/manifest.h"
#include "model/ops.h"
#include "model/w2v_backward.h"
#include "model/w2v_precision.h"
#include "train/trainer.h"

enum { O_MANIFEST = 256, O_MODEL, O_LANG, O_OUT, O_DLANG, O_STEPS, O_LR, O_WARMUP, O_BSEC, O_ACCUM,
       O_CLIP, O_WD, O_SEED, O_EVAL, O_SAVE, O_PAT, O_FREEZE, O_BOTT, O_INIT, O_INITFROM, O_SAMP,
       O_FLAG, O_MAXS, O_RESUME, O_STOP, O_BUDGET, O_PREC, O_QUIET, O_RECOMP,
       O_DROP, O_ADROP, O_ACTDROP, O_FPDROP, O_FDROP, O_LDROP, O_MTP, O_MTL, O_MFP, O_MFL, O_NOREG };

static const cliopt opts[] = {
	CLIOPT_MANIFEST(O_MANIFEST),
	{ "model", 0, "DIR", O_MODEL, "base model directory (Hugging Face layout)" },
	{ "lang", 0, "CODE", O_LANG, "language of the adapter (vocabulary: the model's vocab.json[CODE],\n"
	                             "else built from the train transcripts)" },
	{ "out", 0, "DIR", O_OUT, "output directory (checkpoint and train_state.bin)" },
	{ "data-lang", 0, "CODE", O_DLANG, "train on the utterances whose utterances.lang is CODE (default:\n"
	                                   "--lang's; 'all' = every language, e.g. for a multilingual base)" },
	{ "steps", 0, "N", O_STEPS, "optimizer steps (default 1000)" },
	{ "lr", 0, "X", O_LR, "peak learning rate (default 1e-3; 1e-4..5e-5 for full fine-tuning)" },
	{ "warmup", 0, "N", O_WARMUP, "warmup steps (default 10% of --steps)" },
	{ "batch-seconds", 0, "S", O_BSEC, "padded audio seconds per micro-batch (default 40)" },
	{ "accum", 0, "N", O_ACCUM, "micro-batches per step (default 1)" },
	{ "clip", 0, "X", O_CLIP, "gradient-norm clip (default 1.0; 0 = off)" },
	{ "weight-decay", 0, "X", O_WD, "AdamW weight decay (default 0.01; not on biases and norms)" },
	{ "seed", 0, "N", O_SEED, "seed of sampling and initialization (default 1)" },
	{ "eval-every", 0, "N", O_EVAL, "validate every N steps (default 100)" },
	{ "save-every", 0, "N", O_SAVE, "write the resume state every N steps (default: --eval-every)" },
	{ "patience", 0, "N", O_PAT, "stop after N validations without improvement (default 0 = never);\n"
	                             "improvement: a lower dev CER, or an equal one with a lower dev loss;\n"
	                             "while CER >= 100% (all blank) a falling dev loss counts" },
	{ "freeze", 0, "WHAT", O_FREEZE, "adapters (default) | top:K | full | full+conv" },
	{ "bottleneck", 0, "N", O_BOTT, "adapter size for a new adapter (default: the model's, else 64)" },
	{ "init", 0, "xavier|kaiming", O_INIT, "initialization of new adapters / head (default xavier)" },
	{ "init-from", 0, "LANG", O_INITFROM, "start from the model's adapter.<LANG>.safetensors" },
	{ "sampling", 0, "MODE", O_SAMP, "balanced (manifest weights, default) | uniform | weighted-loss" },
	{ "include-flagged", 0, NULL, O_FLAG, "also use utterances flagged by `align`" },
	{ "max-seconds", 0, "S", O_MAXS, "skip utterances longer than S seconds (default 30)" },
	{ "resume", 0, NULL, O_RESUME, "continue from --out/train_state.bin" },
	{ "stop-after", 0, "N", O_STOP, "stop after N steps of this invocation (state saved; --resume continues)" },
	{ "time-budget", 0, "S", O_BUDGET, "train for S wall seconds: the step that crosses S is the last one\n"
	                                    "(evaluated, best checkpoint kept); warmup and decay run over the\n"
	                                    "steps expected to fit S, --steps is the upper bound" },
	{ "precision", 0, "P", O_PREC, "fp32 (default) | bf16: matmuls in bf16 with fp32 accumulation\n"
	                               "(as PyTorch bf16 autocast); weights, gradients, AdamW stay fp32;\n"
	                               "warns where this CPU runs bf16 slower than fp32 (no AMX)" },
	{ "recompute", 0, NULL, O_RECOMP, "activation checkpointing: keep only each encoder layer's input and\n"
	                                  "re-run the layer in the backward (same results bit for bit; far\n"
	                                  "less activation memory on long batches, for one more forward of\n"
	                                  "the encoder layers per step)" },
	{ "quiet", 0, NULL, O_QUIET, "no progress line" },
	/* regularization: the training forward only; defaults: config.json, as HF */
	{ "dropout", 0, "P", O_DROP, "hidden_dropout (attention/FFN outputs, encoder input)" },
	{ "attention-dropout", 0, "P", O_ADROP, "attention_dropout (softmax probabilities)" },
	{ "activation-dropout", 0, "P", O_ACTDROP, "activation_dropout (after the FFN activation)" },
	{ "feat-proj-dropout", 0, "P", O_FPDROP, "feat_proj_dropout (feature projection output)" },
	{ "final-dropout", 0, "P", O_FDROP, "final_dropout (lm_head input)" },
	{ "layerdrop", 0, "P", O_LDROP, "layerdrop (skip each encoder layer with probability P)" },
	{ "mask-time-prob", 0, "P", O_MTP, "SpecAugment time masking (frames := masked_spec_embed)" },
	{ "mask-time-length", 0, "N", O_MTL, "frames per time mask span" },
	{ "mask-feature-prob", 0, "P", O_MFP, "SpecAugment feature masking (channels := 0)" },
	{ "mask-feature-length", 0, "N", O_MFL, "channels per feature mask span" },
	{ "no-regularization", 0, NULL, O_NOREG, "none of the regularization options (the eval forward)" },
	CLIOPT_HELP_ROWS,
	{ 0 },
};

static void train_usage(FILE *fp)
{
	cli_help(fp,
		"usage: train --model DIR --lang CODE --out DIR [--manifest " MANIFEST_DEFAULT "] [options]\n"
		"       train run ... (the same)\n"
		"\n"
		"Train a language adapter (MMS recipe: adapters in every layer + the LM head,\n"
		"base frozen), optionally the top K layers or the whole model, with CTC on the\n"
		"train split; validate on the dev split; keep the best checkpoint in --out as a\n"
		"Hugging Face directory (adapter.<lang>.safetensors, merged vocab.json, config.json).\n"
		"Metrics go to the manifest tables train_runs and train_metrics.\n",
		opts,
		"\n"
		"Regularization (--dropout ... --no-regularization) applies to the training\n"
		"forward only; its defaults are the model's config.json values, as in HF.\n"
		"\n"
		"Under `mpirun -np N` the N ranks train data-parallel: each step's N x --accum\n"
		"micro-batches (the batches of a one-process --accum N*accum run, same result bit\n"
		"for bit) are split among the ranks; only rank 0 reads the manifest and writes\n"
		"(see README, Running on a cluster).\n");
}

static int prob(const char *s, double *v, const char *opt)
{
	int rc = cli_number(s, v, opt);
	if (!rc && !(*v >= 0 && *v <= 1))
		rc = err_set(ACC_EINVAL, "%s needs a probability in [0, 1], got '%s'", opt, s);
	return rc;
}

static int span(const char *s, int *n, const char *opt)
{
	double v;
	int rc = cli_number(s, &v, opt);
	if (!rc && !(v >= 1 && v <= 100000 && v == (int)v))
		rc = err_set(ACC_EINVAL, "%s needs a whole number >= 1, got '%s'", opt, s);
	if (!rc)
		*n = (int)v;
	return rc;
}

/* What the trainer tells while it runs (lib prints nothing). */
static void print_note(void *arg, const trainer_note *n)
{
	const trainer_opts *o = arg;
	switch (n->kind) {
	case TRAINER_NOTE_UNK:
		if (!o->quiet)
			fprintf(stderr, "train: %lld characters not in the '%s' vocabulary were mapped to <unk>: %s\n",
			        (long long)n->count, o->lang, n->detail);
		break;
	case TRAINER_NOTE_SKIPPED:
		if (!o->quiet)
			fprintf(stderr, "\rtrain: step %lld: %lld micro-batch(es) with a NaN/Inf loss or gradient skipped\n",
			        (long long)n->step, (long long)n->count);
		break;
	case TRAINER_NOTE_NO_DEV:
		/* printed even with --quiet: without dev there is no validation */
		fprintf(stderr, "warning: no usable dev utterances%s%s%s: no validation, no early stopping and no best "
		        "checkpoint; the last step's weights are saved\n", o->data_lang ? " of language '" : "",
		        o->data_lang ? o->data_lang : "", o->data_lang ? "'" : "");
		fprintf(stderr, "hint: assign a dev split with `db split`\n");
		break;
	}
}

/* The command line: the options, and --freeze until it is checked. */
typedef struct train_cli {
	trainer_opts o;
	const char  *freeze;
} train_cli;

/* One option into the command line (cli_cmd.set). */
static int set_option(void *ctx, int c, const char *arg)
{
	train_cli *cl = ctx;
	trainer_opts *o = &cl->o;
	double v;
	int rc = 0;
	switch (c) {
	case O_MANIFEST: o->manifest = arg; break;
	case O_MODEL: o->model_dir = arg; break;
	case O_LANG: o->lang = arg; break;
	case O_OUT: o->out_dir = arg; break;
	case O_DLANG: o->data_lang = arg; break;
	case O_STEPS: if (!(rc = cli_number(arg, &v, "--steps"))) o->steps = (int64_t)v; break;
	case O_LR: rc = cli_number(arg, &o->lr, "--lr"); break;
	case O_WARMUP: if (!(rc = cli_number(arg, &v, "--warmup"))) o->warmup = (int64_t)v; break;
	case O_BSEC: rc = cli_number(arg, &o->batch_seconds, "--batch-seconds"); break;
	case O_ACCUM: if (!(rc = cli_number(arg, &v, "--accum"))) o->accum = (int)v; break;
	case O_CLIP: rc = cli_number(arg, &o->clip, "--clip"); break;
	case O_WD: rc = cli_number(arg, &o->weight_decay, "--weight-decay"); break;
	case O_SEED: if (!(rc = cli_number(arg, &v, "--seed"))) o->seed = (uint64_t)v; break;
	case O_EVAL: if (!(rc = cli_number(arg, &v, "--eval-every"))) o->eval_every = (int64_t)v; break;
	case O_SAVE: if (!(rc = cli_number(arg, &v, "--save-every"))) o->save_every = (int64_t)v; break;
	case O_PAT: if (!(rc = cli_number(arg, &v, "--patience"))) o->patience = (int)v; break;
	case O_FREEZE: cl->freeze = arg; break;
	case O_BOTT: if (!(rc = cli_number(arg, &v, "--bottleneck"))) o->bottleneck = (int)v; break;
	case O_INIT:
		if (!strcmp(arg, "xavier")) o->init_kaiming = 0;
		else if (!strcmp(arg, "kaiming")) o->init_kaiming = 1;
		else rc = err_set(ACC_EINVAL, "--init must be xavier or kaiming, got '%s'", arg);
		break;
	case O_INITFROM: o->init_from = arg; break;
	case O_SAMP:
		if (!strcmp(arg, "balanced")) o->sampling = TRAIN_SAMPLE_BALANCED;
		else if (!strcmp(arg, "uniform")) o->sampling = TRAIN_SAMPLE_UNIFORM;
		else if (!strcmp(arg, "weighted-loss")) o->sampling = TRAIN_SAMPLE_WEIGHTED_LOSS;
		else rc = err_set(ACC_EINVAL, "--sampling must be balanced, uniform or weighted-loss, got '%s'", arg);
		break;
	case O_FLAG: o->include_flagged = 1; break;
	case O_MAXS: rc = cli_number(arg, &o->max_utt_seconds, "--max-seconds"); break;
	case O_RESUME: o->resume = 1; break;
	case O_STOP: if (!(rc = cli_number(arg, &v, "--stop-after"))) o->stop_after = (int64_t)v; break;
	case O_BUDGET: if (!(rc = cli_number(arg, &v, "--time-budget"))) o->time_budget = v; break;
	case O_QUIET: o->quiet = 1; break;
	case O_RECOMP: o->recompute = 1; break;
	case O_DROP: rc = prob(arg, &o->dropout, "--dropout"); break;
	case O_ADROP: rc = prob(arg, &o->attention_dropout, "--attention-dropout"); break;
	case O_ACTDROP: rc = prob(arg, &o->activation_dropout, "--activation-dropout"); break;
	case O_FPDROP: rc = prob(arg, &o->feat_proj_dropout, "--feat-proj-dropout"); break;
	case O_FDROP: rc = prob(arg, &o->final_dropout, "--final-dropout"); break;
	case O_LDROP: rc = prob(arg, &o->layerdrop, "--layerdrop"); break;
	case O_MTP: rc = prob(arg, &o->mask_time_prob, "--mask-time-prob"); break;
	case O_MFP: rc = prob(arg, &o->mask_feature_prob, "--mask-feature-prob"); break;
	case O_MTL: rc = span(arg, &o->mask_time_length, "--mask-time-length"); break;
	case O_MFL: rc = span(arg, &o->mask_feature_length, "--mask-feature-length"); break;
	case O_NOREG: o->no_regularization = 1; break;
	case O_PREC:
		if (!strcmp(arg, "fp32")) o->bf16 = 0;
		else if (!strcmp(arg, "bf16")) o->bf16 = 1;
		else rc = err_set(ACC_EINVAL, "--precision must be fp32 or bf16, got '%s'", arg);
		break;
	}
	return rc;
}

/* --freeze into o->base_from. */
static int set_freeze(trainer_opts *o, const char *freeze)
{
	long long top_k = 0;
	if (!strcmp(freeze, "adapters"))
		o->base_from = W2V_BWD_ADAPTERS;
	else if (!strcmp(freeze, "full"))
		o->base_from = 0;
	else if (!strcmp(freeze, "full+conv"))
		o->base_from = W2V_BWD_WITH_CONV;
	else if (!strncmp(freeze, "top:", 4) && !cliopt_integer(freeze + 4, &top_k) && top_k > 0 &&
	         top_k <= W2V_MAX_LAYERS)
		o->base_from = TRAINER_TOP((int)top_k);
	else
		return err_set(ACC_EINVAL, "--freeze must be adapters, top:K, full or full+conv, got '%s'", freeze);
	return 0;
}

/* bf16 asked for: warn where this CPU runs it slower than fp32. */
static void warn_bf16(void)
{
	double speed;
	if (w2v_precision_bf16_pays_off(&speed))
		return;
	if (speed > 0)
		fprintf(stderr, "warning: bf16 dot products run at %.2fx the fp32 FMA rate on this CPU "
		        "(no AMX): --precision bf16 will train slower than fp32\n", speed);
	else
		fprintf(stderr, "warning: this CPU has no %s: bf16 matmuls are emulated, far slower "
		        "than fp32\n", speed < 0 ? "AVX-512" : "AVX512_BF16");
	fprintf(stderr, "hint: --precision fp32 trains faster here\n");
}

static void print_summary(const trainer_opts *o, const trainer_result *r)
{
	printf("train: %lld steps (%lld micro-batches skipped for NaN/Inf), %d train / %d dev utterances\n",
	       (long long)r->steps_done, (long long)r->skipped, r->n_train, r->n_dev);
	if (r->trainable > 0)
		printf("train: %lld trainable parameters (--freeze %s)\n", (long long)r->trainable, r->strategy);
	printf("train: loss %.4f -> %.4f, %.1f s of audio in %.1f s (%.2f audio s/s)\n", r->first_loss,
	       r->last_loss, r->audio_s, r->wall_s, r->audio_s / (r->wall_s > 0 ? r->wall_s : 1));
	if (r->best_step >= 0 && isfinite(r->best_cer))
		printf("train: best dev CER %.2f%% WER %.2f%% (loss %.4f) at step %lld%s; checkpoint in %s\n",
		       100 * r->best_cer, 100 * r->best_wer, r->best_loss, (long long)r->best_step,
		       r->early_stopped ? ", stopped early" : "", o->out_dir);
	else
		printf("train: checkpoint in %s\n", o->out_dir);
	if (dist_size() > 1)
		printf("train: %d ranks; rank 0 spent %.2f s of %.2f s in MPI calls (%.1f%%)\n", dist_size(),
		       dist_comm_seconds(), r->wall_s, 100.0 * dist_comm_seconds() / (r->wall_s > 0 ? r->wall_s : 1));
}

int cmd_train(int argc, char **argv)
{
	static const cli_cmd cmd = { "train", opts, train_usage, set_option };
	train_cli cl = { .freeze = "adapters" };
	trainer_opts *o = &cl.o;
	trainer_result r;
	trainer_opts_default(o);
	o->manifest = MANIFEST_DEFAULT;
	o->argc = argc;
	o->argv = argv;
	o->note = print_note;
	o->note_arg = o;
	int rc = cli_parse(&cmd, argc, argv, &cl);
	if (rc >= 0)
		return rc;
	rc = 0;
	if (optind < argc) {
		rc = err_set(ACC_EINVAL, "unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if (!o->model_dir || !o->lang || !o->out_dir) {
		rc = err_set(ACC_EINVAL, "--model, --lang and --out are required");
		err_hint("run 'train --help'");
		goto out;
	}
	/* the adapter's language is also the data's unless said otherwise */
	if (!o->data_lang)
		o->data_lang = o->lang;
	else if (!strcmp(o->data_lang, "all"))
		o->data_lang = NULL;
	if ((rc = set_freeze(o, cl.freeze)))
		goto out;
	if (o->bf16)
		warn_bf16();
	if (dist_rank() > 0)
		o->quiet = 1;   /* rank 0 reports for every rank */
	rc = trainer_run(o, &r);
	if (!rc && dist_rank() == 0)
		print_summary(o, &r);
out:
	if (rc && dist_size() > 1) {
		err_print();
		dist_abort(err_exit_code(rc));   /* the other ranks would wait for this one */
	}
	return cli_fail(rc);
}
