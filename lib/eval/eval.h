/*
 * eval.h — evaluation reports: per-utterance reference/hypothesis pairs
 * scored with metrics.h, summarized as CER/WER overall, per speaker, per
 * gender, per accent/dialect and per duration bucket, with the worst
 * utterances; printed as tables and stored in the manifest tables of
 * schemas/eval.sql by eval_run.h (eval_runs, eval_utterances; views
 * eval_by_*); the audio conditions of robustness evaluations.  Pure: no
 * manifest, no model.
 */
#pragma once
#include "text/metrics.h"
#include <stdint.h>
#include <stdio.h>

/* Subsets of an evaluation set (eval_set_load in eval_run.h). */
enum {
	EVAL_SUBSET_ALL = 0,
	EVAL_SUBSET_DIGITS = 1,        /* utterances.flags bit 1: digits in the transcript */
	EVAL_SUBSET_MIXED_SCRIPT = 8,  /* utterances.flags bit 8: letters of several scripts */
};

/* ---- reports ---- */

typedef struct eval_item {
	int64_t utt_id;                  /* utterances.id (0 when not from a manifest) */
	const char *utt_key;             /* shown in the worst list (may be NULL) */
	const char *ref, *hyp;
	double duration_s;
	const char *speaker, *gender, *accent;   /* NULL = unknown */
} eval_item;

typedef enum { EVAL_BY_SPEAKER, EVAL_BY_GENDER, EVAL_BY_ACCENT, EVAL_BY_DURATION } eval_dim;

typedef struct eval_group {
	char          name[128];
	metrics_accum acc;
} eval_group;

/* One scored pair as added (strings owned by the report). */
typedef struct eval_pair {
	int64_t       utt_id;
	char         *utt_key, *ref, *hyp, *speaker, *gender, *accent;
	double        duration_s;
	metrics_accum acc;
} eval_pair;

/* A report: pairs in the order added (read-only for callers; build it with
 * eval_report_add). */
typedef struct eval_report {
	eval_pair    *it;
	int           n, cap;
	metrics_accum total;
	double        audio_s;
} eval_report;

int eval_report_new(eval_report **r);
void eval_report_free(eval_report *r);

/* Score one pair (strings are copied).  ACC_EFORMAT for invalid UTF-8. */
int eval_report_add(eval_report *r, const eval_item *it);

/* Totals over every pair added. */
const metrics_accum *eval_report_total(const eval_report *r);
int eval_report_count(const eval_report *r);
double eval_report_audio_s(const eval_report *r);

/* Groups along one dimension, sorted by name (duration buckets in bucket
 * order: "0-2", "2-5", "5-10", "10-20", "20+" seconds; unknown attributes
 * form the group "unknown").  *g is malloc'ed. */
int eval_report_groups(const eval_report *r, eval_dim dim, eval_group **g, int *n);

/* Duration bucket name of a duration in seconds. */
const char *eval_duration_bucket(double s);

/* Indices of the pairs ordered worst first (WER, then CER, then insertion
 * order); *idx is malloc'ed with eval_report_count() entries. */
int eval_report_worst(const eval_report *r, int **idx);

/* Print the summary table: totals, each dimension with more than one group
 * (or with known values), and the worst n utterances. */
void eval_report_print(const eval_report *r, FILE *fp, const char *title, int worst_n);

/* ---- audio conditions (robustness) ---- */

typedef enum { EVAL_COND_CLEAN, EVAL_COND_WHITE, EVAL_COND_BABBLE, EVAL_COND_SPEED, EVAL_COND_GAIN } eval_cond_kind;

typedef struct eval_condition {
	eval_cond_kind kind;
	double         value;      /* SNR dB, speed factor or gain dB */
	char           name[32];   /* "clean", "white-snr10", "babble-snr20", "speed0.9", "gain-6" */
} eval_condition;

/* Fill c (name included). */
void eval_condition_set(eval_condition *c, eval_cond_kind kind, double value);

/* Apply c to the 16 kHz signal *x of *n samples (replaced when the length
 * changes).  others/others_n/n_others: the babble sources (other
 * utterances); seed makes the noise reproducible per utterance. */
int eval_condition_apply(const eval_condition *c, float **x, int64_t *n, const float *const *others,
			 const int64_t *others_n, int n_others, uint64_t seed);
