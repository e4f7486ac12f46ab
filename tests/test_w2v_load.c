/*
 * test_w2v_load.c — wav2vec2 config parsing/validation, model directory
 * loading (both layouts, both weight-norm namings, shards, adapters), vocab
 * checks, saving in HF layout and random-weight checkpoints round trips.
 * Fixtures: tests/data/hf-wav2vec2 (transformers 5.17 save_pretrained output).
 */
#include "check.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "model/safetensors.h"
#include "model/vocab.h"
#include "model/w2v.h"

#include <jansson.h>
#include <sys/stat.h>

#define MMS TEST_DATA("data/hf-wav2vec2/mms-tiny")
#define BASE TEST_DATA("data/hf-wav2vec2/base-tiny")

static void copy_file(const char *src, const char *dir, const char *name)
{
	char *buf;
	size_t len;
	char dst[4096];
	CHECK_OK(fs_read_all(src, &buf, &len, 0));
	snprintf(dst, sizeof dst, "%s/%s", dir, name);
	CHECK_OK(fs_write_atomic(dst, buf, len));
	free(buf);
}

/* A fresh model directory under TEST_TMP holding the given fixture files
 * (src names; "model.legacy-names.safetensors" is renamed model.safetensors). */
static const char *mkdir_model(const char *name, const char *src, const char *const *files)
{
	static char dir[4][1024];
	static int k;
	char *d = dir[k++ & 3];
	snprintf(d, 1024, "%s/%s", TEST_TMP, name);
	fs_mkdir_p(d);
	for (int i = 0; files[i]; i++) {
		char s[4096];
		snprintf(s, sizeof s, "%s/%s", src, files[i]);
		const char *dn = strstr(files[i], "legacy-names") ? "model.safetensors" : files[i];
		copy_file(s, d, dn);
	}
	return d;
}

static void write_text(const char *dir, const char *name, const char *text)
{
	char p[4096];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	CHECK_OK(fs_write_atomic(p, text, strlen(text)));
}

/* Every table tensor must equal the checkpoint's data bit for bit (the
 * positional conv is checked separately by fold_reference). */
static void check_equals_file(const w2v_model *m, const char *st_path, int adapter_only)
{
	safetensors_file *f;
	CHECK_OK(safetensors_open(&f, st_path));
	if (!f)
		return;
	int compared = 0;
	for (int i = 0; i < m->n_tensors; i++) {
		const w2v_tensor *t = &m->tensors[i];
		if (!t->present || (t->flags & W2V_T_POSCONV) || (adapter_only && !(t->flags & W2V_T_ADAPTER)))
			continue;
		float *ref;
		size_t n;
		CHECK_OK(safetensors_read_f32(f, t->name, t->ndim, t->shape, &ref, &n));
		if (!ref)
			continue;
		CHECK_EQ_INT(n, t->numel);
		CHECKF(!memcmp(ref, *t->ptr, n * 4), "tensor %s differs from the checkpoint", t->name);
		free(ref);
		compared++;
	}
	CHECK(compared == safetensors_count(f) - 2 * !adapter_only);
	safetensors_close(f);
}

/* w = g * v / ||v||, norm over dims 0,1 for each tap k (weight_norm dim=2),
 * computed here in double from the raw checkpoint tensors. */
static void fold_reference(const w2v_model *m, const char *st_path, const char *gname, const char *vname)
{
	safetensors_file *f;
	CHECK_OK(safetensors_open(&f, st_path));
	if (!f)
		return;
	float *g, *v;
	size_t ng, nv;
	CHECK_OK(safetensors_read_f32(f, gname, 0, NULL, &g, &ng));
	CHECK_OK(safetensors_read_f32(f, vname, 0, NULL, &v, &nv));
	int K = m->cfg.num_conv_pos_embeddings;
	CHECK_EQ_INT(ng, K);
	CHECK_EQ_INT(nv, (size_t)m->cfg.hidden_size * (m->cfg.hidden_size / m->cfg.num_conv_pos_embedding_groups) * K);
	double maxerr = 0;
	for (int k = 0; k < K; k++) {
		double ss = 0;
		for (size_t j = k; j < nv; j += K)
			ss += (double)v[j] * v[j];
		for (size_t j = k; j < nv; j += K) {
			double want = g[k] * v[j] / sqrt(ss);
			double e = fabs(want - m->p.pos_conv_w[j]);
			if (e > maxerr)
				maxerr = e;
		}
	}
	CHECK(maxerr < 1e-6);
	free(g);
	free(v);
	safetensors_close(f);
}

static void test_load_mms_tiny(void)
{
	w2v_model *m = NULL;
	CHECK_OK(w2v_load(&m, MMS, NULL));
	if (!m)
		return;
	const w2v_config *c = &m->cfg;
	CHECK_EQ_INT(c->hidden_size, 32);
	CHECK_EQ_INT(c->num_hidden_layers, 2);
	CHECK_EQ_INT(c->num_attention_heads, 4);
	CHECK_EQ_INT(c->intermediate_size, 64);
	CHECK_EQ_INT(c->num_feat_extract_layers, 7);
	CHECK_EQ_INT(c->conv_kernel[0], 10);
	CHECK_EQ_INT(c->conv_stride[0], 5);
	CHECK_EQ_INT(c->conv_kernel[6], 2);
	CHECK_EQ_INT(c->feat_extract_norm, W2V_NORM_LAYER);
	CHECK_EQ_INT(c->do_stable_layer_norm, 1);
	CHECK_EQ_INT(c->conv_bias, 1);
	CHECK_EQ_INT(c->adapter_attn_dim, 8);
	CHECK_EQ_INT(c->vocab_size, 12);
	CHECK_EQ_INT(c->num_conv_pos_embeddings, 16);
	CHECK_EQ_INT(c->num_conv_pos_embedding_groups, 4);
	CHECK_NEAR(c->layer_norm_eps, 1e-5, 1e-12);
	CHECK_EQ_INT(c->ctc_loss_reduction, W2V_CTC_MEAN);
	CHECK_EQ_INT(c->ctc_zero_infinity, 1);
	CHECK_EQ_INT(c->mask_time_min_masks, 2);
	CHECK_EQ_INT(c->return_attention_mask, 1);
	CHECK_EQ_INT(c->sampling_rate, 16000);
	CHECK_EQ_INT(c->do_normalize, 1);
	CHECK_EQ_INT(w2v_config_total_stride(c), 320);
	/* HF: 16000 samples -> 49 frames, 11999 -> 37 (golden feature_lengths) */
	CHECK_EQ_INT(w2v_config_frames(c, 16000), 49);
	CHECK_EQ_INT(w2v_config_frames(c, 11999), 37);
	CHECK_EQ_INT(w2v_config_frames(c, 399), 0);
	CHECK_EQ_INT(w2v_config_frames(c, 400), 1);
	/* 83 state-dict tensors (keys.txt) = 82 table rows (g+v folded into one) */
	int present = 0;
	for (int i = 0; i < m->n_tensors; i++)
		present += m->tensors[i].present;
	CHECK_EQ_INT(present, 82);
	CHECK(m->p.masked_spec_embed == NULL);
	CHECK(m->p.conv[6].norm_w != NULL && m->p.conv[6].conv_b != NULL);
	CHECK(m->p.adapter[1].l2_b != NULL);
	/* blocks: base/train split and 64-byte alignment of every tensor */
	for (int i = 0; i < m->n_tensors; i++) {
		const w2v_tensor *t = &m->tensors[i];
		CHECK(((uintptr_t)*t->ptr & 63) == 0 || !t->present);
		CHECK_EQ_INT(t->group, (strstr(t->name, "adapter_layer") || !strncmp(t->name, "lm_head", 7)));
	}
	CHECK(m->p.lm_w >= m->train && m->p.lm_w < m->train + m->train_numel);
	check_equals_file(m, MMS "/model.safetensors", 0);
	fold_reference(m, MMS "/model.safetensors", "wav2vec2.encoder.pos_conv_embed.conv.parametrizations.weight.original0",
	               "wav2vec2.encoder.pos_conv_embed.conv.parametrizations.weight.original1");
	CHECK(m->config_json && strstr(m->config_json, "\"adapter_attn_dim\": 8"));
	CHECK_STR(m->lang, "");
	w2v_free(m);
}

