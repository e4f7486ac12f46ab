/*
 * tests/fdgrad.h — analytic gradients against central finite differences of
 * the loss, for the backward tests: in every tensor that trains, the element
 * with the largest gradient and the one a third of the way in.  Include after
 * check.h.
 */
#ifndef ACCENT_FDGRAD_H
#define ACCENT_FDGRAD_H

#include "model/ops.h"
#include "model/w2v.h"
#include "model/w2v_backward.h"
#include "model/w2v_forward.h"
#include <math.h>
#include <stdio.h>

typedef struct fdgrad_opts {
	int bwd_flags;            /* which tensors train (w2v_tensor_trains) */
	double rel, noise;        /* tolerance: rel * |analytic| + noise * |loss| / h */
	int verbose;              /* print every comparison */
	/* the loss of the current weights (0 where it cannot be computed) */
	double (*loss_at)(w2v_fwd *f, const void *ctx);
	const void *ctx;
} fdgrad_opts;

/* Compares gt / gb (train / base block gradients of loss) with finite
 * differences; *checked comparisons, *bad of them out of tolerance (each
 * printed). */
__attribute__((unused)) static void fdgrad_compare(w2v_model *m, w2v_fwd *f, const float *gt, const float *gb,
						   double loss, const fdgrad_opts *o, int *checked, int *bad)
{
	*checked = *bad = 0;
	for (int i = 0; i < m->n_tensors; i++) {
		const w2v_tensor *t = &m->tensors[i];
		if (!t->present || !w2v_tensor_trains(m, t, o->bwd_flags))
			continue;
		float *blk = t->group == W2V_GROUP_TRAIN ? m->train : m->base;
		const float *grd = t->group == W2V_GROUP_TRAIN ? gt : gb;
		/* the element with the largest gradient, and one more */
		size_t best = 0;
		for (size_t k = 0; k < t->numel; k++)
			if (fabsf(grd[t->offset + k]) > fabsf(grd[t->offset + best]))
				best = k;
		size_t picks[2] = { best, t->numel / 3 };
		for (int pi = 0; pi < 2; pi++) {
			size_t k = t->offset + picks[pi];
			float s = blk[k];
			float hh = 1e-3f * fmaxf(1.0f, fabsf(s));
			blk[k] = s + hh;
			ops_ctx_weights_changed(w2v_fwd_ops(f), blk + t->offset);
			double lp = o->loss_at(f, o->ctx);
			blk[k] = s - hh;
			ops_ctx_weights_changed(w2v_fwd_ops(f), blk + t->offset);
			double lm = o->loss_at(f, o->ctx);
			blk[k] = s;
			ops_ctx_weights_changed(w2v_fwd_ops(f), blk + t->offset);
			double fd = (lp - lm) / ((double)(s + hh) - (double)(s - hh));
			double an = grd[k];
			double tol = o->rel * fabs(an) + o->noise * fabs(loss) / hh;
			if (o->verbose)
				fprintf(stderr, "  %s[%zu]: analytic %.6g fd %.6g tol %.3g\n", t->name, picks[pi], an, fd, tol);
			if (!(fabs(fd - an) <= tol)) {
				(*bad)++;
				fprintf(stderr, "  %s[%zu]: analytic %.6g fd %.6g\n", t->name, picks[pi], an, fd);
			}
			(*checked)++;
		}
	}
}

#endif
