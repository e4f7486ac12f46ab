/*
 * lm_build.c — interpolated modified Kneser-Ney estimation (see lm_build.h
 * for the formulas).  All counts are held in memory: one hash table per
 * order over word-id tuples, which is ample for the transcript corpora of
 * speech datasets (millions of words).
 */
#include "decode/lm_build.h"
#include "base/err.h"
#include "base/fsutil.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/banned.h"

typedef struct ngtab {
	uint64_t  count, cap;
	int32_t  *ids;        /* count * n */
	uint64_t *raw;        /* raw occurrence counts */
	uint32_t *index;      /* entry + 1, 0 = empty */
	uint64_t  mask;
} ngtab;

struct lm_build {
	int      order;
	arpa    *lm;          /* vocabulary (and, once estimated, the model) */
	ngtab    t[ARPA_MAX_ORDER];
	int32_t  bos, eos, unk;
	uint64_t sentences, tokens;
	int32_t *sent; size_t sent_cap;
};

static int64_t ng_find(const ngtab *t, int n, const int32_t *ids)
{
	return arpa_index_find(t->index, t->mask, t->ids, n, ids);
}

/* Add `by` to the raw count of ids (inserting it with 0 first). */
static int ng_add(ngtab *t, int n, const int32_t *ids, uint64_t by)
{
	int64_t e = ng_find(t, n, ids);
	if (e >= 0) {
		t->raw[e] += by;
		return 0;
	}
	if (t->count + 1 >= UINT32_MAX / 2)
		return err_set(ACC_EUNSUPPORTED, "more than %u distinct %d-grams", UINT32_MAX / 2, n);
	if (t->count == t->cap) {
		uint64_t cap = t->cap ? t->cap * 2 : 1024;
		int32_t *ids2 = realloc(t->ids, cap * n * sizeof *ids2);
		if (!ids2)
			return err_set(ACC_ENOMEM, "out of memory counting %d-grams", n);
		t->ids = ids2;
		uint64_t *raw2 = realloc(t->raw, cap * sizeof *raw2);
		if (!raw2)
			return err_set(ACC_ENOMEM, "out of memory counting %d-grams", n);
		t->raw = raw2;
		t->cap = cap;
	}
	if (!t->index || (t->count + 1) * 2 > t->mask + 1) {
		uint64_t slots = t->index ? (t->mask + 1) * 2 : 2048;
		if (arpa_index_rebuild(&t->index, &t->mask, slots, t->ids, t->count, n))
			return err_set(ACC_ENOMEM, "out of memory counting %d-grams", n);
	}
	uint64_t i = t->count++;
	memcpy(t->ids + i * n, ids, (size_t)n * sizeof *ids);
	t->raw[i] = by;
	arpa_index_put(t->index, t->mask, ids, n, i);
	return 0;
}

int lm_build_new(lm_build **out, int order)
{
	int rc;
	*out = NULL;
	lm_build *b = calloc(1, sizeof *b);
	if (!b)
		return err_set(ACC_ENOMEM, "out of memory");
	b->order = order;
	/* lmplz's vocabulary order: <unk>, <s>, </s>, then words as first seen. */
	if ((rc = arpa_new(&b->lm, order)) || (rc = arpa_add_word(b->lm, "<unk>", &b->unk)) ||
	    (rc = arpa_add_word(b->lm, "<s>", &b->bos)) || (rc = arpa_add_word(b->lm, "</s>", &b->eos)))
		goto fail;
	/* <unk> and <s> are unigrams of count 0: never seen as predicted words. */
	if ((rc = ng_add(&b->t[0], 1, &b->unk, 0)) || (rc = ng_add(&b->t[0], 1, &b->bos, 0)))
		goto fail;
	*out = b;
	return 0;
fail:
	lm_build_free(b);
	return rc;
}

void lm_build_free(lm_build *b)
{
	if (!b)
		return;
	for (int n = 0; n < ARPA_MAX_ORDER; n++) {
		free(b->t[n].ids);
		free(b->t[n].raw);
		free(b->t[n].index);
	}
	arpa_free(b->lm);
	free(b->sent);
	free(b);
}

