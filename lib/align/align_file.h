/*
 * align_file.h — `align file`: one recording aligned against its transcript
 * with no manifest and no corpus (nothing is written but the output).  The
 * same steps as `align run` on a clip: the transcript normalized with a
 * textnorm profile, tokens under the OOV policy, emissions from the model
 * core (windowed beyond 40 s), Viterbi, word/char spans, quality and flags;
 * labels are the words as written (align_label.h).
 */
#pragma once
#include <stdint.h>

#include "align/align_export.h"
#include "align/align_one.h"
#include "model/emit.h"

typedef struct align_file_opts {
	const char *lang;          /* language of the text (normalization) */
	const char *profile;       /* textnorm profile (NULL = "default") */
	align_params p;            /* OOV policy, stars, flags */
	double long_s;             /* audio longer than this gets edge <star>s as long recordings
	                            * do in `align run` (default 30 s; 0 = never) */
} align_file_opts;

typedef struct align_file_result {
	ax_utt   u;                /* ready for the align_export writers (key = the audio file name) */
	ax_item *words, *chars;
	int64_t  nwords, nchars;
	char    *key, *raw;
	align_result r;            /* status, flags, message, quality */
	int64_t  oov_total;
	char     oov_desc[200];
} align_file_result;
void align_file_result_free(align_file_result *f);

/* Align audio_path against text (UTF-8, the transcript as written; lines
 * are joined) with emitter em and vocabulary v.  A transcript the audio
 * cannot hold (impossible, empty, all out of vocabulary) is not an error:
 * res->r.status_ok = 0 with flags and message.  Errors: ACC_EFORMAT
 * (undecodable audio, text not UTF-8), ACC_EINVAL (vocabulary/model
 * mismatch, no <unk> nor <star> for an OOV character), ACC_ENOMEM. */
int align_file_run(const char *audio_path, const char *text, const align_file_opts *o, emitter *em,
		   const vocab *v, align_file_result *res);

/* Words (and characters) of a text spelled in the vocabulary's tokens, e.g.
 * a beam decoder's hypothesis, timed by forced alignment (Viterbi) to the
 * emissions lp [T, V] it was decoded from; confidences are the aligned
 * frames' mean probabilities.  Items malloc'ed (align_export_items_free);
 * none for an empty text.  ACC_EINVAL when the text cannot be aligned. */
int align_text_items(const float *lp, int64_t T, int V, int blank, const vocab *v, const char *text, ax_item **words,
		     int64_t *nw, ax_item **chars, int64_t *nc);
