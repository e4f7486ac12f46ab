/*
 * eval_run.h — the runner of `train eval`, and the only file of lib/eval
 * that talks to the manifest: the evaluation set of a split (read through
 * manifest/utterances.h), emissions through the one emitter
 * (model/emit.h) under each audio condition, greedy and beam decoding into
 * eval_report's, the alpha/beta grid on dev (eval_grid.h), and the stored
 * results (eval_runs, eval_utterances of schemas/eval.sql).  The binary
 * parses options and prints; the runner computes and stores.
 */
#pragma once
#include <limits.h>
#include <stdint.h>

#include "decode/arpa.h"
#include "decode/ctc_beam.h"
#include "eval/eval.h"
#include "eval/eval_grid.h"
#include "manifest/manifest.h"
#include "manifest/utterances.h"
#include "model/emit.h"
#include "model/vocab.h"
#include "model/w2v_precision.h"

/* The evaluation set of lang and split: utterances with status 'ok' and a
 * normalized transcript, in id order; subset is EVAL_SUBSET_* (a flags
 * bit; 0 = all).  Appended to *s (zeroed by the caller); free with
 * utterances_free. */
int eval_set_load(utterance_list *s, manifest *m, const char *lang, const char *split, int subset);

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

/* What to evaluate and how. */
typedef struct eval_opts {
	const char   *manifest;      /* the manifest (MANIFEST_DEFAULT in the binary) */
	const char   *model_dir, *lang;
	const char   *split;         /* the split evaluated (the binary's default: test) */
	const char   *lm_path;       /* ARPA LM for the beam decoder; NULL = none */
	ctc_beam_opts bo;            /* beam options (ctc_beam_defaults, then the command line) */
	int           use_beam;      /* decode with the beam too (an LM or a beam width was given) */
	int           subset;        /* EVAL_SUBSET_* */
	const char   *subset_name;   /* "all", "digits", "mixed-script" */
	int           limit;         /* at most this many utterances (0 = all) */
	uint64_t      seed;          /* noise seed */
	w2v_precision precision;     /* W2V_PREC_AUTO resolved by the emitter */
	int           argc;          /* command line, recorded in runs */
	char        **argv;
} eval_opts;

/* A runner: the model's emitter, vocabulary, token tables and LM; the
 * manifest and the evaluation set once begun.  Fields are read-only for
 * the caller. */
typedef struct eval_runner {
	eval_opts     o;             /* alpha/beta updated by eval_runner_tune */
	emitter       em;            /* em.precision, em.precision_why: the arithmetic chosen */
	vocab        *voc;
	const char  **tokens;        /* tokens[i] of id i (greedy) */
	const char  **beam_tokens;   /* the same without sentence markers (beam) */
	int           V, blank, delim;
	arpa         *lm;
	ctc_decoder  *dec;           /* the beam decoder of eval_runner_transcribe */
	char          lm_abs[PATH_MAX], model_abs[PATH_MAX];
	manifest     *m;
	int64_t       run_id;        /* the runs row (eval_runner_begin) */
	utterance_list set;          /* the evaluation set (eval_runner_load) */
	int           tuned;         /* alpha/beta come from the dev grid */
	int           n_evals;       /* reports stored */
} eval_runner;

/* Load the model through the emitter (with adapter.<lang> when the model
 * directory has it), the language's vocabulary (its size must be the
 * model's), the LM.  r is zeroed first; eval_runner_close frees it. */
int eval_runner_open(eval_runner *r, const eval_opts *o);

/* Transcribe one audio file (any format audio_decode reads, whole):
 * greedy, or the beam when use_beam.  *hyp malloc'ed. */
int eval_runner_transcribe(eval_runner *r, const char *path, char **hyp);

/* Open the manifest and begin the runs row. */
int eval_runner_begin(eval_runner *r);

/* The grid on the dev split (at most limit utterances): emissions once,
 * then every cell (eval_grid_search; eval_grid_cells(g) of them).  The
 * best cell becomes the runner's alpha/beta (and unknown-word penalty when
 * the grid has that axis); unchanged when no WER is finite.  *n_dev: the
 * dev utterances used.  ACC_ENOTFOUND when there are none. */
int eval_runner_tune(eval_runner *r, const eval_grid_axes *g, eval_grid_cell *cells, int *best, int *n_dev);

/* Load the evaluation set (split, subset, limit).  ACC_ENOTFOUND with a
 * hint when it is empty. */
int eval_runner_load(eval_runner *r);

/* Evaluate the set under one condition: the greedy report *greedy and,
 * with use_beam, the beam report *beam (else NULL), with the seconds spent
 * in each decoder.  The caller frees the reports. */
int eval_runner_condition(eval_runner *r, const eval_condition *c, eval_report **greedy, eval_report **beam,
                          double *t_greedy, double *t_beam);

/* Store a report of condition c (decoder beam or greedy) with what
 * produced it (eval_report_store). */
int eval_runner_store(eval_runner *r, const eval_report *rep, const eval_condition *c, int beam, double decode_s);

/* End the runs row with rc's exit code and free everything. */
void eval_runner_close(eval_runner *r, int rc);
