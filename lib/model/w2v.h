/*
 * w2v.h — the wav2vec2 / MMS model: configuration, parameters, loading and
 * saving in the exact Hugging Face layout (llm.c style).
 *
 * Every size comes from config.json (w2v_config).  The parameters live in
 * two contiguous float32 blocks:
 *   - the frozen base (feature encoder, feature projection, positional conv,
 *     encoder layers, masked_spec_embed when present), and
 *   - the trainable group (every layer's adapter_layer + lm_head),
 * and the pointers of w2v_params point into them.  Training allocates its
 * gradients and Adam moments as blocks of the same sizes (train_numel) and
 * finds a tensor's slice through w2v_tensor.offset.
 *
 * w2v_model.tensors enumerates every tensor with its HF name, shape, group
 * and offset, so loading, saving and gradient code is one generic loop.
 * The positional conv weight is kept folded (weight norm applied once at
 * load): its table name is "wav2vec2.encoder.pos_conv_embed.conv.weight",
 * which is not a checkpoint name; the loader reads weight_g/weight_v or
 * parametrizations.weight.original0/original1 and the saver writes the
 * parametrizations form back (g = per-kernel-tap norm, v = the weight).
 *
 * Layouts (config.feat_extract_norm / do_stable_layer_norm):
 *   MMS / large: "layer" — conv -> LayerNorm(C) -> GELU in every conv layer,
 *     conv bias; pre-norm encoder layers; encoder.layer_norm after the last
 *     layer.
 *   base: "group" — GroupNorm(C groups, C channels) on conv layer 0 only,
 *     no conv bias; post-norm encoder layers; encoder.layer_norm applied to
 *     the positional-embedded input BEFORE the layers.
 * Both name the conv norm "...conv_layers.N.layer_norm".
 *
 * The shape comments below use H = hidden_size, F = intermediate_size,
 * A = adapter_attn_dim, V = vocab_size (lm_head rows), C_i = conv_dim[i],
 * K_i = conv_kernel[i], P = num_conv_pos_embeddings, G = pos conv groups.
 * Tensor prefixes: "wav2vec2." for everything but "lm_head.".
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#define W2V_MAX_CONV   16    /* conv feature-encoder layers (7 in every release) */

/* The eps of the norms transformers builds without passing the config's
 * layer_norm_eps, so they keep PyTorch's default whatever config.json says:
 * the conv feature encoder's LayerNorms (MMS layout) and GroupNorm (base
 * layout), and the MMS adapter's LayerNorm (Wav2Vec2AttnAdapterLayer).
 * Only the feature projection's and the encoder's norms use layer_norm_eps. */
#define W2V_TORCH_NORM_EPS 1e-5f
#define W2V_MAX_LAYERS 256   /* encoder layers (48 in mms-1b) */

enum { W2V_NORM_GROUP = 0, W2V_NORM_LAYER = 1 };       /* feat_extract_norm */
enum { W2V_CTC_MEAN = 0, W2V_CTC_SUM = 1 };            /* ctc_loss_reduction */

typedef struct {
	/* architecture (config.json) */
	int hidden_size;                 /* H */
	int num_hidden_layers;           /* L */
	int num_attention_heads;         /* H % heads == 0 */
	int intermediate_size;           /* F */
	int num_feat_extract_layers;     /* length of the conv_* arrays */
	int conv_dim[W2V_MAX_CONV];      /* output channels of conv layer i */
	int conv_kernel[W2V_MAX_CONV];
	int conv_stride[W2V_MAX_CONV];
	int conv_bias;                   /* 0/1 */
	int feat_extract_norm;           /* W2V_NORM_GROUP | W2V_NORM_LAYER */
	int do_stable_layer_norm;        /* 1 = pre-norm encoder (MMS/large) */
	int num_conv_pos_embeddings;     /* P: positional conv kernel; even P drops the last frame */
	int num_conv_pos_embedding_groups; /* G: H % G == 0 */
	double layer_norm_eps;           /* feature projection's and encoder's LayerNorms only;
	                                  * see W2V_TORCH_NORM_EPS for the others */
	double initializer_range;        /* std of N(0, .) for Linear weights at random init (HF 0.02) */
	int vocab_size;                  /* V: lm_head rows (updated by an adapter's head) */
	int pad_token_id;                /* CTC blank */
	int adapter_attn_dim;            /* A; 0 = no adapter layers ("null" in config.json) */
	/* hidden_act and feat_extract_activation must be "gelu" (exact erf);
	 * anything else is rejected at parse time. */

	/* training-relevant fields (parsed and validated, unused by inference) */
	double hidden_dropout, attention_dropout, activation_dropout;
	double feat_proj_dropout, final_dropout, layerdrop;
	int apply_spec_augment;
	double mask_time_prob;   int mask_time_length, mask_time_min_masks;
	double mask_feature_prob; int mask_feature_length, mask_feature_min_masks;
	int ctc_loss_reduction;          /* W2V_CTC_MEAN | W2V_CTC_SUM */
	int ctc_zero_infinity;

	/* preprocessor_config.json (defaults when the file is absent:
	 * do_normalize 1, sampling_rate 16000, return_attention_mask =
	 * feat_extract_norm == "layer", as HF's checkpoints ship them) */
	int do_normalize;
	int sampling_rate;
	int return_attention_mask;
} w2v_config;

