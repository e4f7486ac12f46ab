/*
 * trainer.c — the training run (see trainer.h for the semantics): the
 * driver that ties the parts of lib/train together (train_ctx.h):
 * prepare (options, manifest, vocabulary, model, buckets), start (gradient
 * blocks, optimizer, resume or a new run row and the first checkpoint),
 * the step loop with its evaluations, checkpoints and resume states, and
 * the result.
 */
#include "train/trainer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/dist.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "base/progress.h"
#include "model/ops.h"
#include "model/w2v_backward.h"
#include "train/train_ctx.h"
#include "base/banned.h"

void trainer_opts_default(trainer_opts *o)
{
	memset(o, 0, sizeof *o);
	o->steps = 1000;
	o->lr = 1e-3;
	o->warmup = -1;
	o->batch_seconds = 40;
	o->accum = 1;
	o->clip = 1.0;
	o->weight_decay = 0.01;
	o->seed = 1;
	o->eval_every = 100;
	o->save_every = 0;
	o->patience = 0;
	o->base_from = W2V_BWD_ADAPTERS;
	o->sampling = TRAIN_SAMPLE_BALANCED;
	o->max_utt_seconds = 30;
	o->dropout = o->attention_dropout = o->activation_dropout = -1;
	o->feat_proj_dropout = o->final_dropout = o->layerdrop = -1;
	o->mask_time_prob = o->mask_feature_prob = -1;
}

int trainer_eval_compare(double best_cer, double best_loss, double cer, double loss)
{
	/* a CER of 100% or more is no better than emitting nothing: within
	 * that plateau CER values are not compared, only losses */
	const double eps = 1e-12;
	int plateau = !(cer < 1.0 - eps);
	double key = plateau ? 1.0 : cer, bkey = !(best_cer < 1.0 - eps) ? 1.0 : best_cer;
	if (!isfinite(loss) && !isfinite(cer))
		return TRAINER_EVAL_WORSE;
	if (key < bkey - eps || (fabs(key - bkey) <= eps && loss < best_loss))
		return TRAINER_EVAL_BEST;
	if (plateau && loss < best_loss)
		return TRAINER_EVAL_PROGRESS;
	return TRAINER_EVAL_WORSE;
}

void train_note(const train_ctx *t, const trainer_note *n)
{
	if (t->o->note)
		t->o->note(t->o->note_arg, n);
}

static void ctx_free(train_ctx *t)
{
	train_data_free(&t->d);
	train_buckets_free(t->tb, t->ntb);
	train_buckets_free(t->db, t->ndb);
	free(t->cum);
	free(t->gtrain);
	free(t->gtmp_t);
	free(t->gbase);
	free(t->gtmp_b);
	adamw_free(&t->st_t);
	adamw_free(&t->st_b);
	free(t->x);
	free(t->dlog);
	free(t->len);
	trainer_dist_free(t->dg);
	w2v_bwd_free(t->bk);
	w2v_fwd_free(t->f);
	w2v_free(t->m);
	vocab_free(t->v);
	manifest_close(t->mf);
}

/* The options checked, with their defaults resolved into *oo. */
static int resolve_opts(const trainer_opts *o, trainer_opts *oo)
{
	*oo = *o;
	if (!o->manifest || !o->model_dir || !o->lang || !o->out_dir)
		return err_set(ACC_EINVAL, "training needs a manifest, a model directory, a language and an output directory");
	if (o->steps <= 0 || !(o->lr > 0) || o->accum <= 0 || !(o->batch_seconds > 0))
		return err_set(ACC_EINVAL, "steps, lr, accum and batch seconds must be positive");
	if (!*o->lang || strchr(o->lang, '/') || strlen(o->lang) > 32)
		return err_set(ACC_EINVAL, "bad language code '%s'", o->lang);
	if (o->time_budget < 0 || !isfinite(o->time_budget))
		return err_set(ACC_EINVAL, "the time budget must be a positive number of seconds");
	if (o->time_budget > 0 && dist_size() > 1)
		/* each rank would read its own clock and could stop at another step */
		return err_set(ACC_EINVAL, "a time budget needs one process (under mpirun, use --steps)");
	if (oo->warmup < 0)
		oo->warmup = oo->steps / 10;
	if (oo->save_every <= 0)
		oo->save_every = oo->eval_every > 0 ? oo->eval_every : 100;
	return 0;
}

