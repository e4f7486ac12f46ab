/*
 * trainer.c — the training loop (see trainer.h for the semantics).
 *
 * Layout of this file: random numbers and small helpers; data loading from
 * the manifest; vocabulary and model setup (adapter size, initialization,
 * head); buckets and batch assembly; one micro-batch (forward, CTC,
 * backward, NaN check); the optimizer step; dev evaluation; checkpoint and
 * resume state; the manifest tables; trainer_run() tying them together.
 */
#define _GNU_SOURCE   /* qsort_r */
#include "train/trainer.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "train/adamw.h"
#include "audio/audio.h"
#include "model/ctc.h"
#include "base/dist.h"
#include "train/trainer_dist.h"
#include "base/err.h"
#include "model/emit.h"
#include "base/rng.h"
#include "base/fsutil.h"
#include "train/lr_sched.h"
#include "manifest/manifest.h"
#include "text/metrics.h"
#include "model/ops.h"
#include "base/progress.h"
#include "model/vocab.h"
#include "model/w2v.h"
#include "model/w2v_backward.h"
#include "model/w2v_forward.h"
#include "model/w2v_infer.h"
#include "model/w2v_reg.h"
#include "base/banned.h"

/* Batches of a layer-norm model are padded to a multiple of this many
 * frames (12 x 320 samples = 0.24 s for MMS): see load_batch. */
#define TRAINER_PAD_STRIDES 12
/* oneDNN primitives kept per training context (ops_ctx_set_cache_max). */
#define TRAINER_PRIM_CACHE 4096

/* ---- random numbers: splitmix64 (state = one uint64, saved for resume) ---- */
static double rng_normal(uint64_t *s)
{
	double u1 = rng_unit(s), u2 = rng_unit(s);
	if (u1 < 1e-300)
		u1 = 1e-300;
	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

void trainer_opts_default(trainer_opts *o)
{
	memset(o, 0, sizeof *o);
	o->steps = 1000;
	o->lr = 1e-3;
	o->warmup = -1;
	o->batch_seconds = 40;
	o->accum = 1;
	o->clip = 1.0;
	o->weight_decay = 0.01;
	o->seed = 1;
	o->eval_every = 100;
	o->save_every = 0;
	o->patience = 0;
	o->base_from = W2V_BWD_ADAPTERS;
	o->sampling = TRAIN_SAMPLE_BALANCED;
	o->max_utt_seconds = 30;
	o->dropout = o->attention_dropout = o->activation_dropout = -1;
	o->feat_proj_dropout = o->final_dropout = o->layerdrop = -1;
	o->mask_time_prob = o->mask_feature_prob = -1;
}

/* The regularization of the training forward: config.json, then the
 * options' overrides. */
static int setup_reg(const trainer_opts *o, const w2v_model *m, w2v_reg *r)
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


/* ---- data ---- */
typedef struct {
	int64_t id;
	char   *path;
	double  start, end;
	char   *text;
	int    *ids;
	int64_t nids;
	double  weight;
	int     dev;
	float  *audio;     /* cached normalized samples (NULL until read) */
	int64_t n;         /* samples (known once read) */
} utt;

typedef struct {
	int *idx;      /* utterance indices */
	int  n;
	double weight; /* sampling weight */
} bucket;

typedef struct {
	const trainer_opts *o;
	manifest *mf;
	w2v_model *m;
	vocab *v;
	w2v_fwd *f;
	w2v_bwd *bk;
	utt *u;
	int nu, n_train, n_dev;
	bucket *tb, *db;
	int ntb, ndb;
	double *cum;            /* cumulative bucket weights */
	float *gtrain, *gtmp_t, *gbase, *gtmp_b;
	adamw_state st_t, st_b;
	int base_trains;
	uint64_t rng;
	int64_t step;
	double best_cer, best_wer, best_loss;
	int64_t best_step;
	int bad_evals;
	int64_t skipped_total, train_run_id, run_id;
	size_t cached_bytes;
	float *x, *dlog;
	size_t x_cap, dlog_cap;
	int64_t *len;
	int len_cap;
	w2v_reg reg;            /* training-forward regularization */
	int reg_on;
	uint64_t reg_seed;      /* of the current micro-batch */
	trainer_dist *dg;          /* mpirun: the step's reduction over the ranks (NULL for one rank) */
} T_;


static char *xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int load_data(T_ *t)
{
	const trainer_opts *o = t->o;
	sqlite3_stmt *st = NULL;
	int rc = manifest_prepare(t->mf,
		"SELECT u.id, c.root, u.start_s, u.end_s, u.text_norm, u.split, "
		"       COALESCE(u.weight, 1.0), r.path "
		"FROM utterances u JOIN recordings r ON r.id = u.recording_id "
		"     JOIN corpora c ON c.id = r.corpus_id "
		"     LEFT JOIN alignments a ON a.utterance_id = u.id "
		"WHERE u.status = 'ok' AND u.split IN ('train', 'dev') "
		"  AND u.text_norm IS NOT NULL AND length(trim(u.text_norm)) > 0 "
		"  AND (?1 IS NULL OR u.lang = ?1) AND (?2 OR COALESCE(a.flags, 0) = 0) "
		"  AND u.end_s - u.start_s > 0 AND u.end_s - u.start_s <= ?3 "
		"ORDER BY u.id", &st);
	if (rc)
		return rc;
	if (o->data_lang)
		sqlite3_bind_text(st, 1, o->data_lang, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 2, o->include_flagged ? 1 : 0);
	sqlite3_bind_double(st, 3, o->max_utt_seconds);
	int cap = 0, s;
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		if (t->nu == cap) {
			cap = cap ? cap * 2 : 256;
			utt *nu = realloc(t->u, sizeof *nu * cap);
			if (!nu) {
				rc = err_set(ACC_ENOMEM, "out of memory: utterance list");
				goto out;
			}
			t->u = nu;
		}
		utt *u = &t->u[t->nu];
		memset(u, 0, sizeof *u);
		u->id = sqlite3_column_int64(st, 0);
		char path[4096];
		if ((rc = manifest_audio_path(path, sizeof path, (const char *)sqlite3_column_text(st, 1),
		                              (const char *)sqlite3_column_text(st, 7))))
			goto out;
		u->path = xstrdup(path);
		u->start = sqlite3_column_double(st, 2);
		u->end = sqlite3_column_double(st, 3);
		u->text = xstrdup((const char *)sqlite3_column_text(st, 4));
		u->dev = !strcmp((const char *)sqlite3_column_text(st, 5), "dev");
		u->weight = sqlite3_column_double(st, 6);
		if (!(u->weight > 0))
			u->weight = 0;
		if (!u->path || !u->text) {
			free(u->path);
			free(u->text);
			rc = err_set(ACC_ENOMEM, "out of memory: utterance list");
			goto out;
		}
		t->nu++;
		if (u->dev)
			t->n_dev++;
		else
			t->n_train++;
	}
	if (s != SQLITE_DONE)
		rc = manifest_db_error(t->mf, "cannot read the utterances");
out:
	sqlite3_finalize(st);
	return rc;
}

/* Why no train utterance is usable: count, in the manifest, what each of
 * load_data's filters leaves (language, status, split, text, duration,
 * align flags) and name the first one that leaves nothing.  Returns the
 * error (ACC_ENOTFOUND) with its hint. */
