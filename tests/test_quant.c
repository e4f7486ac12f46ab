/*
 * test_quant.c — the dynamic-int8 linear layer: the quantization rule
 * (quant_rows_s8) on hand-checked rows; linear_forward_int8 (oneDNN s8 x s8)
 * against the plain-C reference quant_linear_ref on odd shapes and every
 * post-op, fp32 and bf16 outputs; against the fp32 linear within the
 * analytic quantization bound; re-quantization after a weight changes.
 */
#include <math.h>
#include <string.h>

#include "check.h"
#include "base/err.h"
#include "model/ops.h"
#include "model/quant.h"
#include "testrand.h"

static void test_rule(void)
{
	/* max |x| = 2.54 -> scale 0.02; values chosen away from rounding ties */
	float x[6] = { 2.54f, -1.0f, 0.3f, 0.011f, -0.009f, 0.0f };
	int8_t q[6];
	float s;
	quant_rows_s8(q, &s, x, 1, 6);
	CHECK_NEAR(s, 0.02, 1e-7);
	int want[6] = { 127, -50, 15, 1, 0, 0 };
	for (int i = 0; i < 6; i++)
		CHECKF(q[i] == want[i], "q[%d] = %d, want %d", i, q[i], want[i]);
	/* a zero row: scale 1, zeros; NaN -> 0 and inf never sets the scale */
	float z[4] = { 0, 0, 0, 0 }, bad[4] = { NAN, 1.27f, INFINITY, -INFINITY };
	int8_t qz[4], qb[4];
	quant_rows_s8(qz, &s, z, 1, 4);
	CHECK_NEAR(s, 1.0, 0);
	for (int i = 0; i < 4; i++)
		CHECK(qz[i] == 0);
	quant_rows_s8(qb, &s, bad, 1, 4);
	CHECK_NEAR(s, 0.01, 1e-8);
	CHECK(qb[0] == 0 && qb[1] == 127 && qb[2] == 127 && qb[3] == -127);
	/* never -128, even for the row's most negative value */
	float neg[3] = { -5.0f, 4.99f, -4.999f };
	int8_t qn[3];
	quant_rows_s8(qn, &s, neg, 1, 3);
	CHECK(qn[0] == -127 && qn[1] == 127 && qn[2] == -127);
}

/* y_fast vs y_ref: the integers agree, so only the epilogue's float
 * rounding (and GELU's polynomial erf, ~1.5e-7) may differ; bf16 output
 * rounds to 8 bits of mantissa. */
static void one_shape(int M, int K, int N, int post, ops_dtype yt)
{
	/* a context per call: packings are cached by weight address, and a
	 * freed weight's address comes back with the next one */
	ops_ctx *ctx = NULL;
	CHECK_OK(ops_ctx_create(&ctx));
	if (!ctx)
		return;
	float *x = rnd((size_t)M * K, 1.5f), *w = rnd((size_t)N * K, 0.2f), *b = rnd(N, 0.5f);
	float *res = rnd((size_t)M * N, 1.0f);
	float *yr = fdup(res, (size_t)M * N), *yf = fdup(res, (size_t)M * N);
	uint16_t *yb = malloc(sizeof(uint16_t) * M * N);
	ops_to_bf16(yb, res, (size_t)M * N);
	CHECK_OK(quant_linear_ref(yr, x, w, b, M, K, N, post));
	int rc = yt == OPS_F32 ? linear_forward_int8(ctx, yf, OPS_F32, x, w, b, M, K, N, post)
	                       : linear_forward_int8(ctx, yb, OPS_BF16, x, w, b, M, K, N, post);
	CHECKF(rc == 0, "linear_forward_int8 %dx%dx%d: %s", M, K, N, err_msg());
	if (yt == OPS_BF16)
		ops_from_bf16(yf, yb, (size_t)M * N);
	double worst = 0;
	for (size_t i = 0; i < (size_t)M * N; i++) {
		double tol = yt == OPS_F32 ? 1e-5 * (1 + fabs(yr[i])) : 8e-3 * (1 + fabs(yr[i]));
		double d = fabs((double)yf[i] - yr[i]);
		worst = fmax(worst, d / tol);
	}
	CHECKF(worst <= 1, "M=%d K=%d N=%d post=%d %s: worst diff %.3g x tolerance", M, K, N, post,
	       yt == OPS_F32 ? "fp32" : "bf16", worst);
	free(x); free(w); free(b); free(res); free(yr); free(yf); free(yb);
	ops_ctx_free(ctx);
}

