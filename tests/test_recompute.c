/*
 * test_recompute.c — activation checkpointing (W2V_FWD_RECOMPUTE,
 * lib/model/w2v_forward.h): the forward keeps each encoder layer's input
 * only, and the backward re-runs each layer's forward into one shared set
 * of buffers just before its backward.  The recomputation runs the same
 * ops in the same order on the same inputs with the same dropout keys and
 * LayerDrop draws, so nothing may differ by a single bit:
 *   - on mms-tiny (stable layer norm + adapters), mms-tiny without its
 *     adapters (adapter_attn_dim 0) and base-tiny (post-norm), in fp32 and
 *     bf16, for adapters-only, top:1, full and full+conv training, without
 *     and with regularization (every dropout, LayerDrop 0.5, SpecAugment
 *     time and feature masks), over two accumulated micro-batches with
 *     different masks: the loss and the gradient of every tensor (train and
 *     base blocks, memcmp) equal those of the forward that keeps every
 *     layer's activations (frozen layers slim, as the trainer runs it);
 *   - bf16 adapter training with the fp32 base released
 *     (w2v_fwd_release_frozen, the trainer's bf16 path): the same, over two
 *     AdamW-free steps with the adapters changed between them;
 *   - the recompute forward holds fewer activation bytes
 *     (w2v_fwd_activation_bytes) for every configuration;
 *   - W2V_FWD_RECOMPUTE without W2V_FWD_TRAIN is refused.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model/ctc.h"
#include "base/err.h"
#include "model/safetensors.h"
#include "model/w2v.h"
#include "model/w2v_backward.h"
#include "model/w2v_forward.h"
#include "model/w2v_reg.h"
#include "fixbatch.h"

#define FX "tests/data/hf-wav2vec2/mms-tiny"
#define FXB "tests/data/hf-wav2vec2/base-tiny"

/* every dropout, LayerDrop 0.5, time and feature masks */
static w2v_reg all_on(void)
{
	return (w2v_reg){ .hidden = 0.15f, .attention = 0.15f, .activation = 0.15f, .feat_proj = 0.15f,
			  .final = 0.15f, .layerdrop = 0.5f, .spec_augment = 1,
			  .mask_time_prob = 0.2f, .mask_time_length = 3, .mask_time_min_masks = 1,
			  .mask_feature_prob = 0.2f, .mask_feature_length = 4, .mask_feature_min_masks = 1 };
}

/* forward + summed CTC + backward, gradients accumulated into gt/gb */
static int step(w2v_fwd *f, w2v_bwd *bk, const fix_batch *bt, int base_from, float *gt, float *gb, double *loss)
{
	int rc = w2v_forward(f, bt->x, bt->B, bt->n, bt->len);
	if (rc)
		return rc;
	int64_t il[2] = { f->flen[0], f->flen[1] };
	ctc_opts o = { .blank = f->m->cfg.pad_token_id, .reduction = CTC_REDUCE_SUM, .zero_infinity = 1 };
	float *dlog = calloc((size_t)f->B * f->T * f->m->cfg.vocab_size, sizeof(float));
	if (!dlog)
		return ACC_ENOMEM;
	double l = 0;
	rc = ctc_loss(f->logits, bt->B, f->T, f->m->cfg.vocab_size, il, bt->tgt, bt->S, bt->tlen, &o, NULL, &l, dlog);
	if (!rc)
		rc = w2v_backward(bk, f, bt->x, dlog, gt, gb, base_from);
	*loss += l;
	free(dlog);
	return rc;
}

typedef struct {
	float *gt, *gb;
	double loss;
	size_t bytes;
	int skipped;   /* LayerDrop skips seen */
} result;

/* Two accumulated micro-batches (regularization seeds 11 and 12) on one
 * training forward of m, frozen layers slim as the trainer sets them. */
