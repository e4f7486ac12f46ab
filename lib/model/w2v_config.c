/*
 * w2v_config.c — wav2vec2 config.json / preprocessor_config.json parsing,
 * validation, presets and writing.
 *
 * One table of fields drives parsing and writing, so a field is never read
 * one way and written another.  Architecture fields are required: a missing
 * one is an error naming it (a silently defaulted layout would load the
 * weights into the wrong computation).  Fields that only matter for training
 * or that every release spells the same way default to transformers'
 * Wav2Vec2Config defaults.
 */
#include "model/w2v.h"
#include "audio/audio.h"
#include "base/err.h"
#include "base/fsutil.h"

#include <jansson.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/banned.h"

enum { F_INT, F_BOOL, F_REAL, F_INTNULL };

typedef struct {
	const char *key;
	int type;
	size_t off;
	int required;
	double min, max;   /* inclusive bounds (validation) */
	double def;        /* default when optional and absent */
} field;

#define O(x) offsetof(w2v_config, x)
static const field fields[] = {
	{"hidden_size", F_INT, O(hidden_size), 1, 1, 16384, 0},
	{"num_hidden_layers", F_INT, O(num_hidden_layers), 1, 1, W2V_MAX_LAYERS, 0},
	{"num_attention_heads", F_INT, O(num_attention_heads), 1, 1, 1024, 0},
	{"intermediate_size", F_INT, O(intermediate_size), 1, 1, 262144, 0},
	{"conv_bias", F_BOOL, O(conv_bias), 1, 0, 1, 0},
	{"do_stable_layer_norm", F_BOOL, O(do_stable_layer_norm), 1, 0, 1, 0},
	{"num_conv_pos_embeddings", F_INT, O(num_conv_pos_embeddings), 1, 1, 4096, 0},
	{"num_conv_pos_embedding_groups", F_INT, O(num_conv_pos_embedding_groups), 1, 1, 16384, 0},
	{"vocab_size", F_INT, O(vocab_size), 1, 1, 1000000, 0},
	{"layer_norm_eps", F_REAL, O(layer_norm_eps), 0, 1e-30, 1, 1e-5},
	{"initializer_range", F_REAL, O(initializer_range), 0, 1e-6, 10, 0.02},
	{"pad_token_id", F_INT, O(pad_token_id), 0, 0, 999999, 0},
	{"adapter_attn_dim", F_INTNULL, O(adapter_attn_dim), 0, 0, 16384, 0},
	{"hidden_dropout", F_REAL, O(hidden_dropout), 0, 0, 1, 0.1},
	{"attention_dropout", F_REAL, O(attention_dropout), 0, 0, 1, 0.1},
	{"activation_dropout", F_REAL, O(activation_dropout), 0, 0, 1, 0.1},
	{"feat_proj_dropout", F_REAL, O(feat_proj_dropout), 0, 0, 1, 0.0},
	{"final_dropout", F_REAL, O(final_dropout), 0, 0, 1, 0.1},
	{"layerdrop", F_REAL, O(layerdrop), 0, 0, 1, 0.1},
	{"apply_spec_augment", F_BOOL, O(apply_spec_augment), 0, 0, 1, 1},
	{"mask_time_prob", F_REAL, O(mask_time_prob), 0, 0, 1, 0.05},
	{"mask_time_length", F_INT, O(mask_time_length), 0, 1, 100000, 10},
	{"mask_time_min_masks", F_INT, O(mask_time_min_masks), 0, 0, 100000, 2},
	{"mask_feature_prob", F_REAL, O(mask_feature_prob), 0, 0, 1, 0.0},
	{"mask_feature_length", F_INT, O(mask_feature_length), 0, 1, 100000, 10},
	{"mask_feature_min_masks", F_INT, O(mask_feature_min_masks), 0, 0, 100000, 0},
	{"ctc_zero_infinity", F_BOOL, O(ctc_zero_infinity), 0, 0, 1, 0},
};
static const field pp_fields[] = {
	{"do_normalize", F_BOOL, O(do_normalize), 0, 0, 1, 1},
	{"sampling_rate", F_INT, O(sampling_rate), 0, 1000, 384000, AUDIO_RATE},
	/* return_attention_mask's default depends on the layout: set in w2v_config_parse */
};
#undef O
#define NFIELDS (int)(sizeof fields / sizeof *fields)
#define NPP (int)(sizeof pp_fields / sizeof *pp_fields)

