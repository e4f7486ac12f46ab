/*
 * test_train_grad.c — training-step parity with Hugging Face transformers
 * on the mms-tiny fixture (tests/data/hf-wav2vec2/mms-tiny/golden.*,
 * computed in float64 by torch): the padded 2-utterance batch with its
 * attention mask and -100-padded labels gives
 *   - loss.mean / loss.sum within 1e-5 relative,
 *   - every grad.mean.* / grad.sum.* (adapters + lm_head; base frozen)
 *     within 1e-4 relative or 1e-6 absolute when our backward starts from
 *     the same upstream gradient as transformers (float32 CTC), our CTC
 *     within the same bound of torch's float64 CTC, and lm_head's gradients
 *     of our whole step within it of a float64-CTC reference
 *     (golden-ctc64.safetensors, tools/fixtures/derive_ctc64.py; see the
 *     comment above test_grad_parity),
 *   - after one torch AdamW step (lr 1e-3, wd 0.01) from the mean
 *     gradients, every after_adamw.* within 1e-6;
 * and a full-model backward (every base tensor trains) agrees with central
 * finite differences of the loss on a sample of tensors of every kind.
 */
#include <math.h>
#include <string.h>

#include "train/adamw.h"
#include "check.h"
#include "fdgrad.h"
#include "model/ctc.h"
#include "train/lr_sched.h"
#include "base/err.h"
#include "model/safetensors.h"
#include "model/w2v.h"
#include "model/w2v_backward.h"
#include "model/w2v_forward.h"

#define FX "tests/data/hf-wav2vec2/mms-tiny"

typedef struct {
	float *x;             /* [B, n] */
	int B, n;
	int64_t len[2];       /* samples per utterance */
	int tgt[2 * 16];
	int64_t tlen[2];
	int S;
} batch;

static int load_batch(safetensors_file *g, batch *bt)
{
	size_t ne = 0;
	if (safetensors_read_f32(g, "input_values", 2, (int64_t[]){ 2, 16000 }, &bt->x, &ne))
		return -1;
	bt->B = 2;
	bt->n = 16000;
	int64_t *am = NULL, *lab = NULL;
	size_t na = 0, nl = 0;
	if (safetensors_read_i64(g, "attention_mask", &am, &na) || na != 32000)
		return -1;
	if (safetensors_read_i64(g, "labels", &lab, &nl) || nl % 2)
		return -1;
	bt->S = (int)(nl / 2);
	for (int b = 0; b < 2; b++) {
		bt->len[b] = 0;
		for (int i = 0; i < 16000; i++)
			bt->len[b] += am[b * 16000 + i] != 0;
		bt->tlen[b] = 0;
		for (int s = 0; s < bt->S; s++)
			if (lab[b * bt->S + s] >= 0)
				bt->tgt[b * bt->S + bt->tlen[b]++] = (int)lab[b * bt->S + s];
	}
	free(am);
	free(lab);
	return 0;
}

/* forward + CTC (+ gradient of the logits when dlog != NULL) */
static int loss_of(w2v_fwd *f, const batch *bt, ctc_reduction red, double *loss, float *dlog)
{
	int rc = w2v_forward(f, bt->x, bt->B, bt->n, bt->len);
	if (rc)
		return rc;
	int64_t il[2] = { f->flen[0], f->flen[1] };
	ctc_opts o = { .blank = f->m->cfg.pad_token_id, .reduction = red,
	               .zero_infinity = f->m->cfg.ctc_zero_infinity };
	return ctc_loss(f->logits, bt->B, f->T, f->m->cfg.vocab_size, il, bt->tgt, bt->S, bt->tlen, &o,
	                NULL, loss, dlog);
}

/* the summed loss of the current weights, for the finite differences */
static double loss_sum_at(w2v_fwd *f, const void *bt)
{
	double l = 0;
	loss_of(f, bt, CTC_REDUCE_SUM, &l, NULL);
	return l;
}

static float golden1(safetensors_file *g, const char *name)
{
	float *p = NULL;
	size_t n = 0;
	if (safetensors_read_f32(g, name, 0, NULL, &p, &n) || n < 1) {
		check_fail(__FILE__, __LINE__, "golden %s: %s", name, err_msg());
		return NAN;
	}
	float v = p[0];
	free(p);
	return v;
}

