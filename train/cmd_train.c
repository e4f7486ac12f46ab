/*
 * train/cmd_train.c — `train --manifest data.db --model DIR --lang CODE --out
 * DIR [options]` (also `train run ...`): parse the options and call
 * trainer_run() (lib/train/trainer.h), then print a summary.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cliopt.h"
#include "base/dist.h"
#include "base/err.h"
#include "model/ops.h"
#include "train/trainer.h"
#include "model/w2v_backward.h"
#include "model/w2v_precision.h"

static void train_usage(FILE *fp)
{
	fprintf(fp,
		"usage: train --model DIR --lang CODE --out DIR [--manifest data.db] [options]\n"
		"       train run ... (the same)\n"
		"\n"
		"Train a language adapter (MMS recipe: adapters in every layer + the LM head,\n"
		"base frozen), optionally the top K layers or the whole model, with CTC on the\n"
		"train split; validate on the dev split; keep the best checkpoint in --out as a\n"
		"Hugging Face directory (adapter.<lang>.safetensors, merged vocab.json, config.json).\n"
		"Metrics go to the manifest tables train_runs and train_metrics.\n"
		"\n"
		"options:\n"
		"  --manifest PATH      manifest database (default data.db)\n"
		"  --model DIR          base model directory (Hugging Face layout)\n"
		"  --lang CODE          language of the adapter (vocabulary: the model's vocab.json[CODE],\n"
		"                       else built from the train transcripts)\n"
		"  --out DIR            output directory (checkpoint and train_state.bin)\n"
		"  --data-lang CODE     train on the utterances whose utterances.lang is CODE (default:\n"
		"                       --lang's; 'all' = every language, e.g. for a multilingual base)\n"
		"  --steps N            optimizer steps (default 1000)\n"
		"  --lr X               peak learning rate (default 1e-3; 1e-4..5e-5 for full fine-tuning)\n"
		"  --warmup N           warmup steps (default 10%% of --steps)\n"
		"  --batch-seconds S    padded audio seconds per micro-batch (default 40)\n"
		"  --accum N            micro-batches per step (default 1)\n"
		"  --clip X             gradient-norm clip (default 1.0; 0 = off)\n"
		"  --weight-decay X     AdamW weight decay (default 0.01; not on biases and norms)\n"
		"  --seed N             seed of sampling and initialization (default 1)\n"
		"  --eval-every N       validate every N steps (default 100)\n"
		"  --save-every N       write the resume state every N steps (default: --eval-every)\n"
		"  --patience N         stop after N validations without improvement (default 0 = never);\n"
		"                       improvement: a lower dev CER, or an equal one with a lower dev loss;\n"
		"                       while CER >= 100%% (all blank) a falling dev loss counts\n"
		"  --freeze WHAT        adapters (default) | top:K | full | full+conv\n"
		"  --bottleneck N       adapter size for a new adapter (default: the model's, else 64)\n"
		"  --init xavier|kaiming  initialization of new adapters / head (default xavier)\n"
		"  --init-from LANG     start from the model's adapter.<LANG>.safetensors\n"
		"  --sampling MODE      balanced (manifest weights, default) | uniform | weighted-loss\n"
		"  --include-flagged    also use utterances flagged by `align`\n"
		"  --max-seconds S      skip utterances longer than S seconds (default 30)\n"
		"  --resume             continue from --out/train_state.bin\n"
		"  --stop-after N       stop after N steps of this invocation (state saved; --resume continues)\n"
		"  --precision P        fp32 (default) | bf16: matmuls in bf16 with fp32 accumulation\n"
		"                       (as PyTorch bf16 autocast); weights, gradients, AdamW stay fp32;\n"
		"                       warns where this CPU runs bf16 slower than fp32 (no AMX)\n"
		"  --quiet              no progress line\n"
		"\n"
		"Under `mpirun -np N` the N ranks train data-parallel: each step's N x --accum\n"
		"micro-batches (the batches of a one-process --accum N*accum run, same result bit\n"
		"for bit) are split among the ranks; only rank 0 reads the manifest and writes\n"
		"(see README, Running on a cluster).\n"
		"  --help, --version\n"
		"\n"
		"regularization (training forward only; defaults: the model's config.json, as HF):\n"
		"  --dropout P              hidden_dropout (attention/FFN outputs, encoder input)\n"
		"  --attention-dropout P    attention_dropout (softmax probabilities)\n"
		"  --activation-dropout P   activation_dropout (after the FFN activation)\n"
		"  --feat-proj-dropout P    feat_proj_dropout (feature projection output)\n"
		"  --final-dropout P        final_dropout (lm_head input)\n"
		"  --layerdrop P            layerdrop (skip each encoder layer with probability P)\n"
		"  --mask-time-prob P       SpecAugment time masking (frames := masked_spec_embed)\n"
		"  --mask-time-length N     frames per time mask span\n"
		"  --mask-feature-prob P    SpecAugment feature masking (channels := 0)\n"
		"  --mask-feature-length N  channels per feature mask span\n"
		"  --no-regularization      none of the above (the eval forward)\n");
}

static int num(const char *s, double *v, const char *opt)
{
	if (cliopt_number(s, v))
		return err_set(ACC_EINVAL, "%s needs a number, got '%s'", opt, s);
	return 0;
}

static int prob(const char *s, double *v, const char *opt)
{
	int rc = num(s, v, opt);
	if (!rc && !(*v >= 0 && *v <= 1))
		rc = err_set(ACC_EINVAL, "%s needs a probability in [0, 1], got '%s'", opt, s);
	return rc;
}

static int span(const char *s, int *n, const char *opt)
{
	double v;
	int rc = num(s, &v, opt);
	if (!rc && !(v >= 1 && v <= 100000 && v == (int)v))
		rc = err_set(ACC_EINVAL, "%s needs a whole number >= 1, got '%s'", opt, s);
	if (!rc)
		*n = (int)v;
	return rc;
}

int cmd_train(int argc, char **argv)
{
	trainer_opts o;
	trainer_result r;
	trainer_opts_default(&o);
	o.manifest = "data.db";
	o.argc = argc;
	o.argv = argv;
	const char *freeze = "adapters";
	long long top_k = 0;
	enum { O_MANIFEST = 256, O_MODEL, O_LANG, O_OUT, O_DLANG, O_STEPS, O_LR, O_WARMUP, O_BSEC, O_ACCUM,
	       O_CLIP, O_WD, O_SEED, O_EVAL, O_SAVE, O_PAT, O_FREEZE, O_BOTT, O_INIT, O_INITFROM, O_SAMP,
	       O_FLAG, O_MAXS, O_RESUME, O_STOP, O_QUIET, O_HELP, O_VERSION,
	       O_DROP, O_ADROP, O_ACTDROP, O_FPDROP, O_FDROP, O_LDROP, O_MTP, O_MTL, O_MFP, O_MFL, O_NOREG, O_PREC };
	static const struct option lo[] = {
		{ "manifest", 1, 0, O_MANIFEST }, { "model", 1, 0, O_MODEL }, { "lang", 1, 0, O_LANG },
		{ "out", 1, 0, O_OUT }, { "data-lang", 1, 0, O_DLANG }, { "steps", 1, 0, O_STEPS },
		{ "lr", 1, 0, O_LR }, { "warmup", 1, 0, O_WARMUP }, { "batch-seconds", 1, 0, O_BSEC },
		{ "accum", 1, 0, O_ACCUM }, { "clip", 1, 0, O_CLIP }, { "weight-decay", 1, 0, O_WD },
		{ "seed", 1, 0, O_SEED }, { "eval-every", 1, 0, O_EVAL }, { "save-every", 1, 0, O_SAVE },
		{ "patience", 1, 0, O_PAT }, { "freeze", 1, 0, O_FREEZE }, { "bottleneck", 1, 0, O_BOTT },
		{ "init", 1, 0, O_INIT }, { "init-from", 1, 0, O_INITFROM }, { "sampling", 1, 0, O_SAMP },
		{ "include-flagged", 0, 0, O_FLAG }, { "max-seconds", 1, 0, O_MAXS }, { "resume", 0, 0, O_RESUME },
		{ "stop-after", 1, 0, O_STOP }, { "quiet", 0, 0, O_QUIET }, { "help", 0, 0, O_HELP },
		{ "version", 0, 0, O_VERSION }, { "dropout", 1, 0, O_DROP }, { "attention-dropout", 1, 0, O_ADROP },
		{ "activation-dropout", 1, 0, O_ACTDROP }, { "feat-proj-dropout", 1, 0, O_FPDROP },
		{ "final-dropout", 1, 0, O_FDROP }, { "layerdrop", 1, 0, O_LDROP },
		{ "mask-time-prob", 1, 0, O_MTP }, { "mask-time-length", 1, 0, O_MTL },
		{ "mask-feature-prob", 1, 0, O_MFP }, { "mask-feature-length", 1, 0, O_MFL },
		{ "no-regularization", 0, 0, O_NOREG }, { "precision", 1, 0, O_PREC }, { 0, 0, 0, 0 } };
	int c, rc = 0;
	double v;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case O_MANIFEST: o.manifest = optarg; break;
		case O_MODEL: o.model_dir = optarg; break;
		case O_LANG: o.lang = optarg; break;
		case O_OUT: o.out_dir = optarg; break;
		case O_DLANG: o.data_lang = optarg; break;
		case O_STEPS: if (!(rc = num(optarg, &v, "--steps"))) o.steps = (int64_t)v; break;
		case O_LR: rc = num(optarg, &o.lr, "--lr"); break;
		case O_WARMUP: if (!(rc = num(optarg, &v, "--warmup"))) o.warmup = (int64_t)v; break;
		case O_BSEC: rc = num(optarg, &o.batch_seconds, "--batch-seconds"); break;
		case O_ACCUM: if (!(rc = num(optarg, &v, "--accum"))) o.accum = (int)v; break;
		case O_CLIP: rc = num(optarg, &o.clip, "--clip"); break;
		case O_WD: rc = num(optarg, &o.weight_decay, "--weight-decay"); break;
		case O_SEED: if (!(rc = num(optarg, &v, "--seed"))) o.seed = (uint64_t)v; break;
		case O_EVAL: if (!(rc = num(optarg, &v, "--eval-every"))) o.eval_every = (int64_t)v; break;
		case O_SAVE: if (!(rc = num(optarg, &v, "--save-every"))) o.save_every = (int64_t)v; break;
		case O_PAT: if (!(rc = num(optarg, &v, "--patience"))) o.patience = (int)v; break;
		case O_FREEZE: freeze = optarg; break;
		case O_BOTT: if (!(rc = num(optarg, &v, "--bottleneck"))) o.bottleneck = (int)v; break;
		case O_INIT:
			if (!strcmp(optarg, "xavier")) o.init_kaiming = 0;
			else if (!strcmp(optarg, "kaiming")) o.init_kaiming = 1;
			else rc = err_set(ACC_EINVAL, "--init must be xavier or kaiming, got '%s'", optarg);
			break;
		case O_INITFROM: o.init_from = optarg; break;
		case O_SAMP:
			if (!strcmp(optarg, "balanced")) o.sampling = TRAIN_SAMPLE_BALANCED;
			else if (!strcmp(optarg, "uniform")) o.sampling = TRAIN_SAMPLE_UNIFORM;
			else if (!strcmp(optarg, "weighted-loss")) o.sampling = TRAIN_SAMPLE_WEIGHTED_LOSS;
			else rc = err_set(ACC_EINVAL, "--sampling must be balanced, uniform or weighted-loss, got '%s'", optarg);
			break;
		case O_FLAG: o.include_flagged = 1; break;
		case O_MAXS: rc = num(optarg, &o.max_utt_seconds, "--max-seconds"); break;
		case O_RESUME: o.resume = 1; break;
		case O_STOP: if (!(rc = num(optarg, &v, "--stop-after"))) o.stop_after = (int64_t)v; break;
		case O_QUIET: o.quiet = 1; break;
		case O_DROP: rc = prob(optarg, &o.dropout, "--dropout"); break;
		case O_ADROP: rc = prob(optarg, &o.attention_dropout, "--attention-dropout"); break;
		case O_ACTDROP: rc = prob(optarg, &o.activation_dropout, "--activation-dropout"); break;
		case O_FPDROP: rc = prob(optarg, &o.feat_proj_dropout, "--feat-proj-dropout"); break;
		case O_FDROP: rc = prob(optarg, &o.final_dropout, "--final-dropout"); break;
		case O_LDROP: rc = prob(optarg, &o.layerdrop, "--layerdrop"); break;
		case O_MTP: rc = prob(optarg, &o.mask_time_prob, "--mask-time-prob"); break;
		case O_MFP: rc = prob(optarg, &o.mask_feature_prob, "--mask-feature-prob"); break;
		case O_MTL: rc = span(optarg, &o.mask_time_length, "--mask-time-length"); break;
		case O_MFL: rc = span(optarg, &o.mask_feature_length, "--mask-feature-length"); break;
		case O_NOREG: o.no_regularization = 1; break;
		case O_PREC:
			if (!strcmp(optarg, "fp32")) o.bf16 = 0;
			else if (!strcmp(optarg, "bf16")) o.bf16 = 1;
			else rc = err_set(ACC_EINVAL, "--precision must be fp32 or bf16, got '%s'", optarg);
			break;
		case 'h': case O_HELP: train_usage(stdout); return 0;
		case O_VERSION: printf("train (accent) %s\n", ACCENT_VERSION); return 0;
		default:
			rc = err_set(ACC_EINVAL, "unknown or incomplete option '%s'", argv[optind - 1]);
			err_hint("run 'train --help'");
		}
		if (rc)
			goto out;
	}
	if (optind < argc) {
		rc = err_set(ACC_EINVAL, "unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if (!o.model_dir || !o.lang || !o.out_dir) {
		rc = err_set(ACC_EINVAL, "--model, --lang and --out are required");
		err_hint("run 'train --help'");
		goto out;
	}
	/* the adapter's language is also the data's unless said otherwise */
	if (!o.data_lang)
		o.data_lang = o.lang;
	else if (!strcmp(o.data_lang, "all"))
		o.data_lang = NULL;
	if (!strcmp(freeze, "adapters")) {
		o.base_from = W2V_BWD_ADAPTERS;
	} else if (!strcmp(freeze, "full")) {
		o.base_from = 0;
	} else if (!strcmp(freeze, "full+conv")) {
		o.base_from = W2V_BWD_WITH_CONV;
	} else if (!strncmp(freeze, "top:", 4) && !cliopt_integer(freeze + 4, &top_k) && top_k > 0 &&
		   top_k <= W2V_MAX_LAYERS) {
		o.base_from = TRAINER_TOP((int)top_k);
	} else {
		rc = err_set(ACC_EINVAL, "--freeze must be adapters, top:K, full or full+conv, got '%s'", freeze);
		goto out;
	}
	if (o.bf16) {
		double speed;
		if (!w2v_precision_bf16_pays_off(&speed)) {
			if (speed > 0)
				fprintf(stderr, "warning: bf16 dot products run at %.2fx the fp32 FMA rate on this CPU "
				        "(no AMX): --precision bf16 will train slower than fp32\n", speed);
			else
				fprintf(stderr, "warning: this CPU has no %s: bf16 matmuls are emulated, far slower "
				        "than fp32\n", speed < 0 ? "AVX-512" : "AVX512_BF16");
			fprintf(stderr, "hint: --precision fp32 trains faster here\n");
		}
	}
	if (dist_rank() > 0)
		o.quiet = 1;   /* rank 0 reports for every rank */
	rc = trainer_run(&o, &r);
	if (rc || dist_rank() > 0)
		goto out;
	printf("train: %lld steps (%lld micro-batches skipped for NaN/Inf), %d train / %d dev utterances\n",
	       (long long)r.steps_done, (long long)r.skipped, r.n_train, r.n_dev);
	printf("train: loss %.4f -> %.4f, %.1f s of audio in %.1f s (%.2f audio s/s)\n", r.first_loss,
	       r.last_loss, r.audio_s, r.wall_s, r.audio_s / (r.wall_s > 0 ? r.wall_s : 1));
	if (r.best_step >= 0 && isfinite(r.best_cer))
		printf("train: best dev CER %.2f%% WER %.2f%% (loss %.4f) at step %lld%s; checkpoint in %s\n",
		       100 * r.best_cer, 100 * r.best_wer, r.best_loss, (long long)r.best_step,
		       r.early_stopped ? ", stopped early" : "", o.out_dir);
	else
		printf("train: checkpoint in %s\n", o.out_dir);
	if (dist_size() > 1)
		printf("train: %d ranks; rank 0 spent %.2f s of %.2f s in MPI calls (%.1f%%)\n", dist_size(),
		       dist_comm_seconds(), r.wall_s, 100.0 * dist_comm_seconds() / (r.wall_s > 0 ? r.wall_s : 1));
out:
	if (rc) {
		err_print();
		if (dist_size() > 1)
			dist_abort(err_exit_code(rc));   /* the other ranks would wait for this one */
		return err_exit_code(rc);
	}
	return 0;
}
