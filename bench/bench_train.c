/*
 * bench_train.c — adapter-training throughput of the C trainer's step
 * (forward W2V_FWD_TRAIN + HF-mean CTC + backward to the lowest adapter +
 * AdamW over adapters and lm_head), the same work as the PyTorch reference's
 * "train" mode in ../shared/bench/torch_ref (batch B x S seconds, 50 random
 * labels per utterance, random weights of a preset shape).
 *
 *   bench_train [--preset mms-300m] [--batch 4] [--seconds 5] [--steps 3]
 *               [--freeze adapters|full] [--precision fp32|bf16] [--recompute]
 *
 * Prints per-step time (median of the timed steps after one warm-up), audio
 * seconds per wall second, the split forward / CTC / backward / optimizer,
 * GFLOP/s from the reference's FLOP count when given (--gflop-per-step), and
 * peak RSS.  --precision bf16 runs forward and backward matmuls with bf16
 * operands and fp32 accumulation (PyTorch's bf16 autocast); activations,
 * gradients and AdamW stay fp32.  --recompute: activation checkpointing
 * (W2V_FWD_RECOMPUTE, as `train run --recompute`); the precision column
 * then reads e.g. "fp32+rc".
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "train/adamw.h"
#include "model/ctc.h"
#include "base/err.h"
#include "base/progress.h"
#include "model/w2v.h"
#include "model/w2v_backward.h"
#include "model/w2v_forward.h"

/* Forward FLOPs (2 per multiply-add) of the model on B utterances of n
 * samples: the conv feature encoder, feature projection, positional conv,
 * the layers' projections, FFN and attention products, adapters, lm_head;
 * norms and activations not counted. */
