/*
 * trainer.h — the training loop of `train`: a language adapter (or the top
 * layers, or the whole model) of a wav2vec2/MMS model trained with CTC on
 * the train split of a manifest, validated on its dev split.
 *
 * Data: utterances with status 'ok', split 'train' / 'dev', a non-empty
 * text_norm, (optionally) a given utterances.lang, and — unless
 * include_flagged — no alignment flags (schemas/align.sql).  Audio comes
 * through audio_read_span (16 kHz mono), normalized like HF's feature
 * extractor when the model asks for it; transcripts are encoded with the
 * language's vocabulary (from the model's vocab.json, or built from the
 * train transcripts, MMS style, and merged into the output vocab.json).
 *
 * Batches: train utterances sorted by duration are cut into buckets whose
 * padded audio (longest x count) stays under batch_seconds; each
 * micro-batch is one bucket drawn at random (weight = the sum of the
 * manifest's speaker-balance weights, or the count for uniform /
 * weighted-loss sampling; weighted-loss instead scales each utterance's
 * loss by its weight).  The draw uses a seeded splitmix64 generator whose
 * state is saved, so a run is deterministic given its seed and a resumed
 * run repeats the uninterrupted one exactly.
 *
 * Step: accum micro-batches (forward W2V_FWD_TRAIN, CTC with HF 'mean'
 * semantics, backward into a scratch gradient block that is checked for
 * NaN/Inf before being added — a bad micro-batch is skipped and counted,
 * never applied), gradient averaged over the good micro-batches, L2 norm
 * clipped (torch clip_grad_norm_), AdamW (no decay on biases and norm
 * weights, as HF Trainer groups them), lr = warmup + linear decay.
 * Regularization (lib/model/w2v_reg.h) as HF model.train(): dropout, LayerDrop
 * and SpecAugment from the model's config.json, each overridable (fields
 * below; no_regularization turns all off).  Masks are drawn from a seed
 * derived from (seed, step, micro-batch), so resume stays exact; dev
 * evaluation runs the eval forward.
 *
 * Every eval_every steps: dev loss, CER and WER (greedy CTC decoding); the
 * best (trainer_eval_compare: lowest CER, ties and the all-blank plateau
 * broken by dev loss) is written to out_dir as a Hugging Face
 * adapter checkpoint (adapter.<lang>.safetensors, vocab.json merged,
 * config.json with adapter_attn_dim and vocab_size; the base model.safetensors
 * once, at the start; for full/top-k strategies model.safetensors is
 * rewritten with each best).  After `patience` evaluations without
 * improvement training stops.  Every metric goes to the manifest tables
 * train_runs / train_metrics (schemas/train.sql).
 *
 * Resume: out_dir/train_state.bin (weights, Adam moments, step, RNG state,
 * best-so-far, patience counter), written atomically every save_every steps
 * and at the end; resume = 1 continues from it.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

typedef enum {
	TRAIN_SAMPLE_BALANCED = 0,   /* manifest utterances.weight (NULL = 1) */
	TRAIN_SAMPLE_UNIFORM,
	TRAIN_SAMPLE_WEIGHTED_LOSS,
} train_sampling;

/* base_from value for "adapters + head + the top K encoder layers" (resolved
 * to num_hidden_layers - K once the model is loaded). */
#define TRAINER_TOP(K) (-1000 - (K))

/* What the run tells its caller while it runs (trainer_opts.note); the
 * library prints nothing, the binary words it. */
typedef enum {
	TRAINER_NOTE_UNK,      /* count characters not in the vocabulary became <unk>; detail:
	                        * the characters, most frequent first (vocab_oov_describe) */
	TRAINER_NOTE_SKIPPED,  /* at step `step`, count micro-batches had a NaN/Inf loss or gradient */
	TRAINER_NOTE_NO_DEV,   /* no usable dev utterances: no validation, no early stopping and
	                        * no best checkpoint (the last step's weights are saved) */
} trainer_note_kind;

typedef struct trainer_note {
	trainer_note_kind kind;
	int64_t     count;
	int64_t     step;
	const char *detail;    /* valid during the call */
} trainer_note;

