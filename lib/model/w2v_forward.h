/*
 * w2v_forward.h — the wav2vec2 / MMS forward pass (Hugging Face
 * Wav2Vec2ForCTC in eval mode) on the ops of ops.h, and the activations it
 * keeps for backward.
 *
 * A w2v_fwd binds a loaded model (lib/model/w2v.h) to an ops context and to
 * activation buffers that grow to the largest batch seen and are reused.
 * Input is a padded batch of already-normalized samples (w2v_infer.h does
 * the feature-extractor normalization); output is logits, log-probs,
 * extract_features and, on request, every hidden state with HF
 * output_hidden_states semantics:
 *   stable layer norm (MMS): hidden[0] = encoder input after the positional
 *     embedding, hidden[l] = output of layer l-1 (l = 1..L; the final
 *     encoder.layer_norm output is `final`, the lm_head input — the golden
 *     fixture of transformers 5.17 has hidden_state.L before that norm);
 *   base (post-norm): hidden[0] = encoder.layer_norm(input + pos. emb.),
 *     hidden[l] = output of layer l-1 (hidden[L] = the last layer's output).
 *
 * Training regularization (dropout, LayerDrop, SpecAugment; w2v_reg.h) is
 * applied only to a W2V_FWD_TRAIN forward after w2v_fwd_set_reg(); without
 * it the forward is the eval forward.  It is reached through the hooks that
 * w2v_fwd_set_reg installs (w2v_fwd_reg_hooks), so that the inference
 * forward links no training code.
 *
 * Padded batches: with per-utterance sample counts (len != NULL) the frame
 * counts follow HF's _get_feat_extract_output_lengths, frames past an
 * utterance's end are zeroed before the positional conv and are masked as
 * keys in every attention; their outputs are computed but meaningless.  With
 * len == NULL no attention mask is used (HF's base layout: zero-padded
 * batches without a mask).
 */
#pragma once
#include <stdint.h>

#include "model/ops.h"
#include "model/w2v.h"
#include "model/w2v_reg.h"

enum {
	W2V_FWD_BF16   = 1,  /* matmul inputs and weights in bf16 (fp32 accumulation) */
	W2V_FWD_HIDDEN = 2,  /* keep every hidden state (w2v_fwd.hidden[0..L]) */
	W2V_FWD_TRAIN  = 4,  /* keep every encoder layer's activations for backward */
	W2V_FWD_TRAIN_FEAT = 8, /* also keep the conv feature encoder's activations */
	W2V_FWD_INT8   = 16, /* dynamic int8 for the encoder's linear layers and the
	                      * feature projection (linear_forward_int8); norms,
	                      * attention, convolutions and lm_head stay fp32
	                      * (the conv feature encoder bf16 with _CONV_BF16).
	                      * Inference only: not with W2V_FWD_TRAIN or _BF16 */
	W2V_FWD_RECOMPUTE = 32, /* with W2V_FWD_TRAIN: activation checkpointing.  The
	                      * forward keeps of each encoder layer only its input
	                      * (hidden[l]); every layer runs in ONE shared set of
	                      * activation buffers, and the backward re-runs each
	                      * layer's forward into it just before that layer's
	                      * backward (w2v_fwd_recompute_layer).  Same ops in the
	                      * same order, same dropout keys and LayerDrop draws:
	                      * losses and gradients are bit-identical to those
	                      * without it, for about one more forward of the
	                      * encoder layers per step */
	W2V_FWD_CONV_BF16 = 64, /* inference: the conv feature encoder's convolutions
	                      * read bf16 (fp32 accumulation, fp32 output), whatever
	                      * the other flags; set with W2V_FWD_INT8 where bf16
	                      * runs fast, because those fp32 convolutions were
	                      * over a third of an int8 forward */
};