static double forward_flops(const w2v_config *c, int B, int64_t n, double *conv)
{
	double f = 0, T = (double)n;
	for (int i = 0; i < c->num_feat_extract_layers; i++) {
		double To = (double)((int64_t)((T - c->conv_kernel[i]) / c->conv_stride[i]) + 1);
		f += 2.0 * To * c->conv_dim[i] * (i ? c->conv_dim[i - 1] : 1) * c->conv_kernel[i];
		T = To;
	}
	*conv = f * B;
	double H = c->hidden_size, FF = c->intermediate_size, A = c->adapter_attn_dim;
	double C = c->conv_dim[c->num_feat_extract_layers - 1];
	f += 2.0 * T * C * H;
	f += 2.0 * T * H * (H / c->num_conv_pos_embedding_groups) * c->num_conv_pos_embeddings;
	f += c->num_hidden_layers * (2.0 * T * (4 * H * H + 2 * H * FF + 2 * H * A) + 4.0 * T * T * H);
	f += 2.0 * T * H * c->vocab_size;
	return f * B;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	const char *preset = "mms-300m", *freeze = "adapters", *prec = "fp32", *model_dir = NULL;
	int B = 4, steps = 3, recompute = 0;
	double secs = 5, gflop = 0;
	double peak = 0;   /* fp32 matmul ceiling (bench_infer --matmul), 0 = none */
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--preset") && i + 1 < argc) preset = argv[++i];
		else if (!strcmp(argv[i], "--model") && i + 1 < argc) model_dir = argv[++i];
		else if (!strcmp(argv[i], "--batch") && i + 1 < argc) B = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) secs = atof(argv[++i]);
		else if (!strcmp(argv[i], "--steps") && i + 1 < argc) steps = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--freeze") && i + 1 < argc) freeze = argv[++i];
		else if (!strcmp(argv[i], "--precision") && i + 1 < argc) prec = argv[++i];
		else if (!strcmp(argv[i], "--gflop-per-step") && i + 1 < argc) gflop = atof(argv[++i]);
		else if (!strcmp(argv[i], "--peak-gflops") && i + 1 < argc) peak = atof(argv[++i]);
		else if (!strcmp(argv[i], "--recompute")) recompute = 1;
		else if (!strcmp(argv[i], "--help")) {
			printf("usage: bench_train [--preset P] [--batch B] [--seconds S] [--steps N] "
			       "[--freeze adapters|full|full+conv] [--precision fp32|bf16] [--gflop-per-step G] "
			       "[--model DIR] [--peak-gflops G] [--recompute]\n"
			       "--recompute: activation checkpointing (each layer's forward re-run in the backward)\n"
			       "--peak-gflops G: count the step's FLOPs (the forward's matmuls and convolutions,\n"
			       "x3 where the backward runs) and report them as a share of G, the fp32 matmul\n"
			       "ceiling that `bench_infer --matmul` measured on this machine\n");
			return 0;
		} else {
			fprintf(stderr, "error: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	if (strcmp(prec, "fp32") && strcmp(prec, "bf16")) {
		fprintf(stderr, "error: --precision must be fp32 or bf16, got '%s'\n", prec);
		return 2;
	}
	int bf16 = !strcmp(prec, "bf16");
	if (recompute)
		prec = bf16 ? "bf16+rc" : "fp32+rc";
	w2v_config c;
	w2v_model *m = NULL;
	w2v_fwd *f = NULL;
	w2v_bwd *bk = NULL;
	int full = !strcmp(freeze, "full") || !strcmp(freeze, "full+conv");
	int base_from = full ? (strcmp(freeze, "full+conv") ? 0 : W2V_BWD_WITH_CONV) : W2V_BWD_ADAPTERS;
	if (model_dir) {
		if (w2v_load(&m, model_dir, NULL)) {
			err_print();
			return 1;
		}
		c = m->cfg;
		preset = model_dir;
	} else if (w2v_config_preset(&c, preset) || w2v_model_alloc(&m, &c) || w2v_init_random(m, 1)) {
		err_print();
		return 1;
	}
	if (w2v_fwd_create(&f, m, W2V_FWD_TRAIN | (base_from < 0 ? W2V_FWD_TRAIN_FEAT : 0) | (bf16 ? W2V_FWD_BF16 : 0) |
	                   (recompute ? W2V_FWD_RECOMPUTE : 0)) ||
	    w2v_bwd_create(&bk)) {
		err_print();
		return 1;
	}
	w2v_fwd_set_frozen_below(f, base_from);   /* as the trainer does */
	if (bf16 && base_from == W2V_BWD_ADAPTERS && w2v_fwd_release_frozen(f, m)) {
		err_print();
		return 1;
	}
	int n = (int)(secs * 16000);
	float *x = malloc(sizeof(float) * B * n);
	uint64_t s = 1;
	for (size_t i = 0; i < (size_t)B * n; i++) {
		s = s * 6364136223846793005ull + 1442695040888963407ull;
		x[i] = (float)((double)(s >> 11) / 9007199254740992.0 * 2 - 1);
	}
	int64_t len[64];
	for (int b = 0; b < B && b < 64; b++)
		len[b] = n;
	int S = 50, V = c.vocab_size;
	int *tgt = malloc(sizeof(int) * B * S);
	int64_t tl[64];
	for (int i = 0; i < B * S; i++)
		tgt[i] = 1 + (i * 7) % (V - 1);
	for (int b = 0; b < B; b++)
		tl[b] = S;
	float *gt = calloc(m->train_numel, sizeof(float));
	float *gb = base_from <= 0 ? calloc(m->base_numel, sizeof(float)) : NULL;
	adamw_state st, stb = { 0 };
	adamw_init(&st, m->train_numel);
	if (gb)
		adamw_init(&stb, m->base_numel);
	adamw_hparams h = adamw_defaults();
	double *tt = calloc(steps + 1, sizeof(double)), tf = 0, tc = 0, tb = 0, to = 0;
	float *dlog = NULL;
	for (int it = 0; it <= steps; it++) {
		double t0 = progress_now();
		if (w2v_forward(f, x, B, n, len)) { err_print(); return 1; }
		double t1 = progress_now();
		int T = f->T;
		if (!dlog)
			dlog = malloc(sizeof(float) * B * T * V);
		int64_t il[64];
		for (int b = 0; b < B; b++)
			il[b] = f->flen[b];
		ctc_opts co = { 0, CTC_REDUCE_MEAN, 1 };
		double loss;
		if (ctc_loss(f->logits, B, T, V, il, tgt, S, tl, &co, NULL, &loss, dlog)) { err_print(); return 1; }
		double t2 = progress_now();
		memset(gt, 0, sizeof(float) * m->train_numel);
		if (gb)
			memset(gb, 0, sizeof(float) * m->base_numel);
		if (w2v_backward(bk, f, x, dlog, gt, gb, base_from)) { err_print(); return 1; }
		double t3 = progress_now();
		adamw_begin_step(&st);
		adamw_update(&st, m->train, gt, 0, m->train_numel, 1e-4, &h, 1);
		if (gb) {
			adamw_begin_step(&stb);
			adamw_update(&stb, m->base, gb, 0, m->base_numel, 1e-5, &h, 1);
		}
		double t4 = progress_now();
		if (it > 0) {
			tt[it - 1] = t4 - t0;
			tf += t1 - t0; tc += t2 - t1; tb += t3 - t2; to += t4 - t3;
		}
		fprintf(stderr, "step %d: %.3f s (fwd %.3f ctc %.3f bwd %.3f opt %.3f) loss %.3f\n", it, t4 - t0,
		        t1 - t0, t2 - t1, t3 - t2, t4 - t3, loss);
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	if (steps <= 0) {
		/* warm-up only (memory measurement) */
		printf("| %s | train (%s) | %s | %d x %.1f s | warm-up only | %.0f MiB |\n", preset, freeze, prec, B, secs,
		       ru.ru_maxrss / 1024.0);
		return 0;
	}
	qsort(tt, steps, sizeof(double), cmp_d);
	double med = tt[steps / 2];
	printf("| %s | train (%s) | %s | %d x %.1f s | %d | %.3f | %.2f | fwd %.2f / ctc %.2f / bwd %.2f / opt %.2f s |",
	       preset, freeze, prec, B, secs, steps, med, B * secs / med, tf / steps, tc / steps, tb / steps, to / steps);
	if (peak > 0) {
		/* backward = 2x forward (input + weight gradients) where it runs:
		 * the whole model with full+conv, above the conv encoder with
		 * full, the adapters and head only otherwise (counted as 0) */
		double conv, fw = forward_flops(&c, B, n, &conv);
		double step = base_from < 0 ? 3 * fw : base_from == 0 ? 3 * fw - 2 * conv : fw;
		printf(" %.1f GFLOP/step, %.0f GFLOP/s = %.0f%% of the %.0f GFLOP/s fp32 matmul peak |", step / 1e9,
		       step / med / 1e9, 100 * step / med / 1e9 / peak, peak);
	} else if (gflop > 0)
		printf(" %.0f GFLOP/s |", gflop / med);
	else
		printf(" - |");
	printf(" %.0f MiB |\n", ru.ru_maxrss / 1024.0);
	adamw_free(&st);
	adamw_free(&stb);
	free(x); free(tgt); free(gt); free(gb); free(dlog); free(tt);
	w2v_bwd_free(bk);
	w2v_fwd_free(f);
	w2v_free(m);
	return 0;
}
