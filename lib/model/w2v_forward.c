/*
 * w2v_forward.c — Wav2Vec2ForCTC forward (eval mode) for both layouts, on
 * the ops of ops.h.  See w2v_forward.h for the semantics and the saved
 * activations.
 *
 * Data flow for a batch x [B, n]:
 *   conv encoder (time-major [B, T_i, C_i]; conv -> norm -> GELU)
 *   -> extract_features -> feature_projection (LN -> linear) -> zero padded
 *   frames -> + GELU(pos conv) -> [base: encoder.layer_norm] -> layers
 *   -> [stable: encoder.layer_norm] -> lm_head -> log_softmax.
 * Residual adds are fused into the matmul that produces the branch (sum
 * post-op writing onto the residual stream); in inference the stream is
 * one buffer updated in place.  In bf16 mode every matmul input is produced
 * directly in bf16 by the op before it (layer norm, GELU, attention), the
 * residual stream, norms and logits stay fp32.
 *
 * Buffers: every buffer request of a forward goes through buf(), which
 * hands out slot k of a list grown on demand; a forward makes the same
 * sequence of requests, so steady state allocates nothing.
 */
#include "model/w2v_forward.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/banned.h"

static void *buf(w2v_fwd *f, size_t bytes)
{
	int i = f->nbuf_used;
	if (i == f->nbufs) {
		/* two parallel tables grown alike (same capacities, same rule) */
		size_t cb = (size_t)f->nbufs, cs = (size_t)f->nbufs;
		if (ARRAY_GROW(f->bufs, cb, (size_t)i + 1) || ARRAY_GROW(f->buf_sz, cs, (size_t)i + 1))
			return NULL;
		for (size_t j = (size_t)f->nbufs; j < cb; j++) {
			f->bufs[j] = NULL;
			f->buf_sz[j] = 0;
		}
		f->nbufs = (int)cb;
	}
	if (f->buf_sz[i] < bytes) {
		free(f->bufs[i]);
		f->bufs[i] = NULL;
		f->buf_sz[i] = 0;
		size_t sz = (bytes + 63) / 64 * 64;
		if (posix_memalign(&f->bufs[i], 64, sz ? sz : 64)) {
			f->bufs[i] = NULL;
			err_set(ACC_ENOMEM, "out of memory: activation buffer of %zu bytes", bytes);
			return NULL;
		}
		f->buf_sz[i] = bytes;
	}
	f->nbuf_used++;
	return f->bufs[i];
}

int w2v_fwd_create(w2v_fwd **out, const w2v_model *m, int flags)
{
	int rc;
	w2v_fwd *f = calloc(1, sizeof *f);
	*out = NULL;
	if (!f)
		return err_set(ACC_ENOMEM, "out of memory");
	f->m = m;
	f->flags = flags;
	if (m->base_released) {
		free(f);
		err_set(ACC_EINVAL, "this model's fp32 weights were released for the bf16/int8 forward that "
		        "runs it (w2v_fwd_lean)");
		err_hint("load the model again for another forward");
		return ACC_EINVAL;
	}
	if ((flags & W2V_FWD_INT8) && (flags & (W2V_FWD_TRAIN | W2V_FWD_BF16))) {
		free(f);
		return err_set(ACC_EINVAL, "int8 inference cannot be combined with %s",
		               (flags & W2V_FWD_TRAIN) ? "training" : "bf16");
	}
	if ((flags & W2V_FWD_RECOMPUTE) && !(flags & W2V_FWD_TRAIN)) {
		free(f);
		return err_set(ACC_EINVAL, "activation recomputation is for a training forward (W2V_FWD_TRAIN)");
	}
	if ((rc = ops_ctx_create(&f->ops))) {
		free(f);
		return rc;
	}
	int L = m->cfg.num_hidden_layers;
	f->layer = calloc((flags & W2V_FWD_TRAIN) ? L : 1, sizeof *f->layer);
	if ((flags & (W2V_FWD_HIDDEN | W2V_FWD_TRAIN)))
		f->hidden = calloc(L + 1, sizeof *f->hidden);
	if (!f->layer || ((flags & (W2V_FWD_HIDDEN | W2V_FWD_TRAIN)) && !f->hidden)) {
		w2v_fwd_free(f);
		return err_set(ACC_ENOMEM, "out of memory");
	}
	*out = f;
	return 0;
}

void w2v_fwd_free(w2v_fwd *f)
{
	if (!f)
		return;
	for (int i = 0; i < f->nbufs; i++)
		free(f->bufs[i]);
	free(f->bufs);
	free(f->buf_sz);
	free(f->flen);
	free(f->layer);
	free(f->hidden);
	ops_ctx_free(f->ops);
	free(f);
}

ops_ctx *w2v_fwd_ops(w2v_fwd *f) { return f->ops; }

/* The dropout probability of a site, 0 when regularization is off. */
#define RP(f, field) ((f)->reg_on ? (f)->reg.field : 0.0f)
/* The dropout site of encoder layer l's W2V_DROP_L_* kind. */
#define LSITE(l, kind) (W2V_DROP_LAYER + 8 * (l) + (kind))

void w2v_fwd_adapters_changed(w2v_fwd *f)
{
	const w2v_params *p = &f->m->p;
	for (int l = 0; l < f->m->cfg.num_hidden_layers && f->m->cfg.adapter_attn_dim > 0; l++) {
		ops_ctx_weights_changed(f->ops, p->adapter[l].l1_w);
		ops_ctx_weights_changed(f->ops, p->adapter[l].l2_w);
	}
	ops_ctx_weights_changed(f->ops, p->lm_w);
}

