/*
 * test_train_bf16.c — bf16 training (W2V_FWD_BF16 | W2V_FWD_TRAIN forward,
 * bf16 matmuls in the backward, fp32 everything else), checked at two
 * levels:
 *
 * 1. The new ops, each against a plain-C fp32 reference:
 *    - ops_bmm (fp32 and bf16) vs ops_bmm_ref on strided / transposed views;
 *    - linear_backward_data and linear_backward_dt (bf16) vs
 *      linear_backward_ref evaluated on the bf16-rounded operands: a bf16
 *      product is exact in fp32, so the only difference left is the order
 *      of the fp32 accumulation (1e-5 relative);
 *    - attention_backward_dropout in bf16 vs a step-by-step emulation
 *      (ops_bmm_ref on rounded operands, the fp32 softmax backward between),
 *      and vs the fp32 reference within a bf16 bound;
 * 2. the model on the mms-tiny fixture (tests/data/hf-wav2vec2/mms-tiny):
 *    - the gradient of every trainable tensor (adapters + lm_head, and with
 *      the full-model strategy every base tensor) from a bf16 step agrees
 *      with the fp32 step's:  ||g_bf16 - g_fp32|| / ||g_fp32|| < 3e-2
 *      per tensor (the bound is derived above test_grad_vs_fp32);
 *    - a short bf16 training run lowers the loss, and leaves every frozen
 *      tensor bit-identical.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "train/adamw.h"
#include "check.h"
#include "model/ctc.h"
#include "base/err.h"
#include "model/ops.h"
#include "model/ops_backward.h"
#include "model/safetensors.h"
#include "testrand.h"
#include "model/w2v.h"
#include "model/w2v_backward.h"
#include "model/w2v_forward.h"

#define FX "tests/data/hf-wav2vec2/mms-tiny"

/* x rounded to bf16 (as fp32 values) */
static float *rounded(const float *x, size_t n)
{
	float *p = malloc(sizeof(float) * (n ? n : 1));
	for (size_t i = 0; i < n; i++)
		p[i] = ops_bf16_to_f32(ops_f32_to_bf16(x[i]));
	return p;
}
static uint16_t *to_bf(const float *x, size_t n)
{
	uint16_t *p = malloc(2 * (n ? n : 1));
	ops_to_bf16(p, x, n);
	return p;
}
/* ||a - b|| / ||b|| (0/0 = 0) */
static double rel_norm(const float *a, const float *b, size_t n)
{
	double d = 0, s = 0;
	for (size_t i = 0; i < n; i++) {
		d += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
		s += (double)b[i] * b[i];
	}
	return s > 0 ? sqrt(d / s) : sqrt(d);
}
/* max |a-b| / max |b| */
static double rel_max(const float *a, const float *b, size_t n)
{
	double mx = 1e-30, d = 0;
	for (size_t i = 0; i < n; i++) {
		mx = fmax(mx, fabs(b[i]));
		d = fmax(d, fabs((double)a[i] - b[i]));
	}
	return d / mx;
}

/* bf16's unit roundoff: 8 significant bits, round to nearest */
#define BF16_U (1.0 / 256)

/* ---- 1. ops ---- */

/* ops_bmm on views: A transposed, B a column block of a wider buffer, C a
 * column block too, accumulate and scale; fp32 tight, bf16 on rounded
 * operands tight. */
