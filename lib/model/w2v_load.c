/*
 * w2v_load.c — the wav2vec2 model in memory: tensor table and parameter
 * blocks (w2v_model_alloc), loading a Hugging Face model directory
 * (w2v_load) and MMS language adapters (w2v_load_adapter).
 *
 * Loading is one generic loop over the checkpoint's tensors: each name is
 * looked up in the table, its shape checked, its F32/F16/BF16 data
 * converted into the block.  Only the positional conv is special: its
 * weight-norm halves (weight_g/weight_v or parametrizations original0/1)
 * are collected and folded once into the table's
 * "wav2vec2.encoder.pos_conv_embed.conv.weight".
 */
#include "model/w2v.h"
#include "audio/audio.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "model/safetensors.h"
#include "model/vocab.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>
#include "base/banned.h"

#define POSCONV "wav2vec2.encoder.pos_conv_embed.conv."
static const char *const posconv_g_names[2] = {POSCONV "weight_g", POSCONV "parametrizations.weight.original0"};
static const char *const posconv_v_names[2] = {POSCONV "weight_v", POSCONV "parametrizations.weight.original1"};

/* ---- tensor table ---- */

typedef struct {
	w2v_tensor *t;
	int n, cap;
	size_t numel[2];
	int overflow;
} table_builder;

static void add(table_builder *b, float **ptr, int group, int flags, const char *fmt, int idx,
                int ndim, int64_t d0, int64_t d1, int64_t d2);
static void add(table_builder *b, float **ptr, int group, int flags, const char *fmt, int idx,
                int ndim, int64_t d0, int64_t d1, int64_t d2)
{
	if (b->n == b->cap) {
		b->overflow = 1;
		return;
	}
	w2v_tensor *t = &b->t[b->n++];
	memset(t, 0, sizeof *t);
	/* fmt is always one of this file's literal name patterns with one %d */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	snprintf(t->name, sizeof t->name, fmt, idx);
#pragma GCC diagnostic pop
	t->ptr = ptr;
	t->group = group;
	t->flags = flags;
	t->present = 1;
	t->ndim = ndim;
	t->shape[0] = d0;
	t->shape[1] = d1;
	t->shape[2] = d2;
	t->numel = (size_t)d0 * (ndim > 1 ? (size_t)d1 : 1) * (ndim > 2 ? (size_t)d2 : 1);
	/* each tensor starts on a 64-byte boundary of its block, for SIMD
	 * loads; gradient and moment blocks share the same offsets */
	t->offset = b->numel[group];
	b->numel[group] += (t->numel + 15) & ~(size_t)15;
}

/* Build the table for cfg: names, shapes, groups and offsets, in the order
 * of transformers' state_dict.  ptr fields point into p. */
