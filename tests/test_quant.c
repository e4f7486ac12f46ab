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

/* Rows long enough for quant_rows_s8's vectorized loops (the short rows
 * above only reach their remainders): ties round to even, NaN and inf sit
 * inside the vector body, and every row agrees with the scalar rule. */
static void test_rule_long(void)
{
	enum { N = 1003 };
	static float x[2 * N];
	static int8_t q[2 * N];
	float s[2];
	/* row 0: max 127 -> scale 1, so x itself is the scaled value */
	for (int i = 0; i < N; i++)
		x[i] = (float)((i % 255) - 127) * 0.5f;   /* -63.5 .. 63.5 in halves: half are ties */
	x[17] = 127.0f;
	x[40] = NAN;
	x[41] = INFINITY;
	x[42] = -INFINITY;
	/* row 1: random, scale from its largest |x| */
	testrand_seed(7);
	for (int i = 0; i < N; i++)
		x[N + i] = frand() * 4.0f;
	quant_rows_s8(q, s, x, 2, N);
	CHECK_NEAR(s[0], 1.0, 0);
	for (int i = 0; i < N; i++) {
		int want;
		if (i == 40)
			want = 0;
		else if (i == 41)
			want = 127;
		else if (i == 42)
			want = -127;
		else
			want = (int)nearbyint((double)x[i]);   /* exact halves: to even */
		CHECKF(q[i] == want, "row 0: q[%d] = %d for %g, want %d", i, q[i], x[i], want);
	}
	CHECK(q[0] == -64 && q[2] == -62 && q[4] == -62);   /* ties by hand: -63.5, -62.5, -61.5 */
	float mx = 0;
	for (int i = 0; i < N; i++)
		mx = fabsf(x[N + i]) > mx ? fabsf(x[N + i]) : mx;
	CHECK_NEAR(s[1], mx / 127.0f, 0);
	float inv = 1.0f / s[1];
	for (int i = 0; i < N; i++) {
		float v = x[N + i] * inv;
		v = v > 127.0f ? 127.0f : v < -127.0f ? -127.0f : v;
		CHECKF(q[N + i] == (int)nearbyintf(v), "row 1: q[%d] = %d, want %d", i, q[N + i],
		       (int)nearbyintf(v));
	}
}

/* The largest |y - ref| over n values in units of rel * (1 + |ref|): at
 * most 1 when every value is within that relative tolerance. */
static double worst_ratio(const float *y, const float *ref, size_t n, double rel)
{
	double worst = 0;
	for (size_t i = 0; i < n; i++)
		worst = fmax(worst, fabs((double)y[i] - ref[i]) / (rel * (1 + fabs(ref[i]))));
	return worst;
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
	double worst = worst_ratio(yf, yr, (size_t)M * N, yt == OPS_F32 ? 1e-5 : 8e-3);
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
	worst = worst_ratio(y8, y32, (size_t)M * N, 1e-5);
	CHECKF(worst <= 1, "after the weight changed: worst diff %.3g x tolerance", worst);
	free(x); free(w); free(y8); free(y32);
	ops_ctx_free(ctx);
}

/* OPS_INT8_SAME_X: Q, K and V share one quantized input; the promise is
 * honoured only when x, M and K are the previous call's (a different input
 * under the flag is quantized as usual). */
static void test_same_x(void)
{
	ops_ctx *ctx = NULL;
	CHECK_OK(ops_ctx_create(&ctx));
	if (!ctx)
		return;
	int M = 33, K = 64, N = 40;
	float *x = rnd((size_t)M * K, 1.0f), *x2 = rnd((size_t)M * K, 3.0f);
	float *wq = rnd((size_t)N * K, 0.2f), *wk = rnd((size_t)N * K, 0.2f), *b = rnd(N, 0.5f);
	float *y = zeros((size_t)M * N), *yr = zeros((size_t)M * N);
	CHECK_OK(linear_forward_int8(ctx, y, OPS_F32, x, wq, b, M, K, N, 0));
	/* the same input, another weight: the reused rows give the reference */
	CHECK_OK(linear_forward_int8(ctx, y, OPS_F32, x, wk, b, M, K, N, OPS_INT8_SAME_X | OPS_POST_GELU));
	CHECK_OK(quant_linear_ref(yr, x, wk, b, M, K, N, OPS_POST_GELU));
	double worst = worst_ratio(y, yr, (size_t)M * N, 1e-5);
	CHECKF(worst <= 1, "reused x: worst diff %.3g x tolerance", worst);
	/* another input under the flag: quantized anew, not the stale rows */
	CHECK_OK(linear_forward_int8(ctx, y, OPS_F32, x2, wk, b, M, K, N, OPS_INT8_SAME_X));
	CHECK_OK(quant_linear_ref(yr, x2, wk, b, M, K, N, 0));
	worst = worst_ratio(y, yr, (size_t)M * N, 1e-5);
	CHECKF(worst <= 1, "new x under the flag: worst diff %.3g x tolerance", worst);
	free(x); free(x2); free(wq); free(wk); free(b); free(y); free(yr);
	ops_ctx_free(ctx);
}

int main(void)
{
	testrand_seed(0x8a5cd789635d2dffull);
	RUN(test_rule);
	RUN(test_rule_long);
	RUN(test_fast_vs_ref);
	RUN(test_vs_fp32);
	RUN(test_same_x);
	return check_summary();
}
