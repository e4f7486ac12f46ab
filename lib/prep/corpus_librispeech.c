/*
 * corpus_librispeech.c — LibriSpeech: <spk>/<chapter>/<spk>-<chapter>.trans.txt
 * with "UTTID TRANSCRIPT" lines and UTTID.flac beside it (found at any depth,
 * so the root may be LibriSpeech/, dev-clean/ or a speaker directory).  The
 * speaker is the UTTID's first '-' field; SPEAKERS.TXT ("ID | SEX | ...")
 * at the root or its parent gives the gender.  Audio files in a chapter that
 * the transcript does not list are returned as no_transcript rejects.
 */
#include "prep/corpus.h"
#include "base/err.h"
#include "base/tsv.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "base/banned.h"

typedef struct ls_state {
	corpus_walk *w;
	strmap *gender;
	tsv t;
	int open;
	char trans[4200];    /* rel path of the current .trans.txt */
	char dir[4200];      /* its directory (rel, "" for root) */
	char **orphans;      /* audio files of the chapter not in the transcript */
	int norph, iorph;
	strmap *listed;
} ls_state;

static int is_trans(const char *rel)
{
	size_t l = strlen(rel);
	return l > 10 && !strcmp(rel + l - 10, ".trans.txt");
}

static int ls_detect(const char *root)
{
	corpus_walk *w;
	const char *rel;
	int found = 0, n = 0;
	if (corpus_walk_open(&w, root))
		return 0;
	while (n++ < 5000 && corpus_walk_next(w, &rel) > 0)
		if (is_trans(rel)) {
			found = 1;
			break;
		}
	corpus_walk_close(w);
	return found ? 90 : 0;
}

static void load_speakers(ls_state *s, const char *path)
{
	tsv t;
	if (tsv_open(&t, path, '|'))
		return;
	while (tsv_next(&t) == 1) {
		if (t.nfield < 2 || t.field[0][0] == ';')
			continue;
		char *rest, *id = tsv_split_key(t.field[0], &rest), *g = t.field[1];
		while (*g == ' ')
			g++;
		char *e = g + strlen(g);
		while (e > g && e[-1] == ' ')
			*--e = 0;
		if (*id && *g)
			strmap_put(s->gender, id, g);
	}
	tsv_close(&t);
}

static int ls_open(corpus *c)
{
	ls_state *s = calloc(1, sizeof *s);
	char p[8192];
	int rc;
	if (!s || !(s->gender = strmap_new())) {
		free(s);
		return err_set(ACC_ENOMEM, "out of memory");
	}
	snprintf(p, sizeof p, "%s/SPEAKERS.TXT", c->root);
	load_speakers(s, p);
	snprintf(p, sizeof p, "%s/../SPEAKERS.TXT", c->root);
	load_speakers(s, p);
	if ((rc = corpus_walk_open(&s->w, c->root)) != 0) {
		strmap_free(s->gender);
		free(s);
		return rc;
	}
	c->st = s;
	return 0;
}

static void free_orphans(ls_state *s)
{
	for (int i = 0; i < s->norph; i++)
		free(s->orphans[i]);
	free(s->orphans);
	s->orphans = NULL;
	s->norph = s->iorph = 0;
}

static int keep_orphan(const char *dir, const char *name, void *ctx)
{
	const ls_state *s = ctx;
	char stem[512];
	if (!corpus_is_audio_name(name))
		return 0;
	snprintf(stem, sizeof stem, "%s", name);
	char *dot = strrchr(stem, '.');
	if (dot)
		*dot = 0;
	return !strmap_get(s->listed, stem);
}

/* After a transcript is read: list the audio files of its directory that it
 * did not mention. */
static void collect_orphans(corpus *c, ls_state *s)
{
	char p[12300];
	free_orphans(s);
	snprintf(p, sizeof p, "%s%s%s", c->root, s->dir[0] ? "/" : "", s->dir);
	s->norph = corpus_list_dir(p, keep_orphan, s, &s->orphans);
	if (s->norph < 0)
		s->norph = 0;   /* unreadable: no orphans */
}