static int *fi(w2v_config *c, const field *f) { return (int *)((char *)c + f->off); }
static double *fd(w2v_config *c, const field *f) { return (double *)((char *)c + f->off); }
static int fget_i(const w2v_config *c, const field *f) { return *(const int *)((const char *)c + f->off); }
static double fget_d(const w2v_config *c, const field *f) { return *(const double *)((const char *)c + f->off); }

/* Read one field from obj into cfg (default when optional and absent). */
static int read_field(w2v_config *cfg, json_t *obj, const field *f, const char *file)
{
	json_t *v = json_object_get(obj, f->key);
	if (!v) {
		if (f->required)
			return err_set(ACC_EFORMAT, "%s: missing field \"%s\"", file, f->key);
		if (f->type == F_REAL)
			*fd(cfg, f) = f->def;
		else
			*fi(cfg, f) = (int)f->def;
		return 0;
	}
	switch (f->type) {
	case F_BOOL:
		if (!json_is_boolean(v))
			return err_set(ACC_EFORMAT, "%s: \"%s\" must be true or false", file, f->key);
		*fi(cfg, f) = json_is_true(v);
		return 0;
	case F_REAL:
		if (!json_is_number(v))
			return err_set(ACC_EFORMAT, "%s: \"%s\" must be a number", file, f->key);
		*fd(cfg, f) = json_number_value(v);
		return 0;
	case F_INTNULL:
		if (json_is_null(v)) {
			*fi(cfg, f) = 0;
			return 0;
		}
		/* fall through */
	case F_INT:
		if (!json_is_integer(v))
			return err_set(ACC_EFORMAT, "%s: \"%s\" must be an integer%s", file, f->key,
			               f->type == F_INTNULL ? " or null" : "");
		json_int_t x = json_integer_value(v);
		if (x < -1000000000LL || x > 1000000000LL)
			return err_set(ACC_EFORMAT, "%s: \"%s\" = %lld is out of range", file, f->key, (long long)x);
		*fi(cfg, f) = (int)x;
		return 0;
	}
	return 0;
}

static int read_int_array(json_t *root, const char *key, int *dst, int *n, const char *file)
{
	json_t *a = json_object_get(root, key);
	if (!a)
		return err_set(ACC_EFORMAT, "%s: missing field \"%s\"", file, key);
	if (!json_is_array(a) || json_array_size(a) == 0)
		return err_set(ACC_EFORMAT, "%s: \"%s\" must be a non-empty array of integers", file, key);
	if (json_array_size(a) > W2V_MAX_CONV)
		return err_set(ACC_EFORMAT, "%s: \"%s\" has %zu entries (at most %d supported)", file, key,
		               json_array_size(a), W2V_MAX_CONV);
	*n = (int)json_array_size(a);
	for (int i = 0; i < *n; i++) {
		json_t *v = json_array_get(a, i);
		if (!json_is_integer(v) || json_integer_value(v) < -1000000000LL || json_integer_value(v) > 1000000000LL)
			return err_set(ACC_EFORMAT, "%s: \"%s\"[%d] must be an integer", file, key, i);
		dst[i] = (int)json_integer_value(v);
	}
	return 0;
}

static int read_string(json_t *root, const char *key, const char *def, const char **out, const char *file)
{
	json_t *v = json_object_get(root, key);
	if (!v) {
		if (!def)
			return err_set(ACC_EFORMAT, "%s: missing field \"%s\"", file, key);
		*out = def;
		return 0;
	}
	if (!json_is_string(v))
		return err_set(ACC_EFORMAT, "%s: \"%s\" must be a string", file, key);
	*out = json_string_value(v);
	return 0;
}

static json_t *load_object(const char *json, size_t len, const char *file)
{
	json_error_t je;
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		err_set(ACC_EFORMAT, "%s: invalid JSON at line %d column %d: %s", file, je.line, je.column, je.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		err_set(ACC_EFORMAT, "%s: not a JSON object", file);
		return NULL;
	}
	return root;
}