static int run(w2v_model *m, const fix_batch *bt, int flags, int base_from, const w2v_reg *reg, result *r)
{
	w2v_fwd *f = NULL;
	w2v_bwd *bk = NULL;
	int rc;
	memset(r, 0, sizeof *r);
	r->gt = calloc(m->train_numel, sizeof(float));
	r->gb = calloc(m->base_numel, sizeof(float));
	if (!r->gt || !r->gb)
		return ACC_ENOMEM;
	if ((rc = w2v_fwd_create(&f, m, flags)) || (rc = w2v_bwd_create(&bk)))
		goto out;
	w2v_fwd_set_frozen_below(f, base_from);
	for (int micro = 0; micro < 2; micro++) {
		if (reg && (rc = w2v_fwd_set_reg(f, reg, 11 + micro)))
			goto out;
		if ((rc = step(f, bk, bt, base_from, r->gt, r->gb, &r->loss)))
			goto out;
		for (int l = 0; l < m->cfg.num_hidden_layers; l++)
			r->skipped += f->layer[l].skipped;
	}
	r->bytes = w2v_fwd_activation_bytes(f);
out:
	w2v_bwd_free(bk);
	w2v_fwd_free(f);
	return rc;
}

static void test_bit_identical(void)
{
	const char *fx[3] = { FX, FX, FXB };
	const char *name[3] = { "stable+adapters", "stable", "base" };
	int skips = 0, configs = 0;
	for (int mi = 0; mi < 3; mi++) {
		w2v_model *m = NULL;
		fix_batch bt = { 0 };
		CHECK_OK(w2v_load(&m, fx[mi], NULL));
		CHECK(fix_batch_load(fx[mi], &bt) == 0);
		if (!m || !bt.x) {
			w2v_free(m);
			free(bt.x);
			continue;
		}
		if (mi == 1)
			m->cfg.adapter_attn_dim = 0;   /* the same model without its adapters */
		fix_give_spec_embed(m);
		int L = m->cfg.num_hidden_layers;
		int strategies[4] = { W2V_BWD_ADAPTERS, L - 1, 0, W2V_BWD_WITH_CONV };
		const char *sname[4] = { "adapters", "top:1", "full", "full+conv" };
		for (int prec = 0; prec < 2; prec++)
			for (int si = 0; si < 4; si++)
				for (int rg = 0; rg < 2; rg++) {
					int bf = strategies[si];
					int flags = W2V_FWD_TRAIN | (prec ? W2V_FWD_BF16 : 0) |
					            (bf < 0 ? W2V_FWD_TRAIN_FEAT : 0);
					w2v_reg reg = all_on();
					result r0, r1;
					int rc0 = run(m, &bt, flags, bf, rg ? &reg : NULL, &r0);
					int rc1 = run(m, &bt, flags | W2V_FWD_RECOMPUTE, bf, rg ? &reg : NULL, &r1);
					CHECK_OK(rc0);
					CHECK_OK(rc1);
					char what[128];
					snprintf(what, sizeof what, "%s %s %s%s", name[mi], prec ? "bf16" : "fp32", sname[si],
					         rg ? " +reg" : "");
					if (!rc0 && !rc1) {
						CHECKF(r0.loss == r1.loss, "%s: loss %.9g vs %.9g", what, r0.loss, r1.loss);
						CHECKF(isfinite(r0.loss) && r0.loss > 0, "%s: loss %g", what, r0.loss);
						CHECKF(!memcmp(r0.gt, r1.gt, sizeof(float) * m->train_numel),
						       "%s: train gradients differ", what);
						CHECKF(!memcmp(r0.gb, r1.gb, sizeof(float) * m->base_numel),
						       "%s: base gradients differ", what);
						CHECKF(r0.skipped == r1.skipped, "%s: LayerDrop skipped %d vs %d layers", what,
						       r0.skipped, r1.skipped);
						/* something trained at all */
						double s = 0;
						for (size_t i = 0; i < m->train_numel; i++)
							s += fabs(r1.gt[i]);
						CHECKF(s > 0, "%s: zero gradient", what);
						if (!rg)
							CHECKF(r1.bytes < r0.bytes, "%s: %zu activation bytes with recompute, "
							       "not fewer than %zu", what, r1.bytes, r0.bytes);
						if (!rg && !prec)
							printf("# %-16s %-9s activations %zu -> %zu bytes\n", name[mi], sname[si],
							       r0.bytes, r1.bytes);
						skips += r1.skipped;
						configs++;
					}
					free(r0.gt); free(r0.gb); free(r1.gt); free(r1.gb);
				}
		free(bt.x);
		w2v_free(m);
	}
	CHECK(configs == 3 * 2 * 4 * 2);
	/* LayerDrop 0.5 over the regularized runs: some layers were skipped
	 * (and some ran: the gradients above were not all zero) */
	CHECKF(skips > 0, "no layer was ever skipped");
}

