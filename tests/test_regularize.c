/*
 * test_regularize.c — training regularization (lib/model/w2v_reg.h, lib/model/dropout.h)
 * on the mms-tiny (stable layer norm + adapters) and base-tiny (post-norm)
 * fixtures:
 *   - all probabilities 0: the training forward/backward is bit-identical
 *     to the unregularized one, and switching regularization off again
 *     restores the eval forward bit for bit;
 *   - the full backward with every dropout, time and feature masks (fixed
 *     seed) agrees with central finite differences of the loss;
 *   - _compute_mask_indices semantics: span count, span length, valid
 *     frames only, determinism;
 *   - dropout rate ~ p and preserved expectation on 2^20 elements;
 *   - LayerDrop 1: every layer skipped (output = encoder.layer_norm of the
 *     positional-embedded input), skipped adapters get zero gradient.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fdgrad.h"
#include "model/ctc.h"
#include "model/dropout.h"
#include "base/err.h"
#include "model/safetensors.h"
#include "model/w2v.h"
#include "model/w2v_backward.h"
#include "model/w2v_forward.h"
#include "model/w2v_reg.h"
#include "fixbatch.h"

#define FX "tests/data/hf-wav2vec2/mms-tiny"
#define FXB "tests/data/hf-wav2vec2/base-tiny"

static int loss_of(w2v_fwd *f, const fix_batch *bt, double *loss, float *dlog)
{
	int rc = w2v_forward(f, bt->x, bt->B, bt->n, bt->len);
	if (rc)
		return rc;
	int64_t il[2] = { f->flen[0], f->flen[1] };
	ctc_opts o = { .blank = f->m->cfg.pad_token_id, .reduction = CTC_REDUCE_SUM, .zero_infinity = 1 };
	return ctc_loss(f->logits, bt->B, f->T, f->m->cfg.vocab_size, il, bt->tgt, bt->S, bt->tlen, &o,
	                NULL, loss, dlog);
}

/* the loss of the current weights, for the finite differences */
static double loss_at(w2v_fwd *f, const void *bt)
{
	double l = 0;
	loss_of(f, bt, &l, NULL);
	return l;
}

/* a model with its batch and its training forward and backward states */
typedef struct rig {
	w2v_model *m;
	w2v_fwd *f;
	w2v_bwd *bk;
	fix_batch bt;
} rig;

/* loads the fixture in dir and its batch (with masked_spec_embed present
 * when spec_embed); 0 when the rig is usable.  Close it either way. */
static int rig_open(rig *g, const char *dir, int spec_embed)
{
	memset(g, 0, sizeof *g);
	CHECK_OK(w2v_load(&g->m, dir, NULL));
	if (!g->m || fix_batch_load(dir, &g->bt))
		return -1;
	if (spec_embed)
		fix_give_spec_embed(g->m);
	CHECK_OK(w2v_fwd_create(&g->f, g->m, W2V_FWD_TRAIN));
	CHECK_OK(w2v_bwd_create(&g->bk));
	return 0;
}

static void rig_close(rig *g)
{
	free(g->bt.x);
	w2v_bwd_free(g->bk);
	w2v_fwd_free(g->f);
	w2v_free(g->m);
}

/* every dropout 0.15, time and feature masks on; LayerDrop off */
static w2v_reg all_on(void)
{
	return (w2v_reg){ .hidden = 0.15f, .attention = 0.15f, .activation = 0.15f, .feat_proj = 0.15f, .final = 0.15f,
			  .layerdrop = 0, .spec_augment = 1,
			  .mask_time_prob = 0.2f, .mask_time_length = 3, .mask_time_min_masks = 1,
			  .mask_feature_prob = 0.2f, .mask_feature_length = 4, .mask_feature_min_masks = 1 };
}