static void test_load_base_tiny(void)
{
	w2v_model *m = NULL;
	CHECK_OK(w2v_load(&m, BASE, NULL));
	if (!m)
		return;
	CHECK_EQ_INT(m->cfg.feat_extract_norm, W2V_NORM_GROUP);
	CHECK_EQ_INT(m->cfg.do_stable_layer_norm, 0);
	CHECK_EQ_INT(m->cfg.conv_bias, 0);
	CHECK_EQ_INT(m->cfg.adapter_attn_dim, 0);
	CHECK_EQ_INT(m->cfg.return_attention_mask, 0);
	CHECK(m->p.conv[0].norm_w != NULL && m->p.conv[1].norm_w == NULL && m->p.conv[0].conv_b == NULL);
	CHECK(m->p.adapter[0].norm_w == NULL);
	int present = 0;
	for (int i = 0; i < m->n_tensors; i++)
		present += m->tensors[i].present;
	CHECK_EQ_INT(present, 51); /* keys.txt: 52 with g and v */
	check_equals_file(m, BASE "/model.safetensors", 0);
	fold_reference(m, BASE "/model.safetensors", "wav2vec2.encoder.pos_conv_embed.conv.parametrizations.weight.original0",
	               "wav2vec2.encoder.pos_conv_embed.conv.parametrizations.weight.original1");
	w2v_free(m);
}

static void test_legacy_weight_norm_names(void)
{
	static const char *const f[] = {"config.json", "preprocessor_config.json", "model.legacy-names.safetensors", NULL};
	const char *srcs[2] = {MMS, BASE};
	for (int s = 0; s < 2; s++) {
		const char *d = mkdir_model(s ? "legacy-base" : "legacy-mms", srcs[s], f);
		w2v_model *a = NULL, *b = NULL;
		CHECK_OK(w2v_load(&a, srcs[s], NULL));
		CHECK_OK(w2v_load(&b, d, NULL));
		if (!a || !b) {
			w2v_free(a);
			w2v_free(b);
			continue;
		}
		CHECK_EQ_INT(a->base_numel, b->base_numel);
		CHECK(!memcmp(a->base, b->base, a->base_numel * 4));
		CHECK(!memcmp(a->train, b->train, a->train_numel * 4));
		char p[4096];
		snprintf(p, sizeof p, "%s/model.safetensors", d);
		fold_reference(b, p, "wav2vec2.encoder.pos_conv_embed.conv.weight_g",
		               "wav2vec2.encoder.pos_conv_embed.conv.weight_v");
		w2v_free(a);
		w2v_free(b);
	}
}

static void test_adapter_amh(void)
{
	w2v_model *a = NULL, *b = NULL;
	CHECK_OK(w2v_load(&a, MMS, NULL));
	CHECK_OK(w2v_load(&b, MMS, "amh"));
	if (a && b) {
		CHECK_STR(b->lang, "amh");
		CHECK_EQ_INT(b->cfg.vocab_size, 12);
		CHECK_EQ_INT(a->train_numel, b->train_numel);
		/* the fixture's adapter file holds the base checkpoint's adapter weights */
		CHECK(!memcmp(a->train, b->train, a->train_numel * 4));
		CHECK(!memcmp(a->base, b->base, a->base_numel * 4));
		check_equals_file(b, MMS "/adapter.amh.safetensors", 1);
	}
	w2v_free(a);
	w2v_free(b);
	/* a language without a file */
	CHECK_EQ_INT(w2v_load(&a, MMS, "xyz"), ACC_ENOTFOUND);
	CHECK(strstr(err_msg(), "adapter.xyz.safetensors") != NULL);
	CHECK_EQ_INT(w2v_load(&a, MMS, "../amh"), ACC_EINVAL);
	/* base layout has no adapter layers */
	CHECK_OK(w2v_load(&a, BASE, NULL));
	if (a) {
		CHECK_EQ_INT(w2v_load_adapter(a, MMS "/adapter.amh.safetensors", "amh"), ACC_EINVAL);
		w2v_free(a);
	}
}

/* Rewrite the fixture adapter with a key dropped and/or added, or with an
 * lm_head of lm_rows rows (original rows kept, new values j * 0.001). */
static int write_adapter_variant(const char *out, const char *drop, const char *add, int lm_rows)
{
	safetensors_file *f;
	safetensors_writer *w;
	float *hold[2] = {NULL, NULL};
	static float z[32];
	CHECK_OK(safetensors_open(&f, MMS "/adapter.amh.safetensors"));
	CHECK_OK(safetensors_writer_new(&w));
	for (int i = 0; i < safetensors_count(f); i++) {
		const safetensors_tensor *t = safetensors_at(f, i);
		if (drop && !strcmp(t->name, drop))
			continue;
		if (lm_rows && !strncmp(t->name, "lm_head", 7)) {
			int64_t shape[2] = {lm_rows, t->ndim == 2 ? t->shape[1] : 0};
			size_t n = (size_t)lm_rows * (t->ndim == 2 ? t->shape[1] : 1);
			float *d = calloc(n, 4), *orig = malloc(t->numel * 4);
			safetensors_to_f32(t, orig);
			for (size_t j = 0; j < n; j++)
				d[j] = j < t->numel ? orig[j] : (float)j * 0.001f;
			free(orig);
			hold[t->ndim - 1] = d;
			safetensors_writer_add_f32(w, t->name, ST_F32, t->ndim, shape, d);
			continue;
		}
		safetensors_writer_add(w, t->name, t->dtype, t->ndim, t->shape, t->data);
	}
	if (add) {
		int64_t s[1] = {32};
		safetensors_writer_add_f32(w, add, ST_F32, 1, s, z);
	}
	int rc = safetensors_writer_write(w, out);
	safetensors_writer_free(w);
	safetensors_close(f);
	free(hold[0]);
	free(hold[1]);
	return rc;
}

