/*
 * train_step.c — the arithmetic of training: one micro-batch (forward,
 * HF-mean CTC per utterance, gradient of the logits, greedy hypotheses for
 * dev), the optimizer step over accum micro-batches (NaN/Inf check,
 * averaging, clipping, AdamW, lr schedule; under mpirun the in-order
 * reduction of trainer_dist), and the dev evaluation.
 */
#include "train/train_ctx.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "audio/audio.h"
#include "base/dist.h"
#include "base/err.h"
#include "base/rng.h"
#include "model/ctc.h"
#include "model/emit.h"
#include "model/ops.h"
#include "train/lr_sched.h"
#include "base/banned.h"

/* Forward + per-utterance CTC of bucket b.  With dlog: gradient of the
 * batch loss  sum_b w_b * loss_b / target_len_b / B  (HF 'mean' when every
 * w_b = 1).  *loss = that batch loss (unweighted mean for dev); per-utterance
 * greedy hypotheses are added to ma when given. */
static int step_batch(train_ctx *t, const train_bucket *b, int want_grad, double *loss, metrics_accum *ma,
                      double *audio_s)
{
	int rc, nmax = 0;
	w2v_config *c = &t->m->cfg;
	TRY(train_data_batch(t, b, &nmax));
	/* regularized forward for training only; dev evaluation is the eval forward */
	TRY(w2v_fwd_set_reg(t->f, want_grad && t->reg_on ? &t->reg : NULL, t->reg_seed));
	int use_mask = c->return_attention_mask;
	TRY(w2v_forward(t->f, t->x, b->n, nmax, use_mask ? t->len : NULL));
	int T = t->f->T, V = c->vocab_size;
	if (T <= 0) {
		rc = err_set(ACC_EINVAL, "batch shorter than the model's receptive field");
		goto out;
	}
	size_t nd = (size_t)b->n * T * V;
	if (want_grad) {
		TRY(TRAIN_SCRATCH(t->dlog, t->dlog_cap, nd, "logit gradients"));
		memset(t->dlog, 0, sizeof(float) * nd);
	}
	double total = 0;
	int weighted = want_grad && t->o->sampling == TRAIN_SAMPLE_WEIGHTED_LOSS;
	int *ids = NULL;
	if (ma && !(ids = malloc(sizeof(int) * T))) {
		rc = err_set(ACC_ENOMEM, "out of memory");
		goto out;
	}
	for (int k = 0; k < b->n; k++) {
		train_utt *u = &t->d.u[b->idx[k]];
		int64_t il = use_mask ? t->f->flen[k] : T;
		int64_t tl = u->nids;
		ctc_opts co = { .blank = c->pad_token_id, .reduction = CTC_REDUCE_MEAN,
		                .zero_infinity = c->ctc_zero_infinity };
		double lb = 0;
		float *g = want_grad ? t->dlog + (size_t)k * T * V : NULL;
		rc = ctc_loss(t->f->logits + (size_t)k * T * V, 1, T, V, &il, u->ids, tl, &tl, &co, NULL, &lb, g);
		if (rc) {
			free(ids);
			goto out;
		}
		double w = weighted ? u->weight : 1.0;
		total += w * lb;
		if (g) {
			float sc = (float)(w / b->n);
			for (size_t i = 0; i < (size_t)T * V; i++)
				g[i] *= sc;
		}
		if (ma) {
			char *hyp = NULL;
			emit_greedy(t->f->logits + (size_t)k * T * V, il, V, V, ids);
			if ((rc = vocab_decode(t->v, ids, il, 1, &hyp)) == 0) {
				rc = metrics_accum_add(ma, u->text, hyp);
				free(hyp);
			}
			if (rc) {
				free(ids);
				goto out;
			}
		}
		if (audio_s)
			*audio_s += u->n / (double)AUDIO_RATE;
	}
	free(ids);
	*loss = total / b->n;
out:
	return rc;
}

static int all_finite(const float *x, size_t n)
{
	int ok = 1;
	#pragma omp parallel for reduction(&&:ok) schedule(static)
	for (size_t i = 0; i < n; i++)
		ok = ok && isfinite(x[i]);
	return ok;
}

static int tensor_decays(const w2v_tensor *te)
{
	size_t len = strlen(te->name);
	if (len > 5 && !strcmp(te->name + len - 5, ".bias"))
		return 0;
	/* HF Trainer: no decay for biases and LayerNorm weights */
	if (strstr(te->name, "norm.") || strstr(te->name, "layer_norm"))
		return 0;
	return 1;
}