/* One conv layer of the feature encoder. */
typedef struct {
	float *conv_w;   /* [C_i, C_{i-1} (1 for i=0), K_i]  feature_extractor.conv_layers.{i}.conv.weight */
	float *conv_b;   /* [C_i]  ...conv.bias; NULL when !conv_bias */
	float *norm_w;   /* [C_i]  ...layer_norm.weight; NULL in "group" mode for i > 0 */
	float *norm_b;   /* [C_i]  ...layer_norm.bias;   NULL likewise */
} w2v_conv_params;

/* One transformer encoder layer (frozen base part). */
typedef struct {
	float *q_w, *q_b;     /* [H,H], [H]  encoder.layers.{l}.attention.q_proj.{weight,bias} */
	float *k_w, *k_b;     /* [H,H], [H]  ...attention.k_proj */
	float *v_w, *v_b;     /* [H,H], [H]  ...attention.v_proj */
	float *o_w, *o_b;     /* [H,H], [H]  ...attention.out_proj */
	float *ln1_w, *ln1_b; /* [H]         ...layer_norm (before attention if stable, after the residual otherwise) */
	float *ff1_w, *ff1_b; /* [F,H], [F]  ...feed_forward.intermediate_dense */
	float *ff2_w, *ff2_b; /* [H,F], [H]  ...feed_forward.output_dense */
	float *ln2_w, *ln2_b; /* [H]         ...final_layer_norm */
} w2v_layer_params;

/* One encoder layer's adapter (trainable group): x += linear_2(relu(linear_1(norm(x)))),
 * applied after the feed-forward residual. */
typedef struct {
	float *norm_w, *norm_b; /* [H]        encoder.layers.{l}.adapter_layer.norm */
	float *l1_w, *l1_b;     /* [A,H], [A] ...adapter_layer.linear_1 */
	float *l2_w, *l2_b;     /* [H,A], [H] ...adapter_layer.linear_2 */
} w2v_adapter_params;

typedef struct {
	/* frozen base block */
	w2v_conv_params conv[W2V_MAX_CONV];
	float *fp_ln_w, *fp_ln_b;   /* [C_last]  feature_projection.layer_norm */
	float *fp_w, *fp_b;         /* [H,C_last], [H]  feature_projection.projection */
	float *pos_conv_w;          /* [H, H/G, P]  folded weight norm: w = g * v / ||v|| (norm over dims 0,1 per tap) */
	float *pos_conv_b;          /* [H]  encoder.pos_conv_embed.conv.bias */
	float *enc_ln_w, *enc_ln_b; /* [H]  encoder.layer_norm */
	float *masked_spec_embed;   /* [H]  wav2vec2.masked_spec_embed; NULL when the checkpoint lacks it */
	w2v_layer_params layer[W2V_MAX_LAYERS];
	/* trainable block */
	w2v_adapter_params adapter[W2V_MAX_LAYERS]; /* all NULL when adapter_attn_dim == 0 */
	float *lm_w, *lm_b;         /* [V,H], [V]  lm_head.{weight,bias} */
} w2v_params;

enum { W2V_GROUP_BASE = 0, W2V_GROUP_TRAIN = 1 };
enum {
	W2V_T_OPTIONAL = 1,   /* may be absent from the checkpoint (masked_spec_embed) */
	W2V_T_POSCONV  = 2,   /* the folded positional conv weight (stored as g/v) */
	W2V_T_ADAPTER  = 4,   /* belongs in adapter.<lang>.safetensors (adapter layers + lm_head) */
};