static void test_adapter_key_sets(void)
{
	char p[4096];
	w2v_model *m = NULL;
	CHECK_OK(w2v_load(&m, MMS, NULL));
	if (!m)
		return;
	snprintf(p, sizeof p, "%s/adapter.missing.safetensors", TEST_TMP);
	CHECK_OK(write_adapter_variant(p, "wav2vec2.encoder.layers.1.adapter_layer.linear_2.bias", NULL, 0));
	CHECK_EQ_INT(w2v_load_adapter(m, p, "x"), ACC_EFORMAT);
	CHECK(strstr(err_msg(), "missing keys: wav2vec2.encoder.layers.1.adapter_layer.linear_2.bias") != NULL);
	CHECK(strstr(err_msg(), "unexpected") == NULL);

	snprintf(p, sizeof p, "%s/adapter.extra.safetensors", TEST_TMP);
	CHECK_OK(write_adapter_variant(p, NULL, "wav2vec2.encoder.layers.2.adapter_layer.norm.bias", 0));
	CHECK_EQ_INT(w2v_load_adapter(m, p, "x"), ACC_EFORMAT);
	CHECK(strstr(err_msg(), "unexpected keys: wav2vec2.encoder.layers.2.adapter_layer.norm.bias") != NULL);
	CHECK(strstr(err_msg(), "missing") == NULL);

	snprintf(p, sizeof p, "%s/adapter.both.safetensors", TEST_TMP);
	CHECK_OK(write_adapter_variant(p, "lm_head.bias", "wav2vec2.encoder.layer_norm.bias", 0));
	CHECK_EQ_INT(w2v_load_adapter(m, p, "x"), ACC_EFORMAT);
	CHECK(strstr(err_msg(), "missing keys: lm_head.bias") != NULL);
	CHECK(strstr(err_msg(), "unexpected keys: wav2vec2.encoder.layer_norm.bias") != NULL);
	CHECK(err_hint_msg() != NULL);
	/* right keys, wrong shape: both shapes named, model untouched */
	{
		safetensors_file *f;
		safetensors_writer *w;
		static float junk[16 * 32];
		CHECK_OK(safetensors_open(&f, MMS "/adapter.amh.safetensors"));
		CHECK_OK(safetensors_writer_new(&w));
		for (int i = 0; f && i < safetensors_count(f); i++) {
			const safetensors_tensor *t = safetensors_at(f, i);
			if (strstr(t->name, "layers.0.adapter_layer.linear_1.weight")) {
				int64_t s16[2] = {16, 32};
				safetensors_writer_add_f32(w, t->name, ST_F32, 2, s16, junk);
			} else {
				safetensors_writer_add(w, t->name, t->dtype, t->ndim, t->shape, t->data);
			}
		}
		snprintf(p, sizeof p, "%s/adapter.shape.safetensors", TEST_TMP);
		CHECK_OK(safetensors_writer_write(w, p));
		safetensors_writer_free(w);
		safetensors_close(f);
		CHECK_EQ_INT(w2v_load_adapter(m, p, "x"), ACC_EFORMAT);
		CHECK(strstr(err_msg(), "linear_1.weight' has shape [16, 32], the config needs [8, 32]"));
	}
	/* the model is untouched by the failures */
	CHECK_STR(m->lang, "");
	CHECK_EQ_INT(m->cfg.vocab_size, 12);
	w2v_free(m);
}

static void test_adapter_resizes_head(void)
{
	char p[4096];
	w2v_model *m = NULL;
	CHECK_OK(w2v_load(&m, MMS, NULL));
	if (!m)
		return;
	float l1[8 * 32];
	memcpy(l1, m->p.adapter[1].l1_w, sizeof l1);
	float lm5_3 = m->p.lm_w[5 * 32 + 3];
	snprintf(p, sizeof p, "%s/adapter.big.safetensors", TEST_TMP);
	CHECK_OK(write_adapter_variant(p, NULL, NULL, 20));
	CHECK_OK(w2v_load_adapter(m, p, "big"));
	CHECK_EQ_INT(m->cfg.vocab_size, 20);
	const w2v_tensor *t = w2v_tensor_find(m, "lm_head.weight");
	CHECK(t && t->shape[0] == 20 && t->shape[1] == 32);
	CHECK(!memcmp(l1, m->p.adapter[1].l1_w, sizeof l1));
	/* rows past the original 12 hold the file's values j * 0.001 */
	CHECK_NEAR(m->p.lm_w[19 * 32 + 31], (19 * 32 + 31) * 0.001f, 1e-9);
	CHECK_NEAR(m->p.lm_b[19], 19 * 0.001f, 1e-9);
	CHECK_NEAR(m->p.lm_w[5 * 32 + 3], lm5_3, 0);
	w2v_free(m);
}


