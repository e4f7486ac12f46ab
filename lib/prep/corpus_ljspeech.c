/*
 * corpus_ljspeech.c — LJSpeech-style single-speaker corpora: metadata.csv
 * with "id|transcription|normalized transcription" lines (pipe-separated, no
 * quoting) and wavs/<id>.wav.  The normalized column (numbers written out,
 * "In 1813" -> "In eighteen thirteen") is the transcript when present,
 * since the audio speaks the words; otherwise the raw column.  The speaker
 * label is the corpus directory's name.
 */
#include "prep/corpus.h"
#include "base/err.h"
#include "base/tsv.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "base/banned.h"

typedef struct ljs_state {
	tsv t;
	char speaker[256];
} ljs_state;

static int ljs_detect(const char *root)
{
	char p[8192];
	struct stat st;
	snprintf(p, sizeof p, "%s/metadata.csv", root);
	if (stat(p, &st) != 0)
		return 0;
	snprintf(p, sizeof p, "%s/wavs", root);
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode) ? 95 : 40;
}

static int ljs_open(corpus *c)
{
	ljs_state *s = calloc(1, sizeof *s);
	char p[8192];
	int rc;
	if (!s)
		return err_set(ACC_ENOMEM, "out of memory");
	snprintf(p, sizeof p, "%s/metadata.csv", c->root);
	if ((rc = tsv_open(&s->t, p, '|')) != 0) {
		free(s);
		return rc;
	}
	const char *base = strrchr(c->root, '/');
	snprintf(s->speaker, sizeof s->speaker, "%.200s", base ? base + 1 : c->root);
	c->st = s;
	return 0;
}

static int ljs_next(corpus *c, corpus_item *it)
{
	ljs_state *s = c->st;
	for (;;) {
		int r = tsv_next_n(&s->t, 3);
		char src[64];
		if (r == 0)
			return 0;
		snprintf(src, sizeof src, "metadata.csv:%ld", s->t.lineno);
		if (r < 0) {
			corpus_item_init(it, NULL, src);
			return corpus_item_reject(it, src, "bad_row", "%s", err_msg()) ? ACC_ENOMEM : 1;
		}
		if (s->t.nfield == 1 && !s->t.field[0][0])
			continue;
		const char *id = s->t.field[0];
		if (s->t.nfield < 2 || !*id) {
			corpus_item_init(it, NULL, src);
			return corpus_item_reject(it, src, "bad_row", "expected id|transcription[|normalized], got %d field(s)",
						  s->t.nfield) ? ACC_ENOMEM : 1;
		}
		const char *text = s->t.nfield >= 3 && s->t.field[2][0] ? s->t.field[2] : s->t.field[1];
		char audio[4200];
		snprintf(audio, sizeof audio, "wavs/%s.wav", id);
		if (corpus_item_init(it, audio, src))
			return ACC_ENOMEM;
		corpus_utt *u = corpus_item_add_utt(it, id, text, src);
		if (!u)
			return err_set(ACC_ENOMEM, "out of memory");
		u->speaker = strdup(s->speaker);
		return 1;
	}
}

static void ljs_close(corpus *c)
{
	ljs_state *s = c->st;
	if (!s)
		return;
	tsv_close(&s->t);
	free(s);
}

const corpus_layout corpus_ljspeech = { "ljspeech", ljs_detect, ljs_open, ljs_next, ljs_close };
