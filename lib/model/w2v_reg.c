/*
 * w2v_reg.c — regularization options, SpecAugment masks, and the training
 * forward's regularization that w2v_forward reaches through the hooks
 * w2v_fwd_set_reg installs (see w2v_reg.h): the inference forward never
 * links dropout, LayerDrop or SpecAugment.
 */
#include "model/w2v_reg.h"

#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "model/dropout.h"
#include "model/w2v_forward.h"
#include "base/rng.h"
#include "base/banned.h"


void w2v_reg_from_config(w2v_reg *r, const w2v_config *c)
{
	r->hidden = (float)c->hidden_dropout;
	r->attention = (float)c->attention_dropout;
	r->activation = (float)c->activation_dropout;
	r->feat_proj = (float)c->feat_proj_dropout;
	r->final = (float)c->final_dropout;
	r->layerdrop = (float)c->layerdrop;
	r->spec_augment = c->apply_spec_augment;
	r->mask_time_prob = (float)c->mask_time_prob;
	r->mask_time_length = c->mask_time_length;
	r->mask_time_min_masks = c->mask_time_min_masks;
	r->mask_feature_prob = (float)c->mask_feature_prob;
	r->mask_feature_length = c->mask_feature_length;
	r->mask_feature_min_masks = c->mask_feature_min_masks;
}

void w2v_reg_none(w2v_reg *r)
{
	memset(r, 0, sizeof *r);
	r->mask_time_length = r->mask_feature_length = 10;
}

int w2v_reg_active(const w2v_reg *r)
{
	return r && (r->hidden > 0 || r->attention > 0 || r->activation > 0 || r->feat_proj > 0 ||
	             r->final > 0 || r->layerdrop > 0 ||
	             (r->spec_augment && (r->mask_time_prob > 0 || r->mask_feature_prob > 0)));
}

int w2v_reg_check(const w2v_reg *r)
{
	const float v[] = { r->hidden, r->attention, r->activation, r->feat_proj, r->final, r->layerdrop,
	                    r->mask_time_prob, r->mask_feature_prob };
	const char *nm[] = { "hidden_dropout", "attention_dropout", "activation_dropout", "feat_proj_dropout",
	                     "final_dropout", "layerdrop", "mask_time_prob", "mask_feature_prob" };
	for (int i = 0; i < 8; i++)
		if (!(v[i] >= 0.0f && v[i] <= 1.0f))
			return err_set(ACC_EINVAL, "%s must be in [0, 1] (got %g)", nm[i], (double)v[i]);
	if (r->mask_time_length < 1 || r->mask_feature_length < 1)
		return err_set(ACC_EINVAL, "mask_time_length and mask_feature_length must be >= 1");
	if (r->mask_time_min_masks < 0 || r->mask_feature_min_masks < 0)
		return err_set(ACC_EINVAL, "mask min_masks must be >= 0");
	return 0;
}

uint64_t w2v_reg_seed(uint64_t seed, int64_t step, int micro)
{
	uint64_t s = seed ^ 0x7265677531617a65ull;
	uint64_t a = rng_next(&s);
	s = a ^ ((uint64_t)step * 0xd1342543de82ef95ull);
	a = rng_next(&s);
	s = a ^ ((uint64_t)(unsigned)micro * 0xaf251af3b0f025b5ull);
	return rng_next(&s);
}

/* HF's compute_num_masked_span for an utterance of n valid frames */
static int num_spans(int n, int T, float prob, int length, int min_masks, double eps)
{
	int k = (int)((double)prob * n / length + eps);
	if (k < min_masks)
		k = min_masks;
	if ((int64_t)k * length > T)
		k = T / length;
	if (n - (length - 1) < k)
		k = n - (length - 1) > 0 ? n - (length - 1) : 0;
	return k;
}

int w2v_reg_mask_indices(uint8_t *mask, int B, int T, const int *len, float prob, int length,
                         int min_masks, uint64_t *rng)
{
	memset(mask, 0, (size_t)B * T);
	if (length < 1 || length > T || T <= 0)
		return 0;
	double eps = rng_unit(rng);
	if (num_spans(T, T, prob, length, min_masks, eps) == 0)
		return 0;
	int *cand = malloc(sizeof(int) * (size_t)T);
	if (!cand)
		return err_set(ACC_ENOMEM, "out of memory: SpecAugment mask");
	for (int b = 0; b < B; b++) {
		int n = len ? len[b] : T;
		if (n > T)
			n = T;
		int k = num_spans(n, T, prob, length, min_masks, eps);
		int nc = n - (length - 1);
		if (k <= 0 || nc <= 0)
			continue;
		/* k distinct starts: partial Fisher-Yates over [0, nc) */
		for (int i = 0; i < nc; i++)
			cand[i] = i;
		for (int i = 0; i < k; i++) {
			int j = i + (int)(rng_unit(rng) * (nc - i));
			int t = cand[i]; cand[i] = cand[j]; cand[j] = t;
			for (int f = 0; f < length; f++)
				mask[(size_t)b * T + cand[i] + f] = 1;
		}
	}
	free(cand);
	return 0;
}