int train_step(train_ctx *t, double *loss_out, double *gnorm_out, double *lr_out, int *skipped, double *audio_s)
{
	int rc = 0;
	const trainer_opts *o = t->o;
	w2v_model *m = t->m;
	size_t nt = m->train_numel, nb = t->base_trains ? m->base_numel : 0;
	memset(t->gtrain, 0, sizeof(float) * nt);
	if (nb)
		memset(t->gbase, 0, sizeof(float) * nb);
	int good = 0;
	double lsum = 0;
	*skipped = 0;
	/* mpirun -np W: the step draws W x accum micro-batches, as one process
	 * with --accum W*accum would; rank r computes the r-th run of accum
	 * (lib/train/trainer_dist.h) */
	int W = dist_size(), me = dist_rank(), M = o->accum * W;
	if (t->dg)
		TRY(trainer_dist_begin(t->dg, M));
	for (int a = 0; a < M; a++) {
		/* every rank draws every micro-batch, so the generators stay in step */
		const train_bucket *b = &t->tb[train_sampler_draw(t->cum, t->ntb, &t->rng)];
		if (a / o->accum != me)
			continue;
		double l = 0;
		t->reg_seed = w2v_reg_seed(o->seed, t->step, a);
		TRY(step_batch(t, b, 1, &l, NULL, audio_s));
		int ok = isfinite(l) && all_finite(t->dlog, (size_t)b->n * t->f->T * m->cfg.vocab_size);
		if (ok) {
			memset(t->gtmp_t, 0, sizeof(float) * nt);
			if (nb)
				memset(t->gtmp_b, 0, sizeof(float) * nb);
			TRY(w2v_backward(t->bk, t->f, t->x, t->dlog, t->gtmp_t, nb ? t->gtmp_b : NULL, o->base_from));
			ok = all_finite(t->gtmp_t, nt) && (!nb || all_finite(t->gtmp_b, nb));
		}
		if (t->dg)
			TRY(trainer_dist_add(t->dg, a, ok, l, me > 0 ? t->gtmp_t : NULL, me > 0 ? t->gtmp_b : NULL));
		if (!ok) {
			(*skipped)++;
			continue;
		}
		if (me > 0)
			continue;   /* kept by trainer_dist, folded after rank me-1's */
		for (size_t i = 0; i < nt; i++)
			t->gtrain[i] += t->gtmp_t[i];
		if (nb) {
			#pragma omp parallel for schedule(static)
			for (size_t i = 0; i < nb; i++)
				t->gbase[i] += t->gtmp_b[i];
		}
		lsum += l;
		good++;
	}
	if (t->dg) {
		TRY(trainer_dist_reduce(t->dg, t->gtrain, nb ? t->gbase : NULL, &lsum, &good, audio_s));
		*skipped = M - good;
	}
	*loss_out = good ? lsum / good : NAN;
	*gnorm_out = NAN;
	lr_sched sc = { o->lr, t->sched_warmup, t->sched_total };
	*lr_out = lr_sched_at(&sc, t->step);
	if (!good)
		goto out;   /* nothing to apply: the step is counted, the weights stay */
	/* mean over micro-batches, then the norm over every trained tensor */
	double ss = 0, inv = 1.0 / good;
	for (int i = 0; i < m->n_tensors; i++) {
		const w2v_tensor *te = &m->tensors[i];
		if (!w2v_tensor_trains(m, te, o->base_from) || (te->group == W2V_GROUP_BASE && !nb))
			continue;
		float *g = (te->group == W2V_GROUP_TRAIN ? t->gtrain : t->gbase) + te->offset;
		for (size_t k = 0; k < te->numel; k++) {
			g[k] = (float)(g[k] * inv);
			ss += (double)g[k] * g[k];
		}
	}
	double norm = sqrt(ss);
	*gnorm_out = norm;
	double coef = 1.0;
	if (o->clip > 0 && norm + 1e-6 > 0) {
		coef = o->clip / (norm + 1e-6);
		if (coef > 1.0)
			coef = 1.0;
	}
	adamw_hparams h = { 0.9, 0.999, 1e-8, o->weight_decay };
	adamw_begin_step(&t->st_t);
	if (nb)
		adamw_begin_step(&t->st_b);
	for (int i = 0; i < m->n_tensors; i++) {
		const w2v_tensor *te = &m->tensors[i];
		if (!w2v_tensor_trains(m, te, o->base_from) || (te->group == W2V_GROUP_BASE && !nb))
			continue;
		int tg = te->group == W2V_GROUP_TRAIN;
		float *g = (tg ? t->gtrain : t->gbase) + te->offset;
		if (coef < 1.0)
			for (size_t k = 0; k < te->numel; k++)
				g[k] = (float)(g[k] * coef);
		adamw_update(tg ? &t->st_t : &t->st_b, (tg ? m->train : m->base) + te->offset, g, te->offset,
		             te->numel, *lr_out, &h, tensor_decays(te));
		ops_ctx_weights_changed(w2v_fwd_ops(t->f), (tg ? m->train : m->base) + te->offset);
	}
out:
	return rc;
}

int train_step_evaluate(train_ctx *t, double *loss, double *cer, double *wer, double *audio_s)
{
	int rc = 0;
	metrics_accum ma;
	metrics_accum_init(&ma);
	double ls = 0, *bl = NULL;
	int n = 0;
	/* mpirun: rank r decodes dev buckets r, r+W, ...; the bucket losses
	 * come together exactly (one contributor each) and are summed in
	 * bucket order, the edit counts are integers */
	int W = dist_size(), me = dist_rank();
	if (W > 1 && !(bl = calloc(t->ndb + 1, sizeof *bl))) {
		rc = err_set(ACC_ENOMEM, "out of memory");
		goto out;
	}
	for (int i = 0; i < t->ndb; i++) {
		double l = 0;
		if (i % W != me)
			continue;
		TRY(step_batch(t, &t->db[i], 0, &l, &ma, audio_s));
		if (bl)
			bl[i] = l;
		ls += l * t->db[i].n;
		n += t->db[i].n;
	}
	if (bl) {
		bl[t->ndb] = *audio_s;
		TRY(dist_sum_f64(bl, t->ndb + 1));
		TRY(trainer_dist_metrics_sum(&ma));
		*audio_s = bl[t->ndb];
		ls = 0;
		n = 0;
		for (int i = 0; i < t->ndb; i++) {
			ls += bl[i] * t->db[i].n;
			n += t->db[i].n;
		}
	}
	*loss = n ? ls / n : NAN;
	*cer = metrics_accum_cer(&ma);
	*wer = metrics_accum_wer(&ma);
out:
	free(bl);
	return rc;
}