#define NEED(p, bytes) do { if (!((p) = buf(f, (bytes)))) { rc = ACC_ENOMEM; goto out; } } while (0)

/* The matmul-input copy of an fp32 tensor: itself in fp32 mode, a bf16
 * conversion into `tmp` in bf16 mode. */
static const void *mm_in(const float *x, void *tmp, ops_dtype mt, size_t n)
{
	if (mt == OPS_F32)
		return x;
	uint16_t *t = tmp;
	#pragma omp parallel for schedule(static)
	for (size_t i = 0; i < n; i++)
		t[i] = ops_f32_to_bf16(x[i]);
	return tmp;
}

/* A stable-layer-norm block's input: layernorm(x) as a matmul input.  In
 * training (ln not NULL) the fp32 result and its statistics are kept in
 * ln, mean and rstd; in inference it is written straight into mmH. */
static const void *prenorm(float *ln, float *mean, float *rstd, const float *x, const float *w,
                           const float *b, void *mmH, ops_dtype mt, int M, int H, float eps)
{
	if (ln) {
		layernorm_forward(ln, OPS_F32, mean, rstd, x, w, b, M, H, eps);
		return mm_in(ln, mmH, mt, (size_t)M * H);
	}
	layernorm_forward(mmH, mt, NULL, NULL, x, w, b, M, H, eps);
	return mmH;
}

static void copy_if(float *dst, const float *src, size_t n)
{
	if (dst != src)
		memcpy(dst, src, n * sizeof(float));
}

/* ---- conv feature encoder ---- */
static int feature_encoder(w2v_fwd *f, const float *x, int B, int n, ops_dtype mt)
{
	int rc = 0;
	const w2v_config *c = &f->m->cfg;
	const w2v_params *p = &f->m->p;
	int train = (f->flags & W2V_FWD_TRAIN_FEAT) != 0;
	int nl = c->num_feat_extract_layers;
	int T = n, Cin = 1;
	const void *in = x;
	ops_dtype in_t = OPS_F32;   /* raw audio stays fp32 (C_in = 1: no gain from bf16) */
	float *pre = NULL;
	void *pp[2] = { NULL, NULL };   /* inference: ping-pong matmul-input buffers */
	size_t maxsz[2] = { 0, 0 }, maxpre = 0;
	for (int i = 0, t = n; i < nl; i++) {
		t = conv1d_out_len(t, c->conv_kernel[i], c->conv_stride[i], 0, 0);
		size_t sz = (size_t)B * t * c->conv_dim[i];
		maxpre = sz > maxpre ? sz : maxpre;
		if (i < nl - 1 && sz > maxsz[i & 1])
			maxsz[i & 1] = sz;
	}
	if (!train) {
		NEED(pre, maxpre * sizeof(float));
		NEED(pp[0], maxsz[0] * ops_dtype_size(mt));
		NEED(pp[1], maxsz[1] * ops_dtype_size(mt));
	}
	for (int i = 0; i < nl; i++) {
		const w2v_conv_params *cp = &p->conv[i];
		int K = c->conv_kernel[i], S = c->conv_stride[i], Co = c->conv_dim[i];
		int To = conv1d_out_len(T, K, S, 0, 0);
		size_t sz = (size_t)B * To * Co;
		int last = i == nl - 1;
		int lnorm = c->feat_extract_norm == W2V_NORM_LAYER;
		int has_norm = lnorm || i == 0;
		w2v_conv_acts *ca = &f->conv[i];
		memset(ca, 0, sizeof *ca);
		f->conv_T[i] = To;
		if (train) {
			NEED(ca->pre, sz * sizeof(float));
			NEED(ca->out, sz * sizeof(float));
			if (has_norm) {
				size_t ns = lnorm ? (size_t)B * To : (size_t)B * Co;
				NEED(ca->norm, sz * sizeof(float));
				NEED(ca->mean, ns * sizeof(float));
				NEED(ca->rstd, ns * sizeof(float));
			}
			TRY(conv1d_forward(f->ops, ca->pre, OPS_F32, in, in_t, cp->conv_w, cp->conv_b,
			                   B, T, Cin, Co, K, S, 1, 0, 0, 0));
			const float *g = ca->pre;
			if (has_norm) {
				if (lnorm)
					layernorm_forward(ca->norm, OPS_F32, ca->mean, ca->rstd, ca->pre, cp->norm_w,
					                  cp->norm_b, B * To, Co, W2V_TORCH_NORM_EPS);
				else
					groupnorm_forward(ca->norm, ca->mean, ca->rstd, ca->pre, cp->norm_w, cp->norm_b,
					                  B, To, Co, W2V_TORCH_NORM_EPS);
				g = ca->norm;
			}
			gelu_forward(ca->out, OPS_F32, g, sz);
			in = ca->out;
			if (mt == OPS_BF16 && !last) {
				void *cb;
				NEED(cb, sz * 2);
				in = mm_in(ca->out, cb, mt, sz);
			}
		} else {
			float *outf = NULL;
			void *dst;
			ops_dtype ot = last ? OPS_F32 : mt;   /* extract_features are fp32 */
			if (last) {
				NEED(outf, sz * sizeof(float));
				dst = outf;
			} else {
				dst = pp[i & 1];
			}
			if (!has_norm) {   /* base layout, layers > 0: conv + GELU fused */
				TRY(conv1d_forward(f->ops, dst, ot, in, in_t, cp->conv_w, cp->conv_b,
				                   B, T, Cin, Co, K, S, 1, 0, 0, OPS_POST_GELU));
			} else {
				TRY(conv1d_forward(f->ops, pre, OPS_F32, in, in_t, cp->conv_w, cp->conv_b,
				                   B, T, Cin, Co, K, S, 1, 0, 0, 0));
				if (lnorm)
					layernorm_forward(pre, OPS_F32, NULL, NULL, pre, cp->norm_w, cp->norm_b,
					                  B * To, Co, W2V_TORCH_NORM_EPS);
				else
					groupnorm_forward(pre, NULL, NULL, pre, cp->norm_w, cp->norm_b, B, To, Co,
					                  W2V_TORCH_NORM_EPS);
				gelu_forward(dst, ot, pre, sz);
			}
			in = dst;
			if (last)
				ca->out = outf;
		}
		in_t = mt;
		T = To;
		Cin = Co;
	}
	f->extract_features = f->conv[nl - 1].out;
out:
	return rc;
}

