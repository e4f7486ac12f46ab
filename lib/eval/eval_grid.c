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

/* WER of one (alpha, beta, unk) triple over every utterance. */
static int grid_cell(const eval_grid_decoder *dec, const float *const *lp, const int64_t *T,
                     const char *const *ref, int n, double alpha, double beta, double unk, double *wer)
{
	ctc_beam_opts o = dec->bo;
	ctc_decoder *d = NULL;
	metrics_accum acc;
	int rc;
	metrics_accum_init(&acc);
	o.alpha = (float)alpha;
	o.beta = (float)beta;
	o.unk_penalty = (float)unk;
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
                     const char *const *ref, int n, const eval_grid_axes *g, eval_grid_cell *cells, int *best)
{
	double bw = INFINITY;
	int rc = 0, nu = g->nu > 0 ? g->nu : 1;
	*best = -1;
	for (int ia = 0; ia < g->na; ia++)
		for (int ib = 0; ib < g->nb; ib++)
			for (int iu = 0; iu < nu; iu++) {
				int k = (ia * g->nb + ib) * nu + iu;
				eval_grid_cell *c = &cells[k];
				c->alpha = g->alpha[ia];
				c->beta = g->beta[ib];
				c->unk = g->nu > 0 ? g->unk[iu] : dec->bo.unk_penalty;
				TRY(grid_cell(dec, lp, T, ref, n, c->alpha, c->beta, c->unk, &c->wer));
				if (c->wer < bw) {
					bw = c->wer;
					*best = k;
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

int eval_grid_parse(const char *s, eval_grid_axes *g)
{
	static const char *const what[3] = { "--grid alpha", "--grid beta", "--grid unknown-word penalty" };
	double *axis[3] = { g->alpha, g->beta, g->unk };
	int *count[3] = { &g->na, &g->nb, &g->nu };
	char buf[256];
	int rc, k = 0;
	g->na = g->nb = g->nu = 0;
	for (const char *p = s; k < 3; k++) {
		const char *colon = strchr(p, ':');
		size_t len = colon ? (size_t)(colon - p) : strlen(p);
		if (len >= sizeof buf)
			break;
		memcpy(buf, p, len);
		buf[len] = 0;
		if ((rc = eval_list_parse(buf, axis[k], EVAL_GRID_MAX, what[k])) < 0)
			return rc;
		*count[k] = rc;
		if (!colon)
			break;
		p = colon + 1;
	}
	if (g->nb == 0 || k == 3)
		return err_set(ACC_EINVAL, "--grid must look like 0.3,0.5,0.8:0,1,2 (alphas:betas) or "
		               "0.3,0.5:0,1:-10,-4,0 (alphas:betas:unknown-word penalties)");
	for (int i = 0; i < g->nu; i++)
		if (g->unk[i] > 0)
			return err_set(ACC_EINVAL, "--grid unknown-word penalties are log10 values <= 0, got %g", g->unk[i]);
	return 0;
}