/* Activations of one encoder layer.  In inference the residual-stream
 * pointers of a layer alias one buffer updated in place; with
 * W2V_FWD_TRAIN each layer owns its buffers (with W2V_FWD_RECOMPUTE only
 * x and out are the layer's own, the rest is one set every layer shares,
 * refilled by w2v_fwd_recompute_layer).  All fp32, [B,T,*] row-major,
 * also with W2V_FWD_TRAIN | W2V_FWD_BF16: each matmul then reads a bf16
 * rounding of its fp32 input, which the backward (w2v_backward.h) re-derives
 * bit for bit from the kept fp32 value instead of storing it. */
typedef struct {
	float *x;          /* [B,T,H] layer input */
	/* stable: ln1 = layer_norm(x) feeds q/k/v; base: q/k/v read x, ln1 = NULL */
	float *ln1, *ln1_mean, *ln1_rstd;          /* [B,T,H], [B*T], [B*T] */
	float *q, *k, *v;  /* [B,T,H] projections (q not yet scaled; attention scales) */
	float *probs;      /* [B,NH,T,T] softmax probabilities (padded keys 0) */
	float *attn;       /* [B,T,H] concatenated heads, input of out_proj */
	float *h1;         /* [B,T,H] x + out_proj(attn) (base: before its layer_norm) */
	/* base: h1n = layer_norm(h1) with stats ln1_mean/ln1_rstd (it is the
	 * FFN input and residual); stable: h1n = NULL */
	float *h1n;
	/* FFN input: stable: final_layer_norm(h1) with stats ln2_*; base: h1n */
	float *ln2, *ln2_mean, *ln2_rstd;
	float *ff_pre;     /* [B,T,F] intermediate_dense output, before GELU */
	float *ff_act;     /* [B,T,F] GELU(ff_pre) */
	float *h2;         /* [B,T,H] FFN residual sum (base: before final_layer_norm, stats ln2_*) */
	/* adapter (stable, adapter_attn_dim A > 0): out = h2 + l2(relu(l1(norm(h2)))) */
	float *ad_ln, *ad_mean, *ad_rstd;          /* [B,T,H], [B*T], [B*T] */
	float *ad_pre;     /* [B,T,A] linear_1 output, before ReLU */
	float *ad_act;     /* [B,T,A] ReLU(ad_pre) */
	float *out;        /* [B,T,H] layer output (= next layer's x) */
	int skipped;       /* LayerDrop skipped this layer: out = x, nothing else set */
	/* the layer's base tensors are frozen (w2v_fwd_set_frozen_below): ln1,
	 * attn, ln2 (stable), ff_act and probs point to buffers shared by every
	 * such layer, valid only until the next layer runs.  Their backward
	 * needs none of them but probs, which it recomputes from q and k. */
	int slim;
} w2v_layer_acts;

/* Dropout sites: the key of a site is w2v_fwd_drop_key(f, site) (w2v_reg.h). */
enum {
	W2V_DROP_FEAT_PROJ = 1,  /* feature projection output */
	W2V_DROP_ENC,            /* encoder input (stable) / after encoder.layer_norm (base) */
	W2V_DROP_FINAL,          /* lm_head input */
	W2V_DROP_LAYERDROP,      /* stream of the LayerDrop draws */
	W2V_DROP_TIME_MASK,      /* stream of the time-mask draws */
	W2V_DROP_FEAT_MASK,      /* stream of the feature-mask draws */
	W2V_DROP_LAYER = 16,     /* + 8 * layer + one of: */
	W2V_DROP_L_ATTN = 0,     /*   attention probabilities */
	W2V_DROP_L_ATTN_OUT = 1, /*   out_proj output */
	W2V_DROP_L_ACT = 2,      /*   FFN activation */
	W2V_DROP_L_FFN_OUT = 3,  /*   FFN output */
};

/* Activations of the conv feature encoder layer i (W2V_FWD_TRAIN_FEAT). */
typedef struct {
	float *pre;        /* [B,T_i,C_i] conv output (bias included) */
	float *norm, *mean, *rstd; /* after layer/group norm, its stats ([B*T_i] or [B*C_i]); NULL without norm */
	float *out;        /* [B,T_i,C_i] GELU output (= next layer's input) */
} w2v_conv_acts;

/* The training forward's regularization (w2v_reg.c).  w2v_fwd_set_reg
 * installs them; w2v_forward calls them only while f->reg_on, at the places
 * w2v_reg.h lists. */