/* ---- one encoder layer ---- */
/* A linear layer of the model: linear_forward, or its dynamic-int8 version
 * in W2V_FWD_INT8 mode (where every activation, x included, is fp32;
 * OPS_INT8_SAME_X there reuses the previous call's quantized x). */
static int lin(w2v_fwd *f, void *y, ops_dtype yt, const void *x, ops_dtype xt, const float *w,
               const float *b, int M, int K, int N, int post)
{
	if (f->flags & W2V_FWD_INT8)
		return linear_forward_int8(f->ops, y, yt, x, w, b, M, K, N, post);
	return linear_forward(f->ops, y, yt, x, xt, w, b, M, K, N, post & ~OPS_INT8_SAME_X);
}

/* The activation buffers a W2V_FWD_TRAIN forward keeps for encoder layer
 * l, allocated per layer in a fixed order; a frozen layer's
 * weight-gradient-only tensors live in the shared set (w2v_forward
 * allocates it before the layers, so LayerDrop cannot skip it).  With
 * W2V_FWD_RECOMPUTE every layer gets the one set f->rc_set (nothing is
 * allocated); l = -1 allocates a complete set (rc_set itself). */
static int layer_alloc_train(w2v_fwd *f, int l, w2v_layer_acts *a)
{
	int rc = 0;
	const w2v_config *c = &f->m->cfg;
	int H = c->hidden_size, F = c->intermediate_size, A = c->adapter_attn_dim, NH = c->num_attention_heads;
	int B = f->B, T = f->T, M = B * T;
	size_t nH = (size_t)M * H, nF = (size_t)M * F, nA = (size_t)M * A;
	int stable = c->do_stable_layer_norm;
	if (l >= 0 && (f->flags & W2V_FWD_RECOMPUTE)) {
		*a = f->rc_set;   /* every activation, slim = 0, skipped = 0 */
		return 0;
	}
	int slim = l >= 0 && l < f->frozen_below;
	w2v_layer_acts *sh = slim ? &f->slim_set : NULL;
	a->slim = slim;
	NEED(a->q, nH * 4); NEED(a->k, nH * 4); NEED(a->v, nH * 4);
	if (sh) {
		a->probs = sh->probs;
		a->attn = sh->attn;
	} else {
		NEED(a->probs, (size_t)B * NH * T * T * 4);
		NEED(a->attn, nH * 4);
	}
	NEED(a->h1, nH * 4);
	NEED(a->ln1_mean, M * 4); NEED(a->ln1_rstd, M * 4);
	NEED(a->ln2_mean, M * 4); NEED(a->ln2_rstd, M * 4);
	if (stable && sh) {
		a->ln1 = sh->ln1;
		a->ln2 = sh->ln2;
	} else if (stable) {
		NEED(a->ln1, nH * 4);
		NEED(a->ln2, nH * 4);
	} else {
		NEED(a->h1n, nH * 4);
		a->ln2 = a->h1n;
	}
	NEED(a->ff_pre, nF * 4);
	if (sh)
		a->ff_act = sh->ff_act;
	else
		NEED(a->ff_act, nF * 4);
	NEED(a->h2, nH * 4);
	if (A > 0 && stable) {
		NEED(a->ad_ln, nH * 4); NEED(a->ad_mean, M * 4); NEED(a->ad_rstd, M * 4);
		NEED(a->ad_pre, nA * 4); NEED(a->ad_act, nA * 4);
	}
out:
	return rc;
}

/* A residual branch's output layer: y (holding the residual stream) +=
 * dropout(lin(x)) at dropout site `site` (hidden_dropout; rtmp [M,N] holds
 * the branch before its dropout), or, without dropout, lin(x) added by the
 * matmul's sum post-op. */
static int residual_lin(w2v_fwd *f, float *y, const void *x, ops_dtype mt, const float *w, const float *b,
                        int M, int K, int N, float *rtmp, int site)
{
	if (!(RP(f, hidden) > 0))
		return lin(f, y, OPS_F32, x, mt, w, b, M, K, N, OPS_POST_ADD);
	int rc = lin(f, rtmp, OPS_F32, x, mt, w, b, M, K, N, 0);
	if (rc)
		return rc;
	size_t n = (size_t)M * N;
	f->reg_hooks->dropout(f, rtmp, rtmp, n, f->reg.hidden, site);
	#pragma omp parallel for schedule(static)
	for (size_t i = 0; i < n; i++)
		y[i] += rtmp[i];
	return 0;
}