static void test_fast_vs_ref(void)
{
	int shapes[][3] = { { 1, 1, 1 }, { 3, 7, 5 }, { 17, 33, 29 }, { 64, 128, 96 }, { 49, 32, 64 },
	                    { 130, 257, 31 } };
	int posts[] = { 0, OPS_POST_GELU, OPS_POST_RELU, OPS_POST_ADD, OPS_POST_GELU | OPS_POST_ADD };
	for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
		for (size_t p = 0; p < sizeof posts / sizeof *posts; p++) {
			one_shape(shapes[s][0], shapes[s][1], shapes[s][2], posts[p], OPS_F32);
			if (p < 2)
				one_shape(shapes[s][0], shapes[s][1], shapes[s][2], posts[p], OPS_BF16);
		}
}

/* int8 vs the fp32 linear: inside the analytic bound, and close in
 * practice (relative RMS error of a few 1e-3 on random data). */
static void test_vs_fp32(void)
{
	ops_ctx *ctx = NULL;
	CHECK_OK(ops_ctx_create(&ctx));
	if (!ctx)
		return;
	int M = 40, K = 256, N = 48;
	float *x = rnd((size_t)M * K, 1.0f), *w = rnd((size_t)N * K, 0.1f);
	float *y8 = zeros((size_t)M * N), *y32 = zeros((size_t)M * N);
	CHECK_OK(linear_forward_int8(ctx, y8, OPS_F32, x, w, NULL, M, K, N, 0));
	linear_forward_ref(y32, x, w, NULL, M, K, N, 0);
	double bound = quant_linear_error_bound(x, w, M, K, N), worst = 0, se = 0, ss = 0;
	for (size_t i = 0; i < (size_t)M * N; i++) {
		double d = fabs((double)y8[i] - y32[i]);
		worst = fmax(worst, d);
		se += d * d;
		ss += (double)y32[i] * y32[i];
	}
	CHECKF(worst <= bound * 1.0001 + 1e-6, "int8 vs fp32: %.4g beyond the bound %.4g", worst, bound);
	double rel = sqrt(se / ss);
	printf("# int8 vs fp32 linear: max |diff| %.4g (bound %.4g), relative RMS error %.4g\n", worst, bound, rel);
	CHECKF(rel < 0.01, "relative RMS error %.4g", rel);
	/* a changed weight is re-quantized after ops_ctx_weights_changed */
	for (size_t i = 0; i < (size_t)N * K; i++)
		w[i] *= -2.0f;
	ops_ctx_weights_changed(ctx, w);
	CHECK_OK(linear_forward_int8(ctx, y8, OPS_F32, x, w, NULL, M, K, N, 0));
	CHECK_OK(quant_linear_ref(y32, x, w, NULL, M, K, N, 0));
	worst = 0;
	for (size_t i = 0; i < (size_t)M * N; i++)
		worst = fmax(worst, fabs((double)y8[i] - y32[i]) / (1 + fabs(y32[i])));
	CHECKF(worst <= 1e-5, "after the weight changed: %.3g", worst);
	free(x); free(w); free(y8); free(y32);
	ops_ctx_free(ctx);
}

int main(void)
{
	testrand_seed(0x8a5cd789635d2dffull);
	RUN(test_rule);
	RUN(test_fast_vs_ref);
	RUN(test_vs_fp32);
	return check_summary();
}
