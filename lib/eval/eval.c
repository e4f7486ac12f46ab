/*
 * eval.c — evaluation sets from the manifest and CER/WER reports (see
 * eval.h).  Corpus rates are sums of edits over sums of reference lengths
 * (metrics.h), for the totals and for every group alike.
 */
#include "eval/eval.h"
#include "eval/augment.h"
#include "base/err.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/banned.h"

/* ---- evaluation set ---- */

static char *dup_col(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	return t ? strdup((const char *)t) : NULL;
}

int eval_set_load(eval_set *s, manifest *m, const char *lang, const char *split, int subset)
{
	sqlite3_stmt *st = NULL;
	int rc, r;
	memset(s, 0, sizeof *s);
	rc = manifest_prepare(m,
		"SELECT u.id, u.utt_key, c.root, u.start_s, u.end_s, u.text_norm, sp.label, sp.gender, sp.accent,"
		" u.flags, r.path"
		" FROM utterances AS u JOIN recordings AS r ON r.id = u.recording_id"
		" JOIN corpora AS c ON c.id = r.corpus_id LEFT JOIN speakers AS sp ON sp.id = u.speaker_id"
		" WHERE u.lang = ?1 AND u.split = ?2 AND u.status = 'ok' AND u.text_norm IS NOT NULL"
		" AND (?3 = 0 OR (u.flags & ?3) != 0) ORDER BY u.id", &st);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, lang, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, split, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, subset);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if (s->n == s->cap) {
			int cap = s->cap ? s->cap * 2 : 256;
			eval_utt *u = realloc(s->u, (size_t)cap * sizeof *u);
			if (!u) {
				rc = err_set(ACC_ENOMEM, "out of memory");
				goto out;
			}
			s->u = u;
			s->cap = cap;
		}
		eval_utt *u = &s->u[s->n++];
		memset(u, 0, sizeof *u);
		u->id = sqlite3_column_int64(st, 0);
		u->utt_key = dup_col(st, 1);
		char path[4096];
		if ((rc = manifest_audio_path(path, sizeof path, (const char *)sqlite3_column_text(st, 2),
		                              (const char *)sqlite3_column_text(st, 10)))) {
			s->n--;
			goto out;
		}
		u->audio_path = strdup(path);
		u->start_s = sqlite3_column_double(st, 3);
		u->end_s = sqlite3_column_double(st, 4);
		u->ref = dup_col(st, 5);
		u->speaker = dup_col(st, 6);
		u->gender = dup_col(st, 7);
		u->accent = dup_col(st, 8);
		u->flags = sqlite3_column_int(st, 9);
		if (!u->utt_key || !u->audio_path || !u->ref) {
			rc = err_set(ACC_ENOMEM, "out of memory");
			goto out;
		}
	}
	if (r != SQLITE_DONE)
		rc = manifest_db_error(m, "reading the evaluation set");
out:
	sqlite3_finalize(st);
	if (rc)
		eval_set_free(s);
	return rc;
}

void eval_set_free(eval_set *s)
{
	for (int i = 0; i < s->n; i++) {
		eval_utt *u = &s->u[i];
		free(u->utt_key);
		free(u->audio_path);
		free(u->ref);
		free(u->speaker);
		free(u->gender);
		free(u->accent);
	}
	free(s->u);
	memset(s, 0, sizeof *s);
}

/* ---- reports ---- */

typedef struct rep_item {
	int64_t utt_id;
	char   *utt_key, *ref, *hyp, *speaker, *gender, *accent;
	double  duration_s;
	metrics_accum acc;
} rep_item;

struct eval_report {
	rep_item     *it;
	int           n, cap;
	metrics_accum total;
	double        audio_s;
};

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
		rep_item *x = &r->it[i];
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
	if (r->n == r->cap) {
		int cap = r->cap ? r->cap * 2 : 256;
		rep_item *it = realloc(r->it, (size_t)cap * sizeof *it);
		if (!it)
			return err_set(ACC_ENOMEM, "out of memory");
		r->it = it;
		r->cap = cap;
	}
	rep_item *x = &r->it[r->n];
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
	int n = 0, cap = 0;
	*out = NULL;
	*nout = 0;
	for (int i = 0; i < r->n; i++) {
		const rep_item *x = &r->it[i];
		const char *key = dim == EVAL_BY_SPEAKER ? x->speaker : dim == EVAL_BY_GENDER ? x->gender
				: dim == EVAL_BY_ACCENT ? x->accent : eval_duration_bucket(x->duration_s);
		if (!key || !*key)
			key = "unknown";
		int j;
		for (j = 0; j < n; j++)   /* groups are few (speakers: hundreds) */
			if (!strncmp(g[j].name, key, sizeof g[j].name - 1))
				break;
		if (j == n) {
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				eval_group *g2 = realloc(g, (size_t)cap * sizeof *g2);
				if (!g2) {
					free(g);
					return err_set(ACC_ENOMEM, "out of memory");
				}
				g = g2;
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

void eval_report_item(const eval_report *r, int i, eval_item *it, metrics_accum *acc)
{
	const rep_item *x = &r->it[i];
	if (it) {
		it->utt_id = x->utt_id;
		it->utt_key = x->utt_key;
		it->ref = x->ref;
		it->hyp = x->hyp;
		it->duration_s = x->duration_s;
		it->speaker = x->speaker;
		it->gender = x->gender;
		it->accent = x->accent;
	}
	if (acc)
		*acc = x->acc;
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
			const rep_item *x = &r->it[idx[i]];
			if (!metrics_counts_edits(&x->acc.word) && !metrics_counts_edits(&x->acc.chr))
				break;
			fprintf(fp, "  %-20.20s WER %6.1f%%  CER %6.1f%%\n    ref: %s\n    hyp: %s\n",
				x->utt_key ? x->utt_key : "-", 100 * rate(&x->acc.word), 100 * rate(&x->acc.chr),
				x->ref, x->hyp);
		}
	}
	free(idx);
}