static void test_bmm(void)
{
	ops_ctx *ctx = NULL;
	CHECK_OK(ops_ctx_create(&ctx));
	if (!ctx)
		return;
	int B0 = 2, B1 = 3, M = 7, N = 5, K = 9, ldb = B1 * N + 4, ldc = B1 * N;
	/* A stored per (i,j) as [K, M] (read transposed) */
	int64_t as[4] = { (int64_t)B1 * K * M, (int64_t)K * M, 1, M };
	int64_t bs[4] = { (int64_t)K * ldb, N, ldb, 1 };          /* [B0, K, ldb], head j = columns j*N.. */
	int64_t cs[4] = { (int64_t)M * ldc, N, ldc, 1 };
	size_t na = (size_t)B0 * B1 * K * M, nb = (size_t)B0 * K * ldb, nc = (size_t)B0 * M * ldc;
	float *A = rnd(na, 1), *Bm = rnd(nb, 1), *C0 = rnd(nc, 1);
	for (int acc = 0; acc < 2; acc++) {
		float *c1 = fdup(C0, nc), *c2 = fdup(C0, nc), *c3 = fdup(C0, nc);
		ops_bmm_ref(c1, cs, A, as, Bm, bs, B0, B1, M, N, K, 0.5f, acc);
		CHECK_OK(ops_bmm(ctx, c2, OPS_F32, cs, A, as, Bm, bs, OPS_F32, B0, B1, M, N, K, 0.5f, acc));
		CHECKF(rel_max(c2, c1, nc) < 1e-5, "bmm fp32 acc %d: %g", acc, rel_max(c2, c1, nc));
		/* bf16: the reference on the rounded operands */
		float *Ar = rounded(A, na), *Br = rounded(Bm, nb), *c4 = fdup(C0, nc);
		uint16_t *Ab = to_bf(A, na), *Bb = to_bf(Bm, nb);
		ops_bmm_ref(c4, cs, Ar, as, Br, bs, B0, B1, M, N, K, 0.5f, acc);
		CHECK_OK(ops_bmm(ctx, c3, OPS_F32, cs, Ab, as, Bb, bs, OPS_BF16, B0, B1, M, N, K, 0.5f, acc));
		CHECKF(rel_max(c3, c4, nc) < 1e-5, "bmm bf16 acc %d: %g", acc, rel_max(c3, c4, nc));
		/* and within bf16 rounding of the unrounded fp32 product */
		CHECKF(rel_norm(c3, c1, nc) < 4 * BF16_U, "bmm bf16 vs fp32: %g", rel_norm(c3, c1, nc));
		free(c1); free(c2); free(c3); free(c4); free(Ar); free(Br); free(Ab); free(Bb);
	}
	free(A); free(Bm); free(C0);
	ops_ctx_free(ctx);
}

