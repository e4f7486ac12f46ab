/*
 * arpa.c — ARPA n-gram models: parser with line-numbered errors, back-off
 * queries, in-memory construction and writer (see arpa.h).
 *
 * Every order keeps its n-grams in insertion order in flat arrays (word ids,
 * log-probabilities, back-offs) and an open-addressing hash index over them.
 * The vocabulary is a string arena with its own hash index.
 */
#include "decode/arpa.h"
#include "base/err.h"
#include "base/fsutil.h"
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/banned.h"

typedef struct arpa_table {
	uint64_t  count, cap;      /* entries used / allocated */
	int32_t  *ids;             /* count * n word ids */
	float    *logp, *bo;
	uint32_t *index;           /* hash slots: entry + 1, 0 = empty */
	uint64_t  mask;            /* slots - 1 (power of two) */
} arpa_table;

struct arpa {
	int        order;
	arpa_table t[ARPA_MAX_ORDER];
	/* vocabulary */
	char      *arena; size_t arena_len, arena_cap;
	size_t    *word_off;       /* offset of each word in arena */
	int32_t    nwords;
	size_t     words_cap;
	int32_t   *vindex;         /* hash slots over words: id + 1, 0 = empty */
	uint64_t   vmask;
	int32_t    bos, eos, unk;
};

static uint64_t hash_ids(const int32_t *ids, int n)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)n;
	for (int i = 0; i < n; i++) {
		h ^= (uint32_t)ids[i];
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	h ^= h >> 29;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 32;
	return h;
}

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;       /* FNV-1a */
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h ^ (h >> 31);
}

int arpa_new(arpa **out, int order)
{
	*out = NULL;
	if (order < 1 || order > ARPA_MAX_ORDER)
		return err_set(ACC_EINVAL, "n-gram order %d out of range 1..%d", order, ARPA_MAX_ORDER);
	arpa *lm = calloc(1, sizeof *lm);
	if (!lm)
		return err_set(ACC_ENOMEM, "out of memory");
	lm->order = order;
	lm->bos = lm->eos = lm->unk = -1;
	*out = lm;
	return 0;
}

void arpa_free(arpa *lm)
{
	if (!lm)
		return;
	for (int n = 0; n < ARPA_MAX_ORDER; n++) {
		free(lm->t[n].ids);
		free(lm->t[n].logp);
		free(lm->t[n].bo);
		free(lm->t[n].index);
	}
	free(lm->arena);
	free(lm->word_off);
	free(lm->vindex);
	free(lm);
}

int arpa_order(const arpa *lm) { return lm->order; }
uint64_t arpa_count(const arpa *lm, int n) { return n >= 1 && n <= lm->order ? lm->t[n - 1].count : 0; }
int32_t arpa_vocab_size(const arpa *lm) { return lm->nwords; }
const char *arpa_word(const arpa *lm, int32_t id) { return id >= 0 && id < lm->nwords ? lm->arena + lm->word_off[id] : NULL; }
int32_t arpa_bos(const arpa *lm) { return lm->bos; }
int32_t arpa_eos(const arpa *lm) { return lm->eos; }
int32_t arpa_unk(const arpa *lm) { return lm->unk; }

int32_t arpa_word_id(const arpa *lm, const char *word)
{
	if (!lm->vindex)
		return -1;
	for (uint64_t s = hash_str(word) & lm->vmask;; s = (s + 1) & lm->vmask) {
		int32_t e = lm->vindex[s];
		if (!e)
			return -1;
		if (!strcmp(lm->arena + lm->word_off[e - 1], word))
			return e - 1;
	}
}

static int vocab_grow(arpa *lm)
{
	uint64_t slots = lm->vindex ? (lm->vmask + 1) * 2 : 1024;
	int32_t *idx = calloc(slots, sizeof *idx);
	if (!idx)
		return err_set(ACC_ENOMEM, "out of memory (vocabulary of %d words)", lm->nwords);
	for (int32_t id = 0; id < lm->nwords; id++) {
		uint64_t s = hash_str(lm->arena + lm->word_off[id]) & (slots - 1);
		while (idx[s])
			s = (s + 1) & (slots - 1);
		idx[s] = id + 1;
	}
	free(lm->vindex);
	lm->vindex = idx;
	lm->vmask = slots - 1;
	return 0;
}

