/*
 * align_stage.h — the `align` stage over a manifest: transcripts to model
 * tokens (with the out-of-vocabulary policy), emissions from the model core,
 * Viterbi alignment, word/character timelines, quality measures and flags,
 * segmentation of long recordings, and the database rows (schemas/align.sql).
 *
 * Data flow:  utterances (lang, text_norm, span of a recording)
 *   -> audio_read_span -> emitter (model log-probs, 20 ms frames)
 *   -> align_viterbi -> token / word spans -> quality + flags
 *   -> alignments, align_words (one transaction per batch).
 * An alignment is current when its align_hash equals SHA-256(text_norm,
 * model identity, lang, OOV policy); `align run` only aligns the others, so
 * a killed run resumes without aligning anything twice.
 *
 * Pure parts (align_stage_tokens, align_stage_one, align_stage_segment)
 * take no database and are unit-tested on their own.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "align/align.h"
#include "align/align_export.h"
#include "align/align_label.h"
#include "manifest/manifest.h"
#include "model/vocab.h"
#include "model/emit.h"
#include "model/w2v_precision.h"

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

/* What to do with characters the vocabulary lacks (never a silent drop). */
typedef enum align_oov_policy {
	ALIGN_OOV_UNK = 0,       /* map to <unk> (to <star> when the vocabulary has no <unk>) */
	ALIGN_OOV_STAR = 1,      /* map to the <star> wildcard */
	ALIGN_OOV_ROMANIZE = 2,  /* romanize the text (ICU Any-Latin; Latin-ASCII), then <unk> */
	ALIGN_OOV_ERROR = 3,     /* flag the utterance and do not align it */
} align_oov_policy;

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

/* Parse "unk", "star", "romanize", "error". */
int align_oov_parse(const char *s, align_oov_policy *p);
const char *align_oov_name(align_oov_policy p);

/* Transcript -> token ids for alignment: characters through the vocabulary
 * (space -> '|', runs of spaces collapsed, edges trimmed), missing
 * characters per policy and counted in oov (an ALIGN_OOV_ERROR policy still
 * returns 0 with oov filled; the caller flags).  star_id = V when <star> may
 * be used.  *text_used (malloc'ed) is the text actually tokenized (romanized
 * under that policy).  *ids malloc'ed. */
int align_stage_tokens(const vocab *v, const char *text, align_oov_policy pol, int star_id,
		       int **ids, int64_t *n, vocab_oov *oov, char **text_used);

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
void align_result_free(align_result *r);

/* After a successful align_stage_one on the normalized text norm: fill
 * r->word_label from raw (the transcript as written, with the stored
 * normalization profile identity; see align_label.h) and, when used (the
 * text actually tokenized) differs from norm, r->word_rom.  Either stays
 * NULL when its word count differs.  <0 only for out of memory. */
int align_result_labels(align_result *r, align_labeler *l, const char *raw, const char *norm, const char *profile,
			const char *used);

/* Align ids (from align_stage_tokens) to emissions lp [T, V] (row stride V),
 * adding <star> at the edges when p->star_edges, and measure quality and
 * flags.  text is the transcript the ids came from (its words, not the
 * romanized ones, become r->word_text).  Returns 0 also for a
 * flagged failure (impossible, empty): r->status_ok says; <0 only for
 * resource errors. */
int align_stage_one(const float *lp, int64_t T, int V, int blank, const vocab *v, const int *ids, int64_t n,
		    const char *text, const align_params *p, align_result *r);

/* ---- segmentation of a long recording ---- */

/* One cut: frames [start, end) of the recording, lines/words it holds. */
typedef struct align_segment {
	int64_t start, end;
	int     line_first, line_last;
	int     word_first, word_last;   /* word index within line_first / line_last */
} align_segment;

/* Cut an aligned long recording into utterances.  words: aligned word spans
 * of the whole text in order (frames), with line_of[w] and word_in_line[w]
 * giving each word's line and index in it; nlines lines; T frames.
 * Boundaries fall in the middle of the pause between lines; a segment longer
 * than max_s is split at the middle of its longest pauses between words;
 * segments shorter than min_s are merged with a neighbour while the result
 * stays within max_s.  *segs malloc'ed. */
int align_stage_segment(const align_span *words, const int *line_of, const int *word_in_line, int64_t nwords,
			int nlines, int64_t T, double min_s, double max_s, align_segment **segs, int *nsegs);

/* Model identity for staleness: SHA-256 hex over config.json, vocab.json,
 * the adapter file of lang (when present) and, for each weight file, its
 * name, size and first MiB. */
int align_model_id(const char *model_dir, const char *lang, char hex[65]);

/* ---- the run over a manifest ---- */

typedef struct align_run_opts {
	const char *lang;
	const char *model_dir;
	align_params p;
	int   batch;            /* utterances per transaction (default 32) */
	int64_t limit;          /* stop after this many (0 = all) */
	int   redo;             /* re-align even current alignments */
} align_run_opts;

typedef struct align_summary {
	int64_t candidates;     /* utterances of the language with a transcript */
	int64_t current;        /* skipped: alignment already current */
	int64_t aligned;        /* aligned now (status ok) */
	int64_t flagged;        /* of those and the failed, with any flag */
	int64_t failed;         /* no alignment (impossible, empty, error) */
	int64_t recordings_segmented, segments_created;
	double  audio_s, emit_s, viterbi_s, wall_s;
	int64_t oov_total;      /* missing characters seen */
	char    oov_desc[256];  /* the most frequent ones */
} align_summary;

/* Align every utterance of o->lang that has no current alignment, and
 * segment long recordings waiting for alignment.  em must be open on the
 * same model; v is the vocabulary of the language.  run_id may be 0.
 * Interrupt-safe: every batch is one transaction. */
int align_stage_run(manifest *m, const align_run_opts *o, emitter *em, const vocab *v, int64_t run_id,
		    align_summary *sum);

/* Set from a signal handler to stop align_stage_run after the current
 * batch (it then returns ACC_EINTR). */
extern volatile int align_stage_stop;

/* ---- reading alignments back ---- */

/* Print the word timeline of an utterance (by utt_key or numeric id) with
 * scores to f.  ACC_ENOTFOUND when it has no alignment. */
int align_stage_show(manifest *m, const char *utt, FILE *f);

typedef struct align_export_opts {
	const char *lang;       /* NULL = all languages */
	const char *format;     /* "ctm", "textgrid", "srt", "vtt", "json" */
	const char *dir;        /* output directory (created) */
	int   ctm_utterance;    /* CTM: utterance keys and times within the utterance (default:
	                         * recording ids and times from the recording's start) */
	int   norm_labels;      /* label words with their normalized form (scoring against
	                         * normalized references) instead of as written */
	ax_cue_opts cue;        /* subtitle layout */
} align_export_opts;

/* Export alignments (see align/main.c's `export --help` for the files).
 * Word labels are the words as written (align_words.label), the normalized
 * and romanized forms go to JSON.  *n gets the utterances written. */
int align_stage_export_ex(manifest *m, const align_export_opts *o, int64_t *n);

/* align_stage_export_ex with the default options. */
int align_stage_export(manifest *m, const char *lang, const char *format, const char *dir, int64_t *n);
