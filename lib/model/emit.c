/*
 * emit.c — the one emitter (see emit.h): load a model directory (with the
 * language's adapter when the model has them) and turn 16 kHz audio into
 * log-probabilities; the greedy best path; and the model identity.
 */
#include "model/emit.h"
#include "audio/audio.h"
#include "base/dist.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "model/w2v.h"
#include "model/w2v_infer.h"
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "base/banned.h"

/* Clips up to this long run as one forward pass; longer audio is windowed. */
#define EMIT_WHOLE_MAX_S 40.0

typedef struct emit_ctx {
	w2v_model *m;
	w2v_infer *wi;
} emit_ctx;

static int emit_fn(void *arg, const float *x, int64_t n, float **lp, int64_t *T)
{
	emit_ctx *c = arg;
	int V = c->m->cfg.vocab_size, rc;
	*lp = NULL;
	*T = 0;
	if (w2v_config_frames(&c->m->cfg, n) <= 0)
		return 0;
	if ((double)n / AUDIO_RATE > EMIT_WHOLE_MAX_S)
		return w2v_infer_long_buf(c->wi, x, n, 0, -1, lp, T);
	const float *wav[1] = { x };
	int64_t len[1] = { n };
	if ((rc = w2v_infer_batch(c->wi, wav, len, 1)))
		return rc;
	int t = 0;
	const float *e = w2v_infer_emissions(c->wi, 0, &t);
	if (t <= 0)
		return 0;
	if (!(*lp = malloc(sizeof(float) * (size_t)t * V)))
		return err_set(ACC_ENOMEM, "align: out of memory for emissions");
	memcpy(*lp, e, sizeof(float) * (size_t)t * V);
	*T = t;
	return 0;
}

static void emit_close(void *arg)
{
	emit_ctx *c = arg;
	if (!c)
		return;
	w2v_infer_free(c->wi);
	w2v_free(c->m);
	free(c);
}

int emitter_open(emitter *e, const char *dir, const char *lang, w2v_precision prec)
{
	int rc;
	memset(e, 0, sizeof *e);
	emit_ctx *c = calloc(1, sizeof *c);
	if (!c)
		return err_set(ACC_ENOMEM, "out of memory");
	e->precision = w2v_precision_resolve(prec, e->precision_why, sizeof e->precision_why);
	/* Under mpirun every rank must compute in the same precision (rank 0
	 * writes all ranks' rows as one run): `auto` times the CPU in each
	 * process, and ranks sharing cores can measure different verdicts, so
	 * rank 0's choice and reason are the run's. */
	if (dist_size() > 1) {
		int32_t p32 = (int32_t)e->precision;
		if ((rc = dist_bcast(&p32, sizeof p32, 0)) ||
		    (rc = dist_bcast(e->precision_why, sizeof e->precision_why, 0)))
			goto fail;
		e->precision = (w2v_precision)p32;
	}
	/* adapter or a clear "no adapter for the language" (shared with
	 * transcribe); bf16/int8 keep the weights once, packed (lean) */
	if ((rc = w2v_infer_load(&c->wi, &c->m, dir, lang, w2v_precision_flags(e->precision), 1)))
		goto fail;
	e->V = c->m->cfg.vocab_size;
	e->blank = c->m->cfg.pad_token_id;
	e->emit = emit_fn;
	e->close = emit_close;
	e->ctx = c;
	return 0;
fail:
	emit_close(c);
	return rc;
}

void emitter_close(emitter *e)
{
	if (e && e->close)
		e->close(e->ctx);
	if (e)
		memset(e, 0, sizeof *e);
}

void emit_greedy(const float *lp, int64_t T, int V, int64_t stride, int *ids)
{
	for (int64_t t = 0; t < T; t++) {
		const float *r = lp + t * stride;
		int best = 0;
		for (int v = 1; v < V; v++)
			if (r[v] > r[best])
				best = v;
		ids[t] = best;
	}
}

/* Hash "<name>:<size>:" and the first max_bytes of path into h; a missing
 * file is ACC_ENOTFOUND when required, else skipped. */
static int hash_file(EVP_MD_CTX *h, const char *path, size_t max_bytes, int required)
{
	struct stat st;
	if (stat(path, &st)) {
		if (required)
			return err_set(ACC_ENOTFOUND, "'%s' does not exist", path);
		return 0;
	}
	FILE *f = fopen(path, "rb");
	if (!f)
		return err_set(ACC_EIO, "cannot read '%s'", path);
	char head[64];
	const char *base = strrchr(path, '/');
	int hl = snprintf(head, sizeof head, "%s:%lld:", base ? base + 1 : path, (long long)st.st_size);
	EVP_DigestUpdate(h, head, hl);
	char buf[65536];
	size_t got, total = 0;
	while (total < max_bytes && (got = fread(buf, 1, sizeof buf < max_bytes - total ? sizeof buf : max_bytes - total, f)) > 0) {
		EVP_DigestUpdate(h, buf, got);
		total += got;
	}
	fclose(f);
	return 0;
}

int emit_model_id(const char *dir, const char *lang, char hex[65])
{
	char p[4096];
	int rc = 0;
	EVP_MD_CTX *h = EVP_MD_CTX_new();
	if (!h || !EVP_DigestInit_ex(h, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(h);
		return err_set(ACC_EINTERNAL, "align: cannot initialize SHA-256");
	}
	const size_t all = (size_t)1 << 40, mib = 1 << 20;
	if ((rc = fs_join(p, sizeof p, dir, "config.json")) || (rc = hash_file(h, p, all, 1)))
		goto out;
	if ((rc = fs_join(p, sizeof p, dir, "vocab.json")) || (rc = hash_file(h, p, all, 0)))
		goto out;
	if (lang) {
		char name[256];
		snprintf(name, sizeof name, "adapter.%s.safetensors", lang);
		if ((rc = fs_join(p, sizeof p, dir, name)) || (rc = hash_file(h, p, all, 0)))
			goto out;
	}
	if ((rc = fs_join(p, sizeof p, dir, "model.safetensors")))
		goto out;
	if (fs_exists(p)) {
		rc = hash_file(h, p, mib, 1);
	} else {
		/* sharded: the index names the shards; hash it and each shard */
		char *idx = NULL;
		size_t len;
		if ((rc = fs_join(p, sizeof p, dir, "model.safetensors.index.json")) || (rc = fs_read_all(p, &idx, &len, 64 << 20)))
			goto out;
		EVP_DigestUpdate(h, idx, len);
		json_t *j = json_loadb(idx, len, 0, NULL);
		free(idx);
		json_t *wm = j ? json_object_get(j, "weight_map") : NULL;
		const char *k;
		json_t *val;
		char seen[64][256];
		int ns = 0;
		json_object_foreach(wm, k, val) {
			const char *f = json_string_value(val);
			int dup = 0;
			for (int i = 0; f && i < ns; i++)
				dup |= !strcmp(seen[i], f);
			if (!f || dup || ns == 64 || strchr(f, '/'))
				continue;
			snprintf(seen[ns++], 256, "%s", f);
			if ((rc = fs_join(p, sizeof p, dir, f)) || (rc = hash_file(h, p, mib, 1)))
				break;
		}
		json_decref(j);
	}
	if (!rc && lang)
		EVP_DigestUpdate(h, lang, strlen(lang));
out:
	if (!rc) {
		unsigned char md[32];
		unsigned mdl = 0;
		EVP_DigestFinal_ex(h, md, &mdl);
		fs_hex(md, 32, hex);
	}
	EVP_MD_CTX_free(h);
	return rc;
}