static int explain_no_train(T_ *t)
{
	const trainer_opts *o = t->o;
	const char *L = o->data_lang;
	sqlite3_stmt *st = NULL;
	int rc = manifest_prepare(t->mf,
		"SELECT count(*), "
		"  coalesce(sum(u.status = 'ok'), 0), "
		"  coalesce(sum(u.status = 'ok' AND u.split = 'train'), 0), "
		"  coalesce(sum(u.status = 'ok' AND u.split = 'train' AND length(trim(coalesce(u.text_norm, ''))) > 0), 0), "
		"  coalesce(sum(u.status = 'ok' AND u.split = 'train' AND length(trim(coalesce(u.text_norm, ''))) > 0 "
		"      AND u.end_s - u.start_s > 0 AND u.end_s - u.start_s <= ?2), 0), "
		"  coalesce(sum(u.status = 'ok' AND u.split = 'train' AND length(trim(coalesce(u.text_norm, ''))) > 0 "
		"      AND u.end_s - u.start_s > 0 AND u.end_s - u.start_s <= ?2 AND coalesce(a.flags, 0) = 0), 0) "
		"FROM utterances u LEFT JOIN alignments a ON a.utterance_id = u.id "
		"WHERE ?1 IS NULL OR u.lang = ?1", &st);
	if (rc)
		return rc;
	if (L)
		sqlite3_bind_text(st, 1, L, -1, SQLITE_TRANSIENT);
	sqlite3_bind_double(st, 2, o->max_utt_seconds);
	long long n[6] = { 0 };
	if (sqlite3_step(st) == SQLITE_ROW)
		for (int i = 0; i < 6; i++)
			n[i] = sqlite3_column_int64(st, i);
	sqlite3_finalize(st);
	char of[96] = "";
	if (L)
		snprintf(of, sizeof of, " of language '%s'", L);
	if (n[0] == 0 && L) {
		char langs[512];
		if (manifest_langs_describe(t->mf, langs, sizeof langs))
			langs[0] = 0;
		rc = err_set(ACC_ENOTFOUND, "no utterances%s in %s%s%s%s", of, o->manifest, *langs ? " (it has: " : "",
		             langs, *langs ? ")" : "");
		if (*langs)
			err_hint("train uses the utterances of --lang unless --data-lang CODE (or --data-lang all) says "
			         "otherwise; to label them '%s', run `prep relabel --lang %s`", L, L);
		else
			err_hint("ingest a corpus first: `prep ingest CORPUS`");
	} else if (n[0] == 0) {
		rc = err_set(ACC_ENOTFOUND, "%s has no utterances", o->manifest);
		err_hint("ingest a corpus first: `prep ingest CORPUS`");
	} else if (n[1] == 0) {
		rc = err_set(ACC_ENOTFOUND, "none of the %lld utterances%s has status 'ok'", n[0], of);
		err_hint("pieces of long recordings wait for `align run`; see `db query \"SELECT status, count(*) "
		         "FROM utterances GROUP BY status\"`");
	} else if (n[2] == 0) {
		rc = err_set(ACC_ENOTFOUND, "none of the %lld usable utterances%s is in the train split", n[1], of);
		err_hint("assign splits with `db split`");
	} else if (n[3] == 0) {
		rc = err_set(ACC_ENOTFOUND, "all %lld train utterances%s have an empty normalized text", n[2], of);
		err_hint("check the normalization (`prep ingest --norm`, --rules)");
	} else if (n[4] == 0) {
		rc = err_set(ACC_ENOTFOUND, "all %lld train utterances%s are longer than --max-seconds %g", n[3], of,
		             o->max_utt_seconds);
		err_hint("raise --max-seconds");
	} else if (n[5] == 0 && !o->include_flagged) {
		rc = err_set(ACC_ENOTFOUND, "all %lld train utterances%s are flagged by `align run`", n[4], of);
		err_hint("--include-flagged trains on them anyway (a weak alignment model flags almost everything); "
		         "see `db query \"SELECT * FROM align_flag_counts\"`");
	} else {
		rc = err_set(ACC_ENOTFOUND, "none of the %lld train utterances%s can be encoded with the '%s' vocabulary",
		             o->include_flagged ? n[4] : n[5], of, o->lang);
		err_hint("the transcripts hold no character of the model's vocabulary for '%s' and it has no <unk>",
		         o->lang);
	}
	return rc;
}

int trainer_eval_compare(double best_cer, double best_loss, double cer, double loss)
{
	/* a CER of 100% or more is no better than emitting nothing: within
	 * that plateau CER values are not compared, only losses */
	const double eps = 1e-12;
	int plateau = !(cer < 1.0 - eps);
	double key = plateau ? 1.0 : cer, bkey = !(best_cer < 1.0 - eps) ? 1.0 : best_cer;
	if (!isfinite(loss) && !isfinite(cer))
		return TRAINER_EVAL_WORSE;
	if (key < bkey - eps || (fabs(key - bkey) <= eps && loss < best_loss))
		return TRAINER_EVAL_BEST;
	if (plateau && loss < best_loss)
		return TRAINER_EVAL_PROGRESS;
	return TRAINER_EVAL_WORSE;
}

/* ---- vocabulary ---- */
static int setup_vocab(T_ *t, int *from_model)
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
		const char **texts = malloc(sizeof *texts * (t->n_train ? t->n_train : 1));
		int n = 0;
		if (!texts)
			return err_set(ACC_ENOMEM, "out of memory");
		for (int i = 0; i < t->nu; i++)
			if (!t->u[i].dev)
				texts[n++] = t->u[i].text;
		rc = vocab_build_from_texts(&t->v, texts, n);
		free(texts);
		if (rc)
			goto out;
	}
	/* encode every transcript (characters missing from the vocabulary -> <unk>) */
	vocab_oov oov = { 0 };
	int keep = 0;
	for (int i = 0; i < t->nu; i++) {
		utt *u = &t->u[i];
		if ((rc = vocab_encode(t->v, u->text, &u->ids, &u->nids, &oov))) {
			vocab_oov_free(&oov);
			return err_wrap(rc, "utterance %lld", (long long)u->id);
		}
		int bad = 0;
		for (int64_t k = 0; k < u->nids; k++)
			bad |= u->ids[k] < 0;
		if (u->nids == 0 || bad) {
			/* nothing to learn (or unencodable without <unk>): drop */
			if (u->dev) t->n_dev--; else t->n_train--;
			free(u->path); free(u->text); free(u->ids);
			continue;
		}
		t->u[keep++] = *u;
	}
	t->nu = keep;
	if (oov.total > 0 && !o->quiet) {
		char d[256];
		vocab_oov_sort(&oov);
		vocab_oov_describe(&oov, d, sizeof d);
		fprintf(stderr, "train: %lld characters not in the '%s' vocabulary were mapped to <unk>: %s\n",
		        (long long)oov.total, o->lang, d);
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
	m2->config_json = xstrdup(m->config_json);
	m2->preproc_json = xstrdup(m->preproc_json);
	snprintf(m2->lang, sizeof m2->lang, "%s", m->lang);
	w2v_free(m);
	*mp = m2;
	return 0;
}

static int setup_model(T_ *t, int vocab_from_model)
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

/* ---- batches ---- */
static int cmp_dur(const void *a, const void *b, void *ctx)
{
	const utt *u = ctx;
	int i = *(const int *)a, j = *(const int *)b;
	double di = u[i].end - u[i].start, dj = u[j].end - u[j].start;
	if (di != dj)
		return di < dj ? -1 : 1;
	return u[i].id < u[j].id ? -1 : u[i].id > u[j].id;
}

