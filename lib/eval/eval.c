/*
 * eval.c — CER/WER reports and audio conditions (see eval.h).  Corpus rates are sums of edits over sums of reference lengths
 * (metrics.h), for the totals and for every group alike.
 */
#include "eval/eval.h"
#include "eval/augment.h"
#include "base/err.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/banned.h"

/* ---- reports ---- */

int eval_report_new(eval_report **r)
{
	*r = calloc(1, sizeof **r);
	if (!*r)
		return err_set(ACC_ENOMEM, "out of memory");
	metrics_accum_init(&(*r)->total);
	return 0;
}

void eval_report_free(eval_report *r)
{
	if (!r)
		return;
	for (int i = 0; i < r->n; i++) {
		eval_pair *x = &r->it[i];
		free(x->utt_key);
		free(x->ref);
		free(x->hyp);
		free(x->speaker);
		free(x->gender);
		free(x->accent);
	}
	free(r->it);
	free(r);
}

static int sdup(const char *s, char **out)
{
	*out = NULL;
	if (!s)
		return 0;
	*out = strdup(s);
	return *out ? 0 : err_set(ACC_ENOMEM, "out of memory");
}

int eval_report_add(eval_report *r, const eval_item *in)
{
	metrics_accum acc;
	int rc;
	metrics_accum_init(&acc);
	if ((rc = metrics_accum_add(&acc, in->ref, in->hyp)))
		return rc;
	size_t cap = (size_t)r->cap;
	if ((rc = ARRAY_GROW(r->it, cap, (size_t)r->n + 1)))
		return rc;
	r->cap = (int)cap;
	eval_pair *x = &r->it[r->n];
	memset(x, 0, sizeof *x);
	x->utt_id = in->utt_id;
	x->duration_s = in->duration_s;
	x->acc = acc;
	if ((rc = sdup(in->utt_key, &x->utt_key)) || (rc = sdup(in->ref, &x->ref)) || (rc = sdup(in->hyp, &x->hyp)) ||
	    (rc = sdup(in->speaker, &x->speaker)) || (rc = sdup(in->gender, &x->gender)) ||
	    (rc = sdup(in->accent, &x->accent))) {
		free(x->utt_key); free(x->ref); free(x->hyp); free(x->speaker); free(x->gender); free(x->accent);
		return rc;
	}
	r->n++;
	metrics_accum_merge(&r->total, &acc);
	r->audio_s += in->duration_s > 0 ? in->duration_s : 0;
	return 0;
}

const metrics_accum *eval_report_total(const eval_report *r) { return &r->total; }
int eval_report_count(const eval_report *r) { return r->n; }
double eval_report_audio_s(const eval_report *r) { return r->audio_s; }

static const char *buckets[] = { "0-2", "2-5", "5-10", "10-20", "20+" };

const char *eval_duration_bucket(double s)
{
	return s < 2 ? buckets[0] : s < 5 ? buckets[1] : s < 10 ? buckets[2] : s < 20 ? buckets[3] : buckets[4];
}

static int bucket_rank(const char *name)
{
	for (int i = 0; i < 5; i++)
		if (!strcmp(name, buckets[i]))
			return i;
	return 5;
}

static int cmp_group_name(const void *a, const void *b)
{
	return strcmp(((const eval_group *)a)->name, ((const eval_group *)b)->name);
}

static int cmp_group_bucket(const void *a, const void *b)
{
	return bucket_rank(((const eval_group *)a)->name) - bucket_rank(((const eval_group *)b)->name);
}

int eval_report_groups(const eval_report *r, eval_dim dim, eval_group **out, int *nout)
{
	eval_group *g = NULL;
	int n = 0;
	size_t cap = 0;
	*out = NULL;
	*nout = 0;
	for (int i = 0; i < r->n; i++) {
		const eval_pair *x = &r->it[i];
		const char *key = dim == EVAL_BY_SPEAKER ? x->speaker : dim == EVAL_BY_GENDER ? x->gender
				: dim == EVAL_BY_ACCENT ? x->accent : eval_duration_bucket(x->duration_s);
		if (!key || !*key)
			key = "unknown";
		int j;
		for (j = 0; j < n; j++)   /* groups are few (speakers: hundreds) */
			if (!strncmp(g[j].name, key, sizeof g[j].name - 1))
				break;
		if (j == n) {
			int rc = ARRAY_GROW(g, cap, (size_t)n + 1);
			if (rc) {
				free(g);
				return rc;
			}
			snprintf(g[n].name, sizeof g[n].name, "%s", key);
			metrics_accum_init(&g[n].acc);
			n++;
		}
		metrics_accum_merge(&g[j].acc, &x->acc);
	}
	if (n)
		qsort(g, n, sizeof *g, dim == EVAL_BY_DURATION ? cmp_group_bucket : cmp_group_name);
	*out = g;
	*nout = n;
	return 0;
}

static double rate(const metrics_counts *c) { return metrics_counts_rate(c); }

