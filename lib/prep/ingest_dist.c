/*
 * ingest_dist.c — ingest results and their rank-to-rank records (see
 * ingest_dist.h).  Every count read back is checked against what the
 * buffer still holds before anything is allocated; a string field costs at
 * least its 8-byte length, which bounds any count.
 */
#include "prep/ingest_dist.h"

#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/banned.h"

ingest_urec *ingest_result_add_urec(ingest_result *r)
{
	if (ARRAY_GROW(r->u, r->capu, (size_t)r->nu + 1)) {
		r->oom = 1;
		return NULL;
	}
	ingest_urec *u = &r->u[r->nu++];
	memset(u, 0, sizeof *u);
	return u;
}

ingest_line *ingest_result_add_line(ingest_result *r)
{
	if (ARRAY_GROW(r->l, r->capl, (size_t)r->nl + 1)) {
		r->oom = 1;
		return NULL;
	}
	ingest_line *l = &r->l[r->nl++];
	memset(l, 0, sizeof *l);
	return l;
}

void ingest_result_free(ingest_result *r)
{
	if (!r)
		return;
	for (int i = 0; i < r->nu; i++) {
		free(r->u[i].key);
		free(r->u[i].source);
		free(r->u[i].msg);
		free(r->u[i].text_raw);
		free(r->u[i].text_norm);
		free(r->u[i].profile);
	}
	free(r->u);
	for (int i = 0; i < r->nl; i++) {
		free(r->l[i].raw);
		free(r->l[i].norm);
		free(r->l[i].source);
		free(r->l[i].profile);
	}
	free(r->l);
	for (size_t i = 0; i < r->nown; i++)
		free(r->own[i]);
	free(r->own);
	corpus_item_clear(&r->it);
	free(r);
}

/* ---- writing ---- */

static int put_i64(dist_buf *b, int64_t v)
{
	return dist_buf_put(b, &v, sizeof v);
}

static int put_f64(dist_buf *b, double v)
{
	return dist_buf_put(b, &v, sizeof v);
}

static int put_utt(dist_buf *b, const corpus_utt *u)
{
	int rc;
	TRY(dist_buf_put_str(b, u->key));
	TRY(dist_buf_put_str(b, u->text));
	TRY(dist_buf_put_str(b, u->speaker));
	TRY(dist_buf_put_str(b, u->gender));
	TRY(dist_buf_put_str(b, u->age));
	TRY(dist_buf_put_str(b, u->accent));
	TRY(dist_buf_put_str(b, u->lang));
	TRY(dist_buf_put_str(b, u->source));
	TRY(put_f64(b, u->start_s));
	TRY(put_f64(b, u->end_s));
	TRY(dist_buf_put_str(b, u->reject_reason));
	TRY(dist_buf_put_str(b, u->reject_msg));
out:
	return rc;
}

static int put_item(dist_buf *b, const corpus_item *it)
{
	int rc;
	TRY(dist_buf_put_str(b, it->audio));
	TRY(dist_buf_put_str(b, it->source));
	TRY(put_f64(b, it->duration_declared));
	TRY(put_i64(b, it->long_form));
	TRY(dist_buf_put_str(b, it->long_speaker));
	TRY(dist_buf_put_str(b, it->reject_reason));
	TRY(dist_buf_put_str(b, it->reject_msg));
	TRY(put_i64(b, it->nutt));
	for (int i = 0; i < it->nutt; i++)
		TRY(put_utt(b, &it->utt[i]));
	TRY(put_i64(b, it->nlines));
	for (int i = 0; i < it->nlines; i++)
		TRY(dist_buf_put_str(b, it->lines[i]));
out:
	return rc;
}

static int put_urec(dist_buf *b, const ingest_urec *u, const corpus_item *it)
{
	int rc;
	/* the utterance it describes, by its index in the item */
	int64_t cu = u->cu ? (int64_t)(u->cu - it->utt) : -1;
	TRY(put_i64(b, u->ok));
	TRY(dist_buf_put_str(b, u->key));
	TRY(dist_buf_put_str(b, u->source));
	TRY(dist_buf_put_str(b, u->reason));
	TRY(dist_buf_put_str(b, u->msg));
	TRY(put_f64(b, u->start));
	TRY(put_f64(b, u->end));
	TRY(dist_buf_put_str(b, u->text_raw));
	TRY(dist_buf_put_str(b, u->text_norm));
	TRY(dist_buf_put_str(b, u->profile));
	TRY(put_i64(b, u->version));
	TRY(put_i64(b, u->flags));
	TRY(dist_buf_put_str(b, u->status));
	TRY(put_i64(b, cu));
	TRY(dist_buf_put_str(b, u->lang));
out:
	return rc;
}

