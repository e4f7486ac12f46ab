/*
 * transcribe.c — the transcribe core (see transcribe.h).
 */
#include "decode/transcribe.h"
#include "align/align_file.h"
#include "audio/audio.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "decode/ctc_words.h"
#include <stdlib.h>
#include <string.h>
#include "base/banned.h"

int transcriber_open(transcriber *t, const char *model_dir, const char *lang, w2v_precision prec, double win,
		     double ctx, const char *lm_path, const ctc_beam_opts *bo)
{
	char vpath[4096];
	ctc_beam_opts defaults;
	int rc;
	memset(t, 0, sizeof *t);
	t->win = win;
	t->ctx = ctx;
	t->precision = w2v_precision_resolve(prec, NULL, 0);
	/* bf16/int8: each weight packed as it is read, its fp32 copy released */
	TRY(w2v_infer_load(&t->wi, &t->m, model_dir, lang, w2v_precision_flags(t->precision), 1));
	TRY(fs_join(vpath, sizeof vpath, model_dir, "vocab.json"));
	TRY(vocab_load(&t->v, vpath, lang));
	t->V = vocab_size(t->v);
	t->blank = vocab_pad_id(t->v);
	if (t->V != t->m->cfg.vocab_size) {
		rc = err_set(ACC_EINVAL, "the vocabulary has %d tokens but the model emits %d", t->V, t->m->cfg.vocab_size);
		goto out;
	}
	if (!(t->tokens = calloc((size_t)t->V, sizeof *t->tokens))) {
		rc = err_set(ACC_ENOMEM, "out of memory");
		goto out;
	}
	for (int i = 0; i < t->V; i++) {
		const char *s = vocab_token(t->v, i);
		/* sentence markers are never part of a transcript */
		t->tokens[i] = s && (!strcmp(s, "<s>") || !strcmp(s, "</s>")) ? NULL : s;
	}
	if (lm_path) {
		if (!bo) {
			ctc_beam_defaults(&defaults);
			bo = &defaults;
		}
		TRY(arpa_load(&t->lm, lm_path));
		TRY(ctc_decoder_new(&t->dec, t->tokens, t->V, t->blank, vocab_delim_id(t->v), t->lm, bo));
	}
out:
	if (rc)
		transcriber_close(t);
	return rc;
}

void transcriber_close(transcriber *t)
{
	if (!t)
		return;
	ctc_decoder_free(t->dec);
	arpa_free(t->lm);
	free(t->tokens);
	w2v_infer_free(t->wi);
	vocab_free(t->v);
	w2v_free(t->m);
	memset(t, 0, sizeof *t);
}

void transcript_free(transcript *r)
{
	if (!r)
		return;
	free(r->text);
	align_export_items_free(r->words, r->nw);
	align_export_items_free(r->chars, r->nc);
	memset(r, 0, sizeof *r);
}

int transcriber_run(transcriber *t, const float *x, int64_t n, int items, transcript *out)
{
	float *lp = NULL;
	int64_t T = 0;
	int rc;
	memset(out, 0, sizeof *out);
	if (!items && !t->dec)
		return w2v_transcribe(t->wi, t->v, x, n, t->win, t->ctx, &out->text, NULL);
	TRY(w2v_infer_long_buf(t->wi, x, n, t->win, t->ctx, &lp, &T));
	if (t->dec)
		rc = ctc_decoder_decode(t->dec, lp, (int)T, t->V, &out->text, NULL);
	else
		rc = ctc_greedy(lp, (int)T, t->V, t->V, t->tokens, t->blank, vocab_delim_id(t->v), &out->text);
	if (rc || !items)
		goto out;
	if (t->dec)
		rc = align_text_items(lp, T, t->V, t->blank, t->v, out->text, &out->words, &out->nw, &out->chars, &out->nc);
	else
		rc = ctc_words_greedy(lp, T, t->V, t->v, &out->words, &out->nw, &out->chars, &out->nc);
out:
	if (rc)
		transcript_free(out);
	free(lp);
	return rc;
}

int transcript_write(FILE *f, const char *fmt, const ax_utt *u, const ax_cue_opts *cue)
{
	int64_t idx = 0;
	int rc;
	if (!strcmp(fmt, "json")) {
		if (!(rc = align_export_json(f, u)))
			fputc('\n', f);
		return rc;
	}
	if (!strcmp(fmt, "ctm"))
		return align_export_ctm(f, u);
	int vtt = !strcmp(fmt, "vtt");
	if (vtt && (rc = align_export_vtt_header(f)))
		return rc;
	return align_export_cues(f, u, &idx, vtt, cue);
}

void transcribe_utts_free(transcribe_utt *u, int64_t n)
{
	for (int64_t i = 0; u && i < n; i++) {
		free(u[i].key);
		free(u[i].rec);
		free(u[i].path);
		free(u[i].ref);
	}
	free(u);
}

/* strdup of a column that may be NULL. */
static char *col_dup(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);
	return s ? strdup(s) : NULL;
}

/* One row of transcribe_utts' query into x (zeroed by the caller). */
static int utt_fill(manifest *m, sqlite3_stmt *st, transcribe_utt *x)
{
	char path[4096];
	int rc;
	x->key = col_dup(st, 0);
	x->start = sqlite3_column_double(st, 2);
	x->end = sqlite3_column_double(st, 3);
	x->ref = col_dup(st, 4);
	x->rec = col_dup(st, 5);
	if (!x->key)
		x->key = strdup("");
	if (x->key && !x->rec)
		x->rec = strdup(x->key);
	if (!x->key || !x->rec)
		return err_set(ACC_ENOMEM, "out of memory");
	if ((rc = manifest_recording_abspath(m, sqlite3_column_int64(st, 1), path, sizeof path)))
		return err_wrap(rc, "utterance '%s'", x->key);
	if (!(x->path = strdup(path)))
		return err_set(ACC_ENOMEM, "out of memory");
	return 0;
}

int transcribe_utts(manifest *m, const char *split, const char *lang, long limit, transcribe_utt **out, int64_t *nout)
{
	sqlite3_stmt *st = NULL;
	transcribe_utt *u = NULL;
	int64_t n = 0;
	size_t cap = 0;
	int rc, s;
	*out = NULL;
	*nout = 0;
	TRY(manifest_prepare(m,
		"SELECT utt_key, recording_id, start_s, end_s, text_norm, (SELECT path FROM recordings r WHERE r.id = recording_id)"
		" FROM utterances"
		" WHERE status = 'ok' AND (?1 IS NULL OR split = ?1) AND (?2 IS NULL OR lang = ?2 OR lang IS NULL)"
		" ORDER BY id LIMIT ?3", &st));
	if (split)
		sqlite3_bind_text(st, 1, split, -1, SQLITE_STATIC);
	if (lang)
		sqlite3_bind_text(st, 2, lang, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, limit > 0 ? limit : -1);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		TRY(ARRAY_GROW(u, cap, (size_t)n + 1));
		memset(&u[n], 0, sizeof u[n]);
		TRY(utt_fill(m, st, &u[n++]));
	}
	if (s != SQLITE_DONE) {
		rc = manifest_db_error(m, "reading utterances");
		goto out;
	}
	*out = u;
	*nout = n;
	u = NULL;
out:
	sqlite3_finalize(st);
	transcribe_utts_free(u, n);
	return rc;
}