/* Split the fixture into two shards + index with the writer; loads equal. */
static void test_sharded(void)
{
	static const char *const f[] = {"config.json", "preprocessor_config.json", NULL};
	const char *d = mkdir_model("sharded", MMS, f);
	safetensors_file *src;
	CHECK_OK(safetensors_open(&src, MMS "/model.safetensors"));
	if (!src)
		return;
	safetensors_writer *w[2];
	CHECK_OK(safetensors_writer_new(&w[0]));
	CHECK_OK(safetensors_writer_new(&w[1]));
	json_t *wm = json_object();
	static const char *const shard[2] = {"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"};
	for (int i = 0; i < safetensors_count(src); i++) {
		const safetensors_tensor *t = safetensors_at(src, i);
		int k = strstr(t->name, "encoder.layers.1.") || !strncmp(t->name, "lm_head", 7);
		CHECK_OK(safetensors_writer_add(w[k], t->name, t->dtype, t->ndim, t->shape, t->data));
		json_object_set_new(wm, t->name, json_string(shard[k]));
	}
	char p[4096];
	for (int k = 0; k < 2; k++) {
		CHECK_OK(safetensors_writer_meta(w[k], "format", "pt"));
		snprintf(p, sizeof p, "%s/%s", d, shard[k]);
		CHECK_OK(safetensors_writer_write(w[k], p));
		safetensors_writer_free(w[k]);
	}
	json_t *idx = json_pack("{s:{s:i}, s:o}", "metadata", "total_size", 112368, "weight_map", wm);
	char *txt = json_dumps(idx, JSON_INDENT(2));
	write_text(d, "model.safetensors.index.json", txt);
	w2v_model *a = NULL, *b = NULL;
	CHECK_OK(w2v_load(&a, MMS, NULL));
	CHECK_OK(w2v_load(&b, d, NULL));
	if (a && b) {
		CHECK(!memcmp(a->base, b->base, a->base_numel * 4));
		CHECK(!memcmp(a->train, b->train, a->train_numel * 4));
	}
	w2v_free(b);
	/* index entries refused: a tensor its shard does not hold, a shard name
	 * outside the model directory, a missing shard file */
	const struct { const char *shard; int rc; const char *msg; } bad[] = {
		{ shard[0], ACC_EFORMAT,
		  "'lm_head.bias' is listed in weight_map but model-00001-of-00002.safetensors does not hold it" },
		{ "../model-00002-of-00002.safetensors", ACC_EFORMAT, "not a .safetensors file name" },
		{ "model-00003-of-00003.safetensors", ACC_ENOTFOUND, "model-00003-of-00003.safetensors" },
	};
	for (int i = 0; i < 3; i++) {
		json_object_set_new(wm, "lm_head.bias", json_string(bad[i].shard));
		free(txt);
		txt = json_dumps(idx, JSON_INDENT(2));
		write_text(d, "model.safetensors.index.json", txt);
		CHECK_EQ_INT(w2v_load(&b, d, NULL), bad[i].rc);
		CHECKF(strstr(err_msg(), bad[i].msg), "index case %d: %s", i, err_msg());
	}
	write_text(d, "model.safetensors.index.json", "{\"weight_map\": [1]}");
	CHECK_EQ_INT(w2v_load(&b, d, NULL), ACC_EFORMAT);
	free(txt);
	json_decref(idx);
	safetensors_close(src);
	w2v_free(a);
}

/* config.json variants: each must fail cleanly naming the field. */
static int parse_variant(const char *key, json_t *val, w2v_config *cfg)
{
	char *text;
	size_t len;
	CHECK_OK(fs_read_all(MMS "/config.json", &text, &len, 0));
	json_t *root = json_loads(text, 0, NULL);
	free(text);
	if (val)
		json_object_set_new(root, key, val);
	else
		json_object_del(root, key);
	text = json_dumps(root, 0);
	int rc = w2v_config_parse(cfg, text, strlen(text));
	free(text);
	json_decref(root);
	return rc;
}

static void test_config_errors(void)
{
	w2v_config c;
	static const char *const required[] = {"hidden_size", "num_hidden_layers", "num_attention_heads",
		"intermediate_size", "conv_dim", "conv_kernel", "conv_stride", "conv_bias", "feat_extract_norm",
		"do_stable_layer_norm", "num_conv_pos_embeddings", "num_conv_pos_embedding_groups", "vocab_size"};
	for (size_t i = 0; i < sizeof required / sizeof *required; i++) {
		CHECK_EQ_INT(parse_variant(required[i], NULL, &c), ACC_EFORMAT);
		char want[128];
		snprintf(want, sizeof want, "missing field \"%s\"", required[i]);
		CHECKF(strstr(err_msg(), want), "%s: '%s'", required[i], err_msg());
	}
	struct { const char *key; json_t *val; int rc; const char *msg; } bad[] = {
		{"hidden_size", json_integer(30), ACC_EFORMAT, "hidden_size 30 is not divisible by num_attention_heads 4"},
		{"hidden_size", json_integer(-32), ACC_EFORMAT, "\"hidden_size\" = -32 is out of range"},
		{"hidden_size", json_integer(1 << 20), ACC_EFORMAT, "\"hidden_size\" = 1.04858e+06 is out of range"},
		{"hidden_size", json_string("32"), ACC_EFORMAT, "\"hidden_size\" must be an integer"},
		{"hidden_size", json_real(32.0), ACC_EFORMAT, "\"hidden_size\" must be an integer"},
		{"num_attention_heads", json_integer(0), ACC_EFORMAT, "\"num_attention_heads\" = 0 is out of range"},
		{"num_hidden_layers", json_integer(100000), ACC_EFORMAT, "\"num_hidden_layers\""},
		{"num_conv_pos_embedding_groups", json_integer(5), ACC_EFORMAT, "not divisible by num_conv_pos_embedding_groups 5"},
		{"num_conv_pos_embeddings", json_integer(0), ACC_EFORMAT, "\"num_conv_pos_embeddings\" = 0"},
		{"conv_dim", json_pack("[i,i]", 16, 16), ACC_EFORMAT, "different lengths (2, 7, 7)"},
		{"conv_kernel", json_pack("[i,i,i,i,i,i,i]", 10, 3, 3, 0, 3, 2, 2), ACC_EFORMAT, "conv_kernel[3] = 0"},
		{"conv_stride", json_pack("[i,i,i,i,i,i,i]", 5, 2, 2, 2, 2, 2, -2), ACC_EFORMAT, "conv_stride[6] = -2"},
		{"conv_dim", json_pack("[i,i,i,i,i,i,s]", 16, 16, 16, 16, 16, 16, "x"), ACC_EFORMAT, "\"conv_dim\"[6] must be an integer"},
		{"conv_dim", json_array(), ACC_EFORMAT, "\"conv_dim\" must be a non-empty array"},
		{"num_feat_extract_layers", json_integer(6), ACC_EFORMAT, "num_feat_extract_layers does not match"},
		{"feat_extract_norm", json_string("batch"), ACC_EFORMAT, "feat_extract_norm \"batch\""},
		{"hidden_act", json_string("relu"), ACC_EUNSUPPORTED, "hidden_act \"relu\" is not supported"},
		{"feat_extract_activation", json_string("gelu_new"), ACC_EUNSUPPORTED, "feat_extract_activation"},
		{"model_type", json_string("hubert"), ACC_EUNSUPPORTED, "model_type \"hubert\""},
		{"add_adapter", json_true(), ACC_EUNSUPPORTED, "add_adapter"},
		{"vocab_size", json_integer(0), ACC_EFORMAT, "\"vocab_size\" = 0"},
		{"pad_token_id", json_integer(12), ACC_EFORMAT, "pad_token_id 12 (the CTC blank) is not below vocab_size 12"},
		{"layer_norm_eps", json_real(-1e-5), ACC_EFORMAT, "\"layer_norm_eps\""},
		{"layer_norm_eps", json_string("1e-5"), ACC_EFORMAT, "\"layer_norm_eps\" must be a number"},
		{"adapter_attn_dim", json_integer(-8), ACC_EFORMAT, "\"adapter_attn_dim\""},
		{"mask_time_prob", json_real(1.5), ACC_EFORMAT, "\"mask_time_prob\" = 1.5"},
		{"hidden_dropout", json_real(-0.1), ACC_EFORMAT, "\"hidden_dropout\""},
		{"ctc_loss_reduction", json_string("max"), ACC_EFORMAT, "ctc_loss_reduction \"max\""},
		{"conv_bias", json_integer(1), ACC_EFORMAT, "\"conv_bias\" must be true or false"},
		{"intermediate_size", json_integer(262144), ACC_OK, ""}, /* large but legal */
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		int rc = parse_variant(bad[i].key, bad[i].val, &c);
		CHECKF(rc == bad[i].rc, "%s: rc %d want %d (%s)", bad[i].key, rc, bad[i].rc, err_msg());
		CHECKF(strstr(err_msg(), bad[i].msg), "%s: message '%s' lacks '%s'", bad[i].key, err_msg(), bad[i].msg);
	}
	/* absurd totals: every size legal alone, the product too large */
	char *text;
	size_t len;
	CHECK_OK(fs_read_all(MMS "/config.json", &text, &len, 0));
	json_t *root = json_loads(text, 0, NULL);
	free(text);
	json_object_set_new(root, "hidden_size", json_integer(16384));
	json_object_set_new(root, "intermediate_size", json_integer(262144));
	json_object_set_new(root, "num_hidden_layers", json_integer(256));
	text = json_dumps(root, 0);
	CHECK_EQ_INT(w2v_config_parse(&c, text, strlen(text)), ACC_EFORMAT);
	CHECK(strstr(err_msg(), "beyond what can be loaded"));
	free(text);
	json_decref(root);
	CHECK_EQ_INT(w2v_config_parse(&c, "{\"hidden_size\": 32,", 19), ACC_EFORMAT);
	CHECK(strstr(err_msg(), "invalid JSON"));
	CHECK_EQ_INT(w2v_config_parse(&c, "[]", 2), ACC_EFORMAT);
	CHECK_OK(w2v_config_preset(&c, "tiny"));
	CHECK_EQ_INT(w2v_config_parse_preproc(&c, "{\"sampling_rate\": 0}", 20), ACC_EFORMAT);
	CHECK(strstr(err_msg(), "preprocessor_config.json: \"sampling_rate\" = 0"));
	CHECK_EQ_INT(w2v_config_parse_preproc(&c, "{\"feature_size\": 2}", 19), ACC_EFORMAT);
	/* presets are valid; unknown one is not */
	static const char *const presets[] = {"tiny", "base-tiny", "mms-300m", "mms-1b"};
	for (int i = 0; i < 4; i++)
		CHECK_OK(w2v_config_preset(&c, presets[i]));
	CHECK_EQ_INT(c.hidden_size, 1280);
	CHECK_EQ_INT(c.num_hidden_layers, 48);
	CHECK_EQ_INT(c.intermediate_size, 5120);
	CHECK_EQ_INT(w2v_config_preset(&c, "mms-2b"), ACC_EINVAL);
}

