/*
 * corpus_nemo.c — NVIDIA NeMo manifests: *.json / *.jsonl files with one
 * JSON object per line: audio_filepath (or audio_filename), duration, text,
 * optional offset (a span of a longer file), speaker, lang.  Relative audio
 * paths are relative to the manifest's directory, as NeMo resolves them.
 * Consecutive lines naming the same audio file become one item, so a long
 * file with many offsets is decoded once.
 */
#include "prep/corpus.h"
#include "base/err.h"
#include "base/tsv.h"
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/banned.h"

typedef struct nemo_state {
	char **files;
	int nfiles, cur;
	tsv t;
	int open;
	char fname[256];
	json_t *pending;     /* a parsed line that belongs to the next item */
	long pending_line;
	corpus_item pend_rej; /* a bad line met while grouping: the next item */
	int has_rej;
} nemo_state;

static int is_manifest_name(const char *n)
{
	size_t l = strlen(n);
	return (l > 5 && !strcmp(n + l - 5, ".json")) || (l > 6 && !strcmp(n + l - 6, ".jsonl"));
}

static int first_line_is_nemo(const char *path)
{
	tsv t;
	int ok = 0;
	if (tsv_open(&t, path, '\n'))
		return 0;
	if (tsv_next_n(&t, 1) == 1) {
		json_t *j = json_loads(t.field[0], 0, NULL);
		ok = j && json_is_object(j) && (json_object_get(j, "audio_filepath") || json_object_get(j, "audio_filename"));
		json_decref(j);
	}
	tsv_close(&t);
	return ok;
}

static int keep_manifest(const char *root, const char *name, void *ctx)
{
	char p[8192];
	if (!is_manifest_name(name))
		return 0;
	snprintf(p, sizeof p, "%s/%s", root, name);
	return first_line_is_nemo(p);
}

static int list_manifests(const char *root, char ***out)
{
	int n = corpus_list_dir(root, keep_manifest, NULL, out);
	return n < 0 ? 0 : n;   /* unreadable: no manifests */
}

static int nemo_detect(const char *root)
{
	char **f;
	int n = list_manifests(root, &f);
	for (int i = 0; i < n; i++)
		free(f[i]);
	free(f);
	return n ? 90 : 0;
}

static int nemo_open(corpus *c)
{
	nemo_state *s = calloc(1, sizeof *s);
	if (!s)
		return err_set(ACC_ENOMEM, "out of memory");
	s->nfiles = list_manifests(c->root, &s->files);
	if (!s->nfiles) {
		free(s);
		return err_set(ACC_EFORMAT, "no *.json/*.jsonl manifest with audio_filepath lines");
	}
	c->st = s;
	return 0;
}

