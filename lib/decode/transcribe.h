/*
 * transcribe.h — the `transcribe` core: a model directory's emissions
 * (windowed for long audio) decoded greedily (argmax per frame, repeats
 * grouped, blank dropped, '|' -> space, like Hugging Face's
 * Wav2Vec2CTCTokenizer.decode) or by prefix beam search with an n-gram LM,
 * optionally with word and character times (greedy path: ctc_words.h;
 * beam: the hypothesis forced-aligned, align_file.h), written as JSON
 * lines, CTM or subtitles; and the manifest's utterances to transcribe,
 * read in one named function.
 */
#pragma once
#include <stdint.h>
#include <stdio.h>

#include "align/align_export.h"
#include "decode/arpa.h"
#include "decode/ctc_beam.h"
#include "manifest/manifest.h"
#include "model/vocab.h"
#include "model/w2v.h"
#include "model/w2v_infer.h"
#include "model/w2v_precision.h"

/* A loaded model with its vocabulary and decoder. */
typedef struct transcriber {
	w2v_model   *m;
	w2v_infer   *wi;
	vocab       *v;
	arpa        *lm;             /* --lm, or NULL */
	ctc_decoder *dec;            /* beam search when lm, else NULL */
	const char **tokens;         /* [V]: sentence markers NULL */
	int          V, blank;
	double       win, ctx;       /* windowing of long audio (seconds) */
	w2v_precision precision;     /* resolved (never auto) */
} transcriber;

/* Load model_dir (lang: the vocabulary and adapter, may be NULL) computing
 * in prec (auto resolved here), windows of win seconds with ctx seconds of
 * context; with lm_path, a beam decoder with options bo (NULL: defaults).
 * ACC_EINVAL when the vocabulary and the model's output size differ. */
int transcriber_open(transcriber *t, const char *model_dir, const char *lang, w2v_precision prec, double win,
		     double ctx, const char *lm_path, const ctc_beam_opts *bo);
void transcriber_close(transcriber *t);

/* One input's transcript and, when asked for, its timed items. */
typedef struct transcript {
	char    *text;
	ax_item *words, *chars;      /* NULL unless items were asked for */
	int64_t  nw, nc;
} transcript;
void transcript_free(transcript *r);

/* Transcribe x[0..n) (16 kHz mono): the text, and with items the words and
 * characters timed from frame 0. */
int transcriber_run(transcriber *t, const float *x, int64_t n, int items, transcript *out);

/* Write u (its words and characters from a transcript) to f as fmt: "json"
 * (one line), "ctm", "srt" or "vtt" (cue layout from cue). */
int transcript_write(FILE *f, const char *fmt, const ax_utt *u, const ax_cue_opts *cue);

/* An utterance of the manifest to transcribe. */
typedef struct transcribe_utt {
	char  *key;                  /* utt_key */
	char  *rec;                  /* the recording's path as stored (CTM ids) */
	char  *path;                 /* the audio file's absolute path */
	char  *ref;                  /* text_norm, or NULL */
	double start, end;           /* span in the recording (s) */
} transcribe_utt;

/* The usable (status 'ok') utterances in id order, of split (NULL: any)
 * and lang (NULL: any; utterances without a language are included), at
 * most limit (<= 0: all).  *u malloc'ed (transcribe_utts_free). */
int transcribe_utts(manifest *m, const char *split, const char *lang, long limit, transcribe_utt **u, int64_t *n);
void transcribe_utts_free(transcribe_utt *u, int64_t n);