/* (1) zero probabilities change nothing; off again = eval forward */
static void test_zero_is_identity(void)
{
	rig g;
	if (rig_open(&g, FX, 1))
		goto out;
	size_t nt = g.m->train_numel, nb = g.m->base_numel;
	float *g0 = calloc(nt + nb, sizeof(float)), *g1 = calloc(nt + nb, sizeof(float));
	double l0 = 0, l1 = 0;
	CHECK_OK(loss_of(g.f, &g.bt, &l0, NULL));
	size_t nl = (size_t)g.f->B * g.f->T * g.m->cfg.vocab_size;
	float *lg0 = malloc(nl * 4), *d0 = calloc(nl, 4), *d1 = calloc(nl, 4);
	memcpy(lg0, g.f->logits, nl * 4);
	CHECK_OK(loss_of(g.f, &g.bt, &l0, d0));
	CHECK_OK(w2v_backward(g.bk, g.f, g.bt.x, d0, g0, g0 + nt, 0));
	/* every probability 0, spec_augment on, layerdrop 0 */
	w2v_reg r;
	w2v_reg_none(&r);
	r.spec_augment = 1;
	CHECK_OK(w2v_fwd_set_reg(g.f, &r, 99));
	CHECK_OK(loss_of(g.f, &g.bt, &l1, d1));
	CHECK(!memcmp(lg0, g.f->logits, nl * 4));
	CHECK_OK(w2v_backward(g.bk, g.f, g.bt.x, d1, g1, g1 + nt, 0));
	CHECK(l0 == l1);
	CHECK(!memcmp(g0, g1, (nt + nb) * 4));
	/* regularized, then off again: the eval forward bit for bit */
	w2v_reg on = all_on();
	CHECK_OK(w2v_fwd_set_reg(g.f, &on, 5));
	CHECK_OK(loss_of(g.f, &g.bt, &l1, NULL));
	CHECK(memcmp(lg0, g.f->logits, nl * 4) != 0);
	CHECK_OK(w2v_fwd_set_reg(g.f, NULL, 0));
	CHECK_OK(loss_of(g.f, &g.bt, &l1, NULL));
	CHECK(!memcmp(lg0, g.f->logits, nl * 4));
	/* out-of-range options are refused */
	on.hidden = 1.5f;
	CHECK(w2v_fwd_set_reg(g.f, &on, 5) == ACC_EINVAL);
	free(lg0); free(d0); free(d1); free(g0); free(g1);
out:
	rig_close(&g);
}

/* (2) full backward with everything on vs finite differences (same seed) */
static void fd_check(const char *dir, int layerdrop_seed_search)
{
	rig g;
	if (rig_open(&g, dir, 1))
		goto out;
	w2v_reg r = all_on();
	uint64_t seed = 17;
	if (layerdrop_seed_search) {
		/* a seed that skips exactly one of the layers */
		r.layerdrop = 0.5f;
		for (seed = 1; seed < 200; seed++) {
			CHECK_OK(w2v_fwd_set_reg(g.f, &r, seed));
			CHECK_OK(w2v_forward(g.f, g.bt.x, g.bt.B, g.bt.n, g.bt.len));
			int sk = 0;
			for (int l = 0; l < g.m->cfg.num_hidden_layers; l++)
				sk += g.f->layer[l].skipped;
			if (sk == 1)
				break;
		}
		CHECK(seed < 200);
	}
	CHECK_OK(w2v_fwd_set_reg(g.f, &r, seed));
	size_t nt = g.m->train_numel, nb = g.m->base_numel;
	float *gt = calloc(nt, 4), *gb = calloc(nb, 4);
	double loss = 0;
	CHECK_OK(w2v_forward(g.f, g.bt.x, g.bt.B, g.bt.n, g.bt.len));
	float *dlog = calloc((size_t)g.f->B * g.f->T * g.m->cfg.vocab_size, 4);
	CHECK_OK(loss_of(g.f, &g.bt, &loss, dlog));
	/* the masks are really in use */
	int nt_m = 0, nf_m = 0;
	for (int i = 0; g.f->tmask && i < g.f->B * g.f->T; i++)
		nt_m += g.f->tmask[i];
	for (int i = 0; g.f->fmask && i < g.f->B * g.m->cfg.hidden_size; i++)
		nf_m += g.f->fmask[i];
	CHECK(nt_m > 0 && nf_m > 0);
	CHECK_OK(w2v_backward(g.bk, g.f, g.bt.x, dlog, gt, gb, 0));
	/* float32 forward: absolute noise ~ 1e-8 * |loss| / h here (a tenth of
	 * test_train_grad's bound, so that a dropout mask missing in one
	 * backward step — a few % on a gradient — fails) */
	fdgrad_opts fo = { .bwd_flags = 0, .rel = 0.01, .noise = 2e-8, .verbose = getenv("REG_VERBOSE") != NULL,
			   .loss_at = loss_at, .ctx = &g.bt };
	int checked, bad;
	fdgrad_compare(g.m, g.f, gt, gb, loss, &fo, &checked, &bad);
	CHECKF(bad == 0, "%d of %d finite-difference checks failed", bad, checked);
	CHECK(checked > 50);
	/* masked_spec_embed trained (full strategy) and received gradient */
	const w2v_tensor *e = w2v_tensor_find(g.m, "wav2vec2.masked_spec_embed");
	double en = 0;
	for (size_t k = 0; e && k < e->numel; k++)
		en += fabs(gb[e->offset + k]);
	CHECK(en > 0);
	free(dlog);
	free(gt);
	free(gb);
out:
	rig_close(&g);
}