static int put_line(dist_buf *b, const ingest_line *l)
{
	int rc;
	TRY(dist_buf_put_str(b, l->raw));
	TRY(dist_buf_put_str(b, l->norm));
	TRY(dist_buf_put_str(b, l->source));
	TRY(dist_buf_put_str(b, l->profile));
	TRY(dist_buf_put_str(b, l->lang));
	TRY(put_i64(b, l->version));
	TRY(put_i64(b, l->flags));
out:
	return rc;
}

int ingest_dist_put(dist_buf *b, const ingest_result *r)
{
	int rc;
	TRY(put_i64(b, r->seq));
	TRY(put_item(b, &r->it));
	TRY(put_i64(b, r->have_rec));
	TRY(dist_buf_put(b, r->sha, sizeof r->sha));
	TRY(put_i64(b, r->size));
	TRY(put_f64(b, r->mtime));
	/* plain values (char arrays and numbers): the same binary reads them */
	TRY(dist_buf_put(b, &r->info, sizeof r->info));
	TRY(dist_buf_put(b, &r->st, sizeof r->st));
	TRY(put_i64(b, r->oom));
	TRY(put_i64(b, r->nu));
	for (int i = 0; i < r->nu; i++)
		TRY(put_urec(b, &r->u[i], &r->it));
	TRY(put_i64(b, r->nl));
	for (int i = 0; i < r->nl; i++)
		TRY(put_line(b, &r->l[i]));
out:
	return rc;
}

/* ---- reading ---- */

static int get_i64(dist_buf *b, int64_t *v)
{
	return dist_buf_get(b, v, sizeof *v);
}

static int get_int(dist_buf *b, int *v)
{
	int64_t x = 0;
	int rc = get_i64(b, &x);
	if (!rc && (x < -2147483647 - 1 || x > 2147483647))
		rc = err_set(ACC_EINTERNAL, "malformed ingest record from another rank");
	if (!rc)
		*v = (int)x;
	return rc;
}

static int get_f64(dist_buf *b, double *v)
{
	return dist_buf_get(b, v, sizeof *v);
}

/* A count of elements of at least 8 bytes each that the buffer can hold. */
static int get_count(dist_buf *b, int *n)
{
	int rc = get_int(b, n);
	if (!rc && (*n < 0 || (size_t)*n > (b->len - b->at) / 8))
		rc = err_set(ACC_EINTERNAL, "malformed ingest record from another rank");
	return rc;
}

/* A string for a field the result does not own in a worker: the copy goes
 * to r->own. */
static int get_const(dist_buf *b, ingest_result *r, const char **s)
{
	char *p = NULL;
	int rc = dist_buf_get_str(b, &p);
	*s = NULL;
	if (rc || !p)
		return rc;
	if ((rc = ARRAY_GROW(r->own, r->capown, r->nown + 1))) {
		free(p);
		return rc;
	}
	r->own[r->nown++] = p;
	*s = p;
	return 0;
}

static int get_utt(dist_buf *b, ingest_result *r, corpus_utt *u)
{
	int rc;
	TRY(dist_buf_get_str(b, &u->key));
	TRY(dist_buf_get_str(b, &u->text));
	TRY(dist_buf_get_str(b, &u->speaker));
	TRY(dist_buf_get_str(b, &u->gender));
	TRY(dist_buf_get_str(b, &u->age));
	TRY(dist_buf_get_str(b, &u->accent));
	TRY(dist_buf_get_str(b, &u->lang));
	TRY(dist_buf_get_str(b, &u->source));
	TRY(get_f64(b, &u->start_s));
	TRY(get_f64(b, &u->end_s));
	TRY(get_const(b, r, &u->reject_reason));
	TRY(dist_buf_get_str(b, &u->reject_msg));
out:
	return rc;
}

/* Arrays are calloc'd at their full count first: corpus_item_clear then
 * frees whatever was read before a failure. */