typedef struct w2v_fwd_reg_hooks {
	/* y = dropout(x) with probability p at dropout site `site` (W2V_DROP_*;
	 * y == x allowed) */
	void (*dropout)(const w2v_fwd *f, float *y, const float *x, size_t n, float p, int site);
	/* encoder layer l's attention output (f->layer[l].attn) again, from its
	 * probabilities with attention dropout */
	int (*attention)(w2v_fwd *f, int l);
	/* LayerDrop: 1 when encoder layer l is skipped.  Called for l = 0, 1, ...
	 * in order within one forward; *state is 0 before layer 0. */
	int (*layer_skipped)(const w2v_fwd *f, int l, uint64_t *state);
	/* feat_proj dropout and SpecAugment on f->proj, in place; the masks go to
	 * f->tmask / f->fmask, which the forward allocated where they apply */
	int (*projection)(w2v_fwd *f);
} w2v_fwd_reg_hooks;

typedef struct w2v_fwd {
	const w2v_model *m;
	ops_ctx *ops;
	int flags;
	/* shape of the last batch */
	int B, n, T;                    /* batch, padded samples, frames */
	int conv_T[W2V_MAX_CONV];       /* frames after each conv layer */
	int *flen;                      /* [B] valid frames per utterance */
	int masked;                     /* attention mask in use */
	/* outputs of the last batch (fp32) */
	float *extract_features;        /* [B,T,C_last] conv encoder output (HF extract_features) */
	float *fp_ln, *fp_mean, *fp_rstd; /* feature_projection.layer_norm output + stats */
	float *proj;                    /* [B,T,H] projection (padded frames zeroed) */
	float *pos_pre;                 /* [B,T,H] positional conv before GELU (train) */
	float *enc_in;                  /* [B,T,H] proj + pos. embedding (base: before encoder.layer_norm) */
	float *enc_ln_mean, *enc_ln_rstd; /* encoder.layer_norm stats: base on enc_in, stable on the last output */
	float *final;                   /* [B,T,H] lm_head input (stable: after encoder.layer_norm) */
	float **hidden;                 /* [L+1] hidden states (W2V_FWD_HIDDEN or TRAIN), else NULL */
	float *logits;                  /* [B,T,V] */
	float *logprobs;                /* [B,T,V] log_softmax(logits) */
	w2v_layer_acts *layer;          /* [L] (TRAIN) or [1] shared */
	w2v_conv_acts conv[W2V_MAX_CONV];
	/* training regularization (w2v_fwd_set_reg; only with W2V_FWD_TRAIN) */
	w2v_reg reg;
	int reg_on;
	uint64_t reg_seed;
	const w2v_fwd_reg_hooks *reg_hooks;   /* set with reg_on */
	uint8_t *tmask;                 /* [B*T] SpecAugment time mask of the last batch, or NULL */
	uint8_t *fmask;                 /* [B*H] feature mask (1 = channel zeroed), or NULL */
	int frozen_below;               /* w2v_fwd_set_frozen_below (0: every layer keeps everything) */
	w2v_layer_acts slim_set;        /* the buffers the frozen layers share (private) */
	/* W2V_FWD_RECOMPUTE (private): the one layer set every layer runs in,
	 * the recomputed layer's output, and the last forward's matmul-input
	 * buffers (mmH, mmF, mmA, q, k, v, attn) and dropout branch buffer */
	w2v_layer_acts rc_set;
	int rc_layer;                   /* the layer whose activations rc_set holds, -1 none */
	float *rc_out;
	void *rc_mm[7];
	float *rc_rtmp;
	/* identity of the trainable group the packed weights came from (private) */
	const float *seen_train;
	int seen_vocab;
	char seen_lang[64];
	/* buffer bookkeeping (private) */
	void **bufs;
	size_t *buf_sz;
	int nbufs, nbuf_used;
} w2v_fwd;

/* Bind model m (which must outlive f) with W2V_FWD_* flags.  ACC_EINTERNAL
 * when oneDNN cannot be initialized.  bf16 on a CPU without AVX512_BF16 runs
 * on oneDNN's emulation (slower, same results). */