/* Layer l's adapter (stable layout, adapter_attn_dim A > 0): out (holding
 * h2 on entry) += l2(relu(l1(norm(h2)))); a training forward keeps the
 * activations in a. */
static int adapter_forward(w2v_fwd *f, int l, w2v_layer_acts *a, const float *h2, float *out,
                           ops_dtype mt, void *mmH, void *mmA)
{
	int rc = 0;
	const w2v_config *c = &f->m->cfg;
	const w2v_adapter_params *AP = &f->m->p.adapter[l];
	int H = c->hidden_size, A = c->adapter_attn_dim, M = f->B * f->T;
	size_t nH = (size_t)M * H, nA = (size_t)M * A;
	const void *ad_in;
	if (f->flags & W2V_FWD_TRAIN) {
		layernorm_forward(a->ad_ln, OPS_F32, a->ad_mean, a->ad_rstd, h2, AP->norm_w, AP->norm_b, M, H,
		                  W2V_TORCH_NORM_EPS);
		ad_in = mm_in(a->ad_ln, mmH, mt, nH);
		TRY(lin(f, a->ad_pre, OPS_F32, ad_in, mt, AP->l1_w, AP->l1_b, M, H, A, 0));
		relu_forward(a->ad_act, a->ad_pre, nA);
		ad_in = mm_in(a->ad_act, mmA, mt, nA);
	} else {
		layernorm_forward(mmH, mt, NULL, NULL, h2, AP->norm_w, AP->norm_b, M, H, W2V_TORCH_NORM_EPS);
		TRY(lin(f, mmA, mt, mmH, mt, AP->l1_w, AP->l1_b, M, H, A, OPS_POST_RELU));
		ad_in = mmA;
	}
	TRY(lin(f, out, OPS_F32, ad_in, mt, AP->l2_w, AP->l2_b, M, A, H, OPS_POST_ADD));
out:
	return rc;
}

static int layer_forward(w2v_fwd *f, int l, float *x, float *out, ops_dtype mt,
                         void *mmH, void *mmF, void *mmA, void *qb, void *kb, void *vb, void *ab,
                         float *rtmp)
{
	int rc = 0;
	const w2v_config *c = &f->m->cfg;
	const w2v_layer_params *P = &f->m->p.layer[l];
	int train = (f->flags & W2V_FWD_TRAIN) != 0;
	w2v_layer_acts *a = &f->layer[train ? l : 0];
	int H = c->hidden_size, F = c->intermediate_size, A = c->adapter_attn_dim, NH = c->num_attention_heads;
	int B = f->B, T = f->T, M = B * T;
	size_t nH = (size_t)M * H, nF = (size_t)M * F;
	float eps = c->layer_norm_eps;
	const int *kv = f->masked ? f->flen : NULL;
	int stable = c->do_stable_layer_norm;

	if (train)
		TRY(layer_alloc_train(f, l, a));
	a->x = x;
	a->out = out;
	if (!train) {
		/* inference: the stream is updated in place in out (x stays intact
		 * when it is a kept hidden state) */
		copy_if(out, x, nH);
		x = out;
	}
	/* ---- attention block ---- */
	const void *qkv_in;
	if (stable) {
		qkv_in = prenorm(train ? a->ln1 : NULL, a->ln1_mean, a->ln1_rstd, x, P->ln1_w, P->ln1_b, mmH, mt, M, H, eps);
	} else {
		qkv_in = mm_in(x, mmH, mt, nH);
	}
	void *q = qb, *k = kb, *v = vb;
	ops_dtype qt = mt;
	if (train) {
		q = a->q; k = a->k; v = a->v;
		qt = OPS_F32;
	}
	TRY(lin(f, q, qt, qkv_in, mt, P->q_w, P->q_b, M, H, H, 0));
	/* K and V read Q's input: in int8 mode it is quantized once */
	TRY(lin(f, k, qt, qkv_in, mt, P->k_w, P->k_b, M, H, H, OPS_INT8_SAME_X));
	TRY(lin(f, v, qt, qkv_in, mt, P->v_w, P->v_b, M, H, H, OPS_INT8_SAME_X));
	if (train && mt == OPS_BF16) {
		q = (void *)mm_in(a->q, qb, mt, nH);
		k = (void *)mm_in(a->k, kb, mt, nH);
		v = (void *)mm_in(a->v, vb, mt, nH);
		qt = mt;
	}
	const void *att_in;
	if (train) {
		TRY(attention_forward(f->ops, a->attn, OPS_F32, a->probs, q, k, v, qt, H, kv, B, T, H, NH));
		if (RP(f, attention) > 0)   /* the output again, from the dropped probabilities */
			TRY(f->reg_hooks->attention(f, l));
		att_in = mm_in(a->attn, ab, mt, nH);
	} else {
		TRY(attention_forward(f->ops, ab, mt, NULL, q, k, v, qt, H, kv, B, T, H, NH));
		att_in = ab;
	}
	float *h1 = train ? a->h1 : x;
	copy_if(h1, x, nH);
	TRY(residual_lin(f, h1, att_in, mt, P->o_w, P->o_b, M, H, H, rtmp, LSITE(l, W2V_DROP_L_ATTN_OUT)));
	a->h1 = h1;
	/* ---- feed-forward block ---- */
	const void *ff_in;
	float *resid;                         /* the stream the FFN output is added to */
	if (stable) {
		resid = h1;
		ff_in = prenorm(train ? a->ln2 : NULL, a->ln2_mean, a->ln2_rstd, h1, P->ln2_w, P->ln2_b, mmH, mt, M, H, eps);
	} else {
		float *h1n = train ? a->h1n : h1;   /* in place in inference */
		layernorm_forward(h1n, OPS_F32, train ? a->ln1_mean : NULL, train ? a->ln1_rstd : NULL,
		                  h1, P->ln1_w, P->ln1_b, M, H, eps);
		a->h1n = h1n;
		resid = h1n;
		ff_in = mm_in(h1n, mmH, mt, nH);
	}
	if (train) {
		TRY(lin(f, a->ff_pre, OPS_F32, ff_in, mt, P->ff1_w, P->ff1_b, M, H, F, 0));
		gelu_forward(a->ff_act, OPS_F32, a->ff_pre, nF);
		if (RP(f, activation) > 0)
			f->reg_hooks->dropout(f, a->ff_act, a->ff_act, nF, f->reg.activation, LSITE(l, W2V_DROP_L_ACT));
		ff_in = mm_in(a->ff_act, mmF, mt, nF);
	} else {
		TRY(lin(f, mmF, mt, ff_in, mt, P->ff1_w, P->ff1_b, M, H, F, OPS_POST_GELU));
		ff_in = mmF;
	}
	float *h2 = train ? a->h2 : resid;
	copy_if(h2, resid, nH);
	TRY(residual_lin(f, h2, ff_in, mt, P->ff2_w, P->ff2_b, M, F, H, rtmp, LSITE(l, W2V_DROP_L_FFN_OUT)));
	a->h2 = h2;
	if (!stable) {
		/* post-norm: out = final_layer_norm(h2) */
		layernorm_forward(out, OPS_F32, train ? a->ln2_mean : NULL, train ? a->ln2_rstd : NULL,
		                  h2, P->ln2_w, P->ln2_b, M, H, eps);
		return 0;
	}
	/* ---- adapter (stable layout only, as HF) ---- */
	copy_if(out, h2, nH);
	if (A > 0)
		TRY(adapter_forward(f, l, a, h2, out, mt, mmH, mmA));
out:
	if (rc)
		err_wrap(rc, "encoder layer %d", l);
	return rc;
}