static void test_directory_errors(void)
{
	w2v_model *m = NULL;
	char nodir[1024];
	snprintf(nodir, sizeof nodir, "%s/no-such-model", TEST_TMP);
	CHECK_EQ_INT(w2v_load(&m, nodir, NULL), ACC_ENOTFOUND);
	/* PyTorch pickles: out of scope, with the conversion hint */
	static const char *const cfg_only[] = {"config.json", NULL};
	const char *d = mkdir_model("pickle", MMS, cfg_only);
	write_text(d, "pytorch_model.bin", "PK\x03\x04");
	CHECK_EQ_INT(w2v_load(&m, d, NULL), ACC_EUNSUPPORTED);
	CHECK(strstr(err_msg(), "pytorch_model.bin"));
	CHECK(err_hint_msg() && strstr(err_hint_msg(), "safe_serialization=True"));
	d = mkdir_model("noweights", MMS, cfg_only);
	CHECK_EQ_INT(w2v_load(&m, d, NULL), ACC_ENOTFOUND);
	CHECK(strstr(err_msg(), "no model.safetensors"));
	/* a model declaring another sample rate than the one every stage feeds */
	static const char *const rate_files[] = {"config.json", "model.safetensors", NULL};
	d = mkdir_model("rate8k", MMS, rate_files);
	write_text(d, "preprocessor_config.json", "{\"sampling_rate\": 8000, \"feature_size\": 1}");
	CHECK_EQ_INT(w2v_load(&m, d, NULL), ACC_EUNSUPPORTED);
	CHECKF(strstr(err_msg(), "sampling_rate 8000: this model expects 8000 Hz audio; accent feeds 16000 Hz"),
	       "%s", err_msg());
	CHECK(m == NULL);
	/* its declared 16000 (or none at all) loads */
	write_text(d, "preprocessor_config.json", "{\"sampling_rate\": 16000}");
	CHECK_OK(w2v_load(&m, d, NULL));
	w2v_free(m);
	m = NULL;
	/* config that does not fit the checkpoint: wrong shape names both shapes */
	static const char *const files[] = {"model.safetensors", "preprocessor_config.json", NULL};
	d = mkdir_model("wrongshape", MMS, files);
	char *text;
	size_t len;
	CHECK_OK(fs_read_all(MMS "/config.json", &text, &len, 0));
	json_t *root = json_loads(text, 0, NULL);
	free(text);
	json_object_set_new(root, "intermediate_size", json_integer(48));
	text = json_dumps(root, 0);
	write_text(d, "config.json", text);
	free(text);
	CHECK_EQ_INT(w2v_load(&m, d, NULL), ACC_EFORMAT);
	CHECKF(strstr(err_msg(), "layers.0.feed_forward.intermediate_dense.bias' has shape [64], the config needs [48]"), "%s", err_msg());
	/* base-layout config over the MMS checkpoint: conv biases and norms become
	 * unknown tensors (ignored), nothing missing -> loads; the reverse lacks them */
	d = mkdir_model("base-over-mms", MMS, files);
	copy_file(BASE "/config.json", d, "config.json");
	CHECK_OK(w2v_load(&m, d, NULL));
	w2v_free(m);
	m = NULL;
	static const char *const bfiles[] = {"model.safetensors", NULL};
	d = mkdir_model("mms-over-base", BASE, bfiles);
	copy_file(MMS "/config.json", d, "config.json");
	CHECK_EQ_INT(w2v_load(&m, d, NULL), ACC_EFORMAT);
	CHECK(strstr(err_msg(), "missing tensor 'wav2vec2.feature_extractor.conv_layers.0.conv.bias' [16]"));
	CHECK(strstr(err_msg(), "other tensors"));
	json_decref(root);
}