/* ---- the hooks of a regularized W2V_FWD_TRAIN forward ---- */

uint64_t w2v_fwd_drop_key(const w2v_fwd *f, int site)
{
	return dropout_key(f->reg_seed, (uint64_t)site);
}

static void hook_dropout(const w2v_fwd *f, float *y, const float *x, size_t n, float p, int site)
{
	dropout_apply(y, x, n, p, w2v_fwd_drop_key(f, site));
}

static int hook_attention(w2v_fwd *f, int l)
{
	const w2v_config *c = &f->m->cfg;
	w2v_layer_acts *a = &f->layer[l];
	int H = c->hidden_size;
	return attention_dropout_output(f->ops, a->attn, a->probs, a->v, H, f->B, f->T, H,
	                                c->num_attention_heads, f->reg.attention,
	                                w2v_fwd_drop_key(f, W2V_DROP_LAYER + 8 * l + W2V_DROP_L_ATTN));
}

/* one U[0,1) draw per layer from one stream, as HF */
static int hook_layer_skipped(const w2v_fwd *f, int l, uint64_t *state)
{
	if (l == 0)
		*state = w2v_fwd_drop_key(f, W2V_DROP_LAYERDROP);
	return rng_unit(state) < f->reg.layerdrop;   /* the stream starts at the key */
}

/* dropout(feat_proj_dropout), then SpecAugment (HF _mask_hidden_states):
 * time-masked frames := masked_spec_embed, masked channels := 0. */
static int hook_projection(w2v_fwd *f)
{
	int rc = 0;
	const w2v_config *c = &f->m->cfg;
	int B = f->B, T = f->T, H = c->hidden_size;
	size_t nH = (size_t)B * T * H;
	if (f->reg.feat_proj > 0)
		dropout_apply(f->proj, f->proj, nH, f->reg.feat_proj, w2v_fwd_drop_key(f, W2V_DROP_FEAT_PROJ));
	if (f->tmask) {
		const float *emb = f->m->p.masked_spec_embed;
		const w2v_tensor *et = w2v_tensor_find(f->m, "wav2vec2.masked_spec_embed");
		if (!emb || !et || !et->present)
			return err_set(ACC_EINVAL, "time masking (mask_time_prob %g) needs the model's "
			               "wav2vec2.masked_spec_embed, which this checkpoint lacks",
			               (double)f->reg.mask_time_prob);
		uint64_t s = w2v_fwd_drop_key(f, W2V_DROP_TIME_MASK);
		TRY(w2v_reg_mask_indices(f->tmask, B, T, f->masked ? f->flen : NULL, f->reg.mask_time_prob,
		                         f->reg.mask_time_length, f->reg.mask_time_min_masks, &s));
		for (size_t r = 0; r < (size_t)B * T; r++)
			if (f->tmask[r])
				memcpy(f->proj + r * H, emb, sizeof(float) * H);
	}
	if (f->fmask) {
		uint64_t s = w2v_fwd_drop_key(f, W2V_DROP_FEAT_MASK);
		TRY(w2v_reg_mask_indices(f->fmask, B, H, NULL, f->reg.mask_feature_prob,
		                         f->reg.mask_feature_length, f->reg.mask_feature_min_masks, &s));
		for (int b = 0; b < B; b++)
			for (int t = 0; t < T; t++) {
				float *row = f->proj + ((size_t)b * T + t) * H;
				for (int h = 0; h < H; h++)
					if (f->fmask[(size_t)b * H + h])
						row[h] = 0.0f;
			}
	}
out:
	return rc;
}

static const w2v_fwd_reg_hooks reg_hooks = {
	.dropout = hook_dropout,
	.attention = hook_attention,
	.layer_skipped = hook_layer_skipped,
	.projection = hook_projection,
};

int w2v_fwd_set_reg(w2v_fwd *f, const w2v_reg *r, uint64_t seed)
{
	f->reg_on = 0;
	if (!r || !(f->flags & W2V_FWD_TRAIN) || !w2v_reg_active(r))
		return 0;
	int rc = w2v_reg_check(r);
	if (rc)
		return rc;
	f->reg = *r;
	f->reg_seed = seed;
	f->reg_hooks = &reg_hooks;
	f->reg_on = 1;
	return 0;
}