/* Element-wise a ~ e: 1e-4 relative or 1e-6 absolute, or (floor > 0) within
 * floor x the largest |e| of the tensor.  Returns the number of elements
 * outside; prints the worst to the log when any are. */
static int compare(const char *what, const float *a, const float *e, size_t n, double floor)
{
	double emax = 0, worst = 0, dmax = 0;
	int bad = 0;
	for (size_t k = 0; k < n; k++)
		emax = fmax(emax, fabs(e[k]));
	for (size_t k = 0; k < n; k++) {
		double d = fabs((double)a[k] - e[k]);
		if (!(d <= 1e-6 || d <= 1e-4 * fabs(e[k]) || d <= floor * emax)) {
			bad++;
			if (getenv("VERBOSE"))
				fprintf(stderr, "   %s[%zu] %.9g vs %.9g\n", what, k, a[k], e[k]);
		}
		worst = fmax(worst, d / fmax(fabs(e[k]), 1e-6));
		dmax = fmax(dmax, d);
	}
	if (bad)
		printf("# %s: %d of %zu elements beyond the bound (worst %.3g rel, %.3g of the tensor max)\n",
		       what, bad, n, worst, emax > 0 ? dmax / emax : 0);
	return bad;
}

/* Every training tensor of m whose name starts with prefix: its gradient in
 * gt (m's training block) against the golden grad.<red>.<name> of g, by
 * compare() with floor; note says which computation the failure is about.
 * A tensor missing from g or of another size fails.  Returns how many
 * tensors were compared. */
static int check_grads(const w2v_model *m, const float *gt, safetensors_file *g, const char *red,
                       const char *prefix, double floor, const char *note)
{
	int compared = 0;
	for (int i = 0; i < m->n_tensors; i++) {
		const w2v_tensor *t = &m->tensors[i];
		if (t->group != W2V_GROUP_TRAIN || strncmp(t->name, prefix, strlen(prefix)) != 0)
			continue;
		char name[160], what[240];
		snprintf(name, sizeof name, "grad.%s.%s", red, t->name);
		snprintf(what, sizeof what, "%s %s", name, note);
		float *gg = NULL;
		size_t n = 0;
		CHECK_OK(safetensors_read_f32(g, name, 0, NULL, &gg, &n));
		CHECKF(gg && n == t->numel, "%s missing or misshaped (%zu elements, want %zu)", name, n,
		       (size_t)t->numel);
		if (gg && n == t->numel) {
			CHECKF(compare(what, gt + t->offset, gg, n, floor) == 0, "%s", what);
			compared++;
		}
		free(gg);
	}
	return compared;
}

/* A fixture model with its golden file, the golden batch, a training
 * forward (W2V_FWD_* flags) and a backward: what the gradient tests start
 * from.  rig_open fails the test (and returns non-zero) when any part
 * cannot be made; rig_close frees what was made either way. */
typedef struct {
	w2v_model *m;
	safetensors_file *g;
	w2v_fwd *f;
	w2v_bwd *bk;
	batch bt;
} rig;

static int rig_open(rig *r, const char *fixture, int flags)
{
	char path[256];
	memset(r, 0, sizeof *r);
	snprintf(path, sizeof path, "%s/golden.safetensors", fixture);
	CHECK_OK(w2v_load(&r->m, fixture, NULL));
	CHECK_OK(safetensors_open(&r->g, path));
	if (!r->m || !r->g)
		return -1;
	if (load_batch(r->g, &r->bt) != 0) {
		CHECKF(0, "golden batch of %s: %s", fixture, err_msg());
		return -1;
	}
	CHECK_OK(w2v_fwd_create(&r->f, r->m, flags));
	CHECK_OK(w2v_bwd_create(&r->bk));
	return r->f && r->bk ? 0 : -1;
}

static void rig_close(rig *r)
{
	free(r->bt.x);
	w2v_bwd_free(r->bk);
	w2v_fwd_free(r->f);
	safetensors_close(r->g);
	w2v_free(r->m);
}

