/*
 * align_eval.c — forced-alignment accuracy against reference word timings
 * (see align_eval.h): word matching by longest common subsequence, boundary
 * error statistics, and the reader of the synthesizer's ground truth joined
 * with the manifest's align_words.
 */
#define _GNU_SOURCE  /* qsort_r */
#include "eval/align_eval.h"

#include "base/err.h"
#include "base/fsutil.h"
#include "text/textnorm.h"
#include "base/tsv.h"
#include "manifest/utterances.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/banned.h"

#define MAX_CELLS ((int64_t)1 << 26)

static int push_err(align_eval_stats *st, double e)
{
	int rc = ARRAY_GROW(st->err_ms, st->cap_err, (size_t)st->n_err + 1);
	if (rc)
		return err_wrap(rc, "alignment evaluation: %lld boundary errors", (long long)st->n_err + 1);
	st->err_ms[st->n_err++] = e;
	return 0;
}

/* One scored boundary: |error| statistics and the signed sums per kind. */
static int add_boundary(align_eval_stats *st, double ref_s, double hyp_s, int is_end)
{
	double e = (hyp_s - ref_s) * 1000.0, a = fabs(e);
	st->boundaries++;
	st->sum_abs_ms += a;
	/* a hair of slack: times are stored with 6 decimals */
	if (a <= 20.0 + 1e-6)
		st->within20++;
	if (a <= 50.0 + 1e-6)
		st->within50++;
	if (is_end) {
		st->n_end++;
		st->sum_end_ms += e;
		st->sum_abs_end_ms += a;
	} else {
		st->n_start++;
		st->sum_start_ms += e;
		st->sum_abs_start_ms += a;
	}
	return push_err(st, a);
}

int align_eval_match(const align_eval_word *ref, int nref, const align_eval_word *hyp, int nhyp,
		     align_eval_stats *st)
{
	int rc = 0;
	int32_t *L = NULL;
	if (nref < 0 || nhyp < 0)
		return err_set(ACC_EINVAL, "alignment evaluation: negative word count");
	st->ref_words += nref;
	st->hyp_words += nhyp;
	if (nref == 0 || nhyp == 0)
		return 0;
	int64_t w = (int64_t)nhyp + 1, cells = ((int64_t)nref + 1) * w;
	if (cells > MAX_CELLS)
		return err_set(ACC_EINVAL, "alignment evaluation: %d reference x %d aligned words is too large to match "
			       "in one table (limit %lld cells)", nref, nhyp, (long long)MAX_CELLS);
	L = calloc((size_t)cells, sizeof *L);
	if (!L)
		return err_set(ACC_ENOMEM, "alignment evaluation: out of memory for a %lld-cell table", (long long)cells);
	/* L[i][j] = LCS length of ref[i..] and hyp[j..]; filled backwards so the
	 * walk below goes forwards and takes the earliest match on ties. */
	for (int i = nref - 1; i >= 0; i--)
		for (int j = nhyp - 1; j >= 0; j--) {
			int32_t best;
			if (!strcmp(ref[i].word, hyp[j].word))
				best = L[(i + 1) * w + j + 1] + 1;
			else {
				int32_t a = L[(i + 1) * w + j], b = L[i * w + j + 1];
				best = a > b ? a : b;
			}
			L[i * w + j] = best;
		}
	int i = 0, j = 0;
	while (i < nref && j < nhyp) {
		if (!strcmp(ref[i].word, hyp[j].word) && L[i * w + j] == L[(i + 1) * w + j + 1] + 1) {
			st->matched_words++;
			if (ref[i].score_start && (rc = add_boundary(st, ref[i].start_s, hyp[j].start_s, 0)))
				goto out;
			if (ref[i].score_end && (rc = add_boundary(st, ref[i].end_s, hyp[j].end_s, 1)))
				goto out;
			i++;
			j++;
		} else if (L[(i + 1) * w + j] >= L[i * w + j + 1]) {
			i++;
		} else {
			j++;
		}
	}
out:
	free(L);
	return rc;
}

