/*
 * w2v_backward.c — Wav2Vec2ForCTC backward (see w2v_backward.h).
 *
 * Walks the forward of w2v_forward.c in reverse on the saved activations:
 *   lm_head <- [stable: encoder.layer_norm] <- layers L-1..0
 *   (stable: adapter <- FFN residual <- attention residual, pre-norm;
 *    base:   final_layer_norm <- FFN <- layer_norm <- attention, post-norm)
 *   <- [base: encoder.layer_norm] <- positional conv <- padded-frame zeroing
 *   <- feature projection <- feature_projection.layer_norm <- conv encoder.
 * Every residual stream gradient is accumulated in place (ops_backward
 * accumulates), so one [B,T,H] stream buffer carries the gradient down.
 * A frozen parameter's gradient pointer is NULL: its weight-gradient matmul
 * is skipped, and the walk stops as soon as nothing below trains.
 *
 * Precision follows the forward: after a W2V_FWD_BF16 | W2V_FWD_TRAIN
 * forward every linear and attention matmul of the backward (input
 * gradients through the frozen weights, weight gradients of the trainable
 * ones) takes bf16 operands with fp32 accumulation, like PyTorch's bf16
 * autocast; the saved activations are fp32, and rounding them again gives
 * exactly the bf16 operands the forward's matmuls consumed.  Norms,
 * activations, softmax, the convolutions and every gradient stay fp32.
 */
#include "model/w2v_backward.h"

#include <stdlib.h>
#include <string.h>

#include "model/conv1d_gemm.h"
#include "model/dropout.h"
#include "base/err.h"
#include "model/ops_backward.h"
#include "base/banned.h"

enum { S_DS, S_DS2, S_DLN, S_DQ, S_DK, S_DV, S_DATT, S_DF, S_DF2, S_DA, S_DA2, S_DC, S_DC2, S_DR,
       S_RQ, S_RK, S_RV, S_RO, S_N };

struct w2v_bwd {
	void *buf[S_N];
	size_t sz[S_N];
};

int w2v_bwd_create(w2v_bwd **b)
{
	*b = calloc(1, sizeof **b);
	return *b ? 0 : err_set(ACC_ENOMEM, "out of memory");
}

void w2v_bwd_free(w2v_bwd *b)
{
	if (!b)
		return;
	for (int i = 0; i < S_N; i++)
		free(b->buf[i]);
	free(b);
}

/* Zeroed scratch buffer `slot` of n floats. */
static float *scratch(w2v_bwd *b, int slot, size_t n)
{
	size_t bytes = (n ? n : 1) * sizeof(float);
	if (b->sz[slot] < bytes) {
		free(b->buf[slot]);
		b->buf[slot] = NULL;
		b->sz[slot] = 0;
		if (posix_memalign(&b->buf[slot], 64, (bytes + 63) / 64 * 64))
			return b->buf[slot] = NULL;
		b->sz[slot] = bytes;
	}
	memset(b->buf[slot], 0, bytes);
	return b->buf[slot];
}

static int layer_of(const char *name)
{
	const char *p = "wav2vec2.encoder.layers.";
	size_t n = strlen(p);
	if (strncmp(name, p, n))
		return -1;
	return atoi(name + n);
}

int w2v_tensor_trains(const w2v_model *m, const w2v_tensor *t, int base_from)
{
	int L = m->cfg.num_hidden_layers;
	if (base_from > L)
		base_from = L;
	if (t->group == W2V_GROUP_TRAIN)
		return 1;
	if (!t->present)
		return 0;
	if (!strcmp(t->name, "wav2vec2.masked_spec_embed"))
		return base_from <= 0;   /* a parameter of the encoder input, as in HF */
	int l = layer_of(t->name);
	if (l >= 0)
		return l >= base_from;
	if (!strcmp(t->name, "wav2vec2.encoder.layer_norm.weight") ||
	    !strcmp(t->name, "wav2vec2.encoder.layer_norm.bias"))
		return base_from < L;
	if (!strncmp(t->name, "wav2vec2.feature_extractor.", 27))
		return base_from < 0;
	return base_from <= 0;
}