static int make_buckets(T_ *t, int dev, bucket **out, int *nout)
{
	int n = 0, rc = 0;
	int *ord = malloc(sizeof(int) * (t->nu ? t->nu : 1));
	bucket *bs = NULL;
	int nb = 0;
	if (!ord)
		return err_set(ACC_ENOMEM, "out of memory");
	for (int i = 0; i < t->nu; i++)
		if (t->u[i].dev == dev)
			ord[n++] = i;
	qsort_r(ord, n, sizeof(int), cmp_dur, t->u);
	bs = calloc(n ? n : 1, sizeof *bs);
	if (!bs) {
		rc = err_set(ACC_ENOMEM, "out of memory");
		goto out;
	}
	for (int i = 0; i < n;) {
		int j = i + 1;
		/* sorted ascending: the last member is the longest */
		while (j < n && (t->u[ord[j]].end - t->u[ord[j]].start) * (j - i + 1) <= t->o->batch_seconds)
			j++;
		bucket *b = &bs[nb++];
		b->n = j - i;
		b->idx = malloc(sizeof(int) * b->n);
		if (!b->idx) {
			rc = err_set(ACC_ENOMEM, "out of memory");
			goto out;
		}
		b->weight = 0;
		for (int k = 0; k < b->n; k++) {
			b->idx[k] = ord[i + k];
			b->weight += t->o->sampling == TRAIN_SAMPLE_BALANCED ? t->u[ord[i + k]].weight : 1.0;
		}
		i = j;
	}
out:
	free(ord);
	*out = bs;
	*nout = nb;
	return rc;
}

/* Read (and cache, up to 1 GiB) the normalized audio of utterance u. */
static int utt_audio(T_ *t, utt *u, float **x, int64_t *n, int *owned)
{
	*owned = 0;
	if (u->audio) {
		*x = u->audio;
		*n = u->n;
		return 0;
	}
	float *s = NULL;
	int64_t ns = 0;
	int rc = audio_read_span(u->path, u->start, u->end, &s, &ns);
	if (rc)
		return err_wrap(rc, "utterance %lld", (long long)u->id);
	if (t->m->cfg.do_normalize)
		w2v_normalize(s, s, ns);
	u->n = ns;
	if (t->cached_bytes + ns * sizeof(float) <= ((size_t)1 << 30)) {
		u->audio = s;
		t->cached_bytes += ns * sizeof(float);
	} else {
		*owned = 1;
	}
	*x = s;
	*n = ns;
	return 0;
}

/* Assemble bucket b into t->x [B, nmax] (zero padded), t->len. */
static int load_batch(T_ *t, const bucket *b, int *nmax)
{
	int rc = 0;
	int64_t mx = 0;
	float **au = calloc(b->n, sizeof *au);
	int64_t *ns = calloc(b->n, sizeof *ns);
	int *own = calloc(b->n, sizeof *own);
	if (!au || !ns || !own) {
		rc = err_set(ACC_ENOMEM, "out of memory");
		goto out;
	}
	for (int k = 0; k < b->n; k++) {
		TRY(utt_audio(t, &t->u[b->idx[k]], &au[k], &ns[k], &own[k]));
		mx = ns[k] > mx ? ns[k] : mx;
	}
	if (mx <= 0 || mx > INT32_MAX / 2) {
		rc = err_set(ACC_EINVAL, "batch of empty or oversized utterances");
		goto out;
	}
	if (t->m->cfg.feat_extract_norm == W2V_NORM_LAYER) {
		/* Pad to a multiple of TRAINER_PAD_STRIDES conv strides.  In a
		 * layer-norm model (frame-local conv norms, attention mask) the
		 * frames of an utterance do not depend on how far the batch is
		 * padded, while a handful of distinct batch shapes lets the oneDNN
		 * primitives be reused from step to step instead of JIT-compiled
		 * for every new length (measured on the demo's model: creation was
		 * ~97% of the time spent in oneDNN).  Group-norm models normalize
		 * over time, padding included, so they keep the exact length. */
		int64_t q = TRAINER_PAD_STRIDES;
		for (int i = 0; i < t->m->cfg.num_feat_extract_layers; i++)
			q *= t->m->cfg.conv_stride[i];
		mx = (mx + q - 1) / q * q;
	}
	size_t need = (size_t)b->n * mx;
	if (need > t->x_cap) {
		float *nx = realloc(t->x, sizeof(float) * need);
		if (!nx) {
			rc = err_set(ACC_ENOMEM, "out of memory: batch audio");
			goto out;
		}
		t->x = nx;
		t->x_cap = need;
	}
	if (b->n > t->len_cap) {
		int64_t *nl = realloc(t->len, sizeof(int64_t) * b->n);
		if (!nl) {
			rc = err_set(ACC_ENOMEM, "out of memory");
			goto out;
		}
		t->len = nl;
		t->len_cap = b->n;
	}
	for (int k = 0; k < b->n; k++) {
		memcpy(t->x + (size_t)k * mx, au[k], sizeof(float) * ns[k]);
		memset(t->x + (size_t)k * mx + ns[k], 0, sizeof(float) * (mx - ns[k]));
		t->len[k] = ns[k];
	}
	*nmax = (int)mx;
out:
	for (int k = 0; au && k < b->n; k++)
		if (own && own[k])
			free(au[k]);
	free(au);
	free(ns);
	free(own);
	return rc;
}

/* Forward + per-utterance CTC of bucket b.  With dlog: gradient of the
 * batch loss  sum_b w_b * loss_b / target_len_b / B  (HF 'mean' when every
 * w_b = 1).  *loss = that batch loss (unweighted mean for dev); per-utterance
 * greedy hypotheses are added to ma when given. */
static int run_batch(T_ *t, const bucket *b, int want_grad, double *loss, metrics_accum *ma,
                     double *audio_s)
{
	int rc, nmax = 0;
	w2v_config *c = &t->m->cfg;
	TRY(load_batch(t, b, &nmax));
	/* regularized forward for training only; dev evaluation is the eval forward */
	TRY(w2v_fwd_set_reg(t->f, want_grad && t->reg_on ? &t->reg : NULL, t->reg_seed));
	int use_mask = c->return_attention_mask;
	TRY(w2v_forward(t->f, t->x, b->n, nmax, use_mask ? t->len : NULL));
	int T = t->f->T, V = c->vocab_size;
	if (T <= 0) {
		rc = err_set(ACC_EINVAL, "batch shorter than the model's receptive field");
		goto out;
	}
	size_t nd = (size_t)b->n * T * V;
	if (want_grad) {
		if (nd > t->dlog_cap) {
			float *nl = realloc(t->dlog, sizeof(float) * nd);
			if (!nl) {
				rc = err_set(ACC_ENOMEM, "out of memory");
				goto out;
			}
			t->dlog = nl;
			t->dlog_cap = nd;
		}
		memset(t->dlog, 0, sizeof(float) * nd);
	}
	double total = 0;
	int weighted = want_grad && t->o->sampling == TRAIN_SAMPLE_WEIGHTED_LOSS;
	int *ids = NULL;
	if (ma && !(ids = malloc(sizeof(int) * T))) {
		rc = err_set(ACC_ENOMEM, "out of memory");
		goto out;
	}
	for (int k = 0; k < b->n; k++) {
		utt *u = &t->u[b->idx[k]];
		int64_t il = use_mask ? t->f->flen[k] : T;
		int64_t tl = u->nids;
		ctc_opts co = { .blank = c->pad_token_id, .reduction = CTC_REDUCE_MEAN,
		                .zero_infinity = c->ctc_zero_infinity };
		double lb = 0;
		float *g = want_grad ? t->dlog + (size_t)k * T * V : NULL;
		rc = ctc_loss(t->f->logits + (size_t)k * T * V, 1, T, V, &il, u->ids, tl, &tl, &co, NULL, &lb, g);
		if (rc) {
			free(ids);
			goto out;
		}
		double w = weighted ? u->weight : 1.0;
		total += w * lb;
		if (g) {
			float sc = (float)(w / b->n);
			for (size_t i = 0; i < (size_t)T * V; i++)
				g[i] *= sc;
		}
		if (ma) {
			char *hyp = NULL;
			emit_greedy(t->f->logits + (size_t)k * T * V, il, V, V, ids);
			if ((rc = vocab_decode(t->v, ids, il, 1, &hyp)) == 0) {
				rc = metrics_accum_add(ma, u->text, hyp);
				free(hyp);
			}
			if (rc) {
				free(ids);
				goto out;
			}
		}
		if (audio_s)
			*audio_s += u->n / 16000.0;
	}
	free(ids);
	*loss = total / b->n;
out:
	return rc;
}

