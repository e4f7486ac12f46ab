/*
 * test_ctc.c — CTC loss and gradient: parity with torch
 * (tests/data/hf-wav2vec2/ctc/ctc.safetensors: loss_none, grad_logits_sum),
 * brute-force path enumeration, finite differences, reductions and
 * zero_infinity.
 */
#include "check.h"
#include "testrand.h"
#include "model/ctc.h"
#include "base/err.h"
#include "st_mini.h"

#define CTC_FIX TEST_DATA("data/hf-wav2vec2/ctc/ctc.safetensors")

static void test_fixture_parity(void)
{
	st_mini st;
	CHECK_EQ_INT(st_mini_open(&st, CTC_FIX), 0);
	int64_t n, sh[4], shl[4], sht[4], shg[4];
	int nd;
	const float *logits = st_mini_get(&st, "logits", "F32", &n, sh, &nd);
	const int32_t *tg = st_mini_get(&st, "targets", "I32", &n, sht, &nd);
	const int32_t *tl = st_mini_get(&st, "target_lengths", "I32", &n, shl, &nd);
	const int32_t *il = st_mini_get(&st, "input_lengths", "I32", &n, shl, &nd);
	const float *ref = st_mini_get(&st, "loss_none", "F32", &n, shl, &nd);
	const float *gref = st_mini_get(&st, "grad_logits_sum", "F32", &n, shg, &nd);
	CHECK(logits && tg && tl && il && ref && gref);
	if (!(logits && tg && tl && il && ref && gref)) {
		st_mini_close(&st);
		return;
	}
	int B = (int)sh[0], V = (int)sh[2];
	int64_t T = sh[1], S = sht[1];
	int64_t ilen[8], tlen[8];
	int *tgt = malloc(sizeof(int) * B * S);
	for (int b = 0; b < B; b++) {
		ilen[b] = il[b];
		tlen[b] = tl[b];
	}
	for (int64_t i = 0; i < B * S; i++)
		tgt[i] = tg[i];
	double losses[8], total;
	float *grad = malloc(sizeof(float) * B * T * V);
	ctc_opts o = { .blank = 0, .reduction = CTC_REDUCE_SUM, .zero_infinity = 0 };
	CHECK_OK(ctc_loss(logits, B, T, V, ilen, tgt, S, tlen, &o, losses, &total, grad));
	double sum = 0;
	for (int b = 0; b < B; b++) {
		CHECKF(fabs(losses[b] - ref[b]) <= 1e-5 * fabs(ref[b]), "loss %d: %.9g vs %.9g", b, losses[b], ref[b]);
		sum += losses[b];
	}
	CHECK_NEAR(total, sum, 1e-9 * sum);
	int bad = 0;
	for (int64_t i = 0; i < B * T * V; i++) {
		double r = gref[i], g = grad[i];
		if (!(fabs(g - r) <= 1e-4 * fabs(r) || fabs(g - r) <= 1e-6))
			if (bad++ < 5)
				CHECKF(0, "grad[%lld]: %.9g vs %.9g", (long long)i, g, r);
	}
	CHECK_EQ_INT(bad, 0);
	/* padding frames (t >= input length) get no gradient */
	for (int64_t t = ilen[1]; t < T; t++)
		for (int v = 0; v < V; v++)
			CHECK(grad[(1 * T + t) * V + v] == 0.0f);
	free(grad);
	free(tgt);
	st_mini_close(&st);
}

/* Sum over all V^T frame paths that collapse to the target: an independent
 * definition of the CTC likelihood. */
static double brute_nll(const float *logits, int T, int V, const int *tgt, int L, int blank)
{
	double lp[16][8];
	for (int t = 0; t < T; t++) {
		double m = -INFINITY, z = 0;
		for (int v = 0; v < V; v++)
			m = fmax(m, logits[t * V + v]);
		for (int v = 0; v < V; v++)
			z += exp(logits[t * V + v] - m);
		for (int v = 0; v < V; v++)
			lp[t][v] = logits[t * V + v] - m - log(z);
	}
	long total = 1;
	for (int t = 0; t < T; t++)
		total *= V;
	double p = 0;
	for (long code = 0; code < total; code++) {
		int path[16], out[16], k = 0, prev = -1;
		long c = code;
		for (int t = 0; t < T; t++) {
			path[t] = (int)(c % V);
			c /= V;
		}
		for (int t = 0; t < T; t++) {
			if (path[t] != prev && path[t] != blank)
				out[k++] = path[t];
			prev = path[t];
		}
		if (k != L || memcmp(out, tgt, sizeof(int) * L))
			continue;
		double s = 0;
		for (int t = 0; t < T; t++)
			s += lp[t][path[t]];
		p += exp(s);
	}
	return -log(p);
}

