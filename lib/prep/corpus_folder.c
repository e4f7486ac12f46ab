/*
 * corpus_folder.c — two layouts made of plain files:
 *
 *   folder    any tree of audio files, each with a same-stem .txt transcript
 *             (a.wav + a.txt); the speaker is the first-level subfolder when
 *             the file is in one.  Audio with no .txt is returned as an
 *             utterance without text (ingest rejects it as no_transcript); a
 *             .txt with no audio as a missing_file reject.
 *   longform  MMS data_prep style: a long audio file + a same-stem .txt with
 *             one line per segment.  The item carries the lines; ingest cuts
 *             the audio at pauses and leaves the text to the align stage.
 *
 * Detection samples the tree: .txt files of several non-empty lines mean
 * longform, single lines mean folder.
 */
#include "prep/corpus.h"
#include "base/err.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "base/banned.h"

typedef struct folder_state {
	corpus_walk *w;
	int long_form;
} folder_state;

static int stem_len(const char *rel)
{
	const char *dot = strrchr(rel, '.'), *sl = strrchr(rel, '/');
	return dot && (!sl || dot > sl) ? (int)(dot - rel) : (int)strlen(rel);
}

static int is_txt(const char *rel)
{
	size_t l = strlen(rel);
	return l > 4 && !strcmp(rel + l - 4, ".txt");
}