static int layout(const w2v_config *c, w2v_params *p, w2v_tensor **out, int *n, size_t numel[2])
{
	int nc = c->num_feat_extract_layers, L = c->num_hidden_layers;
	int64_t H = c->hidden_size, F = c->intermediate_size, A = c->adapter_attn_dim, V = c->vocab_size;
	table_builder b = {0};
	b.cap = 4 * nc + 16 + L * 22 + 4;
	b.t = calloc(b.cap, sizeof *b.t);
	if (!b.t)
		return err_set(ACC_ENOMEM, "out of memory for the tensor table");
	const int B = W2V_GROUP_BASE, T = W2V_GROUP_TRAIN, AD = W2V_T_ADAPTER;
	for (int i = 0; i < nc; i++) {
		int64_t cin = i ? c->conv_dim[i - 1] : 1, cout = c->conv_dim[i];
		w2v_conv_params *cv = &p->conv[i];
		add(&b, &cv->conv_w, B, 0, "wav2vec2.feature_extractor.conv_layers.%d.conv.weight", i, 3, cout, cin,
		    c->conv_kernel[i]);
		if (c->conv_bias)
			add(&b, &cv->conv_b, B, 0, "wav2vec2.feature_extractor.conv_layers.%d.conv.bias", i, 1, cout, 0, 0);
		if (c->feat_extract_norm == W2V_NORM_LAYER || i == 0) {
			add(&b, &cv->norm_w, B, 0, "wav2vec2.feature_extractor.conv_layers.%d.layer_norm.weight", i, 1, cout, 0, 0);
			add(&b, &cv->norm_b, B, 0, "wav2vec2.feature_extractor.conv_layers.%d.layer_norm.bias", i, 1, cout, 0, 0);
		}
	}
	int64_t C = c->conv_dim[nc - 1];
	add(&b, &p->fp_ln_w, B, 0, "wav2vec2.feature_projection.layer_norm.weight", 0, 1, C, 0, 0);
	add(&b, &p->fp_ln_b, B, 0, "wav2vec2.feature_projection.layer_norm.bias", 0, 1, C, 0, 0);
	add(&b, &p->fp_w, B, 0, "wav2vec2.feature_projection.projection.weight", 0, 2, H, C, 0);
	add(&b, &p->fp_b, B, 0, "wav2vec2.feature_projection.projection.bias", 0, 1, H, 0, 0);
	add(&b, &p->masked_spec_embed, B, W2V_T_OPTIONAL, "wav2vec2.masked_spec_embed", 0, 1, H, 0, 0);
	add(&b, &p->pos_conv_b, B, 0, POSCONV "bias", 0, 1, H, 0, 0);
	add(&b, &p->pos_conv_w, B, W2V_T_POSCONV, POSCONV "weight", 0, 3, H, H / c->num_conv_pos_embedding_groups,
	    c->num_conv_pos_embeddings);
	add(&b, &p->enc_ln_w, B, 0, "wav2vec2.encoder.layer_norm.weight", 0, 1, H, 0, 0);
	add(&b, &p->enc_ln_b, B, 0, "wav2vec2.encoder.layer_norm.bias", 0, 1, H, 0, 0);
	for (int l = 0; l < L; l++) {
		w2v_layer_params *y = &p->layer[l];
#define LN(field, suffix, ...) add(&b, &y->field, B, 0, "wav2vec2.encoder.layers.%d." suffix, l, __VA_ARGS__)
		LN(k_w, "attention.k_proj.weight", 2, H, H, 0);
		LN(k_b, "attention.k_proj.bias", 1, H, 0, 0);
		LN(v_w, "attention.v_proj.weight", 2, H, H, 0);
		LN(v_b, "attention.v_proj.bias", 1, H, 0, 0);
		LN(q_w, "attention.q_proj.weight", 2, H, H, 0);
		LN(q_b, "attention.q_proj.bias", 1, H, 0, 0);
		LN(o_w, "attention.out_proj.weight", 2, H, H, 0);
		LN(o_b, "attention.out_proj.bias", 1, H, 0, 0);
		LN(ln1_w, "layer_norm.weight", 1, H, 0, 0);
		LN(ln1_b, "layer_norm.bias", 1, H, 0, 0);
		LN(ff1_w, "feed_forward.intermediate_dense.weight", 2, F, H, 0);
		LN(ff1_b, "feed_forward.intermediate_dense.bias", 1, F, 0, 0);
		LN(ff2_w, "feed_forward.output_dense.weight", 2, H, F, 0);
		LN(ff2_b, "feed_forward.output_dense.bias", 1, H, 0, 0);
		LN(ln2_w, "final_layer_norm.weight", 1, H, 0, 0);
		LN(ln2_b, "final_layer_norm.bias", 1, H, 0, 0);
#undef LN
		if (A) {
			w2v_adapter_params *a = &p->adapter[l];
#define AN(field, suffix, ...) add(&b, &a->field, T, AD, "wav2vec2.encoder.layers.%d.adapter_layer." suffix, l, __VA_ARGS__)
			AN(norm_w, "norm.weight", 1, H, 0, 0);
			AN(norm_b, "norm.bias", 1, H, 0, 0);
			AN(l1_w, "linear_1.weight", 2, A, H, 0);
			AN(l1_b, "linear_1.bias", 1, A, 0, 0);
			AN(l2_w, "linear_2.weight", 2, H, A, 0);
			AN(l2_b, "linear_2.bias", 1, H, 0, 0);
#undef AN
		}
	}
	add(&b, &p->lm_w, T, AD, "lm_head.weight", 0, 2, V, H, 0);
	add(&b, &p->lm_b, T, AD, "lm_head.bias", 0, 1, V, 0, 0);
	if (b.overflow) {
		free(b.t);
		return err_set(ACC_EINTERNAL, "w2v: tensor table overflow");
	}
	*out = b.t;
	*n = b.n;
	numel[0] = b.numel[0];
	numel[1] = b.numel[1];
	return 0;
}

/* Point every parameter at its block slice (NULL for absent tensors). */
static void bind(w2v_model *m)
{
	memset(&m->p, 0, sizeof m->p);
	for (int i = 0; i < m->n_tensors; i++) {
		w2v_tensor *t = &m->tensors[i];
		*t->ptr = t->present ? (t->group == W2V_GROUP_BASE ? m->base : m->train) + t->offset : NULL;
	}
}

static w2v_tensor *find_mut(w2v_model *m, const char *name);

/* A zeroed, 64-byte aligned block of n floats; *mem gets the pointer to
 * free.  calloc, not posix_memalign + memset: glibc hands large blocks out
 * as fresh zero pages without touching them, so a multi-GB model is not
 * written twice while loading. */