int arpa_add_word(arpa *lm, const char *word, int32_t *id)
{
	size_t len = strlen(word);
	if (!len)
		return err_set(ACC_EINVAL, "empty word");
	for (size_t i = 0; i < len; i++)
		if (isspace((unsigned char)word[i]))
			return err_set(ACC_EINVAL, "word '%s' contains whitespace", word);
	int32_t found = arpa_word_id(lm, word);
	if (found >= 0) {
		if (id)
			*id = found;
		return 0;
	}
	if (lm->nwords >= INT32_MAX - 1)
		return err_set(ACC_EINVAL, "vocabulary too large");
	if (!lm->vindex || (uint64_t)(lm->nwords + 1) * 2 > lm->vmask + 1) {
		int rc = vocab_grow(lm);
		if (rc)
			return rc;
	}
	int rc;
	if ((rc = ARRAY_GROW(lm->word_off, lm->words_cap, (size_t)lm->nwords + 1)) ||
	    (rc = ARRAY_GROW(lm->arena, lm->arena_cap, lm->arena_len + len + 1)))
		return rc;
	memcpy(lm->arena + lm->arena_len, word, len + 1);
	int32_t nid = lm->nwords++;
	lm->word_off[nid] = lm->arena_len;
	lm->arena_len += len + 1;
	uint64_t s = hash_str(word) & lm->vmask;
	while (lm->vindex[s])
		s = (s + 1) & lm->vmask;
	lm->vindex[s] = nid + 1;
	if (!strcmp(word, "<s>"))
		lm->bos = nid;
	else if (!strcmp(word, "</s>"))
		lm->eos = nid;
	else if (!strcmp(word, "<unk>"))
		lm->unk = nid;
	if (id)
		*id = nid;
	return 0;
}

int64_t arpa_index_find(const uint32_t *index, uint64_t mask, const int32_t *tuples, int n, const int32_t *ids)
{
	if (!index)
		return -1;
	for (uint64_t s = hash_ids(ids, n) & mask;; s = (s + 1) & mask) {
		uint32_t e = index[s];
		if (!e)
			return -1;
		if (!memcmp(tuples + (uint64_t)(e - 1) * n, ids, (size_t)n * sizeof *ids))
			return e - 1;
	}
}

void arpa_index_put(uint32_t *index, uint64_t mask, const int32_t *ids, int n, uint64_t e)
{
	uint64_t s = hash_ids(ids, n) & mask;
	while (index[s])
		s = (s + 1) & mask;
	index[s] = (uint32_t)(e + 1);
}

int arpa_index_rebuild(uint32_t **index, uint64_t *mask, uint64_t slots, const int32_t *tuples, uint64_t count, int n)
{
	uint32_t *idx = calloc(slots, sizeof *idx);
	if (!idx)
		return ACC_ENOMEM;
	for (uint64_t i = 0; i < count; i++)
		arpa_index_put(idx, slots - 1, tuples + i * n, n, i);
	free(*index);
	*index = idx;
	*mask = slots - 1;
	return 0;
}

static int64_t table_find(const arpa_table *t, int n, const int32_t *ids)
{
	return arpa_index_find(t->index, t->mask, t->ids, n, ids);
}

static int table_reserve(arpa_table *t, int n, uint64_t want)
{
	if (want >= UINT32_MAX / 2)
		return err_set(ACC_EUNSUPPORTED, "more than %u %d-grams", UINT32_MAX / 2, n);
	if (want > t->cap) {
		uint64_t cap = t->cap ? t->cap : 1024;
		while (cap < want)
			cap *= 2;
		int32_t *ids = realloc(t->ids, cap * n * sizeof *ids);
		if (!ids)
			return err_set(ACC_ENOMEM, "out of memory (%llu %d-grams)", (unsigned long long)want, n);
		t->ids = ids;
		float *p = realloc(t->logp, cap * sizeof *p);
		if (!p)
			return err_set(ACC_ENOMEM, "out of memory");
		t->logp = p;
		float *b = realloc(t->bo, cap * sizeof *b);
		if (!b)
			return err_set(ACC_ENOMEM, "out of memory");
		t->bo = b;
		t->cap = cap;
	}
	if (!t->index || want * 2 > t->mask + 1) {
		uint64_t slots = t->index ? t->mask + 1 : 2048;
		while (want * 2 > slots)
			slots *= 2;
		if (arpa_index_rebuild(&t->index, &t->mask, slots, t->ids, t->count, n))
			return err_set(ACC_ENOMEM, "out of memory (n-gram index)");
	}
	return 0;
}

