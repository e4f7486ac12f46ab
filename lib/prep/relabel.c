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

/* What the two passes of a relabel share. */
typedef struct relabel_ctx {
	const relabel_opts *o;
	const char         *root;     /* corpora.root of --corpus, or NULL */
	manifest           *m;
	relabel_summary    *s;
	norm_slot           slots[16];
	int                 nslots;
} relabel_ctx;

/* The new label of a row whose label was old. */
static const char *new_label(const relabel_ctx *c, const char *old)
{
	const relabel_opts *o = c->o;
	return langcode_label(o->lang ? o->lang : old ? old : "und", o->model_langs, o->n_model_langs);
}

/* Normalize raw with lang's profile into *norm (malloc'ed; NULL when the
 * text is not UTF-8) and bind the profile name, version and flags as ?4,
 * ?5 and ?6 of upd (both passes' UPDATE statements number them so). */
static int norm_bind(relabel_ctx *c, const char *lang, const char *raw, sqlite3_stmt *upd, char **norm)
{
	textnorm *tn;
	int flags = 0, rc;
	*norm = NULL;
	if ((rc = norm_for(c->o, c->slots, &c->nslots, lang, &tn)))
		return rc;
	if (textnorm_apply(tn, raw, norm, &flags) && !*norm)
		flags |= TEXTNORM_BAD_UTF8;
	sqlite3_bind_text(upd, 4, textnorm_profile_name(tn), -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(upd, 5, textnorm_profile_version(tn));
	sqlite3_bind_int(upd, 6, flags);
	return 0;
}

/* Step upd (an UPDATE) and reset it for the next row. */
static int update_row(relabel_ctx *c, sqlite3_stmt *upd, const char *what)
{
	if (sqlite3_step(upd) != SQLITE_DONE)
		return manifest_db_error(c->m, what);
	sqlite3_reset(upd);
	return 0;
}

/* The end of a pass: its statements finalized; ACC_EDB (what) when the
 * selection's last step st was not the end of its rows. */
static int pass_end(relabel_ctx *c, sqlite3_stmt *sel, sqlite3_stmt *upd, int rc, int st, const char *what)
{
	if (!rc && st != SQLITE_DONE)
		rc = manifest_db_error(c->m, what);
	sqlite3_finalize(sel);
	sqlite3_finalize(upd);
	return rc;
}

/* The long recordings' transcript lines of the selection.  Runs before the
 * utterances: the selection reads the utterances' old labels. */
static int relabel_lines(relabel_ctx *c)
{
	sqlite3_stmt *sel = NULL, *upd = NULL;
	int rc, st = SQLITE_DONE;
	if ((rc = manifest_prepare(c->m, "SELECT DISTINCT t.id, t.lang, t.text_raw FROM long_texts t "
	                           "JOIN recordings r ON r.id = t.recording_id JOIN corpora c ON c.id = r.corpus_id "
	                           "JOIN utterances u ON u.recording_id = r.id WHERE " SELECTION, &sel)) ||
	    (rc = manifest_prepare(c->m, "UPDATE long_texts SET lang = ?2, text_norm = ?3, norm_profile = ?4, "
	                           "norm_version = ?5, flags = ?6 WHERE id = ?1", &upd)))
		goto out;
	bind_selection(sel, c->o, c->root);
	while ((st = sqlite3_step(sel)) == SQLITE_ROW) {
		const char *raw = (const char *)sqlite3_column_text(sel, 2);
		const char *lang = new_label(c, (const char *)sqlite3_column_text(sel, 1));
		char *norm;
		if ((rc = norm_bind(c, lang, raw ? raw : "", upd, &norm)))
			goto out;
		sqlite3_bind_int64(upd, 1, sqlite3_column_int64(sel, 0));
		sqlite3_bind_text(upd, 2, lang, -1, SQLITE_TRANSIENT);
		if (norm && *norm)
			sqlite3_bind_text(upd, 3, norm, -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_null(upd, 3);
		free(norm);
		if ((rc = update_row(c, upd, "cannot update a long transcript line")))
			goto out;
		c->s->lines++;
	}
out:
	return pass_end(c, sel, upd, rc, st, "cannot read long transcript lines");
}

/* The utterances of the selection: new label, and the transcript
 * normalized again with the new language's profile. */
static int relabel_utterances(relabel_ctx *c)
{
	sqlite3_stmt *sel = NULL, *upd = NULL;
	relabel_summary *s = c->s;
	int rc, st = SQLITE_DONE;
	if ((rc = manifest_prepare(c->m, "SELECT u.id, u.lang, u.text_raw, u.text_norm FROM utterances u "
	                           "JOIN corpora c ON c.id = u.corpus_id WHERE " SELECTION " ORDER BY u.id", &sel)) ||
	    (rc = manifest_prepare(c->m, "UPDATE utterances SET lang = ?2, text_norm = ?3, norm_profile = ?4, "
	                           "norm_version = ?5, flags = ?6 WHERE id = ?1", &upd)))
		goto out;
	bind_selection(sel, c->o, c->root);
	while ((st = sqlite3_step(sel)) == SQLITE_ROW) {
		const char *old = (const char *)sqlite3_column_text(sel, 1);
		const char *raw = (const char *)sqlite3_column_text(sel, 2);
		const char *oldnorm = (const char *)sqlite3_column_text(sel, 3);
		const char *lang = new_label(c, old);
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
			char *norm;
			if ((rc = norm_bind(c, lang, raw, upd, &norm)))
				goto out;
			if (!oldnorm || !norm || strcmp(oldnorm, norm))
				s->text_changed++;
			sqlite3_bind_text(upd, 3, norm ? norm : "", -1, SQLITE_TRANSIENT);
			free(norm);
		}
		if ((rc = update_row(c, upd, "cannot update an utterance")))
			goto out;
	}
out:
	return pass_end(c, sel, upd, rc, st, "cannot read the utterances");
}

/* Nothing selected: say what the manifest has. */
static int nothing_selected(relabel_ctx *c)
{
	const relabel_opts *o = c->o;
	char langs[512] = "";
	manifest_langs_describe(c->m, langs, sizeof langs);
	return err_set(ACC_ENOTFOUND, "no utterances%s%s%s%s%s to relabel%s%s%s", o->from ? " of language '" : "",
		       o->from ? o->from : "", o->from ? "'" : "", o->corpus ? " in corpus " : "",
		       o->corpus ? o->corpus : "", *langs ? " (the manifest has: " : "", langs, *langs ? ")" : "");
}

int relabel_run(const relabel_opts *o, relabel_summary *s)
{
	relabel_ctx c = { .o = o, .s = s };
	sqlite3_stmt *spk = NULL;
	char rootbuf[PATH_MAX];
	int rc, in_tx = 0;
	int64_t run_id = 0;
	/* corpora.root is the real path ingest resolved */
	c.root = o->corpus && realpath(o->corpus, rootbuf) ? rootbuf : o->corpus;
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
	if ((rc = manifest_open(&c.m, o->manifest_path ? o->manifest_path : MANIFEST_DEFAULT, 0)))
		return rc;
	if ((rc = manifest_run_begin(c.m, "relabel", o->argc, o->argv, &run_id)))
		goto out;
	if ((rc = manifest_begin(c.m)))
		goto out;
	in_tx = 1;
	if ((rc = relabel_lines(&c)) || (rc = relabel_utterances(&c)))
		goto out;
	if (s->utterances == 0) {
		rc = nothing_selected(&c);
		goto out;
	}
	/* a speaker's language: the most common one of its utterances */
	if ((rc = manifest_prepare(c.m, "UPDATE speakers SET lang = (SELECT u.lang FROM utterances u WHERE "
	                           "u.speaker_id = speakers.id GROUP BY u.lang ORDER BY count(*) DESC LIMIT 1) "
	                           "WHERE id IN (SELECT DISTINCT u.speaker_id FROM utterances u)", &spk)))
		goto out;
	if (sqlite3_step(spk) != SQLITE_DONE) {
		rc = manifest_db_error(c.m, "cannot update the speakers' languages");
		goto out;
	}
	rc = manifest_commit(c.m);
	in_tx = !!rc;
out:
	sqlite3_finalize(spk);
	if (in_tx)
		manifest_rollback(c.m);
	for (int i = 0; i < c.nslots; i++)
		textnorm_close(c.slots[i].tn);
	if (c.m && run_id > 0) {
		char counts[256];
		snprintf(counts, sizeof counts, "{\"utterances\":%lld,\"relabeled\":%lld,\"text_changed\":%lld,\"lines\":%lld}",
		         (long long)s->utterances, (long long)s->relabeled, (long long)s->text_changed, (long long)s->lines);
		manifest_run_end(c.m, run_id, rc ? err_exit_code(rc) : 0, counts);
	}
	manifest_close(c.m);
	return rc;
}
