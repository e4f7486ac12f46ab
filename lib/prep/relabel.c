/*
 * relabel.c — new language labels and normalization for utterances already
 * in the manifest (see relabel.h).
 */
#include "prep/relabel.h"
#include "base/err.h"
#include "text/langcode.h"
#include "manifest/manifest.h"
#include "text/textnorm.h"

#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/banned.h"

void relabel_opts_default(relabel_opts *o)
{
	memset(o, 0, sizeof *o);
	o->manifest_path = MANIFEST_DEFAULT;
	o->strip_diacritics = o->drop_digit_tokens = o->strip_harakat = -1;
}

/* A textnorm for lang with o's profile and options (an unknown language
 * gets the language-independent normalization, as ingest does). */
static int open_norm(const relabel_opts *o, const char *lang, textnorm **tn)
{
	textnorm_opts to;
	textnorm_opts_default(&to);
	to.lang = lang;
	to.profile = o->norm_profile;
	to.rules_path = o->rules_path;
	to.strip_diacritics = o->strip_diacritics;
	to.drop_digit_tokens = o->drop_digit_tokens;
	to.strip_harakat = o->strip_harakat;
	int rc = textnorm_open(tn, &to);
	if (rc == ACC_EINVAL && lang && strcmp(lang, "und")) {
		to.lang = "und";
		rc = textnorm_open(tn, &to);
	}
	return rc;
}

/* One cached textnorm per language (relabel meets few). */
typedef struct {
	char lang[64];
	textnorm *tn;
} norm_slot;

static int norm_for(const relabel_opts *o, norm_slot *slots, int *n, const char *lang, textnorm **tn)
{
	for (int i = 0; i < *n; i++)
		if (!strcmp(slots[i].lang, lang)) {
			*tn = slots[i].tn;
			return 0;
		}
	if (*n == 16) {
		textnorm_close(slots[15].tn);
		(*n)--;
	}
	int rc = open_norm(o, lang, tn);
	if (rc)
		return err_wrap(rc, "text normalization for '%s'", lang);
	snprintf(slots[*n].lang, sizeof slots[*n].lang, "%s", lang);
	slots[(*n)++].tn = *tn;
	return 0;
}

/* The selection, as SQL conditions on u (utterances) and c (corpora). */
#define SELECTION "(?1 IS NULL OR u.lang = ?1) AND (?2 IS NULL OR c.root = ?2)"

static void bind_selection(sqlite3_stmt *st, const relabel_opts *o, const char *root)
{
	if (o->from)
		sqlite3_bind_text(st, 1, o->from, -1, SQLITE_STATIC);
	if (root)
		sqlite3_bind_text(st, 2, root, -1, SQLITE_STATIC);
}