static void test_linear_bf16(void)
{
	ops_ctx *ctx = NULL;
	CHECK_OK(ops_ctx_create(&ctx));
	if (!ctx)
		return;
	/* square (the forward's w^T packing and the backward's w packing must
	 * not be confused) and rectangular */
	int shapes[2][3] = { { 37, 48, 48 }, { 29, 40, 72 } };
	for (int si = 0; si < 2; si++) {
		int M = shapes[si][0], K = shapes[si][1], N = shapes[si][2];
		size_t nx = (size_t)M * K, nw = (size_t)N * K, ny = (size_t)M * N;
		float *x = rnd(nx, 1), *w = rnd(nw, 0.3f), *b = rnd(N, 0.1f), *dy = rnd(ny, 1);
		float *y = zeros(ny);
		uint16_t *xb = to_bf(x, nx);
		/* a bf16 forward first, so the forward's packing of w exists */
		CHECK_OK(linear_forward(ctx, y, OPS_F32, xb, OPS_BF16, w, b, M, K, N, 0));
		float *xr = rounded(x, nx), *wr = rounded(w, nw), *dyr = rounded(dy, ny);
		float *g0 = rnd(nx, 1), *gw0 = rnd(nw, 1), *gb0 = rnd(N, 1);
		/* reference on rounded operands (db from the unrounded dy) */
		float *dx1 = fdup(g0, nx), *dw1 = fdup(gw0, nw), *db1 = fdup(gb0, N);
		linear_backward_ref(dx1, dw1, NULL, dyr, xr, wr, M, K, N);
		linear_backward_ref(NULL, NULL, db1, dy, NULL, NULL, M, K, N);
		float *dx2 = fdup(g0, nx), *dw2 = fdup(gw0, nw), *db2 = fdup(gb0, N);
		CHECK_OK(linear_backward_dt(ctx, dx2, dw2, db2, dy, x, w, M, K, N, OPS_BF16));
		CHECKF(rel_max(dx2, dx1, nx) < 1e-5, "linear bf16 dx %dx%dx%d: %g", M, K, N, rel_max(dx2, dx1, nx));
		CHECKF(rel_max(dw2, dw1, nw) < 1e-5, "linear bf16 dw: %g", rel_max(dw2, dw1, nw));
		CHECKF(rel_max(db2, db1, N) < 1e-6, "linear bf16 db: %g", rel_max(db2, db1, N));
		/* linear_backward_data alone, after the weight changed (re-pack) */
		for (size_t i = 0; i < nw; i++)
			w[i] *= -0.5f;
		ops_ctx_weights_changed(ctx, w);
		free(wr);
		wr = rounded(w, nw);
		uint16_t *dyb = to_bf(dy, ny);
		float *dx3 = fdup(g0, nx), *dx4 = fdup(g0, nx);
		linear_backward_ref(dx3, NULL, NULL, dyr, NULL, wr, M, K, N);
		CHECK_OK(linear_backward_data(ctx, dx4, dyb, OPS_BF16, w, M, K, N));
		CHECKF(rel_max(dx4, dx3, nx) < 1e-5, "linear_backward_data bf16 after re-pack: %g",
		       rel_max(dx4, dx3, nx));
		/* fp32 path of both entry points = the fp32 reference */
		float *dx5 = fdup(g0, nx), *dx6 = fdup(g0, nx), *dx7 = fdup(g0, nx);
		linear_backward_ref(dx5, NULL, NULL, dy, NULL, w, M, K, N);
		CHECK_OK(linear_backward_data(ctx, dx6, dy, OPS_F32, w, M, K, N));
		CHECK_OK(linear_backward_dt(ctx, dx7, NULL, NULL, dy, x, w, M, K, N, OPS_F32));
		CHECKF(rel_max(dx6, dx5, nx) < 1e-5, "linear_backward_data fp32: %g", rel_max(dx6, dx5, nx));
		CHECKF(rel_max(dx7, dx5, nx) < 1e-5, "linear_backward_dt fp32: %g", rel_max(dx7, dx5, nx));
		free(x); free(w); free(b); free(dy); free(y); free(xb); free(xr); free(wr); free(dyr);
		free(g0); free(gw0); free(gb0); free(dx1); free(dw1); free(db1); free(dx2); free(dw2); free(db2);
		free(dyb); free(dx3); free(dx4); free(dx5); free(dx6); free(dx7);
	}
	ops_ctx_free(ctx);
}

/* The bf16 attention backward emulated with the references: every matmul
 * operand rounded to bf16, the softmax backward in fp32 in between. */
static void attention_bf16_emulated(float *dq, float *dk, float *dv, const float *dout,
                                    const float *qkv, const float *P, int ld, const int *kv,
                                    int B, int T, int C, int NH)
{
	int D = C / NH;
	size_t ntt = (size_t)B * NH * T * T, nx = (size_t)B * T * ld;
	int64_t sP[4] = { (int64_t)NH * T * T, (int64_t)T * T, T, 1 };
	int64_t sPt[4] = { (int64_t)NH * T * T, (int64_t)T * T, 1, T };
	int64_t sX[4] = { (int64_t)T * ld, D, ld, 1 }, sXt[4] = { (int64_t)T * ld, D, 1, ld };
	int64_t sC[4] = { (int64_t)T * C, D, C, 1 };
	float *Pr = rounded(P, ntt), *dOr = rounded(dout, (size_t)B * T * C);
	/* q, k, v: column blocks 0, C, 2C of the rounded qkv [B,T,ld] */
	float *qr = rounded(qkv, nx), *kr = qr + C, *vr = qr + 2 * C, *dS = zeros(ntt);
	ops_bmm_ref(dv, sX, Pr, sPt, dOr, sC, B, NH, T, D, T, 1.0f, 1);
	ops_bmm_ref(dS, sP, dOr, sC, vr, sXt, B, NH, T, T, D, 1.0f, 0);
	for (size_t r = 0; r < (size_t)B * NH * T; r++) {
		int L = kv[r / ((size_t)NH * T)];
		double s = 0;
		for (int j = 0; j < L; j++)
			s += (double)P[r * T + j] * dS[r * T + j];
		for (int j = 0; j < T; j++)
			dS[r * T + j] = j < L ? P[r * T + j] * (dS[r * T + j] - (float)s) * (float)(1.0 / sqrt(D)) : 0.0f;
	}
	float *dSr = rounded(dS, ntt);
	ops_bmm_ref(dq, sX, dSr, sP, kr, sX, B, NH, T, D, T, 1.0f, 1);
	ops_bmm_ref(dk, sX, dSr, sPt, qr, sX, B, NH, T, D, T, 1.0f, 1);
	free(Pr); free(dOr); free(qr); free(dS); free(dSr);
}

