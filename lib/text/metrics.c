/*
 * metrics.c — CER/WER by Levenshtein alignment with substitution, deletion
 * and insertion counts, and their corpus accumulation.
 *
 * Texts become arrays of 32-bit units: code points for CER, word ids for
 * WER (equal ids iff byte-equal words, assigned through a hash table shared
 * by both texts).  The DP keeps two rows; each cell carries the S/D/I counts
 * of its best path, so no backtrace matrix is needed and long transcripts
 * (MMS-style hour-long texts) cost O(|hyp|) memory.
 */
#include "text/metrics.h"
#include "base/err.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/uchar.h>
#include "base/banned.h"

typedef struct { uint32_t *u; size_t n; } units;

/* Decode strict UTF-8 into code points; -1 when valid, else the offset. */
static long decode(const char *s, uint32_t *out, size_t *n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k = 0;
	while (p[i]) {
		uint32_t c = p[i], min;
		int extra;
		if (c < 0x80) { out[k++] = c; i++; continue; }
		else if ((c & 0xE0) == 0xC0) { extra = 1; c &= 0x1F; min = 0x80; }
		else if ((c & 0xF0) == 0xE0) { extra = 2; c &= 0x0F; min = 0x800; }
		else if ((c & 0xF8) == 0xF0) { extra = 3; c &= 0x07; min = 0x10000; }
		else return (long)i;
		for (int j = 1; j <= extra; j++) {
			if ((p[i + j] & 0xC0) != 0x80) /* also stops at the NUL */
				return (long)i;
			c = (c << 6) | (p[i + j] & 0x3F);
		}
		if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
			return (long)i;
		out[k++] = c;
		i += (size_t)extra + 1;
	}
	*n = k;
	return -1;
}

static int is_space(uint32_t c)
{
	return u_isUWhiteSpace((UChar32)c);
}

/* Code points of s without leading/trailing whitespace. */
static int to_chars(const char *s, const char *which, units *out)
{
	size_t n = 0, b = 0;
	out->u = malloc((strlen(s) + 1) * sizeof *out->u);
	if (!out->u)
		return err_set(ACC_ENOMEM, "metrics: out of memory");
	long bad = decode(s, out->u, &n);
	if (bad >= 0)
		return err_set(ACC_EFORMAT, "metrics: %s is not valid UTF-8 (offset %ld)", which, bad);
	while (n > 0 && is_space(out->u[n - 1]))
		n--;
	while (b < n && is_space(out->u[b]))
		b++;
	memmove(out->u, out->u + b, (n - b) * sizeof *out->u);
	out->n = n - b;
	return 0;
}

typedef struct { const uint32_t *p; size_t len; uint32_t id; } word_slot;

static uint64_t hash_cps(const uint32_t *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 1099511628211ull;
	}
	return h;
}

/* Replace the code points of a and b (already decoded) by word ids. */
static int to_words(units *a, units *b)
{
	size_t cap = 16, next_id = 1;
	while (cap < 2 * (a->n + b->n + 1))
		cap *= 2;
	word_slot *tab = calloc(cap, sizeof *tab);
	if (!tab)
		return err_set(ACC_ENOMEM, "metrics: out of memory");
	units *texts[2] = {a, b};
	uint32_t *ids[2] = {NULL, NULL};
	int rc = 0;
	for (int t = 0; t < 2; t++) {
		units *x = texts[t];
		size_t nw = 0, i = 0;
		ids[t] = malloc((x->n / 2 + 2) * sizeof *ids[t]);
		if (!ids[t]) {
			rc = err_set(ACC_ENOMEM, "metrics: out of memory");
			goto out;
		}
		while (i < x->n) {
			if (is_space(x->u[i])) {
				i++;
				continue;
			}
			size_t s = i;
			while (i < x->n && !is_space(x->u[i]))
				i++;
			const uint32_t *w = x->u + s;
			size_t len = i - s;
			size_t h = (size_t)hash_cps(w, len) & (cap - 1);
			while (tab[h].p && !(tab[h].len == len && !memcmp(tab[h].p, w, len * sizeof *w)))
				h = (h + 1) & (cap - 1);
			if (!tab[h].p) {
				tab[h].p = w;
				tab[h].len = len;
				tab[h].id = (uint32_t)next_id++;
			}
			ids[t][nw++] = tab[h].id;
		}
		x->n = nw; /* the ids replace the code points once both are done */
	}
	for (int t = 0; t < 2; t++) {
		free(texts[t]->u);
		texts[t]->u = ids[t];
		ids[t] = NULL;
	}
out:
	free(ids[0]);
	free(ids[1]);
	free(tab);
	return rc;
}