int relabel_run(const relabel_opts *o, relabel_summary *s)
{
	manifest *m = NULL;
	sqlite3_stmt *sel = NULL, *upd = NULL, *lsel = NULL, *lupd = NULL, *spk = NULL;
	norm_slot slots[16];
	char rootbuf[PATH_MAX];
	int nslots = 0, rc, st, in_tx = 0;
	/* corpora.root is the real path ingest resolved */
	const char *root = o->corpus && realpath(o->corpus, rootbuf) ? rootbuf : o->corpus;
	int64_t run_id = 0;
	memset(s, 0, sizeof *s);
	if (!o->lang && o->n_model_langs <= 0 && !o->from && !o->corpus)
		return err_set(ACC_EINVAL, "relabel needs --lang CODE, or --model DIR to resolve the labels against");
	if (o->lang) {
		/* check the options once, with a clear error */
		textnorm *tn = NULL;
		if ((rc = open_norm(o, o->lang, &tn)))
			return err_wrap(rc, "text normalization");
		textnorm_close(tn);
	}
	if ((rc = manifest_open(&m, o->manifest_path ? o->manifest_path : MANIFEST_DEFAULT, 0)))
		return rc;
	if ((rc = manifest_run_begin(m, "relabel", o->argc, o->argv, &run_id)))
		goto out;
	if ((rc = manifest_begin(m)))
		goto out;
	in_tx = 1;
	if ((rc = manifest_prepare(m, "SELECT u.id, u.lang, u.text_raw, u.text_norm FROM utterances u "
	                           "JOIN corpora c ON c.id = u.corpus_id WHERE " SELECTION " ORDER BY u.id", &sel)) ||
	    (rc = manifest_prepare(m, "UPDATE utterances SET lang = ?2, text_norm = ?3, norm_profile = ?4, "
	                           "norm_version = ?5, flags = ?6 WHERE id = ?1", &upd)) ||
	    (rc = manifest_prepare(m, "SELECT DISTINCT t.id, t.lang, t.text_raw FROM long_texts t "
	                           "JOIN recordings r ON r.id = t.recording_id JOIN corpora c ON c.id = r.corpus_id "
	                           "JOIN utterances u ON u.recording_id = r.id WHERE " SELECTION, &lsel)) ||
	    (rc = manifest_prepare(m, "UPDATE long_texts SET lang = ?2, text_norm = ?3, norm_profile = ?4, "
	                           "norm_version = ?5, flags = ?6 WHERE id = ?1", &lupd)))
		goto out;
	/* long_texts first: the selection reads the utterances' old labels */
	bind_selection(lsel, o, root);
	while ((st = sqlite3_step(lsel)) == SQLITE_ROW) {
		const char *old = (const char *)sqlite3_column_text(lsel, 1);
		const char *raw = (const char *)sqlite3_column_text(lsel, 2);
		const char *lang = langcode_label(o->lang ? o->lang : old ? old : "und", o->model_langs, o->n_model_langs);
		textnorm *tn;
		char *norm = NULL;
		int flags = 0;
		if ((rc = norm_for(o, slots, &nslots, lang, &tn)))
			goto out;
		if (textnorm_apply(tn, raw ? raw : "", &norm, &flags) && !norm)
			flags |= TEXTNORM_BAD_UTF8;
		sqlite3_bind_int64(lupd, 1, sqlite3_column_int64(lsel, 0));
		sqlite3_bind_text(lupd, 2, lang, -1, SQLITE_TRANSIENT);
		if (norm && *norm)
			sqlite3_bind_text(lupd, 3, norm, -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_null(lupd, 3);
		sqlite3_bind_text(lupd, 4, textnorm_profile_name(tn), -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(lupd, 5, textnorm_profile_version(tn));
		sqlite3_bind_int(lupd, 6, flags);
		free(norm);
		if (sqlite3_step(lupd) != SQLITE_DONE) {
			rc = manifest_db_error(m, "cannot update a long transcript line");
			goto out;
		}
		sqlite3_reset(lupd);
		s->lines++;
	}
	if (st != SQLITE_DONE) {
		rc = manifest_db_error(m, "cannot read long transcript lines");
		goto out;
	}
	bind_selection(sel, o, root);
	while ((st = sqlite3_step(sel)) == SQLITE_ROW) {
		const char *old = (const char *)sqlite3_column_text(sel, 1);
		const char *raw = (const char *)sqlite3_column_text(sel, 2);
		const char *oldnorm = (const char *)sqlite3_column_text(sel, 3);
		const char *lang = langcode_label(o->lang ? o->lang : old ? old : "und", o->model_langs, o->n_model_langs);
		s->utterances++;
		if (!old || strcmp(old, lang))
			s->relabeled++;
		sqlite3_bind_int64(upd, 1, sqlite3_column_int64(sel, 0));
		sqlite3_bind_text(upd, 2, lang, -1, SQLITE_TRANSIENT);
		if (!raw) {
			/* pieces of long recordings: text comes from align; only the label changes */
			sqlite3_bind_text(upd, 3, oldnorm, -1, SQLITE_TRANSIENT);
			sqlite3_bind_null(upd, 4);
			sqlite3_bind_null(upd, 5);
			sqlite3_bind_int(upd, 6, 0);
		} else {
			textnorm *tn;
			char *norm = NULL;
			int flags = 0;
			if ((rc = norm_for(o, slots, &nslots, lang, &tn)))
				goto out;
			if (textnorm_apply(tn, raw, &norm, &flags) && !norm)
				flags |= TEXTNORM_BAD_UTF8;
			if (!oldnorm || !norm || strcmp(oldnorm, norm))
				s->text_changed++;
			sqlite3_bind_text(upd, 3, norm ? norm : "", -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(upd, 4, textnorm_profile_name(tn), -1, SQLITE_TRANSIENT);
			sqlite3_bind_int(upd, 5, textnorm_profile_version(tn));
			sqlite3_bind_int(upd, 6, flags);
			free(norm);
		}
		if (sqlite3_step(upd) != SQLITE_DONE) {
			rc = manifest_db_error(m, "cannot update an utterance");
			goto out;
		}
		sqlite3_reset(upd);
	}
	if (st != SQLITE_DONE) {
		rc = manifest_db_error(m, "cannot read the utterances");
		goto out;
	}
	if (s->utterances == 0) {
		char langs[512] = "";
		manifest_langs_describe(m, langs, sizeof langs);
		rc = err_set(ACC_ENOTFOUND, "no utterances%s%s%s%s%s to relabel%s%s%s", o->from ? " of language '" : "",
		             o->from ? o->from : "", o->from ? "'" : "", o->corpus ? " in corpus " : "",
		             o->corpus ? o->corpus : "", *langs ? " (the manifest has: " : "", langs, *langs ? ")" : "");
		goto out;
	}
	/* a speaker's language: the most common one of its utterances */
	if ((rc = manifest_prepare(m, "UPDATE speakers SET lang = (SELECT u.lang FROM utterances u WHERE "
	                           "u.speaker_id = speakers.id GROUP BY u.lang ORDER BY count(*) DESC LIMIT 1) "
	                           "WHERE id IN (SELECT DISTINCT u.speaker_id FROM utterances u)", &spk)))
		goto out;
	if (sqlite3_step(spk) != SQLITE_DONE) {
		rc = manifest_db_error(m, "cannot update the speakers' languages");
		goto out;
	}
	rc = manifest_commit(m);
	in_tx = !!rc;
out:
	sqlite3_finalize(sel);
	sqlite3_finalize(upd);
	sqlite3_finalize(lsel);
	sqlite3_finalize(lupd);
	sqlite3_finalize(spk);
	if (in_tx)
		manifest_rollback(m);
	for (int i = 0; i < nslots; i++)
		textnorm_close(slots[i].tn);
	if (m && run_id > 0) {
		char counts[256];
		snprintf(counts, sizeof counts, "{\"utterances\":%lld,\"relabeled\":%lld,\"text_changed\":%lld,\"lines\":%lld}",
		         (long long)s->utterances, (long long)s->relabeled, (long long)s->text_changed, (long long)s->lines);
		manifest_run_end(m, run_id, rc ? err_exit_code(rc) : 0, counts);
	}
	manifest_close(m);
	return rc;
}