/* Rewrite the fixture checkpoint through a filter into dir/model.safetensors. */
static void write_filtered(const char *dir, const char *drop, const char *add_name, safetensors_dtype as)
{
	safetensors_file *src;
	safetensors_writer *w;
	CHECK_OK(safetensors_open(&src, MMS "/model.safetensors"));
	CHECK_OK(safetensors_writer_new(&w));
	float *bufs[128] = {0};
	int nb = 0;
	for (int i = 0; i < safetensors_count(src); i++) {
		const safetensors_tensor *t = safetensors_at(src, i);
		if (drop && strstr(t->name, drop))
			continue;
		if (as != ST_F32) {
			float *x = malloc(t->numel * 4);
			safetensors_to_f32(t, x);
			bufs[nb++] = x;
			CHECK_OK(safetensors_writer_add_f32(w, t->name, as, t->ndim, t->shape, x));
		} else {
			CHECK_OK(safetensors_writer_add(w, t->name, t->dtype, t->ndim, t->shape, t->data));
		}
	}
	static float junk[4];
	int64_t s[1] = {4};
	if (add_name)
		CHECK_OK(safetensors_writer_add_f32(w, add_name, ST_F32, 1, s, junk));
	char p[4096];
	snprintf(p, sizeof p, "%s/model.safetensors", dir);
	CHECK_OK(safetensors_writer_write(w, p));
	safetensors_writer_free(w);
	safetensors_close(src);
	for (int i = 0; i < nb; i++)
		free(bufs[i]);
}

static void test_tensor_sets(void)
{
	static const char *const f[] = {"config.json", "adapter.amh.safetensors", NULL};
	w2v_model *ref = NULL, *m = NULL;
	CHECK_OK(w2v_load(&ref, MMS, NULL));
	const char *d = mkdir_model("tensors", MMS, f);
	/* unknown tensors are ignored */
	write_filtered(d, NULL, "quantizer.codevectors", ST_F32);
	CHECK_OK(w2v_load(&m, d, NULL));
	if (m && ref)
		CHECK(!memcmp(m->base, ref->base, m->base_numel * 4));
	w2v_free(m);
	m = NULL;
	/* a missing tensor is named with its shape */
	write_filtered(d, "layers.1.final_layer_norm.bias", NULL, ST_F32);
	CHECK_EQ_INT(w2v_load(&m, d, NULL), ACC_EFORMAT);
	CHECK(strstr(err_msg(), "missing tensor 'wav2vec2.encoder.layers.1.final_layer_norm.bias' [32]"));
	write_filtered(d, "lm_head.", NULL, ST_F32);
	CHECK_EQ_INT(w2v_load(&m, d, NULL), ACC_EFORMAT);
	CHECK(err_hint_msg() && strstr(err_hint_msg(), "pretraining checkpoint"));
	/* one half of the weight norm */
	write_filtered(d, "original0", NULL, ST_F32);
	CHECK_EQ_INT(w2v_load(&m, d, NULL), ACC_EFORMAT);
	CHECK(strstr(err_msg(), "missing tensor 'wav2vec2.encoder.pos_conv_embed.conv.parametrizations.weight.original0'"));
	/* both the folded weight and its halves */
	write_filtered(d, NULL, "wav2vec2.encoder.pos_conv_embed.conv.weight", ST_F32);
	CHECK_EQ_INT(w2v_load(&m, d, NULL), ACC_EFORMAT);
	/* (shape [4] is caught first: the folded weight is [32, 8, 16]) */
	CHECK(strstr(err_msg(), "pos_conv_embed.conv.weight' has shape [4], the config needs [32, 8, 16]"));
	/* masked_spec_embed is kept when present */
	write_filtered(d, NULL, NULL, ST_F32);
	{
		safetensors_file *src;
		safetensors_writer *w;
		char p[4096];
		snprintf(p, sizeof p, "%s/model.safetensors", d);
		CHECK_OK(safetensors_open(&src, MMS "/model.safetensors"));
		CHECK_OK(safetensors_writer_new(&w));
		for (int i = 0; i < safetensors_count(src); i++) {
			const safetensors_tensor *t = safetensors_at(src, i);
			safetensors_writer_add(w, t->name, t->dtype, t->ndim, t->shape, t->data);
		}
		float mse[32];
		for (int i = 0; i < 32; i++)
			mse[i] = i * 0.5f;
		int64_t s[1] = {32};
		safetensors_writer_add_f32(w, "wav2vec2.masked_spec_embed", ST_F32, 1, s, mse);
		CHECK_OK(safetensors_writer_write(w, p));
		safetensors_writer_free(w);
		safetensors_close(src);
		CHECK_OK(w2v_load(&m, d, NULL));
		if (m) {
			CHECK(m->p.masked_spec_embed && m->p.masked_spec_embed[31] == 15.5f);
			CHECK(w2v_tensor_find(m, "wav2vec2.masked_spec_embed")->present);
			w2v_free(m);
			m = NULL;
		}
	}
	/* BF16 and F16 checkpoints load, converted to f32 */
	safetensors_dtype dts[2] = {ST_BF16, ST_F16};
	for (int k = 0; k < 2; k++) {
		write_filtered(d, NULL, NULL, dts[k]);
		CHECK_OK(w2v_load(&m, d, "amh"));
		if (m && ref) {
			/* one rounding (half an ulp: 2^-8 / 2^-11 relative, f16
			 * subnormals below 2^-14 absolute), three for the
			 * positional conv folded from rounded g and v */
			double tol = k == 0 ? 1.0 / 256 : 1.0 / 2048, worst = 0;
			const w2v_tensor *pc = w2v_tensor_find(m, "wav2vec2.encoder.pos_conv_embed.conv.weight");
			for (size_t i = 0; i < m->base_numel; i++) {
				int in_pc = i >= pc->offset && i < pc->offset + pc->numel;
				double e = fabs(m->base[i] - ref->base[i]) / fmax(fabs(ref->base[i]), 0x1p-14) / (in_pc ? 3 : 1);
				if (e > worst)
					worst = e;
			}
			CHECKF(worst <= tol, "%s: relative error %g", k ? "F16" : "BF16", worst);
			/* the adapter file (f32) overrides the bf16 adapter weights exactly */
			CHECK(!memcmp(m->train, ref->train, m->train_numel * 4));
		}
		w2v_free(m);
		m = NULL;
	}
	w2v_free(ref);
}