static void test_attention_bf16(void)
{
	ops_ctx *ctx = NULL;
	CHECK_OK(ops_ctx_create(&ctx));
	if (!ctx)
		return;
	int B = 2, T = 11, C = 16, NH = 2, ld = 3 * C, kv[2] = { 11, 7 };
	size_t nq = (size_t)B * T * ld, n = (size_t)B * T * C, ntt = (size_t)B * NH * T * T;
	float *qkv = rnd(nq, 1.5f), *out = zeros(n), *P = zeros(ntt), *dout = rnd(n, 1);
	CHECK_OK(attention_forward(ctx, out, OPS_F32, P, qkv, qkv + C, qkv + 2 * C, OPS_F32, ld, kv, B, T, C, NH));
	float *g0 = rnd(nq, 0.5f);
	float *r1 = fdup(g0, nq), *r2 = fdup(g0, nq), *r3 = fdup(g0, nq);
	attention_backward_ref(r1, r1 + C, r1 + 2 * C, dout, qkv, qkv + C, qkv + 2 * C, P, ld, kv, B, T, C, NH);
	attention_bf16_emulated(r2, r2 + C, r2 + 2 * C, dout, qkv, P, ld, kv, B, T, C, NH);
	CHECK_OK(attention_backward_dropout(ctx, r3, r3 + C, r3 + 2 * C, dout, qkv, qkv + C, qkv + 2 * C, P, ld,
	                                    kv, B, T, C, NH, 0.0f, 0, OPS_BF16));
	CHECKF(rel_max(r3, r2, nq) < 1e-5, "attention bf16 vs its emulation: %g", rel_max(r3, r2, nq));
	/* the gradient itself (the accumulated part removed) vs fp32 */
	for (size_t i = 0; i < nq; i++) {
		r1[i] -= g0[i];
		r3[i] -= g0[i];
	}
	CHECKF(rel_norm(r3, r1, nq) < 4 * BF16_U, "attention bf16 vs fp32: %g", rel_norm(r3, r1, nq));
	/* padded keys/values of utterance 1 get no gradient */
	for (int t = kv[1]; t < T; t++)
		for (int c = C; c < 3 * C; c++)
			CHECK(r3[((size_t)1 * T + t) * ld + c] == 0.0f);
	/* with attention dropout the bf16 path still tracks fp32 */
	float *r4 = zeros(nq), *r5 = zeros(nq);
	CHECK_OK(attention_backward_dropout(ctx, r4, r4 + C, r4 + 2 * C, dout, qkv, qkv + C, qkv + 2 * C, P, ld,
	                                    kv, B, T, C, NH, 0.2f, 77, OPS_F32));
	CHECK_OK(attention_backward_dropout(ctx, r5, r5 + C, r5 + 2 * C, dout, qkv, qkv + C, qkv + 2 * C, P, ld,
	                                    kv, B, T, C, NH, 0.2f, 77, OPS_BF16));
	CHECKF(rel_norm(r5, r4, nq) < 4 * BF16_U, "attention dropout bf16 vs fp32: %g", rel_norm(r5, r4, nq));
	free(qkv); free(out); free(P); free(dout); free(g0); free(r1); free(r2); free(r3); free(r4); free(r5);
	ops_ctx_free(ctx);
}