/* The feature projection of f->extract_features into f->proj
 * (layer_norm -> linear), regularized in a training forward, padded
 * frames zeroed. */
static int feature_projection(w2v_fwd *f, ops_dtype mt)
{
	int rc = 0;
	const w2v_config *c = &f->m->cfg;
	const w2v_params *p = &f->m->p;
	int train = (f->flags & W2V_FWD_TRAIN) != 0;
	int B = f->B, T = f->T, M = B * T, H = c->hidden_size;
	int Cl = c->conv_dim[c->num_feat_extract_layers - 1];
	size_t nH = (size_t)M * H, es = ops_dtype_size(mt);
	float eps = c->layer_norm_eps;
	size_t nC = (size_t)M * Cl;
	if (train) {
		NEED(f->fp_ln, nC * 4); NEED(f->fp_mean, M * 4); NEED(f->fp_rstd, M * 4);
	} else {
		f->fp_ln = f->fp_mean = f->fp_rstd = NULL;
	}
	void *fpin;
	NEED(fpin, nC * es);
	if (train) {
		layernorm_forward(f->fp_ln, OPS_F32, f->fp_mean, f->fp_rstd, f->extract_features, p->fp_ln_w, p->fp_ln_b, M, Cl, eps);
		mm_in(f->fp_ln, fpin, mt, nC);
		if (mt == OPS_F32)
			fpin = f->fp_ln;
	} else {
		layernorm_forward(fpin, mt, NULL, NULL, f->extract_features, p->fp_ln_w, p->fp_ln_b, M, Cl, eps);
	}
	NEED(f->proj, nH * 4);
	TRY(lin(f, f->proj, OPS_F32, fpin, mt, p->fp_w, p->fp_b, M, Cl, H, 0));
	/* training regularization of the projection (feat_proj dropout,
	 * SpecAugment); the masks are kept for backward */
	f->tmask = f->fmask = NULL;
	if (f->reg_on) {
		if (f->reg.spec_augment && f->reg.mask_time_prob > 0)
			NEED(f->tmask, (size_t)B * T);
		if (f->reg.spec_augment && f->reg.mask_feature_prob > 0)
			NEED(f->fmask, (size_t)B * H);
		TRY(f->reg_hooks->projection(f));
	}
	if (f->masked)
		for (int b = 0; b < B; b++)
			memset(f->proj + ((size_t)b * T + f->flen[b]) * H, 0, sizeof(float) * (size_t)(T - f->flen[b]) * H);
out:
	return rc;
}

/* The encoder's input: f->proj + GELU(positional conv) into f->enc_in
 * (base layout: then encoder.layer_norm), regularized in a training forward;
 * *cur gets the residual stream the layers start from (hidden[0]). */
