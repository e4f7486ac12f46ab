/*
 * align_run.h — the `align` stage over a manifest: the one file of
 * lib/align that talks to SQLite.  It lists the utterances without a
 * current alignment, runs each through the pure core (align_tokens.h ->
 * emitter -> align_one.h), segments long recordings (align_segment.h),
 * and writes the rows of schemas/align.sql; `show` and `export` read them
 * back.
 *
 * Data flow:  utterances (lang, text_norm, span of a recording)
 *   -> audio_read_span -> emitter (model log-probs, 20 ms frames)
 *   -> align_one (Viterbi, token / word spans, quality + flags)
 *   -> alignments, align_words (one transaction per batch).
 * An alignment is current when its align_hash equals SHA-256(text_norm,
 * model identity (emit_model_id), lang, OOV policy); a run only aligns the
 * others, so a killed run resumes without aligning anything twice.
 */
#pragma once
#include <stdint.h>
#include <stdio.h>

#include "align/align_export.h"
#include "align/align_one.h"
#include "manifest/manifest.h"
#include "model/emit.h"
#include "model/vocab.h"

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
 * Interrupt-safe: every batch is one transaction.  Under mpirun every
 * rank calls it; only rank 0 passes a manifest (m is NULL elsewhere). */
int align_run(manifest *m, const align_run_opts *o, emitter *em, const vocab *v, int64_t run_id,
	      align_summary *sum);

/* Set from a signal handler to stop align_run after the current batch (it
 * then returns ACC_EINTR). */
extern volatile int align_run_stop;

/* What a finished run means for its caller (rank 0): ACC_ENOTFOUND with
 * the manifest's languages named when the manifest (at db_path, for the
 * message) has nothing of o->lang, ACC_EFORMAT with a hint to the failure
 * messages when every utterance aligned in this run failed, else 0. */
int align_run_verdict(manifest *m, const char *db_path, const align_run_opts *o, const align_summary *sum);

/* The query that lists a manifest's worst flagged alignments, for the
 * hint printed after a run with flags. */
const char *align_run_worst_sql(void);

/* ---- reading alignments back ---- */

/* Print the word timeline of an utterance (by utt_key or numeric id) with
 * scores to f.  ACC_ENOTFOUND when it has no alignment. */
int align_run_show(manifest *m, const char *utt, FILE *f);

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
int align_run_export_ex(manifest *m, const align_export_opts *o, int64_t *n);

/* align_run_export_ex with the default options. */
int align_run_export(manifest *m, const char *lang, const char *format, const char *dir, int64_t *n);