static void test_fd_stable(void) { fd_check(FX, 0); }
static void test_fd_stable_layerdrop(void) { fd_check(FX, 1); }
static void test_fd_base(void) { fd_check(FXB, 0); }

/* (3) _compute_mask_indices semantics */
static void test_mask_indices(void)
{
	enum { B = 5, T = 200 };
	int len[B] = { 200, 150, 57, 12, 5 };
	uint8_t m1[B * T], m2[B * T];
	/* length 1: the masked-frame count is the span count exactly:
	 * max(min, int(p * len + eps)) with one eps for the whole batch */
	for (uint64_t seed = 1; seed <= 20; seed++) {
		uint64_t s = seed;
		CHECK_OK(w2v_reg_mask_indices(m1, B, T, len, 0.3f, 1, 2, &s));
		int ok = 1;
		for (int b = 0; b < B; b++) {
			int cnt = 0, outside = 0;
			for (int t = 0; t < T; t++) {
				cnt += m1[b * T + t];
				outside += t >= len[b] && m1[b * T + t];
			}
			int lo = (int)(0.3 * len[b]), hi = (int)(0.3 * len[b] + 0.999999);
			if (lo < 2) lo = 2;
			if (hi < 2) hi = 2;
			if (outside || cnt < lo || cnt > hi)
				ok = 0;
		}
		CHECKF(ok, "seed %llu: span counts off", (unsigned long long)seed);
	}
	/* length 10: every run of masked frames is >= 10 long and within the
	 * valid frames; number of runs <= span count; too short -> nothing */
	for (uint64_t seed = 1; seed <= 20; seed++) {
		uint64_t s = seed, s2 = seed;
		CHECK_OK(w2v_reg_mask_indices(m1, B, T, len, 0.2f, 10, 2, &s));
		CHECK_OK(w2v_reg_mask_indices(m2, B, T, len, 0.2f, 10, 2, &s2));
		CHECK(!memcmp(m1, m2, sizeof m1));   /* deterministic */
		for (int b = 0; b < B; b++) {
			int k = (int)(0.2 * len[b] / 10 + 1.0);   /* upper bound with eps < 1 */
			if (k < 2) k = 2;
			if (len[b] - 9 < k) k = len[b] - 9 > 0 ? len[b] - 9 : 0;
			int runs = 0, cnt = 0, bad = 0, run = 0;
			for (int t = 0; t <= T; t++) {
				int v = t < T && m1[b * T + t];
				if (v) {
					run++;
					cnt++;
					if (t >= len[b])
						bad++;
				} else if (run) {
					if (run < 10)
						bad++;
					runs++;
					run = 0;
				}
			}
			CHECKF(!bad, "seed %llu utt %d: short run or frame past the end", (unsigned long long)seed, b);
			CHECK(cnt <= k * 10);
			if (len[b] >= 10)
				CHECK(cnt >= 10 && runs >= 1);
			else
				CHECK_EQ_INT(cnt, 0);
		}
	}
	/* min_masks 2, length 10: a 12-frame utterance in a 25-frame batch gets
	 * two spans from 3 start positions; alone (T = 12) the spans are
	 * clamped to T / length = 1 */
	uint64_t s = 3;
	int l12[2] = { 25, 12 };
	CHECK_OK(w2v_reg_mask_indices(m1, 2, 25, l12, 0.0f, 10, 2, &s));
	int c12 = 0;
	for (int t = 0; t < 25; t++)
		c12 += m1[25 + t];
	CHECK(c12 == 11 || c12 == 12);
	CHECK_OK(w2v_reg_mask_indices(m1, 1, 12, NULL, 0.0f, 10, 2, &s));
	c12 = 0;
	for (int t = 0; t < 12; t++)
		c12 += m1[t];
	CHECK_EQ_INT(c12, 10);
	/* a different seed gives a different mask on a long batch */
	uint64_t sa = 1, sb = 2;
	CHECK_OK(w2v_reg_mask_indices(m1, B, T, len, 0.2f, 10, 2, &sa));
	CHECK_OK(w2v_reg_mask_indices(m2, B, T, len, 0.2f, 10, 2, &sb));
	CHECK(memcmp(m1, m2, sizeof m1) != 0);
	/* mask longer than the sequence: nothing */
	s = 1;
	CHECK_OK(w2v_reg_mask_indices(m1, 1, 8, NULL, 0.5f, 10, 2, &s));
	CHECK(!memchr(m1, 1, 8));
	/* the per-step seeds differ by step and micro-batch, and repeat */
	CHECK(w2v_reg_seed(1, 5, 0) == w2v_reg_seed(1, 5, 0));
	CHECK(w2v_reg_seed(1, 5, 0) != w2v_reg_seed(1, 6, 0));
	CHECK(w2v_reg_seed(1, 5, 0) != w2v_reg_seed(1, 5, 1));
	CHECK(w2v_reg_seed(1, 5, 0) != w2v_reg_seed(2, 5, 0));
}