int eval_report_store(const eval_report *r, manifest *m, const eval_run_info *info, int64_t *eval_id)
{
	sqlite3_stmt *st = NULL;
	int rc;
	int64_t id = 0;
	const metrics_accum *t = &r->total;
	if ((rc = manifest_begin(m)))
		return rc;
	if ((rc = manifest_prepare(m,
		"INSERT INTO eval_runs (run_id, model_dir, lang, split, subset, condition, decoder, lm_path, alpha, beta,"
		" beam, tuned_on_dev, utterances, audio_s, decode_s, ref_chars, char_errors, ref_words, word_errors,"
		" word_sub, word_del, word_ins, cer, wer)"
		" VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,?23,?24)", &st)))
		goto fail;
	if (info->run_id > 0)
		sqlite3_bind_int64(st, 1, info->run_id);
	sqlite3_bind_text(st, 2, info->model_dir ? info->model_dir : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, info->lang ? info->lang : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, info->split ? info->split : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, info->subset ? info->subset : "all", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, info->condition ? info->condition : "clean", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, info->decoder ? info->decoder : "greedy", -1, SQLITE_STATIC);
	if (info->lm_path)
		sqlite3_bind_text(st, 8, info->lm_path, -1, SQLITE_STATIC);
	if (info->beam > 0) {
		sqlite3_bind_double(st, 9, info->alpha);
		sqlite3_bind_double(st, 10, info->beta);
		sqlite3_bind_int(st, 11, info->beam);
	}
	sqlite3_bind_int(st, 12, info->tuned_on_dev);
	sqlite3_bind_int(st, 13, r->n);
	sqlite3_bind_double(st, 14, r->audio_s);
	if (info->decode_s >= 0)
		sqlite3_bind_double(st, 15, info->decode_s);
	sqlite3_bind_int64(st, 16, t->chr.ref_len);
	sqlite3_bind_int64(st, 17, metrics_counts_edits(&t->chr));
	sqlite3_bind_int64(st, 18, t->word.ref_len);
	sqlite3_bind_int64(st, 19, metrics_counts_edits(&t->word));
	sqlite3_bind_int64(st, 20, t->word.sub);
	sqlite3_bind_int64(st, 21, t->word.del);
	sqlite3_bind_int64(st, 22, t->word.ins);
	double cer = metrics_accum_cer(t), wer = metrics_accum_wer(t);
	if (isfinite(cer))
		sqlite3_bind_double(st, 23, cer);
	if (isfinite(wer))
		sqlite3_bind_double(st, 24, wer);
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = manifest_db_error(m, "inserting the evaluation");
		goto fail;
	}
	id = sqlite3_last_insert_rowid(m->db);
	sqlite3_finalize(st);
	st = NULL;
	if ((rc = manifest_prepare(m,
		"INSERT INTO eval_utterances (eval_id, utterance_id, ref, hyp, ref_chars, char_errors, ref_words,"
		" word_errors, duration_s) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)", &st)))
		goto fail;
	for (int i = 0; i < r->n; i++) {
		const rep_item *x = &r->it[i];
		if (x->utt_id <= 0)
			continue;
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, x->utt_id);
		sqlite3_bind_text(st, 3, x->ref, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, x->hyp, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, x->acc.chr.ref_len);
		sqlite3_bind_int64(st, 6, metrics_counts_edits(&x->acc.chr));
		sqlite3_bind_int64(st, 7, x->acc.word.ref_len);
		sqlite3_bind_int64(st, 8, metrics_counts_edits(&x->acc.word));
		sqlite3_bind_double(st, 9, x->duration_s);
		if (sqlite3_step(st) != SQLITE_DONE) {
			rc = manifest_db_error(m, "inserting an evaluated utterance");
			goto fail;
		}
	}
	sqlite3_finalize(st);
	st = NULL;
	if ((rc = manifest_commit(m)))
		goto fail;
	if (eval_id)
		*eval_id = id;
	return 0;
fail:
	sqlite3_finalize(st);
	manifest_rollback(m);
	return rc;
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