int lm_build_add(lm_build *b, const char *sentence)
{
	size_t len = 2;   /* <s> ... </s> */
	int rc;
	char word[1024];
	if (!b->lm)
		return err_set(ACC_EINVAL, "lm_build_add after lm_build_estimate");
	/* Tokenize into b->sent = <s> w1 .. wk </s>. */
	const char *p = sentence, *w;
	size_t k = 1, wl;
	while ((w = arpa_next_word(&p, &wl))) {
		if (wl >= sizeof word)
			return err_set(ACC_EINVAL, "word of %zu bytes in a transcript (limit %zu)", wl, sizeof word - 1);
		memcpy(word, w, wl);
		word[wl] = 0;
		if (!strcmp(word, "<s>") || !strcmp(word, "</s>"))
			return err_set(ACC_EINVAL, "transcript contains the reserved word '%s'", word);
		if ((rc = ARRAY_GROW(b->sent, b->sent_cap, (size_t)k + 2)))
			return rc;
		if ((rc = arpa_add_word(b->lm, word, &b->sent[k])))
			return rc;
		k++;
	}
	if (k == 1)
		return 0;
	b->sent[0] = b->bos;
	b->sent[k++] = b->eos;
	len = k;
	/* Every n-gram inside the padded sentence that does not end at <s>. */
	for (size_t end = 1; end < len; end++)
		for (int n = 1; n <= b->order && (size_t)n <= end + 1; n++)
			if ((rc = ng_add(&b->t[n - 1], n, b->sent + end + 1 - n, 1)))
				return rc;
	b->sentences++;
	b->tokens += len - 2;
	return 0;
}

static double discount_of(const double D[3], uint64_t a)
{
	return a == 0 ? 0.0 : a == 1 ? D[0] : a == 2 ? D[1] : D[2];
}