static const eval_report *worst_r;
static int cmp_worst(const void *a, const void *b)
{
	int i = *(const int *)a, j = *(const int *)b;
	double wi = rate(&worst_r->it[i].acc.word), wj = rate(&worst_r->it[j].acc.word);
	if (wi != wj)
		return wi > wj ? -1 : 1;
	double ci = rate(&worst_r->it[i].acc.chr), cj = rate(&worst_r->it[j].acc.chr);
	if (ci != cj)
		return ci > cj ? -1 : 1;
	return i - j;
}

int eval_report_worst(const eval_report *r, int **idx)
{
	*idx = malloc(((size_t)r->n + 1) * sizeof **idx);
	if (!*idx)
		return err_set(ACC_ENOMEM, "out of memory");
	for (int i = 0; i < r->n; i++)
		(*idx)[i] = i;
	/* qsort has no context argument in C11; reports are built and printed
	 * by one thread. */
	worst_r = r;
	qsort(*idx, r->n, sizeof **idx, cmp_worst);
	return 0;
}

static void print_row(FILE *fp, const char *name, const metrics_accum *a)
{
	fprintf(fp, "  %-24.24s %6lld  %7.2f  %7.2f  %8lld  %7lld\n", name, a->n, 100 * metrics_accum_cer(a),
		100 * metrics_accum_wer(a), a->chr.ref_len, a->word.ref_len);
}

void eval_report_print(const eval_report *r, FILE *fp, const char *title, int worst_n)
{
	static const struct { eval_dim d; const char *name; } dims[] = {
		{ EVAL_BY_GENDER, "gender" }, { EVAL_BY_ACCENT, "accent/dialect" },
		{ EVAL_BY_DURATION, "duration (s)" }, { EVAL_BY_SPEAKER, "speaker" },
	};
	fprintf(fp, "%s\n", title ? title : "evaluation");
	fprintf(fp, "  %-24s %6s  %7s  %7s  %8s  %7s\n", "", "utts", "CER %", "WER %", "ref chr", "ref wrd");
	print_row(fp, "all", &r->total);
	for (size_t k = 0; k < sizeof dims / sizeof *dims; k++) {
		eval_group *g = NULL;
		int n = 0;
		if (eval_report_groups(r, dims[k].d, &g, &n))
			continue;
		/* A dimension with only "unknown" says nothing. */
		if (n >= 1 && !(n == 1 && !strcmp(g[0].name, "unknown"))) {
			fprintf(fp, " by %s\n", dims[k].name);
			for (int i = 0; i < n; i++)
				print_row(fp, g[i].name, &g[i].acc);
		}
		free(g);
	}
	int *idx = NULL;
	if (worst_n > 0 && r->n && !eval_report_worst(r, &idx)) {
		fprintf(fp, " worst utterances\n");
		for (int i = 0; i < worst_n && i < r->n; i++) {
			const eval_pair *x = &r->it[idx[i]];
			if (!metrics_counts_edits(&x->acc.word) && !metrics_counts_edits(&x->acc.chr))
				break;
			fprintf(fp, "  %-20.20s WER %6.1f%%  CER %6.1f%%\n    ref: %s\n    hyp: %s\n",
				x->utt_key ? x->utt_key : "-", 100 * rate(&x->acc.word), 100 * rate(&x->acc.chr),
				x->ref, x->hyp);
		}
	}
	free(idx);
}

/* ---- audio conditions ---- */

void eval_condition_set(eval_condition *c, eval_cond_kind kind, double value)
{
	c->kind = kind;
	c->value = value;
	switch (kind) {
	case EVAL_COND_CLEAN: snprintf(c->name, sizeof c->name, "clean"); break;
	case EVAL_COND_WHITE: snprintf(c->name, sizeof c->name, "white-snr%g", value); break;
	case EVAL_COND_BABBLE: snprintf(c->name, sizeof c->name, "babble-snr%g", value); break;
	case EVAL_COND_SPEED: snprintf(c->name, sizeof c->name, "speed%g", value); break;
	case EVAL_COND_GAIN: snprintf(c->name, sizeof c->name, "gain%+g", value); break;
	}
}

int eval_condition_apply(const eval_condition *c, float **x, int64_t *n, const float *const *others,
			 const int64_t *others_n, int n_others, uint64_t seed)
{
	switch (c->kind) {
	case EVAL_COND_CLEAN:
		return 0;
	case EVAL_COND_WHITE:
		return augment_white_noise(*x, *n, c->value, seed);
	case EVAL_COND_BABBLE:
		return augment_babble(*x, *n, others, others_n, n_others, c->value, seed);
	case EVAL_COND_GAIN:
		augment_gain(*x, *n, c->value, 1);
		return 0;
	case EVAL_COND_SPEED: {
		float *y;
		int64_t ny;
		int rc = augment_speed(*x, *n, c->value, &y, &ny);
		if (rc)
			return rc;
		free(*x);
		*x = y;
		*n = ny;
		return 0;
	}
	}
	return err_set(ACC_EINVAL, "unknown audio condition");
}