static void test_vocab_check(void)
{
	static const char *const f[] = {"config.json", "model.safetensors", "adapter.amh.safetensors", NULL};
	const char *d = mkdir_model("vocab", MMS, f);
	w2v_model *m = NULL;
	/* flat vocab of the right size: fine; one token more: mismatch */
	write_text(d, "vocab.json", "{\"<pad>\":0,\"<s>\":1,\"</s>\":2,\"<unk>\":3,\"|\":4,\"a\":5,\"b\":6,\"c\":7,"
	                            "\"d\":8,\"e\":9,\"f\":10,\"g\":11}");
	CHECK_OK(w2v_load(&m, d, NULL));
	w2v_free(m);
	m = NULL;
	write_text(d, "vocab.json", "{\"<pad>\":0,\"<s>\":1,\"</s>\":2,\"<unk>\":3,\"|\":4,\"a\":5,\"b\":6,\"c\":7,"
	                            "\"d\":8,\"e\":9,\"f\":10,\"g\":11,\"h\":12}");
	CHECK_EQ_INT(w2v_load(&m, d, NULL), ACC_EFORMAT);
	CHECK(strstr(err_msg(), "has 13 tokens but lm_head has 12 rows"));
	/* nested MMS vocab (amh: 15 tokens) against a 12-row adapter head */
	copy_file(TEST_DATA("data/hf-wav2vec2/tokenizer/vocab.json"), d, "vocab.json");
	CHECK_OK(w2v_load(&m, d, NULL)); /* no language chosen: nothing to compare */
	w2v_free(m);
	m = NULL;
	CHECK_EQ_INT(w2v_load(&m, d, "amh"), ACC_EFORMAT);
	CHECK(strstr(err_msg(), "vocabulary of language amh has 15 tokens but lm_head has 12 rows"));
	/* an amh adapter with a 15-row head matches */
	char p[4096];
	snprintf(p, sizeof p, "%s/adapter.amh.safetensors", d);
	CHECK_OK(write_adapter_variant(p, NULL, NULL, 15));
	CHECK_OK(w2v_load(&m, d, "amh"));
	if (m)
		CHECK_EQ_INT(m->cfg.vocab_size, 15);
	w2v_free(m);
	m = NULL;
	write_text(d, "vocab.json", "{\"a\": [");
	CHECK_EQ_INT(w2v_load(&m, d, NULL), ACC_EFORMAT);
}

/* Save what was loaded: the files transformers wrote come back byte for
 * byte (config, preprocessor config, adapter); the model reloads equal. */
static void test_save_roundtrip(void)
{
	const char *srcs[2] = {MMS, BASE};
	for (int s = 0; s < 2; s++) {
		w2v_model *a = NULL, *b = NULL;
		CHECK_OK(w2v_load(&a, srcs[s], s ? NULL : "amh"));
		if (!a)
			continue;
		char d[1024], p1[4096], p2[4096];
		snprintf(d, sizeof d, "%s/saved-%d", TEST_TMP, s);
		CHECK_OK(w2v_save(a, d, W2V_SAVE_F32));
		static const char *const same[] = {"config.json", "preprocessor_config.json"};
		for (int i = 0; i < 2; i++) {
			char *x, *y;
			size_t nx, ny;
			snprintf(p1, sizeof p1, "%s/%s", srcs[s], same[i]);
			snprintf(p2, sizeof p2, "%s/%s", d, same[i]);
			CHECK_OK(fs_read_all(p1, &x, &nx, 0));
			CHECK_OK(fs_read_all(p2, &y, &ny, 0));
			CHECKF(x && y && nx == ny && !memcmp(x, y, nx), "%s differs from transformers' file", p2);
			free(x);
			free(y);
		}
		if (!s) {
			snprintf(p2, sizeof p2, "%s/adapter.amh.safetensors", d);
			CHECK_OK(w2v_save_adapter(a, p2));
			char *x, *y;
			size_t nx, ny;
			CHECK_OK(fs_read_all(MMS "/adapter.amh.safetensors", &x, &nx, 0));
			CHECK_OK(fs_read_all(p2, &y, &ny, 0));
			CHECK(x && y && nx == ny && !memcmp(x, y, nx));
			free(x);
			free(y);
		}
		/* model.safetensors: the same header (names, shapes, offsets) as
		 * transformers' file; the weights reload bit-identical except the
		 * refolded positional conv (rounding) */
		snprintf(p1, sizeof p1, "%s/model.safetensors", srcs[s]);
		snprintf(p2, sizeof p2, "%s/model.safetensors", d);
		safetensors_file *fa, *fb;
		CHECK_OK(safetensors_open(&fa, p1));
		CHECK_OK(safetensors_open(&fb, p2));
		if (fa && fb) {
			CHECK_EQ_INT(safetensors_count(fa), safetensors_count(fb));
			for (int i = 0; i < safetensors_count(fa) && i < safetensors_count(fb); i++) {
				const safetensors_tensor *x = safetensors_at(fa, i), *y = safetensors_at(fb, i);
				CHECK_STR(x->name, y->name);
				CHECK(x->ndim == y->ndim && x->nbytes == y->nbytes && (const char *)x->data - (const char *)safetensors_at(fa, 0)->data ==
				      (const char *)y->data - (const char *)safetensors_at(fb, 0)->data);
			}
		}
		safetensors_close(fa);
		safetensors_close(fb);
		CHECK_OK(w2v_load(&b, d, NULL));
		if (b) {
			const w2v_tensor *pc = w2v_tensor_find(a, "wav2vec2.encoder.pos_conv_embed.conv.weight");
			for (size_t i = 0; i < a->base_numel; i++) {
				int in_pc = i >= pc->offset && i < pc->offset + pc->numel;
				if (in_pc)
					CHECK_NEAR(a->base[i], b->base[i], 1e-6 * fabs(a->base[i]) + 1e-12);
				else if (a->base[i] != b->base[i]) {
					CHECKF(0, "base element %zu differs after save/load", i);
					break;
				}
			}
			CHECK(!memcmp(a->train, b->train, a->train_numel * 4));
			w2v_free(b);
		}
		/* a resized head is written with its new vocab_size */
		if (!s) {
			CHECK_OK(w2v_resize_head(a, 20));
			CHECK_OK(w2v_save(a, d, W2V_SAVE_F32));
			CHECK_OK(w2v_load(&b, d, NULL));
			if (b) {
				CHECK_EQ_INT(b->cfg.vocab_size, 20);
				CHECK(!memcmp(a->train, b->train, a->train_numel * 4));
				w2v_free(b);
			}
		}
		w2v_free(a);
	}
}

/* Random checkpoints (what tools/mkmodel writes): deterministic, the
 * statistics HF's init gives, and a save/load round trip in f32 and bf16. */
/* config.json's initializer_range sets the Linear init std (HF semantics)
 * and survives a save/load round trip; absent, it is HF's 0.02. */