int w2v_config_parse(w2v_config *cfg, const char *json, size_t len)
{
	const char *F = "config.json";
	int rc = ACC_EFORMAT;
	memset(cfg, 0, sizeof *cfg);
	json_t *root = load_object(json, len, F);
	if (!root)
		return ACC_EFORMAT;
	const char *s;
	if (json_object_get(root, "model_type")) {
		if ((rc = read_string(root, "model_type", NULL, &s, F)))
			goto out;
		if (strcmp(s, "wav2vec2")) {
			rc = err_set(ACC_EUNSUPPORTED, "%s: model_type \"%s\" is not supported (only \"wav2vec2\", which MMS uses)",
			             F, s);
			goto out;
		}
	}
	for (int i = 0; i < NFIELDS; i++)
		if ((rc = read_field(cfg, root, &fields[i], F)))
			goto out;
	int nd, nk, ns;
	if ((rc = read_int_array(root, "conv_dim", cfg->conv_dim, &nd, F)) ||
	    (rc = read_int_array(root, "conv_kernel", cfg->conv_kernel, &nk, F)) ||
	    (rc = read_int_array(root, "conv_stride", cfg->conv_stride, &ns, F)))
		goto out;
	if (nd != nk || nd != ns) {
		rc = err_set(ACC_EFORMAT, "%s: conv_dim, conv_kernel and conv_stride have different lengths (%d, %d, %d)",
		             F, nd, nk, ns);
		goto out;
	}
	cfg->num_feat_extract_layers = nd;
	json_t *nfl = json_object_get(root, "num_feat_extract_layers");
	if (nfl && (!json_is_integer(nfl) || json_integer_value(nfl) != nd)) {
		rc = err_set(ACC_EFORMAT, "%s: num_feat_extract_layers does not match the %d entries of conv_dim", F, nd);
		goto out;
	}
	if ((rc = read_string(root, "feat_extract_norm", NULL, &s, F)))
		goto out;
	if (!strcmp(s, "layer"))
		cfg->feat_extract_norm = W2V_NORM_LAYER;
	else if (!strcmp(s, "group"))
		cfg->feat_extract_norm = W2V_NORM_GROUP;
	else {
		rc = err_set(ACC_EFORMAT, "%s: feat_extract_norm \"%s\" must be \"layer\" or \"group\"", F, s);
		goto out;
	}
	static const char *const gelu_keys[] = {"hidden_act", "feat_extract_activation"};
	for (int i = 0; i < 2; i++) {
		if ((rc = read_string(root, gelu_keys[i], "gelu", &s, F)))
			goto out;
		if (strcmp(s, "gelu")) {
			rc = err_set(ACC_EUNSUPPORTED, "%s: %s \"%s\" is not supported (only \"gelu\", exact erf, as every wav2vec2/MMS release uses)",
			             F, gelu_keys[i], s);
			goto out;
		}
	}
	/* add_adapter is the convolutional adapter stack of seq2seq encoders
	 * (wav2vec2.adapter.*), not MMS's attention adapters */
	json_t *aa = json_object_get(root, "add_adapter");
	if (aa && !json_is_false(aa) && !json_is_null(aa)) {
		rc = err_set(ACC_EUNSUPPORTED, "%s: add_adapter (a convolutional adapter after the encoder) is not supported", F);
		goto out;
	}
	if ((rc = read_string(root, "ctc_loss_reduction", "sum", &s, F)))
		goto out;
	if (!strcmp(s, "mean"))
		cfg->ctc_loss_reduction = W2V_CTC_MEAN;
	else if (!strcmp(s, "sum"))
		cfg->ctc_loss_reduction = W2V_CTC_SUM;
	else {
		rc = err_set(ACC_EFORMAT, "%s: ctc_loss_reduction \"%s\" must be \"mean\" or \"sum\"", F, s);
		goto out;
	}
	/* preprocessor defaults until a preprocessor_config.json says otherwise */
	for (int i = 0; i < NPP; i++)
		*fi(cfg, &pp_fields[i]) = (int)pp_fields[i].def;
	cfg->return_attention_mask = cfg->feat_extract_norm == W2V_NORM_LAYER;
	rc = w2v_config_validate(cfg);
out:
	json_decref(root);
	return rc;
}