/* The frozen base: an anonymous mapping (zeroed, page-aligned), so that
 * w2v_base_release can give whole pages of it back. */
static float *base_alloc(size_t n, void **mem, size_t *bytes)
{
	size_t b = (n ? n : 1) * sizeof(float);
	void *p = mmap(NULL, b, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		*mem = NULL;
		return NULL;
	}
	*mem = p;
	*bytes = b;
	return p;
}

static float *block_alloc(size_t n, void **mem)
{
	size_t bytes = (n ? n : 1) * sizeof(float) + 64;
	char *p = calloc(1, bytes);
	*mem = p;
	if (!p)
		return NULL;
	return (float *)(((uintptr_t)p + 63) & ~(uintptr_t)63);
}

int w2v_model_alloc(w2v_model **out, const w2v_config *cfg)
{
	*out = NULL;
	int rc = w2v_config_validate(cfg);
	if (rc)
		return rc;
	w2v_model *m = calloc(1, sizeof *m);
	if (!m)
		return err_set(ACC_ENOMEM, "out of memory");
	m->cfg = *cfg;
	size_t numel[2];
	if ((rc = layout(cfg, &m->p, &m->tensors, &m->n_tensors, numel)))
		goto fail;
	m->base_numel = numel[0];
	m->train_numel = numel[1];
	/* transformers creates masked_spec_embed only when masking is on */
	w2v_tensor *mse = find_mut(m, "wav2vec2.masked_spec_embed");
	mse->present = cfg->mask_time_prob > 0 || cfg->mask_feature_prob > 0;
	m->base = base_alloc(m->base_numel, &m->base_mem, &m->base_bytes);
	m->train = block_alloc(m->train_numel, &m->train_mem);
	if (!m->base || !m->train) {
		rc = err_set(ACC_ENOMEM, "out of memory for the model's parameters (%zu + %zu floats)", m->base_numel,
		             m->train_numel);
		goto fail;
	}
	bind(m);
	*out = m;
	return 0;
fail:
	w2v_free(m);
	return rc;
}

void w2v_free(w2v_model *m)
{
	if (!m)
		return;
	if (m->base_mem)
		munmap(m->base_mem, m->base_bytes);
	free(m->train_mem);
	free(m->tensors);
	free(m->config_json);
	free(m->preproc_json);
	free(m);
}

int w2v_base_release(w2v_model *m, const float *w, size_t n)
{
	if (!m->base || w < m->base || w + n > m->base + m->base_numel)
		return err_set(ACC_EINVAL, "w2v_base_release: not a range of the model's base block");
	long pg = sysconf(_SC_PAGESIZE);
	uintptr_t a = ((uintptr_t)w + pg - 1) / pg * pg, e = ((uintptr_t)(w + n)) / pg * pg;
	m->base_released = 1;
	if (e > a && madvise((void *)a, e - a, MADV_DONTNEED))
		return err_set(ACC_EINTERNAL, "cannot release model memory: %s", strerror(errno));
	return 0;
}

const w2v_tensor *w2v_tensor_find(const w2v_model *m, const char *name)
{
	for (int i = 0; i < m->n_tensors; i++)
		if (!strcmp(m->tensors[i].name, name))
			return &m->tensors[i];
	return NULL;
}

static w2v_tensor *find_mut(w2v_model *m, const char *name)
{
	return (w2v_tensor *)w2v_tensor_find(m, name);
}

int w2v_resize_head(w2v_model *m, int v)
{
	if (v == m->cfg.vocab_size)
		return 0;
	w2v_config nc = m->cfg;
	nc.vocab_size = v;
	int rc = w2v_config_validate(&nc);
	if (rc)
		return err_wrap(rc, "cannot resize lm_head to %d rows", v);
	w2v_tensor *nt = NULL;
	int nn;
	size_t numel[2];
	w2v_params scratch;
	if ((rc = layout(&nc, &scratch, &nt, &nn, numel)))
		return rc;
	void *nmem;
	float *ntrain = block_alloc(numel[1], &nmem);
	if (!ntrain) {
		free(nt);
		return err_set(ACC_ENOMEM, "out of memory resizing lm_head");
	}
	/* same rows in the same order: re-point ptrs at m->p, copy the
	 * trainable tensors (lm_head rows up to the smaller size) */
	for (int i = 0; i < nn; i++) {
		nt[i].ptr = m->tensors[i].ptr;
		nt[i].present = m->tensors[i].present;
		if (nt[i].group != W2V_GROUP_TRAIN)
			continue;
		size_t k = nt[i].numel < m->tensors[i].numel ? nt[i].numel : m->tensors[i].numel;
		memcpy(ntrain + nt[i].offset, m->train + m->tensors[i].offset, k * sizeof(float));
	}
	free(m->tensors);
	free(m->train_mem);
	m->tensors = nt;
	m->n_tensors = nn;
	m->train = ntrain;
	m->train_mem = nmem;
	m->train_numel = numel[1];
	m->cfg = nc;
	bind(m);
	return 0;
}