static int all_finite(const float *x, size_t n)
{
	int ok = 1;
	#pragma omp parallel for reduction(&&:ok) schedule(static)
	for (size_t i = 0; i < n; i++)
		ok = ok && isfinite(x[i]);
	return ok;
}

static int tensor_decays(const w2v_tensor *te)
{
	size_t len = strlen(te->name);
	if (len > 5 && !strcmp(te->name + len - 5, ".bias"))
		return 0;
	/* HF Trainer: no decay for biases and LayerNorm weights */
	if (strstr(te->name, "norm.") || strstr(te->name, "layer_norm"))
		return 0;
	return 1;
}

/* One optimizer step: accum micro-batches, skip bad ones, clip, AdamW. */
static int train_step(T_ *t, double *loss_out, double *gnorm_out, double *lr_out, int *skipped,
                      double *audio_s)
{
	int rc = 0;
	const trainer_opts *o = t->o;
	w2v_model *m = t->m;
	size_t nt = m->train_numel, nb = t->base_trains ? m->base_numel : 0;
	memset(t->gtrain, 0, sizeof(float) * nt);
	if (nb)
		memset(t->gbase, 0, sizeof(float) * nb);
	int good = 0;
	double lsum = 0;
	*skipped = 0;
	/* mpirun -np W: the step draws W x accum micro-batches, as one process
	 * with --accum W*accum would; rank r computes the r-th run of accum
	 * (lib/train/trainer_dist.h) */
	int W = dist_size(), me = dist_rank(), M = o->accum * W;
	if (t->dg)
		TRY(trainer_dist_begin(t->dg, M));
	for (int a = 0; a < M; a++) {
		/* draw a bucket */
		double r = rng_unit(&t->rng) * t->cum[t->ntb - 1];
		int lo = 0, hi = t->ntb - 1;
		while (lo < hi) {
			int mid = (lo + hi) / 2;
			if (t->cum[mid] > r)
				hi = mid;
			else
				lo = mid + 1;
		}
		const bucket *b = &t->tb[lo];
		if (a / o->accum != me)
			continue;
		double l = 0;
		t->reg_seed = w2v_reg_seed(o->seed, t->step, a);
		TRY(run_batch(t, b, 1, &l, NULL, audio_s));
		int ok = isfinite(l) && all_finite(t->dlog, (size_t)b->n * t->f->T * m->cfg.vocab_size);
		if (ok) {
			memset(t->gtmp_t, 0, sizeof(float) * nt);
			if (nb)
				memset(t->gtmp_b, 0, sizeof(float) * nb);
			TRY(w2v_backward(t->bk, t->f, t->x, t->dlog, t->gtmp_t, nb ? t->gtmp_b : NULL, o->base_from));
			ok = all_finite(t->gtmp_t, nt) && (!nb || all_finite(t->gtmp_b, nb));
		}
		if (t->dg)
			TRY(trainer_dist_add(t->dg, a, ok, l, me > 0 ? t->gtmp_t : NULL, me > 0 ? t->gtmp_b : NULL));
		if (!ok) {
			(*skipped)++;
			continue;
		}
		if (me > 0)
			continue;   /* kept by trainer_dist, folded after rank me-1's */
		for (size_t i = 0; i < nt; i++)
			t->gtrain[i] += t->gtmp_t[i];
		if (nb) {
			#pragma omp parallel for schedule(static)
			for (size_t i = 0; i < nb; i++)
				t->gbase[i] += t->gtmp_b[i];
		}
		lsum += l;
		good++;
	}
	if (t->dg) {
		TRY(trainer_dist_reduce(t->dg, t->gtrain, nb ? t->gbase : NULL, &lsum, &good, audio_s));
		*skipped = M - good;
	}
	*loss_out = good ? lsum / good : NAN;
	*gnorm_out = NAN;
	lr_sched sc = { o->lr, o->warmup, o->steps };
	*lr_out = lr_sched_at(&sc, t->step);
	if (!good)
		goto out;   /* nothing to apply: the step is counted, the weights stay */
	/* mean over micro-batches, then the norm over every trained tensor */
	double ss = 0, inv = 1.0 / good;
	for (int i = 0; i < m->n_tensors; i++) {
		const w2v_tensor *te = &m->tensors[i];
		if (!w2v_tensor_trains(m, te, o->base_from) || (te->group == W2V_GROUP_BASE && !nb))
			continue;
		float *g = (te->group == W2V_GROUP_TRAIN ? t->gtrain : t->gbase) + te->offset;
		for (size_t k = 0; k < te->numel; k++) {
			g[k] = (float)(g[k] * inv);
			ss += (double)g[k] * g[k];
		}
	}
	double norm = sqrt(ss);
	*gnorm_out = norm;
	double coef = 1.0;
	if (o->clip > 0 && norm + 1e-6 > 0) {
		coef = o->clip / (norm + 1e-6);
		if (coef > 1.0)
			coef = 1.0;
	}
	adamw_hparams h = { 0.9, 0.999, 1e-8, o->weight_decay };
	adamw_begin_step(&t->st_t);
	if (nb)
		adamw_begin_step(&t->st_b);
	for (int i = 0; i < m->n_tensors; i++) {
		const w2v_tensor *te = &m->tensors[i];
		if (!w2v_tensor_trains(m, te, o->base_from) || (te->group == W2V_GROUP_BASE && !nb))
			continue;
		int tg = te->group == W2V_GROUP_TRAIN;
		float *g = (tg ? t->gtrain : t->gbase) + te->offset;
		if (coef < 1.0)
			for (size_t k = 0; k < te->numel; k++)
				g[k] = (float)(g[k] * coef);
		adamw_update(tg ? &t->st_t : &t->st_b, (tg ? m->train : m->base) + te->offset, g, te->offset,
		             te->numel, *lr_out, &h, tensor_decays(te));
		ops_ctx_weights_changed(w2v_fwd_ops(t->f), (tg ? m->train : m->base) + te->offset);
	}
out:
	return rc;
}