/* Everything before the first step: the data (rank 0 reads, the others
 * receive), vocabulary and model, the strategy resolved against the
 * model's depth (oo->base_from), the forward/backward contexts, buckets. */
static int prepare(train_ctx *t, trainer_opts *oo)
{
	const trainer_opts *o = t->o;
	int rc, from_model = 0;
	if (dist_rank() == 0) {   /* mpirun: the others get the data from rank 0 */
		if (!o->eval_only)
			TRY(fs_mkdir_p(o->out_dir));
		TRY(train_db_open(t));
	}
	TRY(train_data_share(&t->d));
	TRY(train_model_vocab(t, &from_model));
	if (t->d.n_train == 0) {
		rc = train_db_explain_no_train(t);
		goto out;
	}
	if (t->d.n_dev == 0 && !o->eval_only) {
		trainer_note n = { .kind = TRAINER_NOTE_NO_DEV };
		train_note(t, &n);
	}
	TRY(train_model_setup(t, from_model));
	int L = t->m->cfg.num_hidden_layers;
	if (oo->base_from <= TRAINER_TOP(0)) {
		int K = TRAINER_TOP(0) - oo->base_from;
		oo->base_from = L - K > 0 ? L - K : 0;
	}
	if (oo->base_from > L)
		oo->base_from = L;
	t->base_trains = oo->base_from < L;
	if (!o->eval_only) {
		TRY(train_model_reg(oo, t->m, &t->reg));
		t->reg_on = w2v_reg_active(&t->reg);
	}
	TRY(w2v_fwd_create(&t->f, t->m, W2V_FWD_TRAIN | (oo->base_from < 0 ? W2V_FWD_TRAIN_FEAT : 0) |
	                                (o->bf16 ? W2V_FWD_BF16 : 0) | (o->recompute ? W2V_FWD_RECOMPUTE : 0)));
	w2v_fwd_set_frozen_below(t->f, oo->base_from);   /* frozen layers keep only what their input gradient needs */
	/* every bucket's padded shape recurs each epoch: keep all their
	 * primitives (forward + backward, ~40 per shape) */
	ops_ctx_set_cache_max(w2v_fwd_ops(t->f), TRAINER_PRIM_CACHE);
	TRY(w2v_bwd_create(&t->bk));
	TRY(train_buckets_make(&t->d, 0, o->batch_seconds, o->sampling, &t->tb, &t->ntb));
	TRY(train_buckets_make(&t->d, 1, o->batch_seconds, o->sampling, &t->db, &t->ndb));
out:
	return rc;
}

/* Before the first step of this process: the sampler, gradient blocks and
 * optimizer state; then either the resume state (read and shared) or a
 * new train_runs row and the base checkpoint. */
static int start(train_ctx *t)
{
	const trainer_opts *o = t->o;
	int rc;
	TRY(train_sampler_init(t->tb, t->ntb, &t->cum));
	size_t nt = t->m->train_numel, nb = t->base_trains ? t->m->base_numel : 0;
	t->gtrain = calloc(nt, sizeof(float));
	t->gtmp_t = calloc(nt, sizeof(float));
	if (nb) {
		t->gbase = calloc(nb, sizeof(float));
		t->gtmp_b = calloc(nb, sizeof(float));
	}
	if (!t->gtrain || !t->gtmp_t || (nb && (!t->gbase || !t->gtmp_b))) {
		rc = err_set(ACC_ENOMEM, "out of memory: gradient blocks");
		goto out;
	}
	TRY(adamw_init(&t->st_t, nt));
	if (nb)
		TRY(adamw_init(&t->st_b, nb));
	if (dist_size() > 1)
		TRY(trainer_dist_create(&t->dg, nt, nb));
	t->rng = o->seed * 0x2545f4914f6cdd1dull + 1;
	if (o->resume) {
		TRY(train_ckpt_load_state(t));
		TRY(train_ckpt_share_state(t));
		TRY(train_db_run_update(t, "running"));
	} else {
		TRY(train_db_run_insert(t));
		/* the base model (with the initial adapter) once: a complete HF directory */
		TRY(train_ckpt_save(t, 1));
	}
	/* bf16 adapter training: the frozen base is only ever read through its
	 * bf16 packings, and nothing saves it again (written whole above, or by
	 * the run being resumed): keep it once, in bf16 */
	if (o->bf16 && !t->base_trains && t->m->cfg.do_stable_layer_norm && t->m->cfg.adapter_attn_dim > 0)
		TRY(w2v_fwd_release_frozen(t->f, t->m));
out:
	return rc;
}