int w2v_config_parse_preproc(w2v_config *cfg, const char *json, size_t len)
{
	const char *F = "preprocessor_config.json";
	int rc;
	json_t *root = load_object(json, len, F);
	if (!root)
		return ACC_EFORMAT;
	for (int i = 0; i < NPP; i++)
		if ((rc = read_field(cfg, root, &pp_fields[i], F)))
			goto out;
	json_t *v = json_object_get(root, "return_attention_mask");
	if (v) {
		if (!json_is_boolean(v)) {
			rc = err_set(ACC_EFORMAT, "%s: \"return_attention_mask\" must be true or false", F);
			goto out;
		}
		cfg->return_attention_mask = json_is_true(v);
	}
	v = json_object_get(root, "feature_size");
	if (v && (!json_is_integer(v) || json_integer_value(v) != 1)) {
		rc = err_set(ACC_EFORMAT, "%s: \"feature_size\" must be 1 (mono waveform input)", F);
		goto out;
	}
	rc = w2v_config_validate(cfg);
out:
	json_decref(root);
	return rc;
}

int w2v_config_load(w2v_config *cfg, const char *dir)
{
	char path[4096];
	char *text = NULL;
	size_t len;
	int rc;
	if ((rc = fs_join(path, sizeof path, dir, "config.json")))
		return err_set(rc, "model directory path too long");
	if ((rc = fs_read_all(path, &text, &len, 16u << 20)))
		return err_wrap(rc, "cannot read the model's config.json");
	rc = w2v_config_parse(cfg, text, len);
	free(text);
	text = NULL;
	if (rc)
		return err_wrap(rc, "%s", dir);
	if ((rc = fs_join(path, sizeof path, dir, "preprocessor_config.json")))
		return err_set(rc, "model directory path too long");
	if (!fs_exists(path))
		return 0;
	if ((rc = fs_read_all(path, &text, &len, 16u << 20)))
		return err_wrap(rc, "cannot read preprocessor_config.json");
	rc = w2v_config_parse_preproc(cfg, text, len);
	free(text);
	return rc ? err_wrap(rc, "%s", dir) : 0;
}