static int encoder_input(w2v_fwd *f, ops_dtype mt, void *mmH, float **curp)
{
	int rc = 0;
	const w2v_config *c = &f->m->cfg;
	const w2v_params *p = &f->m->p;
	int train = (f->flags & W2V_FWD_TRAIN) != 0;
	int keep_hidden = (f->flags & (W2V_FWD_HIDDEN | W2V_FWD_TRAIN)) != 0;
	int B = f->B, T = f->T, M = B * T, H = c->hidden_size;
	size_t nH = (size_t)M * H;
	float eps = c->layer_norm_eps;
	/* positional conv embedding */
	f->pos_pre = NULL;
	if (train)
		NEED(f->pos_pre, nH * 4);
	NEED(f->enc_in, nH * 4);
	TRY(posconv_forward(f->ops, f->enc_in, f->pos_pre, f->proj, mm_in(f->proj, mmH, mt, nH), mt,
	                    p->pos_conv_w, p->pos_conv_b, B, T, H, c->num_conv_pos_embeddings,
	                    c->num_conv_pos_embedding_groups));
	if (c->do_stable_layer_norm && RP(f, hidden) > 0)
		f->reg_hooks->dropout(f, f->enc_in, f->enc_in, nH, f->reg.hidden, W2V_DROP_ENC);

	/* residual stream buffers: every hidden state kept, or one in place */
	float *cur = f->enc_in;
	f->enc_ln_mean = f->enc_ln_rstd = NULL;
	if (train) {
		NEED(f->enc_ln_mean, M * 4);
		NEED(f->enc_ln_rstd, M * 4);
	}
	if (!c->do_stable_layer_norm) {
		float *h0;
		if (keep_hidden)
			NEED(h0, nH * 4);
		else
			h0 = cur;
		layernorm_forward(h0, OPS_F32, f->enc_ln_mean, f->enc_ln_rstd, cur, p->enc_ln_w, p->enc_ln_b, M, H, eps);
		if (RP(f, hidden) > 0)   /* reg_on implies W2V_FWD_TRAIN: h0 is its own buffer */
			f->reg_hooks->dropout(f, h0, h0, nH, f->reg.hidden, W2V_DROP_ENC);
		cur = h0;
	}
	if (keep_hidden)
		f->hidden[0] = cur;
	*curp = cur;
out:
	return rc;
}

/* The buffers every frozen layer of a training forward shares
 * (w2v_fwd_set_frozen_below), allocated before the layers so that
 * LayerDrop cannot skip them. */
static int slim_alloc(w2v_fwd *f)
{
	int rc = 0;
	const w2v_config *c = &f->m->cfg;
	int B = f->B, T = f->T, M = B * T;
	size_t nH = (size_t)M * c->hidden_size;
	w2v_layer_acts *sh = &f->slim_set;
	NEED(sh->probs, (size_t)B * c->num_attention_heads * T * T * 4);
	NEED(sh->attn, nH * 4);
	NEED(sh->ff_act, (size_t)M * c->intermediate_size * 4);
	if (c->do_stable_layer_norm) {
		NEED(sh->ln1, nH * 4);
		NEED(sh->ln2, nH * 4);
	}
out:
	return rc;
}

