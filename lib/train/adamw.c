/*
 * adamw.c — torch-exact AdamW (see adamw.h).  The per-element arithmetic is
 * done in double and rounded once, which is within one float ulp of torch's
 * float32 sequence of in-place ops and exact against its float64 results.
 */
#include "train/adamw.h"

#include <math.h>
#include <stdlib.h>

#include "base/err.h"
#include "base/banned.h"

adamw_hparams adamw_defaults(void)
{
	adamw_hparams h = { 0.9, 0.999, 1e-8, 0.01 };
	return h;
}

int adamw_init(adamw_state *s, size_t n)
{
	s->n = n;
	s->step = 0;
	s->m = calloc(n ? n : 1, sizeof(float));
	s->v = calloc(n ? n : 1, sizeof(float));
	if (!s->m || !s->v) {
		adamw_free(s);
		return err_set(ACC_ENOMEM, "out of memory: optimizer state for %zu parameters", n);
	}
	return 0;
}

void adamw_free(adamw_state *s)
{
	free(s->m);
	free(s->v);
	s->m = s->v = NULL;
	s->n = 0;
}

void adamw_begin_step(adamw_state *s)
{
	s->step++;
}

void adamw_update(adamw_state *s, float *params, const float *grads, size_t off, size_t n,
                  double lr, const adamw_hparams *h, int decay)
{
	double b1 = h->beta1, b2 = h->beta2;
	double t = (double)(s->step > 0 ? s->step : 1);
	double bc1 = 1.0 - pow(b1, t), bc2s = sqrt(1.0 - pow(b2, t));
	double step_size = lr / bc1;
	double wdf = decay ? 1.0 - lr * h->weight_decay : 1.0;
	float *m = s->m + off, *v = s->v + off;
	#pragma omp parallel for schedule(static) if (n > 65536)
	for (size_t i = 0; i < n; i++) {
		double g = grads[i];
		double p = params[i] * wdf;
		double mi = b1 * m[i] + (1.0 - b1) * g;
		double vi = b2 * v[i] + (1.0 - b2) * g * g;
		m[i] = (float)mi;
		v[i] = (float)vi;
		p -= step_size * mi / (sqrt(vi) / bc2s + h->eps);
		params[i] = (float)p;
	}
}