int w2v_config_validate(const w2v_config *c)
{
	const char *F = "config.json";
	for (int i = 0; i < NFIELDS; i++) {
		const field *f = &fields[i];
		double v = f->type == F_REAL ? fget_d(c, f) : fget_i(c, f);
		if (!(v >= f->min && v <= f->max)) /* also catches NaN */
			return err_set(ACC_EFORMAT, "%s: \"%s\" = %g is out of range [%g, %g]", F, f->key, v, f->min, f->max);
	}
	for (int i = 0; i < NPP; i++) {
		const field *f = &pp_fields[i];
		double v = fget_i(c, f);
		if (!(v >= f->min && v <= f->max))
			return err_set(ACC_EFORMAT, "preprocessor_config.json: \"%s\" = %g is out of range [%g, %g]",
			               f->key, v, f->min, f->max);
	}
	if (c->hidden_size % c->num_attention_heads)
		return err_set(ACC_EFORMAT, "%s: hidden_size %d is not divisible by num_attention_heads %d", F,
		               c->hidden_size, c->num_attention_heads);
	if (c->hidden_size % c->num_conv_pos_embedding_groups)
		return err_set(ACC_EFORMAT, "%s: hidden_size %d is not divisible by num_conv_pos_embedding_groups %d", F,
		               c->hidden_size, c->num_conv_pos_embedding_groups);
	if (c->num_feat_extract_layers < 1 || c->num_feat_extract_layers > W2V_MAX_CONV)
		return err_set(ACC_EFORMAT, "%s: %d conv layers (1..%d supported)", F, c->num_feat_extract_layers,
		               W2V_MAX_CONV);
	for (int i = 0; i < c->num_feat_extract_layers; i++) {
		if (c->conv_dim[i] < 1 || c->conv_dim[i] > 16384)
			return err_set(ACC_EFORMAT, "%s: conv_dim[%d] = %d is out of range [1, 16384]", F, i, c->conv_dim[i]);
		if (c->conv_kernel[i] < 1 || c->conv_kernel[i] > 4096)
			return err_set(ACC_EFORMAT, "%s: conv_kernel[%d] = %d is out of range [1, 4096]", F, i, c->conv_kernel[i]);
		if (c->conv_stride[i] < 1 || c->conv_stride[i] > 4096)
			return err_set(ACC_EFORMAT, "%s: conv_stride[%d] = %d is out of range [1, 4096]", F, i, c->conv_stride[i]);
	}
	if ((int64_t)c->num_feat_extract_layers > 0 && w2v_config_total_stride(c) <= 0)
		return err_set(ACC_EFORMAT, "%s: the product of conv_stride is too large", F);
	if (c->pad_token_id >= c->vocab_size)
		return err_set(ACC_EFORMAT, "%s: pad_token_id %d (the CTC blank) is not below vocab_size %d", F,
		               c->pad_token_id, c->vocab_size);
	if (c->feat_extract_norm != W2V_NORM_LAYER && c->feat_extract_norm != W2V_NORM_GROUP)
		return err_set(ACC_EFORMAT, "%s: bad feat_extract_norm", F);
	if (c->ctc_loss_reduction != W2V_CTC_MEAN && c->ctc_loss_reduction != W2V_CTC_SUM)
		return err_set(ACC_EFORMAT, "%s: bad ctc_loss_reduction", F);
	/* keep total parameter arithmetic far from overflow: every weight matrix
	 * is bounded above, and the sum over layers must stay below 2^36 floats */
	double h = c->hidden_size, ff = c->intermediate_size, a = c->adapter_attn_dim;
	double per_layer = 4 * h * h + 2 * h * ff + 2 * a * h + 16 * h + ff + a;
	double total = per_layer * c->num_hidden_layers + h * h / c->num_conv_pos_embedding_groups *
	               c->num_conv_pos_embeddings + (double)c->vocab_size * (h + 1);
	for (int i = 0; i < c->num_feat_extract_layers; i++)
		total += (double)c->conv_dim[i] * (i ? c->conv_dim[i - 1] : 1) * c->conv_kernel[i];
	if (total > 17179869184.0) /* 2^34 floats = 64 GiB; mms-1b is 0.97e9 */
		return err_set(ACC_EFORMAT, "%s: the configured sizes give %.3g parameters, beyond what can be loaded", F, total);
	return 0;
}

int w2v_config_total_stride(const w2v_config *c)
{
	int64_t s = 1;
	for (int i = 0; i < c->num_feat_extract_layers; i++) {
		s *= c->conv_stride[i];
		if (s > (1 << 20))
			return -1;
	}
	return (int)s;
}

int64_t w2v_config_frames(const w2v_config *c, int64_t n)
{
	/* HF: length = floor((length - kernel) / stride) + 1 per conv layer;
	 * an input shorter than a kernel yields no frames. */
	for (int i = 0; i < c->num_feat_extract_layers; i++) {
		if (n < c->conv_kernel[i])
			return 0;
		n = (n - c->conv_kernel[i]) / c->conv_stride[i] + 1;
	}
	return n;
}