static int evaluate(T_ *t, double *loss, double *cer, double *wer, double *audio_s)
{
	int rc = 0;
	metrics_accum ma;
	metrics_accum_init(&ma);
	double ls = 0, *bl = NULL;
	int n = 0;
	/* mpirun: rank r decodes dev buckets r, r+W, ...; the bucket losses
	 * come together exactly (one contributor each) and are summed in
	 * bucket order, the edit counts are integers */
	int W = dist_size(), me = dist_rank();
	if (W > 1 && !(bl = calloc(t->ndb + 1, sizeof *bl))) {
		rc = err_set(ACC_ENOMEM, "out of memory");
		goto out;
	}
	for (int i = 0; i < t->ndb; i++) {
		double l = 0;
		if (i % W != me)
			continue;
		TRY(run_batch(t, &t->db[i], 0, &l, &ma, audio_s));
		if (bl)
			bl[i] = l;
		ls += l * t->db[i].n;
		n += t->db[i].n;
	}
	if (bl) {
		bl[t->ndb] = *audio_s;
		TRY(dist_sum_f64(bl, t->ndb + 1));
		TRY(trainer_dist_metrics_sum(&ma));
		*audio_s = bl[t->ndb];
		ls = 0;
		n = 0;
		for (int i = 0; i < t->ndb; i++) {
			ls += bl[i] * t->db[i].n;
			n += t->db[i].n;
		}
	}
	*loss = n ? ls / n : NAN;
	*cer = metrics_accum_cer(&ma);
	*wer = metrics_accum_wer(&ma);
out:
	free(bl);
	return rc;
}

/* ---- checkpoint ---- */
static int save_checkpoint(T_ *t, int full_model)
{
	if (dist_rank() > 0)
		return 0;   /* rank 0 writes (mpirun) */
	const trainer_opts *o = t->o;
	char path[4096], name[256];
	int rc;
	int has_adapters = t->m->cfg.do_stable_layer_norm && t->m->cfg.adapter_attn_dim > 0;
	/* without adapter layers (base layout) the trained head lives in model.safetensors */
	if (full_model || !has_adapters)
		TRY(w2v_save(t->m, o->out_dir, W2V_SAVE_F32));
	snprintf(name, sizeof name, "adapter.%s.safetensors", o->lang);
	fs_join(path, sizeof path, o->out_dir, name);
	if (has_adapters)
		TRY(w2v_save_adapter(t->m, path));
	TRY(w2v_config_write(&t->m->cfg, t->m->config_json, o->out_dir));
	fs_join(path, sizeof path, o->out_dir, "vocab.json");
	if (!fs_exists(path)) {
		/* start from the model's nested vocab.json so other languages stay */
		char src[4096], *data = NULL;
		size_t len = 0;
		char **langs = NULL;
		int nl = 0;
		fs_join(src, sizeof src, o->model_dir, "vocab.json");
		if (fs_exists(src) && vocab_languages(src, &langs, &nl) == 0 && nl > 0 &&
		    fs_read_all(src, &data, &len, (size_t)64 << 20) == 0) {
			rc = fs_write_atomic(path, data, len);
			free(data);
			if (rc)
				goto out;
		}
		for (int i = 0; i < nl; i++)
			free(langs[i]);
		free(langs);
	}
	TRY(vocab_save_merged(t->v, path, o->lang));
out:
	return rc;
}

/* ---- resume state ---- */
#define STATE_MAGIC "ACCTRST1"
typedef struct {
	char     magic[8];
	int64_t  step, best_step, adam_step_t, adam_step_b, skipped_total, train_run_id, steps;
	uint64_t rng, seed, train_numel, base_numel;
	double   best_cer, best_wer, best_loss, lr;
	int32_t  bad_evals, base_from, vocab, bottleneck;
} state_hdr;

/* The run's progress into a header (the fields a resume restores and the
 * identity a resume checks) ... */
static void state_to_hdr(const T_ *t, state_hdr *h)
{
	memset(h, 0, sizeof *h);
	memcpy(h->magic, STATE_MAGIC, 8);
	h->step = t->step;
	h->best_step = t->best_step;
	h->adam_step_t = t->st_t.step;
	h->adam_step_b = t->st_b.step;
	h->skipped_total = t->skipped_total;
	h->train_run_id = t->train_run_id;
	h->steps = t->o->steps;
	h->rng = t->rng;
	h->seed = t->o->seed;
	h->train_numel = t->m->train_numel;
	h->base_numel = t->base_trains ? t->m->base_numel : 0;
	h->best_cer = t->best_cer;
	h->best_wer = t->best_wer;
	h->best_loss = t->best_loss;
	h->lr = t->o->lr;
	h->bad_evals = t->bad_evals;
	h->base_from = t->o->base_from;
	h->vocab = t->m->cfg.vocab_size;
	h->bottleneck = t->m->cfg.adapter_attn_dim;
}

/* ... and back: the progress fields only (load_state, share_state). */
static void state_from_hdr(T_ *t, const state_hdr *h)
{
	t->step = h->step;
	t->best_step = h->best_step;
	t->st_t.step = h->adam_step_t;
	t->st_b.step = h->adam_step_b;
	t->skipped_total = h->skipped_total;
	t->train_run_id = h->train_run_id;
	t->rng = h->rng;
	t->best_cer = h->best_cer;
	t->best_wer = h->best_wer;
	t->best_loss = h->best_loss;
	t->bad_evals = h->bad_evals;
}

static int write_floats(FILE *fp, const float *p, size_t n)
{
	return fwrite(p, sizeof(float), n, fp) == n ? 0 : -1;
}

static int save_state(T_ *t)
{
	char path[4096], tmp[4096];
	FILE *fp = NULL;
	int rc;
	if (dist_rank() > 0)
		return 0;   /* rank 0 writes (mpirun) */
	fs_join(path, sizeof path, t->o->out_dir, "train_state.bin");
	if ((rc = fs_open_tmp(path, tmp, &fp)))
		return rc;
	state_hdr h;
	state_to_hdr(t, &h);
	int bad = fwrite(&h, sizeof h, 1, fp) != 1;
	bad |= write_floats(fp, t->m->train, h.train_numel);
	bad |= write_floats(fp, t->st_t.m, h.train_numel);
	bad |= write_floats(fp, t->st_t.v, h.train_numel);
	if (h.base_numel) {
		bad |= write_floats(fp, t->m->base, h.base_numel);
		bad |= write_floats(fp, t->st_b.m, h.base_numel);
		bad |= write_floats(fp, t->st_b.v, h.base_numel);
	}
	if (bad) {
		fs_abort_tmp(fp, tmp);
		return err_set(ACC_EIO, "cannot write %s", tmp);
	}
	return fs_commit_tmp(fp, tmp, path);
}

static int read_floats(FILE *fp, float *p, size_t n)
{
	return fread(p, sizeof(float), n, fp) == n ? 0 : -1;
}