static int get_item(dist_buf *b, ingest_result *r)
{
	corpus_item *it = &r->it;
	int rc, n = 0;
	TRY(dist_buf_get_str(b, &it->audio));
	TRY(dist_buf_get_str(b, &it->source));
	TRY(get_f64(b, &it->duration_declared));
	TRY(get_int(b, &it->long_form));
	TRY(dist_buf_get_str(b, &it->long_speaker));
	TRY(get_const(b, r, &it->reject_reason));
	TRY(dist_buf_get_str(b, &it->reject_msg));
	TRY(get_count(b, &n));
	if (n && !(it->utt = calloc(n, sizeof *it->utt))) {
		rc = err_set(ACC_ENOMEM, "out of memory");
		goto out;
	}
	it->nutt = it->capu = n;
	for (int i = 0; i < n; i++)
		TRY(get_utt(b, r, &it->utt[i]));
	TRY(get_count(b, &n));
	if (n && !(it->lines = calloc(n, sizeof *it->lines))) {
		rc = err_set(ACC_ENOMEM, "out of memory");
		goto out;
	}
	it->nlines = it->capl = n;
	for (int i = 0; i < n; i++)
		TRY(dist_buf_get_str(b, &it->lines[i]));
out:
	return rc;
}

static int get_urec(dist_buf *b, ingest_result *r, ingest_urec *u)
{
	int rc;
	int64_t cu = -1;
	TRY(get_int(b, &u->ok));
	TRY(dist_buf_get_str(b, &u->key));
	TRY(dist_buf_get_str(b, &u->source));
	TRY(get_const(b, r, &u->reason));
	TRY(dist_buf_get_str(b, &u->msg));
	TRY(get_f64(b, &u->start));
	TRY(get_f64(b, &u->end));
	TRY(dist_buf_get_str(b, &u->text_raw));
	TRY(dist_buf_get_str(b, &u->text_norm));
	TRY(dist_buf_get_str(b, &u->profile));
	TRY(get_int(b, &u->version));
	TRY(get_int(b, &u->flags));
	TRY(get_const(b, r, &u->status));
	TRY(get_i64(b, &cu));
	TRY(get_const(b, r, &u->lang));
	if (cu < -1 || cu >= r->it.nutt || (u->ok && !u->status)) {
		rc = err_set(ACC_EINTERNAL, "malformed ingest record from another rank");
		goto out;
	}
	u->cu = cu >= 0 ? &r->it.utt[cu] : NULL;
out:
	return rc;
}

static int get_line(dist_buf *b, ingest_result *r, ingest_line *l)
{
	int rc;
	TRY(dist_buf_get_str(b, &l->raw));
	TRY(dist_buf_get_str(b, &l->norm));
	TRY(dist_buf_get_str(b, &l->source));
	TRY(dist_buf_get_str(b, &l->profile));
	TRY(get_const(b, r, &l->lang));
	TRY(get_int(b, &l->version));
	TRY(get_int(b, &l->flags));
out:
	return rc;
}

/* Counts below are read first and the arrays allocated whole (nu, nl set
 * to their full length, entries zeroed): a failure leaves only NULLs for
 * ingest_result_free to skip. */
int ingest_dist_get(dist_buf *b, ingest_result **out)
{
	int rc, n = 0;
	ingest_result *r = calloc(1, sizeof *r);
	*out = NULL;
	if (!r)
		return err_set(ACC_ENOMEM, "out of memory");
	TRY(get_i64(b, &r->seq));
	TRY(get_item(b, r));
	TRY(get_int(b, &r->have_rec));
	TRY(dist_buf_get(b, r->sha, sizeof r->sha));
	r->sha[sizeof r->sha - 1] = 0;
	TRY(get_i64(b, &r->size));
	TRY(get_f64(b, &r->mtime));
	TRY(dist_buf_get(b, &r->info, sizeof r->info));
	r->info.container[sizeof r->info.container - 1] = 0;
	r->info.codec[sizeof r->info.codec - 1] = 0;
	TRY(dist_buf_get(b, &r->st, sizeof r->st));
	TRY(get_int(b, &r->oom));
	TRY(get_count(b, &n));
	if (n && (rc = ARRAY_GROW(r->u, r->capu, (size_t)n)))
		goto out;
	if (n)
		memset(r->u, 0, sizeof *r->u * n);
	r->nu = n;
	for (int i = 0; i < n; i++)
		TRY(get_urec(b, r, &r->u[i]));
	TRY(get_count(b, &n));
	if (n && (rc = ARRAY_GROW(r->l, r->capl, (size_t)n)))
		goto out;
	if (n)
		memset(r->l, 0, sizeof *r->l * n);
	r->nl = n;
	for (int i = 0; i < n; i++)
		TRY(get_line(b, r, &r->l[i]));
out:
	if (rc)
		ingest_result_free(r);
	else
		*out = r;
	return rc;
}