/* The fixture's grad.* come from transformers, which computes log_softmax in
 * float32 and so torch's CTC in float32 even for a float64 model: its
 * upstream gradient d loss/d logits carries float32 rounding (log-likelihoods
 * ~100: float32 ulp ~8e-6 in the alpha/beta sums), enough to put ~5% of
 * lm_head.weight beyond 1e-4 relative of a float64 computation.
 * tools/fixtures/derive_ctc64.py recomputes, with torch and from the
 * fixture's own logits and lm_head input, that upstream gradient with the CTC
 * in float32 (reproducing the fixture's lm_head gradients to 0 of 384
 * elements beyond 1e-4 rel / 1e-6 abs) and in float64
 * (golden-ctc64.safetensors).  So parity is checked in three parts, all at
 * the 1e-4 relative / 1e-6 absolute without any floor:
 *   1. our CTC: loss and d loss/d logits vs torch's float64 CTC;
 *   2. our backward fed with torch's float32-CTC upstream gradient (the one
 *      transformers used) vs every grad.* of the fixture;
 *   3. lm_head gradients of our whole step vs the float64-CTC reference;
 * and end to end (our CTC + our backward) vs the fixture, where the float32
 * noise of the reference is allowed for by a floor of 2e-5 of the tensor's
 * largest gradient (measured: at most 5e-6). */
static void test_grad_parity(void)
{
	rig r0;
	safetensors_file *g64 = NULL;
	float *gt = NULL, *gmean = NULL;
	if (rig_open(&r0, FX, W2V_FWD_TRAIN) != 0)
		goto out;
	CHECK_OK(safetensors_open(&g64, FX "/golden-ctc64.safetensors"));
	if (!g64)
		goto out;
	w2v_model *m = r0.m;
	safetensors_file *g = r0.g;
	w2v_fwd *f = r0.f;
	w2v_bwd *bk = r0.bk;
	const batch bt = r0.bt;
	gt = calloc(m->train_numel, sizeof(float));
	gmean = calloc(m->train_numel, sizeof(float));
	const char *rn[2] = { "mean", "sum" };
	for (int r = 0; r < 2; r++) {
		ctc_reduction red = r ? CTC_REDUCE_SUM : CTC_REDUCE_MEAN;
		double loss = 0;
		float *dlog = NULL, *d64 = NULL, *d32 = NULL;
		size_t nd64 = 0, nd32 = 0;
		char name[160];
		CHECK_OK(w2v_forward(f, bt.x, bt.B, bt.n, bt.len));
		size_t nlog = (size_t)f->B * f->T * m->cfg.vocab_size;
		dlog = calloc(nlog, sizeof(float));
		CHECK_OK(loss_of(f, &bt, red, &loss, dlog));
		snprintf(name, sizeof name, "loss.%s", rn[r]);
		double want = golden1(g, name);
		CHECKF(fabs(loss - want) <= 1e-5 * fabs(want), "%s: %.9g vs %.9g", name, loss, want);
		double want64 = golden1(g64, name);
		CHECKF(fabs(loss - want64) <= 1e-5 * fabs(want64), "%s (float64 CTC): %.9g vs %.9g", name, loss,
		       want64);

		/* 1. d loss / d logits vs torch's float64 CTC */
		snprintf(name, sizeof name, "dlogits.%s.f64", rn[r]);
		CHECK_OK(safetensors_read_f32(g64, name, 0, NULL, &d64, &nd64));
		snprintf(name, sizeof name, "dlogits.%s.f32", rn[r]);
		CHECK_OK(safetensors_read_f32(g64, name, 0, NULL, &d32, &nd32));
		CHECK_EQ_INT(nd64, nlog);
		CHECK_EQ_INT(nd32, nlog);
		if (nd64 != nlog || nd32 != nlog)
			goto next;
		snprintf(name, sizeof name, "dlogits.%s", rn[r]);
		CHECKF(compare(name, dlog, d64, nlog, 0) == 0, "%s vs torch float64 CTC", name);

		/* 2. backward from the fixture's own upstream gradient: strict */
		memset(gt, 0, sizeof(float) * m->train_numel);
		CHECK_OK(w2v_backward(bk, f, NULL, d32, gt, NULL, W2V_BWD_ADAPTERS));
		/* 2 layers x 6 adapter tensors + lm_head weight/bias */
		CHECK_EQ_INT(check_grads(m, gt, g, rn[r], "", 0, "(backward of torch's upstream gradient)"), 14);

		/* 3. and end to end: our CTC's gradient through our backward */
		memset(gt, 0, sizeof(float) * m->train_numel);
		CHECK_OK(w2v_backward(bk, f, NULL, dlog, gt, NULL, W2V_BWD_ADAPTERS));
		CHECK_EQ_INT(check_grads(m, gt, g, rn[r], "", 2e-5, "(end to end)"), 14);
		CHECK_EQ_INT(check_grads(m, gt, g64, rn[r], "lm_head.", 0, "(float64 CTC)"), 2);
		if (r == 0)
			memcpy(gmean, gt, sizeof(float) * m->train_numel);
	next:
		free(dlog);
		free(d64);
		free(d32);
	}
	/* one AdamW step from the mean gradients */
	adamw_state st;
	CHECK_OK(adamw_init(&st, m->train_numel));
	adamw_hparams h = { 0.9, 0.999, 1e-8, 0.01 };
	adamw_begin_step(&st);
	adamw_update(&st, m->train, gmean, 0, m->train_numel, 1e-3, &h, 1);
	for (int i = 0; i < m->n_tensors; i++) {
		const w2v_tensor *t = &m->tensors[i];
		if (t->group != W2V_GROUP_TRAIN)
			continue;
		char name[160];
		snprintf(name, sizeof name, "after_adamw.%s", t->name);
		float *ga = NULL;
		size_t n = 0;
		CHECK_OK(safetensors_read_f32(g, name, 0, NULL, &ga, &n));
		if (!ga)
			continue;
		double worst = 0;
		for (size_t k = 0; k < n && k < t->numel; k++)
			worst = fmax(worst, fabs((double)m->train[t->offset + k] - ga[k]));
		CHECKF(worst <= 1e-6, "%s: max abs diff %.3g", name, worst);
		free(ga);
	}
	adamw_free(&st);
out:
	free(gt);
	free(gmean);
	safetensors_close(g64);
	rig_close(&r0);
}