/* (4) dropout rate and expectation */
static void test_dropout_rate(void)
{
	size_t n = (size_t)1 << 20;
	float *x = malloc(n * 4), *y = malloc(n * 4), *z = malloc(n * 4);
	for (size_t i = 0; i < n; i++)
		x[i] = 1.0f + 0.5f * sinf((float)i);
	double sx = 0;
	for (size_t i = 0; i < n; i++)
		sx += x[i];
	const float ps[3] = { 0.1f, 0.3f, 0.5f };
	for (int k = 0; k < 3; k++) {
		float p = ps[k];
		uint64_t key = dropout_key(42, 7 + k);
		dropout_apply(y, x, n, p, key);
		size_t zeros = 0;
		double sy = 0;
		int scaled = 1;
		for (size_t i = 0; i < n; i++) {
			zeros += y[i] == 0.0f;
			sy += y[i];
			if (y[i] != 0.0f && fabsf(y[i] - x[i] / (1.0f - p)) > 1e-6f * fabsf(y[i]))
				scaled = 0;
			if ((y[i] != 0.0f) != dropout_keep(key, i, p))
				scaled = 0;
		}
		double rate = (double)zeros / n, sd = sqrt(p * (1 - p) / n);
		CHECKF(fabs(rate - p) < 5 * sd, "p %.2f: measured rate %.5f", p, rate);
		CHECKF(fabs(sy / sx - 1.0) < 0.005, "p %.2f: expectation ratio %.5f", p, sy / sx);
		CHECK(scaled);
		/* the same key is the same mask (backward); another key is not */
		dropout_apply(z, x, n, p, key);
		CHECK(!memcmp(y, z, n * 4));
		dropout_apply(z, x, n, p, dropout_key(43, 7 + k));
		CHECK(memcmp(y, z, n * 4) != 0);
		/* an offset view is the same mask slice */
		dropout_apply_at(z, x + 1000, 5000, 1000, p, key);
		CHECK(!memcmp(y + 1000, z, 5000 * 4));
	}
	dropout_apply(y, x, n, 0.0f, 1);
	CHECK(!memcmp(x, y, n * 4));
	dropout_apply(y, x, n, 1.0f, 1);
	size_t nz = 0;
	for (size_t i = 0; i < n; i++)
		nz += y[i] != 0.0f;
	CHECK(nz == 0);
	free(x);
	free(y);
	free(z);
}