static int ls_next(corpus *c, corpus_item *it)
{
	ls_state *s = c->st;
	for (;;) {
		if (s->iorph < s->norph) {
			char rel[8192];
			const char *name = s->orphans[s->iorph++];
			snprintf(rel, sizeof rel, "%s%s%s", s->dir, s->dir[0] ? "/" : "", name);
			corpus_item_init(it, rel, rel);
			return corpus_item_reject(it, rel, "no_transcript", "'%s' is not listed in %s", rel, s->trans) ?
				ACC_ENOMEM : 1;
		}
		if (!s->open) {
			const char *rel;
			char p[8192];
			int r = corpus_walk_next(s->w, &rel);
			if (r <= 0)
				return r;
			if (r == 2) {
				/* a directory skipped (loop, unreadable): one reject, go on */
				const char *msg, *why = corpus_walk_skip(s->w, &msg);
				corpus_item_init(it, NULL, rel);
				return corpus_item_reject(it, rel, why, "%s", msg) ? ACC_ENOMEM : 1;
			}
			if (!is_trans(rel))
				continue;
			snprintf(s->trans, sizeof s->trans, "%s", rel);
			snprintf(s->dir, sizeof s->dir, "%s", rel);
			char *sl = strrchr(s->dir, '/');
			if (sl)
				*sl = 0;
			else
				s->dir[0] = 0;
			snprintf(p, sizeof p, "%s/%s", c->root, rel);
			if (tsv_open(&s->t, p, '\n'))
				continue;
			strmap_free(s->listed);
			s->listed = strmap_new();
			s->open = 1;
		}
		int r = tsv_next_n(&s->t, 1);
		char src[4300];
		if (r == 0) {
			tsv_close(&s->t);
			s->open = 0;
			collect_orphans(c, s);
			continue;
		}
		snprintf(src, sizeof src, "%s:%ld", s->trans, s->t.lineno);
		if (r < 0) {
			corpus_item_init(it, NULL, src);
			return corpus_item_reject(it, src, "bad_row", "%s", err_msg()) ? ACC_ENOMEM : 1;
		}
		char *text, *id = tsv_split_key(s->t.field[0], &text);
		if (!*id)
			continue;
		strmap_put(s->listed, id, "");
		/* UTTID.flac, or another audio extension when converted */
		static const char *ext[] = { "flac", "wav", "mp3", "ogg", "opus", 0 };
		char rel[8192], p[12300];
		struct stat st;
		for (int i = 0; ext[i]; i++) {
			snprintf(rel, sizeof rel, "%s%s%s.%s", s->dir, s->dir[0] ? "/" : "", id, ext[i]);
			snprintf(p, sizeof p, "%s/%s", c->root, rel);
			if (stat(p, &st) == 0)
				break;
			if (!ext[i + 1])   /* report the canonical name */
				snprintf(rel, sizeof rel, "%s%s%s.flac", s->dir, s->dir[0] ? "/" : "", id);
		}
		if (corpus_item_init(it, rel, src))
			return ACC_ENOMEM;
		corpus_utt *u = corpus_item_add_utt(it, id, text, src);
		if (!u)
			return err_set(ACC_ENOMEM, "out of memory");
		char spk[256];
		snprintf(spk, sizeof spk, "%s", id);
		char *dash = strchr(spk, '-');
		if (dash)
			*dash = 0;
		u->speaker = strdup(spk);
		u->gender = corpus_strdup_opt(strmap_get(s->gender, spk));
		return 1;
	}
}

static void ls_close(corpus *c)
{
	ls_state *s = c->st;
	if (!s)
		return;
	if (s->open)
		tsv_close(&s->t);
	corpus_walk_close(s->w);
	strmap_free(s->gender);
	strmap_free(s->listed);
	free_orphans(s);
	free(s);
}

const corpus_layout corpus_librispeech = { "librispeech", ls_detect, ls_open, ls_next, ls_close };