/* layer_norm_eps = 1e-2 (mms-tiny-eps, tools/fixtures/derive_eps_variant.py,
 * float64 CTC): the adapters' LayerNorm keeps PyTorch's 1e-5 in transformers,
 * the encoder's norms take 1e-2.  Loss and every adapter/lm_head gradient of
 * our whole step (our CTC, sum reduction) at 1e-4 relative / 1e-6 absolute. */
static void test_grad_layer_norm_eps_variant(void)
{
	rig r0;
	float *gt = NULL, *dlog = NULL;
	if (rig_open(&r0, FX "-eps", W2V_FWD_TRAIN) != 0)
		goto out;
	w2v_fwd *f = r0.f;
	double loss = 0;
	CHECK_OK(w2v_forward(f, r0.bt.x, r0.bt.B, r0.bt.n, r0.bt.len));
	dlog = calloc((size_t)f->B * f->T * r0.m->cfg.vocab_size, sizeof(float));
	gt = calloc(r0.m->train_numel, sizeof(float));
	CHECK_OK(loss_of(f, &r0.bt, CTC_REDUCE_SUM, &loss, dlog));
	double want = golden1(r0.g, "loss.sum");
	CHECKF(fabs(loss - want) <= 1e-5 * fabs(want), "loss.sum: %.9g vs %.9g", loss, want);
	CHECK_OK(w2v_backward(r0.bk, f, NULL, dlog, gt, NULL, W2V_BWD_ADAPTERS));
	CHECK_EQ_INT(check_grads(r0.m, gt, r0.g, "sum", "", 0, "(layer_norm_eps 1e-2)"), 14);
out:
	free(gt);
	free(dlog);
	rig_close(&r0);
}

/* Frozen layers that keep only what their input gradient needs
 * (w2v_fwd_set_frozen_below) give the same loss and the same gradients bit
 * for bit as a forward that keeps everything, in fp32 and bf16, for
 * adapters-only and top-1 training, without and with regularization (every
 * dropout, LayerDrop), with fewer activation bytes (adapters-only: both
 * layers frozen share one set); a backward
 * asking for gradients below the frozen layers is refused. */
static size_t act_bytes(const w2v_fwd *f)
{
	size_t n = 0;
	for (int i = 0; i < f->nbufs; i++)
		n += f->buf_sz[i];
	return n;
}