static const char *jstr(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Longer than this (about 11.6 days) is not a span of a real recording. */
#define NEMO_MAX_SECONDS 1e6

static const char *jaudio(json_t *o)
{
	const char *a = jstr(o, "audio_filepath");
	return a ? a : jstr(o, "audio_filename");
}

/* Read the next JSON line of the current file; 1 with *j, 0 at end of all
 * files, or 2 with a reject item filled (bad line). */
static int read_line(corpus *c, nemo_state *s, json_t **j, long *line, corpus_item *rej)
{
	for (;;) {
		if (!s->open) {
			char p[8192];
			if (s->cur >= s->nfiles)
				return 0;
			snprintf(s->fname, sizeof s->fname, "%s", s->files[s->cur++]);
			snprintf(p, sizeof p, "%s/%s", c->root, s->fname);
			if (tsv_open(&s->t, p, '\n'))
				continue;
			s->open = 1;
		}
		int r = tsv_next_n(&s->t, 1);
		if (r == 0) {
			tsv_close(&s->t);
			s->open = 0;
			continue;
		}
		char src[300];
		snprintf(src, sizeof src, "%s:%ld", s->fname, s->t.lineno);
		*line = s->t.lineno;
		if (r < 0) {
			corpus_item_init(rej, NULL, src);
			corpus_item_reject(rej, src, "bad_row", "%s", err_msg());
			return 2;
		}
		const char *l = s->t.field[0];
		while (*l == ' ' || *l == '\t')
			l++;
		if (!*l)
			continue;
		json_error_t je;
		json_t *o = json_loads(l, 0, &je);
		if (!o || !json_is_object(o) || !jaudio(o)) {
			corpus_item_init(rej, NULL, src);
			corpus_item_reject(rej, src, "bad_row", "%s", o ? "no audio_filepath/audio_filename" : je.text);
			json_decref(o);
			return 2;
		}
		*j = o;
		return 1;
	}
}

static int add_line(nemo_state *s, corpus_item *it, json_t *o, long line)
{
	char src[300], key[4200];
	const char *audio = jaudio(o), *text = jstr(o, "text");
	/* present/absent are flags, not a -1 sentinel: a corpus' own -3 or 0
	 * must be rejected, not read as "absent" */
	json_t *jo = json_object_get(o, "offset"), *jd = json_object_get(o, "duration");
	int has_off = jo && !json_is_null(jo), has_dur = jd && !json_is_null(jd);
	double off = json_is_number(jo) ? json_number_value(jo) : NAN;
	double dur = json_is_number(jd) ? json_number_value(jd) : NAN;
	int off_ok = !has_off || (isfinite(off) && off >= 0 && off < NEMO_MAX_SECONDS);
	int dur_ok = !has_dur || (isfinite(dur) && dur > 0 && dur < NEMO_MAX_SECONDS);
	const char *id = jstr(o, "utt_id");
	if (!id)
		id = jstr(o, "id");
	snprintf(src, sizeof src, "%s:%ld", s->fname, line);
	if (id) {
		snprintf(key, sizeof key, "%s", id);
	} else {
		const char *base = strrchr(audio, '/');
		snprintf(key, sizeof key, "%s", base ? base + 1 : audio);
		char *dot = strrchr(key, '.');
		if (dot)
			*dot = 0;
		if (has_off && off_ok) {
			size_t l = strlen(key);
			snprintf(key + l, sizeof key - l, "_%.3f", off);
		}
	}
	corpus_utt *u = corpus_item_add_utt(it, key, text, src);
	if (!u)
		return err_set(ACC_ENOMEM, "out of memory");
	if (!off_ok || !dur_ok) {
		char ob[64] = "", db[64] = "";
		json_t *bad = !off_ok ? jo : jd;
		char *shown = json_dumps(bad, JSON_ENCODE_ANY);
		snprintf(!off_ok ? ob : db, 64, "%.40s", shown ? shown : "?");
		free(shown);
		if (corpus_utt_reject(u, "bad_span", "utterance '%s': %s %s is not %s", key, !off_ok ? "offset" : "duration",
				      !off_ok ? ob : db, !off_ok ? "a time in [0, 1e6) s" : "a length in (0, 1e6) s"))
			return err_set(ACC_ENOMEM, "out of memory");
	} else if (has_off) {
		u->start_s = off;
		u->end_s = has_dur ? off + dur : -1;
	} else if (has_dur) {
		it->duration_declared = dur;
	}
	json_t *spk = json_object_get(o, "speaker");
	if (json_is_string(spk))
		u->speaker = corpus_strdup_opt(json_string_value(spk));
	else if (json_is_integer(spk)) {
		char b[32];
		snprintf(b, sizeof b, "%lld", (long long)json_integer_value(spk));
		u->speaker = strdup(b);
	}
	u->lang = corpus_strdup_opt(jstr(o, "lang"));
	u->gender = corpus_strdup_opt(jstr(o, "gender"));
	return 0;
}

static int nemo_next(corpus *c, corpus_item *it)
{
	nemo_state *s = c->st;
	json_t *o = s->pending;
	long line = s->pending_line;
	int r;
	s->pending = NULL;
	if (s->has_rej) {
		*it = s->pend_rej;
		memset(&s->pend_rej, 0, sizeof s->pend_rej);
		s->has_rej = 0;
		return 1;
	}
	if (!o) {
		r = read_line(c, s, &o, &line, it);
		if (r != 1)
			return r == 2 ? 1 : r;
	}
	char dir[300];
	snprintf(dir, sizeof dir, "%s", s->fname);
	char *sl = strrchr(dir, '/');
	if (sl)
		sl[1] = 0;
	else
		dir[0] = 0;
	char audio[8192], src[300];
	const char *a = jaudio(o);
	snprintf(audio, sizeof audio, "%s%s", a[0] == '/' ? "" : dir, a);
	snprintf(src, sizeof src, "%s:%ld", s->fname, line);
	if (corpus_item_init(it, audio, src) || add_line(s, it, o, line)) {
		json_decref(o);
		return ACC_ENOMEM;
	}
	/* group following lines with the same audio file and an offset */
	int grouping = json_object_get(o, "offset") != NULL;
	char first[8192];
	snprintf(first, sizeof first, "%s", a);
	json_decref(o);
	while (grouping) {
		corpus_item rej;
		json_t *n;
		long nl;
		memset(&rej, 0, sizeof rej);
		r = read_line(c, s, &n, &nl, &rej);
		if (r == 2) {
			/* keep the bad line for the next call: emitted as its own item */
			s->pend_rej = rej;
			s->has_rej = 1;
			break;
		}
		if (r != 1)
			break;
		if (strcmp(jaudio(n), first) || !json_object_get(n, "offset")) {
			s->pending = n;
			s->pending_line = nl;
			break;
		}
		r = add_line(s, it, n, nl);
		json_decref(n);
		if (r)
			return r;
	}
	return 1;
}

static void nemo_close(corpus *c)
{
	nemo_state *s = c->st;
	if (!s)
		return;
	if (s->open)
		tsv_close(&s->t);
	json_decref(s->pending);
	corpus_item_clear(&s->pend_rej);
	for (int i = 0; i < s->nfiles; i++)
		free(s->files[i]);
	free(s->files);
	free(s);
}

const corpus_layout corpus_nemo = { "nemo", nemo_detect, nemo_open, nemo_next, nemo_close };