int arpa_add_ngram(arpa *lm, int n, const int32_t *ids, float logp, float backoff)
{
	if (n < 1 || n > lm->order)
		return err_set(ACC_EINVAL, "%d-gram in a model of order %d", n, lm->order);
	for (int i = 0; i < n; i++)
		if (ids[i] < 0 || ids[i] >= lm->nwords)
			return err_set(ACC_EINVAL, "bad word id %d", ids[i]);
	arpa_table *t = &lm->t[n - 1];
	if (table_find(t, n, ids) >= 0) {
		char buf[256] = "";
		size_t o = 0;
		for (int i = 0; i < n && o < sizeof buf - 1; i++)
			o += snprintf(buf + o, sizeof buf - o, "%s%s", i ? " " : "", arpa_word(lm, ids[i]));
		return err_set(ACC_EINVAL, "duplicate %d-gram '%s'", n, buf);
	}
	int rc = table_reserve(t, n, t->count + 1);
	if (rc)
		return rc;
	uint64_t e = t->count++;
	memcpy(t->ids + e * n, ids, (size_t)n * sizeof *ids);
	t->logp[e] = logp;
	t->bo[e] = backoff;
	arpa_index_put(t->index, t->mask, ids, n, e);
	return 0;
}

int arpa_find(const arpa *lm, int n, const int32_t *ids, float *logp, float *backoff)
{
	if (n < 1 || n > lm->order)
		return 0;
	const arpa_table *t = &lm->t[n - 1];
	int64_t e = table_find(t, n, ids);
	if (e < 0)
		return 0;
	if (logp)
		*logp = t->logp[e];
	if (backoff)
		*backoff = t->bo[e];
	return 1;
}

void arpa_ngram_at(const arpa *lm, int n, uint64_t i, const int32_t **ids, float *logp, float *backoff)
{
	const arpa_table *t = &lm->t[n - 1];
	if (ids)
		*ids = t->ids + i * n;
	if (logp)
		*logp = t->logp[i];
	if (backoff)
		*backoff = t->bo[i];
}

float arpa_logp(const arpa *lm, const int32_t *ctx, int n_ctx, int32_t w)
{
	int32_t buf[ARPA_MAX_ORDER];
	float p, bo;
	if (w < 0 || w >= lm->nwords)
		w = lm->unk;
	if (w < 0)
		return ARPA_OOV_LOGP;
	if (n_ctx > lm->order - 1) {
		ctx += n_ctx - (lm->order - 1);
		n_ctx = lm->order - 1;
	}
	/* Walk from the unigram up to the longest listed n-gram; the back-offs of
	 * the listed contexts longer than that match are added. */
	float best;
	if (!arpa_find(lm, 1, &w, &best, NULL))
		best = lm->unk >= 0 && w != lm->unk && arpa_find(lm, 1, &lm->unk, &p, NULL) ? p : ARPA_OOV_LOGP;
	float bo_sum = 0;
	for (int j = 1; j <= n_ctx; j++) {
		const int32_t *c = ctx + n_ctx - j;
		if (c[0] < 0) {
			break;  /* unknown context word: nothing longer can match */
		}
		memcpy(buf, c, (size_t)j * sizeof *buf);
		buf[j] = w;
		if (arpa_find(lm, j + 1, buf, &p, NULL)) {
			best = p;
			bo_sum = 0;
		} else if (arpa_find(lm, j, c, NULL, &bo)) {
			bo_sum += bo;
		}
	}
	return best + bo_sum;
}

void arpa_state_begin(const arpa *lm, arpa_state *s)
{
	s->len = 0;
	if (lm->bos >= 0 && lm->order > 1)
		s->w[s->len++] = lm->bos;
}

void arpa_state_null(arpa_state *s) { s->len = 0; }

float arpa_score(const arpa *lm, const arpa_state *in, int32_t w, arpa_state *out)
{
	if (w >= lm->nwords)
		w = -1;
	float p = arpa_logp(lm, in->w, in->len, w);
	if (lm->order == 1) {
		out->len = 0;
		return p;
	}
	if (w < 0) {
		out->len = 0;
		return p;
	}
	arpa_state tmp = *in;
	if (tmp.len == lm->order - 1) {
		memmove(tmp.w, tmp.w + 1, (size_t)(tmp.len - 1) * sizeof tmp.w[0]);
		tmp.len--;
	}
	tmp.w[tmp.len++] = w;
	*out = tmp;
	return p;
}