/* (5) LayerDrop 1 skips every layer */
static void test_layerdrop_all(void)
{
	rig g;
	if (rig_open(&g, FX, 0))
		goto out;
	w2v_reg r;
	w2v_reg_none(&r);
	r.layerdrop = 1.0f;
	CHECK_OK(w2v_fwd_set_reg(g.f, &r, 8));
	double loss = 0;
	CHECK_OK(w2v_forward(g.f, g.bt.x, g.bt.B, g.bt.n, g.bt.len));
	int L = g.m->cfg.num_hidden_layers, H = g.m->cfg.hidden_size, M = g.f->B * g.f->T;
	for (int l = 0; l < L; l++)
		CHECK(g.f->layer[l].skipped);
	CHECK(g.f->hidden[L] == g.f->hidden[0]);
	/* final = encoder.layer_norm(pos-embedded input), computed here */
	double maxd = 0;
	const float *w = g.m->p.enc_ln_w, *bb = g.m->p.enc_ln_b;
	for (int i = 0; i < M; i++) {
		const float *xr = g.f->enc_in + (size_t)i * H;
		double mu = 0, var = 0;
		for (int h = 0; h < H; h++)
			mu += xr[h];
		mu /= H;
		for (int h = 0; h < H; h++)
			var += (xr[h] - mu) * (xr[h] - mu);
		var /= H;
		for (int h = 0; h < H; h++) {
			double want = (xr[h] - mu) / sqrt(var + g.m->cfg.layer_norm_eps) * w[h] + bb[h];
			double d = fabs(want - g.f->final[(size_t)i * H + h]);
			maxd = d > maxd ? d : maxd;
		}
	}
	CHECKF(maxd < 1e-4, "final vs layer_norm(input): %g", maxd);
	float *gt = calloc(g.m->train_numel, 4);
	float *dlog = calloc((size_t)M * g.m->cfg.vocab_size, 4);
	CHECK_OK(loss_of(g.f, &g.bt, &loss, dlog));
	CHECK_OK(w2v_backward(g.bk, g.f, g.bt.x, dlog, gt, NULL, W2V_BWD_ADAPTERS));
	size_t nz_ad = 0, nz_head = 0;
	for (int i = 0; i < g.m->n_tensors; i++) {
		const w2v_tensor *t = &g.m->tensors[i];
		if (t->group != W2V_GROUP_TRAIN || !t->present)
			continue;
		size_t nz = 0;
		for (size_t k = 0; k < t->numel; k++)
			nz += gt[t->offset + k] != 0.0f;
		if (strstr(t->name, "lm_head"))
			nz_head += nz;
		else
			nz_ad += nz;
	}
	CHECK_EQ_INT((int)nz_ad, 0);
	CHECK(nz_head > 0);
	free(gt);
	free(dlog);
out:
	rig_close(&g);
}

int main(void)
{
	RUN(test_dropout_rate);
	RUN(test_mask_indices);
	RUN(test_zero_is_identity);
	RUN(test_layerdrop_all);
	RUN(test_fd_stable);
	RUN(test_fd_stable_layerdrop);
	RUN(test_fd_base);
	return check_summary();
}
