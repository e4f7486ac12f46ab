/*
 * train_db.c — the manifest side of a training run, and the only file of
 * lib/train that talks to SQLite: the usable train/dev utterances (read
 * through manifest/utterances.h), the explanation when none is usable, the
 * run's train_runs row and its train_metrics.  Under mpirun only rank 0
 * opens the manifest and writes; the others return at once.
 */
#include "train/train_ctx.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "base/dist.h"
#include "base/err.h"
#include "manifest/utterances.h"
#include "base/banned.h"

int train_db_open(train_ctx *t)
{
	const trainer_opts *o = t->o;
	utterance_list l = { 0 };
	int rc;
	TRY(manifest_open(&t->mf, o->manifest, 0));
	if (!o->eval_only)
		TRY(manifest_run_begin(t->mf, "train", o->argc, o->argv, &t->run_id));
	utterances_filter f = { .lang = o->data_lang, .split = NULL, .nonblank = 1, .unflagged = !o->include_flagged,
	                        .by_duration = 1, .max_seconds = o->max_utt_seconds };
	TRY(utterances_load(t->mf, &f, &l));
	TRY(train_data_take(&t->d, &l));
out:
	utterances_free(&l);
	return rc;
}

/* Why no train utterance is usable: count, in the manifest, what each of
 * train_db_open's filters leaves (language, status, split, text, duration,
 * align flags) and name the first one that leaves nothing.  Returns the
 * error (ACC_ENOTFOUND) with its hint. */
int train_db_explain_no_train(train_ctx *t)
{
	const trainer_opts *o = t->o;
	const char *L = o->data_lang;
	long long n[6];
	int rc = utterances_train_funnel(t->mf, L, o->max_utt_seconds, n);
	if (rc)
		return rc;
	char of[96] = "";
	if (L)
		snprintf(of, sizeof of, " of language '%s'", L);
	if (n[0] == 0 && L) {
		char langs[512];
		if (manifest_langs_describe(t->mf, langs, sizeof langs))
			langs[0] = 0;
		rc = err_set(ACC_ENOTFOUND, "no utterances%s in %s%s%s%s", of, o->manifest, *langs ? " (it has: " : "",
		             langs, *langs ? ")" : "");
		if (*langs)
			err_hint("train uses the utterances of --lang unless --data-lang CODE (or --data-lang all) says "
			         "otherwise; to label them '%s', run `prep relabel --lang %s`", L, L);
		else
			err_hint("ingest a corpus first: `prep ingest CORPUS`");
	} else if (n[0] == 0) {
		rc = err_set(ACC_ENOTFOUND, "%s has no utterances", o->manifest);
		err_hint("ingest a corpus first: `prep ingest CORPUS`");
	} else if (n[1] == 0) {
		rc = err_set(ACC_ENOTFOUND, "none of the %lld utterances%s has status 'ok'", n[0], of);
		err_hint("pieces of long recordings wait for `align run`; see `db query \"SELECT status, count(*) "
		         "FROM utterances GROUP BY status\"`");
	} else if (n[2] == 0) {
		rc = err_set(ACC_ENOTFOUND, "none of the %lld usable utterances%s is in the train split", n[1], of);
		err_hint("assign splits with `db split`");
	} else if (n[3] == 0) {
		rc = err_set(ACC_ENOTFOUND, "all %lld train utterances%s have an empty normalized text", n[2], of);
		err_hint("check the normalization (`prep ingest --norm`, --rules)");
	} else if (n[4] == 0) {
		rc = err_set(ACC_ENOTFOUND, "all %lld train utterances%s are longer than --max-seconds %g", n[3], of,
		             o->max_utt_seconds);
		err_hint("raise --max-seconds");
	} else if (n[5] == 0 && !o->include_flagged) {
		rc = err_set(ACC_ENOTFOUND, "all %lld train utterances%s are flagged by `align run`", n[4], of);
		err_hint("--include-flagged trains on them anyway (a weak alignment model flags almost everything); "
		         "see `db query \"SELECT * FROM align_flag_counts\"`");
	} else {
		rc = err_set(ACC_ENOTFOUND, "none of the %lld train utterances%s can be encoded with the '%s' vocabulary",
		             o->include_flagged ? n[4] : n[5], of, o->lang);
		err_hint("the transcripts hold no character of the model's vocabulary for '%s' and it has no <unk>",
		         o->lang);
	}
	return rc;
}

/* A statement for a write of rank 0 (mpirun: only rank 0 writes): NULL
 * with *rc = 0 on the other ranks, NULL with *rc set when it cannot be
 * prepared. */
static sqlite3_stmt *db_stmt(train_ctx *t, const char *sql, int *rc)
{
	sqlite3_stmt *st = NULL;
	*rc = dist_rank() > 0 ? 0 : manifest_prepare(t->mf, sql, &st);
	return st;
}

/* Run a prepared write to its end and finalize it; ACC_EDB saying what
 * failed. */
static int db_write(train_ctx *t, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : manifest_db_error(t->mf, what);
	sqlite3_finalize(st);
	return rc;
}