static void test_initializer_range(void)
{
	w2v_config c;
	CHECK_OK(w2v_config_preset(&c, "tiny"));
	CHECK_NEAR(c.initializer_range, 0.02, 0);
	c.hidden_size = 64;
	c.initializer_range = 0.125;
	w2v_model *a = NULL, *b = NULL;
	CHECK_OK(w2v_model_alloc(&a, &c));
	if (!a)
		return;
	CHECK_OK(w2v_init_random(a, 9));
	double s2 = 0;
	int n = c.hidden_size * c.hidden_size;
	for (int i = 0; i < n; i++)
		s2 += (double)a->p.layer[1].q_w[i] * a->p.layer[1].q_w[i];
	CHECK_NEAR(sqrt(s2 / n), 0.125, 0.006);   /* 4096 draws: sd of the estimate ~0.0014 */
	char d[1024];
	snprintf(d, sizeof d, "%s/init-range", TEST_TMP);
	CHECK_OK(w2v_save(a, d, W2V_SAVE_F32));
	CHECK_OK(w2v_load(&b, d, NULL));
	if (b)
		CHECK_NEAR(b->cfg.initializer_range, 0.125, 1e-12);
	w2v_free(a);
	w2v_free(b);
}

static void test_random_checkpoint_roundtrip(void)
{
	static const char *const presets[] = {"tiny", "base-tiny"};
	for (int k = 0; k < 2; k++) {
		w2v_config c;
		CHECK_OK(w2v_config_preset(&c, presets[k]));
		c.num_hidden_layers = 3;
		c.mask_time_prob = 0.05; /* -> masked_spec_embed exists */
		w2v_model *a = NULL, *a2 = NULL, *b = NULL;
		CHECK_OK(w2v_model_alloc(&a, &c));
		CHECK_OK(w2v_model_alloc(&a2, &c));
		if (!a || !a2)
			return;
		CHECK_OK(w2v_init_random(a, 42));
		CHECK_OK(w2v_init_random(a2, 42));
		CHECK(!memcmp(a->base, a2->base, a->base_numel * 4));
		CHECK_OK(w2v_init_random(a2, 43));
		CHECK(memcmp(a->base, a2->base, a->base_numel * 4));
		CHECK(a->p.masked_spec_embed != NULL);
		/* q_proj ~ N(0, 0.02); norms 1/0 */
		double s1 = 0, s2 = 0;
		int n = c.hidden_size * c.hidden_size;
		for (int i = 0; i < n; i++) {
			s1 += a->p.layer[2].q_w[i];
			s2 += (double)a->p.layer[2].q_w[i] * a->p.layer[2].q_w[i];
		}
		CHECK_NEAR(sqrt(s2 / n), 0.02, 0.002);
		CHECK_NEAR(s1 / n, 0, 0.002);
		CHECK(a->p.layer[1].ln2_w[5] == 1.0f && a->p.layer[1].ln2_b[5] == 0.0f && a->p.layer[0].q_b[3] == 0.0f);
		char d[1024];
		snprintf(d, sizeof d, "%s/random-%d", TEST_TMP, k);
		CHECK_OK(w2v_save(a, d, W2V_SAVE_F32));
		CHECK_OK(w2v_load(&b, d, NULL));
		if (b) {
			CHECK_EQ_INT(b->cfg.num_hidden_layers, 3);
			CHECK_NEAR(b->cfg.mask_time_prob, 0.05, 0);
			CHECK(b->p.masked_spec_embed != NULL);
			CHECK(!memcmp(a->train, b->train, a->train_numel * 4));
			const w2v_tensor *t = w2v_tensor_find(a, "wav2vec2.encoder.layers.2.feed_forward.output_dense.weight");
			CHECK(!memcmp(a->base + t->offset, b->base + t->offset, t->numel * 4));
			w2v_free(b);
			b = NULL;
		}
		CHECK_OK(w2v_save(a, d, W2V_SAVE_BF16));
		CHECK_OK(w2v_load(&b, d, NULL));
		if (b) {
			const w2v_tensor *t = w2v_tensor_find(a, "lm_head.weight");
			for (size_t i = 0; i < t->numel; i++)
				if (fabs(a->train[t->offset + i] - b->train[t->offset + i]) > fabs(a->train[t->offset + i]) / 256) {
					CHECKF(0, "bf16 element %zu", i);
					break;
				}
			w2v_free(b);
		}
		w2v_free(a);
		w2v_free(a2);
	}
}

/* Every tensor of a random checkpoint is finite and follows its init rule;
 * the conv biases once came out NaN (fan_in taken from the 1-D bias shape). */
static void test_random_init_finite(void)
{
	static const char *presets[] = { "tiny", "base-tiny" };
	for (int p = 0; p < 2; p++) {
		w2v_config cfg;
		w2v_model *m = NULL;
		CHECK_OK(w2v_config_preset(&cfg, presets[p]));
		CHECK_OK(w2v_model_alloc(&m, &cfg));
		if (!m)
			continue;
		CHECK_OK(w2v_init_random(m, 5));
		for (int i = 0; i < m->n_tensors; i++) {
			const w2v_tensor *t = &m->tensors[i];
			const float *x = *t->ptr;
			size_t bad = 0;
			double maxabs = 0;
			if (!t->present)
				continue;
			for (size_t j = 0; j < t->numel; j++) {
				if (!isfinite(x[j]))
					bad++;
				else if (fabs(x[j]) > maxabs)
					maxabs = fabs(x[j]);
			}
			CHECKF(bad == 0, "%s: %zu non-finite values", t->name, bad);
			if (strstr(t->name, "conv_layers.") && strstr(t->name, "conv.bias")) {
				/* U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = C_in * K */
				int li = atoi(strstr(t->name, "conv_layers.") + 12);
				double fan_in = (double)(li == 0 ? 1 : cfg.conv_dim[li - 1]) * cfg.conv_kernel[li];
				CHECKF(maxabs > 0 && maxabs <= 1 / sqrt(fan_in), "%s: max |b| %g, bound %g",
				       t->name, maxabs, 1 / sqrt(fan_in));
			}
		}
		w2v_free(m);
	}
}

int main(void)
{
	RUN(test_load_mms_tiny);
	RUN(test_load_base_tiny);
	RUN(test_legacy_weight_norm_names);
	RUN(test_adapter_amh);
	RUN(test_adapter_key_sets);
	RUN(test_adapter_resizes_head);
	RUN(test_sharded);
	RUN(test_config_errors);
	RUN(test_directory_errors);
	RUN(test_tensor_sets);
	RUN(test_vocab_check);
	RUN(test_save_roundtrip);
	RUN(test_initializer_range);
	RUN(test_random_checkpoint_roundtrip);
	RUN(test_random_init_finite);
	return check_summary();
}