/* ---- perplexity ---- */

const char *arpa_next_word(const char **p, size_t *len)
{
	const char *s = *p, *e;
	while (*s && isspace((unsigned char)*s))
		s++;
	for (e = s; *e && !isspace((unsigned char)*e); e++)
		;
	*p = e;
	*len = (size_t)(e - s);
	return *s ? s : NULL;
}

int arpa_ppl_add(const arpa *lm, const char *sentence, arpa_ppl *acc)
{
	arpa_state st;
	char word[1024];
	const char *p = sentence, *w;
	size_t len;
	arpa_state_begin(lm, &st);
	while ((w = arpa_next_word(&p, &len))) {
		int32_t id = -1;
		if (len < sizeof word) {
			memcpy(word, w, len);
			word[len] = 0;
			id = arpa_word_id(lm, word);
		}
		if (id == lm->unk)
			id = -1;
		float lp = arpa_score(lm, &st, id, &st);
		acc->words++;
		if (id < 0) {
			acc->oov++;
			acc->logp_oov += lp;
		} else {
			acc->logp += lp;
		}
	}
	acc->logp += arpa_score(lm, &st, lm->eos, &st);
	acc->sentences++;
	return 0;
}

double arpa_ppl_value(const arpa_ppl *a)
{
	double n = (double)(a->words - a->oov + a->sentences);
	return n > 0 ? pow(10.0, -a->logp / n) : NAN;
}

double arpa_ppl_value_with_oov(const arpa_ppl *a)
{
	double n = (double)(a->words + a->sentences);
	return n > 0 ? pow(10.0, -(a->logp + a->logp_oov) / n) : NAN;
}

/* ---- parser ---- */

typedef struct parser {
	FILE       *fp;
	const char *name;
	char       *line;
	size_t      cap;
	uint64_t    lineno;
	int         eof;
} parser;

/* Next line with the trailing newline/CR removed; 0 at EOF. */
static int next_line(parser *ps)
{
	ssize_t n = getline(&ps->line, &ps->cap, ps->fp);
	if (n < 0) {
		ps->eof = 1;
		return 0;
	}
	ps->lineno++;
	while (n > 0 && (ps->line[n - 1] == '\n' || ps->line[n - 1] == '\r'))
		ps->line[--n] = 0;
	return 1;
}

static int blank(const char *s)
{
	for (; *s; s++)
		if (!isspace((unsigned char)*s))
			return 0;
	return 1;
}

/* Parse a log10 value; "-inf"/"-Infinity" (SRILM) map to -99 (zero).  */
static int parse_float(const char *s, float *v)
{
	if (!strcasecmp(s, "-inf") || !strcasecmp(s, "-infinity")) {
		*v = -99.0f;
		return 0;
	}
	char *end;
	errno = 0;
	double d = strtod(s, &end);
	if (end == s || *end || errno == ERANGE || !isfinite(d))
		return -1;
	*v = (float)d;
	return 0;
}

