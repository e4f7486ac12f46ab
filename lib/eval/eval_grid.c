/*
 * eval_grid.c — the alpha/beta grid search over precomputed emissions and
 * the parsing of its value lists (see eval_grid.h).
 */
#include "eval/eval_grid.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "text/metrics.h"
#include "base/banned.h"

/* WER of one (alpha, beta) pair over every utterance. */
static int grid_cell(const eval_grid_decoder *dec, const float *const *lp, const int64_t *T,
                     const char *const *ref, int n, double alpha, double beta, double *wer)
{
	ctc_beam_opts o = dec->bo;
	ctc_decoder *d = NULL;
	metrics_accum acc;
	int rc;
	metrics_accum_init(&acc);
	o.alpha = (float)alpha;
	o.beta = (float)beta;
	TRY(ctc_decoder_new(&d, dec->tokens, dec->V, dec->blank, dec->delim, dec->lm, &o));
	for (int i = 0; i < n; i++) {
		char *hyp = NULL;
		double score;
		rc = ctc_decoder_decode(d, lp[i], (int)T[i], dec->V, &hyp, &score);
		if (!rc)
			rc = metrics_accum_add(&acc, ref[i], hyp);
		free(hyp);
		if (rc)
			goto out;
	}
	*wer = metrics_accum_wer(&acc);
out:
	ctc_decoder_free(d);
	return rc;
}

int eval_grid_search(const eval_grid_decoder *dec, const float *const *lp, const int64_t *T,
                     const char *const *ref, int n, const double *alpha, int na, const double *beta, int nb,
                     eval_grid_cell *cells, int *best)
{
	double bw = INFINITY;
	int rc = 0;
	*best = -1;
	for (int ia = 0; ia < na; ia++)
		for (int ib = 0; ib < nb; ib++) {
			eval_grid_cell *c = &cells[ia * nb + ib];
			c->alpha = alpha[ia];
			c->beta = beta[ib];
			TRY(grid_cell(dec, lp, T, ref, n, c->alpha, c->beta, &c->wer));
			if (c->wer < bw) {
				bw = c->wer;
				*best = ia * nb + ib;
			}
		}
out:
	return rc;
}

int eval_list_parse(const char *s, double *out, int max, const char *what)
{
	int n = 0;
	const char *p = s;
	while (*p) {
		char *e;
		double v = strtod(p, &e);
		if (e == p || (*e && *e != ',') || n == max || !isfinite(v))
			return err_set(ACC_EINVAL, "bad %s list '%s' (comma-separated numbers, at most %d)", what, s, max);
		out[n++] = v;
		p = *e ? e + 1 : e;
	}
	if (!n)
		return err_set(ACC_EINVAL, "empty %s list", what);
	return n;
}

int eval_grid_parse(const char *s, double *alpha, int *na, double *beta, int *nb)
{
	const char *colon = strchr(s, ':');
	char abuf[256];
	int rc;
	if (!colon || (size_t)(colon - s) >= sizeof abuf)
		return err_set(ACC_EINVAL, "--grid must look like 0.3,0.5,0.8:0,1,2 (alphas:betas)");
	memcpy(abuf, s, (size_t)(colon - s));
	abuf[colon - s] = 0;
	if ((rc = eval_list_parse(abuf, alpha, EVAL_GRID_MAX, "--grid alpha")) < 0)
		return rc;
	*na = rc;
	if ((rc = eval_list_parse(colon + 1, beta, EVAL_GRID_MAX, "--grid beta")) < 0)
		return rc;
	*nb = rc;
	return 0;
}