/* The evaluation after a step (every eval_every steps and at the last):
 * dev loss/CER/WER recorded, a new best written as the checkpoint, the
 * patience counter kept; without dev, the last step is the checkpoint.
 * *evaluated: whether dev was decoded. */
static int eval_after_step(train_ctx *t, int last, double *dcer, double *dwer, int *evaluated)
{
	int rc = 0;
	double dl = NAN, das = 0;
	*evaluated = 0;
	if (t->ndb > 0) {
		*evaluated = 1;
		TRY(train_step_evaluate(t, &dl, dcer, dwer, &das));
		TRY(train_db_metric(t, "dev", dl, *dcer, *dwer, NAN, NAN, das, 0));
		int cmp = trainer_eval_compare(t->best_cer, t->best_loss, *dcer, dl);
		if (cmp == TRAINER_EVAL_BEST) {
			t->best_cer = *dcer;
			t->best_wer = *dwer;
			t->best_loss = dl;
			t->best_step = t->step;
			t->bad_evals = 0;
			TRY(train_ckpt_save(t, t->base_trains));
		} else if (cmp == TRAINER_EVAL_PROGRESS) {
			t->bad_evals = 0;   /* all-blank phase, loss still falling */
		} else {
			t->bad_evals++;
		}
	} else if (last) {
		/* no dev split: the last weights are the checkpoint */
		t->best_step = t->step;
		TRY(train_ckpt_save(t, t->base_trains));
	}
out:
	return rc;
}

const char *trainer_strategy_name(int base_from, int layers, char *buf, size_t cap)
{
	if (base_from >= layers)
		snprintf(buf, cap, "adapters");
	else if (base_from > 0)
		snprintf(buf, cap, "top:%d", layers - base_from);
	else
		snprintf(buf, cap, base_from < 0 ? "full+conv" : "full");
	return buf;
}

/* The LR schedule's length for the coming step: --steps and --warmup, or
 * with a time budget the steps expected to fit it (clamped to [next step,
 * --steps]) with the same warmup share, so a budgeted run warms up and
 * decays to 0 as a run of that many steps would.  The expected steps use
 * a moving average of the recent step time, not the average since the
 * start: the first steps of a run are slow (oneDNN builds its kernels for
 * each new batch shape), and an estimate that kept rising would keep
 * pushing the end of the warmup away. */
static void sched_plan(train_ctx *t, int64_t first_step, double elapsed)
{
	const trainer_opts *o = t->o;
	t->sched_total = o->steps;
	t->sched_warmup = o->warmup;
	if (!(o->time_budget > 0))
		return;
	if (t->step == first_step) {
		t->sched_last = elapsed;
		t->sched_dt = 0;
		return;
	}
	double dt = elapsed - t->sched_last;
	t->sched_last = elapsed;
	t->sched_dt = t->sched_dt > 0 ? 0.9 * t->sched_dt + 0.1 * dt : dt;
	if (!(t->sched_dt > 0))
		return;
	double left = o->time_budget - elapsed;
	int64_t est = t->step + (int64_t)(left > 0 ? left / t->sched_dt : 0) + 1;
	if (est > o->steps)
		est = o->steps;
	t->sched_total = est;
	t->sched_warmup = (int64_t)((double)o->warmup * est / o->steps);
}

/* The steps from t->step to the end (or patience, or stop_after): each
 * step recorded, evaluated when due, the resume state saved every
 * save_every steps and at the end.  *status: the run's final status. */