static void test_slim_frozen_layers(void)
{
	w2v_model *m = NULL;
	safetensors_file *g = NULL;
	batch bt = { 0 };
	CHECK_OK(w2v_load(&m, FX, NULL));
	CHECK_OK(safetensors_open(&g, FX "/golden.safetensors"));
	if (!m || !g)
		goto out;
	CHECK(load_batch(g, &bt) == 0);
	int L = m->cfg.num_hidden_layers;
	int modes[2] = { W2V_BWD_ADAPTERS, L - 1 };
	/* every dropout on and LayerDrop 0.5: seeds where layer 0 is skipped
	 * (the shared buffers must not depend on it) and where it is not */
	w2v_reg reg;
	w2v_reg_none(&reg);
	reg.hidden = reg.attention = reg.activation = 0.1f;
	reg.layerdrop = 0.5f;
	for (int prec = 0; prec < 2; prec++)
		for (int md = 0; md < 4; md++) {
			int flags = W2V_FWD_TRAIN | (prec ? W2V_FWD_BF16 : 0), bf = modes[md % 2];
			float *gt[2], *gb[2];
			double loss[2];
			size_t bytes[2];
			for (int slim = 0; slim < 2; slim++) {
				w2v_fwd *f = NULL;
				w2v_bwd *bk = NULL;
				gt[slim] = calloc(m->train_numel, sizeof(float));
				gb[slim] = calloc(m->base_numel, sizeof(float));
				CHECK_OK(w2v_fwd_create(&f, m, flags));
				CHECK_OK(w2v_bwd_create(&bk));
				if (!f || !bk) {
					w2v_fwd_free(f);
					w2v_bwd_free(bk);
					continue;
				}
				if (slim)
					w2v_fwd_set_frozen_below(f, bf);
				if (md >= 2)
					CHECK_OK(w2v_fwd_set_reg(f, &reg, 1000 + md + 10 * prec));
				float *dlog = NULL;
				CHECK_OK(w2v_forward(f, bt.x, bt.B, bt.n, bt.len));
				dlog = calloc((size_t)f->B * f->T * m->cfg.vocab_size, sizeof(float));
				CHECK_OK(loss_of(f, &bt, CTC_REDUCE_SUM, &loss[slim], dlog));
				bytes[slim] = act_bytes(f);
				CHECK_OK(w2v_backward(bk, f, NULL, dlog, gt[slim], gb[slim], bf));
				if (slim)   /* gradients of the frozen layers' base tensors were not kept for */
					CHECK(w2v_backward(bk, f, NULL, dlog, gt[slim], gb[slim], 0) == ACC_EINVAL);
				free(dlog);
				w2v_bwd_free(bk);
				w2v_fwd_free(f);
			}
			const char *what = prec ? "bf16" : "fp32";
			CHECKF(loss[0] == loss[1], "%s base_from %d: loss %.9g vs %.9g", what, bf, loss[0], loss[1]);
			CHECKF(!memcmp(gt[0], gt[1], sizeof(float) * m->train_numel), "%s base_from %d: train gradients differ",
			       what, bf);
			CHECKF(!memcmp(gb[0], gb[1], sizeof(float) * m->base_numel), "%s base_from %d: base gradients differ",
			       what, bf);
			/* frozen layers share one set: fewer bytes once two or more are frozen */
			if (md == 0)
				CHECKF(bytes[1] < bytes[0], "%s base_from %d: %zu activation bytes, not fewer than %zu", what,
				       bf, bytes[1], bytes[0]);
			else if (md == 1)   /* one frozen layer: one set either way */
				CHECK(bytes[1] <= bytes[0]);
			/* (with LayerDrop the shared set exists even when every layer was skipped) */
			if (md == 0)
				printf("# %s adapters-only: activations %zu -> %zu bytes\n", what, bytes[0], bytes[1]);
			for (int k = 0; k < 2; k++) {
				free(gt[k]);
				free(gb[k]);
			}
		}
out:
	free(bt.x);
	safetensors_close(g);
	w2v_free(m);
}

/* bf16 adapter training without the fp32 base (w2v_fwd_release_frozen):
 * the same loss and gradients bit for bit over two steps (the adapters
 * change between them) as with it; the base then cannot be saved, and an
 * fp32 or partly-frozen forward cannot release. */
