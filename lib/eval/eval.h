/*
 * eval.h — evaluation reports: per-utterance reference/hypothesis pairs
 * scored with metrics.h, summarized as CER/WER overall, per speaker, per
 * gender, per accent/dialect and per duration bucket, with the worst
 * utterances; printed as tables and stored in the manifest tables of
 * schemas/eval.sql (eval_runs, eval_utterances; views eval_by_*).
 *
 * Also reads the evaluation set of a split from the manifest (utterances
 * with their audio location, reference and speaker attributes).
 */
#pragma once
#include "manifest/manifest.h"
#include "text/metrics.h"
#include <stdint.h>
#include <stdio.h>

/* ---- the evaluation set ---- */

enum {
	EVAL_SUBSET_ALL = 0,
	EVAL_SUBSET_DIGITS = 1,        /* utterances.flags bit 1: digits in the transcript */
	EVAL_SUBSET_MIXED_SCRIPT = 8,  /* utterances.flags bit 8: letters of several scripts */
};

typedef struct eval_utt {
	int64_t id;
	char   *utt_key;
	char   *audio_path;     /* absolute path of the recording */
	double  start_s, end_s;
	char   *ref;            /* utterances.text_norm */
	char   *speaker, *gender, *accent;   /* NULL = unknown */
	int     flags;
} eval_utt;

typedef struct eval_set {
	eval_utt *u;
	int       n, cap;
} eval_set;

/* Utterances of lang and split with status 'ok' and a normalized transcript,
 * in id order; subset is EVAL_SUBSET_* (a flags bit; 0 = all). */
int eval_set_load(eval_set *s, manifest *m, const char *lang, const char *split, int subset);
void eval_set_free(eval_set *s);

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

typedef struct eval_report eval_report;

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
/* The i-th pair as added, with its edit counts. */
void eval_report_item(const eval_report *r, int i, eval_item *it, metrics_accum *acc);

/* Print the summary table: totals, each dimension with more than one group
 * (or with known values), and the worst n utterances. */
void eval_report_print(const eval_report *r, FILE *fp, const char *title, int worst_n);

/* What produced a report, for eval_runs. */
typedef struct eval_run_info {
	int64_t     run_id;          /* runs.id or 0 */
	const char *model_dir, *lang, *split;
	const char *subset;          /* "all", "digits", "mixed-script" */
	const char *condition;       /* "clean", "white-snr10", ... */
	const char *decoder;         /* "greedy" or "beam" */
	const char *lm_path;         /* NULL = none */
	double      alpha, beta;
	int         beam;            /* 0 = not a beam decoder */
	int         tuned_on_dev;
	double      decode_s;        /* seconds in the decoder; < 0 = unknown */
} eval_run_info;

/* Insert an eval_runs row and one eval_utterances row per pair (pairs with
 * utt_id 0 are not stored), in one transaction.  *eval_id optional. */
int eval_report_store(const eval_report *r, manifest *m, const eval_run_info *info, int64_t *eval_id);

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
