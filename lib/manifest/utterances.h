/*
 * utterances.h — the manifest's utterances as other stages read them: the
 * usable utterances of a language (and split) with their absolute audio
 * paths, reference transcripts and speaker attributes, and the counts that
 * say which filter leaves none; the aligned words of a recording (for
 * aligneval).  Train and eval read the utterances,
 * recordings, corpora, speakers and alignments tables only through here;
 * the audio path comes from manifest_audio_path (manifest.h), the one rule
 * for absolute and corpus-relative recording paths.
 */
#pragma once
#include "manifest/manifest.h"
#include <stddef.h>
#include <stdint.h>

/* Which utterances to read.  Every one read has status 'ok' and a
 * normalized transcript (text_norm not NULL). */
typedef struct utterances_filter {
	const char *lang;           /* utterances.lang; NULL = every language */
	const char *split;          /* one split; NULL = 'train' and 'dev' together */
	int         flags_any;      /* only those with one of these utterances.flags bits (0 = all) */
	int         nonblank;       /* text_norm has a non-space character */
	int         unflagged;      /* not flagged by `align run` (alignments.flags 0, or not aligned) */
	int         by_duration;    /* only 0 < end_s - start_s <= max_seconds */
	double      max_seconds;
} utterances_filter;

/* One utterance (strings malloc'ed; NULL speaker attributes = unknown). */
typedef struct utterance {
	int64_t id;
	char   *utt_key;
	char   *audio_path;         /* the recording's absolute path (manifest_audio_path) */
	double  start_s, end_s;
	char   *text;               /* utterances.text_norm */
	char   *split;
	double  weight;             /* utterances.weight, 1 when NULL */
	char   *speaker, *gender, *accent;
	int     flags;              /* utterances.flags */
} utterance;

typedef struct utterance_list {
	utterance *u;
	size_t     n, cap;
} utterance_list;

/* The utterances f selects, in id order, appended to *l (zeroed by the
 * caller before the first call).  ACC_EDB, ACC_ENOMEM, or ACC_EINVAL for an
 * audio path too long; on error *l keeps what was read before. */
int utterances_load(manifest *m, const utterances_filter *f, utterance_list *l);

/* Free every string of *l and the array; *l is zeroed. */
void utterances_free(utterance_list *l);

/* Free one utterance's strings (for a caller that drops entries). */
void utterance_clear(utterance *u);

/* The train-split funnel of one language (NULL = every language): counts
 * of its utterances, then of those with status 'ok', in the train split,
 * with a non-blank text_norm, with 0 < duration <= max_seconds, and not
 * flagged by `align run` — n[0..5], each a subset of the one before.  For
 * messages that name the filter that left nothing. */
int utterances_train_funnel(manifest *m, const char *lang, double max_seconds, long long n[6]);

/* Whether a corpora row has root (an absolute, resolved path): *found 1/0. */
int utterances_corpus_known(manifest *m, const char *root, int *found);

/* The id of the first recording (lowest id) at path within the corpus whose
 * root is root: 0 and *id, ACC_ENOTFOUND when there is none, ACC_EDB. */
int utterances_recording_find(manifest *m, const char *root, const char *path, int64_t *id);

/* One aligned word: align_words' normalized word and its span in the
 * recording (seconds). */
typedef struct utterances_word {
	char  *word;
	double start_s, end_s;
} utterances_word;

/* The aligned words of a recording in time order (utterance start, id,
 * word index), from its utterances with status 'ok' whose alignment is
 * 'ok'; *w malloc'ed (NULL and *n = 0 when none).  ACC_EDB, ACC_ENOMEM. */
int utterances_recording_words(manifest *m, int64_t recording_id, utterances_word **w, int64_t *n);
void utterances_words_free(utterances_word *w, int64_t n);