/* The trainer's bf16 adapter path: the fp32 base released after packing
 * (w2v_fwd_release_frozen), two steps with the adapters changed between
 * them; recompute re-runs the frozen layers on the packings alone. */
static void test_bf16_released_base(void)
{
	w2v_model *m[2] = { NULL, NULL };
	fix_batch bt = { 0 };
	CHECK(fix_batch_load(FX, &bt) == 0);
	float *gt[2] = { NULL, NULL };
	double loss[2] = { 0, 0 };
	for (int k = 0; k < 2; k++) {
		w2v_fwd *f = NULL;
		w2v_bwd *bk = NULL;
		CHECK_OK(w2v_load(&m[k], FX, NULL));
		if (!m[k] || !bt.x)
			continue;
		int L = m[k]->cfg.num_hidden_layers;
		gt[k] = calloc(m[k]->train_numel, sizeof(float));
		CHECK_OK(w2v_fwd_create(&f, m[k], W2V_FWD_TRAIN | W2V_FWD_BF16 | (k ? W2V_FWD_RECOMPUTE : 0)));
		CHECK_OK(w2v_bwd_create(&bk));
		if (f && bk) {
			w2v_fwd_set_frozen_below(f, L);
			CHECK_OK(w2v_fwd_release_frozen(f, m[k]));
			for (int s = 0; s < 2; s++) {
				CHECK_OK(step(f, bk, &bt, W2V_BWD_ADAPTERS, gt[k], NULL, &loss[k]));
				/* a plain SGD step on the trainable group, then re-pack */
				for (size_t i = 0; i < m[k]->train_numel; i++)
					m[k]->train[i] -= 1e-2f * gt[k][i];
				w2v_fwd_adapters_changed(f);
			}
		}
		w2v_bwd_free(bk);
		w2v_fwd_free(f);
	}
	if (gt[0] && gt[1]) {
		CHECKF(loss[0] == loss[1], "released bf16: loss %.9g vs %.9g", loss[0], loss[1]);
		CHECK(!memcmp(gt[0], gt[1], sizeof(float) * m[0]->train_numel));
		CHECK(!memcmp(m[0]->train, m[1]->train, sizeof(float) * m[0]->train_numel));
	}
	free(gt[0]);
	free(gt[1]);
	free(bt.x);
	w2v_free(m[0]);
	w2v_free(m[1]);
}

static void test_flags(void)
{
	w2v_model *m = NULL;
	w2v_fwd *f = NULL;
	CHECK_OK(w2v_load(&m, FX, NULL));
	if (!m)
		return;
	CHECK(w2v_fwd_create(&f, m, W2V_FWD_RECOMPUTE) == ACC_EINVAL);
	CHECK(f == NULL);
	CHECK(w2v_fwd_create(&f, m, W2V_FWD_BF16 | W2V_FWD_RECOMPUTE) == ACC_EINVAL);
	/* an inference forward's recompute call is a no-op; out of range is refused */
	CHECK_OK(w2v_fwd_create(&f, m, W2V_FWD_TRAIN | W2V_FWD_RECOMPUTE));
	if (f) {
		fix_batch bt = { 0 };
		CHECK(fix_batch_load(FX, &bt) == 0);
		if (bt.x) {
			CHECK_OK(w2v_forward(f, bt.x, bt.B, bt.n, bt.len));
			CHECK(w2v_fwd_recompute_layer(f, m->cfg.num_hidden_layers) == ACC_EINVAL);
			CHECK(w2v_fwd_recompute_layer(f, -1) == ACC_EINVAL);
			CHECK_OK(w2v_fwd_recompute_layer(f, 0));
		}
		free(bt.x);
	}
	w2v_fwd_free(f);
	w2v_free(m);
}

int main(void)
{
	RUN(test_flags);
	RUN(test_bit_identical);
	RUN(test_bf16_released_base);
	return check_summary();
}
