/*
 * align_dist.c — packing of align's rank-to-rank records (see align_dist.h).
 * Every count read back is checked against what the buffer still holds
 * before anything is allocated.
 */
#include "align/align_dist.h"

#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/banned.h"


int align_dist_put_work(dist_buf *b, const align_dist_work *w)
{
	int rc;
	TRY(dist_buf_put(b, &w->id, sizeof w->id));
	TRY(dist_buf_put(b, &w->rec, sizeof w->rec));
	TRY(dist_buf_put(b, &w->start, sizeof w->start));
	TRY(dist_buf_put(b, &w->end, sizeof w->end));
	TRY(dist_buf_put_str(b, w->text));
	TRY(dist_buf_put_str(b, w->key));
	TRY(dist_buf_put_str(b, w->path));
	TRY(dist_buf_put_str(b, w->raw));
	TRY(dist_buf_put_str(b, w->profile));
out:
	return rc;
}

int align_dist_get_work(dist_buf *b, align_dist_work *w)
{
	int rc;
	memset(w, 0, sizeof *w);
	TRY(dist_buf_get(b, &w->id, sizeof w->id));
	TRY(dist_buf_get(b, &w->rec, sizeof w->rec));
	TRY(dist_buf_get(b, &w->start, sizeof w->start));
	TRY(dist_buf_get(b, &w->end, sizeof w->end));
	TRY(dist_buf_get_str(b, &w->text));
	TRY(dist_buf_get_str(b, &w->key));
	TRY(dist_buf_get_str(b, &w->path));
	TRY(dist_buf_get_str(b, &w->raw));
	TRY(dist_buf_get_str(b, &w->profile));
	if (!w->key || !w->path)
		rc = err_set(ACC_EINTERNAL, "utterance record without key or path");
out:
	if (rc)
		align_dist_work_free(w);
	return rc;
}

void align_dist_work_free(align_dist_work *w)
{
	free(w->text);
	free(w->key);
	free(w->path);
	free(w->raw);
	free(w->profile);
	memset(w, 0, sizeof *w);
}

/* An array of n elements of size sz, n first. */
static int put_arr(dist_buf *b, const void *p, int64_t n, size_t sz)
{
	int rc = dist_buf_put(b, &n, sizeof n);
	return rc ? rc : dist_buf_put(b, p, (size_t)n * sz);
}

static int get_arr(dist_buf *b, void **p, int64_t *n, size_t sz)
{
	int rc = dist_buf_get(b, n, sizeof *n);
	*p = NULL;
	if (rc)
		return rc;
	if (*n < 0 || (uint64_t)*n > (b->len - b->at) / sz)
		return err_set(ACC_EINTERNAL, "malformed array from another rank");
	if (*n == 0)
		return 0;
	if (!(*p = malloc((size_t)*n * sz)))
		return err_set(ACC_ENOMEM, "out of memory");
	return dist_buf_get(b, *p, (size_t)*n * sz);
}

/* An optional array of n strings (NULL: absent): its count (0 when
 * absent), then each string. */
static int put_strs(dist_buf *b, char *const *s, int64_t n)
{
	int rc;
	int64_t k = s ? n : 0;
	TRY(dist_buf_put(b, &k, sizeof k));
	for (int64_t i = 0; i < k; i++)
		TRY(dist_buf_put_str(b, s[i]));
out:
	return rc;
}

/* *out: NULL when absent, else n strings (calloc'ed, each malloc'd or NULL);
 * a count other than 0 or n is a malformed record. */
static int get_strs(dist_buf *b, char ***out, int64_t n)
{
	int rc;
	int64_t k = 0;
	*out = NULL;
	TRY(dist_buf_get(b, &k, sizeof k));
	if (k && k != n) {
		rc = err_set(ACC_EINTERNAL, "malformed alignment from another rank");
		goto out;
	}
	if (k && !(*out = calloc(k, sizeof **out))) {
		rc = err_set(ACC_ENOMEM, "out of memory");
		goto out;
	}
	for (int64_t i = 0; i < k; i++)
		TRY(dist_buf_get_str(b, &(*out)[i]));
out:
	return rc;
}