int align_eval_stats_merge(align_eval_stats *dst, const align_eval_stats *src)
{
	dst->recordings += src->recordings;
	dst->recordings_missing += src->recordings_missing;
	dst->ref_words += src->ref_words;
	dst->hyp_words += src->hyp_words;
	dst->matched_words += src->matched_words;
	dst->boundaries += src->boundaries;
	dst->within20 += src->within20;
	dst->within50 += src->within50;
	dst->sum_abs_ms += src->sum_abs_ms;
	dst->n_start += src->n_start;
	dst->n_end += src->n_end;
	dst->sum_start_ms += src->sum_start_ms;
	dst->sum_end_ms += src->sum_end_ms;
	dst->sum_abs_start_ms += src->sum_abs_start_ms;
	dst->sum_abs_end_ms += src->sum_abs_end_ms;
	for (int64_t k = 0; k < src->n_err; k++) {
		int rc = push_err(dst, src->err_ms[k]);
		if (rc)
			return rc;
	}
	return 0;
}

double align_eval_mean_ms(const align_eval_stats *st)
{
	return st->boundaries ? st->sum_abs_ms / (double)st->boundaries : NAN;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

double align_eval_median_ms(align_eval_stats *st)
{
	if (!st->n_err)
		return NAN;
	qsort(st->err_ms, (size_t)st->n_err, sizeof *st->err_ms, cmp_double);
	int64_t h = st->n_err / 2;
	return st->n_err % 2 ? st->err_ms[h] : 0.5 * (st->err_ms[h - 1] + st->err_ms[h]);
}

double align_eval_share20(const align_eval_stats *st)
{
	return st->boundaries ? (double)st->within20 / (double)st->boundaries : NAN;
}

double align_eval_share50(const align_eval_stats *st)
{
	return st->boundaries ? (double)st->within50 / (double)st->boundaries : NAN;
}

double align_eval_bias_start_ms(const align_eval_stats *st)
{
	return st->n_start ? st->sum_start_ms / (double)st->n_start : NAN;
}

double align_eval_bias_end_ms(const align_eval_stats *st)
{
	return st->n_end ? st->sum_end_ms / (double)st->n_end : NAN;
}

void align_eval_stats_free(align_eval_stats *st)
{
	free(st->err_ms);
	st->err_ms = NULL;
	st->n_err = st->cap_err = 0;
}

void align_eval_report_free(align_eval_report *rep)
{
	for (int i = 0; i < rep->n_langs; i++)
		align_eval_stats_free(&rep->langs[i]);
	free(rep->langs);
	align_eval_stats_free(&rep->total);
	memset(rep, 0, sizeof *rep);
}

/* ---- the synthesizer's ground truth ---- */

typedef struct truth_utt {
	char  *key, *lang, *file;
	double start_s;
} truth_utt;

typedef struct truth_word {
	int    utt;        /* index into the sorted utterance array */
	int    index;      /* word position in the utterance */
	char  *word;       /* normalized */
	double start_s, end_s;
	int    timed;
} truth_word;

typedef struct truth {
	truth_utt  *utts;
	int         n_utts;
	size_t      cap_utts;
	truth_word *words;
	int64_t     n_words;
	size_t      cap_words;
} truth;

static void truth_free(truth *t)
{
	for (int i = 0; i < t->n_utts; i++) {
		free(t->utts[i].key);
		free(t->utts[i].lang);
		free(t->utts[i].file);
	}
	for (int64_t i = 0; i < t->n_words; i++)
		free(t->words[i].word);
	free(t->utts);
	free(t->words);
}

static int cmp_utt_key(const void *a, const void *b)
{
	return strcmp(((const truth_utt *)a)->key, ((const truth_utt *)b)->key);
}

/* Recording (file) first, then the utterance's place in it, then the word. */
static int cmp_word(const void *a, const void *b, void *ctx)
{
	const truth *t = ctx;
	const truth_word *x = a, *y = b;
	const truth_utt *ux = &t->utts[x->utt], *uy = &t->utts[y->utt];
	int c = strcmp(ux->file, uy->file);
	if (c)
		return c;
	if (ux->start_s != uy->start_s)
		return ux->start_s < uy->start_s ? -1 : 1;
	if (x->utt != y->utt)
		return x->utt < y->utt ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

static int parse_num(const char *s, double *v)
{
	char *end;
	errno = 0;
	*v = strtod(s, &end);
	return end == s || *end || errno || !isfinite(*v) ? -1 : 0;
}

static int need_col(const tsv *t, const char *path, const char *name, int *col)
{
	*col = tsv_column(t, name);
	if (*col < 0)
		return err_set(ACC_EFORMAT, "%s: no '%s' column in the header", path, name);
	return 0;
}

static int read_utts(truth *t, const char *path)
{
	tsv f;
	int rc = tsv_open(&f, path, '\t'), r;
	if (rc)
		return rc;
	int ck, cl, cf, cs;
	if ((r = tsv_next(&f)) <= 0) {
		rc = r < 0 ? r : err_set(ACC_EFORMAT, "%s: empty file", path);
		goto out;
	}
	if ((rc = need_col(&f, path, "utt_key", &ck)) || (rc = need_col(&f, path, "lang", &cl)) ||
	    (rc = need_col(&f, path, "file", &cf)) || (rc = need_col(&f, path, "start_s", &cs)))
		goto out;
	int maxc = ck > cl ? ck : cl;
	maxc = maxc > cf ? maxc : cf;
	maxc = maxc > cs ? maxc : cs;
	while ((r = tsv_next(&f)) > 0) {
		if (f.nfield <= maxc) {
			rc = err_set(ACC_EFORMAT, "%s:%ld: %d fields, expected at least %d", path, f.lineno, f.nfield, maxc + 1);
			goto out;
		}
		double st;
		if (parse_num(f.field[cs], &st)) {
			rc = err_set(ACC_EFORMAT, "%s:%ld: bad start_s '%s'", path, f.lineno, f.field[cs]);
			goto out;
		}
		if ((rc = ARRAY_GROW(t->utts, t->cap_utts, (size_t)t->n_utts + 1))) {
			rc = err_wrap(rc, "%s", path);
			goto out;
		}
		truth_utt *u = &t->utts[t->n_utts];
		u->key = strdup(f.field[ck]);
		u->lang = strdup(f.field[cl]);
		u->file = strdup(f.field[cf]);
		u->start_s = st;
		t->n_utts++;
		if (!u->key || !u->lang || !u->file) {
			rc = err_set(ACC_ENOMEM, "%s: out of memory", path);
			goto out;
		}
	}
	if (r < 0) {
		rc = err_wrap(r, "%s", path);
		goto out;
	}
	qsort(t->utts, (size_t)t->n_utts, sizeof *t->utts, cmp_utt_key);
	for (int i = 1; i < t->n_utts; i++)
		if (!strcmp(t->utts[i - 1].key, t->utts[i].key)) {
			rc = err_set(ACC_EFORMAT, "%s: utterance '%s' listed twice", path, t->utts[i].key);
			goto out;
		}
out:
	tsv_close(&f);
	return rc;
}

/* A textnorm profile per language, opened on first use. */
typedef struct norm_cache {
	char      lang[16][16];
	textnorm *tn[16];
	int       n;
} norm_cache;

static int norm_word(norm_cache *nc, const char *lang, const char *in, char **out)
{
	int i, rc, flags = 0;
	for (i = 0; i < nc->n; i++)
		if (!strcmp(nc->lang[i], lang))
			break;
	if (i == nc->n) {
		if (nc->n == 16)
			return err_set(ACC_EINVAL, "alignment evaluation: more than 16 languages");
		textnorm_opts o;
		textnorm_opts_default(&o);
		o.lang = lang;
		if ((rc = textnorm_open(&nc->tn[i], &o)))
			return err_wrap(rc, "normalizing the reference words of '%s'", lang);
		snprintf(nc->lang[i], sizeof nc->lang[i], "%s", lang);
		nc->n++;
	}
	return textnorm_apply(nc->tn[i], in, out, &flags);
}

static void norm_cache_free(norm_cache *nc)
{
	for (int i = 0; i < nc->n; i++)
		textnorm_close(nc->tn[i]);
	nc->n = 0;
}

static int read_words(truth *t, const char *path, norm_cache *nc)
{
	tsv f;
	int rc = tsv_open(&f, path, '\t'), r;
	if (rc)
		return rc;
	int ck, ci, cw, cs, ce, ct;
	if ((r = tsv_next(&f)) <= 0) {
		rc = r < 0 ? r : err_set(ACC_EFORMAT, "%s: empty file", path);
		goto out;
	}
	if ((rc = need_col(&f, path, "utt_key", &ck)) || (rc = need_col(&f, path, "index", &ci)) ||
	    (rc = need_col(&f, path, "word", &cw)) || (rc = need_col(&f, path, "start_s", &cs)) ||
	    (rc = need_col(&f, path, "end_s", &ce)) || (rc = need_col(&f, path, "timed", &ct)))
		goto out;
	int cols[] = { ck, ci, cw, cs, ce, ct }, maxc = 0;
	for (int k = 0; k < 6; k++)
		maxc = cols[k] > maxc ? cols[k] : maxc;
	while ((r = tsv_next(&f)) > 0) {
		if (f.nfield <= maxc) {
			rc = err_set(ACC_EFORMAT, "%s:%ld: %d fields, expected at least %d", path, f.lineno, f.nfield, maxc + 1);
			goto out;
		}
		truth_utt key = { .key = f.field[ck] };
		truth_utt *u = bsearch(&key, t->utts, (size_t)t->n_utts, sizeof *t->utts, cmp_utt_key);
		if (!u) {
			rc = err_set(ACC_EFORMAT, "%s:%ld: utterance '%s' is not in utterances.tsv", path, f.lineno, f.field[ck]);
			goto out;
		}
		double st, en, idx, timed;
		if (parse_num(f.field[cs], &st) || parse_num(f.field[ce], &en) || parse_num(f.field[ci], &idx) ||
		    parse_num(f.field[ct], &timed) || idx < 0 || idx > INT_MAX || en < st) {
			rc = err_set(ACC_EFORMAT, "%s:%ld: bad index, times or timed flag", path, f.lineno);
			goto out;
		}
		char *w = NULL;
		if ((rc = norm_word(nc, u->lang, f.field[cw], &w))) {
			rc = err_wrap(rc, "%s:%ld", path, f.lineno);
			goto out;
		}
		if (!w || !*w) {   /* punctuation only: nothing an aligner could place */
			free(w);
			continue;
		}
		if ((rc = ARRAY_GROW(t->words, t->cap_words, (size_t)t->n_words + 1))) {
			free(w);
			rc = err_wrap(rc, "%s", path);
			goto out;
		}
		t->words[t->n_words++] = (truth_word){ .utt = (int)(u - t->utts), .index = (int)idx, .word = w,
						      .start_s = st, .end_s = en, .timed = timed != 0 };
	}
	if (r < 0)
		rc = err_wrap(r, "%s", path);
out:
	tsv_close(&f);
	return rc;
}

static align_eval_stats *lang_stats(align_eval_report *rep, const char *lang)
{
	for (int i = 0; i < rep->n_langs; i++)
		if (!strcmp(rep->langs[i].lang, lang))
			return &rep->langs[i];
	align_eval_stats *p = realloc(rep->langs, (size_t)(rep->n_langs + 1) * sizeof *p);
	if (!p)
		return NULL;
	rep->langs = p;
	memset(&p[rep->n_langs], 0, sizeof *p);
	snprintf(p[rep->n_langs].lang, sizeof p->lang, "%s", lang);
	return &p[rep->n_langs++];
}

/* Score one recording: reference words ref[0..n) (one file, time order). */
static int eval_recording(manifest *m, const char *root, const truth *t, const truth_word *ref, int64_t n,
			  align_eval_stats *st)
{
	int rc = 0;
	align_eval_word *rw = NULL, *hw = NULL;
	utterances_word *aw = NULL;
	int64_t nh = 0, rid = 0;
	const truth_utt *u0 = &t->utts[ref[0].utt];
	if (n > INT_MAX)
		return err_set(ACC_EINVAL, "%s: too many reference words", u0->file);
	st->recordings++;
	rw = calloc((size_t)n, sizeof *rw);
	if (!rw)
		return err_set(ACC_ENOMEM, "alignment evaluation: out of memory");
	for (int64_t k = 0; k < n; k++) {
		int last = k + 1 == n || ref[k + 1].utt != ref[k].utt;
		rw[k] = (align_eval_word){ .word = ref[k].word, .start_s = ref[k].start_s, .end_s = ref[k].end_s,
					   .score_start = ref[k].timed, .score_end = last || ref[k + 1].timed };
	}
	rc = utterances_recording_find(m, root, u0->file, &rid);
	if (rc == ACC_ENOTFOUND) {
		err_clear();
		st->recordings_missing++;
		st->ref_words += n;
		rc = 0;
		goto out;
	}
	if (rc || (rc = utterances_recording_words(m, rid, &aw, &nh)))
		goto out;
	if (nh && !(hw = calloc((size_t)nh, sizeof *hw))) {
		rc = err_set(ACC_ENOMEM, "alignment evaluation: out of memory");
		goto out;
	}
	for (int64_t k = 0; k < nh; k++)
		hw[k] = (align_eval_word){ .word = aw[k].word, .start_s = aw[k].start_s, .end_s = aw[k].end_s };
	if (nh == 0)
		st->recordings_missing++;
	if (nh > INT_MAX) {
		rc = err_set(ACC_EINVAL, "%s: too many aligned words", u0->file);
		goto out;
	}
	if ((rc = align_eval_match(rw, (int)n, hw, (int)nh, st)))
		rc = err_wrap(rc, "%s", u0->file);
out:
	utterances_words_free(aw, nh);
	free(hw);
	free(rw);
	return rc;
}

int align_eval_truth(manifest *m, const char *truth_dir, const char *lang, align_eval_report *rep)
{
	int rc = 0;
	truth t = { 0 };
	norm_cache nc = { 0 };
	char path[4096], parent[4096], root[PATH_MAX];

	if ((rc = fs_join(path, sizeof path, truth_dir, "utterances.tsv")) || (rc = read_utts(&t, path)))
		goto out;
	if ((rc = fs_join(path, sizeof path, truth_dir, "words.tsv")) || (rc = read_words(&t, path, &nc)))
		goto out;
	if ((rc = fs_join(parent, sizeof parent, truth_dir, "..")))
		goto out;
	if (!realpath(parent, root)) {
		rc = err_set(ACC_EIO, "cannot resolve the corpus directory '%s': %s", parent, strerror(errno));
		goto out;
	}
	{
		int found = 0;
		if ((rc = utterances_corpus_known(m, root, &found)))
			goto out;
		if (!found) {
			rc = err_set(ACC_ENOTFOUND, "the corpus '%s' is not in the manifest %s", root, m->path);
			err_hint("ingest it first: prep ingest %s", root);
			goto out;
		}
	}
	qsort_r(t.words, (size_t)t.n_words, sizeof *t.words, cmp_word, &t);
	for (int64_t a = 0; a < t.n_words;) {
		const char *file = t.utts[t.words[a].utt].file;
		int64_t b = a + 1;
		while (b < t.n_words && !strcmp(t.utts[t.words[b].utt].file, file))
			b++;
		const char *wl = t.utts[t.words[a].utt].lang;
		if (!lang || !strcmp(lang, wl)) {
			align_eval_stats one = { 0 }, *ls = lang_stats(rep, wl);
			if (!ls) {
				rc = err_set(ACC_ENOMEM, "alignment evaluation: out of memory");
				goto out;
			}
			rc = eval_recording(m, root, &t, t.words + a, b - a, &one);
			if (!rc)
				rc = align_eval_stats_merge(ls, &one);
			if (!rc)
				rc = align_eval_stats_merge(&rep->total, &one);
			align_eval_stats_free(&one);
			if (rc)
				goto out;
		}
		a = b;
	}
	snprintf(rep->total.lang, sizeof rep->total.lang, "all");
out:
	norm_cache_free(&nc);
	truth_free(&t);
	return rc;
}