static void test_brute_force(void)
{
	for (int trial = 0; trial < 40; trial++) {
		int T = 1 + (int)(urand() * 6), V = 2 + (int)(urand() * 3), L = (int)(urand() * 4);
		int blank = (int)(urand() * V);
		float logits[64];
		int tgt[8];
		for (int i = 0; i < T * V; i++)
			logits[i] = (float)(3 * (urand() - 0.5));
		for (int i = 0; i < L; i++) {
			do
				tgt[i] = (int)(urand() * V);
			while (tgt[i] == blank);
		}
		int64_t il = T, tl = L;
		double nll;
		ctc_opts o = { .blank = blank, .reduction = CTC_REDUCE_NONE, .zero_infinity = 0 };
		CHECK_OK(ctc_loss(logits, 1, T, V, &il, tgt, L > 0 ? L : 1, &tl, &o, &nll, NULL, NULL));
		double ref = brute_nll(logits, T, V, tgt, L, blank);
		if (isinf(ref))
			CHECKF(isinf(nll) && nll > 0, "trial %d: expected inf, got %g", trial, nll);
		else
			CHECKF(fabs(nll - ref) <= 1e-9 * fmax(1, fabs(ref)), "trial %d T=%d V=%d L=%d: %.12g vs %.12g", trial, T, V, L, nll, ref);
	}
}

static void test_finite_difference(void)
{
	enum { B = 2, T = 7, V = 5, S = 3 };
	float logits[B * T * V], grad[B * T * V];
	int tgt[B * S] = { 1, 2, 2, 3, 4, 0 };
	int64_t il[B] = { 7, 5 }, tl[B] = { 3, 2 };
	for (int i = 0; i < B * T * V; i++)
		logits[i] = (float)(2 * (urand() - 0.5));
	for (int red = CTC_REDUCE_MEAN; red <= CTC_REDUCE_SUM; red++) {
		ctc_opts o = { .blank = 0, .reduction = red, .zero_infinity = 1 };
		double base;
		CHECK_OK(ctc_loss(logits, B, T, V, il, tgt, S, tl, &o, NULL, &base, grad));
		int bad = 0;
		for (int i = 0; i < B * T * V; i++) {
			float keep = logits[i];
			const float h = 1e-2f;
			double lpz, lmz;
			logits[i] = keep + h;
			ctc_loss(logits, B, T, V, il, tgt, S, tl, &o, NULL, &lpz, NULL);
			logits[i] = keep - h;
			ctc_loss(logits, B, T, V, il, tgt, S, tl, &o, NULL, &lmz, NULL);
			logits[i] = keep;
			double fd = (lpz - lmz) / ((double)(keep + h) - (double)(keep - h));
			if (fabs(fd - grad[i]) > 2e-4 + 1e-3 * fabs(fd))
				if (bad++ < 5)
					CHECKF(0, "red %d grad[%d] %.7g vs finite difference %.7g", red, i, grad[i], fd);
		}
		CHECK_EQ_INT(bad, 0);
	}
	/* reductions agree with the per-utterance losses */
	double none[B], mean, sum;
	ctc_opts o = { .blank = 0, .reduction = CTC_REDUCE_NONE };
	CHECK_OK(ctc_loss(logits, B, T, V, il, tgt, S, tl, &o, none, NULL, NULL));
	o.reduction = CTC_REDUCE_MEAN;
	CHECK_OK(ctc_loss(logits, B, T, V, il, tgt, S, tl, &o, NULL, &mean, NULL));
	o.reduction = CTC_REDUCE_SUM;
	CHECK_OK(ctc_loss(logits, B, T, V, il, tgt, S, tl, &o, NULL, &sum, NULL));
	CHECK_NEAR(mean, (none[0] / 3 + none[1] / 2) / 2, 1e-12);
	CHECK_NEAR(sum, none[0] + none[1], 1e-12);
}

