/*
 * ingest_dist.c — ingest results and their rank-to-rank records (see
 * ingest_dist.h).  Every count read back is checked against what the
 * buffer still holds before anything is allocated; every field costs at
 * least 8 bytes (a string its length), which bounds any count.
 */
#include "prep/ingest_dist.h"

#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/banned.h"

/* Element *n of the array *arr (of *cap elements of sz bytes), zeroed,
 * the array grown when full; NULL and r->oom when out of memory. */
static void *add_zeroed(ingest_result *r, void **arr, size_t *cap, int *n, size_t sz)
{
	if (err_array_grow(arr, cap, (size_t)*n + 1, sz)) {
		r->oom = 1;
		return NULL;
	}
	char *e = (char *)*arr + sz * (size_t)(*n)++;
	memset(e, 0, sz);
	return e;
}

ingest_urec *ingest_result_add_urec(ingest_result *r)
{
	return add_zeroed(r, (void **)&r->u, &r->capu, &r->nu, sizeof *r->u);
}

ingest_line *ingest_result_add_line(ingest_result *r)
{
	return add_zeroed(r, (void **)&r->l, &r->capl, &r->nl, sizeof *r->l);
}

/* ---- the fields of each record, as tables ----
 *
 * A record is a struct's fields in table order: owned strings ('s', freed
 * with the struct), strings the struct does not own ('c': static reason
 * codes, statuses, labels; read back as copies in ingest_result.own),
 * doubles ('d') and ints ('i', sent as int64).  One table per struct
 * drives writing, reading and freeing alike. */

typedef struct field {
	size_t off;
	char   kind;
} field;

#define F(type, name, kind) { offsetof(type, name), kind }
#define NF(t) (sizeof(t) / sizeof(t)[0])

static const field utt_fields[] = {
	F(corpus_utt, key, 's'), F(corpus_utt, text, 's'), F(corpus_utt, speaker, 's'),
	F(corpus_utt, gender, 's'), F(corpus_utt, age, 's'), F(corpus_utt, accent, 's'),
	F(corpus_utt, lang, 's'), F(corpus_utt, source, 's'), F(corpus_utt, start_s, 'd'),
	F(corpus_utt, end_s, 'd'), F(corpus_utt, reject_reason, 'c'), F(corpus_utt, reject_msg, 's'),
};

static const field item_fields[] = {
	F(corpus_item, audio, 's'), F(corpus_item, source, 's'), F(corpus_item, duration_declared, 'd'),
	F(corpus_item, long_form, 'i'), F(corpus_item, long_speaker, 's'), F(corpus_item, reject_reason, 'c'),
	F(corpus_item, reject_msg, 's'),
};

static const field urec_fields[] = {
	F(ingest_urec, ok, 'i'), F(ingest_urec, key, 's'), F(ingest_urec, source, 's'),
	F(ingest_urec, reason, 'c'), F(ingest_urec, msg, 's'), F(ingest_urec, start, 'd'),
	F(ingest_urec, end, 'd'), F(ingest_urec, text_raw, 's'), F(ingest_urec, text_norm, 's'),
	F(ingest_urec, profile, 's'), F(ingest_urec, version, 'i'), F(ingest_urec, flags, 'i'),
	F(ingest_urec, status, 'c'), F(ingest_urec, lang, 'c'),
};

static const field line_fields[] = {
	F(ingest_line, raw, 's'), F(ingest_line, norm, 's'), F(ingest_line, source, 's'),
	F(ingest_line, profile, 's'), F(ingest_line, lang, 'c'), F(ingest_line, version, 'i'),
	F(ingest_line, flags, 'i'),
};

static const field result_fields[] = {
	F(ingest_result, seq, 'l'), F(ingest_result, have_rec, 'i'), F(ingest_result, size, 'l'),
	F(ingest_result, mtime, 'd'), F(ingest_result, oom, 'i'),
};

static void free_fields(void *base, const field *f, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (f[i].kind == 's')
			free(*(char **)((char *)base + f[i].off));
}