/* ---- loading ---- */

static int same_shape(const safetensors_tensor *s, int ndim, const int64_t *shape)
{
	if (s->ndim != ndim)
		return 0;
	for (int i = 0; i < ndim; i++)
		if (s->shape[i] != shape[i])
			return 0;
	return 1;
}

static int shape_error(const char *file, const char *name, const safetensors_tensor *s, int ndim,
                       const int64_t *shape)
{
	char a[128], b[128];
	safetensors_shape_str(a, sizeof a, s->ndim, s->shape);
	safetensors_shape_str(b, sizeof b, ndim, shape);
	return err_set(ACC_EFORMAT, "%s: tensor '%s' has shape %s, the config needs %s", file, name, a, b);
}

static int is_float(const safetensors_tensor *s)
{
	return s->dtype == ST_F32 || s->dtype == ST_F16 || s->dtype == ST_BF16;
}

/* Drop the mapped pages of a converted tensor from the resident set, so
 * loading a checkpoint as large as RAM does not hold it twice. */
static void release_pages(const safetensors_tensor *s)
{
	uintptr_t pg = 4096, a = (uintptr_t)s->data, e = a + s->nbytes;
	uintptr_t lo = (a + pg - 1) & ~(pg - 1), hi = e & ~(pg - 1);
	if (hi > lo)
		madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

/* Loader state across shards. */
typedef struct {
	w2v_model *m;
	unsigned char *loaded;          /* per table row */
	const char *dir;
	/* positional conv weight norm halves: f32 copies */
	float *g, *v;
	int g_which, v_which;           /* naming used, -1 = none yet */
	char g_file[256], v_file[256];
	w2v_tensor_hook hook;           /* w2v_load_hooked */
	void *hook_arg;
} loader;

static int load_tensor(loader *ld, const char *file, const safetensors_tensor *s)
{
	w2v_model *m = ld->m;
	const w2v_config *c = &m->cfg;
	for (int k = 0; k < 2; k++) {
		int is_g = !strcmp(s->name, posconv_g_names[k]), is_v = !strcmp(s->name, posconv_v_names[k]);
		if (!is_g && !is_v)
			continue;
		int64_t K = c->num_conv_pos_embeddings, H = c->hidden_size;
		int64_t gs[3] = {1, 1, K}, vs[3] = {H, H / c->num_conv_pos_embedding_groups, K};
		if (!same_shape(s, 3, is_g ? gs : vs))
			return shape_error(file, s->name, s, 3, is_g ? gs : vs);
		if (!is_float(s))
			return err_set(ACC_EFORMAT, "%s: tensor '%s' has dtype %s (F32, F16 or BF16 expected)", file, s->name,
			               safetensors_dtype_name(s->dtype));
		float **dst = is_g ? &ld->g : &ld->v;
		int *which = is_g ? &ld->g_which : &ld->v_which;
		if (*dst)
			return err_set(ACC_EFORMAT, "%s: positional conv weight norm given twice ('%s' and '%s')", file,
			               is_g ? posconv_g_names[*which] : posconv_v_names[*which], s->name);
		if (!(*dst = malloc(s->numel * sizeof(float))))
			return err_set(ACC_ENOMEM, "out of memory");
		*which = k;
		snprintf(is_g ? ld->g_file : ld->v_file, sizeof ld->g_file, "%s", file);
		safetensors_to_f32(s, *dst);
		return 0;
	}
	w2v_tensor *t = find_mut(m, s->name);
	if (!t)
		return 0; /* quantizer, project_q, project_hid, ... : not part of CTC inference */
	int row = (int)(t - m->tensors);
	if (ld->loaded[row])
		return err_set(ACC_EFORMAT, "%s: tensor '%s' appears in more than one shard", file, s->name);
	if (!same_shape(s, t->ndim, t->shape))
		return shape_error(file, s->name, s, t->ndim, t->shape);
	if (!is_float(s))
		return err_set(ACC_EFORMAT, "%s: tensor '%s' has dtype %s (F32, F16 or BF16 expected)", file, s->name,
		               safetensors_dtype_name(s->dtype));
	t->present = 1;
	float *dst = (t->group == W2V_GROUP_BASE ? m->base : m->train) + t->offset;
	safetensors_to_f32(s, dst);
	release_pages(s);
	ld->loaded[row] = 1;
	if (ld->hook && t->group == W2V_GROUP_BASE)
		return ld->hook(ld->hook_arg, m, dst);
	return 0;
}

static int load_file(loader *ld, const char *path, const char *label)
{
	safetensors_file *f;
	int rc = safetensors_open(&f, path);
	if (rc)
		return rc;
	for (int i = 0; i < safetensors_count(f) && !rc; i++)
		rc = load_tensor(ld, label, safetensors_at(f, i));
	safetensors_close(f);
	return rc;
}

/* w = g * v / ||v||, the norm taken over dims 0 and 1 for each kernel tap
 * (torch weight_norm with dim=2). */
static int fold_posconv(loader *ld)
{
	w2v_model *m = ld->m;
	w2v_tensor *t = find_mut(m, POSCONV "weight");
	int row = (int)(t - m->tensors);
	if (!ld->g && !ld->v)
		return 0; /* unnormalized weight or missing: checked by the caller */
	if (ld->loaded[row])
		return err_set(ACC_EFORMAT, "%s: positional conv given both as '%s' and as weight-norm halves",
		               ld->dir, t->name);
	if (!ld->g || !ld->v)
		return err_set(ACC_EFORMAT, "%s: missing tensor '%s' (only its weight-norm partner '%s' is present)", ld->dir,
		               !ld->g ? posconv_g_names[ld->v_which] : posconv_v_names[ld->g_which],
		               !ld->g ? posconv_v_names[ld->v_which] : posconv_g_names[ld->g_which]);
	if (ld->g_which != ld->v_which)
		return err_set(ACC_EFORMAT, "%s: positional conv weight norm mixes namings ('%s' with '%s')", ld->dir,
		               posconv_g_names[ld->g_which], posconv_v_names[ld->v_which]);
	int64_t O = t->shape[0], I = t->shape[1], K = t->shape[2];
	float *w = m->base + t->offset;
	for (int64_t k = 0; k < K; k++) {
		double ss = 0;
		for (int64_t j = 0; j < O * I; j++) {
			double x = ld->v[j * K + k];
			ss += x * x;
		}
		if (!(ss > 0) || !isfinite(ss))
			return err_set(ACC_EFORMAT, "%s: positional conv weight_v has a zero or non-finite norm at kernel tap %lld",
			               ld->dir, (long long)k);
		double scale = ld->g[k] / sqrt(ss);
		for (int64_t j = 0; j < O * I; j++)
			w[j * K + k] = (float)(ld->v[j * K + k] * scale);
	}
	ld->loaded[row] = 1;
	return 0;
}

static int check_complete(loader *ld)
{
	w2v_model *m = ld->m;
	int missing = 0;
	const char *first = NULL;
	for (int i = 0; i < m->n_tensors; i++) {
		w2v_tensor *t = &m->tensors[i];
		if (ld->loaded[i])
			continue;
		if (t->flags & W2V_T_OPTIONAL) {
			t->present = 0;
			continue;
		}
		if (!first)
			first = t->name;
		missing++;
	}
	bind(m);
	if (!missing)
		return 0;
	const w2v_tensor *t = w2v_tensor_find(m, first);
	char s[128];
	safetensors_shape_str(s, sizeof s, t->ndim, t->shape);
	if (t->flags & W2V_T_POSCONV)
		return err_set(ACC_EFORMAT, "%s: missing tensor '%s' %s (nor its weight_g/weight_v or parametrizations.weight.original0/1)%s",
		               ld->dir, first, s, missing > 1 ? " and others" : "");
	char more[64] = "";
	if (missing > 1)
		snprintf(more, sizeof more, " and %d other tensors", missing - 1);
	err_set(ACC_EFORMAT, "%s: missing tensor '%s' %s%s", ld->dir, first, s, more);
	if (!strncmp(first, "lm_head", 7))
		err_hint("a pretraining checkpoint (no CTC head) cannot be used for CTC inference; fine-tune a head first");
	else if (strstr(first, "adapter_layer"))
		err_hint("config.json sets adapter_attn_dim but the checkpoint has no adapter weights");
	return ACC_EFORMAT;
}

/* Sharded checkpoint: model.safetensors.index.json {"weight_map": {name: file}}. */
static int load_sharded(loader *ld, const char *index_path)
{
	char *text = NULL, path[4096];
	size_t len;
	json_t *root = NULL;
	char **files = NULL;
	int nfiles = 0, rc;
	if ((rc = fs_read_all(index_path, &text, &len, 64u << 20)))
		return rc;
	json_error_t je;
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	json_t *wm = root ? json_object_get(root, "weight_map") : NULL;
	if (!root || !json_is_object(wm)) {
		rc = err_set(ACC_EFORMAT, "%s: %s", index_path,
		             root ? "no \"weight_map\" object" : je.text);
		goto out;
	}
	files = calloc(json_object_size(wm) + 1, sizeof *files);
	if (!files) {
		rc = err_set(ACC_ENOMEM, "out of memory");
		goto out;
	}
	const char *k;
	json_t *v;
	json_object_foreach(wm, k, v) {
		const char *fn = json_is_string(v) ? json_string_value(v) : NULL;
		size_t fl = fn ? strlen(fn) : 0;
		/* a shard is a plain file name next to the index: no paths */
		if (!fn || !fl || strchr(fn, '/') || fn[0] == '.' || fl < 12 || strcmp(fn + fl - 12, ".safetensors")) {
			rc = err_set(ACC_EFORMAT, "%s: weight_map entry for '%s' is not a .safetensors file name in the model directory",
			             index_path, k);
			goto out;
		}
		int seen = 0;
		for (int i = 0; i < nfiles && !seen; i++)
			seen = !strcmp(files[i], fn);
		if (!seen)
			files[nfiles++] = (char *)fn;
	}
	for (int i = 0; i < nfiles; i++) {
		safetensors_file *f;
		if ((rc = fs_join(path, sizeof path, ld->dir, files[i])) || (rc = safetensors_open(&f, path)))
			goto out;
		for (int j = 0; j < safetensors_count(f) && !rc; j++)
			rc = load_tensor(ld, files[i], safetensors_at(f, j));
		/* every name the index places in this shard must be there */
		json_object_foreach(wm, k, v) {
			if (rc || strcmp(json_string_value(v), files[i]) || safetensors_find(f, k))
				continue;
			rc = err_set(ACC_EFORMAT, "%s: '%s' is listed in weight_map but %s does not hold it", index_path, k,
			             files[i]);
		}
		safetensors_close(f);
		if (rc)
			goto out;
	}
	rc = 0;
out:
	free(files);
	json_decref(root);
	free(text);
	return rc;
}

static int check_vocab(w2v_model *m, const char *dir, const char *lang)
{
	char path[4096];
	int rc;
	if ((rc = fs_join(path, sizeof path, dir, "vocab.json")))
		return rc;
	if (!fs_exists(path))
		return 0;
	char **langs = NULL;
	int nl = 0;
	if ((rc = vocab_languages(path, &langs, &nl)))
		return err_wrap(rc, "%s", path);
	for (int i = 0; i < nl; i++)
		free(langs[i]);
	free(langs);
	if (nl > 0 && !lang)
		return 0; /* nested vocabulary and no language chosen: nothing to compare */
	vocab *v = NULL;
	if ((rc = vocab_load(&v, path, nl > 0 ? lang : NULL)))
		return err_wrap(rc, "%s", path);
	int n = vocab_size(v), pad = vocab_pad_id(v);
	vocab_free(v);
	/* the aligner's blank is config.pad_token_id, the decoders' the
	 * vocabulary's <pad>: they must be one token */
	if (n == m->cfg.vocab_size && pad != m->cfg.pad_token_id) {
		err_set(ACC_EFORMAT, "%s: the CTC blank differs: config.json has pad_token_id %d, the vocabulary%s%s "
		        "has <pad> = %d", dir, m->cfg.pad_token_id, nl > 0 ? " of language " : "", nl > 0 ? lang : "", pad);
		err_hint("set pad_token_id in %s/config.json to the id of \"<pad>\" in vocab.json", dir);
		return ACC_EFORMAT;
	}
	if (n != m->cfg.vocab_size) {
		err_set(ACC_EFORMAT, "%s: vocabulary%s%s has %d tokens but lm_head has %d rows", path,
		        nl > 0 ? " of language " : "", nl > 0 ? lang : "", n, m->cfg.vocab_size);
		err_hint("the vocab.json does not belong to this checkpoint%s", lang ? " or adapter" : "");
		return ACC_EFORMAT;
	}
	return 0;
}

static int read_text(const char *dir, const char *name, char **out)
{
	char path[4096];
	size_t len;
	int rc = fs_join(path, sizeof path, dir, name);
	if (rc)
		return rc;
	*out = NULL;
	if (!fs_exists(path))
		return 0;
	return fs_read_all(path, out, &len, 16u << 20);
}

int w2v_load(w2v_model **out, const char *dir, const char *lang)
{
	return w2v_load_hooked(out, dir, lang, NULL, NULL);
}

int w2v_load_hooked(w2v_model **out, const char *dir, const char *lang, w2v_tensor_hook hook, void *arg)
{
	*out = NULL;
	char path[4096];
	w2v_config cfg;
	w2v_model *m = NULL;
	loader ld = {.dir = dir, .g_which = -1, .v_which = -1, .hook = hook, .hook_arg = arg};
	int rc;
	if (!fs_exists(dir))
		return err_set(ACC_ENOTFOUND, "model directory '%s' does not exist", dir);
	if ((rc = w2v_config_load(&cfg, dir)))
		return rc;
	if (cfg.sampling_rate != AUDIO_RATE) {
		/* every stage decodes and resamples audio to AUDIO_RATE (audio/audio.h) */
		rc = err_set(ACC_EUNSUPPORTED, "%s/preprocessor_config.json: sampling_rate %d: this model expects "
		             "%d Hz audio; accent feeds %d Hz (the rate of MMS and wav2vec2)", dir,
		             cfg.sampling_rate, cfg.sampling_rate, AUDIO_RATE);
		err_hint("use a checkpoint trained on %d Hz audio", AUDIO_RATE);
		return rc;
	}
	if ((rc = w2v_model_alloc(&m, &cfg)))
		return err_wrap(rc, "%s", dir);
	if ((rc = read_text(dir, "config.json", &m->config_json)) ||
	    (rc = read_text(dir, "preprocessor_config.json", &m->preproc_json)))
		goto out;
	ld.m = m;
	if (!(ld.loaded = calloc(m->n_tensors, 1))) {
		rc = err_set(ACC_ENOMEM, "out of memory");
		goto out;
	}
	char single[4096], index[4096];
	if ((rc = fs_join(single, sizeof single, dir, "model.safetensors")) ||
	    (rc = fs_join(index, sizeof index, dir, "model.safetensors.index.json")))
		goto out;
	if (fs_exists(single)) {
		rc = load_file(&ld, single, single);
	} else if (fs_exists(index)) {
		rc = load_sharded(&ld, index);
	} else {
		char bin[4096], binidx[4096];
		fs_join(bin, sizeof bin, dir, "pytorch_model.bin");
		fs_join(binidx, sizeof binidx, dir, "pytorch_model.bin.index.json");
		if (fs_exists(bin) || fs_exists(binidx)) {
			rc = err_set(ACC_EUNSUPPORTED, "%s holds only PyTorch pickle weights (pytorch_model.bin); "
			             "they are out of scope (unpickling runs arbitrary code)", dir);
			err_hint("convert once with transformers: Wav2Vec2ForCTC.from_pretrained(dir)"
			         ".save_pretrained(out, safe_serialization=True)");
		} else {
			rc = err_set(ACC_ENOTFOUND, "%s: no model.safetensors or model.safetensors.index.json", dir);
		}
	}
	if (rc)
		goto out;
	if ((rc = fold_posconv(&ld)) || (rc = check_complete(&ld)))
		goto out;
	if (lang) {
		snprintf(path, sizeof path, "%s/adapter.%s.safetensors", dir, lang);
		if (strchr(lang, '/') || !*lang) {
			rc = err_set(ACC_EINVAL, "bad language code '%s'", lang);
			goto out;
		}
		if (!fs_exists(path)) {
			rc = err_set(ACC_ENOTFOUND, "%s: no adapter for language '%s' (adapter.%s.safetensors)", dir, lang, lang);
			goto out;
		}
		if ((rc = w2v_load_adapter(m, path, lang)))
			goto out;
	}
	rc = check_vocab(m, dir, lang);
out:
	free(ld.loaded);
	free(ld.g);
	free(ld.v);
	if (rc) {
		w2v_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

int w2v_load_lang(w2v_model **out, const char *dir, const char *lang)
{
	return w2v_load_lang_hooked(out, dir, lang, NULL, NULL);
}

int w2v_load_lang_hooked(w2v_model **out, const char *dir, const char *lang, w2v_tensor_hook hook, void *arg)
{
	char p[4096], name[300];
	int rc;
	*out = NULL;
	if (lang && (!*lang || strchr(lang, '/') || strlen(lang) > 64))
		return err_set(ACC_EINVAL, "bad language code '%s'", lang);
	snprintf(name, sizeof name, "adapter.%s.safetensors", lang ? lang : "");
	int have_adapter = lang && !fs_join(p, sizeof p, dir, name) && fs_exists(p);
	if (!have_adapter && lang && !fs_join(p, sizeof p, dir, "vocab.json") && fs_exists(p)) {
		char **langs = NULL;
		int nl = 0;
		if (!vocab_languages(p, &langs, &nl) && nl > 0) {
			char list[512] = "";
			size_t used = 0;
			for (int i = 0; i < nl; i++) {
				char q[4096];
				snprintf(name, sizeof name, "adapter.%s.safetensors", langs[i]);
				if (!fs_join(q, sizeof q, dir, name) && fs_exists(q) && used + strlen(langs[i]) + 3 < sizeof list)
					used += snprintf(list + used, sizeof list - used, "%s%s", used ? ", " : "", langs[i]);
			}
			for (int i = 0; i < nl; i++)
				free(langs[i]);
			free(langs);
			rc = err_set(ACC_ENOTFOUND, "model directory '%s' has no adapter for language '%s' "
			             "(adapter.%s.safetensors)", dir, lang, lang);
			if (used)
				err_hint("adapters present: %s; train one with `train --lang %s`", list, lang);
			else
				err_hint("train one with `train --lang %s`", lang);
			return rc;
		}
		for (int i = 0; i < nl; i++)
			free(langs[i]);
		free(langs);
	}
	return w2v_load_hooked(out, dir, have_adapter ? lang : NULL, hook, arg);
}

/* ---- adapters ---- */

static int append(char *buf, size_t cap, size_t *k, const char *s)
{
	if (*k + strlen(s) + 8 >= cap) {
		if (*k + 5 < cap)
			*k += snprintf(buf + *k, cap - *k, ", ...");
		return -1;
	}
	*k += snprintf(buf + *k, cap - *k, "%s%s", *k ? ", " : "", s);
	return 0;
}

int w2v_load_adapter(w2v_model *m, const char *path, const char *lang)
{
	safetensors_file *f = NULL;
	int rc;
	if (!m->cfg.adapter_attn_dim)
		return err_set(ACC_EINVAL, "cannot load adapter '%s': the model has no adapter layers (adapter_attn_dim is null)",
		               path);
	if ((rc = safetensors_open(&f, path)))
		return rc;
	/* the key set must be exactly the adapter tensors + lm_head */
	char missing[600] = "", extra[600] = "";
	size_t km = 0, ke = 0;
	int nmiss = 0, nextra = 0;
	for (int i = 0; i < m->n_tensors; i++)
		if ((m->tensors[i].flags & W2V_T_ADAPTER) && !safetensors_find(f, m->tensors[i].name)) {
			nmiss++;
			append(missing, sizeof missing, &km, m->tensors[i].name);
		}
	for (int i = 0; i < safetensors_count(f); i++) {
		const char *n = safetensors_at(f, i)->name;
		const w2v_tensor *t = w2v_tensor_find(m, n);
		if (!t || !(t->flags & W2V_T_ADAPTER)) {
			nextra++;
			append(extra, sizeof extra, &ke, n);
		}
	}
	if (nmiss || nextra) {
		rc = err_set(ACC_EFORMAT, "%s: not an adapter file for this model:%s%s%s%s%s", path,
		             nmiss ? " missing keys: " : "", missing, nmiss && nextra ? ";" : "",
		             nextra ? " unexpected keys: " : "", extra);
		if (nmiss && nextra)
			err_hint("adapter files hold exactly every encoder layer's adapter_layer tensors and lm_head");
		goto out;
	}
	/* validate everything before touching the model */
	const safetensors_tensor *lw = safetensors_find(f, "lm_head.weight"), *lb = safetensors_find(f, "lm_head.bias");
	int64_t H = m->cfg.hidden_size;
	if (lw->ndim != 2 || lw->shape[1] != H || lw->shape[0] < 1 || lw->shape[0] > 1000000) {
		int64_t want[2] = {lw->ndim >= 1 ? lw->shape[0] : 0, H};
		rc = shape_error(path, "lm_head.weight", lw, 2, want);
		goto out;
	}
	int V = (int)lw->shape[0];
	int64_t bshape[1] = {V};
	if (!same_shape(lb, 1, bshape)) {
		rc = shape_error(path, "lm_head.bias", lb, 1, bshape);
		goto out;
	}
	for (int i = 0; i < safetensors_count(f); i++) {
		const safetensors_tensor *s = safetensors_at(f, i);
		const w2v_tensor *t = w2v_tensor_find(m, s->name);
		if (!is_float(s)) {
			rc = err_set(ACC_EFORMAT, "%s: tensor '%s' has dtype %s (F32, F16 or BF16 expected)", path, s->name,
			             safetensors_dtype_name(s->dtype));
			goto out;
		}
		if (strncmp(s->name, "lm_head.", 8) && !same_shape(s, t->ndim, t->shape)) {
			rc = shape_error(path, s->name, s, t->ndim, t->shape);
			goto out;
		}
	}
	/* transformers' load_adapter: a head of another size replaces lm_head
	 * and config.vocab_size follows */
	if ((rc = w2v_resize_head(m, V)))
		goto out;
	for (int i = 0; i < safetensors_count(f); i++) {
		const safetensors_tensor *s = safetensors_at(f, i);
		const w2v_tensor *t = w2v_tensor_find(m, s->name);
		safetensors_to_f32(s, m->train + t->offset);
	}
	snprintf(m->lang, sizeof m->lang, "%s", lang ? lang : "");
	rc = 0;
out:
	safetensors_close(f);
	return rc;
}
