/*
 * ctc.c — CTC loss forward-backward and gradient (see ctc.h).
 *
 * alpha and beta both include the emission of their own frame (torch's
 * convention), so the occupancy of state s at frame t is
 * exp(alpha + beta - lp[t, label(s)] + nll); the gradient with respect to
 * the logits through log_softmax is then softmax - occupancy (the
 * log_softmax Jacobian cancels because occupancies sum to one per frame).
 */
#include "model/ctc.h"
#include "base/err.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/banned.h"

static inline double lse2(double a, double b)
{
	if (a == -INFINITY)
		return b;
	if (b == -INFINITY)
		return a;
	double m = a > b ? a : b;
	return m + log1p(exp(-fabs(a - b)));
}

static inline double lse3(double a, double b, double c)
{
	double m = a > b ? a : b;
	if (c > m)
		m = c;
	if (m == -INFINITY)
		return -INFINITY;
	return m + log(exp(a - m) + exp(b - m) + exp(c - m));
}

int64_t ctc_min_frames(const int *target, int64_t L)
{
	int64_t r = 0;
	for (int64_t i = 1; i < L; i++)
		r += target[i] == target[i - 1];
	return L + r;
}

/* One utterance.  Returns 0 or ACC_ENOMEM; *nll may be +inf. */
static int ctc_one(const float *logits, int64_t T, int V, const int *tgt, int64_t L, int blank,
		   double *nll_out, float *grad, double scale, int zero_inf)
{
	int64_t S = 2 * L + 1;
	double *lp = malloc(sizeof(double) * (size_t)(T > 0 ? T : 1) * V);
	double *alpha = malloc(sizeof(double) * (size_t)(T > 0 ? T : 1) * S);
	double *beta = grad ? malloc(sizeof(double) * (size_t)(T > 0 ? T : 1) * S) : NULL;
	double *occ = grad ? malloc(sizeof(double) * V) : NULL;
	int rc = 0;
	if (!lp || !alpha || (grad && (!beta || !occ))) {
		rc = ACC_ENOMEM;
		goto out;
	}
#define LAB(s) (((s) & 1) ? tgt[(s) >> 1] : blank)
	for (int64_t t = 0; t < T; t++) {
		const float *x = logits + t * V;
		double m = -INFINITY, z = 0;
		for (int v = 0; v < V; v++)
			if (x[v] > m)
				m = x[v];
		for (int v = 0; v < V; v++)
			z += exp((double)x[v] - m);
		double lz = m + log(z);
		for (int v = 0; v < V; v++)
			lp[t * V + v] = (double)x[v] - lz;
	}
	double nll;
	if (T == 0) {
		nll = L == 0 ? 0.0 : INFINITY;
	} else {
		for (int64_t s = 0; s < S; s++)
			alpha[s] = s < 2 ? lp[LAB(s)] : -INFINITY;
		for (int64_t t = 1; t < T; t++) {
			const double *pa = alpha + (t - 1) * S;
			double *a = alpha + t * S;
			const double *l = lp + t * V;
			for (int64_t s = 0; s < S; s++) {
				double x0 = pa[s], x1 = s > 0 ? pa[s - 1] : -INFINITY;
				double x2 = (s & 1) && s >= 3 && tgt[s >> 1] != tgt[(s >> 1) - 1] ? pa[s - 2] : -INFINITY;
				a[s] = lse3(x0, x1, x2) + l[LAB(s)];
			}
		}
		const double *aT = alpha + (T - 1) * S;
		nll = -(S >= 2 ? lse2(aT[S - 1], aT[S - 2]) : aT[0]);
	}
	int inf = !(nll < INFINITY);
	if (inf && zero_inf)
		nll = 0;
	*nll_out = nll;
	if (!grad)
		goto out;
	if (inf) {
		/* torch: zero gradient when zeroed, NaN (inf - inf) otherwise */
		for (int64_t i = 0; i < T * V; i++)
			grad[i] = zero_inf ? 0.0f : NAN;
		goto out;
	}
	double *bT = beta + (T - 1) * S;
	for (int64_t s = 0; s < S; s++)
		bT[s] = s >= S - 2 ? lp[(T - 1) * V + LAB(s)] : -INFINITY;
	for (int64_t t = T - 2; t >= 0; t--) {
		const double *nb = beta + (t + 1) * S;
		double *b = beta + t * S;
		const double *l = lp + t * V;
		for (int64_t s = 0; s < S; s++) {
			double x0 = nb[s], x1 = s + 1 < S ? nb[s + 1] : -INFINITY;
			double x2 = (s & 1) && s + 2 < S && tgt[s >> 1] != tgt[(s >> 1) + 1] ? nb[s + 2] : -INFINITY;
			b[s] = lse3(x0, x1, x2) + l[LAB(s)];
		}
	}
	for (int64_t t = 0; t < T; t++) {
		const double *a = alpha + t * S, *b = beta + t * S, *l = lp + t * V;
		for (int v = 0; v < V; v++)
			occ[v] = -INFINITY;
		for (int64_t s = 0; s < S; s++) {
			int c = LAB(s);
			occ[c] = lse2(occ[c], a[s] + b[s]);
		}
		for (int v = 0; v < V; v++) {
			double post = occ[v] == -INFINITY ? 0.0 : exp(occ[v] + nll - l[v]);
			grad[t * V + v] = (float)(scale * (exp(l[v]) - post));
		}
	}
#undef LAB
out:
	free(lp);
	free(alpha);
	free(beta);
	free(occ);
	return rc;
}

