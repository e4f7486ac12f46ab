/*
 * w2v_load.c — loading a Hugging Face model directory into a w2v_model
 * (w2v.c allocates it): w2v_load and MMS language adapters
 * (w2v_load_adapter).
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

static w2v_tensor *find_mut(w2v_model *m, const char *name)
{
	return (w2v_tensor *)w2v_tensor_find(m, name);
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
	w2v_bind(m);
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