static int load_state(T_ *t)
{
	char path[4096];
	int rc = 0;
	if (dist_rank() > 0)
		return 0;   /* rank 0 reads, share_state() hands it on */
	fs_join(path, sizeof path, t->o->out_dir, "train_state.bin");
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return err_set(ACC_ENOTFOUND, "no resume state %s", path);
	state_hdr h;
	if (fread(&h, sizeof h, 1, fp) != 1 || memcmp(h.magic, STATE_MAGIC, 8)) {
		rc = err_set(ACC_EFORMAT, "%s is not a training state file", path);
		goto out;
	}
	if (h.train_numel != t->m->train_numel || h.base_numel != (t->base_trains ? t->m->base_numel : 0) ||
	    h.base_from != t->o->base_from || h.vocab != t->m->cfg.vocab_size ||
	    h.bottleneck != t->m->cfg.adapter_attn_dim || h.seed != t->o->seed || h.steps != t->o->steps ||
	    h.lr != t->o->lr) {
		rc = err_set(ACC_EINVAL, "%s was written by a run with other options (steps, lr, seed, strategy, "
		             "vocabulary or adapter size differ)", path);
		err_hint("resume with the options of the interrupted run, or use another --out directory");
		goto out;
	}
	int bad = read_floats(fp, t->m->train, h.train_numel);
	bad |= read_floats(fp, t->st_t.m, h.train_numel);
	bad |= read_floats(fp, t->st_t.v, h.train_numel);
	if (h.base_numel) {
		bad |= read_floats(fp, t->m->base, h.base_numel);
		bad |= read_floats(fp, t->st_b.m, h.base_numel);
		bad |= read_floats(fp, t->st_b.v, h.base_numel);
	}
	if (bad) {
		rc = err_set(ACC_EFORMAT, "%s is truncated", path);
		goto out;
	}
	state_from_hdr(t, &h);
out:
	fclose(fp);
	return rc;
}

/* ---- manifest tables ---- */
static const char *strategy_name(const T_ *t, char *buf, size_t cap)
{
	int L = t->m->cfg.num_hidden_layers, bf = t->o->base_from;
	if (bf >= L)
		snprintf(buf, cap, "adapters");
	else if (bf > 0)
		snprintf(buf, cap, "top:%d", L - bf);
	else
		snprintf(buf, cap, bf < 0 ? "full+conv" : "full");
	return buf;
}

static const char *sampling_name(train_sampling s)
{
	return s == TRAIN_SAMPLE_UNIFORM ? "uniform" : s == TRAIN_SAMPLE_WEIGHTED_LOSS ? "weighted-loss" : "balanced";
}

static int db_run_insert(T_ *t)
{
	const trainer_opts *o = t->o;
	sqlite3_stmt *st = NULL;
	char sn[32];
	if (dist_rank() > 0)
		return 0;   /* rank 0 writes (mpirun) */
	/* A run still 'running' into the same output directory was killed (a
	 * live one would be overwriting this run's files): say so, else the
	 * row stays 'running' forever. */
	int rc = manifest_prepare(t->mf, "UPDATE train_runs SET status = 'interrupted' WHERE status = 'running' AND out_dir = ?1",
				  &st);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, o->out_dir, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = manifest_db_error(t->mf, "cannot mark interrupted training runs");
	sqlite3_finalize(st);
	st = NULL;
	if (rc)
		return rc;
	rc = manifest_prepare(t->mf,
		"INSERT INTO train_runs (run_id, lang, model_dir, out_dir, strategy, bottleneck, vocab_size, lr, "
		"steps, warmup, batch_seconds, accum, seed, sampling, n_train, n_dev) "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)", &st);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, t->run_id);
	sqlite3_bind_text(st, 2, o->lang, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, o->model_dir, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, o->out_dir, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, strategy_name(t, sn, sizeof sn), -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 6, t->m->cfg.adapter_attn_dim);
	sqlite3_bind_int(st, 7, t->m->cfg.vocab_size);
	sqlite3_bind_double(st, 8, o->lr);
	sqlite3_bind_int64(st, 9, o->steps);
	sqlite3_bind_int64(st, 10, o->warmup);
	sqlite3_bind_double(st, 11, o->batch_seconds);
	sqlite3_bind_int(st, 12, o->accum);
	sqlite3_bind_int64(st, 13, (sqlite3_int64)o->seed);
	sqlite3_bind_text(st, 14, sampling_name(o->sampling), -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 15, t->n_train);
	sqlite3_bind_int(st, 16, t->n_dev);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = manifest_db_error(t->mf, "cannot record the training run");
	else
		t->train_run_id = sqlite3_last_insert_rowid(t->mf->db);
	sqlite3_finalize(st);
	return rc;
}

static int db_metric(T_ *t, const char *split, double loss, double cer, double wer, double lr,
                     double gnorm, double audio_s, int skipped)
{
	if (dist_rank() > 0)
		return 0;   /* rank 0 writes (mpirun) */
	sqlite3_stmt *st = NULL;
	int rc = manifest_prepare(t->mf,
		"INSERT OR REPLACE INTO train_metrics (train_run_id, step, split, loss, cer, wer, lr, grad_norm, "
		"audio_s, skipped) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)", &st);
	if (rc)
		return rc;
	double v[6] = { loss, cer, wer, lr, gnorm, audio_s };
	sqlite3_bind_int64(st, 1, t->train_run_id);
	sqlite3_bind_int64(st, 2, t->step);
	sqlite3_bind_text(st, 3, split, -1, SQLITE_STATIC);
	for (int i = 0; i < 6; i++)
		if (isfinite(v[i]))
			sqlite3_bind_double(st, 4 + i, v[i]);
	sqlite3_bind_int(st, 10, skipped);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = manifest_db_error(t->mf, "cannot record a training metric");
	sqlite3_finalize(st);
	return rc;
}

static int db_run_update(T_ *t, const char *status)
{
	if (dist_rank() > 0)
		return 0;   /* rank 0 writes (mpirun) */
	sqlite3_stmt *st = NULL;
	int rc = manifest_prepare(t->mf,
		"UPDATE train_runs SET steps_done = ?2, skipped = ?3, best_step = ?4, best_dev_cer = ?5, "
		"best_dev_wer = ?6, status = ?7, updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE id = ?1", &st);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, t->train_run_id);
	sqlite3_bind_int64(st, 2, t->step);
	sqlite3_bind_int64(st, 3, t->skipped_total);
	if (t->best_step >= 0) {
		sqlite3_bind_int64(st, 4, t->best_step);
		sqlite3_bind_double(st, 5, t->best_cer);
		sqlite3_bind_double(st, 6, t->best_wer);
	}
	sqlite3_bind_text(st, 7, status, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = manifest_db_error(t->mf, "cannot update the training run");
	sqlite3_finalize(st);
	return rc;
}

/* ---- ranks (mpirun -np N; lib/base/dist.h): only rank 0 touches the manifest
 * and the output directory, and hands what it read to the others ---- */

/* Append n bytes to a growing buffer. */
static int pack(char **b, size_t *len, size_t *cap, const void *p, size_t n)
{
	if (*len + n > *cap) {
		size_t nc = (*len + n) * 2 + 4096;
		char *nb = realloc(*b, nc);
		if (!nb)
			return err_set(ACC_ENOMEM, "out of memory");
		*b = nb;
		*cap = nc;
	}
	memcpy(*b + *len, p, n);
	*len += n;
	return 0;
}