int w2v_forward(w2v_fwd *f, const float *x, int B, int n, const int64_t *len)
{
	int rc = 0;
	const w2v_config *c = &f->m->cfg;
	const w2v_params *p = &f->m->p;
	ops_dtype mt = (f->flags & W2V_FWD_BF16) ? OPS_BF16 : OPS_F32;
	int train = (f->flags & W2V_FWD_TRAIN) != 0;
	int keep_hidden = (f->flags & (W2V_FWD_HIDDEN | W2V_FWD_TRAIN)) != 0;
	int H = c->hidden_size, L = c->num_hidden_layers, V = c->vocab_size;
	float eps = c->layer_norm_eps;

	if (B <= 0 || n <= 0)
		return err_set(ACC_EINVAL, "w2v_forward: empty batch (%d x %d)", B, n);
	f->nbuf_used = 0;
	f->B = B;
	f->n = n;
	f->T = (int)w2v_config_frames(c, n);
	int *fl = realloc(f->flen, sizeof(int) * B);
	if (!fl)
		return err_set(ACC_ENOMEM, "out of memory");
	f->flen = fl;
	f->masked = len != NULL;
	for (int b = 0; b < B; b++) {
		int64_t lb = len ? len[b] : n;
		if (lb < 0 || lb > n)
			return err_set(ACC_EINVAL, "w2v_forward: utterance %d has %lld samples, batch width %d",
			               b, (long long)lb, n);
		f->flen[b] = (int)w2v_config_frames(c, lb);
	}
	if (f->T == 0)
		return 0;
	/* the trainable group changes between training steps, and when another
	 * adapter is loaded: re-pack its weights */
	if (train || f->seen_train != f->m->train || f->seen_vocab != V || strcmp(f->seen_lang, f->m->lang)) {
		w2v_fwd_adapters_changed(f);
		f->seen_train = f->m->train;
		f->seen_vocab = V;
		snprintf(f->seen_lang, sizeof f->seen_lang, "%s", f->m->lang);
	}
	int T = f->T, M = B * T;
	size_t nH = (size_t)M * H;
	/* the conv feature encoder in bf16 also for int8 (W2V_FWD_CONV_BF16) */
	TRY(feature_encoder(f, x, B, n, !train && (f->flags & W2V_FWD_CONV_BF16) ? OPS_BF16 : mt));

	/* shared matmul-input buffers (bf16 or fp32) */
	size_t es = ops_dtype_size(mt);
	int A = c->adapter_attn_dim > 0 ? c->adapter_attn_dim : 1;
	void *mmH, *mmF, *mmA, *qb, *kb, *vb, *ab;
	NEED(mmH, nH * es);
	NEED(mmF, (size_t)M * c->intermediate_size * es);
	NEED(mmA, (size_t)M * A * es);
	NEED(qb, nH * es); NEED(kb, nH * es); NEED(vb, nH * es); NEED(ab, nH * es);

	TRY(feature_projection(f, mt));

	float *cur;
	TRY(encoder_input(f, mt, mmH, &cur));
	float *rtmp = NULL;
	if (RP(f, hidden) > 0)
		NEED(rtmp, nH * 4);
	int recompute = train && (f->flags & W2V_FWD_RECOMPUTE);
	if (recompute) {
		/* one layer set and the recomputed output, before the layers so
		 * that LayerDrop cannot skip them; the matmul-input buffers stay
		 * valid until the next forward, for w2v_fwd_recompute_layer */
		memset(&f->rc_set, 0, sizeof f->rc_set);
		TRY(layer_alloc_train(f, -1, &f->rc_set));
		NEED(f->rc_out, nH * 4);
		void *mm[7] = { mmH, mmF, mmA, qb, kb, vb, ab };
		memcpy(f->rc_mm, mm, sizeof mm);
		f->rc_rtmp = rtmp;
		f->rc_layer = -1;
	} else if (train && f->frozen_below > 0) {
		TRY(slim_alloc(f));
	}
	uint64_t ld_rng = 0;   /* the LayerDrop stream (the hook's state) */
	for (int l = 0; l < L; l++) {
		float *nx = cur;
		if (train)
			f->layer[l].skipped = 0;
		/* LayerDrop: one U[0,1) draw per layer, as HF; a skipped layer is the identity */
		if (RP(f, layerdrop) > 0 && f->reg_hooks->layer_skipped(f, l, &ld_rng)) {
			w2v_layer_acts *a = &f->layer[l];
			memset(a, 0, sizeof *a);
			a->skipped = 1;
			a->x = a->out = cur;
			if (keep_hidden && l < L - 1)
				f->hidden[l + 1] = cur;
			continue;
		}
		if (keep_hidden)
			NEED(nx, nH * 4);
		TRY(layer_forward(f, l, cur, nx, mt, mmH, mmF, mmA, qb, kb, vb, ab, rtmp));
		if (recompute)
			f->rc_layer = l;
		cur = nx;
		if (keep_hidden && l < L - 1)
			f->hidden[l + 1] = cur;
	}
	/* hidden[L] is the last layer's output (transformers 5.x records layer
	 * outputs; the final encoder.layer_norm of the stable layout is not in
	 * it, as the golden fixture shows) */
	if (keep_hidden)
		f->hidden[L] = cur;
	if (c->do_stable_layer_norm) {
		float *fin = cur;
		if (keep_hidden)
			NEED(fin, nH * 4);
		layernorm_forward(fin, OPS_F32, f->enc_ln_mean, f->enc_ln_rstd, cur, p->enc_ln_w, p->enc_ln_b, M, H, eps);
		cur = fin;
	}
	if (RP(f, final) > 0) {
		float *fd;
		NEED(fd, nH * 4);
		f->reg_hooks->dropout(f, fd, cur, nH, f->reg.final, W2V_DROP_FINAL);
		cur = fd;
	}
	f->final = cur;

	/* lm_head + log-softmax */
	NEED(f->logits, (size_t)M * V * 4);
	NEED(f->logprobs, (size_t)M * V * 4);
	TRY(linear_forward(f->ops, f->logits, OPS_F32, mm_in(cur, mmH, mt, nH), mt, p->lm_w, p->lm_b, M, H, V, 0));
	logsoftmax_forward(f->logprobs, f->logits, M, V);
out:
	return rc;
}

int w2v_fwd_recompute_layer(w2v_fwd *f, int l)
{
	if (!(f->flags & W2V_FWD_RECOMPUTE) || f->T == 0)
		return 0;
	if (l < 0 || l >= f->m->cfg.num_hidden_layers)
		return err_set(ACC_EINVAL, "w2v_fwd_recompute_layer: no encoder layer %d", l);
	w2v_layer_acts *a = &f->layer[l];
	if (a->skipped || f->rc_layer == l)
		return 0;   /* the identity; or the set still holds this layer (the forward's last one) */
	/* the layer's output is already kept (the next layer's input): the
	 * recomputed one goes to a spare buffer, and the kept one is untouched */
	float *x = a->x, *out = a->out;
	ops_dtype mt = (f->flags & W2V_FWD_BF16) ? OPS_BF16 : OPS_F32;
	void **mm = f->rc_mm;
	int rc = layer_forward(f, l, x, f->rc_out, mt, mm[0], mm[1], mm[2], mm[3], mm[4], mm[5], mm[6], f->rc_rtmp);
	a->out = out;
	f->rc_layer = rc ? -1 : l;
	return rc;
}

size_t w2v_fwd_activation_bytes(const w2v_fwd *f)
{
	size_t n = 0;
	for (int i = 0; i < f->nbufs; i++)
		n += f->buf_sz[i];
	return n;
}