static int perr(parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int perr(parser *ps, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return err_set(ACC_EFORMAT, "%s:%llu: %s", ps->name, (unsigned long long)ps->lineno, msg);
}

#define MAX_FIELDS (ARPA_MAX_ORDER + 3)

/* Split the line in place on whitespace; returns the field count (capped at
 * MAX_FIELDS + 1 to signal "too many"). */
static int split_fields(char *s, char **f)
{
	int n = 0;
	for (;;) {
		while (*s && isspace((unsigned char)*s))
			*s++ = 0;
		if (!*s)
			return n;
		if (n == MAX_FIELDS)
			return n + 1;
		f[n++] = s;
		while (*s && !isspace((unsigned char)*s))
			s++;
	}
}

/* The \data\ section's "ngram N=count" lines, orders 1..order in
 * sequence (anything before \data\ is a free-form header: SRILM/lmplz
 * comments).  Leaves ps at the line after the counts. */
static int read_counts(parser *ps, uint64_t declared[ARPA_MAX_ORDER], int *order)
{
	*order = 0;
	for (;;) {
		if (!next_line(ps))
			return perr(ps, "no \\data\\ section (not an ARPA file)");
		if (!strncmp(ps->line, "\\data\\", 6) && blank(ps->line + 6))
			break;
	}
	for (;;) {
		if (!next_line(ps))
			return perr(ps, "unexpected end of file in \\data\\ section");
		if (blank(ps->line)) {
			if (*order)
				return 0;
			continue;
		}
		if (ps->line[0] == '\\') {
			if (!*order)
				return perr(ps, "\\data\\ section declares no n-gram counts");
			return 0;   /* section header right after the counts: read_section takes it */
		}
		int n;
		unsigned long long c;
		char tail;
		if (sscanf(ps->line, " ngram %d = %llu %c", &n, &c, &tail) != 2 || strchr(ps->line, '-'))
			return perr(ps, "bad count line '%s' (expected 'ngram N=COUNT')", ps->line);
		if (n != *order + 1)
			return perr(ps, "bad count line: 'ngram %d' where 'ngram %d' was expected", n, *order + 1);
		if (n > ARPA_MAX_ORDER)
			return perr(ps, "order %d is above the supported maximum %d", n, ARPA_MAX_ORDER);
		if (c >= UINT32_MAX / 2)
			return perr(ps, "bad count line: %llu %d-grams is too many", c, n);
		declared[n - 1] = c;
		*order = n;
	}
}

/* The header line of section want ("\N-grams:"), skipping blank lines. */
static int read_section_header(parser *ps, const char *want, int order)
{
	while (ps->line[0] != '\\') {
		if (!next_line(ps))
			return perr(ps, "unexpected end of file: missing section %s", want);
		if (!blank(ps->line) && ps->line[0] != '\\')
			return perr(ps, "expected section header %s, found '%.60s'", want, ps->line);
	}
	char *hdr = ps->line;
	while (*hdr && isspace((unsigned char)*hdr))
		hdr++;
	size_t hl = strlen(hdr);
	while (hl && isspace((unsigned char)hdr[hl - 1]))
		hdr[--hl] = 0;
	if (!strcmp(hdr, want))
		return 0;
	if (!strcmp(hdr, "\\end\\"))
		return perr(ps, "\\end\\ before section %s (counts declare %d orders)", want, order);
	return perr(ps, "expected section header %s, found '%.60s'", want, hdr);
}

/* One n-gram line of section want (already split into nf fields f) added
 * to lm; unigram lines add their word. */
static int read_entry(parser *ps, arpa *lm, int n, int order, const char *want, char **f, int nf)
{
	int rc, max_nf = n < order ? n + 2 : n + 1;
	if (nf < n + 1 || nf > max_nf) {
		if (n < order)
			return perr(ps, "wrong number of fields in %s: %d (a %d-gram line has %d or %d: probability, %d word%s, optional back-off); n-gram of the wrong order?",
				    want, nf > MAX_FIELDS ? MAX_FIELDS : nf, n, n + 1, n + 2, n, n > 1 ? "s" : "");
		return perr(ps, "wrong number of fields in %s: %d (a %d-gram line of the highest order has %d: probability, %d word%s, no back-off); n-gram of the wrong order?",
			    want, nf > MAX_FIELDS ? MAX_FIELDS : nf, n, n + 1, n, n > 1 ? "s" : "");
	}
	float lp, bo = 0;
	if (parse_float(f[0], &lp))
		return perr(ps, "probability '%.40s' is not a number", f[0]);
	if (lp > 0)
		return perr(ps, "log10 probability %g is above 0", lp);
	if (nf == n + 2 && parse_float(f[n + 1], &bo))
		return perr(ps, "back-off '%.40s' is not a number", f[n + 1]);
	int32_t ids[ARPA_MAX_ORDER];
	for (int i = 0; i < n; i++) {
		if (n == 1) {
			if ((rc = arpa_add_word(lm, f[1], &ids[0])))
				return rc;
		} else if ((ids[i] = arpa_word_id(lm, f[i + 1])) < 0) {
			return perr(ps, "word '%.60s' is not in the \\1-grams section", f[i + 1]);
		}
	}
	if (arpa_add_ngram(lm, n, ids, lp, bo))
		return perr(ps, "%s", err_msg());
	return 0;
}

/* Section n (header, entries, their count against the declared one);
 * leaves ps at the next section's header or \end\. */
static int read_section(parser *ps, arpa *lm, int n, int order, const uint64_t *declared)
{
	char want[32], *f[MAX_FIELDS + 1];
	int rc;
	snprintf(want, sizeof want, "\\%d-grams:", n);
	if ((rc = read_section_header(ps, want, order)))
		return rc;
	/* Pre-size from the declared count, but never trust a hostile
	 * header with more than a million entries up front. */
	if (n > 1 && declared[n - 1] && !lm->t[n - 1].count &&
	    (rc = table_reserve(&lm->t[n - 1], n, declared[n - 1] < (1u << 20) ? declared[n - 1] : (1u << 20))))
		return rc;
	uint64_t got = 0;
	for (;;) {
		if (!next_line(ps))
			return perr(ps, "unexpected end of file in section %s (missing \\end\\)", want);
		if (ps->line[0] == '\\')
			break;
		if (blank(ps->line))
			continue;
		if ((rc = read_entry(ps, lm, n, order, want, f, split_fields(ps->line, f))))
			return rc;
		got++;
	}
	if (got != declared[n - 1])
		return perr(ps, "section %s has %llu entries but \\data\\ declares ngram %d=%llu", want,
			    (unsigned long long)got, n, (unsigned long long)declared[n - 1]);
	return 0;
}

/* The \end\ line after the last declared section. */
static int read_end(parser *ps, int order)
{
	char *e = ps->line;
	while (*e && isspace((unsigned char)*e))
		e++;
	if (!strncmp(e, "\\end\\", 5) && blank(e + 5))
		return 0;
	if (e[0] == '\\' && e[1] >= '0' && e[1] <= '9')
		return perr(ps, "n-gram section '%.40s' beyond the %d orders declared in \\data\\", e, order);
	return perr(ps, "expected \\end\\, found '%.60s'", e);
}

int arpa_read(arpa **out, FILE *fp, const char *name)
{
	parser ps = { .fp = fp, .name = name };
	arpa *lm = NULL;
	uint64_t declared[ARPA_MAX_ORDER] = { 0 };
	int order = 0, rc = 0;
	*out = NULL;
	TRY(read_counts(&ps, declared, &order));
	TRY(arpa_new(&lm, order));
	for (int n = 1; n <= order; n++)
		TRY(read_section(&ps, lm, n, order, declared));
	TRY(read_end(&ps, order));
	if (ferror(fp)) {
		rc = err_set(ACC_EIO, "%s: read error: %s", name, strerror(errno));
		goto out;
	}
	*out = lm;
	lm = NULL;
out:
	free(ps.line);
	arpa_free(lm);
	return rc;
}

int arpa_load(arpa **lm, const char *path)
{
	*lm = NULL;
	FILE *fp = fopen(path, "r");
	if (!fp)
		return err_set(errno == ENOENT ? ACC_ENOTFOUND : ACC_EIO, "cannot open '%s': %s", path, strerror(errno));
	int rc = arpa_read(lm, fp, path);
	fclose(fp);
	return rc;
}

/* ---- writer ---- */

int arpa_write_stream(const arpa *lm, FILE *fp)
{
	fprintf(fp, "\\data\\\n");
	for (int n = 1; n <= lm->order; n++)
		fprintf(fp, "ngram %d=%llu\n", n, (unsigned long long)lm->t[n - 1].count);
	for (int n = 1; n <= lm->order; n++) {
		const arpa_table *t = &lm->t[n - 1];
		fprintf(fp, "\n\\%d-grams:\n", n);
		for (uint64_t i = 0; i < t->count; i++) {
			fprintf(fp, "%.9g", t->logp[i]);
			/* SRILM's layout: TAB, the words separated by single spaces,
			 * TAB, back-off (readers such as sphinxbase split the
			 * n-gram's words on spaces) */
			for (int k = 0; k < n; k++)
				fprintf(fp, "%c%s", k ? ' ' : '\t', arpa_word(lm, t->ids[i * n + k]));
			if (n < lm->order && t->bo[i] != 0)
				fprintf(fp, "\t%.9g", t->bo[i]);
			fputc('\n', fp);
		}
	}
	fprintf(fp, "\n\\end\\\n");
	return ferror(fp) ? err_set(ACC_EIO, "write error: %s", strerror(errno)) : 0;
}

int arpa_write(const arpa *lm, const char *path)
{
	char tmp[4096];
	FILE *fp = NULL;
	int rc = fs_open_tmp(path, tmp, &fp);
	if (rc)
		return rc;
	if ((rc = arpa_write_stream(lm, fp))) {
		fs_abort_tmp(fp, tmp);
		return err_wrap(rc, "%s", path);
	}
	return fs_commit_tmp(fp, tmp, path);
}