static int txt_of(const char *root, const char *rel, char *out, size_t cap)
{
	struct stat st;
	char p[12300];
	snprintf(out, cap, "%.*s.txt", stem_len(rel), rel);
	snprintf(p, sizeof p, "%s/%s", root, out);
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int audio_of_txt(const char *root, const char *rel)
{
	static const char *ext[] = { "wav", "flac", "mp3", "ogg", "opus", "oga", "aiff", "aif", "au", "w64", "rf64",
				     "caf", "sph", "m4a", "aac", "mp4", "wma", "webm", "amr",
				     "WAV", "FLAC", "MP3", "OGG", 0 };
	struct stat st;
	char p[12300];
	for (int i = 0; ext[i]; i++) {
		snprintf(p, sizeof p, "%s/%.*s.%s", root, stem_len(rel), rel, ext[i]);
		if (stat(p, &st) == 0)
			return 1;
	}
	return 0;
}

/* Counts over (a sample of) the tree. */
static void survey(const char *root, int *audio, int *single, int *multi)
{
	corpus_walk *w;
	const char *rel;
	int seen = 0;
	*audio = *single = *multi = 0;
	if (corpus_walk_open(&w, root))
		return;
	int r;
	while (seen < 2000 && (r = corpus_walk_next(w, &rel)) > 0) {
		char txt[8192], p[12300];
		int nl;
		if (r != 1 || !corpus_is_audio_name(rel))
			continue;
		seen++;
		(*audio)++;
		if (!txt_of(root, rel, txt, sizeof txt))
			continue;
		snprintf(p, sizeof p, "%s/%s", root, txt);
		char *t = corpus_read_text(p, &nl, NULL);
		free(t);
		if (nl >= 2)
			(*multi)++;
		else
			(*single)++;
	}
	corpus_walk_close(w);
}

static int folder_detect(const char *root)
{
	int a, s, m;
	survey(root, &a, &s, &m);
	if (!a)
		return 0;
	if (s + m == 0)
		return 10;
	return m > s ? 40 : 50;
}

static int longform_detect(const char *root)
{
	int a, s, m;
	survey(root, &a, &s, &m);
	return m > s ? 60 : 0;
}

static int open_common(corpus *c, int long_form)
{
	folder_state *s = calloc(1, sizeof *s);
	int rc;
	if (!s)
		return err_set(ACC_ENOMEM, "out of memory");
	if ((rc = corpus_walk_open(&s->w, c->root)) != 0) {
		free(s);
		return rc;
	}
	s->long_form = long_form;
	c->st = s;
	return 0;
}

static int folder_open(corpus *c) { return open_common(c, 0); }
static int longform_open(corpus *c) { return open_common(c, 1); }

static char *speaker_of(const char *rel)
{
	const char *sl = strchr(rel, '/');
	if (!sl)
		return NULL;
	return strndup(rel, sl - rel);
}

static int folder_next(corpus *c, corpus_item *it)
{
	folder_state *s = c->st;
	const char *rel;
	int r;
	while ((r = corpus_walk_next(s->w, &rel)) > 0) {
		char txt[8192], p[12300], key[8192];
		if (r == 2) {
			/* a directory skipped (loop, unreadable): one reject, go on */
			const char *msg, *why = corpus_walk_skip(s->w, &msg);
			corpus_item_init(it, NULL, rel);
			return corpus_item_reject(it, rel, why, "%s", msg) ? ACC_ENOMEM : 1;
		}
		if (is_txt(rel)) {
			if (audio_of_txt(c->root, rel))
				continue;
			corpus_item_init(it, NULL, rel);
			return corpus_item_reject(it, rel, "missing_file", "transcript '%s' has no audio file with the same name",
						  rel) ? ACC_ENOMEM : 1;
		}
		if (!corpus_is_audio_name(rel))
			continue;
		int has_txt = txt_of(c->root, rel, txt, sizeof txt);
		char *text = NULL;
		int nl = 0, why = CORPUS_TEXT_OK;
		if (has_txt) {
			snprintf(p, sizeof p, "%s/%s", c->root, txt);
			text = corpus_read_text(p, &nl, &why);
		}
		if (corpus_item_init(it, rel, rel)) {
			free(text);
			return ACC_ENOMEM;
		}
		/* a transcript that exists but cannot be used is not "no transcript" */
		if (why == CORPUS_TEXT_UNREADABLE)
			return corpus_item_reject(it, txt, "unreadable", "transcript '%s' cannot be read: %s", txt, err_msg()) ?
				ACC_ENOMEM : 1;
		if (why == CORPUS_TEXT_NUL)
			return corpus_item_reject(it, txt, "bad_text", "transcript '%s' holds a NUL byte: not a text file", txt) ?
				ACC_ENOMEM : 1;
		snprintf(key, sizeof key, "%.*s", stem_len(rel), rel);
		if (s->long_form) {
			if (!text) {
				free(text);
				return corpus_item_reject(it, rel, "no_transcript", "'%s' has no transcript file '%s'", rel, txt) ?
					ACC_ENOMEM : 1;
			}
			it->long_form = 1;
			it->long_speaker = speaker_of(rel);
			char *save, *line = strtok_r(text, "\n", &save);
			for (; line; line = strtok_r(NULL, "\n", &save)) {
				size_t l = strlen(line);
				while (l && (line[l - 1] == '\r' || line[l - 1] == ' ' || line[l - 1] == '\t'))
					line[--l] = 0;
				if (*line && corpus_item_add_line(it, line)) {
					free(text);
					return err_set(ACC_ENOMEM, "out of memory");
				}
			}
			free(text);
			if (!it->nlines)
				return corpus_item_reject(it, rel, "empty_text", "transcript '%s' of long recording '%s' is empty",
							  txt, rel) ? ACC_ENOMEM : 1;
			return 1;
		}
		/* a transcript spread over several lines is one utterance */
		for (char *q = text; q && *q; q++)
			if (*q == '\n' || *q == '\r' || *q == '\t')
				*q = ' ';
		corpus_utt *u = corpus_item_add_utt(it, key, text, has_txt ? txt : rel);
		free(text);
		if (!u)
			return err_set(ACC_ENOMEM, "out of memory");
		u->speaker = speaker_of(rel);
		return 1;
	}
	return r;
}

static void folder_close(corpus *c)
{
	folder_state *s = c->st;
	if (!s)
		return;
	corpus_walk_close(s->w);
	free(s);
}

const corpus_layout corpus_folder = { "folder", folder_detect, folder_open, folder_next, folder_close };
const corpus_layout corpus_longform = { "longform", longform_detect, longform_open, folder_next, folder_close };