/* Gradient slot of a parameter: NULL when it does not train. */
typedef struct {
	const w2v_model *m;
	float *gtrain, *gbase;
} gmap;

static float *G(const gmap *g, const float *p, int trains)
{
	if (!p || !trains)
		return NULL;
	const w2v_model *m = g->m;
	if (p >= m->train && p < m->train + m->train_numel)
		return g->gtrain + (p - m->train);
	if (g->gbase && p >= m->base && p < m->base + m->base_numel)
		return g->gbase + (p - m->base);
	return NULL;
}

/* The matmul dtype of the backward: the forward's (W2V_FWD_BF16: bf16
 * operands, fp32 accumulation, as PyTorch's bf16 autocast). */
static ops_dtype bwd_mt(const w2v_fwd *f)
{
	return (f->flags & W2V_FWD_BF16) ? OPS_BF16 : OPS_F32;
}

#define NEEDS(p, slot, n) do { if (!((p) = scratch(b, (slot), (n)))) { rc = err_set(ACC_ENOMEM, "out of memory: backward buffers"); goto out; } } while (0)

/* A block output that the hidden dropout dropped (drop site `site` of
 * layer l) before the residual add: *dy becomes its gradient through that
 * mask (in scratch S_DR); unchanged when the dropout is off. */
static int residual_drop_grad(w2v_bwd *b, w2v_fwd *f, const float **dy, size_t n, int l, int site)
{
	int rc = 0;
	float ph = f->reg_on ? f->reg.hidden : 0.0f;
	if (ph > 0) {
		float *t;
		NEEDS(t, S_DR, n);
		dropout_apply(t, *dy, n, ph, w2v_fwd_drop_key(f, W2V_DROP_LAYER + 8 * l + site));
		*dy = t;
	}
out:
	return rc;
}

/* Attention block backward: h1 = x_in + o(attn(q,k,v of qkv_in)).  dh1 is
 * the gradient of h1; d_qkv_in receives the input gradient of the q/k/v
 * projections (accumulated). */
static int attn_block_backward(w2v_bwd *b, w2v_fwd *f, const gmap *gm, int l, int tr,
                               const float *dh1, const float *qkv_in, float *d_qkv_in)
{
	int rc = 0;
	const w2v_config *c = &f->m->cfg;
	const w2v_layer_params *P = &f->m->p.layer[l];
	w2v_layer_acts *a = &f->layer[l];
	ops_ctx *ctx = w2v_fwd_ops(f);
	ops_dtype mt = bwd_mt(f);
	int H = c->hidden_size, NH = c->num_attention_heads, M = f->B * f->T;
	size_t nH = (size_t)M * H;
	float *datt, *dq, *dk, *dv;
	float pa = f->reg_on ? f->reg.attention : 0.0f;
	TRY(residual_drop_grad(b, f, &dh1, nH, l, W2V_DROP_L_ATTN_OUT));   /* the out_proj output */
	NEEDS(datt, S_DATT, nH);
	TRY(linear_backward_dt(ctx, datt, G(gm, P->o_w, tr), G(gm, P->o_b, tr), dh1, a->attn, P->o_w, M, H, H, mt));
	if (a->slim) {
		/* a frozen layer's probabilities were not kept: the same attention
		 * again, on the same q/k/v values (their bf16 rounding in bf16
		 * mode), gives them bit for bit; its output is not needed */
		const void *q = a->q, *k = a->k, *v = a->v;
		float *o;
		NEEDS(o, S_RO, nH);
		if (mt == OPS_BF16) {
			float *qb, *kb, *vb;   /* bf16 data: nH halves in (nH + 1) / 2 floats */
			NEEDS(qb, S_RQ, (nH + 1) / 2);
			NEEDS(kb, S_RK, (nH + 1) / 2);
			NEEDS(vb, S_RV, (nH + 1) / 2);
			ops_to_bf16((uint16_t *)qb, a->q, nH);
			ops_to_bf16((uint16_t *)kb, a->k, nH);
			ops_to_bf16((uint16_t *)vb, a->v, nH);
			q = qb; k = kb; v = vb;
		}
		TRY(attention_forward(ctx, o, OPS_F32, a->probs, q, k, v, mt, H, f->masked ? f->flen : NULL,
		                      f->B, f->T, H, NH));
	}
	NEEDS(dq, S_DQ, nH);
	NEEDS(dk, S_DK, nH);
	NEEDS(dv, S_DV, nH);
	TRY(attention_backward_dropout(ctx, dq, dk, dv, datt, a->q, a->k, a->v, a->probs, H,
	                               f->masked ? f->flen : NULL, f->B, f->T, H, NH, pa,
	                               w2v_fwd_drop_key(f, W2V_DROP_LAYER + 8 * l + W2V_DROP_L_ATTN), mt));
	TRY(linear_backward_dt(ctx, d_qkv_in, G(gm, P->q_w, tr), G(gm, P->q_b, tr), dq, qkv_in, P->q_w, M, H, H, mt));
	TRY(linear_backward_dt(ctx, d_qkv_in, G(gm, P->k_w, tr), G(gm, P->k_b, tr), dk, qkv_in, P->k_w, M, H, H, mt));
	TRY(linear_backward_dt(ctx, d_qkv_in, G(gm, P->v_w, tr), G(gm, P->v_b, tr), dv, qkv_in, P->v_w, M, H, H, mt));
out:
	return rc;
}