static const char *sampling_name(train_sampling s)
{
	return s == TRAIN_SAMPLE_UNIFORM ? "uniform" : s == TRAIN_SAMPLE_WEIGHTED_LOSS ? "weighted-loss" : "balanced";
}

int train_db_run_insert(train_ctx *t)
{
	const trainer_opts *o = t->o;
	sqlite3_stmt *st = NULL;
	char sn[32];
	if (dist_rank() > 0)
		return 0;   /* rank 0 writes (mpirun) */
	/* A run still 'running' into the same output directory was killed (a
	 * live one would be overwriting this run's files): say so, else the
	 * row stays 'running' forever. */
	int rc = manifest_prepare(t->mf, "UPDATE train_runs SET status = 'interrupted' WHERE status = 'running' AND out_dir = ?1",
				  &st);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, o->out_dir, -1, SQLITE_TRANSIENT);
	if ((rc = db_write(t, st, "cannot mark interrupted training runs")))
		return rc;
	st = NULL;
	rc = manifest_prepare(t->mf,
		"INSERT INTO train_runs (run_id, lang, model_dir, out_dir, strategy, bottleneck, vocab_size, lr, "
		"steps, warmup, batch_seconds, accum, seed, sampling, n_train, n_dev) "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)", &st);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, t->run_id);
	sqlite3_bind_text(st, 2, o->lang, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, o->model_dir, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, o->out_dir, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, trainer_strategy_name(t->o->base_from, t->m->cfg.num_hidden_layers, sn, sizeof sn), -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 6, t->m->cfg.adapter_attn_dim);
	sqlite3_bind_int(st, 7, t->m->cfg.vocab_size);
	sqlite3_bind_double(st, 8, o->lr);
	sqlite3_bind_int64(st, 9, o->steps);
	sqlite3_bind_int64(st, 10, o->warmup);
	sqlite3_bind_double(st, 11, o->batch_seconds);
	sqlite3_bind_int(st, 12, o->accum);
	sqlite3_bind_int64(st, 13, (sqlite3_int64)o->seed);
	sqlite3_bind_text(st, 14, sampling_name(o->sampling), -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 15, t->d.n_train);
	sqlite3_bind_int(st, 16, t->d.n_dev);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = manifest_db_error(t->mf, "cannot record the training run");
	else
		t->train_run_id = sqlite3_last_insert_rowid(t->mf->db);
	sqlite3_finalize(st);
	return rc;
}

int train_db_metric(train_ctx *t, const char *split, double loss, double cer, double wer, double lr,
                     double gnorm, double audio_s, int skipped)
{
	int rc;
	sqlite3_stmt *st = db_stmt(t,
		"INSERT OR REPLACE INTO train_metrics (train_run_id, step, split, loss, cer, wer, lr, grad_norm, "
		"audio_s, skipped) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)", &rc);
	if (!st)
		return rc;
	double v[6] = { loss, cer, wer, lr, gnorm, audio_s };
	sqlite3_bind_int64(st, 1, t->train_run_id);
	sqlite3_bind_int64(st, 2, t->step);
	sqlite3_bind_text(st, 3, split, -1, SQLITE_STATIC);
	for (int i = 0; i < 6; i++)
		if (isfinite(v[i]))
			sqlite3_bind_double(st, 4 + i, v[i]);
	sqlite3_bind_int(st, 10, skipped);
	return db_write(t, st, "cannot record a training metric");
}

int train_db_run_update(train_ctx *t, const char *status)
{
	int rc;
	sqlite3_stmt *st = db_stmt(t,
		"UPDATE train_runs SET steps_done = ?2, skipped = ?3, best_step = ?4, best_dev_cer = ?5, "
		"best_dev_wer = ?6, status = ?7, updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE id = ?1", &rc);
	if (!st)
		return rc;
	sqlite3_bind_int64(st, 1, t->train_run_id);
	sqlite3_bind_int64(st, 2, t->step);
	sqlite3_bind_int64(st, 3, t->skipped_total);
	if (t->best_step >= 0) {
		sqlite3_bind_int64(st, 4, t->best_step);
		sqlite3_bind_double(st, 5, t->best_cer);
		sqlite3_bind_double(st, 6, t->best_wer);
	}
	sqlite3_bind_text(st, 7, status, -1, SQLITE_STATIC);
	return db_write(t, st, "cannot update the training run");
}

void train_db_close(train_ctx *t, int rc)
{
	const trainer_opts *o = t->o;
	if (!t->mf || t->run_id <= 0)
		return;
	char counts[256];
	snprintf(counts, sizeof counts,
	         "{\"steps\":%lld,\"skipped\":%lld,\"train_utterances\":%d,\"dev_utterances\":%d,"
	         "\"precision\":\"%s\"}",
	         (long long)t->step, (long long)t->skipped_total, t->d.n_train, t->d.n_dev, o->bf16 ? "bf16" : "fp32");
	if (rc && t->train_run_id > 0)
		train_db_run_update(t, "failed");
	manifest_run_end(t->mf, t->run_id, rc ? err_exit_code(rc) : 0, counts);
}