int w2v_config_preset(w2v_config *c, const char *name)
{
	static const int kern[7] = {10, 3, 3, 3, 3, 2, 2}, strd[7] = {5, 2, 2, 2, 2, 2, 2};
	memset(c, 0, sizeof *c);
	int H, L, NH, FF, C, P, G, V, A, layer;
	if (!strcmp(name, "tiny")) {
		H = 32, L = 2, NH = 4, FF = 64, C = 16, P = 16, G = 4, V = 12, A = 8, layer = 1;
	} else if (!strcmp(name, "base-tiny")) {
		H = 32, L = 2, NH = 4, FF = 64, C = 16, P = 16, G = 4, V = 12, A = 0, layer = 0;
	} else if (!strcmp(name, "mms-300m")) {
		H = 1024, L = 24, NH = 16, FF = 4096, C = 512, P = 128, G = 16, V = 32, A = 16, layer = 1;
	} else if (!strcmp(name, "mms-1b")) {
		H = 1280, L = 48, NH = 16, FF = 5120, C = 512, P = 128, G = 16, V = 32, A = 16, layer = 1;
	} else {
		return err_set(ACC_EINVAL, "unknown model preset '%s' (tiny, base-tiny, mms-300m, mms-1b)", name);
	}
	c->hidden_size = H;
	c->num_hidden_layers = L;
	c->num_attention_heads = NH;
	c->intermediate_size = FF;
	c->num_feat_extract_layers = 7;
	for (int i = 0; i < 7; i++) {
		c->conv_dim[i] = C;
		c->conv_kernel[i] = kern[i];
		c->conv_stride[i] = strd[i];
	}
	c->conv_bias = layer;
	c->feat_extract_norm = layer ? W2V_NORM_LAYER : W2V_NORM_GROUP;
	c->do_stable_layer_norm = layer;
	c->num_conv_pos_embeddings = P;
	c->num_conv_pos_embedding_groups = G;
	c->layer_norm_eps = 1e-5;
	c->initializer_range = 0.02;
	c->vocab_size = V;
	c->pad_token_id = 0;
	c->adapter_attn_dim = A;
	/* training fields as the fixtures set them: no dropout, no masking,
	 * mean CTC reduction with zero_infinity */
	c->hidden_dropout = c->attention_dropout = c->activation_dropout = 0.0;
	c->feat_proj_dropout = c->final_dropout = c->layerdrop = 0.0;
	c->apply_spec_augment = 1;
	c->mask_time_prob = 0.0;
	c->mask_time_length = 10;
	c->mask_time_min_masks = 2;
	c->mask_feature_prob = 0.0;
	c->mask_feature_length = 10;
	c->mask_feature_min_masks = 0;
	c->ctc_loss_reduction = W2V_CTC_MEAN;
	c->ctc_zero_infinity = 1;
	c->do_normalize = 1;
	c->sampling_rate = AUDIO_RATE;
	c->return_attention_mask = layer;
	return w2v_config_validate(c);
}

/* ---- writing ---- */

static json_t *int_array(const int *v, int n)
{
	json_t *a = json_array();
	for (int i = 0; a && i < n; i++)
		json_array_append_new(a, json_integer(v[i]));
	return a;
}

/* Set key to val unless root already holds an equal value (so that the
 * original text's number formatting survives a load/save round trip). */
static void set_if_changed(json_t *root, const char *key, json_t *val)
{
	json_t *old = json_object_get(root, key);
	if (old && json_equal(old, val)) {
		json_decref(val);
		return;
	}
	if (old && json_is_number(old) && json_is_number(val) &&
	    json_number_value(old) == json_number_value(val)) {
		json_decref(val);
		return;
	}
	json_object_set_new(root, key, val);
}

/* Spell exponents the way Python's json does (1e-05, 1e+20; jansson writes
 * 1e-5, 1e20), so that a saved config.json is byte-identical to the one
 * transformers wrote.  Copies text into a new buffer with room for the
 * at most two extra bytes per number. */
static char *python_exponents(const char *text)
{
	size_t n = strlen(text);
	char *out = malloc(3 * n + 2), *o = out;
	if (!out)
		return NULL;
	int in_str = 0;
	for (const char *p = text; *p; p++) {
		*o++ = *p;
		if (in_str) {
			if (*p == '\\' && p[1])
				*o++ = *++p;
			else if (*p == '"')
				in_str = 0;
			continue;
		}
		if (*p == '"') {
			in_str = 1;
			continue;
		}
		if ((*p == 'e' || *p == 'E') && p > text && p[-1] >= '0' && p[-1] <= '9') {
			if (p[1] == '+' || p[1] == '-')
				*o++ = *++p;
			else
				*o++ = '+';
			if (p[1] >= '0' && p[1] <= '9' && !(p[2] >= '0' && p[2] <= '9'))
				*o++ = '0';
		}
	}
	*o = 0;
	return out;
}

static int dump_json(json_t *root, const char *dir, const char *name)
{
	char path[4096];
	int rc = fs_join(path, sizeof path, dir, name);
	if (rc)
		return err_set(rc, "path too long");
	/* transformers writes json.dumps(indent=2, sort_keys=True) + "\n";
	 * precision 15 writes 1e-05 rather than 1.0000000000000001e-05 */
	char *raw = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(15));
	char *text = raw ? python_exponents(raw) : NULL;
	free(raw);
	if (!text)
		return err_set(ACC_ENOMEM, "cannot encode %s", name);
	size_t n = strlen(text);
	char *buf = realloc(text, n + 2);
	if (!buf) {
		free(text);
		return err_set(ACC_ENOMEM, "out of memory");
	}
	buf[n] = '\n';
	buf[n + 1] = 0;
	rc = fs_write_atomic(path, buf, n + 1);
	free(buf);
	return rc;
}

