/*
 * w2v_reg.h — training-time regularization of wav2vec2 with Hugging Face
 * Wav2Vec2ForCTC semantics and config names: dropout (hidden_dropout,
 * attention_dropout, activation_dropout, feat_proj_dropout, final_dropout),
 * LayerDrop (layerdrop) and SpecAugment (apply_spec_augment, mask_time_*
 * with the model's masked_spec_embed, mask_feature_*).
 *
 * Where each applies (w2v_forward.c, train mode only):
 *   feature projection output  -> dropout(feat_proj_dropout)
 *     -> time mask: masked frames := masked_spec_embed
 *     -> feature mask: masked channels := 0 (same channels for all frames)
 *   encoder: stable: dropout(hidden) on proj + pos. emb.; base: after
 *     encoder.layer_norm; each layer skipped with probability layerdrop;
 *   layer: dropout(attention) on the softmax probabilities, dropout(hidden)
 *     on the out_proj and FFN outputs before their residual adds,
 *     dropout(activation) after the FFN's GELU; adapters have none;
 *   lm_head input -> dropout(final_dropout).
 * Masks come from a per-call seed (w2v_reg_seed: seed, step, micro-batch)
 * so a run is reproducible and a resumed run repeats the uninterrupted one.
 */
#pragma once
#include <stdint.h>

#include "model/w2v.h"

typedef struct w2v_fwd w2v_fwd;   /* w2v_forward.h */

typedef struct w2v_reg {
	float hidden, attention, activation, feat_proj, final, layerdrop;
	int   spec_augment;              /* apply_spec_augment */
	float mask_time_prob;    int mask_time_length, mask_time_min_masks;
	float mask_feature_prob; int mask_feature_length, mask_feature_min_masks;
} w2v_reg;

/* The model config's values (HF: what model.train() applies). */
void w2v_reg_from_config(w2v_reg *r, const w2v_config *c);

/* Everything off (the eval forward). */
void w2v_reg_none(w2v_reg *r);

/* Does r change the forward at all? */
int w2v_reg_active(const w2v_reg *r);

/* ACC_EINVAL (with a message) for a probability outside [0, 1] or a mask
 * length < 1. */
int w2v_reg_check(const w2v_reg *r);

/* The per-call seed of micro-batch `micro` of optimizer step `step`. */
uint64_t w2v_reg_seed(uint64_t seed, int64_t step, int micro);

/* transformers' _compute_mask_indices on a [B, T] batch: per utterance
 * (len[b] valid frames, NULL = T) max(min_masks, int(prob * len / length +
 * eps)) span starts (eps ~ U[0,1) once per call; clamped so the spans fit
 * T and len), drawn without replacement from [0, len - length], each
 * masking `length` frames.  mask [B*T] gets 1 on masked frames, 0 elsewhere.
 * No span fits (length > T): nothing masked.  *rng is a splitmix64 state.
 * 0 or ACC_ENOMEM. */
int w2v_reg_mask_indices(uint8_t *mask, int B, int T, const int *len, float prob, int length,
                         int min_masks, uint64_t *rng);

/* Regularize the following forwards of a W2V_FWD_TRAIN f (w2v_forward.h)
 * with masks drawn from `seed` (the same seed gives the same masks): installs
 * this file's hooks (w2v_fwd_reg_hooks) in f.  r NULL or inactive = the eval
 * forward, bit for bit.  Ignored without W2V_FWD_TRAIN.  ACC_EINVAL for
 * out-of-range options; w2v_forward fails with ACC_EINVAL when time masking
 * is on and the model has no masked_spec_embed. */
int w2v_fwd_set_reg(w2v_fwd *f, const w2v_reg *r, uint64_t seed);

/* The dropout key of `site` (W2V_DROP_*) for the last forward of f (the
 * backward regenerates the forward's masks from it). */
uint64_t w2v_fwd_drop_key(const w2v_fwd *f, int site);