int align_dist_put_result(dist_buf *b, int64_t id, double t0, const char *hash, const char *oov_json,
			  const align_result *r)
{
	int rc;
	/* the scalars (pointers included, reset on the way in) as bytes */
	TRY(dist_buf_put(b, &id, sizeof id));
	TRY(dist_buf_put(b, &t0, sizeof t0));
	TRY(dist_buf_put(b, hash, 65));
	TRY(dist_buf_put_str(b, oov_json));
	TRY(dist_buf_put(b, r, sizeof *r));
	TRY(put_arr(b, r->tok, r->tok ? r->ntok : 0, sizeof *r->tok));
	TRY(put_arr(b, r->tok_ids, r->tok_ids ? r->ntok : 0, sizeof *r->tok_ids));
	TRY(put_arr(b, r->words, r->words ? r->nwords : 0, sizeof *r->words));
	TRY(put_strs(b, r->word_text, r->nwords));
	TRY(put_strs(b, r->word_label, r->nwords));
	TRY(put_strs(b, r->word_rom, r->nwords));
out:
	return rc;
}

int align_dist_get_result(dist_buf *b, int64_t *id, double *t0, char hash[65], char **oov_json, align_result *r)
{
	int rc;
	int64_t n = 0, ntok = 0, nids = 0, nw = 0;
	void *p = NULL;
	memset(r, 0, sizeof *r);
	*oov_json = NULL;
	TRY(dist_buf_get(b, id, sizeof *id));
	TRY(dist_buf_get(b, t0, sizeof *t0));
	TRY(dist_buf_get(b, hash, 65));
	hash[64] = 0;
	TRY(dist_buf_get_str(b, oov_json));
	TRY(dist_buf_get(b, r, sizeof *r));
	r->message[sizeof r->message - 1] = 0;
	ntok = r->ntok;
	nw = r->nwords;
	r->tok = NULL;
	r->tok_ids = NULL;
	r->words = NULL;
	r->word_text = NULL;
	r->word_label = NULL;
	r->word_rom = NULL;
	r->ntok = r->nwords = 0;   /* until the arrays are in: align_result_free stays safe */
	TRY(get_arr(b, &p, &n, sizeof *r->tok));
	r->tok = p;
	TRY(get_arr(b, &p, &nids, sizeof *r->tok_ids));
	r->tok_ids = p;
	if ((n && n != ntok) || (nids && nids != ntok)) {
		rc = err_set(ACC_EINTERNAL, "malformed alignment from another rank");
		goto out;
	}
	r->ntok = ntok;
	TRY(get_arr(b, &p, &n, sizeof *r->words));
	r->words = p;
	if (n && n != nw) {
		rc = err_set(ACC_EINTERNAL, "malformed alignment from another rank");
		goto out;
	}
	r->nwords = nw;
	r->word_label = NULL;
	r->word_rom = NULL;
	TRY(get_strs(b, &r->word_text, nw));
	TRY(get_strs(b, &r->word_label, nw));
	TRY(get_strs(b, &r->word_rom, nw));
out:
	if (rc) {
		align_result_free(r);
		free(*oov_json);
		*oov_json = NULL;
	}
	return rc;
}

int align_dist_put_oov(dist_buf *b, const vocab_oov *o)
{
	return put_arr(b, o->chars, o->n, sizeof *o->chars);
}

int align_dist_get_oov(dist_buf *b, vocab_oov *dst)
{
	void *p = NULL;
	int64_t n = 0;
	int rc = get_arr(b, &p, &n, sizeof(vocab_oov_char));
	if (rc)
		return rc;
	vocab_oov src = { .chars = p, .n = (int)n, .cap = (int)n };
	for (int64_t i = 0; i < n; i++) {
		src.chars[i].ch[sizeof src.chars[i].ch - 1] = 0;
		src.total += src.chars[i].count;
	}
	rc = vocab_oov_merge(dst, &src);
	free(p);
	return rc;
}