/* FFN backward: h2 = resid + ff2(gelu(ff1(ff_in))).  d_ff_in accumulates
 * the gradient of the FFN input. */
static int ffn_backward(w2v_bwd *b, w2v_fwd *f, const gmap *gm, int l, int tr,
                        const float *dh2, const float *ff_in, float *d_ff_in)
{
	int rc = 0;
	const w2v_config *c = &f->m->cfg;
	const w2v_layer_params *P = &f->m->p.layer[l];
	w2v_layer_acts *a = &f->layer[l];
	ops_ctx *ctx = w2v_fwd_ops(f);
	ops_dtype mt = bwd_mt(f);
	int H = c->hidden_size, F = c->intermediate_size, M = f->B * f->T;
	size_t nF = (size_t)M * F;
	float *dact, *dpre;
	float pact = f->reg_on ? f->reg.activation : 0.0f;
	TRY(residual_drop_grad(b, f, &dh2, (size_t)M * H, l, W2V_DROP_L_FFN_OUT));   /* the FFN output */
	NEEDS(dact, S_DF, nF);
	TRY(linear_backward_dt(ctx, dact, G(gm, P->ff2_w, tr), G(gm, P->ff2_b, tr), dh2, a->ff_act, P->ff2_w, M, F, H, mt));
	if (pact > 0)   /* ff_act holds the dropped activation; its mask again */
		dropout_apply(dact, dact, nF, pact, w2v_fwd_drop_key(f, W2V_DROP_LAYER + 8 * l + W2V_DROP_L_ACT));
	NEEDS(dpre, S_DF2, nF);
	gelu_backward(dpre, dact, a->ff_pre, nF);
	TRY(linear_backward_dt(ctx, d_ff_in, G(gm, P->ff1_w, tr), G(gm, P->ff1_b, tr), dpre, ff_in, P->ff1_w, M, H, F, mt));
out:
	return rc;
}

/* The backward of the training regularization of the feature projection
 * (w2v_reg.c, the projection hook), in place on dproj: feature-masked
 * channels and time-masked frames get no gradient (a time-masked frame's
 * goes to masked_spec_embed when it trains), then the projection dropout. */
static void projection_reg_backward(w2v_fwd *f, const gmap *gm, int base_from, float *ds2)
{
	const w2v_model *m = f->m;
	const w2v_params *p = &m->p;
	int T = f->T, M = f->B * T, H = m->cfg.hidden_size;
	size_t nH = (size_t)M * H;
	if (f->fmask)
		for (size_t r = 0; r < (size_t)M; r++)
			for (int h = 0; h < H; h++)
				if (f->fmask[(r / T) * H + h])
					ds2[r * H + h] = 0.0f;
	if (f->tmask) {
		float *ge = G(gm, p->masked_spec_embed, w2v_tensor_trains(m, w2v_tensor_find(m, "wav2vec2.masked_spec_embed"), base_from));
		for (size_t r = 0; r < (size_t)M; r++) {
			if (!f->tmask[r])
				continue;
			for (int h = 0; ge && h < H; h++)
				ge[h] += ds2[r * H + h];
			memset(ds2 + r * H, 0, sizeof(float) * H);
		}
	}
	if (f->reg_on && f->reg.feat_proj > 0)
		dropout_apply(ds2, ds2, nH, f->reg.feat_proj, w2v_fwd_drop_key(f, W2V_DROP_FEAT_PROJ));
}

