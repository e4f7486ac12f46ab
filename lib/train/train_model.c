/*
 * train_model.c — the model a training run starts from: the language's
 * vocabulary (the model's, or built from the train texts) and every
 * transcript encoded with it; the model loaded with its adapter, adapters
 * resized, the head resized to the vocabulary, new tensors initialized;
 * the training forward's regularization.
 */
#include "train/train_ctx.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/fsutil.h"
#include "base/rng.h"
#include "base/banned.h"

/* A standard normal deviate (Box-Muller) from the splitmix64 stream s. */
static double rng_normal(uint64_t *s)
{
	double u1 = rng_unit(s), u2 = rng_unit(s);
	if (u1 < 1e-300)
		u1 = 1e-300;
	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

int train_model_reg(const trainer_opts *o, const w2v_model *m, w2v_reg *r)
{
	w2v_reg_from_config(r, &m->cfg);
	if (o->no_regularization) {
		w2v_reg_none(r);
		return 0;
	}
	if (o->dropout >= 0) r->hidden = (float)o->dropout;
	if (o->attention_dropout >= 0) r->attention = (float)o->attention_dropout;
	if (o->activation_dropout >= 0) r->activation = (float)o->activation_dropout;
	if (o->feat_proj_dropout >= 0) r->feat_proj = (float)o->feat_proj_dropout;
	if (o->final_dropout >= 0) r->final = (float)o->final_dropout;
	if (o->layerdrop >= 0) r->layerdrop = (float)o->layerdrop;
	if (o->mask_time_prob >= 0) r->mask_time_prob = (float)o->mask_time_prob;
	if (o->mask_feature_prob >= 0) r->mask_feature_prob = (float)o->mask_feature_prob;
	if (o->mask_time_length > 0) r->mask_time_length = o->mask_time_length;
	if (o->mask_feature_length > 0) r->mask_feature_length = o->mask_feature_length;
	int rc = w2v_reg_check(r);
	if (rc)
		return rc;
	const w2v_tensor *e = w2v_tensor_find(m, "wav2vec2.masked_spec_embed");
	if (r->spec_augment && r->mask_time_prob > 0 && (!e || !e->present)) {
		rc = err_set(ACC_EINVAL, "time masking needs wav2vec2.masked_spec_embed, which this model lacks "
		             "(its config.json has mask_time_prob and mask_feature_prob 0)");
		err_hint("drop --mask-time-prob, or start from a checkpoint trained with masking");
	}
	return rc;
}

int train_model_vocab(train_ctx *t, int *from_model)
{
	const trainer_opts *o = t->o;
	char path[4096];
	int rc;
	*from_model = 0;
	fs_join(path, sizeof path, o->model_dir, "vocab.json");
	if (fs_exists(path)) {
		char **langs = NULL;
		int nl = 0, has = 0;
		if (vocab_languages(path, &langs, &nl) == 0) {
			for (int i = 0; i < nl; i++) {
				has |= !strcmp(langs[i], o->lang);
				free(langs[i]);
			}
			free(langs);
		}
		if (has) {
			TRY(vocab_load(&t->v, path, o->lang));
			*from_model = 1;
		}
	}
	if (!t->v) {
		const char **texts = malloc(sizeof *texts * (t->d.n_train ? t->d.n_train : 1));
		int n = 0;
		if (!texts)
			return err_set(ACC_ENOMEM, "out of memory");
		for (int i = 0; i < t->d.n; i++)
			if (!t->d.u[i].dev)
				texts[n++] = t->d.u[i].text;
		rc = vocab_build_from_texts(&t->v, texts, n);
		free(texts);
		if (rc)
			goto out;
	}
	/* encode every transcript (characters missing from the vocabulary -> <unk>) */
	vocab_oov oov = { 0 };
	int keep = 0;
	for (int i = 0; i < t->d.n; i++) {
		train_utt *u = &t->d.u[i];
		if ((rc = vocab_encode(t->v, u->text, &u->ids, &u->nids, &oov))) {
			vocab_oov_free(&oov);
			return err_wrap(rc, "utterance %lld", (long long)u->id);
		}
		int bad = 0;
		for (int64_t k = 0; k < u->nids; k++)
			bad |= u->ids[k] < 0;
		if (u->nids == 0 || bad) {
			/* nothing to learn (or unencodable without <unk>): drop */
			if (u->dev) t->d.n_dev--; else t->d.n_train--;
			free(u->path); free(u->text); free(u->ids);
			continue;
		}
		t->d.u[keep++] = *u;
	}
	t->d.n = keep;
	if (oov.total > 0) {
		char chars[256];
		vocab_oov_sort(&oov);
		vocab_oov_describe(&oov, chars, sizeof chars);
		trainer_note n = { .kind = TRAINER_NOTE_UNK, .count = oov.total, .detail = chars };
		train_note(t, &n);
	}
	vocab_oov_free(&oov);
	rc = 0;
out:
	return rc;
}

/* ---- model ---- */

/* Fresh values for every tensor of the trainable group: norms 1/0, biases
 * 0, weights Xavier-uniform or Kaiming-normal, except each adapter's
 * up-projection (linear_2.weight), which starts at zero: a new adapter is
 * then the identity (out = h + 0), so step 0 sees the frozen base's own
 * features, as in Houlsby et al.'s near-identity adapters and LoRA's zero B.
 * A random up-projection adds an O(1) vector to the residual stream of
 * every layer, noise on top of what the base knows, which small bases
 * (unit-scale residual streams) feel most.  Its gradient is not zero (relu(linear_1(norm(h))) != 0), so it trains from
 * the first step; linear_1 follows from the second.  head_only: only
 * lm_head. */
static void init_train_tensors(w2v_model *m, uint64_t seed, int kaiming, int head_only)
{
	uint64_t s = seed ^ 0x5eed5eed5eedull;
	for (int i = 0; i < m->n_tensors; i++) {
		w2v_tensor *te = &m->tensors[i];
		if (te->group != W2V_GROUP_TRAIN)
			continue;
		if (head_only && strncmp(te->name, "lm_head.", 8))
			continue;
		float *p = m->train + te->offset;
		size_t len = strlen(te->name);
		int is_bias = len > 5 && !strcmp(te->name + len - 5, ".bias");
		int is_norm = strstr(te->name, ".norm.") != NULL;
		if (is_bias) {
			memset(p, 0, sizeof(float) * te->numel);
		} else if (is_norm) {
			for (size_t k = 0; k < te->numel; k++)
				p[k] = 1.0f;
		} else if (strstr(te->name, "adapter_layer.linear_2.weight")) {
			memset(p, 0, sizeof(float) * te->numel);
		} else {
			double fo = (double)te->shape[0], fi = (double)(te->ndim > 1 ? te->shape[1] : 1);
			double a = sqrt(6.0 / (fi + fo)), sd = sqrt(2.0 / fi);
			for (size_t k = 0; k < te->numel; k++)
				p[k] = kaiming ? (float)(sd * rng_normal(&s)) : (float)(a * (2.0 * rng_unit(&s) - 1.0));
		}
	}
}

/* Replace *mp by a model with adapter_attn_dim A (same base weights). */
static int realloc_adapters(w2v_model **mp, int A)
{
	w2v_model *m = *mp, *m2 = NULL;
	w2v_config c2 = m->cfg;
	c2.adapter_attn_dim = A;
	int rc = w2v_model_alloc(&m2, &c2);
	if (rc)
		return rc;
	for (int i = 0; i < m2->n_tensors; i++) {
		const w2v_tensor *old = w2v_tensor_find(m, m2->tensors[i].name);
		if (m2->tensors[i].group == W2V_GROUP_BASE) {
			if (!old || old->numel != m2->tensors[i].numel) {
				w2v_free(m2);
				return err_set(ACC_EINTERNAL, "adapter resize: base tensor %s does not match",
				               m2->tensors[i].name);
			}
			m2->tensors[i].present = old->present;
			if (old->present)
				memcpy(*m2->tensors[i].ptr, *old->ptr, sizeof(float) * old->numel);
		}
	}
	m2->config_json = m->config_json ? strdup(m->config_json) : NULL;
	m2->preproc_json = m->preproc_json ? strdup(m->preproc_json) : NULL;
	snprintf(m2->lang, sizeof m2->lang, "%s", m->lang);
	w2v_free(m);
	*mp = m2;
	return 0;
}

int train_model_setup(train_ctx *t, int vocab_from_model)
{
	const trainer_opts *o = t->o;
	char path[4096], name[256];
	int rc;
	snprintf(name, sizeof name, "adapter.%s.safetensors", o->lang);
	fs_join(path, sizeof path, o->model_dir, name);
	int own_adapter = !o->init_from && fs_exists(path);
	const char *load_lang = own_adapter ? o->lang : o->init_from;
	if ((rc = w2v_load(&t->m, o->model_dir, NULL)))
		return rc;
	if (load_lang) {
		snprintf(name, sizeof name, "adapter.%s.safetensors", load_lang);
		fs_join(path, sizeof path, o->model_dir, name);
		if (o->init_from && !fs_exists(path)) {
			rc = err_set(ACC_ENOTFOUND, "--init-from %s: %s has no %s", o->init_from, o->model_dir, name);
			err_hint("list the model's adapters: ls %s/adapter.*.safetensors", o->model_dir);
			return rc;
		}
		if ((rc = w2v_load_adapter(t->m, path, load_lang)))
			return rc;
	}
	w2v_config *c = &t->m->cfg;
	int adapters = c->do_stable_layer_norm;
	int A = o->bottleneck > 0 ? o->bottleneck : (c->adapter_attn_dim > 0 ? c->adapter_attn_dim : 64);
	int fresh_adapter = !load_lang;
	if (adapters && A != c->adapter_attn_dim) {
		if (load_lang)
			return err_set(ACC_EINVAL, "--bottleneck %d differs from the adapter of '%s' (%d)", A,
			               load_lang, c->adapter_attn_dim);
		if ((rc = realloc_adapters(&t->m, A)))
			return rc;
		c = &t->m->cfg;
	}
	int V = vocab_size(t->v);
	int head_fresh = !(own_adapter && vocab_from_model && V == c->vocab_size);
	if (V != c->vocab_size && (rc = w2v_resize_head(t->m, V)))
		return rc;
	if (fresh_adapter && adapters && c->adapter_attn_dim > 0)
		init_train_tensors(t->m, o->seed, o->init_kaiming, 0);
	else if (head_fresh)
		init_train_tensors(t->m, o->seed, o->init_kaiming, 1);
	snprintf(t->m->lang, sizeof t->m->lang, "%s", o->lang);
	return 0;
}
