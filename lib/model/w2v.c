/*
 * w2v.c — the wav2vec2 model in memory (w2v.h): the tensor table in
 * transformers' state_dict order, the parameter blocks (the frozen base as
 * an anonymous mapping whose pages w2v_base_release can give back, the
 * trainable group 64-byte aligned), lookup by name and resizing the head.
 * Loading, saving and initialization fill it (w2v_load.c, w2v_save.c,
 * w2v_init.c).
 */
#include "model/w2v.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/err.h"
#include "base/banned.h"

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
	add(&b, &p->pos_conv_b, B, 0, "wav2vec2.encoder.pos_conv_embed.conv.bias", 0, 1, H, 0, 0);
	add(&b, &p->pos_conv_w, B, W2V_T_POSCONV, "wav2vec2.encoder.pos_conv_embed.conv.weight", 0, 3, H, H / c->num_conv_pos_embedding_groups,
	    c->num_conv_pos_embeddings);
	add(&b, &p->enc_ln_w, B, 0, "wav2vec2.encoder.layer_norm.weight", 0, 1, H, 0, 0);
	add(&b, &p->enc_ln_b, B, 0, "wav2vec2.encoder.layer_norm.bias", 0, 1, H, 0, 0);
	for (int l = 0; l < L; l++) {
		w2v_layer_params *y = &p->layer[l];
#define LN(field, suffix, ...) add(&b, &y->field, B, 0, "wav2vec2.encoder.layers.%d." suffix, l, __VA_ARGS__)
/* a linear layer's [out, in] weight then its bias; a norm's weight then bias */
#define LIN(w, bias, name, out, in) LN(w, name ".weight", 2, out, in, 0); LN(bias, name ".bias", 1, out, 0, 0)
#define NORM(w, bias, name) LN(w, name ".weight", 1, H, 0, 0); LN(bias, name ".bias", 1, H, 0, 0)
		LIN(k_w, k_b, "attention.k_proj", H, H);
		LIN(v_w, v_b, "attention.v_proj", H, H);
		LIN(q_w, q_b, "attention.q_proj", H, H);
		LIN(o_w, o_b, "attention.out_proj", H, H);
		NORM(ln1_w, ln1_b, "layer_norm");
		LIN(ff1_w, ff1_b, "feed_forward.intermediate_dense", F, H);
		LIN(ff2_w, ff2_b, "feed_forward.output_dense", H, F);
		NORM(ln2_w, ln2_b, "final_layer_norm");
		if (A) {
			w2v_adapter_params *a = &p->adapter[l];
#undef LN   /* LIN and NORM now name the adapter's tensors */
#define LN(field, suffix, ...) add(&b, &a->field, T, AD, "wav2vec2.encoder.layers.%d.adapter_layer." suffix, l, __VA_ARGS__)
			NORM(norm_w, norm_b, "norm");
			LIN(l1_w, l1_b, "linear_1", A, H);
			LIN(l2_w, l2_b, "linear_2", H, A);
		}
#undef LN
#undef LIN
#undef NORM
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

void w2v_bind(w2v_model *m)
{
	memset(&m->p, 0, sizeof m->p);
	for (int i = 0; i < m->n_tensors; i++) {
		w2v_tensor *t = &m->tensors[i];
		*t->ptr = t->present ? (t->group == W2V_GROUP_BASE ? m->base : m->train) + t->offset : NULL;
	}
}

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
	/* huge pages where the kernel gives them on request (THP "madvise"):
	 * filling a 1.2 GB base took 300k page faults, a third of start-up */
	(void)madvise(p, b, MADV_HUGEPAGE);
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

int w2v_model_alloc(w2v_model **mp, const w2v_config *cfg)
{
	*mp = NULL;
	int rc = w2v_config_validate(cfg);
	if (rc)
		return rc;
	w2v_model *m = calloc(1, sizeof *m);
	if (!m)
		return err_set(ACC_ENOMEM, "out of memory");
	m->cfg = *cfg;
	size_t numel[2];
	TRY(layout(cfg, &m->p, &m->tensors, &m->n_tensors, numel));
	m->base_numel = numel[0];
	m->train_numel = numel[1];
	/* transformers creates masked_spec_embed only when masking is on */
	w2v_tensor *mse = (w2v_tensor *)w2v_tensor_find(m, "wav2vec2.masked_spec_embed");
	mse->present = cfg->mask_time_prob > 0 || cfg->mask_feature_prob > 0;
	m->base = base_alloc(m->base_numel, &m->base_mem, &m->base_bytes);
	m->train = block_alloc(m->train_numel, &m->train_mem);
	if (!m->base || !m->train) {
		rc = err_set(ACC_ENOMEM, "out of memory for the model's parameters (%zu + %zu floats)", m->base_numel,
		             m->train_numel);
		goto out;
	}
	w2v_bind(m);
	*mp = m;
	m = NULL;   /* the caller's now */
out:
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
	w2v_bind(m);
	return 0;
}
