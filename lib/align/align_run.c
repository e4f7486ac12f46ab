/*
 * align_run.c — the align stage over a manifest (see align_run.h): the
 * work list and its resume hash, the batches written in one transaction
 * each, long recordings segmented into new utterances, the same run shared
 * among mpirun ranks, `show` and `export`.  Every SQL statement of
 * lib/align is here; the alignment itself is the pure core's.
 */
#include "align/align_run.h"
#include "align/align_dist.h"
#include "align/align_segment.h"
#include "audio/audio.h"
#include "base/dist.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "base/progress.h"
#include "manifest/balance.h"
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/banned.h"

volatile int align_run_stop;

/* The alignment's identity: an alignment whose stored align_hash equals
 * this is current (the run skips it). */
static void align_hash(const char *text, const char *model_id, const char *lang, align_oov_policy pol,
		       const align_params *p, char hex[65])
{
	char meta[256];
	/* "labels 2": romanized alignments made before word rows kept the
	 * transcript's words are stale */
	int ml = snprintf(meta, sizeof meta, "\n%s\n%s\n%s\n%d\n%d%s", model_id, lang, align_oov_name(pol), p->star_edges,
			  p->window, pol == ALIGN_OOV_ROMANIZE ? "\nlabels 2" : "");
	size_t tl = text ? strlen(text) : 0;
	char *buf = malloc(tl + ml + 1);
	if (!buf) {
		memset(hex, '0', 64);
		hex[64] = 0;
		return;
	}
	memcpy(buf, text ? text : "", tl);
	memcpy(buf + tl, meta, ml);
	fs_sha256_buf(buf, tl + ml, hex);
	free(buf);
}

/* ------------------------------------------------------------- the run */

typedef struct work_item {
	int64_t id, rec;
	double  start, end;
	char   *text;
	char   *key;
	char   *raw, *profile;   /* text_raw, norm_profile: for the labels */
} work_item;

static void work_free(work_item *w, int64_t n)
{
	for (int64_t i = 0; i < n; i++) {
		free(w[i].text);
		free(w[i].key);
		free(w[i].raw);
		free(w[i].profile);
	}
	free(w);
}

static int load_work(manifest *m, const align_run_opts *o, const char *model_id, work_item **out, int64_t *nout,
		     align_summary *sum)
{
	sqlite3_stmt *st = NULL;
	work_item *w = NULL;
	int64_t n = 0;
	size_t cap = 0;
	int rc = manifest_prepare(m,
				  "SELECT u.id, u.recording_id, u.start_s, u.end_s, u.text_norm, u.utt_key, a.align_hash, u.text_raw, "
				  "u.norm_profile "
				  "FROM utterances AS u LEFT JOIN alignments AS a ON a.utterance_id = u.id "
				  "WHERE u.lang = ?1 AND u.status = 'ok' ORDER BY u.recording_id, u.start_s, u.id",
				  &st);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, o->lang, -1, SQLITE_STATIC);
	int s;
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		const char *text = (const char *)sqlite3_column_text(st, 4);
		const char *have = (const char *)sqlite3_column_text(st, 6);
		char want[65];
		sum->candidates++;
		align_hash(text, model_id, o->lang, o->p.oov, &o->p, want);
		if (!o->redo && have && !strcmp(have, want)) {
			sum->current++;
			continue;
		}
		if (o->limit && n >= o->limit)
			continue;
		if ((rc = ARRAY_GROW(w, cap, (size_t)n + 1)))
			goto out;
		w[n].id = sqlite3_column_int64(st, 0);
		w[n].rec = sqlite3_column_int64(st, 1);
		w[n].start = sqlite3_column_double(st, 2);
		w[n].end = sqlite3_column_double(st, 3);
		w[n].text = text ? strdup(text) : NULL;
		w[n].key = strdup((const char *)sqlite3_column_text(st, 5));
		const char *raw = (const char *)sqlite3_column_text(st, 7), *prof = (const char *)sqlite3_column_text(st, 8);
		w[n].raw = raw ? strdup(raw) : NULL;
		w[n].profile = prof ? strdup(prof) : NULL;
		n++;
	}
	if (s != SQLITE_DONE)
		rc = manifest_db_error(m, "cannot list utterances to align");
out:
	sqlite3_finalize(st);
	if (rc) {
		work_free(w, n);
		return rc;
	}
	*out = w;
	*nout = n;
	return 0;
}

/* One finished utterance waiting to be written. */
typedef struct done_item {
	int64_t id;
	double  t0;            /* time of frame 0 within the recording */
	char    hash[65];
	char   *oov_json;
	align_result r;
} done_item;

static char *oov_to_json(const vocab_oov *o)
{
	if (!o->n)
		return NULL;
	json_t *j = json_object();
	for (int i = 0; j && i < o->n; i++)
		json_object_set_new(j, o->chars[i].ch, json_integer(o->chars[i].count));
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	return s;
}

static char *chars_to_json(const align_result *r, const vocab *v, int V, double t0)
{
	json_t *a = json_array();
	for (int64_t j = 0; a && r->tok && j < r->ntok; j++) {
		int id = r->tok_ids[j];
		if (id == V || id == vocab_delim_id(v))
			continue;
		const align_span *s = &r->tok[j];
		json_array_append_new(a, json_pack("[s, f, f, f]", vocab_token(v, id) ? vocab_token(v, id) : "?",
						   t0 + align_frame_time(s->start), t0 + align_frame_time(s->end), s->mean_p));
	}
	char *s = a ? json_dumps(a, JSON_COMPACT | JSON_REAL_PRECISION(9)) : NULL;
	json_decref(a);
	return s;
}

/* End the transaction of a store: commit when rc is 0, else roll back and
 * return rc. */
static int tx_end(manifest *m, int rc)
{
	if (rc) {
		manifest_rollback(m);
		return rc;
	}
	return manifest_commit(m);
}