/* Rank 0's utterance list (load_data) to every rank. */
static int share_data(T_ *t)
{
	if (dist_size() <= 1)
		return 0;
	char *b = NULL;
	size_t len = 0, cap = 0, at = 0;
	int rc = 0;
	if (dist_rank() == 0)
		for (int i = 0; i < t->nu && !rc; i++) {
			const utt *u = &t->u[i];
			int32_t dev = u->dev;
			rc = pack(&b, &len, &cap, &u->id, sizeof u->id);
			if (!rc) rc = pack(&b, &len, &cap, &u->start, sizeof u->start);
			if (!rc) rc = pack(&b, &len, &cap, &u->end, sizeof u->end);
			if (!rc) rc = pack(&b, &len, &cap, &u->weight, sizeof u->weight);
			if (!rc) rc = pack(&b, &len, &cap, &dev, sizeof dev);
			if (!rc) rc = pack(&b, &len, &cap, u->path, strlen(u->path) + 1);
			if (!rc) rc = pack(&b, &len, &cap, u->text, strlen(u->text) + 1);
		}
	if (rc || (rc = dist_bcast_blob(&b, &len, 0)) || dist_rank() == 0)
		goto out;
	size_t fixed = sizeof(int64_t) + 3 * sizeof(double) + sizeof(int32_t);
	while (at < len) {
		utt u;
		memset(&u, 0, sizeof u);
		const char *p = b + at, *path, *text;
		int32_t dev;
		if (len - at < fixed + 2 || !(path = memchr(p + fixed, 0, len - at - fixed)) ||
		    !(text = memchr(path + 1, 0, b + len - path - 1))) {
			rc = err_set(ACC_EINTERNAL, "malformed utterance list from rank 0");
			goto out;
		}
		memcpy(&u.id, p, sizeof u.id);
		memcpy(&u.start, p + 8, sizeof u.start);
		memcpy(&u.end, p + 16, sizeof u.end);
		memcpy(&u.weight, p + 24, sizeof u.weight);
		memcpy(&dev, p + 32, sizeof dev);
		u.dev = dev;
		u.path = strdup(p + fixed);
		u.text = strdup(path + 1);
		at = (size_t)(text + 1 - b);
		utt *nu = realloc(t->u, sizeof *nu * (t->nu + 1));
		if (!nu || !u.path || !u.text) {
			free(u.path);
			free(u.text);
			if (nu)
				t->u = nu;
			rc = err_set(ACC_ENOMEM, "out of memory: utterance list");
			goto out;
		}
		t->u = nu;
		t->u[t->nu++] = u;
		if (u.dev)
			t->n_dev++;
		else
			t->n_train++;
	}
out:
	free(b);
	return rc;
}

/* Rank 0's resume state (load_state) to every rank. */
static int share_state(T_ *t)
{
	if (dist_size() <= 1)
		return 0;
	state_hdr h;
	state_to_hdr(t, &h);
	size_t nt = t->m->train_numel, nb = t->base_trains ? t->m->base_numel : 0;
	int rc = dist_bcast(&h, sizeof h, 0);
	if (!rc) rc = dist_bcast(t->m->train, sizeof(float) * nt, 0);
	if (!rc) rc = dist_bcast(t->st_t.m, sizeof(float) * nt, 0);
	if (!rc) rc = dist_bcast(t->st_t.v, sizeof(float) * nt, 0);
	if (!rc && nb) rc = dist_bcast(t->m->base, sizeof(float) * nb, 0);
	if (!rc && nb) rc = dist_bcast(t->st_b.m, sizeof(float) * nb, 0);
	if (!rc && nb) rc = dist_bcast(t->st_b.v, sizeof(float) * nb, 0);
	if (rc)
		return rc;
	state_from_hdr(t, &h);
	return 0;
}

/* ---- the run ---- */
static void t_free(T_ *t)
{
	for (int i = 0; i < t->nu; i++) {
		free(t->u[i].path);
		free(t->u[i].text);
		free(t->u[i].ids);
		free(t->u[i].audio);
	}
	free(t->u);
	for (int i = 0; i < t->ntb; i++)
		free(t->tb[i].idx);
	for (int i = 0; i < t->ndb; i++)
		free(t->db[i].idx);
	free(t->tb);
	free(t->db);
	free(t->cum);
	free(t->gtrain);
	free(t->gtmp_t);
	free(t->gbase);
	free(t->gtmp_b);
	adamw_free(&t->st_t);
	adamw_free(&t->st_b);
	free(t->x);
	free(t->dlog);
	free(t->len);
	trainer_dist_free(t->dg);
	w2v_bwd_free(t->bk);
	w2v_fwd_free(t->f);
	w2v_free(t->m);
	vocab_free(t->v);
	manifest_close(t->mf);
}

