/*
 * utterances.c — the utterances other stages read from the manifest (see
 * utterances.h): one query with optional filters, its rows with the audio
 * path resolved by manifest_audio_path, and the train-split funnel counts.
 */
#include "manifest/utterances.h"
#include "base/err.h"
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include "base/banned.h"

/* Every optional filter is a bound parameter that switches itself off. */
static const char utterances_sql[] =
	"SELECT u.id, u.utt_key, c.root, r.path, u.start_s, u.end_s, u.text_norm, u.split,"
	"       COALESCE(u.weight, 1.0), sp.label, sp.gender, sp.accent, u.flags"
	" FROM utterances AS u JOIN recordings AS r ON r.id = u.recording_id"
	"      JOIN corpora AS c ON c.id = r.corpus_id"
	"      LEFT JOIN speakers AS sp ON sp.id = u.speaker_id"
	"      LEFT JOIN alignments AS a ON a.utterance_id = u.id"
	" WHERE u.status = 'ok' AND u.text_norm IS NOT NULL"
	"   AND (?1 IS NULL OR u.lang = ?1)"
	"   AND (CASE WHEN ?2 IS NULL THEN u.split IN ('train', 'dev') ELSE u.split = ?2 END)"
	"   AND (?3 = 0 OR (u.flags & ?3) != 0)"
	"   AND (?4 = 0 OR length(trim(u.text_norm)) > 0)"
	"   AND (?5 = 0 OR COALESCE(a.flags, 0) = 0)"
	"   AND (?6 IS NULL OR (u.end_s - u.start_s > 0 AND u.end_s - u.start_s <= ?6))"
	" ORDER BY u.id";

static int dup_col(sqlite3_stmt *st, int col, char **out)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	*out = NULL;
	if (!t)
		return 0;
	*out = strdup((const char *)t);
	return *out ? 0 : err_set(ACC_ENOMEM, "out of memory: utterance list");
}

/* The current row of utterances_sql into *u (zeroed first). */
static int row_read(sqlite3_stmt *st, utterance *u)
{
	char path[4096];
	int rc;
	memset(u, 0, sizeof *u);
	u->id = sqlite3_column_int64(st, 0);
	TRY(manifest_audio_path(path, sizeof path, (const char *)sqlite3_column_text(st, 2),
	                        (const char *)sqlite3_column_text(st, 3)));
	if (!(u->audio_path = strdup(path))) {
		rc = err_set(ACC_ENOMEM, "out of memory: utterance list");
		goto out;
	}
	u->start_s = sqlite3_column_double(st, 4);
	u->end_s = sqlite3_column_double(st, 5);
	u->weight = sqlite3_column_double(st, 8);
	u->flags = sqlite3_column_int(st, 12);
	TRY(dup_col(st, 1, &u->utt_key));
	TRY(dup_col(st, 6, &u->text));
	TRY(dup_col(st, 7, &u->split));
	TRY(dup_col(st, 9, &u->speaker));
	TRY(dup_col(st, 10, &u->gender));
	TRY(dup_col(st, 11, &u->accent));
	if (!u->utt_key || !u->text || !u->split)
		rc = err_set(ACC_ENOMEM, "out of memory: utterance list");
out:
	if (rc)
		utterance_clear(u);
	return rc;
}

int utterances_load(manifest *m, const utterances_filter *f, utterance_list *l)
{
	sqlite3_stmt *st = NULL;
	int rc, s;
	TRY(manifest_prepare(m, utterances_sql, &st));
	if (f->lang)
		sqlite3_bind_text(st, 1, f->lang, -1, SQLITE_TRANSIENT);
	if (f->split)
		sqlite3_bind_text(st, 2, f->split, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 3, f->flags_any);
	sqlite3_bind_int(st, 4, f->nonblank ? 1 : 0);
	sqlite3_bind_int(st, 5, f->unflagged ? 1 : 0);
	if (f->by_duration)
		sqlite3_bind_double(st, 6, f->max_seconds);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		TRY(ARRAY_GROW(l->u, l->cap, l->n + 1));
		TRY(row_read(st, &l->u[l->n]));
		l->n++;
	}
	if (s != SQLITE_DONE)
		rc = manifest_db_error(m, "cannot read the utterances");
out:
	sqlite3_finalize(st);
	return rc;
}

void utterance_clear(utterance *u)
{
	free(u->utt_key);
	free(u->audio_path);
	free(u->text);
	free(u->split);
	free(u->speaker);
	free(u->gender);
	free(u->accent);
	memset(u, 0, sizeof *u);
}

void utterances_free(utterance_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		utterance_clear(&l->u[i]);
	free(l->u);
	memset(l, 0, sizeof *l);
}

