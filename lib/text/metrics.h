/*
 * metrics.h — character and word error rates (CER, WER) for training
 * validation and evaluation.
 *
 * Edits are counted with a Levenshtein alignment (unit cost substitution,
 * deletion, insertion) over Unicode code points (CER; never bytes) or over
 * whitespace-separated words (WER).  Corpus rates are accumulated the way
 * jiwer does: sum of edits over sum of reference lengths, not a mean of
 * per-utterance rates.  Texts are compared as given (normalize both sides
 * with the same textnorm profile first); leading and trailing whitespace is
 * ignored, inner whitespace counts as characters for CER.
 */
#pragma once
#include <stddef.h>

typedef enum {
	METRICS_CHAR = 0, /* Unicode code points */
	METRICS_WORD = 1, /* runs of non-whitespace */
} metrics_unit;

/* Edit counts of one or more (reference, hypothesis) pairs. */
typedef struct metrics_counts {
	long long sub, del, ins; /* substitutions, deletions, insertions */
	long long hits;          /* units of the reference matched unchanged */
	long long ref_len;       /* = hits + sub + del */
	long long hyp_len;       /* = hits + sub + ins */
} metrics_counts;

/* Align ref against hyp (NUL-terminated UTF-8) and set *c to the counts of
 * a minimum-cost alignment (ties: substitution/match before deletion before
 * insertion).  Memory O(min row), time O(|ref|·|hyp|).  Errors: ACC_EFORMAT
 * when either text is not valid UTF-8 (the message says which), ACC_ENOMEM,
 * ACC_EINVAL (NULL). */
int metrics_edit_counts(const char *ref, const char *hyp, metrics_unit unit, metrics_counts *c);

/* sub + del + ins. */
long long metrics_counts_edits(const metrics_counts *c);

/* edits / ref_len; 0 when both are 0; +INFINITY when the reference is empty
 * but the hypothesis is not (x/0: undefined as a rate, so callers can spot
 * it with isinf()). */
double metrics_counts_rate(const metrics_counts *c);

/* A corpus accumulator for both units at once. */
typedef struct metrics_accum {
	metrics_counts chr, word;
	long long n;             /* pairs added */
} metrics_accum;

void metrics_accum_init(metrics_accum *a);

/* Add one pair: both character and word counts.  On error *a is unchanged. */
int metrics_accum_add(metrics_accum *a, const char *ref, const char *hyp);

/* Add the counts of src into dst (merging per-thread accumulators). */
void metrics_accum_merge(metrics_accum *dst, const metrics_accum *src);

/* Corpus CER / WER: sum of edits / sum of reference lengths (see
 * metrics_counts_rate for empty references). */
double metrics_accum_cer(const metrics_accum *a);
double metrics_accum_wer(const metrics_accum *a);