int trainer_run(const trainer_opts *o, trainer_result *res)
{
	int rc = 0;
	T_ t;
	memset(&t, 0, sizeof t);
	memset(res, 0, sizeof *res);
	res->best_cer = res->best_wer = res->best_loss = NAN;
	res->first_loss = res->last_loss = NAN;
	t.o = o;
	t.best_cer = t.best_wer = t.best_loss = INFINITY;
	t.best_step = -1;
	t.run_id = 0;
	trainer_opts oo = *o;        /* resolved defaults */
	t.o = &oo;
	if (!o->manifest || !o->model_dir || !o->lang || !o->out_dir)
		return err_set(ACC_EINVAL, "training needs a manifest, a model directory, a language and an output directory");
	if (o->steps <= 0 || !(o->lr > 0) || o->accum <= 0 || !(o->batch_seconds > 0))
		return err_set(ACC_EINVAL, "steps, lr, accum and batch seconds must be positive");
	if (!*o->lang || strchr(o->lang, '/') || strlen(o->lang) > 32)
		return err_set(ACC_EINVAL, "bad language code '%s'", o->lang);
	if (oo.warmup < 0)
		oo.warmup = oo.steps / 10;
	if (oo.save_every <= 0)
		oo.save_every = oo.eval_every > 0 ? oo.eval_every : 100;
	if (dist_rank() == 0) {   /* mpirun: the others get the data from rank 0 */
		if (!o->eval_only)
			TRY(fs_mkdir_p(o->out_dir));
		TRY(manifest_open(&t.mf, o->manifest, 0));
		if (!o->eval_only)
			TRY(manifest_run_begin(t.mf, "train", o->argc, o->argv, &t.run_id));
		TRY(load_data(&t));
	}
	TRY(share_data(&t));
	int from_model = 0;
	TRY(setup_vocab(&t, &from_model));
	if (t.n_train == 0) {
		rc = explain_no_train(&t);
		goto out;
	}
	if (t.n_dev == 0 && !o->eval_only) {
		/* printed even with --quiet: without dev there is no validation */
		fprintf(stderr, "warning: no usable dev utterances%s%s%s: no validation, no early stopping and no best "
		        "checkpoint; the last step's weights are saved\n", o->data_lang ? " of language '" : "",
		        o->data_lang ? o->data_lang : "", o->data_lang ? "'" : "");
		fprintf(stderr, "hint: assign a dev split with `db split`\n");
	}
	TRY(setup_model(&t, from_model));
	int L = t.m->cfg.num_hidden_layers;
	if (oo.base_from <= TRAINER_TOP(0)) {
		int K = TRAINER_TOP(0) - oo.base_from;
		oo.base_from = L - K > 0 ? L - K : 0;
	}
	if (oo.base_from > L)
		oo.base_from = L;
	t.base_trains = oo.base_from < L;
	if (!o->eval_only) {
		TRY(setup_reg(&oo, t.m, &t.reg));
		t.reg_on = w2v_reg_active(&t.reg);
	}
	TRY(w2v_fwd_create(&t.f, t.m, W2V_FWD_TRAIN | (oo.base_from < 0 ? W2V_FWD_TRAIN_FEAT : 0) |
	                              (o->bf16 ? W2V_FWD_BF16 : 0)));
	w2v_fwd_set_frozen_below(t.f, oo.base_from);   /* frozen layers keep only what their input gradient needs */
	/* every bucket's padded shape recurs each epoch: keep all their
	 * primitives (forward + backward, ~40 per shape) */
	ops_ctx_set_cache_max(w2v_fwd_ops(t.f), TRAINER_PRIM_CACHE);
	TRY(w2v_bwd_create(&t.bk));
	TRY(make_buckets(&t, 0, &t.tb, &t.ntb));
	TRY(make_buckets(&t, 1, &t.db, &t.ndb));
	if (o->eval_only) {
		double as = 0;
		res->n_train = t.n_train;
		res->n_dev = t.n_dev;
		if (t.ndb == 0) {
			rc = err_set(ACC_ENOTFOUND, "no dev utterances in %s", o->manifest);
			goto out;
		}
		TRY(evaluate(&t, &t.best_loss, &t.best_cer, &t.best_wer, &as));
		t.best_step = 0;
		goto out;
	}
	if (!(t.cum = malloc(sizeof(double) * t.ntb))) {
		rc = err_set(ACC_ENOMEM, "out of memory");
		goto out;
	}
	for (int i = 0; i < t.ntb; i++)
		t.cum[i] = (i ? t.cum[i - 1] : 0) + t.tb[i].weight;
	if (!(t.cum[t.ntb - 1] > 0)) {
		rc = err_set(ACC_EINVAL, "every train utterance has weight 0");
		err_hint("recompute weights with `db weights` or use --sampling uniform");
		goto out;
	}
	size_t nt = t.m->train_numel, nb = t.base_trains ? t.m->base_numel : 0;
	t.gtrain = calloc(nt, sizeof(float));
	t.gtmp_t = calloc(nt, sizeof(float));
	if (nb) {
		t.gbase = calloc(nb, sizeof(float));
		t.gtmp_b = calloc(nb, sizeof(float));
	}
	if (!t.gtrain || !t.gtmp_t || (nb && (!t.gbase || !t.gtmp_b))) {
		rc = err_set(ACC_ENOMEM, "out of memory: gradient blocks");
		goto out;
	}
	TRY(adamw_init(&t.st_t, nt));
	if (nb)
		TRY(adamw_init(&t.st_b, nb));
	if (dist_size() > 1)
		TRY(trainer_dist_create(&t.dg, nt, nb));
	t.rng = o->seed * 0x2545f4914f6cdd1dull + 1;
	if (o->resume) {
		TRY(load_state(&t));
		TRY(share_state(&t));
		TRY(db_run_update(&t, "running"));
	} else {
		TRY(db_run_insert(&t));
		/* the base model (with the initial adapter) once: a complete HF directory */
		TRY(save_checkpoint(&t, 1));
	}
	/* bf16 adapter training: the frozen base is only ever read through its
	 * bf16 packings, and nothing saves it again (written whole above, or by
	 * the run being resumed): keep it once, in bf16 */
	if (o->bf16 && !t.base_trains && t.m->cfg.do_stable_layer_norm && t.m->cfg.adapter_attn_dim > 0)
		TRY(w2v_fwd_release_frozen(t.f, t.m));
	res->n_train = t.n_train;
	res->n_dev = t.n_dev;
	res->train_run_id = t.train_run_id;
	progress pg;
	progress_init(&pg, "train", "steps", oo.steps);
	if (o->quiet)
		pg.enabled = 0;
	progress_add(&pg, t.step);
	double t0 = progress_now();
	int64_t done_here = 0;
	const char *status = "done";
	char line[256];
	double dcer = NAN, dwer = NAN;
	while (t.step < oo.steps) {
		double loss, gn, lr, as = 0;
		int sk = 0;
		TRY(train_step(&t, &loss, &gn, &lr, &sk, &as));
		t.step++;
		done_here++;
		t.skipped_total += sk;
		res->skipped += sk;
		res->audio_s += as;
		if (done_here == 1)
			res->first_loss = loss;
		if (isfinite(loss))
			res->last_loss = loss;
		if (sk && !o->quiet)
			fprintf(stderr, "\rtrain: step %lld: %d micro-batch(es) with a NaN/Inf loss or gradient skipped\n",
			        (long long)t.step, sk);
		TRY(db_metric(&t, "train", loss, NAN, NAN, lr, gn, as, sk));
		int last = t.step == oo.steps, evaluated = 0;
		if ((oo.eval_every > 0 && t.step % oo.eval_every == 0) || last) {
			double dl = NAN, das = 0;
			if (t.ndb > 0) {
				evaluated = 1;
				TRY(evaluate(&t, &dl, &dcer, &dwer, &das));
				TRY(db_metric(&t, "dev", dl, dcer, dwer, NAN, NAN, das, 0));
				int cmp = trainer_eval_compare(t.best_cer, t.best_loss, dcer, dl);
				if (cmp == TRAINER_EVAL_BEST) {
					t.best_cer = dcer;
					t.best_wer = dwer;
					t.best_loss = dl;
					t.best_step = t.step;
					t.bad_evals = 0;
					TRY(save_checkpoint(&t, t.base_trains));
				} else if (cmp == TRAINER_EVAL_PROGRESS) {
					t.bad_evals = 0;   /* all-blank phase, loss still falling */
				} else {
					t.bad_evals++;
				}
			} else if (last) {
				/* no dev split: the last weights are the checkpoint */
				t.best_step = t.step;
				TRY(save_checkpoint(&t, t.base_trains));
			}
		}
		snprintf(line, sizeof line, "loss %.4g, lr %.3g, %.1f audio s/s, dev CER %.1f%% WER %.1f%%",
		         loss, lr, res->audio_s / fmax(progress_now() - t0, 1e-9), 100 * dcer, 100 * dwer);
		progress_status(&pg, line);
		progress_add(&pg, 1);
		if (evaluated)
			progress_mark(&pg);   /* plain logs get a line at every evaluation */
		int stop_early = oo.patience > 0 && t.bad_evals >= oo.patience;
		int stop_here = o->stop_after > 0 && done_here >= o->stop_after;
		if (t.step % oo.save_every == 0 || last || stop_early || stop_here) {
			TRY(save_state(&t));
			TRY(db_run_update(&t, last ? "done" : stop_early ? "early_stopped" : "running"));
		}
		if (stop_early) {
			status = "early_stopped";
			res->early_stopped = 1;
			break;
		}
		if (stop_here && !last) {
			status = "stopped";
			break;
		}
	}
	progress_done(&pg);
	res->wall_s = progress_now() - t0;
	TRY(db_run_update(&t, status));
out:
	res->steps_done = t.step;
	if (t.best_step >= 0) {
		res->best_cer = t.best_cer;
		res->best_wer = t.best_wer;
		res->best_loss = t.best_loss;
	}
	res->best_step = t.best_step;
	if (t.mf && t.run_id > 0) {
		char counts[256];
		snprintf(counts, sizeof counts,
		         "{\"steps\":%lld,\"skipped\":%lld,\"train_utterances\":%d,\"dev_utterances\":%d,"
		         "\"precision\":\"%s\"}",
		         (long long)t.step, (long long)t.skipped_total, t.n_train, t.n_dev, o->bf16 ? "bf16" : "fp32");
		if (rc && t.train_run_id > 0)
			db_run_update(&t, "failed");
		manifest_run_end(t.mf, t.run_id, rc ? err_exit_code(rc) : 0, counts);
	}
	if (rc)
		err_wrap(rc, "train");
	t_free(&t);
	return rc;
}