static void test_bf16_release_frozen(void)
{
	w2v_model *m[2] = { NULL, NULL };
	safetensors_file *g = NULL;
	batch bt = { 0 };
	w2v_fwd *f[2] = { NULL, NULL };
	w2v_bwd *bk = NULL;
	float *gt[2] = { NULL, NULL }, *dlog = NULL;
	CHECK_OK(safetensors_open(&g, FX "/golden.safetensors"));
	CHECK_OK(w2v_bwd_create(&bk));
	for (int k = 0; k < 2; k++) {
		CHECK_OK(w2v_load(&m[k], FX, NULL));
		if (m[k]) {
			CHECK_OK(w2v_fwd_create(&f[k], m[k], W2V_FWD_TRAIN | W2V_FWD_BF16));
			gt[k] = calloc(m[k]->train_numel, sizeof(float));
		}
	}
	if (!g || !bk || !f[0] || !f[1] || load_batch(g, &bt))
		goto out;
	int L = m[0]->cfg.num_hidden_layers;
	w2v_fwd_set_frozen_below(f[0], L);
	CHECK(w2v_fwd_release_frozen(f[0], m[0]) == 0);
	w2v_fwd_set_frozen_below(f[1], L);
	CHECK(m[0]->base_released && !m[1]->base_released);
	for (int step = 0; step < 2; step++) {
		double loss[2];
		for (int k = 0; k < 2; k++) {
			CHECK_OK(w2v_forward(f[k], bt.x, bt.B, bt.n, bt.len));
			free(dlog);
			dlog = calloc((size_t)f[k]->B * f[k]->T * m[k]->cfg.vocab_size, sizeof(float));
			CHECK_OK(loss_of(f[k], &bt, CTC_REDUCE_SUM, &loss[k], dlog));
			memset(gt[k], 0, sizeof(float) * m[k]->train_numel);
			CHECK_OK(w2v_backward(bk, f[k], NULL, dlog, gt[k], NULL, W2V_BWD_ADAPTERS));
		}
		CHECKF(loss[0] == loss[1], "step %d: loss %.9g vs %.9g", step, loss[0], loss[1]);
		CHECKF(!memcmp(gt[0], gt[1], sizeof(float) * m[0]->train_numel), "step %d: gradients differ", step);
		for (int k = 0; k < 2; k++) {   /* an "optimizer step" on the adapters */
			for (size_t i = 0; i < m[k]->train_numel; i++)
				m[k]->train[i] -= 1e-3f * gt[k][i];
		}
	}
	char dir[1024];
	snprintf(dir, sizeof dir, "%s/released", check_tmp());
	CHECK(w2v_save(m[0], dir, W2V_SAVE_F32) == ACC_EINVAL);
	/* only bf16 training forwards with every layer frozen may release */
	w2v_fwd *f32 = NULL;
	CHECK_OK(w2v_fwd_create(&f32, m[1], W2V_FWD_TRAIN));
	if (f32) {
		w2v_fwd_set_frozen_below(f32, L);
		CHECK(w2v_fwd_release_frozen(f32, m[1]) == ACC_EINVAL);
	}
	w2v_fwd_free(f32);
	w2v_fwd_set_frozen_below(f[1], L - 1);
	CHECK(w2v_fwd_release_frozen(f[1], m[1]) == ACC_EINVAL);
	CHECK(!m[1]->base_released);
out:
	free(dlog);
	free(bt.x);
	for (int k = 0; k < 2; k++) {
		free(gt[k]);
		w2v_fwd_free(f[k]);
		w2v_free(m[k]);
	}
	w2v_bwd_free(bk);
	safetensors_close(g);
}

/* Full backward (base tensors included, conv encoder too) vs central finite
 * differences of the summed CTC loss, on a few elements of each tensor. */