int ctc_loss(const float *logits, int B, int64_t T, int V, const int64_t *input_lengths,
	     const int *targets, int64_t S, const int64_t *target_lengths, const ctc_opts *opts,
	     double *losses, double *loss, float *grad_logits)
{
	int blank = opts->blank;
	if (B <= 0 || T < 0 || V <= 0 || S < 0)
		return err_set(ACC_EINVAL, "ctc: bad shape B=%d T=%lld V=%d S=%lld", B, (long long)T, V, (long long)S);
	if (blank < 0 || blank >= V)
		return err_set(ACC_EINVAL, "ctc: blank id %d outside [0, %d)", blank, V);
	for (int b = 0; b < B; b++) {
		if (input_lengths[b] < 0 || input_lengths[b] > T)
			return err_set(ACC_EINVAL, "ctc: utterance %d: input length %lld outside [0, %lld]", b,
				       (long long)input_lengths[b], (long long)T);
		if (target_lengths[b] < 0 || target_lengths[b] > S)
			return err_set(ACC_EINVAL, "ctc: utterance %d: target length %lld outside [0, %lld]", b,
				       (long long)target_lengths[b], (long long)S);
		for (int64_t i = 0; i < target_lengths[b]; i++) {
			int id = targets[b * S + i];
			if (id < 0 || id >= V || id == blank)
				return err_set(ACC_EINVAL, "ctc: utterance %d: label %d at position %lld is %s", b, id,
					       (long long)i, id == blank ? "the blank" : "outside the vocabulary");
		}
	}
	double *nll = malloc(sizeof(double) * B);
	int fail = 0;
	if (!nll)
		return err_set(ACC_ENOMEM, "ctc: out of memory");
	if (grad_logits)
		memset(grad_logits, 0, sizeof(float) * (size_t)B * T * V);
#pragma omp parallel for schedule(dynamic, 1) reduction(|:fail)
	for (int b = 0; b < B; b++) {
		double scale = 1.0;
		if (opts->reduction == CTC_REDUCE_MEAN)
			scale = 1.0 / ((double)B * (double)(target_lengths[b] > 0 ? target_lengths[b] : 1));
		if (ctc_one(logits + (size_t)b * T * V, input_lengths[b], V, targets + b * S, target_lengths[b], blank,
			    &nll[b], grad_logits ? grad_logits + (size_t)b * T * V : NULL, scale, opts->zero_infinity))
			fail = 1;
	}
	if (fail) {
		free(nll);
		return err_set(ACC_ENOMEM, "ctc: out of memory");
	}
	double total = 0;
	for (int b = 0; b < B; b++) {
		if (losses)
			losses[b] = nll[b];
		if (opts->reduction == CTC_REDUCE_MEAN)
			total += nll[b] / (double)(target_lengths[b] > 0 ? target_lengths[b] : 1);
		else
			total += nll[b];
	}
	if (opts->reduction == CTC_REDUCE_MEAN)
		total /= B;
	if (loss)
		*loss = total;
	free(nll);
	return 0;
}