/* ---- 2. the model ---- */

typedef struct {
	float *x;
	int B, n, S;
	int64_t len[2], tlen[2];
	int tgt[2 * 32];
} batch;

/* The fixture's padded 2-utterance batch, its attention mask and labels
 * (-100 = padding), as golden.safetensors stores them. */
static int load_batch(batch *bt)
{
	safetensors_file *g = NULL;
	int64_t *am = NULL, *lab = NULL;
	size_t ne = 0, na = 0, nl = 0;
	int rc = -1;
	if (safetensors_open(&g, FX "/golden.safetensors"))
		return -1;
	if (safetensors_read_f32(g, "input_values", 2, (int64_t[]){ 2, 16000 }, &bt->x, &ne) ||
	    safetensors_read_i64(g, "attention_mask", &am, &na) || na != 32000 ||
	    safetensors_read_i64(g, "labels", &lab, &nl) || nl % 2 || nl / 2 > 32)
		goto out;
	bt->B = 2;
	bt->n = 16000;
	bt->S = (int)(nl / 2);
	for (int b = 0; b < 2; b++) {
		bt->len[b] = bt->tlen[b] = 0;
		for (int i = 0; i < 16000; i++)
			bt->len[b] += am[b * 16000 + i] != 0;
		for (int s = 0; s < bt->S; s++)
			if (lab[b * bt->S + s] >= 0)
				bt->tgt[b * bt->S + bt->tlen[b]++] = (int)lab[b * bt->S + s];
	}
	rc = 0;
out:
	free(am);
	free(lab);
	safetensors_close(g);
	return rc;
}

/* forward + mean CTC; dlog (may be NULL) receives d loss / d logits */
static int step_loss(w2v_fwd *f, const batch *bt, double *loss, float **dlog)
{
	int rc = w2v_forward(f, bt->x, bt->B, bt->n, bt->len);
	if (rc)
		return rc;
	int64_t il[2] = { f->flen[0], f->flen[1] };
	ctc_opts o = { .blank = f->m->cfg.pad_token_id, .reduction = CTC_REDUCE_MEAN,
	               .zero_infinity = f->m->cfg.ctc_zero_infinity };
	if (dlog) {
		free(*dlog);
		*dlog = calloc((size_t)f->B * f->T * f->m->cfg.vocab_size, sizeof(float));
		if (!*dlog)
			return ACC_ENOMEM;
	}
	return ctc_loss(f->logits, bt->B, f->T, f->m->cfg.vocab_size, il, bt->tgt, bt->S, bt->tlen, &o,
	                NULL, loss, dlog ? *dlog : NULL);
}

/* One step's gradients (gt: train block, gb: base block or NULL). */
static int grads(w2v_model *m, int flags, const batch *bt, int base_from, float *gt, float *gb, double *loss)
{
	w2v_fwd *f = NULL;
	w2v_bwd *bk = NULL;
	float *dlog = NULL;
	int rc;
	if ((rc = w2v_fwd_create(&f, m, flags)) || (rc = w2v_bwd_create(&bk)))
		goto out;
	if ((rc = step_loss(f, bt, loss, &dlog)))
		goto out;
	rc = w2v_backward(bk, f, bt->x, dlog, gt, gb, base_from);
out:
	free(dlog);
	w2v_bwd_free(bk);
	w2v_fwd_free(f);
	return rc;
}