static void test_full_backward_fd(void)
{
	rig r0;
	if (rig_open(&r0, FX, W2V_FWD_TRAIN | W2V_FWD_TRAIN_FEAT) != 0)
		goto out;
	w2v_model *m = r0.m;
	w2v_fwd *f = r0.f;
	w2v_bwd *bk = r0.bk;
	const batch bt = r0.bt;
	float *gt = calloc(m->train_numel, sizeof(float));
	float *gb = calloc(m->base_numel, sizeof(float));
	double loss = 0;
	CHECK_OK(w2v_forward(f, bt.x, bt.B, bt.n, bt.len));
	float *dlog = calloc((size_t)f->B * f->T * m->cfg.vocab_size, sizeof(float));
	CHECK_OK(loss_of(f, &bt, CTC_REDUCE_SUM, &loss, dlog));
	CHECK_OK(w2v_backward(bk, f, bt.x, dlog, gt, gb, W2V_BWD_WITH_CONV));
	/* float32 forward: absolute noise ~ 1e-6 * |loss| / h */
	fdgrad_opts fo = { .bwd_flags = W2V_BWD_WITH_CONV, .rel = 0.02, .noise = 2e-7, .loss_at = loss_sum_at, .ctx = &bt };
	int checked, bad;
	fdgrad_compare(m, f, gt, gb, loss, &fo, &checked, &bad);
	CHECKF(bad == 0, "%d of %d finite-difference checks failed", bad, checked);
	CHECK(checked > 100);
	/* the frozen strategy writes no base gradient */
	memset(gb, 0, sizeof(float) * m->base_numel);
	CHECK_OK(w2v_forward(f, bt.x, bt.B, bt.n, bt.len));
	CHECK_OK(w2v_backward(bk, f, bt.x, dlog, gt, gb, W2V_BWD_ADAPTERS));
	int nz = 0;
	for (size_t k = 0; k < m->base_numel; k++)
		nz += gb[k] != 0.0f;
	CHECK_EQ_INT(nz, 0);
	free(dlog);
	free(gt);
	free(gb);
out:
	rig_close(&r0);
}

/* transformers' get_linear_schedule_with_warmup: factor s/warmup, then
 * (total - s)/(total - warmup), floored at 0 */
static void test_lr_sched(void)
{
	lr_sched s = { 1e-3, 10, 100 };
	CHECK_NEAR(lr_sched_at(&s, 0), 0.0, 1e-15);
	CHECK_NEAR(lr_sched_at(&s, 5), 5e-4, 1e-15);
	CHECK_NEAR(lr_sched_at(&s, 10), 1e-3, 1e-15);
	CHECK_NEAR(lr_sched_at(&s, 55), 5e-4, 1e-15);
	CHECK_NEAR(lr_sched_at(&s, 99), 1e-3 / 90, 1e-15);
	CHECK_NEAR(lr_sched_at(&s, 100), 0.0, 1e-15);
	CHECK_NEAR(lr_sched_at(&s, 150), 0.0, 1e-15);
	lr_sched n = { 2e-3, 0, 4 };
	CHECK_NEAR(lr_sched_at(&n, 0), 2e-3, 1e-15);
	CHECK_NEAR(lr_sched_at(&n, 3), 5e-4, 1e-15);
}

/* Two AdamW steps by hand (torch's documented algorithm) on one scalar:
 * the bias corrections of step 2 and the no-decay path. */
static void test_adamw_two_steps(void)
{
	adamw_state st;
	CHECK_OK(adamw_init(&st, 2));
	adamw_hparams h = { 0.9, 0.999, 1e-8, 0.1 };
	float p[2] = { 0.5f, 0.5f }, g1[2] = { 0.2f, 0.2f }, g2[2] = { -0.1f, -0.1f };
	double lr = 0.01, q[2] = { 0.5, 0.5 };
	for (int step = 1; step <= 2; step++) {
		adamw_begin_step(&st);
		adamw_update(&st, p, step == 1 ? g1 : g2, 0, 1, lr, &h, 1);
		adamw_update(&st, p + 1, step == 1 ? g1 + 1 : g2 + 1, 1, 1, lr, &h, 0);
	}
	for (int i = 0; i < 2; i++) {
		double m = 0, v = 0;
		for (int step = 1; step <= 2; step++) {
			double g = step == 1 ? 0.2f : -0.1f;
			if (i == 0)
				q[i] *= 1 - lr * 0.1;
			m = 0.9 * m + 0.1 * g;
			v = 0.999 * v + 0.001 * g * g;
			double mh = m / (1 - pow(0.9, step)), vh = v / (1 - pow(0.999, step));
			q[i] -= lr * mh / (sqrt(vh) + 1e-8);
		}
		CHECK_NEAR(p[i], q[i], 1e-7);
	}
	CHECK(p[0] != p[1]);   /* decay made a difference */
	adamw_free(&st);
}

int main(void)
{
	RUN(test_lr_sched);
	RUN(test_adamw_two_steps);
	RUN(test_grad_parity);
	RUN(test_grad_layer_norm_eps_variant);
	RUN(test_slim_frozen_layers);
	RUN(test_bf16_release_frozen);
	RUN(test_full_backward_fd);
	return check_summary();
}