static int write_batch(manifest *m, done_item *d, int nd, const align_run_opts *o, const char *model_id,
		       const vocab *v, int V, int64_t run_id)
{
	sqlite3_stmt *ins = NULL, *del = NULL, *wins = NULL;
	int rc;
	if ((rc = manifest_begin(m)))
		return rc;
	if ((rc = manifest_prepare(m,
				   "INSERT OR REPLACE INTO alignments (utterance_id, run_id, lang, model_id, align_hash, status, frames, "
				   "tokens, mean_logp, min_window_logp, chars_per_s, lead_s, trail_s, oov, flags, message, chars) "
				   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
				   &ins)) ||
	    (rc = manifest_prepare(m, "DELETE FROM align_words WHERE utterance_id = ?1", &del)) ||
	    (rc = manifest_prepare(m,
				   "INSERT INTO align_words (utterance_id, idx, word, start_s, end_s, mean_logp, score, label, romanized) "
				   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
				   &wins)))
		goto out;
	for (int i = 0; i < nd; i++) {
		const align_result *r = &d[i].r;
		char *chars = r->status_ok ? chars_to_json(r, v, V, d[i].t0) : NULL;
		sqlite3_reset(ins);
		sqlite3_bind_int64(ins, 1, d[i].id);
		if (run_id)
			sqlite3_bind_int64(ins, 2, run_id);
		else
			sqlite3_bind_null(ins, 2);
		sqlite3_bind_text(ins, 3, o->lang, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 4, model_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 5, d[i].hash, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 6, r->status_ok ? "ok" : "failed", -1, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 7, r->frames);
		sqlite3_bind_int64(ins, 8, r->tokens);
		for (int c = 9; c <= 13; c++)
			sqlite3_bind_null(ins, c);
		if (r->status_ok) {
			sqlite3_bind_double(ins, 9, r->mean_logp);
			sqlite3_bind_double(ins, 10, r->min_window_logp);
			sqlite3_bind_double(ins, 11, r->chars_per_s);
			sqlite3_bind_double(ins, 12, r->lead_s);
			sqlite3_bind_double(ins, 13, r->trail_s);
		}
		if (d[i].oov_json)
			sqlite3_bind_text(ins, 14, d[i].oov_json, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(ins, 14);
		sqlite3_bind_int(ins, 15, r->flags);
		if (r->message[0])
			sqlite3_bind_text(ins, 16, r->message, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(ins, 16);
		if (chars)
			sqlite3_bind_text(ins, 17, chars, -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_null(ins, 17);
		free(chars);
		if (sqlite3_step(ins) != SQLITE_DONE) {
			rc = manifest_db_error(m, "cannot store an alignment");
			goto out;
		}
		sqlite3_reset(del);
		sqlite3_bind_int64(del, 1, d[i].id);
		if (sqlite3_step(del) != SQLITE_DONE) {
			rc = manifest_db_error(m, "cannot replace word timings");
			goto out;
		}
		for (int64_t k = 0; r->status_ok && k < r->nwords; k++) {
			const align_span *w = &r->words[k];
			sqlite3_reset(wins);
			sqlite3_bind_int64(wins, 1, d[i].id);
			sqlite3_bind_int64(wins, 2, k);
			sqlite3_bind_text(wins, 3, r->word_text[k], -1, SQLITE_STATIC);
			sqlite3_bind_double(wins, 4, d[i].t0 + align_frame_time(w->start));
			sqlite3_bind_double(wins, 5, d[i].t0 + align_frame_time(w->end));
			sqlite3_bind_double(wins, 6, w->mean_logp);
			sqlite3_bind_double(wins, 7, w->mean_p);
			if (r->word_label)
				sqlite3_bind_text(wins, 8, r->word_label[k], -1, SQLITE_STATIC);
			else
				sqlite3_bind_null(wins, 8);
			if (r->word_rom)
				sqlite3_bind_text(wins, 9, r->word_rom[k], -1, SQLITE_STATIC);
			else
				sqlite3_bind_null(wins, 9);
			if (sqlite3_step(wins) != SQLITE_DONE) {
				rc = manifest_db_error(m, "cannot store word timings");
				goto out;
			}
		}
	}
out:
	sqlite3_finalize(ins);
	sqlite3_finalize(del);
	sqlite3_finalize(wins);
	return tx_end(m, rc);
}

/* Align one work item: audio, emissions, Viterbi.  Failures of the item
 * itself (decode error, impossible) become flags in d->r; only resource or
 * emitter failures return < 0. */
static int align_item(manifest *m, const work_item *w, const align_run_opts *o, emitter *em, const vocab *v,
		      done_item *d, align_summary *sum, char *path_cache, int64_t *path_rec, vocab_oov *run_oov,
		      align_labeler *lab)
{
	float *x = NULL, *lp = NULL;
	int64_t n = 0, T = 0, nid = 0;
	int *ids = NULL;
	char *used = NULL;
	vocab_oov oov = { 0 };
	int rc = 0;
	memset(d, 0, sizeof *d);
	d->id = w->id;
	d->t0 = round(w->start * AUDIO_RATE) / AUDIO_RATE;
	if ((rc = align_tokens(v, w->text, o->p.oov, em->V, &ids, &nid, &oov, &used))) {
		if (rc == ACC_ENOMEM)
			goto out;
		d->r.flags |= ALIGN_FLAG_ERROR | ALIGN_FLAG_OOV;
		snprintf(d->r.message, sizeof d->r.message, "%s", err_msg());
		rc = 0;
		goto out;
	}
	if (oov.n) {
		char desc[200];
		vocab_oov_describe(&oov, desc, sizeof desc);
		d->oov_json = oov_to_json(&oov);
		sum->oov_total += oov.total;
		if (run_oov && (rc = vocab_oov_merge(run_oov, &oov)))
			goto out;
		if (o->p.oov == ALIGN_OOV_ERROR) {
			d->r.flags |= ALIGN_FLAG_OOV;
			snprintf(d->r.message, sizeof d->r.message, "characters missing from the vocabulary: %s", desc);
			goto out;
		}
		/* mostly wildcards or <unk>: the vocabulary cannot express the text */
		int64_t letters = 0;
		for (int64_t k = 0; k < nid; k++)
			letters += ids[k] != vocab_delim_id(v);
		if (o->p.oov != ALIGN_OOV_ROMANIZE && 2 * oov.total > letters) {
			d->r.flags |= ALIGN_FLAG_OOV;
			snprintf(d->r.message, sizeof d->r.message,
				 "the vocabulary cannot express this transcript (%lld of %lld characters missing: %s)",
				 (long long)oov.total, (long long)letters, desc);
			goto out;
		}
	}
	if (nid == 0) {
		/* nothing to align: no need to decode or run the model */
		d->r.flags |= ALIGN_FLAG_EMPTY_TEXT;
		snprintf(d->r.message, sizeof d->r.message, "nothing to align: empty transcript");
		goto out;
	}
	if (*path_rec != w->rec) {
		if ((rc = manifest_recording_abspath(m, w->rec, path_cache, 4096)))
			goto out;
		*path_rec = w->rec;
	}
	if ((rc = audio_read_span(path_cache, w->start, w->end, &x, &n))) {
		if (rc == ACC_ENOMEM)
			goto out;
		d->r.flags |= ALIGN_FLAG_ERROR;
		snprintf(d->r.message, sizeof d->r.message, "%s", err_msg());
		rc = 0;
		goto out;
	}
	sum->audio_s += (double)n / AUDIO_RATE;
	double t = progress_now();
	if ((rc = em->emit(em->ctx, x, n, &lp, &T)))
		goto out;
	sum->emit_s += progress_now() - t;
	t = progress_now();
	int keep_flags = oov.n ? ALIGN_FLAG_OOV : 0;
	if ((rc = align_one(lp, T, em->V, em->blank, v, ids, nid, w->text, &o->p, &d->r)))
		goto out;
	sum->viterbi_s += progress_now() - t;
	if ((rc = align_result_labels(&d->r, lab, w->raw, w->text, w->profile, used)))
		goto out;
	d->r.flags |= keep_flags;
out:
	free(x);
	free(lp);
	free(ids);
	free(used);
	vocab_oov_free(&oov);
	return rc;
}


/* ------------------------------------------------ long-recording segmentation */

typedef struct long_line {
	char   *raw, *norm, *profile;
	int     version, line_no;
} long_line;

typedef struct long_rec {
	int64_t rec, speaker, parent;
	char   *key;        /* key of the pieces without their "#NNNN" suffix */
	int64_t corpus;
} long_rec;

static void lines_free(long_line *l, int n)
{
	for (int i = 0; i < n; i++) {
		free(l[i].raw);
		free(l[i].norm);
		free(l[i].profile);
	}
	free(l);
}

/* Recordings of lang with pieces waiting for alignment. */
static int long_recordings(manifest *m, const char *lang, long_rec **out, int *nout)
{
	sqlite3_stmt *st = NULL;
	long_rec *r = NULL;
	int n = 0;
	size_t cap = 0;
	*out = NULL;
	*nout = 0;
	int rc = manifest_prepare(m,
				  "SELECT u.recording_id, min(u.id), u.speaker_id, u.corpus_id, min(u.utt_key) FROM utterances u "
				  "WHERE u.status = 'needs_align' AND u.lang = ?1 "
				  "AND EXISTS (SELECT 1 FROM long_texts t WHERE t.recording_id = u.recording_id) "
				  "GROUP BY u.recording_id ORDER BY u.recording_id",
				  &st);
	if (rc) {
		/* a manifest without prep's table has no long recordings */
		err_clear();
		return 0;
	}
	sqlite3_bind_text(st, 1, lang, -1, SQLITE_STATIC);
	int s;
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		if ((rc = ARRAY_GROW(r, cap, (size_t)n + 1)))
			break;
		r[n].rec = sqlite3_column_int64(st, 0);
		r[n].parent = sqlite3_column_int64(st, 1);
		r[n].speaker = sqlite3_column_type(st, 2) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 2);
		r[n].corpus = sqlite3_column_int64(st, 3);
		r[n].key = strdup((const char *)sqlite3_column_text(st, 4));
		char *hash = r[n].key ? strrchr(r[n].key, '#') : NULL;
		if (hash)
			*hash = 0;
		n++;
	}
	if (!rc && s != SQLITE_DONE)
		rc = manifest_db_error(m, "cannot list long recordings");
	sqlite3_finalize(st);
	if (rc) {
		for (int i = 0; i < n; i++)
			free(r[i].key);
		free(r);
		return rc;
	}
	*out = r;
	*nout = n;
	return 0;
}

static int long_lines(manifest *m, int64_t rec, long_line **out, int *nout)
{
	sqlite3_stmt *st = NULL;
	long_line *l = NULL;
	int n = 0;
	size_t cap = 0;
	int rc = manifest_prepare(m,
				  "SELECT line_no, text_raw, text_norm, norm_profile, norm_version FROM long_texts "
				  "WHERE recording_id = ?1 AND text_norm IS NOT NULL AND text_norm != '' ORDER BY line_no",
				  &st);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, rec);
	int s;
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		if ((rc = ARRAY_GROW(l, cap, (size_t)n + 1)))
			break;
		long_line *x = &l[n++];
		memset(x, 0, sizeof *x);
		x->line_no = sqlite3_column_int(st, 0);
		x->raw = strdup((const char *)sqlite3_column_text(st, 1));
		x->norm = strdup((const char *)sqlite3_column_text(st, 2));
		x->profile = sqlite3_column_text(st, 3) ? strdup((const char *)sqlite3_column_text(st, 3)) : NULL;
		x->version = sqlite3_column_int(st, 4);
	}
	if (!rc && s != SQLITE_DONE)
		rc = manifest_db_error(m, "cannot read the recording's text");
	sqlite3_finalize(st);
	if (rc) {
		lines_free(l, n);
		return rc;
	}
	*out = l;
	*nout = n;
	return 0;
}