/* Tolerance.  bf16 keeps 8 significant bits: rounding to nearest costs at
 * most u = 2^-8 = 3.9e-3 of a value, about u/sqrt(3) = 2.3e-3 rms.  A
 * matmul on rounded operands carries two such errors per product,
 * independent and of random sign, so its result is off by ~ sqrt(2) x
 * 2.3e-3 = 3.2e-3 of its norm (the fp32 accumulation adds ~1e-7).  Errors
 * of successive matmuls are independent and add in quadrature; the longest
 * path on mms-tiny (2 layers), to the lowest adapter, is ~30 matmuls:
 * forward through the feature projection and both layers (q/k/v, the two
 * attention products, out_proj, two FFN, two adapter; ~19) to lm_head, and
 * back down through layer 1 and layer 0's adapter (~10):
 * sqrt(30) x 3.2e-3 = 1.8e-2.  A weight gradient then sums over all
 * frames, and cancellation in that sum amplifies the relative error a
 * little: the bound is 3e-2 per tensor, ||g_bf16 - g_fp32|| / ||g_fp32||.
 * A wrong gradient (a wrong operand, a missing or doubled term) is off by
 * O(1), 30x beyond.  Measured (VERBOSE=1 lists every tensor): 7e-4 (lm_head
 * bias, one matmul deep) to 2.0e-2 (layer 0 adapter layer-norm gain, the
 * longest path), 2e-3..9e-3 for the rest. */
#define GRAD_TOL 3e-2

static void test_grad_vs_fp32(void)
{
	w2v_model *m = NULL;
	batch bt = { 0 };
	CHECK_OK(w2v_load(&m, FX, NULL));
	CHECK(load_batch(&bt) == 0);
	if (!m || !bt.x)
		goto out;
	/* adapters + lm_head (the MMS recipe), then the whole model (the base
	 * layers' own gradients go through the bf16 dW matmuls) */
	int strategies[2] = { W2V_BWD_ADAPTERS, 0 };
	for (int si = 0; si < 2; si++) {
		int bf = strategies[si];
		float *g32 = zeros(m->train_numel), *g16 = zeros(m->train_numel);
		float *b32 = bf == 0 ? zeros(m->base_numel) : NULL, *b16 = bf == 0 ? zeros(m->base_numel) : NULL;
		double l32 = 0, l16 = 0;
		CHECK_OK(grads(m, W2V_FWD_TRAIN, &bt, bf, g32, b32, &l32));
		CHECK_OK(grads(m, W2V_FWD_TRAIN | W2V_FWD_BF16, &bt, bf, g16, b16, &l16));
		/* the loss of the bf16 forward: within bf16 rounding of fp32's */
		CHECKF(fabs(l16 - l32) <= 2e-2 * fabs(l32), "loss bf16 %.6g vs fp32 %.6g", l16, l32);
		int nt = 0;
		double worst = 0;
		const char *wname = "";
		for (int i = 0; i < m->n_tensors; i++) {
			const w2v_tensor *t = &m->tensors[i];
			if (!t->present || !w2v_tensor_trains(m, t, bf))
				continue;
			const float *a = (t->group == W2V_GROUP_TRAIN ? g16 : b16) + t->offset;
			const float *e = (t->group == W2V_GROUP_TRAIN ? g32 : b32) + t->offset;
			double nrm = 0;
			for (size_t k = 0; k < t->numel; k++)
				nrm += (double)e[k] * e[k];
			if (nrm == 0)
				continue;   /* e.g. masked_spec_embed without time masking */
			double r = rel_norm(a, e, t->numel);
			if (strstr(t->name, "attention.k_proj.bias")) {
				/* analytically zero (softmax is invariant to a shift of
				 * every score of a row, which is what a key bias adds):
				 * both gradients are rounding noise.  Bound the bf16
				 * noise by the scale of its sibling, the q_proj bias
				 * gradient (same layer, same dS, same sum over frames). */
				char qn[160];
				snprintf(qn, sizeof qn, "%.*sq_proj.bias", (int)(strstr(t->name, "k_proj.bias") - t->name),
				         t->name);
				const w2v_tensor *qt = w2v_tensor_find(m, qn);
				CHECK(qt != NULL);
				if (!qt)
					continue;
				const float *qe = (qt->group == W2V_GROUP_TRAIN ? g32 : b32) + qt->offset;
				double dn = 0, qn2 = 0;
				for (size_t k = 0; k < t->numel; k++)
					dn += ((double)a[k] - e[k]) * ((double)a[k] - e[k]);
				for (size_t k = 0; k < qt->numel; k++)
					qn2 += (double)qe[k] * qe[k];
				r = sqrt(dn / qn2);
				if (getenv("VERBOSE"))
					fprintf(stderr, "   %-60s %.3g of q_proj.bias's (fp32 norm %.3g, q %.3g)\n", t->name, r,
					        sqrt(nrm), sqrt(qn2));
				CHECKF(r < GRAD_TOL, "%s: bf16 noise %.3g of the q_proj bias gradient", t->name, r);
				continue;
			}
			if (getenv("VERBOSE"))
				fprintf(stderr, "   %-60s %.3g\n", t->name, r);
			CHECKF(r < GRAD_TOL, "%s: bf16 gradient off by %.3g of its norm", t->name, r);
			if (r > worst) {
				worst = r;
				wname = t->name;
			}
			nt++;
		}
		CHECK(nt >= (bf == 0 ? 30 : 14));
		/* and the bf16 path was taken at all (fp32 matmuls would agree to ~1e-6) */
		CHECKF(worst > 1e-3, "bf16 gradients identical to fp32 ones (worst %.3g)", worst);
		printf("# %s: %d tensors, worst ||g_bf16 - g_fp32|| / ||g_fp32|| = %.3g (%s); loss %.6g vs %.6g\n",
		       bf == 0 ? "full model" : "adapters", nt, worst, wname, l16, l32);
		free(g32); free(g16); free(b32); free(b16);
	}
out:
	free(bt.x);
	w2v_free(m);
}