typedef struct { int32_t s, d, i; } cell;

static int32_t cost(cell c)
{
	return c.s + c.d + c.i;
}

static int align(const units *r, const units *h, metrics_counts *out)
{
	size_t m = h->n;
	cell *prev = malloc((m + 1) * sizeof *prev), *cur = malloc((m + 1) * sizeof *cur);
	if (!prev || !cur) {
		free(prev);
		free(cur);
		return err_set(ACC_ENOMEM, "metrics: out of memory (%zu units)", m);
	}
	for (size_t j = 0; j <= m; j++)
		prev[j] = (cell){0, 0, (int32_t)j};
	for (size_t i = 1; i <= r->n; i++) {
		cur[0] = (cell){0, (int32_t)i, 0};
		uint32_t ri = r->u[i - 1];
		for (size_t j = 1; j <= m; j++) {
			cell best = prev[j - 1];
			if (ri != h->u[j - 1])
				best.s++;
			cell up = prev[j];
			up.d++;
			cell left = cur[j - 1];
			left.i++;
			if (cost(up) < cost(best))
				best = up;
			if (cost(left) < cost(best))
				best = left;
			cur[j] = best;
		}
		cell *t = prev;
		prev = cur;
		cur = t;
	}
	cell f = prev[m];
	out->sub = f.s;
	out->del = f.d;
	out->ins = f.i;
	out->ref_len = (long long)r->n;
	out->hyp_len = (long long)h->n;
	out->hits = out->ref_len - f.s - f.d;
	free(prev);
	free(cur);
	return 0;
}

int metrics_edit_counts(const char *ref, const char *hyp, metrics_unit unit, metrics_counts *c)
{
	units r = {0}, h = {0};
	int rc;
	if (!ref || !hyp || !c)
		return err_set(ACC_EINVAL, "metrics: NULL argument");
	if (strlen(ref) > INT32_MAX / 2 || strlen(hyp) > INT32_MAX / 2)
		return err_set(ACC_EINVAL, "metrics: text too long");
	if ((rc = to_chars(ref, "reference", &r)) || (rc = to_chars(hyp, "hypothesis", &h)))
		goto out;
	if (unit == METRICS_WORD && (rc = to_words(&r, &h)))
		goto out;
	rc = align(&r, &h, c);
out:
	free(r.u);
	free(h.u);
	return rc;
}

long long metrics_counts_edits(const metrics_counts *c)
{
	return c->sub + c->del + c->ins;
}

double metrics_counts_rate(const metrics_counts *c)
{
	long long e = metrics_counts_edits(c);
	if (c->ref_len == 0)
		return e ? INFINITY : 0.0;
	return (double)e / (double)c->ref_len;
}

void metrics_accum_init(metrics_accum *a)
{
	memset(a, 0, sizeof *a);
}

static void counts_add(metrics_counts *d, const metrics_counts *s)
{
	d->sub += s->sub;
	d->del += s->del;
	d->ins += s->ins;
	d->hits += s->hits;
	d->ref_len += s->ref_len;
	d->hyp_len += s->hyp_len;
}

int metrics_accum_add(metrics_accum *a, const char *ref, const char *hyp)
{
	metrics_counts cc, wc;
	int rc;
	if ((rc = metrics_edit_counts(ref, hyp, METRICS_CHAR, &cc)) ||
	    (rc = metrics_edit_counts(ref, hyp, METRICS_WORD, &wc)))
		return rc;
	counts_add(&a->chr, &cc);
	counts_add(&a->word, &wc);
	a->n++;
	return 0;
}

void metrics_accum_merge(metrics_accum *dst, const metrics_accum *src)
{
	counts_add(&dst->chr, &src->chr);
	counts_add(&dst->word, &src->word);
	dst->n += src->n;
}

double metrics_accum_cer(const metrics_accum *a)
{
	return metrics_counts_rate(&a->chr);
}

double metrics_accum_wer(const metrics_accum *a)
{
	return metrics_counts_rate(&a->word);
}