int lm_build_estimate(lm_build *b, arpa **out, lm_build_stats *st)
{
	const int N = b->order;
	int rc = 0;
	uint64_t *adj[ARPA_MAX_ORDER] = { 0 };
	double *prob[ARPA_MAX_ORDER] = { 0 };
	/* Per context (an entry of order n-1, or the empty context for n = 1):
	 * sum of adjusted counts of its extensions and N1, N2, N3+. */
	double *csum[ARPA_MAX_ORDER] = { 0 };
	uint64_t *cn[ARPA_MAX_ORDER] = { 0 };   /* 3 per context */
	double D[ARPA_MAX_ORDER][3];
	lm_build_stats stats;
	*out = NULL;
	memset(&stats, 0, sizeof stats);
	if (!b->lm)
		return err_set(ACC_EINVAL, "lm_build_estimate called twice");
	if (!b->sentences)
		return err_set(ACC_EINVAL, "no training sentences: the language model needs at least one non-empty transcript");
	stats.order = N;
	stats.sentences = b->sentences;
	stats.tokens = b->tokens;

	for (int n = 1; n <= N; n++) {
		uint64_t c = b->t[n - 1].count;
		uint64_t nctx = n == 1 ? 1 : b->t[n - 2].count;
		adj[n - 1] = calloc(c ? c : 1, sizeof **adj);
		prob[n - 1] = calloc(c ? c : 1, sizeof **prob);
		csum[n - 1] = calloc(nctx, sizeof **csum);
		cn[n - 1] = calloc(nctx * 3, sizeof **cn);
		if (!adj[n - 1] || !prob[n - 1] || !csum[n - 1] || !cn[n - 1]) {
			rc = err_set(ACC_ENOMEM, "out of memory estimating the %d-gram model", N);
			goto out;
		}
	}
	/* Adjusted counts. */
	for (int n = 1; n <= N; n++) {
		ngtab *t = &b->t[n - 1];
		for (uint64_t i = 0; i < t->count; i++)
			if (n == N || t->ids[i * n] == b->bos)
				adj[n - 1][i] = t->raw[i];
	}
	for (int n = 1; n < N; n++) {
		ngtab *hi = &b->t[n];   /* order n+1 */
		for (uint64_t i = 0; i < hi->count; i++) {
			const int32_t *suffix = hi->ids + i * (n + 1) + 1;
			if (suffix[0] == b->bos)
				continue;
			int64_t e = ng_find(&b->t[n - 1], n, suffix);
			if (e < 0) {
				rc = err_set(ACC_EINTERNAL, "lm_build: suffix of a %d-gram missing", n + 1);
				goto out;
			}
			adj[n - 1][e]++;
		}
	}
	/* Discounts from count-of-counts. */
	for (int n = 1; n <= N; n++) {
		ngtab *t = &b->t[n - 1];
		uint64_t *tk = stats.coc[n - 1];
		for (uint64_t i = 0; i < t->count; i++)
			if (adj[n - 1][i] >= 1 && adj[n - 1][i] <= 4)
				tk[adj[n - 1][i] - 1]++;
		int ok = tk[0] && tk[1] && tk[2] && tk[3];
		if (ok) {
			double y = (double)tk[0] / ((double)tk[0] + 2.0 * (double)tk[1]);
			for (int k = 1; k <= 3; k++) {
				D[n - 1][k - 1] = k - (k + 1) * y * (double)tk[k] / (double)tk[k - 1];
				if (!(D[n - 1][k - 1] > 0 && D[n - 1][k - 1] <= k))
					ok = 0;
			}
		}
		if (!ok) {
			D[n - 1][0] = 0.5;
			D[n - 1][1] = 1.0;
			D[n - 1][2] = 1.5;
			stats.fallback[n - 1] = 1;
		}
		memcpy(stats.discount[n - 1], D[n - 1], sizeof D[n - 1]);
	}
	/* Context sums. */
	for (int n = 1; n <= N; n++) {
		ngtab *t = &b->t[n - 1];
		for (uint64_t i = 0; i < t->count; i++) {
			uint64_t a = adj[n - 1][i];
			int64_t h = 0;
			if (n > 1 && (h = ng_find(&b->t[n - 2], n - 1, t->ids + i * n)) < 0) {
				rc = err_set(ACC_EINTERNAL, "lm_build: context of a %d-gram missing", n);
				goto out;
			}
			csum[n - 1][h] += (double)a;
			if (a >= 1)
				cn[n - 1][h * 3 + (a >= 3 ? 2 : a - 1)]++;
		}
	}
	/* Interpolated probabilities, order by order. */
	uint64_t vsize = b->t[0].count - 1;   /* all unigrams but <s> */
	for (int n = 1; n <= N; n++) {
		ngtab *t = &b->t[n - 1];
		for (uint64_t i = 0; i < t->count; i++) {
			const int32_t *g = t->ids + i * n;
			int64_t h = n == 1 ? 0 : ng_find(&b->t[n - 2], n - 1, g);
			double S = csum[n - 1][h];
			const uint64_t *Nk = cn[n - 1] + h * 3;
			double gamma = (D[n - 1][0] * Nk[0] + D[n - 1][1] * Nk[1] + D[n - 1][2] * Nk[2]) / S;
			double u = ((double)adj[n - 1][i] - discount_of(D[n - 1], adj[n - 1][i])) / S;
			double lower;
			if (n == 1) {
				lower = 1.0 / (double)vsize;
			} else {
				int64_t s = ng_find(&b->t[n - 2], n - 1, g + 1);
				if (s < 0) {
					rc = err_set(ACC_EINTERNAL, "lm_build: suffix of a %d-gram missing", n);
					goto out;
				}
				lower = prob[n - 2][s];
			}
			prob[n - 1][i] = u + gamma * lower;
		}
	}
	/* Into the ARPA model. */
	for (int n = 1; n <= N; n++) {
		ngtab *t = &b->t[n - 1];
		for (uint64_t i = 0; i < t->count; i++) {
			const int32_t *g = t->ids + i * n;
			float lp = g[0] == b->bos && n == 1 ? -99.0f : (float)log10(prob[n - 1][i]);
			float bo = 0;
			if (n < N && csum[n][i] > 0) {
				const uint64_t *Nk = cn[n] + i * 3;
				double gamma = (D[n][0] * Nk[0] + D[n][1] * Nk[1] + D[n][2] * Nk[2]) / csum[n][i];
				bo = (float)log10(gamma);
			}
			if ((rc = arpa_add_ngram(b->lm, n, g, lp, bo)))
				goto out;
		}
		stats.ngrams[n - 1] = t->count;
	}
	*out = b->lm;
	b->lm = NULL;
	if (st)
		*st = stats;
out:
	for (int n = 0; n < ARPA_MAX_ORDER; n++) {
		free(adj[n]);
		free(prob[n]);
		free(csum[n]);
		free(cn[n]);
	}
	return rc;
}

/* ---- with the manifest ---- */

static int each_text(manifest *m, const char *lang, const char *split,
		     int (*fn)(void *ctx, const char *text), void *ctx, uint64_t *n)
{
	sqlite3_stmt *st = NULL;
	uint64_t count = 0;
	int rc = manifest_prepare(m,
		"SELECT text_norm FROM utterances WHERE lang = ?1 AND split = ?2 AND status = 'ok' "
		"AND text_norm IS NOT NULL ORDER BY id", &st);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, lang, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, split, -1, SQLITE_STATIC);
	int s;
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		const char *text = (const char *)sqlite3_column_text(st, 0);
		if (!text)
			continue;
		if ((rc = fn(ctx, text)))
			goto out;
		count++;
	}
	if (s != SQLITE_DONE)
		rc = manifest_db_error(m, "reading transcripts");