/* A few bf16 AdamW steps on the fixture batch (adapters + lm_head): the
 * loss falls, and the frozen base is bit-identical afterwards. */
static void test_short_run(void)
{
	w2v_model *m = NULL;
	w2v_fwd *f = NULL;
	w2v_bwd *bk = NULL;
	batch bt = { 0 };
	float *dlog = NULL, *gt = NULL, *base0 = NULL;
	adamw_state st = { 0 };
	CHECK_OK(w2v_load(&m, FX, NULL));
	CHECK(load_batch(&bt) == 0);
	if (!m || !bt.x)
		goto out;
	base0 = fdup(m->base, m->base_numel);
	gt = zeros(m->train_numel);
	CHECK_OK(w2v_fwd_create(&f, m, W2V_FWD_TRAIN | W2V_FWD_BF16));
	CHECK_OK(w2v_bwd_create(&bk));
	CHECK_OK(adamw_init(&st, m->train_numel));
	if (!f || !bk)
		goto out;
	adamw_hparams h = adamw_defaults();
	double first = 0, last = 0;
	int steps = 8;
	for (int s = 0; s <= steps; s++) {
		double loss = 0;
		CHECK_OK(step_loss(f, &bt, &loss, s < steps ? &dlog : NULL));
		if (s == 0)
			first = loss;
		last = loss;
		if (s == steps)
			break;
		memset(gt, 0, sizeof(float) * m->train_numel);
		CHECK_OK(w2v_backward(bk, f, bt.x, dlog, gt, NULL, W2V_BWD_ADAPTERS));
		adamw_begin_step(&st);
		adamw_update(&st, m->train, gt, 0, m->train_numel, 1e-3, &h, 1);
	}
	printf("# bf16 run: loss %.4f -> %.4f after %d steps\n", first, last, steps);
	/* 8 steps at lr 1e-3 on one batch: the fp32 trainer goes down by
	 * several percent; bf16 noise (~1e-2 of each gradient) cannot undo it */
	CHECKF(last < 0.97 * first, "loss did not fall: %.6g -> %.6g", first, last);
	CHECK(isfinite(last));
	CHECK(memcmp(base0, m->base, sizeof(float) * m->base_numel) == 0);
out:
	adamw_free(&st);
	free(dlog);
	free(gt);
	free(base0);
	free(bt.x);
	w2v_bwd_free(bk);
	w2v_fwd_free(f);
	w2v_free(m);
}

int main(void)
{
	testrand_seed(0x2545f4914f6cdd1dull);
	RUN(test_bmm);
	RUN(test_linear_bf16);
	RUN(test_attention_bf16);
	RUN(test_grad_vs_fp32);
	RUN(test_short_run);
	return check_summary();
}