/* Append s (and a separator before it when sep and the buffer is not
 * empty) to a growing string. */
static int str_append(char **buf, size_t *len, size_t *cap, const char *s, const char *sep)
{
	size_t need = *len + strlen(s) + (sep ? strlen(sep) : 0) + 1;
	if (ARRAY_GROW(*buf, *cap, need))
		return ACC_ENOMEM;
	if (sep && *len) {
		memcpy(*buf + *len, sep, strlen(sep) + 1);
		*len += strlen(sep);
	}
	memcpy(*buf + *len, s, strlen(s) + 1);
	*len += strlen(s);
	return 0;
}

/* Record a failed segmentation on the recording's pieces (so the user sees
 * why and the next run does not retry until the text or model changes). */
static int seg_fail(manifest *m, const long_rec *lr, const align_run_opts *o, const char *model_id, const char *hash,
		    int flags, const char *msg, int64_t run_id)
{
	sqlite3_stmt *st = NULL;
	int rc = manifest_begin(m);
	if (rc)
		return rc;
	rc = manifest_prepare(m,
			      "INSERT OR REPLACE INTO alignments (utterance_id, run_id, lang, model_id, align_hash, status, flags, message) "
			      "SELECT id, ?2, ?3, ?4, ?5, 'failed', ?6, ?7 FROM utterances "
			      "WHERE recording_id = ?1 AND status = 'needs_align'",
			      &st);
	if (!rc) {
		sqlite3_bind_int64(st, 1, lr->rec);
		if (run_id)
			sqlite3_bind_int64(st, 2, run_id);
		sqlite3_bind_text(st, 3, o->lang, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, model_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, hash, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 6, flags);
		sqlite3_bind_text(st, 7, msg, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = manifest_db_error(m, "cannot record a failed segmentation");
	}
	sqlite3_finalize(st);
	return tx_end(m, rc);
}

/* Is a failed segmentation of this recording already recorded with hash? */
static int seg_failed_before(manifest *m, int64_t rec, const char *hash)
{
	sqlite3_stmt *st = NULL;
	int yes = 0;
	if (manifest_prepare(m,
			     "SELECT count(*) FROM utterances u JOIN alignments a ON a.utterance_id = u.id "
			     "WHERE u.recording_id = ?1 AND u.status = 'needs_align' AND a.align_hash = ?2",
			     &st) == 0) {
		sqlite3_bind_int64(st, 1, rec);
		sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			yes = sqlite3_column_int64(st, 0) > 0;
	}
	sqlite3_finalize(st);
	return yes;
}

/* Write the new utterances of one recording and retire its pieces, in one
 * transaction. */
static int seg_write(manifest *m, const long_rec *lr, const long_line *ln, const align_result *r, char **wlab,
		     const int64_t *line_w0, const align_segment *sg, int ns, const char *lang, int64_t run_id,
		     double t_first, align_summary *sum)
{
	sqlite3_stmt *seg = NULL, *upd = NULL, *inh = NULL;
	int rc = manifest_begin(m);
	if (rc)
		return rc;
	if ((rc = manifest_prepare(m,
				   "INSERT INTO align_segments (utterance_id, recording_id, parent_id, line_first, line_last, word_first, "
				   "word_last, run_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
				   &seg)) ||
	    (rc = manifest_prepare(m, "UPDATE utterances SET status = 'segmented' WHERE recording_id = ?1 AND status = 'needs_align'",
				   &upd)))
		goto out;
	for (int k = 0; k < ns; k++) {
		const align_segment *s = &sg[k];
		int64_t w0 = line_w0[s->line_first] + s->word_first, w1 = line_w0[s->line_last] + s->word_last;
		char *norm = NULL, *raw = NULL, key[600], src[64];
		size_t nl = 0, nc = 0, rl = 0, rcap = 0;
		for (int64_t w = w0; w <= w1; w++)
			if (str_append(&norm, &nl, &nc, r->word_text[w], " ")) {
				rc = err_set(ACC_ENOMEM, "align: out of memory");
				goto out;
			}
		int whole = s->word_first == 0 && w1 == line_w0[s->line_last + 1] - 1;
		for (int l = s->line_first; whole && l <= s->line_last; l++)
			if (str_append(&raw, &rl, &rcap, ln[l].raw, " ")) {
				rc = err_set(ACC_ENOMEM, "align: out of memory");
				free(norm);
				goto out;
			}
		/* part of a line: its words as written (align_label.h), when known */
		for (int64_t w = w0; !whole && wlab && w <= w1; w++) {
			/* unknown: the normalized word; a continuation ("") joins the
			 * previous word's token, except at the start of a text */
			const char *lw = !wlab[w] ? r->word_text[w] : *wlab[w] ? wlab[w] : w == w0 ? r->word_text[w] : NULL;
			if (lw && str_append(&raw, &rl, &rcap, lw, " ")) {
				rc = err_set(ACC_ENOMEM, "align: out of memory");
				free(norm);
				goto out;
			}
		}
		if (s->word_first || !whole)
			snprintf(key, sizeof key, "%s@%d.%d-%d.%d", lr->key, ln[s->line_first].line_no, s->word_first,
				 ln[s->line_last].line_no, s->word_last);
		else
			snprintf(key, sizeof key, "%s@%d-%d", lr->key, ln[s->line_first].line_no, ln[s->line_last].line_no);
		snprintf(src, sizeof src, "align:lines %d-%d", ln[s->line_first].line_no, ln[s->line_last].line_no);
		mf_utterance u = { .utt_key = key, .corpus_id = lr->corpus, .recording_id = lr->rec, .speaker_id = lr->speaker,
				   .channel = -1, .start_s = t_first + align_frame_time(s->start),
				   .end_s = t_first + align_frame_time(s->end), .text_raw = raw ? raw : norm, .text_norm = norm,
				   .norm_profile = ln[s->line_first].profile, .norm_version = ln[s->line_first].version,
				   .lang = lang, .status = "ok", .source = src };
		int64_t uid = 0;
		rc = manifest_utterance_insert(m, &u, &uid);
		free(norm);
		free(raw);
		if (rc)
			goto out;
		sqlite3_reset(seg);
		sqlite3_bind_int64(seg, 1, uid);
		sqlite3_bind_int64(seg, 2, lr->rec);
		sqlite3_bind_int64(seg, 3, lr->parent);
		sqlite3_bind_int(seg, 4, ln[s->line_first].line_no - 1);
		sqlite3_bind_int(seg, 5, ln[s->line_last].line_no - 1);
		sqlite3_bind_int(seg, 6, s->word_first);
		sqlite3_bind_int(seg, 7, s->word_last);
		if (run_id)
			sqlite3_bind_int64(seg, 8, run_id);
		else
			sqlite3_bind_null(seg, 8);
		if (sqlite3_step(seg) != SQLITE_DONE) {
			rc = manifest_db_error(m, "cannot store a segment");
			goto out;
		}
		sum->segments_created++;
	}
	sqlite3_bind_int64(upd, 1, lr->rec);
	if (sqlite3_step(upd) != SQLITE_DONE) {
		rc = manifest_db_error(m, "cannot retire the pieces of a segmented recording");
		goto out;
	}
	/* The new utterances inherit the split of the pieces they replace (same
	 * speaker, so splits stay speaker-disjoint) and a weight from the
	 * speaker's per-second balance factor, so that train can use them without
	 * re-running `db split` / `db weights`. */
	if ((rc = manifest_prepare(m, "UPDATE utterances SET "
				   "split = (SELECT p.split FROM utterances p WHERE p.recording_id = ?1 "
				   "AND p.status = 'segmented' AND p.split IS NOT NULL LIMIT 1), "
				   "weight = (end_s - start_s) * (SELECT s.weight FROM speakers s WHERE s.id = utterances.speaker_id) "
				   "WHERE recording_id = ?1 AND status = 'ok' AND split IS NULL", &inh)))
		goto out;
	sqlite3_bind_int64(inh, 1, lr->rec);
	if (sqlite3_step(inh) != SQLITE_DONE)
		rc = manifest_db_error(m, "cannot set the split of the new utterances");
out:
	sqlite3_finalize(inh);
	sqlite3_finalize(seg);
	sqlite3_finalize(upd);
	return tx_end(m, rc);
}

/* A long recording's whole text: the lines' tokens joined by the word
 * delimiter (or a star), where each line's tokens start, the text as
 * tokenized (romanized under that policy) and as normalized (the new
 * utterances' words), and the characters the vocabulary lacks. */
typedef struct seg_text {
	int     *ids;
	int64_t  nid;
	size_t   cap;
	int64_t *line_t0;   /* [nl + 1] */
	char    *used, *norm;
	size_t   ul, ucap, nl, ncap;
	vocab_oov oov;
} seg_text;

static void seg_text_free(seg_text *t)
{
	free(t->ids);
	free(t->line_t0);
	free(t->used);
	free(t->norm);
	vocab_oov_free(&t->oov);
}

static int seg_text_build(const long_line *ln, int nl, const align_run_opts *o, const vocab *v, int V, seg_text *t)
{
	int rc = 0;
	if (!(t->line_t0 = calloc(nl + 1, sizeof(int64_t))))
		return err_set(ACC_ENOMEM, "align: out of memory");
	for (int i = 0; i < nl; i++) {
		int *li = NULL;
		int64_t nli = 0;
		char *used = NULL;
		if ((rc = align_tokens(v, ln[i].norm, o->p.oov, V, &li, &nli, &t->oov, &used)))
			return rc;
		int sep = o->p.star_between ? V : vocab_delim_id(v);
		if (!(rc = ARRAY_GROW(t->ids, t->cap, (size_t)(t->nid + nli + 1)))) {
			if (t->nid && nli && sep >= 0)
				t->ids[t->nid++] = sep;
			t->line_t0[i] = t->nid;
			if (nli)
				memcpy(t->ids + t->nid, li, sizeof(int) * nli);
			t->nid += nli;
			if (str_append(&t->used, &t->ul, &t->ucap, used, " ") ||
			    str_append(&t->norm, &t->nl, &t->ncap, ln[i].norm, " "))
				rc = err_set(ACC_ENOMEM, "align: out of memory");
		}
		free(li);
		free(used);
		if (rc)
			return rc;
	}
	t->line_t0[nl] = t->nid;
	return 0;
}

/* Each aligned word as written, line by line: *wlab [nwords] (NULL where
 * a line's mapping to its written tokens fails). */
static int seg_labels(const long_line *ln, int nl, const int64_t *line_w0, int64_t nwords, char ***wlab)
{
	align_labeler *lab = NULL;
	int rc = 0;
	if (!(*wlab = calloc(nwords ? (size_t)nwords : 1, sizeof **wlab)) || align_labeler_open(&lab)) {
		align_labeler_close(lab);
		return err_set(ACC_ENOMEM, "align: out of memory");
	}
	for (int l = 0; l < nl; l++) {
		char **labs = NULL;
		int64_t nlab = 0;
		if ((rc = align_label_map(lab, ln[l].raw, ln[l].norm, ln[l].profile, &labs, &nlab, NULL)))
			break;
		if (nlab == line_w0[l + 1] - line_w0[l])
			for (int64_t k = 0; k < nlab; k++) {
				(*wlab)[line_w0[l] + k] = labs[k];
				labs[k] = NULL;
			}
		align_label_free(labs, nlab);
	}
	align_labeler_close(lab);
	return rc;
}

/* Align a long recording's whole text and cut it into utterances. */
static int segment_one(manifest *m, const long_rec *lr, const align_run_opts *o, emitter *em, const vocab *v,
		       const char *model_id, int64_t run_id, align_summary *sum)
{
	long_line *ln = NULL;
	int nl = 0, rc, *line_of = NULL, *wil = NULL, ns = 0;
	char **wlab = NULL, path[4096], hash[65];
	int64_t *line_w0 = NULL, T = 0, n = 0;
	float *x = NULL, *lp = NULL;
	seg_text st = { 0 };
	align_result r = { 0 };
	align_segment *sg = NULL;
	if ((rc = long_lines(m, lr->rec, &ln, &nl)))
		return rc;
	TRY(seg_text_build(ln, nl, o, v, em->V, &st));
	align_hash(st.used ? st.used : "", model_id, o->lang, o->p.oov, &o->p, hash);
	if (!o->redo && seg_failed_before(m, lr->rec, hash))
		goto out;
	if (st.oov.n && o->p.oov == ALIGN_OOV_ERROR) {
		char d[200], msg[300];
		vocab_oov_describe(&st.oov, d, sizeof d);
		snprintf(msg, sizeof msg, "characters missing from the vocabulary: %s", d);
		rc = seg_fail(m, lr, o, model_id, hash, ALIGN_FLAG_OOV, msg, run_id);
		goto out;
	}
	TRY(manifest_recording_abspath(m, lr->rec, path, sizeof path));
	if ((rc = audio_decode(path, &x, &n, NULL, NULL))) {
		if (rc == ACC_ENOMEM)
			goto out;
		char msg[512];
		snprintf(msg, sizeof msg, "%s", err_msg());
		rc = seg_fail(m, lr, o, model_id, hash, ALIGN_FLAG_ERROR, msg, run_id);
		goto out;
	}
	sum->audio_s += (double)n / AUDIO_RATE;
	double t = progress_now();
	TRY(em->emit(em->ctx, x, n, &lp, &T));
	sum->emit_s += progress_now() - t;
	free(x);
	x = NULL;
	align_params p = o->p;
	p.star_edges = 1;
	p.break_words = 0;   /* the words become the segments' text_norm: no spaces added */
	t = progress_now();
	/* the word texts are the transcript's (the segments' text_norm), never the romanized ones */
	TRY(align_one(lp, T, em->V, em->blank, v, st.ids, st.nid, st.norm ? st.norm : "", &p, &r));
	sum->viterbi_s += progress_now() - t;
	if (!r.status_ok) {
		rc = seg_fail(m, lr, o, model_id, hash, r.flags, r.message, run_id);
		goto out;
	}
	size_t nw1 = r.nwords ? (size_t)r.nwords : 1;
	if (!(line_of = malloc(sizeof(int) * nw1)) || !(wil = malloc(sizeof(int) * nw1)) ||
	    !(line_w0 = calloc(nl + 1, sizeof(int64_t)))) {
		rc = err_set(ACC_ENOMEM, "align: out of memory");
		goto out;
	}
	align_segment_lines(r.words, r.nwords, st.line_t0, nl, line_of, wil, line_w0);
	TRY(align_segment_cut(r.words, line_of, wil, r.nwords, nl, T, o->p.seg_min_s, o->p.seg_max_s, &sg, &ns));
	TRY(seg_labels(ln, nl, line_w0, r.nwords, &wlab));
	TRY(seg_write(m, lr, ln, &r, wlab, line_w0, sg, ns, o->lang, run_id, 0.0, sum));
	sum->recordings_segmented++;
out:
	align_label_free(wlab, wlab ? r.nwords : 0);
	free(sg);
	free(line_of);
	free(wil);
	free(line_w0);
	align_result_free(&r);
	free(x);
	free(lp);
	seg_text_free(&st);
	lines_free(ln, nl);
	return rc;
}

static int segment_all(manifest *m, const align_run_opts *o, emitter *em, const vocab *v, const char *model_id,
		       int64_t run_id, align_summary *sum)
{
	long_rec *lr = NULL;
	int n = 0, rc = long_recordings(m, o->lang, &lr, &n);
	if (rc)
		return rc;
	for (int i = 0; i < n && !rc; i++) {
		if (align_run_stop) {
			rc = err_set(ACC_EINTR, "interrupted while segmenting long recordings");
			break;
		}
		rc = segment_one(m, &lr[i], o, em, v, model_id, run_id, sum);
		if (rc)
			err_wrap(rc, "segmenting recording %lld", (long long)lr[i].rec);
	}
	for (int i = 0; i < n; i++)
		free(lr[i].key);
	free(lr);
	return rc;
}

/* What every rank checks first, and the model identity of the hashes. */
static int run_model_id(const align_run_opts *o, const emitter *em, const vocab *v, char model_id[65])
{
	if (vocab_size(v) != em->V)
		return err_set(ACC_EINVAL, "the vocabulary of '%s' has %d tokens but the model emits %d", o->lang, vocab_size(v), em->V);
	return emit_model_id(o->model_dir, o->lang, model_id);
}

/* The work of a run: long recordings are segmented first (their new
 * utterances are aligned next), then the utterances to align are listed. */
static int run_list(manifest *m, const align_run_opts *o, emitter *em, const vocab *v, const char *model_id,
		    int64_t run_id, align_summary *sum, work_item **w, int64_t *nw)
{
	int rc;
	if ((rc = segment_all(m, o, em, v, model_id, run_id, sum)))
		return rc;
	if (sum->segments_created && (rc = balance_speaker_totals(m)))
		return rc;
	return load_work(m, o, model_id, w, nw, sum);
}

/* Count a finished item in the summary. */
static void run_count(align_summary *sum, const align_result *r)
{
	if (r->status_ok)
		sum->aligned++;
	else
		sum->failed++;
	if (r->flags)
		sum->flagged++;
}

static void done_clear(done_item *d, int n)
{
	for (int k = 0; k < n; k++) {
		align_result_free(&d[k].r);
		free(d[k].oov_json);
		d[k].oov_json = NULL;
	}
}

/* The end of a run: wall time and the most frequent missing characters. */
static void run_finish(align_summary *sum, vocab_oov *run_oov, double t0)
{
	sum->wall_s = progress_now() - t0;
	vocab_oov_sort(run_oov);
	vocab_oov_describe(run_oov, sum->oov_desc, sizeof sum->oov_desc);
	vocab_oov_free(run_oov);
}

static int run_ranks(manifest *m, const align_run_opts *o, emitter *em, const vocab *v, int64_t run_id,
		     align_summary *sum);

int align_run(manifest *m, const align_run_opts *o, emitter *em, const vocab *v, int64_t run_id,
	      align_summary *sum)
{
	if (dist_size() > 1)   /* mpirun -np N: see run_ranks */
		return run_ranks(m, o, em, v, run_id, sum);
	char model_id[65], path[4096];
	work_item *w = NULL;
	int64_t nw = 0, path_rec = -1;
	int batch = o->batch > 0 ? o->batch : 32, nd = 0, rc;
	done_item *d = NULL;
	progress pg;
	vocab_oov run_oov = { 0 };
	align_labeler *lab = NULL;
	memset(sum, 0, sizeof *sum);
	double t0 = progress_now();
	if ((rc = run_model_id(o, em, v, model_id)) || (rc = run_list(m, o, em, v, model_id, run_id, sum, &w, &nw)))
		return rc;
	d = calloc(batch, sizeof *d);
	if (!d || align_labeler_open(&lab)) {
		free(d);
		work_free(w, nw);
		return err_set(ACC_ENOMEM, "align: out of memory");
	}
	progress_init(&pg, "align", "utt", nw);
	for (int64_t i = 0; i < nw; i++) {
		if (align_run_stop) {
			rc = err_set(ACC_EINTR, "interrupted: %lld utterances aligned, the rest is left for the next run",
				     (long long)sum->aligned + sum->failed);
			break;
		}
		if ((rc = align_item(m, &w[i], o, em, v, &d[nd], sum, path, &path_rec, &run_oov, lab))) {
			done_clear(&d[nd], 1);
			err_wrap(rc, "utterance '%s'", w[i].key);
			break;
		}
		align_hash(w[i].text, model_id, o->lang, o->p.oov, &o->p, d[nd].hash);
		run_count(sum, &d[nd].r);
		nd++;
		progress_add(&pg, 1);
		if (nd == batch) {
			rc = write_batch(m, d, nd, o, model_id, v, em->V, run_id);
			done_clear(d, nd);
			nd = 0;
			if (rc)
				break;
		}
	}
	if (nd) {
		/* what finished is kept even when the run stops early */
		int wrc = write_batch(m, d, nd, o, model_id, v, em->V, run_id);
		if (!rc)
			rc = wrc;
		done_clear(d, nd);
	}
	progress_done(&pg);
	run_finish(sum, &run_oov, t0);
	align_labeler_close(lab);
	free(d);
	work_free(w, nw);
	return rc;
}

/* ------------------------------------------- mpirun -np N align run (lib/base/dist.h)
 *
 * Rank 0, the only one with the manifest, segments the long recordings
 * (each is one Viterbi over a whole recording), lists the utterances to
 * align with their audio paths and broadcasts the list.  Every batch of
 * o->batch utterances is split round-robin (item k of the batch to rank
 * k mod N); each rank computes emissions + Viterbi for its items and sends
 * the results to rank 0, which writes the batch in one transaction in
 * list order, as one process does.  A killed job loses at most the batch
 * in flight and the next run aligns what is not current. */

/* What the ranks share: the work list (aw owns the strings, w points into
 * them) and the run's context. */
typedef struct ranks_ctx {
	manifest *m;
	const align_run_opts *o;
	emitter *em;
	const vocab *v;
	int64_t run_id;
	char model_id[65];
	align_dist_work *aw;
	work_item *w;
	int64_t nw;
	size_t capa, capw;
	align_labeler *lab;
	vocab_oov run_oov;
	done_item *d;
} ranks_ctx;

/* Rank 0 lists the work (with audio paths) and broadcasts it; every rank
 * (rank 0 too) takes the list from the same bytes. */
static int ranks_work(ranks_ctx *c, align_summary *sum)
{
	work_item *lw = NULL;
	int64_t nlw = 0, rec = -1;
	dist_buf wb = { 0 };
	char path[4096];
	int rc = 0;
	if (dist_rank() == 0) {
		TRY(run_list(c->m, c->o, c->em, c->v, c->model_id, c->run_id, sum, &lw, &nlw));
		for (int64_t i = 0; i < nlw; i++) {
			if (lw[i].rec != rec && (rc = manifest_recording_abspath(c->m, lw[i].rec, path, sizeof path)))
				goto out;
			rec = lw[i].rec;
			align_dist_work x = { lw[i].id, lw[i].rec, lw[i].start, lw[i].end, lw[i].text, lw[i].key, path,
			                      lw[i].raw, lw[i].profile };
			TRY(align_dist_put_work(&wb, &x));
		}
	}
	TRY(dist_bcast_blob(&wb.p, &wb.len, 0));
	while (wb.at < wb.len) {
		TRY(ARRAY_GROW(c->aw, c->capa, (size_t)c->nw + 1));
		TRY(ARRAY_GROW(c->w, c->capw, (size_t)c->nw + 1));
		TRY(align_dist_get_work(&wb, &c->aw[c->nw]));
		const align_dist_work *a = &c->aw[c->nw];
		c->w[c->nw] = (work_item){ a->id, a->rec, a->start, a->end, a->text, a->key, a->raw, a->profile };
		c->nw++;
	}
out:
	work_free(lw, nlw);
	dist_buf_free(&wb);
	return rc;
}

/* One batch [b0, b0 + nb): this rank aligns items b0 + k (k = rank mod
 * N), rank 0 gathers every rank's results, puts them back in list order
 * and writes them in one transaction. */
static int ranks_batch(ranks_ctx *c, int64_t b0, int nb, align_summary *sum, progress *pg)
{
	int me = dist_rank(), W = dist_size(), rc = 0;
	dist_buf rb = { 0 };
	char *all = NULL, path[4096];
	size_t *lens = NULL;
	for (int k = me; k < nb; k += W) {
		int64_t i = b0 + k, path_rec = c->aw[i].rec;
		done_item x;
		snprintf(path, sizeof path, "%s", c->aw[i].path);   /* align_item needs no manifest then */
		if ((rc = align_item(NULL, &c->w[i], c->o, c->em, c->v, &x, sum, path, &path_rec, &c->run_oov, c->lab))) {
			done_clear(&x, 1);
			err_wrap(rc, "utterance '%s'", c->w[i].key);
			goto out;
		}
		align_hash(c->w[i].text, c->model_id, c->o->lang, c->o->p.oov, &c->o->p, x.hash);
		rc = align_dist_put_result(&rb, x.id, x.t0, x.hash, x.oov_json, &x.r);
		done_clear(&x, 1);
		if (rc)
			goto out;
	}
	TRY(dist_gather_bytes(rb.p, rb.len, &all, &lens));
	if (me == 0) {
		/* rank r sent items r, r+N, ...: put them back in list order */
		dist_buf part[W];
		size_t off = 0;
		for (int r = 0; r < W; r++) {
			part[r] = (dist_buf){ all, off + lens[r], 0, off };
			off += lens[r];
		}
		for (int k = 0; k < nb && !rc; k++) {
			done_item *d = &c->d[k];
			if ((rc = align_dist_get_result(&part[k % W], &d->id, &d->t0, d->hash, &d->oov_json, &d->r)))
				break;
			run_count(sum, &d->r);
		}
		if (!rc)
			rc = write_batch(c->m, c->d, nb, c->o, c->model_id, c->v, c->em->V, c->run_id);
		done_clear(c->d, nb);
		progress_add(pg, nb);
	}
out:
	free(all);
	free(lens);
	dist_buf_free(&rb);
	return rc;
}

/* The ranks' measures and missing characters, summed on rank 0. */
static int ranks_sum(ranks_ctx *c, align_summary *sum)
{
	dist_buf ob = { 0 };
	char *all = NULL;
	size_t *lens = NULL;
	double ms[3] = { sum->audio_s, sum->emit_s, sum->viterbi_s };
	int64_t oovt = sum->oov_total;
	int rc;
	TRY(dist_sum_f64(ms, 3));
	TRY(dist_sum_i64(&oovt, 1));
	sum->audio_s = ms[0];
	sum->emit_s = ms[1];
	sum->viterbi_s = ms[2];
	sum->oov_total = oovt;
	TRY(align_dist_put_oov(&ob, &c->run_oov));
	TRY(dist_gather_bytes(ob.p, ob.len, &all, &lens));
	if (dist_rank() == 0) {
		dist_buf g = { all, lens[0], 0, lens[0] };   /* rank 0's own is in run_oov */
		for (int r = 1; r < dist_size() && !rc; r++) {
			g.len += lens[r];
			rc = align_dist_get_oov(&g, &c->run_oov);
		}
	}
out:
	free(all);
	free(lens);
	dist_buf_free(&ob);
	return rc;
}

static int run_ranks(manifest *m, const align_run_opts *o, emitter *em, const vocab *v, int64_t run_id,
		     align_summary *sum)
{
	int batch = o->batch > 0 ? o->batch : 32, rc = 0;
	ranks_ctx c = { .m = m, .o = o, .em = em, .v = v, .run_id = run_id };
	progress pg;
	memset(sum, 0, sizeof *sum);
	progress_init(&pg, "align", "utt", 0);
	pg.enabled = 0;
	double t0 = progress_now();
	if ((rc = run_model_id(o, em, v, c.model_id)))
		return rc;
	TRY(ranks_work(&c, sum));
	if (!(c.d = calloc(batch, sizeof *c.d))) {
		rc = err_set(ACC_ENOMEM, "align: out of memory");
		goto out;
	}
	TRY(align_labeler_open(&c.lab));
	progress_init(&pg, "align", "utt", c.nw);
	if (dist_rank() > 0)
		pg.enabled = 0;
	for (int64_t b0 = 0; b0 < c.nw; b0 += batch) {
		/* a signal to any rank stops every rank at the same batch */
		int64_t stop = align_run_stop;
		TRY(dist_sum_i64(&stop, 1));
		if (stop) {
			rc = err_set(ACC_EINTR, "interrupted: %lld utterances aligned, the rest is left for the next run",
				     (long long)sum->aligned + sum->failed);
			goto out;
		}
		TRY(ranks_batch(&c, b0, (int)(c.nw - b0 < batch ? c.nw - b0 : batch), sum, &pg));
	}
	rc = ranks_sum(&c, sum);
out:
	progress_done(&pg);
	run_finish(sum, &c.run_oov, t0);
	free(c.d);
	align_labeler_close(c.lab);
	for (int64_t i = 0; i < c.nw; i++)
		align_dist_work_free(&c.aw[i]);
	free(c.aw);
	free(c.w);
	return rc;
}

int align_run_verdict(manifest *m, const char *db_path, const align_run_opts *o, const align_summary *sum)
{
	if (sum->candidates == 0 && sum->recordings_segmented == 0) {
		/* nothing in this language: name the languages there are (a Common
		 * Voice 'en' next to --lang eng) */
		char langs[512] = "";
		manifest_langs_describe(m, langs, sizeof langs);
		int rc = err_set(ACC_ENOTFOUND, "no utterances of language '%s' in %s%s%s%s", o->lang, db_path,
				 *langs ? " (it has: " : "", langs, *langs ? ")" : "");
		err_hint("relabel them with `prep relabel --from CODE --lang %s`, or align one of those languages", o->lang);
		return rc;
	}
	if (sum->failed > 0 && sum->aligned == 0) {
		int rc = err_set(ACC_EFORMAT, "all %lld utterances aligned in this run failed", (long long)sum->failed);
		err_hint("see why: db query \"SELECT message, count(*) FROM alignments WHERE status = 'failed' GROUP BY 1\"");
		return rc;
	}
	return 0;
}

const char *align_run_worst_sql(void)
{
	return "SELECT utt_key, min_window_logp, flag_names FROM align_quality WHERE flags != 0 ORDER BY min_window_logp "
	       "LIMIT 20";
}

/* ----------------------------------------------------------- show/export */

static int find_utterance(manifest *m, const char *utt, int64_t *id)
{
	sqlite3_stmt *st = NULL;
	char *end;
	long long num = strtoll(utt, &end, 10);
	int rc = manifest_prepare(m, "SELECT id FROM utterances WHERE utt_key = ?1 OR (?2 AND id = ?3) ORDER BY utt_key = ?1 DESC LIMIT 2", &st);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, utt, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, *utt && !*end);
	sqlite3_bind_int64(st, 3, num);
	int s = sqlite3_step(st);
	if (s == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	else if (s == SQLITE_DONE)
		rc = err_set(ACC_ENOTFOUND, "no utterance '%s' in the manifest", utt);
	else
		rc = manifest_db_error(m, "cannot look the utterance up");
	sqlite3_finalize(st);
	return rc;
}

int align_run_show(manifest *m, const char *utt, FILE *f)
{
	int64_t id = 0;
	sqlite3_stmt *st = NULL;
	int rc = find_utterance(m, utt, &id);
	if (rc)
		return rc;
	if ((rc = manifest_prepare(m,
				   "SELECT u.utt_key, u.start_s, u.end_s, u.text_norm, a.status, a.flags, a.mean_logp, a.min_window_logp, "
				   "a.chars_per_s, a.message, a.lang, a.oov FROM utterances u JOIN alignments a ON a.utterance_id = u.id "
				   "WHERE u.id = ?1",
				   &st)))
		return rc;
	sqlite3_bind_int64(st, 1, id);
	int s = sqlite3_step(st);
	if (s != SQLITE_ROW) {
		rc = s == SQLITE_DONE ? err_set(ACC_ENOTFOUND, "utterance '%s' has no alignment", utt)
				      : manifest_db_error(m, "cannot read the alignment");
		if (s == SQLITE_DONE)
			err_hint("run `align run --lang <code> --model <dir>` first");
		sqlite3_finalize(st);
		return rc;
	}
#define TXT(i) (sqlite3_column_type(st, i) == SQLITE_NULL ? "" : (const char *)sqlite3_column_text(st, i))
	fprintf(f, "utterance %s (id %lld, %.3f-%.3f s, lang %s): %s\n", TXT(0), (long long)id, sqlite3_column_double(st, 1),
		sqlite3_column_double(st, 2), TXT(10), TXT(3));
	fprintf(f, "status %s  flags %d  mean log-prob %.3f  min window %.3f  %.1f chars/s\n", TXT(4), sqlite3_column_int(st, 5),
		sqlite3_column_double(st, 6), sqlite3_column_double(st, 7), sqlite3_column_double(st, 8));
	if (*TXT(9))
		fprintf(f, "note: %s\n", TXT(9));
	if (*TXT(11))
		fprintf(f, "missing characters: %s\n", TXT(11));
#undef TXT
	sqlite3_finalize(st);
	if ((rc = manifest_prepare(m, "SELECT coalesce(nullif(label, ''), word), start_s, end_s, score, mean_logp FROM align_words "
				   "WHERE utterance_id = ?1 ORDER BY idx", &st)))
		return rc;
	sqlite3_bind_int64(st, 1, id);
	fprintf(f, "%10s %10s %6s %8s  %s\n", "start", "end", "score", "logp", "word");
	while ((s = sqlite3_step(st)) == SQLITE_ROW)
		fprintf(f, "%10.3f %10.3f %6.3f %8.3f  %s\n", sqlite3_column_double(st, 1), sqlite3_column_double(st, 2),
			sqlite3_column_double(st, 3), sqlite3_column_double(st, 4), (const char *)sqlite3_column_text(st, 0));
	if (s != SQLITE_DONE)
		rc = manifest_db_error(m, "cannot read word timings");
	sqlite3_finalize(st);
	return rc;
}

typedef struct exp_utt {
	ax_utt   u;
	ax_item *words, *chars;
	int64_t  nw, nc;
	int64_t  rec;
	char    *key, *text, *rec_path;
} exp_utt;

static void exp_clear(exp_utt *e)
{
	align_export_items_free(e->words, e->nw);
	align_export_items_free(e->chars, e->nc);
	free(e->key);
	free(e->text);
	free(e->rec_path);
	memset(e, 0, sizeof *e);
}

/* Word items of an utterance: labelled as written (continuations merged). */
static int exp_load_words(manifest *m, sqlite3_stmt *ws, int64_t id, exp_utt *e, int norm_labels)
{
	size_t cap = 0;
	int rc = 0;
	sqlite3_reset(ws);
	sqlite3_bind_int64(ws, 1, id);
	int s;
	while ((s = sqlite3_step(ws)) == SQLITE_ROW) {
		const char *word = (const char *)sqlite3_column_text(ws, 0);
		const char *label = norm_labels ? NULL : (const char *)sqlite3_column_text(ws, 4);
		const char *rom = (const char *)sqlite3_column_text(ws, 5);
		if ((rc = align_export_add_word(&e->words, &e->nw, &cap, label ? label : word, word, rom,
						sqlite3_column_double(ws, 1) - e->u.offset,
						sqlite3_column_double(ws, 2) - e->u.offset, sqlite3_column_double(ws, 3))))
			return rc;
	}
	return s == SQLITE_DONE ? 0 : manifest_db_error(m, "cannot read word timings");
}

static int exp_load_chars(const char *js, exp_utt *e)
{
	if (!js)
		return 0;
	json_t *a = json_loads(js, 0, NULL);
	size_t n = json_array_size(a);
	e->chars = calloc(n ? n : 1, sizeof *e->chars);
	if (!e->chars) {
		json_decref(a);
		return err_set(ACC_ENOMEM, "export: out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		json_t *x = json_array_get(a, i);
		ax_item *c = &e->chars[e->nc++];
		c->text = strdup(json_string_value(json_array_get(x, 0)) ? json_string_value(json_array_get(x, 0)) : "");
		c->start = json_number_value(json_array_get(x, 1)) - e->u.offset;
		c->end = json_number_value(json_array_get(x, 2)) - e->u.offset;
		c->score = json_number_value(json_array_get(x, 3));
	}
	json_decref(a);
	return 0;
}

typedef struct out_file {
	FILE *fp;
	char  tmp[4096], path[4096];
} out_file;

static int out_open(out_file *o, const char *dir, const char *name)
{
	int rc = fs_join(o->path, sizeof o->path, dir, name);
	if (rc)
		return rc;
	return fs_open_tmp(o->path, o->tmp, &o->fp);
}

static int out_commit(out_file *o)
{
	int rc = 0;
	if (o->fp)
		rc = fs_commit_tmp(o->fp, o->tmp, o->path);
	o->fp = NULL;
	return rc;
}

static void out_abort(out_file *o)
{
	if (o->fp)
		fs_abort_tmp(o->fp, o->tmp);
	o->fp = NULL;
}

int align_run_export(manifest *m, const char *lang, const char *format, const char *dir, int64_t *n)
{
	align_export_opts o = { .lang = lang, .format = format, .dir = dir };
	align_export_cue_opts_default(&o.cue);
	return align_run_export_ex(m, &o, n);
}

int align_run_export_ex(manifest *m, const align_export_opts *o, int64_t *count)
{
	const char *lang = o->lang, *format = o->format, *dir = o->dir;
	enum { F_CTM, F_TG, F_SRT, F_VTT, F_JSON } fmt;
	if (!strcmp(format, "ctm"))
		fmt = F_CTM;
	else if (!strcmp(format, "textgrid"))
		fmt = F_TG;
	else if (!strcmp(format, "srt"))
		fmt = F_SRT;
	else if (!strcmp(format, "vtt"))
		fmt = F_VTT;
	else if (!strcmp(format, "json"))
		fmt = F_JSON;
	else {
		err_set(ACC_EINVAL, "unknown export format '%s'", format);
		err_hint("use ctm, textgrid, srt, vtt or json");
		return ACC_EINVAL;
	}
	sqlite3_stmt *st = NULL, *ws = NULL;
	out_file of = { 0 };
	exp_utt e = { 0 };
	int64_t n = 0, cue = 0, cur_rec = -1;
	int rc;
	*count = 0;
	if (fs_mkdir_p(dir))
		return err_set(ACC_EIO, "cannot create '%s'", dir);
	if ((rc = manifest_prepare(m,
				   "SELECT u.id, u.utt_key, u.recording_id, u.start_s, u.end_s, coalesce(u.text_raw, u.text_norm), a.chars, r.path "
				   "FROM alignments a JOIN utterances u ON u.id = a.utterance_id JOIN recordings r ON r.id = u.recording_id "
				   "WHERE a.status = 'ok' AND (?1 IS NULL OR a.lang = ?1) ORDER BY u.recording_id, u.start_s, u.id",
				   &st)) ||
	    (rc = manifest_prepare(m, "SELECT word, start_s, end_s, score, label, romanized FROM align_words "
				   "WHERE utterance_id = ?1 ORDER BY idx", &ws)))
		goto out;
	if (lang)
		sqlite3_bind_text(st, 1, lang, -1, SQLITE_STATIC);
	if (fmt == F_CTM && (rc = out_open(&of, dir, "alignments.ctm")))
		goto out;
	if (fmt == F_JSON) {
		if ((rc = out_open(&of, dir, "alignments.json")))
			goto out;
		fputs("[\n", of.fp);
	}
	int s;
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		exp_clear(&e);
		int64_t id = sqlite3_column_int64(st, 0);
		e.key = strdup((const char *)sqlite3_column_text(st, 1));
		e.rec = sqlite3_column_int64(st, 2);
		double a = sqlite3_column_double(st, 3), b = sqlite3_column_double(st, 4);
		e.text = sqlite3_column_text(st, 5) ? strdup((const char *)sqlite3_column_text(st, 5)) : strdup("");
		e.rec_path = strdup((const char *)sqlite3_column_text(st, 7));
		if (!e.key || !e.text || !e.rec_path) {
			rc = err_set(ACC_ENOMEM, "export: out of memory");
			goto out;
		}
		e.u.key = e.key;
		e.u.rec = o->ctm_utterance ? NULL : e.rec_path;
		e.u.text = e.text;
		e.u.offset = round(a * AUDIO_RATE) / AUDIO_RATE;
		e.u.duration = b - e.u.offset;
		if ((rc = exp_load_words(m, ws, id, &e, o->norm_labels)) || (rc = exp_load_chars((const char *)sqlite3_column_text(st, 6), &e)))
			goto out;
		e.u.words = e.words;
		e.u.nwords = e.nw;
		e.u.chars = e.chars;
		e.u.nchars = e.nc;
		switch (fmt) {
		case F_CTM:
			rc = align_export_ctm(of.fp, &e.u);
			break;
		case F_JSON:
			if (n)
				fputs(",\n", of.fp);
			rc = align_export_json(of.fp, &e.u);
			break;
		case F_TG: {
			char name[600];
			align_export_file_name(e.key, name, sizeof name - 10);
			size_t nl = strlen(name);
			snprintf(name + nl, sizeof name - nl, ".TextGrid");
			if ((rc = out_open(&of, dir, name)) || (rc = align_export_textgrid(of.fp, &e.u)) || (rc = out_commit(&of)))
				goto out;
			break;
		}
		case F_SRT:
		case F_VTT:
			if (e.rec != cur_rec) {
				if ((rc = out_commit(&of)))
					goto out;
				char name[600];
				align_export_file_name(e.rec_path, name, sizeof name - 10);
				size_t nl = strlen(name);
				snprintf(name + nl, sizeof name - nl, "%s", fmt == F_SRT ? ".srt" : ".vtt");
				if ((rc = out_open(&of, dir, name)))
					goto out;
				if (fmt == F_VTT && (rc = align_export_vtt_header(of.fp)))
					goto out;
				cur_rec = e.rec;
				cue = 0;
			}
			rc = align_export_cues(of.fp, &e.u, &cue, fmt == F_VTT, &o->cue);
			break;
		}
		if (rc)
			goto out;
		n++;
	}
	if (s != SQLITE_DONE) {
		rc = manifest_db_error(m, "cannot read alignments");
		goto out;
	}
	if (fmt == F_JSON)
		fputs("\n]\n", of.fp);
	rc = out_commit(&of);
out:
	if (rc)
		out_abort(&of);
	exp_clear(&e);
	sqlite3_finalize(st);
	sqlite3_finalize(ws);
	*count = n;
	return rc;
}