int utterances_train_funnel(manifest *m, const char *lang, double max_seconds, long long n[6])
{
	sqlite3_stmt *st = NULL;
	int rc;
	memset(n, 0, 6 * sizeof *n);
	TRY(manifest_prepare(m,
		"SELECT count(*), "
		"  coalesce(sum(u.status = 'ok'), 0), "
		"  coalesce(sum(u.status = 'ok' AND u.split = 'train'), 0), "
		"  coalesce(sum(u.status = 'ok' AND u.split = 'train' AND length(trim(coalesce(u.text_norm, ''))) > 0), 0), "
		"  coalesce(sum(u.status = 'ok' AND u.split = 'train' AND length(trim(coalesce(u.text_norm, ''))) > 0 "
		"      AND u.end_s - u.start_s > 0 AND u.end_s - u.start_s <= ?2), 0), "
		"  coalesce(sum(u.status = 'ok' AND u.split = 'train' AND length(trim(coalesce(u.text_norm, ''))) > 0 "
		"      AND u.end_s - u.start_s > 0 AND u.end_s - u.start_s <= ?2 AND coalesce(a.flags, 0) = 0), 0) "
		"FROM utterances u LEFT JOIN alignments a ON a.utterance_id = u.id "
		"WHERE ?1 IS NULL OR u.lang = ?1", &st));
	if (lang)
		sqlite3_bind_text(st, 1, lang, -1, SQLITE_TRANSIENT);
	sqlite3_bind_double(st, 2, max_seconds);
	if (sqlite3_step(st) == SQLITE_ROW)
		for (int i = 0; i < 6; i++)
			n[i] = sqlite3_column_int64(st, i);
	else
		rc = manifest_db_error(m, "cannot count the utterances");
out:
	sqlite3_finalize(st);
	return rc;
}

int utterances_corpus_known(manifest *m, const char *root, int *found)
{
	sqlite3_stmt *st = NULL;
	int rc = manifest_prepare(m, "SELECT count(*) FROM corpora WHERE root = ?1", &st);
	*found = 0;
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, root, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		*found = sqlite3_column_int64(st, 0) > 0;
	else
		rc = manifest_db_error(m, "looking up a corpus");
	sqlite3_finalize(st);
	return rc;
}

int utterances_recording_find(manifest *m, const char *root, const char *path, int64_t *id)
{
	sqlite3_stmt *st = NULL;
	int rc = manifest_prepare(m, "SELECT r.id FROM recordings AS r JOIN corpora AS c ON c.id = r.corpus_id "
				  "WHERE c.root = ?1 AND r.path = ?2 ORDER BY r.id LIMIT 1", &st);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, root, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
	int s = sqlite3_step(st);
	if (s == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	else if (s == SQLITE_DONE)
		rc = err_set(ACC_ENOTFOUND, "no recording '%s' in the corpus '%s'", path, root);
	else
		rc = manifest_db_error(m, "looking up a recording");
	sqlite3_finalize(st);
	return rc;
}

void utterances_words_free(utterances_word *w, int64_t n)
{
	for (int64_t k = 0; w && k < n; k++)
		free(w[k].word);
	free(w);
}

int utterances_recording_words(manifest *m, int64_t recording_id, utterances_word **w, int64_t *n)
{
	sqlite3_stmt *st = NULL;
	utterances_word *a = NULL;
	size_t cap = 0;
	int64_t k = 0;
	int rc, s;
	*w = NULL;
	*n = 0;
	if ((rc = manifest_prepare(m, "SELECT w.word, w.start_s, w.end_s FROM align_words AS w "
				   "JOIN utterances AS u ON u.id = w.utterance_id "
				   "JOIN alignments AS a ON a.utterance_id = u.id "
				   "WHERE u.recording_id = ?1 AND u.status = 'ok' AND a.status = 'ok' "
				   "ORDER BY u.start_s, u.id, w.idx", &st)))
		return rc;
	sqlite3_bind_int64(st, 1, recording_id);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		if ((rc = ARRAY_GROW(a, cap, (size_t)k + 1)))
			goto out;
		const unsigned char *t = sqlite3_column_text(st, 0);
		if (!(a[k].word = strdup(t ? (const char *)t : ""))) {
			rc = err_set(ACC_ENOMEM, "out of memory reading aligned words");
			goto out;
		}
		a[k].start_s = sqlite3_column_double(st, 1);
		a[k].end_s = sqlite3_column_double(st, 2);
		k++;
	}
	if (s != SQLITE_DONE)
		rc = manifest_db_error(m, "reading aligned words");
out:
	sqlite3_finalize(st);
	if (rc) {
		utterances_words_free(a, k);
		return rc;
	}
	*w = a;
	*n = k;
	return 0;
}