static void test_zero_infinity(void)
{
	/* 3 frames cannot hold "1 1 1" (needs 5): impossible target */
	enum { T = 3, V = 3 };
	float logits[T * V], grad[T * V];
	for (int i = 0; i < T * V; i++)
		logits[i] = (float)urand();
	int tgt[3] = { 1, 1, 1 };
	int64_t il = T, tl = 3;
	CHECK_EQ_INT(ctc_min_frames(tgt, 3), 5);
	double nll, loss;
	ctc_opts o = { .blank = 0, .reduction = CTC_REDUCE_MEAN, .zero_infinity = 0 };
	CHECK_OK(ctc_loss(logits, 1, T, V, &il, tgt, 3, &tl, &o, &nll, &loss, grad));
	CHECK(isinf(nll) && nll > 0);
	CHECK(isinf(loss));
	o.zero_infinity = 1;
	CHECK_OK(ctc_loss(logits, 1, T, V, &il, tgt, 3, &tl, &o, &nll, &loss, grad));
	CHECK(nll == 0.0 && loss == 0.0);
	for (int i = 0; i < T * V; i++)
		CHECK(grad[i] == 0.0f);
	/* "1 2 1" fits in 3 frames exactly: finite */
	int ok[3] = { 1, 2, 1 };
	CHECK_OK(ctc_loss(logits, 1, T, V, &il, ok, 3, &tl, &o, &nll, &loss, grad));
	CHECK(isfinite(nll) && nll > 0);
	/* bad labels are errors */
	int withblank[3] = { 1, 0, 1 };
	CHECK_EQ_INT(ctc_loss(logits, 1, T, V, &il, withblank, 3, &tl, &o, &nll, &loss, grad), ACC_EINVAL);
	int64_t badlen = 4;
	CHECK_EQ_INT(ctc_loss(logits, 1, T, V, &badlen, ok, 3, &tl, &o, &nll, &loss, grad), ACC_EINVAL);
}


/* Model-level: HF's Wav2Vec2ForCTC loss of the mms-tiny golden batch from
 * its golden logits (labels padded with -100, input lengths = feature
 * lengths, blank = pad = 0, zero_infinity) under both reductions. */
static void test_hf_model_loss(void)
{
	st_mini st;
	CHECK_EQ_INT(st_mini_open(&st, TEST_DATA("data/hf-wav2vec2/mms-tiny/golden.safetensors")), 0);
	int64_t n, sh[4], shl[4], s1[4];
	int nd;
	const float *logits = st_mini_get(&st, "logits", "F32", &n, sh, &nd);
	const int32_t *lab = st_mini_get(&st, "labels", "I32", &n, shl, &nd);
	const int32_t *fl = st_mini_get(&st, "feature_lengths", "I32", &n, s1, &nd);
	const float *lmean = st_mini_get(&st, "loss.mean", "F32", &n, s1, &nd);
	const float *lsum = st_mini_get(&st, "loss.sum", "F32", &n, s1, &nd);
	CHECK(logits && lab && fl && lmean && lsum);
	if (!(logits && lab && fl && lmean && lsum)) {
		st_mini_close(&st);
		return;
	}
	int B = (int)sh[0], V = (int)sh[2];
	int64_t T = sh[1], S = shl[1], il[4], tl[4];
	int tg[64];
	for (int b = 0; b < B; b++) {
		il[b] = fl[b];
		tl[b] = 0;
		for (int64_t i = 0; i < S; i++) {
			tg[b * S + i] = lab[b * S + i] >= 0 ? lab[b * S + i] : 1;
			tl[b] += lab[b * S + i] >= 0;
		}
	}
	double mean, sum;
	ctc_opts o = { .blank = 0, .reduction = CTC_REDUCE_MEAN, .zero_infinity = 1 };
	CHECK_OK(ctc_loss(logits, B, T, V, il, tg, S, tl, &o, NULL, &mean, NULL));
	o.reduction = CTC_REDUCE_SUM;
	CHECK_OK(ctc_loss(logits, B, T, V, il, tg, S, tl, &o, NULL, &sum, NULL));
	CHECKF(fabs(mean - lmean[0]) <= 1e-5 * fabs(lmean[0]), "mean %.9g vs %.9g", mean, lmean[0]);
	CHECKF(fabs(sum - lsum[0]) <= 1e-5 * fabs(lsum[0]), "sum %.9g vs %.9g", sum, lsum[0]);
	st_mini_close(&st);
}

int main(void)
{
	testrand_seed(0x9E3779B97F4A7C15ull);   /* this file's urand() stream */
	RUN(test_fixture_parity);
	RUN(test_brute_force);
	RUN(test_finite_difference);
	RUN(test_zero_infinity);
	RUN(test_hf_model_loss);
	return check_summary();
}