static int loop(train_ctx *t, trainer_result *res, const char **status)
{
	const trainer_opts *o = t->o;
	int rc = 0;
	progress pg;
	progress_init(&pg, "train", "steps", o->steps);
	if (o->quiet)
		pg.enabled = 0;
	progress_add(&pg, t->step);
	double t0 = progress_now();
	int64_t done_here = 0;
	char line[256];
	double dcer = NAN, dwer = NAN;
	*status = "done";
	int64_t first_step = t->step;
	int out_of_time = 0;
	while (t->step < o->steps) {
		double loss, gn, lr, as = 0;
		int sk = 0, evaluated = 0;
		sched_plan(t, first_step, progress_now() - t0);
		TRY(train_step(t, &loss, &gn, &lr, &sk, &as));
		t->step++;
		done_here++;
		t->skipped_total += sk;
		res->skipped += sk;
		res->audio_s += as;
		if (done_here == 1)
			res->first_loss = loss;
		if (isfinite(loss))
			res->last_loss = loss;
		if (sk) {
			trainer_note n = { .kind = TRAINER_NOTE_SKIPPED, .count = sk, .step = t->step };
			train_note(t, &n);
		}
		TRY(train_db_metric(t, "train", loss, NAN, NAN, lr, gn, as, sk));
		out_of_time = o->time_budget > 0 && progress_now() - t0 >= o->time_budget;
		int last = t->step == o->steps || out_of_time;
		if ((o->eval_every > 0 && t->step % o->eval_every == 0) || last)
			TRY(eval_after_step(t, last, &dcer, &dwer, &evaluated));
		snprintf(line, sizeof line, "loss %.4g, lr %.3g, %.1f audio s/s, dev CER %.1f%% WER %.1f%%",
		         loss, lr, res->audio_s / fmax(progress_now() - t0, 1e-9), 100 * dcer, 100 * dwer);
		progress_status(&pg, line);
		progress_add(&pg, 1);
		if (evaluated)
			progress_mark(&pg);   /* plain logs get a line at every evaluation */
		int stop_early = o->patience > 0 && t->bad_evals >= o->patience;
		int stop_here = o->stop_after > 0 && done_here >= o->stop_after;
		if (t->step % o->save_every == 0 || last || stop_early || stop_here) {
			TRY(train_ckpt_save_state(t));
			TRY(train_db_run_update(t, last ? "done" : stop_early ? "early_stopped" : "running"));
		}
		if (stop_early) {
			*status = "early_stopped";
			res->early_stopped = 1;
			break;
		}
		if (stop_here && !last) {
			*status = "stopped";
			break;
		}
		if (out_of_time)
			break;   /* evaluated and saved as the last step */
	}
	progress_done(&pg);
	res->wall_s = progress_now() - t0;
out:
	return rc;
}

int trainer_run(const trainer_opts *o, trainer_result *res)
{
	int rc = 0;
	train_ctx t;
	trainer_opts oo;        /* resolved defaults */
	memset(&t, 0, sizeof t);
	memset(res, 0, sizeof *res);
	res->best_cer = res->best_wer = res->best_loss = NAN;
	res->first_loss = res->last_loss = NAN;
	t.o = &oo;
	t.best_cer = t.best_wer = t.best_loss = INFINITY;
	t.best_step = -1;
	if ((rc = resolve_opts(o, &oo)))
		return rc;
	TRY(prepare(&t, &oo));
	res->n_train = t.d.n_train;
	res->n_dev = t.d.n_dev;
	if (o->eval_only) {
		double as = 0;
		if (t.ndb == 0) {
			rc = err_set(ACC_ENOTFOUND, "no dev utterances in %s", o->manifest);
			goto out;
		}
		TRY(train_step_evaluate(&t, &t.best_loss, &t.best_cer, &t.best_wer, &as));
		t.best_step = 0;
		goto out;
	}
	TRY(start(&t));
	res->train_run_id = t.train_run_id;
	for (int i = 0; i < t.m->n_tensors; i++)
		if (w2v_tensor_trains(t.m, &t.m->tensors[i], oo.base_from))
			res->trainable += (int64_t)t.m->tensors[i].numel;
	trainer_strategy_name(oo.base_from, t.m->cfg.num_hidden_layers, res->strategy, sizeof res->strategy);
	const char *status = "done";
	TRY(loop(&t, res, &status));
	TRY(train_db_run_update(&t, status));
out:
	res->steps_done = t.step;
	if (t.best_step >= 0) {
		res->best_cer = t.best_cer;
		res->best_wer = t.best_wer;
		res->best_loss = t.best_loss;
	}
	res->best_step = t.best_step;
	train_db_close(&t, rc);
	if (rc)
		err_wrap(rc, "train");
	ctx_free(&t);
	return rc;
}
