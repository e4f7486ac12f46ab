/*
 * align_one.h — one utterance aligned and judged: token ids (align_tokens.h)
 * against emissions [T, V], with optional <star> edges, through Viterbi
 * (align.h) to token and word spans, word texts (cut into ICU word units
 * for scripts written without spaces), the words as written (labels), and
 * the quality measures and flags stored in alignments.flags.  Pure: no
 * database, no model; the runner (align_run.h) and `align file`
 * (align_file.h) both align through align_one.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "align/align.h"
#include "align/align_label.h"
#include "align/align_tokens.h"
#include "model/vocab.h"

/* Flag bits stored in alignments.flags. */
enum {
	ALIGN_FLAG_IMPOSSIBLE  = 1,    /* text too long for the audio (T < L + repeats) */
	ALIGN_FLAG_LOW_CONF    = 2,    /* min_window_logp below the threshold */
	ALIGN_FLAG_RATE        = 4,    /* speaking rate outside [rate_min, rate_max] */
	ALIGN_FLAG_EDGE        = 8,    /* more unaligned audio at an edge than edge_max_s */
	ALIGN_FLAG_OOV         = 16,   /* characters missing from the vocabulary */
	ALIGN_FLAG_EMPTY_AUDIO = 32,   /* no frames (audio shorter than the receptive field) */
	ALIGN_FLAG_EMPTY_TEXT  = 64,   /* nothing to align */
	ALIGN_FLAG_ERROR       = 128,  /* other failure (audio decode, ...): see message */
};

typedef struct align_params {
	align_oov_policy oov;
	int    star_edges;      /* <star> before and after the transcript of a clip (default 0: a star
	                         * (log-prob 0) pulls the first/last token boundaries inwards;
	                         * long-recording segmentation always uses edge stars) */
	int    star_between;    /* segmentation: <star> between lines (default 0) */
	int    window;          /* frames of the confidence window (default 30 = 0.6 s) */
	double low_conf;        /* flag when min_window_logp < this (default -4.0) */
	double rate_min, rate_max;  /* chars/s outside this is an outlier (defaults 2, 30) */
	double edge_max_s;      /* flag when lead or trail exceeds this (default 2.0 s) */
	double seg_min_s, seg_max_s;  /* segmentation duration bounds (defaults 1, 30 s) */
	size_t mem_budget;      /* backpointer memory budget (align_opts; 0 = default) */
	int    break_words;     /* words of scripts written without spaces (Chinese, Japanese, Thai,
	                         * ...) cut into ICU word units (wordbreak.h; default 1) */
} align_params;

/* Fill p with the documented defaults. */
void align_params_default(align_params *p);

/* Result of aligning one utterance. */
typedef struct align_result {
	int      status_ok;      /* 1 aligned */
	int      flags;          /* ALIGN_FLAG_* */
	char     message[512];
	int64_t  frames, tokens;
	double   mean_logp, min_window_logp, chars_per_s, lead_s, trail_s;
	align_span *tok;         /* [ntok] spans of the target tokens (star included) */
	int     *tok_ids;        /* [ntok] */
	int64_t  ntok;
	align_span *words;       /* [nwords] */
	char   **word_text;      /* [nwords] the transcript's (normalized) words */
	int64_t  nwords;
	char   **word_label;     /* [nwords] or NULL: the words as written (align_label.h; "" continues
	                          * the previous word's written token) */
	char   **word_rom;       /* [nwords] or NULL: the romanized words aligned (--oov romanize) */
} align_result;
/* Free every array of r and zero it (r may be NULL). */
void align_result_free(align_result *r);

/* After a successful align_one on the normalized text norm: fill
 * r->word_label from raw (the transcript as written, with the stored
 * normalization profile identity; see align_label.h) and, when used (the
 * text actually tokenized) differs from norm, r->word_rom.  Either stays
 * NULL when its word count differs.  <0 only for out of memory. */
int align_result_labels(align_result *r, align_labeler *l, const char *raw, const char *norm, const char *profile,
			const char *used);

/* Align ids (from align_tokens) to emissions lp [T, V] (row stride V),
 * adding <star> at the edges when p->star_edges, and measure quality and
 * flags.  text is the transcript the ids came from (its words, not the
 * romanized ones, become r->word_text).  Returns 0 also for a
 * flagged failure (impossible, empty): r->status_ok says; <0 only for
 * resource errors. */
int align_one(const float *lp, int64_t T, int V, int blank, const vocab *v, const int *ids, int64_t n,
	      const char *text, const align_params *p, align_result *r);