/* The conv feature encoder's backward, top to bottom (base_from < 0):
 * dext = d extract_features on entry; input = the forward's samples. */
static int feature_encoder_backward(w2v_bwd *b, w2v_fwd *f, const gmap *gm, const float *input, float *dext)
{
	int rc = 0;
	const w2v_config *c = &f->m->cfg;
	const w2v_params *p = &f->m->p;
	ops_ctx *ctx = w2v_fwd_ops(f);
	int B = f->B, nl = c->num_feat_extract_layers;
	/* dext = d out of the current layer */
	for (int i = nl - 1; i >= 0; i--) {
		const w2v_conv_params *cp = &p->conv[i];
		w2v_conv_acts *ca = &f->conv[i];
		int Ti = f->conv_T[i], Co = c->conv_dim[i];
		int Tin = i ? f->conv_T[i - 1] : f->n, Cin = i ? c->conv_dim[i - 1] : 1;
		size_t sz = (size_t)B * Ti * Co;
		int dslot = (dext == b->buf[S_DC2]) ? S_DC : S_DC2;
		float *dpre, *dn, *dx = NULL;
		NEEDS(dn, S_DF, sz);
		gelu_backward(dn, dext, ca->norm ? ca->norm : ca->pre, sz);
		if (ca->norm) {
			NEEDS(dpre, S_DF2, sz);
			if (c->feat_extract_norm == W2V_NORM_LAYER)
				layernorm_backward(dpre, G(gm, cp->norm_w, 1), G(gm, cp->norm_b, 1), dn, ca->pre,
				                   ca->mean, ca->rstd, cp->norm_w, B * Ti, Co);
			else
				groupnorm_backward(dpre, G(gm, cp->norm_w, 1), G(gm, cp->norm_b, 1), dn, ca->pre,
				                   ca->mean, ca->rstd, cp->norm_w, B, Ti, Co);
		} else {
			dpre = dn;
		}
		if (i > 0)
			NEEDS(dx, dslot, (size_t)B * Tin * Cin);
		TRY(conv1d_gemm_backward(ctx, dx, G(gm, cp->conv_w, 1), G(gm, cp->conv_b, 1), dpre,
		                         i ? f->conv[i - 1].out : input, cp->conv_w, B, Tin, Cin, Co,
		                         c->conv_kernel[i], c->conv_stride[i], 1, 0, 0));
		dext = dx;
	}
out:
	return rc;
}

