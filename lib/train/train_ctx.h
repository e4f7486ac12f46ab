/*
 * train_ctx.h — the state of one training run, shared by the files of
 * lib/train that trainer_run() drives (private to lib/train):
 *   train_db.c     the manifest: the utterances read, train_runs, train_metrics
 *   train_data.c   utterances -> buckets, the sampler, batch audio
 *   train_model.c  vocabulary, model surgery (adapter size, head, init), regularization
 *   train_step.c   one micro-batch, the optimizer step, dev evaluation
 *   train_ckpt.c   the HF checkpoint and the resume file
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "manifest/manifest.h"
#include "model/vocab.h"
#include "model/w2v.h"
#include "model/w2v_backward.h"
#include "model/w2v_forward.h"
#include "model/w2v_reg.h"
#include "text/metrics.h"
#include "train/adamw.h"
#include "train/train_data.h"
#include "train/trainer.h"
#include "train/trainer_dist.h"

/* Batches of a layer-norm model are padded to a multiple of this many
 * frames (12 x 320 samples = 0.24 s for MMS): see train_data_batch. */
#define TRAINER_PAD_STRIDES 12
/* Decoded training audio kept in memory (bytes): 4 GiB = 18.6 h of 16 kHz
 * float, so a multilingual base corpus of several hours is decoded once,
 * not once per epoch. */
#define TRAINER_AUDIO_CACHE ((size_t)4 << 30)
/* oneDNN primitives kept per training context (ops_ctx_set_cache_max). */
#define TRAINER_PRIM_CACHE 4096

typedef struct train_ctx {
	const trainer_opts *o;  /* the options with their defaults resolved */
	manifest *mf;           /* rank 0 only */
	w2v_model *m;
	vocab *v;
	w2v_fwd *f;
	w2v_bwd *bk;
	train_data d;
	train_bucket *tb, *db;  /* train and dev buckets */
	int ntb, ndb;
	double *cum;            /* cumulative train bucket weights (train_sampler_init) */
	float *gtrain, *gtmp_t, *gbase, *gtmp_b;
	adamw_state st_t, st_b;
	int base_trains;
	uint64_t rng;
	int64_t step;
	int64_t sched_total, sched_warmup;   /* the LR schedule's length (loop: --steps, or
	                                      * the steps expected to fit --time-budget) */
	double sched_last, sched_dt;         /* time budget: elapsed s at the last step, and
	                                      * the moving average of a step's seconds */
	double best_cer, best_wer, best_loss;
	int64_t best_step;
	int bad_evals;
	int64_t skipped_total, train_run_id, run_id;
	size_t cached_bytes;
	float *x, *dlog;
	size_t x_cap, dlog_cap;
	int64_t *len;
	size_t len_cap;
	w2v_reg reg;            /* training-forward regularization */
	int reg_on;
	uint64_t reg_seed;      /* of the current micro-batch */
	trainer_dist *dg;       /* mpirun: the step's reduction over the ranks (NULL for one rank) */
} train_ctx;

/* Tell the caller something (trainer_opts.note), when it listens. */
void train_note(const train_ctx *t, const trainer_note *n);

/* ---- train_db.c: the only file of lib/train that talks to SQLite ---- */
/* Open the manifest (and begin the run row unless eval_only), read the
 * usable train and dev utterances into t->d. */
int train_db_open(train_ctx *t);
/* Why no train utterance is usable: ACC_ENOTFOUND naming the filter that
 * left none, with its hint. */
int train_db_explain_no_train(train_ctx *t);
/* Mark runs killed in the same out_dir, insert this run's train_runs row. */
int train_db_run_insert(train_ctx *t);
/* One train_metrics row at t->step (non-finite values stored as NULL). */
int train_db_metric(train_ctx *t, const char *split, double loss, double cer, double wer, double lr, double gnorm,
                    double audio_s, int skipped);
/* Update the run row's progress and status. */
int train_db_run_update(train_ctx *t, const char *status);
/* End the manifest run (runs row) with rc's exit code; the train_runs row
 * says "failed" when rc != 0. */
void train_db_close(train_ctx *t, int rc);

/* ---- train_data.c ---- */
/* Make the scratch buffer *pp (of *cap elements of elem bytes) hold need
 * elements: realloc'ed to exactly need when smaller (a batch's buffers are
 * large, doubling would waste up to half), contents not kept meaningful.
 * ACC_ENOMEM naming what. */
int train_scratch_fit(void **pp, size_t *cap, size_t need, size_t elem, const char *what);
#define TRAIN_SCRATCH(p, cap, need, what) train_scratch_fit((void **)&(p), &(cap), (need), sizeof *(p), (what))
/* Assemble bucket b into t->x [B, *nmax] (zero padded) and t->len. */
int train_data_batch(train_ctx *t, const train_bucket *b, int *nmax);

/* ---- train_model.c ---- */
/* The vocabulary (the model's vocab.json for the language, else built from
 * the train texts), every transcript encoded with it; utterances with an
 * empty or unencodable transcript dropped.  *from_model: 1 when the
 * vocabulary came from the model. */
int train_model_vocab(train_ctx *t, int *from_model);
/* Load the model (with its adapter, or --init-from's), resize the adapters
 * and the head as asked, initialize what is new. */
int train_model_setup(train_ctx *t, int vocab_from_model);
/* The regularization of the training forward: config.json, then the
 * options' overrides. */
int train_model_reg(const trainer_opts *o, const w2v_model *m, w2v_reg *r);

/* ---- train_step.c ---- */
/* One optimizer step: the micro-batches (accum, x ranks) drawn, their
 * gradients checked and averaged, clipped, AdamW.  *skipped: micro-batches
 * with a NaN/Inf loss or gradient. */
int train_step(train_ctx *t, double *loss, double *gnorm, double *lr, int *skipped, double *audio_s);
/* Dev loss, CER and WER over every dev bucket (greedy decoding). */
int train_step_evaluate(train_ctx *t, double *loss, double *cer, double *wer, double *audio_s);

/* ---- train_ckpt.c ---- */
/* The HF checkpoint in out_dir: adapter.<lang>.safetensors (+
 * model.safetensors when full_model or the model has no adapters),
 * config.json, vocab.json merged (rank 0 writes). */
int train_ckpt_save(train_ctx *t, int full_model);
/* out_dir/train_state.bin, written atomically (rank 0). */
int train_ckpt_save_state(train_ctx *t);
/* Read it back (rank 0) after checking it matches the options; then
 * train_ckpt_share_state hands it to every rank. */
int train_ckpt_load_state(train_ctx *t);
int train_ckpt_share_state(train_ctx *t);
