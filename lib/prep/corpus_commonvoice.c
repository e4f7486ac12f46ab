/*
 * corpus_commonvoice.c — Mozilla Common Voice releases: *.tsv with a header
 * (client_id, path, sentence, up_votes, down_votes, age, gender,
 * accents|accent, locale, ...) and the audio in clips/.  Fields are split on
 * TAB only: real files contain unbalanced quotes, so no quote handling.
 */
#include "prep/corpus.h"
#include "base/err.h"
#include "base/tsv.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/banned.h"

typedef struct cv_state {
	char **files;
	int nfiles, cur;
	tsv t;
	int open;
	char fname[256];
	int c_client, c_path, c_sentence, c_gender, c_age, c_accent, c_locale, ncols;
} cv_state;

static int has_cv_header(const char *path)
{
	tsv t;
	int ok = 0;
	if (tsv_open(&t, path, '\t'))
		return 0;
	if (tsv_next(&t) == 1)
		ok = tsv_column(&t, "client_id") >= 0 && tsv_column(&t, "path") >= 0 && tsv_column(&t, "sentence") >= 0;
	tsv_close(&t);
	return ok;
}

/* A CV TSV that is not one of those holding rejected clips. */
static int keep_tsv(const char *root, const char *name, void *ctx)
{
	size_t l = strlen(name);
	char p[8192];
	if (l < 5 || strcmp(name + l - 4, ".tsv"))
		return 0;
	if (!strcmp(name, "invalidated.tsv") || !strcmp(name, "other.tsv") || !strcmp(name, "reported.tsv"))
		return 0;
	snprintf(p, sizeof p, "%s/%s", root, name);
	return has_cv_header(p);
}

/* The TSVs to read: validated.tsv alone when present (it contains train/dev/
 * test); otherwise every CV TSV except the ones holding rejected clips. */
static int list_tsvs(const char *root, char ***out, int *n)
{
	char **v;
	int cnt = corpus_list_dir(root, keep_tsv, NULL, &v);
	if (cnt < 0)
		cnt = 0;   /* unreadable: no TSVs */
	for (int i = 0; i < cnt; i++) {
		if (strcmp(v[i], "validated.tsv"))
			continue;
		for (int k = 0; k < cnt; k++)
			free(v[k]);
		v[0] = strdup("validated.tsv");
		cnt = 1;
	}
	*out = v;
	*n = cnt;
	return cnt;
}

static int cv_detect(const char *root)
{
	char **f;
	int n;
	list_tsvs(root, &f, &n);
	for (int i = 0; i < n; i++)
		free(f[i]);
	free(f);
	return n > 0 ? 90 : 0;
}

static int cv_open(corpus *c)
{
	cv_state *s = calloc(1, sizeof *s);
	if (!s)
		return err_set(ACC_ENOMEM, "out of memory");
	list_tsvs(c->root, &s->files, &s->nfiles);
	if (!s->nfiles) {
		free(s);
		return err_set(ACC_EFORMAT, "no *.tsv with a client_id/path/sentence header");
	}
	c->st = s;
	return 0;
}

static const char *field(cv_state *s, int col)
{
	return col >= 0 && col < s->t.nfield ? s->t.field[col] : NULL;
}

static int cv_next(corpus *c, corpus_item *it)
{
	cv_state *s = c->st;
	for (;;) {
		if (!s->open) {
			char p[8192];
			int rc;
			if (s->cur >= s->nfiles)
				return 0;
			snprintf(s->fname, sizeof s->fname, "%s", s->files[s->cur++]);
			snprintf(p, sizeof p, "%s/%s", c->root, s->fname);
			if ((rc = tsv_open(&s->t, p, '\t')) != 0)
				return rc;
			s->open = 1;
			if (tsv_next(&s->t) != 1)
				continue;
			s->c_client = tsv_column(&s->t, "client_id");
			s->c_path = tsv_column(&s->t, "path");
			s->c_sentence = tsv_column(&s->t, "sentence");
			s->c_gender = tsv_column(&s->t, "gender");
			s->c_age = tsv_column(&s->t, "age");
			s->c_accent = tsv_column(&s->t, "accents");
			if (s->c_accent < 0)
				s->c_accent = tsv_column(&s->t, "accent");
			s->c_locale = tsv_column(&s->t, "locale");
			s->ncols = s->t.nfield;
		}
		int r = tsv_next(&s->t);
		char src[300];
		if (r == 0) {
			tsv_close(&s->t);
			s->open = 0;
			continue;
		}
		snprintf(src, sizeof src, "%s:%ld", s->fname, s->t.lineno);
		if (r < 0) {
			if (r == ACC_EFORMAT) {
				corpus_item_init(it, NULL, src);
				return corpus_item_reject(it, src, "bad_row", "%s", err_msg()) ? ACC_ENOMEM : 1;
			}
			return r;
		}
		if (s->t.nfield == 1 && !s->t.field[0][0])
			continue;   /* blank line */
		const char *path = field(s, s->c_path), *sentence = field(s, s->c_sentence);
		if (!path || !*path || !sentence) {
			corpus_item_init(it, NULL, src);
			return corpus_item_reject(it, src, "bad_row", "%d fields where the header has %d; no path or sentence",
						  s->t.nfield, s->ncols) ? ACC_ENOMEM : 1;
		}
		char audio[4200], key[4200];
		snprintf(audio, sizeof audio, "clips/%s", path);
		snprintf(key, sizeof key, "%s", path);
		char *dot = strrchr(key, '.');
		if (dot && !strchr(dot, '/'))
			*dot = 0;
		if (corpus_item_init(it, audio, src))
			return ACC_ENOMEM;
		corpus_utt *u = corpus_item_add_utt(it, key, sentence, src);
		if (!u)
			return err_set(ACC_ENOMEM, "out of memory");
		u->speaker = corpus_strdup_opt(field(s, s->c_client));
		u->gender = corpus_strdup_opt(field(s, s->c_gender));
		u->age = corpus_strdup_opt(field(s, s->c_age));
		u->accent = corpus_strdup_opt(field(s, s->c_accent));
		u->lang = corpus_strdup_opt(field(s, s->c_locale));
		return 1;
	}
}

static void cv_close(corpus *c)
{
	cv_state *s = c->st;
	if (!s)
		return;
	if (s->open)
		tsv_close(&s->t);
	for (int i = 0; i < s->nfiles; i++)
		free(s->files[i]);
	free(s->files);
	free(s);
}

const corpus_layout corpus_commonvoice = { "commonvoice", cv_detect, cv_open, cv_next, cv_close };