/* ---- bf16/int8 inference without the fp32 weights ---- */

typedef struct { float *w; int K, N; } lean_weight;   /* a linear weight [N,K] */

void w2v_fwd_set_frozen_below(w2v_fwd *f, int layer)
{
	int L = f->m->cfg.num_hidden_layers;
	f->frozen_below = layer < 0 ? 0 : layer > L ? L : layer;
}

/* The linear weights of m that a lean forward packs: [N,K] each. */
static int lean_weights(const w2v_model *m, lean_weight *lw)
{
	const w2v_config *c = &m->cfg;
	int H = c->hidden_size, F = c->intermediate_size, L = c->num_hidden_layers;
	int Cl = c->conv_dim[c->num_feat_extract_layers - 1];
	int n = 0;
	lw[n++] = (lean_weight){ m->p.fp_w, Cl, H };
	for (int l = 0; l < L; l++) {
		const w2v_layer_params *P = &m->p.layer[l];
		lw[n++] = (lean_weight){ P->q_w, H, H };
		lw[n++] = (lean_weight){ P->k_w, H, H };
		lw[n++] = (lean_weight){ P->v_w, H, H };
		lw[n++] = (lean_weight){ P->o_w, H, H };
		lw[n++] = (lean_weight){ P->ff1_w, H, F };
		lw[n++] = (lean_weight){ P->ff2_w, F, H };
	}
	return n;
}

static int lean_check(const w2v_fwd *f, const w2v_model *m)
{
	if (m != f->m)
		return err_set(ACC_EINVAL, "w2v_fwd_lean: the model is not the forward's");
	if (!(f->flags & (W2V_FWD_BF16 | W2V_FWD_INT8)) || (f->flags & W2V_FWD_TRAIN))
		return err_set(ACC_EINVAL, "only a bf16 or int8 inference forward keeps packed copies of its "
		               "weights (fp32 reads them in place)");
	return 0;
}

static int lean_one(w2v_fwd *f, w2v_model *m, const lean_weight *w)
{
	int rc = ops_ctx_pack_linear(f->ops, w->w, w->K, w->N, OPS_BF16, (f->flags & W2V_FWD_INT8) != 0);
	if (rc)
		return rc;
	ops_ctx_source_released(f->ops, w->w);
	return w2v_base_release(m, w->w, (size_t)w->K * w->N);
}

/* The lean weights of m when f may release them (lean_check), in lw; the
 * count, or -1 with the error set. */
static int lean_list(w2v_fwd *f, const w2v_model *m, lean_weight *lw)
{
	return lean_check(f, m) ? -1 : lean_weights(m, lw);
}

int w2v_fwd_lean_tensor(w2v_fwd *f, w2v_model *m, const float *p)
{
	lean_weight lw[6 * W2V_MAX_LAYERS + 1];
	int n = lean_list(f, m, lw);
	if (n < 0)
		return ACC_EINVAL;
	for (int i = 0; i < n; i++)
		if (lw[i].w == p)
			return lean_one(f, m, &lw[i]);
	return 0;
}

int w2v_fwd_lean(w2v_fwd *f, w2v_model *m)
{
	int rc;
	lean_weight lw[6 * W2V_MAX_LAYERS + 1];
	int n = lean_list(f, m, lw);
	if (n < 0)
		return ACC_EINVAL;
	/* every packing first: a failure leaves the model whole */
	for (int i = 0; i < n; i++)
		if ((rc = ops_ctx_pack_linear(f->ops, lw[i].w, lw[i].K, lw[i].N, OPS_BF16,
		                              (f->flags & W2V_FWD_INT8) != 0)))
			return rc;
	for (int i = 0; i < n; i++)
		if ((rc = lean_one(f, m, &lw[i])))
			return rc;
	return 0;
}

int w2v_fwd_release_frozen(w2v_fwd *f, w2v_model *m)
{
	int rc = 0;
	if (m != f->m)
		return err_set(ACC_EINVAL, "w2v_fwd_release_frozen: the model is not the forward's");
	if (!(f->flags & W2V_FWD_TRAIN) || !(f->flags & W2V_FWD_BF16) ||
	    f->frozen_below < m->cfg.num_hidden_layers)
		return err_set(ACC_EINVAL, "only a bf16 training forward whose every encoder layer is frozen can "
		               "drop its fp32 weights (fp32 matmuls read them in place)");
	lean_weight lw[6 * W2V_MAX_LAYERS + 1];
	int n = lean_weights(m, lw);
	/* one weight at a time (both packings, then its fp32 copy goes), so
	 * memory never holds more than the fp32 base plus one weight's packings;
	 * lw[0], the feature projection, has no input gradient when nothing
	 * below the encoder trains */
	for (int i = 0; i < n; i++) {
		if ((rc = ops_ctx_pack_linear(f->ops, lw[i].w, lw[i].K, lw[i].N, OPS_BF16, 0)) ||
		    (i > 0 && (rc = ops_ctx_pack_linear_bwd(f->ops, lw[i].w, lw[i].K, lw[i].N, OPS_BF16))))
			return rc;
		ops_ctx_source_released(f->ops, lw[i].w);
		if ((rc = w2v_base_release(m, lw[i].w, (size_t)lw[i].K * lw[i].N)))
			return rc;
	}
	return 0;
}