int w2v_backward(w2v_bwd *b, w2v_fwd *f, const float *input, const float *dlogits,
                 float *gtrain, float *gbase, int base_from)
{
	int rc = 0;
	const w2v_model *m = f->m;
	const w2v_config *c = &m->cfg;
	const w2v_params *p = &m->p;
	ops_ctx *ctx = w2v_fwd_ops(f);
	ops_dtype mt = bwd_mt(f);
	int L = c->num_hidden_layers, H = c->hidden_size, V = c->vocab_size, A = c->adapter_attn_dim;
	int stable = c->do_stable_layer_norm;
	int adapters = stable && A > 0;
	if (base_from > L)
		base_from = L;
	if (!(f->flags & W2V_FWD_TRAIN))
		return err_set(ACC_EINVAL, "w2v_backward: the forward must run with W2V_FWD_TRAIN");
	if (base_from < 0 && (!(f->flags & W2V_FWD_TRAIN_FEAT) || !input))
		return err_set(ACC_EINVAL, "w2v_backward: training the conv encoder needs W2V_FWD_TRAIN_FEAT");
	if (base_from < L && !gbase)
		return err_set(ACC_EINVAL, "w2v_backward: base tensors train but no base gradient block");
	if (f->frozen_below > 0 && base_from < f->frozen_below)
		return err_set(ACC_EINVAL, "w2v_backward: layers from %d train but the forward kept only what "
		               "frozen layers need below %d (w2v_fwd_set_frozen_below)", base_from < 0 ? 0 : base_from,
		               f->frozen_below);
	if (f->T == 0)
		return 0;
	gmap gm = { m, gtrain, gbase };
	int B = f->B, T = f->T, M = B * T;
	size_t nH = (size_t)M * H;
	int trl = base_from < L;   /* encoder.layer_norm trains */

	/* lm_head */
	float *ds, *ds2;   /* the stream gradient and a spare of the same size, swapped */
	NEEDS(ds, S_DS, nH);
	NEEDS(ds2, S_DS2, nH);
	TRY(linear_backward_dt(ctx, ds, G(&gm, p->lm_w, 1), G(&gm, p->lm_b, 1), dlogits, f->final,
	                    p->lm_w, M, H, V, mt));
	if (f->reg_on && f->reg.final > 0)   /* f->final is the dropped lm_head input */
		dropout_apply(ds, ds, nH, f->reg.final, w2v_fwd_drop_key(f, W2V_DROP_FINAL));
	/* lowest layer whose backward is needed at all */
	int lowest = adapters ? 0 : base_from;
	if (lowest >= L && !(base_from < L))
		goto out;   /* only the head trains */
	if (stable) {
		/* final = encoder.layer_norm(last layer output) */
		memset(ds2, 0, nH * sizeof(float));
		layernorm_backward(ds2, G(&gm, p->enc_ln_w, trl), G(&gm, p->enc_ln_b, trl), ds,
		                   f->hidden[L], f->enc_ln_mean, f->enc_ln_rstd, p->enc_ln_w, M, H);
		float *t = ds; ds = ds2; ds2 = t;
	}
	/* ds = d(layer L-1 output) */
	for (int l = L - 1; l >= 0 && l >= (lowest < 0 ? 0 : lowest); l--) {
		const w2v_layer_params *P = &p->layer[l];
		const w2v_adapter_params *AP = &p->adapter[l];
		w2v_layer_acts *a = &f->layer[l];
		int tr = l >= base_from;      /* this layer's base tensors train */
		float *dln;
		if (a->skipped)
			continue;   /* LayerDrop: the identity, no gradient for the layer */
		TRY(w2v_fwd_recompute_layer(f, l));   /* W2V_FWD_RECOMPUTE: its activations again */
		if (stable) {
			if (adapters) {
				/* out = h2 + l2(relu(l1(norm(h2)))): ds becomes d h2 in place */
				float *dact, *dpre;
				size_t nA = (size_t)M * A;
				NEEDS(dact, S_DA, nA);
				TRY(linear_backward_dt(ctx, dact, G(&gm, AP->l2_w, 1), G(&gm, AP->l2_b, 1), ds, a->ad_act,
				                    AP->l2_w, M, A, H, mt));
				NEEDS(dpre, S_DA2, nA);
				relu_backward(dpre, dact, a->ad_pre, nA);
				NEEDS(dln, S_DLN, nH);
				TRY(linear_backward_dt(ctx, dln, G(&gm, AP->l1_w, 1), G(&gm, AP->l1_b, 1), dpre, a->ad_ln,
				                    AP->l1_w, M, H, A, mt));
				layernorm_backward(ds, G(&gm, AP->norm_w, 1), G(&gm, AP->norm_b, 1), dln, a->h2,
				                   a->ad_mean, a->ad_rstd, AP->norm_w, M, H);
				if (l < base_from && l == 0)
					break;   /* nothing below trains */
			}
			/* h2 = h1 + FFN(final_layer_norm(h1)): ds = d h2 -> d h1 (in place) */
			NEEDS(dln, S_DLN, nH);
			TRY(ffn_backward(b, f, &gm, l, tr, ds, a->ln2, dln));
			layernorm_backward(ds, G(&gm, P->ln2_w, tr), G(&gm, P->ln2_b, tr), dln, a->h1,
			                   a->ln2_mean, a->ln2_rstd, P->ln2_w, M, H);
			/* h1 = x + attn(layer_norm(x)): ds = d h1 -> d x */
			NEEDS(dln, S_DLN, nH);
			TRY(attn_block_backward(b, f, &gm, l, tr, ds, a->ln1, dln));
			layernorm_backward(ds, G(&gm, P->ln1_w, tr), G(&gm, P->ln1_b, tr), dln, a->x,
			                   a->ln1_mean, a->ln1_rstd, P->ln1_w, M, H);
		} else {
			/* out = final_layer_norm(h2) */
			memset(ds2, 0, nH * sizeof(float));
			layernorm_backward(ds2, G(&gm, P->ln2_w, tr), G(&gm, P->ln2_b, tr), ds, a->h2,
			                   a->ln2_mean, a->ln2_rstd, P->ln2_w, M, H);
			/* h2 = h1n + FFN(h1n) */
			TRY(ffn_backward(b, f, &gm, l, tr, ds2, a->h1n, ds2));
			/* h1n = layer_norm(h1) */
			memset(ds, 0, nH * sizeof(float));
			layernorm_backward(ds, G(&gm, P->ln1_w, tr), G(&gm, P->ln1_b, tr), ds2, a->h1,
			                   a->ln1_mean, a->ln1_rstd, P->ln1_w, M, H);
			/* h1 = x + attn(x) */
			NEEDS(dln, S_DLN, nH);
			TRY(attn_block_backward(b, f, &gm, l, tr, ds, a->x, dln));
			for (size_t i = 0; i < nH; i++)
				ds[i] += dln[i];
		}
	}
	if (base_from > 0)
		goto out;
	/* ds = d hidden[0] (after the encoder dropout) */
	if (f->reg_on && f->reg.hidden > 0)
		dropout_apply(ds, ds, nH, f->reg.hidden, w2v_fwd_drop_key(f, W2V_DROP_ENC));
	if (!stable) {
		/* hidden[0] = encoder.layer_norm(enc_in) */
		memset(ds2, 0, nH * sizeof(float));
		layernorm_backward(ds2, G(&gm, p->enc_ln_w, 1), G(&gm, p->enc_ln_b, 1), ds, f->enc_in,
		                   f->enc_ln_mean, f->enc_ln_rstd, p->enc_ln_w, M, H);
		float *t = ds; ds = ds2; ds2 = t;
	}
	/* enc_in = proj + gelu(posconv(proj)) */
	memset(ds2, 0, nH * sizeof(float));
	TRY(conv1d_gemm_posconv_backward(ctx, ds2, G(&gm, p->pos_conv_w, 1), G(&gm, p->pos_conv_b, 1), ds,
	                                 f->proj, f->pos_pre, p->pos_conv_w, B, T, H,
	                                 c->num_conv_pos_embeddings, c->num_conv_pos_embedding_groups));
	/* proj had its padded frames zeroed */
	if (f->masked)
		for (int bb = 0; bb < B; bb++)
			memset(ds2 + ((size_t)bb * T + f->flen[bb]) * H, 0,
			       sizeof(float) * (size_t)(T - f->flen[bb]) * H);
	/* SpecAugment and the projection dropout */
	projection_reg_backward(f, &gm, base_from, ds2);
	/* proj = projection(layer_norm(extract_features)) */
	int nl = c->num_feat_extract_layers, Cl = c->conv_dim[nl - 1];
	size_t nC = (size_t)M * Cl;
	int with_conv = base_from < 0;
	float *dfp, *dext;
	NEEDS(dfp, S_DC, nC);
	TRY(linear_backward_dt(ctx, dfp, G(&gm, p->fp_w, 1), G(&gm, p->fp_b, 1), ds2, f->fp_ln, p->fp_w, M, Cl, H, mt));
	NEEDS(dext, S_DC2, nC);
	layernorm_backward(with_conv ? dext : NULL, G(&gm, p->fp_ln_w, 1), G(&gm, p->fp_ln_b, 1), dfp,
	                   f->extract_features, f->fp_mean, f->fp_rstd, p->fp_ln_w, M, Cl);
	if (with_conv)
		TRY(feature_encoder_backward(b, f, &gm, input, dext));
out:
	if (rc)
		err_wrap(rc, "model backward");
	return rc;
}