static json_t *load_or_new(const char *orig, const char *file)
{
	if (!orig)
		return json_object();
	return load_object(orig, strlen(orig), file);
}

int w2v_config_write(const w2v_config *cfg, const char *orig_json, const char *dir)
{
	int rc;
	if ((rc = w2v_config_validate(cfg)))
		return rc;
	json_t *root = load_or_new(orig_json, "config.json");
	if (!root)
		return orig_json ? ACC_EFORMAT : err_set(ACC_ENOMEM, "out of memory");
	if (!orig_json) {
		/* the fields transformers needs to rebuild Wav2Vec2ForCTC that
		 * are not modelled by w2v_config, at their HF values */
		json_t *arch = json_array();
		json_array_append_new(arch, json_string("Wav2Vec2ForCTC"));
		json_object_set_new(root, "architectures", arch);
		json_object_set_new(root, "model_type", json_string("wav2vec2"));
		json_object_set_new(root, "bos_token_id", json_integer(1));
		json_object_set_new(root, "eos_token_id", json_integer(2));
		json_object_set_new(root, "add_adapter", json_false());
		json_object_set_new(root, "feat_quantizer_dropout", json_real(0.0));
		json_object_set_new(root, "use_weighted_layer_sum", json_false());
	}
	for (int i = 0; i < NFIELDS; i++) {
		const field *f = &fields[i];
		json_t *v;
		switch (f->type) {
		case F_BOOL: v = json_boolean(fget_i(cfg, f)); break;
		case F_REAL: v = json_real(fget_d(cfg, f)); break;
		case F_INTNULL: v = fget_i(cfg, f) ? json_integer(fget_i(cfg, f)) : json_null(); break;
		default: v = json_integer(fget_i(cfg, f)); break;
		}
		set_if_changed(root, f->key, v);
	}
	int n = cfg->num_feat_extract_layers;
	set_if_changed(root, "conv_dim", int_array(cfg->conv_dim, n));
	set_if_changed(root, "conv_kernel", int_array(cfg->conv_kernel, n));
	set_if_changed(root, "conv_stride", int_array(cfg->conv_stride, n));
	set_if_changed(root, "num_feat_extract_layers", json_integer(n));
	set_if_changed(root, "feat_extract_norm", json_string(cfg->feat_extract_norm == W2V_NORM_LAYER ? "layer" : "group"));
	set_if_changed(root, "hidden_act", json_string("gelu"));
	set_if_changed(root, "feat_extract_activation", json_string("gelu"));
	set_if_changed(root, "ctc_loss_reduction", json_string(cfg->ctc_loss_reduction == W2V_CTC_MEAN ? "mean" : "sum"));
	rc = dump_json(root, dir, "config.json");
	json_decref(root);
	return rc;
}

int w2v_preproc_write(const w2v_config *cfg, const char *orig_json, const char *dir)
{
	json_t *root = load_or_new(orig_json, "preprocessor_config.json");
	if (!root)
		return orig_json ? ACC_EFORMAT : err_set(ACC_ENOMEM, "out of memory");
	if (!orig_json) {
		json_object_set_new(root, "feature_extractor_type", json_string("Wav2Vec2FeatureExtractor"));
		json_object_set_new(root, "feature_size", json_integer(1));
		json_object_set_new(root, "padding_side", json_string("right"));
		json_object_set_new(root, "padding_value", json_real(0.0));
	}
	set_if_changed(root, "do_normalize", json_boolean(cfg->do_normalize));
	set_if_changed(root, "sampling_rate", json_integer(cfg->sampling_rate));
	set_if_changed(root, "return_attention_mask", json_boolean(cfg->return_attention_mask));
	int rc = dump_json(root, dir, "preprocessor_config.json");
	json_decref(root);
	return rc;
}