int w2v_fwd_create(w2v_fwd **f, const w2v_model *m, int flags);
void w2v_fwd_free(w2v_fwd *f);

/* For a bf16 or int8 inference forward f of model m: pack every linear
 * weight of the encoder and the feature projection now (bf16, or int8 per
 * output channel) and release their fp32 copies (w2v_base_release), about
 * 95% of the base's memory.  Afterwards m serves only f: w2v_fwd_create on
 * it is ACC_EINVAL.  The results of f do not change (the same packings).
 * ACC_EINVAL for fp32 or training forwards. */
int w2v_fwd_lean(w2v_fwd *f, w2v_model *m);

/* w2v_fwd_lean for one tensor p of m, as a loader delivers it
 * (w2v_load_hooked): when p is one of the linear weights, pack it and
 * release its fp32 copy; other tensors are left alone.  Loading a model this
 * way never holds all its fp32 linear weights at once. */
int w2v_fwd_lean_tensor(w2v_fwd *f, w2v_model *m, const float *p);

/* Adapter training in bf16 (f: W2V_FWD_TRAIN | W2V_FWD_BF16 with every
 * encoder layer frozen, w2v_fwd_set_frozen_below(f, L)): make the bf16
 * packings of the frozen linear weights now (the forward's and the input
 * gradient's) and release their fp32 copies one weight at a time
 * (w2v_base_release), about 95% of the base's memory.  The base can then no
 * longer be saved (w2v_save refuses) and m serves only f.  ACC_EINVAL for
 * other forwards. */
int w2v_fwd_release_frozen(w2v_fwd *f, w2v_model *m);

/* Run the model on x [B, n] (normalized samples, zero padded).  len[b] =
 * valid samples of utterance b (NULL: all n, no attention mask).  Fills the
 * outputs above; f->T frames (0 when n is shorter than the receptive field:
 * then nothing else is computed).  Weights of the trainable group are
 * re-packed on every call when W2V_FWD_TRAIN is set (they change each step). */
int w2v_forward(w2v_fwd *f, const float *x, int B, int n, const int64_t *len);

/* The base tensors of encoder layers 0..layer-1 do not train in the
 * backwards that follow (w2v_backward's base_from; clamped to 0..L): a
 * W2V_FWD_TRAIN forward then keeps, for those layers, only what their input
 * gradient needs (no copies of the matmul inputs that only a weight
 * gradient reads, no attention probabilities; the backward recomputes
 * them), about 40% of a layer's activations.  Default 0: everything kept
 * (a backward with any base_from works).  A backward whose base_from is
 * below `layer` fails with ACC_EINVAL. */
void w2v_fwd_set_frozen_below(w2v_fwd *f, int layer);

/* W2V_FWD_RECOMPUTE: run encoder layer l of the last forward again, from
 * its kept input (f->layer[l].x), into the shared layer buffers, so that
 * f->layer[l] holds every activation its backward reads, bit for bit as the
 * forward computed them (same inputs, ops, dropout keys; a LayerDrop-
 * skipped layer stays skipped).  Valid until the next layer is recomputed
 * or the next forward.  w2v_backward calls it; 0 and nothing done without
 * W2V_FWD_RECOMPUTE or for a skipped layer; ACC_EINVAL for l out of range. */
int w2v_fwd_recompute_layer(w2v_fwd *f, int l);

/* Bytes of activation buffers f holds (every buffer the forwards so far
 * have grown, hidden states, layer activations, matmul inputs, logits). */
size_t w2v_fwd_activation_bytes(const w2v_fwd *f);

/* The ops context (for ops_ctx_weights_changed after changing a weight). */
ops_ctx *w2v_fwd_ops(w2v_fwd *f);

/* The trainable group (adapters + lm_head) changed in place: re-pack it at
 * the next forward.  Loading another adapter (w2v_load_adapter, which
 * records a new m->lang) or resizing the head is detected automatically. */
void w2v_fwd_adapters_changed(w2v_fwd *f);
