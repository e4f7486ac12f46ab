/*
 * align_eval.h — accuracy of forced alignments against reference word
 * timings: mean absolute word-boundary error (ms), the share of boundaries
 * within 20 ms and 50 ms, per language.  The reference is the synthesizer's
 * ground truth (tools/synth, <corpus>/_truth/{utterances,words}.tsv, see
 * lib/synth/synthcorpus.h); the hypothesis is the manifest's align_words rows
 * (schemas/align.sql) of the same recordings.
 *
 * Matching: per recording, the reference words (in time order) and the
 * aligned words (utterances by start time, words by index) are matched as a
 * longest common subsequence of their normalized text, so an utterance
 * missing from the manifest (rejected, failed alignment) or a long recording
 * cut into different pieces than the truth's lines costs coverage, never a
 * wrong pairing.  Only matched words are scored.
 *
 * Which boundaries are scored: a word's start when the reference measured it
 * (words.tsv timed = 1: espeak gave the word its own event), a word's end
 * when it is the last word of its utterance (the last voiced sample) or the
 * next word's start was measured (the end is that start moved back over the
 * silence between them).  Boundaries espeak did not measure (a proportional
 * split inside merged words such as "in the") are left out.  Each scored
 * boundary counts once: the literature's word-boundary error (MFA, the MMS
 * aligner on TIMIT/Buckeye) averages starts and ends the same way.
 */
#pragma once
#include <stdint.h>

#include "manifest/manifest.h"

/* One word of a sequence to match (text already normalized the same way on
 * both sides). */
typedef struct align_eval_word {
	const char *word;
	double start_s, end_s;  /* within the recording */
	int score_start;        /* reference only: the start was measured */
	int score_end;          /* reference only: the end was measured */
} align_eval_word;

/* Accumulated accuracy of one language (or of everything). */
typedef struct align_eval_stats {
	char    lang[16];
	int64_t recordings;      /* reference recordings seen */
	int64_t recordings_missing;  /* of those, not in the manifest or never aligned */
	int64_t ref_words;       /* reference words */
	int64_t hyp_words;       /* aligned words of those recordings */
	int64_t matched_words;   /* words paired by the text match */
	int64_t boundaries;      /* scored boundaries (starts + ends) */
	int64_t within20, within50;  /* of those, |error| <= 20 ms / 50 ms */
	double  sum_abs_ms;      /* sum of |error| over scored boundaries */
	int64_t n_start, n_end;  /* scored starts / ends */
	double  sum_start_ms, sum_end_ms;  /* signed sums (hyp - ref): CTC's bias */
	double  sum_abs_start_ms, sum_abs_end_ms;
	double *err_ms;          /* every |error|, for the median (owned) */
	int64_t n_err;
	size_t  cap_err;
} align_eval_stats;

/* A report: one entry per language (in order of first appearance) and the
 * total over all of them. */
typedef struct align_eval_report {
	align_eval_stats *langs;
	int               n_langs;
	align_eval_stats  total;
} align_eval_report;

/* Match hyp against ref (longest common subsequence of the word texts; ties
 * prefer the pairing that keeps earlier words together) and add the scored
 * boundaries of matched words to *st (ref_words, hyp_words and
 * matched_words too).  ACC_ENOMEM; ACC_EINVAL when nref * nhyp is beyond
 * 2^26 cells (the table is 4 bytes a cell: a single recording with more
 * than ~8000 words). */
int align_eval_match(const align_eval_word *ref, int nref, const align_eval_word *hyp, int nhyp,
		     align_eval_stats *st);

/* Merge src's counts and errors into dst.  ACC_ENOMEM. */
int align_eval_stats_merge(align_eval_stats *dst, const align_eval_stats *src);

/* Results: mean |error| (ms), median |error| (ms; sorts st->err_ms), the
 * share of boundaries within 20 and 50 ms (0..1), the mean signed start and
 * end errors (ms).  NaN when nothing was scored. */
double align_eval_mean_ms(const align_eval_stats *st);
double align_eval_median_ms(align_eval_stats *st);
double align_eval_share20(const align_eval_stats *st);
double align_eval_share50(const align_eval_stats *st);
double align_eval_bias_start_ms(const align_eval_stats *st);
double align_eval_bias_end_ms(const align_eval_stats *st);

void align_eval_stats_free(align_eval_stats *st);

/* Evaluate the manifest's alignments of a synthesized corpus: truth_dir is
 * <corpus>/_truth; the corpus is the manifest's corpora row(s) whose root is
 * the real path of truth_dir's parent.  Reference words are normalized with
 * textnorm's default profile of their language (what `prep ingest` stores as
 * text_norm by default); aligned words of utterances with status 'ok' and
 * an alignment with status 'ok' are the hypothesis.  lang: only that
 * language (NULL = all).  Adds to *rep (zero it first; several corpora may
 * be added to one report).  ACC_ENOTFOUND (truth files, corpus not in the
 * manifest), ACC_EFORMAT (truth TSV), ACC_EDB. */
int align_eval_truth(manifest *m, const char *truth_dir, const char *lang, align_eval_report *rep);

void align_eval_report_free(align_eval_report *rep);