/* One row of the tensor table. */
typedef struct {
	char name[96];        /* HF state-dict name */
	float **ptr;          /* the w2v_params field it fills (points into a block) */
	int ndim;
	int64_t shape[3];
	size_t numel;
	int group;            /* W2V_GROUP_BASE | W2V_GROUP_TRAIN */
	size_t offset;        /* element offset into its group's block */
	int flags;            /* W2V_T_* */
	int present;          /* 0 only for an absent optional tensor */
} w2v_tensor;

typedef struct w2v_model {
	w2v_config cfg;
	w2v_params p;
	float *base;          /* frozen block, base_numel floats, 64-byte aligned */
	size_t base_numel;
	float *train;         /* trainable block (adapters + lm_head), train_numel floats */
	size_t train_numel;
	w2v_tensor *tensors;  /* table of every tensor, n_tensors rows */
	int n_tensors;
	char lang[64];        /* adapter language loaded ("" = none) */
	char *config_json;    /* original config.json text (NULL when built in memory); kept so that
	                       * saving preserves the fields this struct does not model */
	char *preproc_json;   /* original preprocessor_config.json text or NULL */
	void *base_mem, *train_mem; /* the allocations behind base/train (owned; w2v_free) */
	size_t base_bytes;    /* base_mem is an anonymous mapping of this many bytes */
	int base_released;    /* w2v_base_release() dropped part of the base: only the
	                       * forward that released it may run (w2v_fwd_lean) */
} w2v_model;

/* ---- configuration (w2v_config.c) ---- */

/* Parse config.json text (len bytes) into cfg and validate it.  Errors name
 * the field: ACC_EFORMAT for bad JSON or a missing/mistyped field,
 * ACC_EUNSUPPORTED for a valid but unsupported value (hidden_act != gelu). */
int w2v_config_parse(w2v_config *cfg, const char *json, size_t len);

/* Parse preprocessor_config.json text into cfg's preprocessor fields. */
int w2v_config_parse_preproc(w2v_config *cfg, const char *json, size_t len);

/* Read <dir>/config.json and, when present, <dir>/preprocessor_config.json. */
int w2v_config_load(w2v_config *cfg, const char *dir);

/* Check every size for consistency and sanity (divisibility, positive
 * kernels/strides, upper bounds that keep size arithmetic in range).
 * ACC_EFORMAT naming the field on failure. */
int w2v_config_validate(const w2v_config *cfg);

/* Fill cfg with a named preset: "tiny" (the mms-tiny fixture shape),
 * "base-tiny", "mms-300m", "mms-1b".  ACC_EINVAL for an unknown name. */
int w2v_config_preset(w2v_config *cfg, const char *name);

/* Frames produced by the conv feature encoder for n input samples (HF's
 * _get_feat_extract_output_lengths); 0 when n is shorter than the receptive field. */
int64_t w2v_config_frames(const w2v_config *cfg, int64_t n);

/* Product of the conv strides (320 for every released model). */
int w2v_config_total_stride(const w2v_config *cfg);

/* ---- the model in memory (w2v.c) ---- */

/* Allocate a model for cfg (validated first): both blocks zeroed, params
 * and the tensor table set up.  masked_spec_embed is present when the
 * config enables masking (mask_time_prob or mask_feature_prob > 0), as in
 * transformers; w2v_load then marks it by what the checkpoint holds. */
int w2v_model_alloc(w2v_model **m, const w2v_config *cfg);

/* Point every parameter of m->p at its block slice, NULL for a tensor not
 * present (after a loader changed what is present). */
void w2v_bind(w2v_model *m);

/* The table row of an HF tensor name, or NULL. */
const w2v_tensor *w2v_tensor_find(const w2v_model *m, const char *name);

/* Resize lm_head to v rows (new rows zero; existing rows kept up to v);
 * reallocates the train block, so pointers into it change. */
int w2v_resize_head(w2v_model *m, int v);

void w2v_free(w2v_model *m);

/* Give the memory of the frozen base tensor at w (n floats, inside m->base)
 * back to the system: its whole pages are dropped (madvise) and read as
 * zeros afterwards, and the model is marked (base_released) so that no new
 * forward is created on it.  For bf16/int8 inference, whose packed copies
 * of the weights make the fp32 ones dead weight (w2v_fwd_lean). */