void ingest_result_free(ingest_result *r)
{
	if (!r)
		return;
	for (int i = 0; i < r->nu; i++)
		free_fields(&r->u[i], urec_fields, NF(urec_fields));
	free(r->u);
	for (int i = 0; i < r->nl; i++)
		free_fields(&r->l[i], line_fields, NF(line_fields));
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

static int put_fields(dist_buf *b, const void *base, const field *f, size_t n)
{
	int rc = 0;
	for (size_t i = 0; i < n && !rc; i++) {
		const char *p = (const char *)base + f[i].off;
		switch (f[i].kind) {
		case 's':
		case 'c': rc = dist_buf_put_str(b, *(const char *const *)p); break;
		case 'd': rc = dist_buf_put(b, p, sizeof(double)); break;
		case 'l': rc = dist_buf_put(b, p, sizeof(int64_t)); break;
		default: rc = put_i64(b, *(const int *)p); break;
		}
	}
	return rc;
}

int ingest_dist_put(dist_buf *b, const ingest_result *r)
{
	int rc;
	const corpus_item *it = &r->it;
	TRY(put_fields(b, r, result_fields, NF(result_fields)));
	TRY(put_fields(b, it, item_fields, NF(item_fields)));
	TRY(put_i64(b, it->nutt));
	for (int i = 0; i < it->nutt; i++)
		TRY(put_fields(b, &it->utt[i], utt_fields, NF(utt_fields)));
	TRY(put_i64(b, it->nlines));
	for (int i = 0; i < it->nlines; i++)
		TRY(dist_buf_put_str(b, it->lines[i]));
	TRY(dist_buf_put(b, r->sha, sizeof r->sha));
	/* plain values (char arrays and numbers): the same binary reads them */
	TRY(dist_buf_put(b, &r->info, sizeof r->info));
	TRY(dist_buf_put(b, &r->st, sizeof r->st));
	TRY(put_i64(b, r->nu));
	for (int i = 0; i < r->nu; i++) {
		/* the utterance a row describes, by its index in the item */
		TRY(put_fields(b, &r->u[i], urec_fields, NF(urec_fields)));
		TRY(put_i64(b, r->u[i].cu ? (int64_t)(r->u[i].cu - it->utt) : -1));
	}
	TRY(put_i64(b, r->nl));
	for (int i = 0; i < r->nl; i++)
		TRY(put_fields(b, &r->l[i], line_fields, NF(line_fields)));
out:
	return rc;
}

/* ---- reading ---- */

static int malformed(void)
{
	return err_set(ACC_EINTERNAL, "malformed ingest record from another rank");
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

static int get_fields(dist_buf *b, ingest_result *r, void *base, const field *f, size_t n)
{
	int rc = 0;
	int64_t x = 0;
	for (size_t i = 0; i < n && !rc; i++) {
		char *p = (char *)base + f[i].off;
		switch (f[i].kind) {
		case 's': rc = dist_buf_get_str(b, (char **)p); break;
		case 'c': rc = get_const(b, r, (const char **)p); break;
		case 'd': rc = dist_buf_get(b, p, sizeof(double)); break;
		case 'l': rc = dist_buf_get(b, p, sizeof(int64_t)); break;
		default:
			if (!(rc = dist_buf_get(b, &x, sizeof x)) && (x < INT_MIN || x > INT_MAX))
				rc = malformed();
			if (!rc)
				*(int *)p = (int)x;
		}
	}
	return rc;
}

/* A count of elements of at least 8 bytes each (every field is) that the
 * buffer can still hold. */
static int get_count(dist_buf *b, int *n)
{
	int64_t x = 0;
	int rc = dist_buf_get(b, &x, sizeof x);
	if (!rc && (x < 0 || (uint64_t)x > (b->len - b->at) / 8))
		rc = malformed();
	if (!rc)
		*n = (int)x;
	return rc;
}

/* Zeroed room for n elements of size sz at *p (NULL when n is 0). */
static int get_array(void **p, int n, size_t sz)
{
	*p = NULL;
	if (n && !(*p = calloc(n, sz)))
		return err_set(ACC_ENOMEM, "out of memory");
	return 0;
}

/* Arrays are allocated whole and zeroed, with their counts set, before
 * anything is read into them: after a failure ingest_result_free (and
 * corpus_item_clear) meet only NULLs past what was read. */
int ingest_dist_get(dist_buf *b, ingest_result **out)
{
	int rc, n = 0;
	int64_t cu = -1;
	ingest_result *r = calloc(1, sizeof *r);
	corpus_item *it = r ? &r->it : NULL;
	*out = NULL;
	if (!r)
		return err_set(ACC_ENOMEM, "out of memory");
	TRY(get_fields(b, r, r, result_fields, NF(result_fields)));
	TRY(get_fields(b, r, it, item_fields, NF(item_fields)));
	TRY(get_count(b, &n));
	TRY(get_array((void **)&it->utt, n, sizeof *it->utt));
	it->nutt = it->capu = n;
	for (int i = 0; i < n; i++)
		TRY(get_fields(b, r, &it->utt[i], utt_fields, NF(utt_fields)));
	TRY(get_count(b, &n));
	TRY(get_array((void **)&it->lines, n, sizeof *it->lines));
	it->nlines = it->capl = n;
	for (int i = 0; i < n; i++)
		TRY(dist_buf_get_str(b, &it->lines[i]));
	TRY(dist_buf_get(b, r->sha, sizeof r->sha));
	r->sha[sizeof r->sha - 1] = 0;
	TRY(dist_buf_get(b, &r->info, sizeof r->info));
	r->info.container[sizeof r->info.container - 1] = 0;
	r->info.codec[sizeof r->info.codec - 1] = 0;
	TRY(dist_buf_get(b, &r->st, sizeof r->st));
	TRY(get_count(b, &n));
	TRY(get_array((void **)&r->u, n, sizeof *r->u));
	r->nu = n;
	r->capu = n;
	for (int i = 0; i < n; i++) {
		TRY(get_fields(b, r, &r->u[i], urec_fields, NF(urec_fields)));
		TRY(dist_buf_get(b, &cu, sizeof cu));
		if (cu < -1 || cu >= it->nutt || (r->u[i].ok && !r->u[i].status)) {
			rc = malformed();
			goto out;
		}
		r->u[i].cu = cu >= 0 ? &it->utt[cu] : NULL;
	}
	TRY(get_count(b, &n));
	TRY(get_array((void **)&r->l, n, sizeof *r->l));
	r->nl = n;
	r->capl = n;
	for (int i = 0; i < n; i++)
		TRY(get_fields(b, r, &r->l[i], line_fields, NF(line_fields)));
out:
	if (rc)
		ingest_result_free(r);
	else
		*out = r;
	return rc;
}