typedef struct trainer_opts {
	const char *manifest;      /* the manifest (MANIFEST_DEFAULT in the binary) */
	const char *model_dir;     /* base model (HF directory) */
	const char *lang;          /* adapter language code */
	const char *out_dir;
	const char *data_lang;     /* only utterances with this utterances.lang (NULL = all; the
	                            * `train` binary passes --lang unless --data-lang says otherwise) */
	int64_t steps;             /* optimizer steps (default 1000) */
	double  lr;                /* peak learning rate (default 1e-3) */
	int64_t warmup;            /* warmup steps (default 10% of steps) ; < 0 = default */
	double  batch_seconds;     /* padded audio seconds per micro-batch (default 40) */
	int     accum;             /* micro-batches per step (default 1) */
	double  clip;              /* gradient-norm clip (default 1.0; <= 0 = off) */
	double  weight_decay;      /* AdamW weight decay (default 0.01) */
	uint64_t seed;             /* default 1 */
	int64_t eval_every;        /* default 100 steps; 0 = only at the end */
	int64_t save_every;        /* resume-file period (default = eval_every, else 100) */
	int     patience;          /* evaluations without improvement before stopping (0 = never) */
	int     base_from;         /* W2V_BWD_ADAPTERS, TRAINER_TOP(K), 0 (full), W2V_BWD_WITH_CONV */
	int     bottleneck;        /* adapter_attn_dim for new adapters (0 = the model's, else 64) */
	int     init_kaiming;      /* new adapter/head init: 0 xavier (uniform), 1 kaiming (normal) */
	const char *init_from;     /* start from adapter.<init_from>.safetensors of model_dir */
	train_sampling sampling;
	int     include_flagged;   /* also train on utterances align flagged */
	int     resume;            /* continue from out_dir/train_state.bin */
	int64_t stop_after;        /* stop (state saved) after this many steps in this process (0 = off) */
	double  time_budget;       /* stop after this many wall seconds of training in this process
	                            * (0 = off; one process only): the last step is evaluated and
	                            * saved like a finished run, and the LR schedule (warmup share
	                            * and decay) runs over the steps expected to fit the budget,
	                            * re-estimated every step, with `steps` as the upper bound */
	double  max_utt_seconds;   /* drop longer utterances (default 30) */
	int     quiet;             /* no progress line */
	int     eval_only;         /* only evaluate model_dir (+ its adapter.<lang>) on the dev split:
	                            * result best_cer/best_wer/best_loss; nothing written */
	/* regularization overrides of the config.json values: a probability
	 * < 0 / a length <= 0 keeps the config's (trainer_opts_default sets
	 * them so) */
	double  dropout;           /* hidden_dropout */
	double  attention_dropout, activation_dropout, feat_proj_dropout, final_dropout, layerdrop;
	double  mask_time_prob, mask_feature_prob;
	int     mask_time_length, mask_feature_length;
	int     no_regularization; /* no dropout, LayerDrop or SpecAugment at all */
	int     bf16;              /* --precision bf16: matmuls of forward and backward in bf16 with
	                            * fp32 accumulation (PyTorch's bf16 autocast); weights, gradients
	                            * and AdamW stay fp32, so a resume may switch precision */
	int     recompute;         /* --recompute: activation checkpointing (W2V_FWD_RECOMPUTE): keep
	                            * only each encoder layer's input, re-run the layer in the backward;
	                            * same results bit for bit, less memory, ~1 more layer forward */
	int     argc;              /* command line, recorded in runs (may be 0) */
	char  **argv;
	/* called with each trainer_note (NULL = nobody listens); on every
	 * rank under mpirun */
	void  (*note)(void *arg, const trainer_note *n);
	void   *note_arg;
} trainer_opts;

typedef struct trainer_result {
	int64_t steps_done;        /* optimizer steps completed (total, including before a resume) */
	int64_t skipped;           /* micro-batches skipped for NaN/Inf (this process) */
	double  first_loss;        /* train loss of the first step of this process */
	double  last_loss;         /* train loss of the last step */
	double  best_cer, best_wer, best_loss;  /* best dev evaluation (NAN when none) */
	int64_t best_step;
	int     early_stopped;
	int     n_train, n_dev;
	double  audio_s;           /* train audio seconds processed (this process) */
	double  wall_s;            /* seconds spent in this process's steps */
	int64_t train_run_id;
	int64_t trainable;         /* parameters the strategy trains (adapters, head, layers) */
	char    strategy[16];      /* trainer_strategy_name of the run */
} trainer_result;

/* The --freeze name of base_from for a model of `layers` encoder layers
 * ("adapters", "top:K", "full", "full+conv"), written to buf. */
const char *trainer_strategy_name(int base_from, int layers, char *buf, size_t cap);

/* Fill o with the defaults above (strings NULL). */
void trainer_opts_default(trainer_opts *o);

/* Run a training (see above).  Returns 0 (also when stopped early or by
 * stop_after), or ACC_E* with a message: ACC_ENOTFOUND (no train or dev
 * utterances, no resume file), ACC_EINVAL (bad option; resume state that
 * does not match the options), I/O, model and manifest errors. */
int trainer_run(const trainer_opts *o, trainer_result *res);

/* trainer_eval_compare results */
enum { TRAINER_EVAL_WORSE = 0, TRAINER_EVAL_PROGRESS = 1, TRAINER_EVAL_BEST = 2 };

/* Compare a dev evaluation (cer, loss) with the best so far (INFINITY when
 * none).  TRAINER_EVAL_BEST: a new best checkpoint — a lower CER, or the
 * same CER with a lower dev loss, where every CER >= 1 counts as the same
 * (the all-blank plateau of early CTC training: emitting nothing scores
 * exactly 1, and random characters score no better).  TRAINER_EVAL_PROGRESS:
 * not a new best, but still on the plateau with a dev loss below the
 * best's, so patience is not spent while the model has yet to emit
 * anything.  TRAINER_EVAL_WORSE otherwise. */
int trainer_eval_compare(double best_cer, double best_loss, double cer, double loss);