int w2v_base_release(w2v_model *m, const float *w, size_t n);

/* ---- loading (w2v_load.c) ---- */

/* Load a Hugging Face model directory: config.json, model.safetensors or
 * model.safetensors.index.json shards, preprocessor_config.json (optional),
 * vocab.json (optional; its size — of vocab[lang] when nested — must equal
 * the lm_head rows, and its blank "<pad>" the config's pad_token_id; the
 * feature extractor's sampling_rate must be AUDIO_RATE (16000, audio/audio.h),
 * the rate every stage decodes to: else ACC_EUNSUPPORTED, "... expects N Hz
 * audio; accent feeds 16000 Hz").  lang (NULL = none) additionally loads
 * adapter.<lang>.safetensors (w2v_load_adapter).  F32/F16/BF16 -> f32.
 * A pytorch_model.bin-only directory is ACC_EUNSUPPORTED with a hint. */
int w2v_load(w2v_model **m, const char *dir, const char *lang);

/* w2v_load that calls hook(arg, m, p) as each frozen base tensor p of the
 * model's checkpoint is in place (its values final; the positional conv,
 * folded from its weight norm at the end, is not announced).  A non-zero
 * return stops the load with that code.  For loaders that repack weights
 * as they arrive (w2v_infer_load). */
typedef int (*w2v_tensor_hook)(void *arg, w2v_model *m, const float *p);
int w2v_load_hooked(w2v_model **m, const char *dir, const char *lang, w2v_tensor_hook hook, void *arg);

/* Load a model directory for inference in language lang (NULL = as it is),
 * the one rule align and transcribe share: adapter.<lang>.safetensors is
 * applied when present; without it, a model whose vocab.json is nested
 * (MMS: one vocabulary per language) cannot serve lang with its base head,
 * which is ACC_ENOTFOUND "model directory 'D' has no adapter for language
 * 'L'" with a hint naming the adapters present; a single-language model
 * (flat vocab.json) is used as it is. */
int w2v_load_lang(w2v_model **m, const char *dir, const char *lang);
/* w2v_load_lang with w2v_load_hooked's hook. */
int w2v_load_lang_hooked(w2v_model **m, const char *dir, const char *lang, w2v_tensor_hook hook, void *arg);

/* Load an adapter file like transformers' load_adapter: the file must hold
 * exactly every layer's adapter_layer tensors and lm_head.{weight,bias}
 * (error names missing and extra keys); lm_head is resized to the file's
 * rows (cfg.vocab_size updated, train block reallocated).  lang is recorded
 * in m->lang (may be NULL). */
int w2v_load_adapter(w2v_model *m, const char *path, const char *lang);

/* ---- random initialisation (w2v_init.c) ---- */

/* Fill every present tensor like transformers' _init_weights (normal 0.02
 * linears, kaiming convs, unit norms; see w2v_init.c), deterministically
 * from seed whatever the thread count.  For tests and benchmarks. */
int w2v_init_random(w2v_model *m, uint64_t seed);

/* The same for the trainable group only (adapters + lm_head): a fresh
 * language adapter over an unchanged base. */
int w2v_init_random_train(w2v_model *m, uint64_t seed);

/* ---- saving (w2v_save.c) ---- */

enum { W2V_SAVE_F32 = 0, W2V_SAVE_BF16 = 1, W2V_SAVE_F16 = 2 };

/* Write a model directory in HF layout: config.json (the original text with
 * the modelled fields updated, or a complete one generated from cfg),
 * preprocessor_config.json and model.safetensors (every present tensor,
 * positional conv as parametrizations.weight.original0/1).  dtype is a
 * W2V_SAVE_*.  Each file is written atomically; dir is created. */
int w2v_save(const w2v_model *m, const char *dir, int dtype);

/* Write adapter.<lang>.safetensors content (adapter layers + lm_head, f32)
 * to path atomically, as transformers' _get_adapters() state dict. */
int w2v_save_adapter(const w2v_model *m, const char *path);

/* Write config.json for cfg into dir (generated from cfg, or orig_json with
 * the modelled fields updated when orig_json is not NULL). */
int w2v_config_write(const w2v_config *cfg, const char *orig_json, const char *dir);

/* Write preprocessor_config.json for cfg into dir, likewise. */
int w2v_preproc_write(const w2v_config *cfg, const char *orig_json, const char *dir);