out:
	sqlite3_finalize(st);
	if (n)
		*n = count;
	return rc;
}

static int add_cb(void *ctx, const char *text) { return lm_build_add(ctx, text); }

int lm_build_add_manifest(lm_build *b, manifest *m, const char *lang, const char *split, uint64_t *n)
{
	return each_text(m, lang, split, add_cb, b, n);
}

typedef struct { const arpa *lm; arpa_ppl *acc; } ppl_ctx;
static int ppl_cb(void *ctx, const char *text)
{
	ppl_ctx *c = ctx;
	const char *p = text;
	size_t len;
	/* blank transcripts are no sentences */
	return arpa_next_word(&p, &len) ? arpa_ppl_add(c->lm, text, c->acc) : 0;
}

int lm_ppl_manifest(const arpa *lm, manifest *m, const char *lang, const char *split, arpa_ppl *acc)
{
	ppl_ctx c = { lm, acc };
	return each_text(m, lang, split, ppl_cb, &c, NULL);
}

int lm_record(manifest *m, int64_t run_id, const char *path, const char *lang, const arpa *lm,
	      const lm_build_stats *st, const arpa_ppl *dev, int64_t *id)
{
	char counts[512], disc[2048], fb[256], hex[65];
	size_t oc = 0, od = 0, of = 0;
	sqlite3_stmt *s = NULL;
	int rc;
	oc += snprintf(counts + oc, sizeof counts - oc, "[");
	od += snprintf(disc + od, sizeof disc - od, "[");
	of += snprintf(fb + of, sizeof fb - of, "[");
	for (int n = 1; n <= st->order && n <= ARPA_MAX_ORDER; n++) {
		oc += snprintf(counts + oc, sizeof counts - oc, "%s%llu", n > 1 ? "," : "", (unsigned long long)arpa_count(lm, n));
		od += snprintf(disc + od, sizeof disc - od, "%s[%.6g,%.6g,%.6g]", n > 1 ? "," : "",
			       st->discount[n - 1][0], st->discount[n - 1][1], st->discount[n - 1][2]);
		if (st->fallback[n - 1])
			of += snprintf(fb + of, sizeof fb - of, "%s%d", of > 1 ? "," : "", n);
		if (oc >= sizeof counts - 32 || od >= sizeof disc - 64 || of >= sizeof fb - 8)
			break;
	}
	snprintf(counts + oc, sizeof counts - oc, "]");
	snprintf(disc + od, sizeof disc - od, "]");
	snprintf(fb + of, sizeof fb - of, "]");
	if (fs_sha256_file(path, hex))
		hex[0] = 0;
	if ((rc = manifest_prepare(m,
		"INSERT INTO lm_models (run_id, path, sha256, lang, order_n, sentences, tokens, vocab_size,"
		" ngram_counts, discounts, fallback, dev_sentences, dev_ppl, dev_oov_rate)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)", &s)))
		return rc;
	if (run_id > 0)
		sqlite3_bind_int64(s, 1, run_id);
	sqlite3_bind_text(s, 2, path, -1, SQLITE_STATIC);
	if (hex[0])
		sqlite3_bind_text(s, 3, hex, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, lang, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 5, st->order);
	sqlite3_bind_int64(s, 6, (int64_t)st->sentences);
	sqlite3_bind_int64(s, 7, (int64_t)st->tokens);
	sqlite3_bind_int64(s, 8, arpa_vocab_size(lm));
	sqlite3_bind_text(s, 9, counts, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 10, disc, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 11, fb, -1, SQLITE_STATIC);
	if (dev && dev->sentences) {
		sqlite3_bind_int64(s, 12, (int64_t)dev->sentences);
		sqlite3_bind_double(s, 13, arpa_ppl_value(dev));
		sqlite3_bind_double(s, 14, dev->words ? (double)dev->oov / (double)dev->words : 0.0);
	}
	if (sqlite3_step(s) != SQLITE_DONE)
		rc = manifest_db_error(m, "recording the language model");
	else if (id)
		*id = sqlite3_last_insert_rowid(m->db);
	sqlite3_finalize(s);
	return rc;
}
