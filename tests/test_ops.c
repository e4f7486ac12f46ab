/*
 * test_ops.c — every fast op (ops_dnnl.c: oneDNN + OpenMP) against its
 * plain-C reference (ops_ref.c) on random shapes, odd sizes included; fp32
 * within a tight tolerance, bf16 within a loose one scaled to the operand
 * magnitudes.
 */
#include "check.h"
#include "base/err.h"
#include "model/ops.h"

#include <stdint.h>

static uint64_t rng = 88172645463325252ull;
static float frand(void)   /* uniform in [-1, 1) */
{
	rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
	return (float)((rng >> 40) / (double)(1 << 24)) * 2.0f - 1.0f;
}
static float *rnd(size_t n, float scale)
{
	float *p = malloc(sizeof(float) * (n ? n : 1));
	for (size_t i = 0; i < n; i++)
		p[i] = frand() * scale;
	return p;
}
static double maxdiff(const float *a, const float *b, size_t n)
{
	double m = 0;
	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)a[i] - b[i]);
		if (!(d <= m)) m = d;   /* NaN propagates as a failure */
	}
	return m;
}
static uint16_t *tobf(const float *x, size_t n)
{
	uint16_t *p = malloc(2 * (n ? n : 1));
	ops_to_bf16(p, x, n);
	return p;
}

static ops_ctx *ctx;

static void one_linear(int M, int K, int N, int post, int bias, int pack)
{
	float *x = rnd((size_t)M * K, 1), *w = rnd((size_t)N * K, 0.3f), *b = bias ? rnd(N, 0.5f) : NULL;
	float *res = rnd((size_t)M * N, 1);
	float *y0 = malloc(sizeof(float) * M * N), *y1 = malloc(sizeof(float) * M * N), *y2 = malloc(sizeof(float) * M * N);
	memcpy(y0, res, sizeof(float) * M * N);
	memcpy(y1, res, sizeof(float) * M * N);
	memcpy(y2, res, sizeof(float) * M * N);
	linear_forward_ref(y0, x, w, b, M, K, N, post);
	ops_ctx_set_pack_f32(ctx, pack);
	CHECK_OK(linear_forward(ctx, y1, OPS_F32, x, OPS_F32, w, b, M, K, N, post));
	ops_ctx_set_pack_f32(ctx, 0);
	double d = maxdiff(y0, y1, (size_t)M * N);
	CHECKF(d < 2e-5, "linear f32 M%d K%d N%d post%d bias%d pack%d: max diff %g", M, K, N, post, bias, pack, d);
	/* bf16: inputs and weights rounded to bf16 (rel 2^-9 each) */
	uint16_t *xb = tobf(x, (size_t)M * K);
	CHECK_OK(linear_forward(ctx, y2, OPS_F32, xb, OPS_BF16, w, b, M, K, N, post));
	d = maxdiff(y0, y2, (size_t)M * N);
	double tol = 0.3 * sqrt((double)K) * 2 * 0.0039 + 1e-3;
	CHECKF(d < tol, "linear bf16 M%d K%d N%d post%d: max diff %g (tol %g)", M, K, N, post, d, tol);
	ops_ctx_weights_changed(ctx, w);  /* the allocator may hand out w's address again */
	free(x); free(w); free(b); free(res); free(y0); free(y1); free(y2); free(xb);
}

static void test_linear(void)
{
	int shapes[][3] = { { 1, 1, 1 }, { 37, 45, 29 }, { 64, 128, 96 }, { 101, 33, 257 }, { 7, 300, 5 } };
	int posts[] = { 0, OPS_POST_GELU, OPS_POST_RELU, OPS_POST_ADD, OPS_POST_GELU | OPS_POST_ADD };
	for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
		for (size_t p = 0; p < sizeof posts / sizeof *posts; p++) {
			one_linear(shapes[s][0], shapes[s][1], shapes[s][2], posts[p], 1, 1);
			one_linear(shapes[s][0], shapes[s][1], shapes[s][2], posts[p], 0, 0);
		}
}

/* A changed weight is re-packed after ops_ctx_weights_changed(), and only then. */
static void test_linear_repack(void)
{
	int M = 19, K = 23, N = 11;
	float *x = rnd((size_t)M * K, 1), *w = rnd((size_t)N * K, 0.3f);
	ops_ctx_set_pack_f32(ctx, 1);
	float *y0 = malloc(sizeof(float) * M * N), *y1 = malloc(sizeof(float) * M * N);
	CHECK_OK(linear_forward(ctx, y1, OPS_F32, x, OPS_F32, w, NULL, M, K, N, 0));
	for (int i = 0; i < N * K; i++)
		w[i] *= -2.0f;
	linear_forward_ref(y0, x, w, NULL, M, K, N, 0);
	CHECK_OK(linear_forward(ctx, y1, OPS_F32, x, OPS_F32, w, NULL, M, K, N, 0));
	CHECK(maxdiff(y0, y1, (size_t)M * N) > 1e-3);   /* still the stale packed copy */
	ops_ctx_weights_changed(ctx, w);
	CHECK_OK(linear_forward(ctx, y1, OPS_F32, x, OPS_F32, w, NULL, M, K, N, 0));
	CHECK(maxdiff(y0, y1, (size_t)M * N) < 2e-5);
	ops_ctx_set_pack_f32(ctx, 0);
	ops_ctx_weights_changed(ctx, w);
	free(x); free(w); free(y0); free(y1);
}

static void one_conv(int B, int T, int Cin, int Cout, int K, int s, int g, int pl, int pr, int post)
{
	int To = conv1d_out_len(T, K, s, pl, pr);
	size_t ny = (size_t)B * To * Cout;
	float *x = rnd((size_t)B * T * Cin, 1), *w = rnd((size_t)Cout * (Cin / g) * K, 0.3f), *b = rnd(Cout, 0.5f);
	float *y0 = rnd(ny, 1), *y1 = malloc(sizeof(float) * ny), *y2 = malloc(sizeof(float) * ny);
	memcpy(y1, y0, sizeof(float) * ny);
	memcpy(y2, y0, sizeof(float) * ny);
	conv1d_forward_ref(y0, x, w, b, B, T, Cin, Cout, K, s, g, pl, pr, post);
	CHECK_OK(conv1d_forward(ctx, y1, OPS_F32, x, OPS_F32, w, b, B, T, Cin, Cout, K, s, g, pl, pr, post));
	double d = maxdiff(y0, y1, ny);
	CHECKF(d < 2e-5, "conv f32 B%d T%d %d->%d K%d s%d g%d: max diff %g", B, T, Cin, Cout, K, s, g, d);
	uint16_t *xb = tobf(x, (size_t)B * T * Cin);
	CHECK_OK(conv1d_forward(ctx, y2, OPS_F32, xb, OPS_BF16, w, b, B, T, Cin, Cout, K, s, g, pl, pr, post));
	d = maxdiff(y0, y2, ny);
	double tol = 0.3 * sqrt((double)Cin / g * K) * 2 * 0.0039 + 1e-3;
	CHECKF(d < tol, "conv bf16 B%d T%d %d->%d K%d: max diff %g (tol %g)", B, T, Cin, Cout, K, d, tol);
	ops_ctx_weights_changed(ctx, w);
	free(x); free(w); free(b); free(y0); free(y1); free(y2); free(xb);
}

static void test_conv1d(void)
{
	CHECK_EQ_INT(conv1d_out_len(16000, 10, 5, 0, 0), 3199);
	CHECK_EQ_INT(conv1d_out_len(9, 10, 5, 0, 0), 0);
	one_conv(2, 1001, 1, 24, 10, 5, 1, 0, 0, 0);            /* first layer on raw audio */
	one_conv(3, 257, 13, 17, 3, 2, 1, 0, 0, OPS_POST_GELU);
	one_conv(1, 64, 16, 16, 2, 2, 1, 0, 0, OPS_POST_ADD);
	one_conv(2, 37, 32, 32, 16, 1, 4, 8, 7, 0);             /* positional conv, even K */
	one_conv(2, 40, 24, 24, 5, 1, 3, 2, 2, OPS_POST_RELU);  /* odd K */
}

static void test_norms_and_activations(void)
{
	int N = 77, C = 131;
	size_t n = (size_t)N * C;
	float *x = rnd(n, 3), *g = rnd(C, 1), *b = rnd(C, 1);
	for (size_t i = 0; i < n; i++)
		x[i] += 5.0f;  /* a large mean tests the two-pass variance */
	float *y0 = malloc(sizeof(float) * n), *y1 = malloc(sizeof(float) * n);
	float m0[77], r0[77], m1[77], r1[77];
	layernorm_forward_ref(y0, m0, r0, x, g, b, N, C, 1e-5f);
	layernorm_forward(y1, OPS_F32, m1, r1, x, g, b, N, C, 1e-5f);
	CHECK(maxdiff(y0, y1, n) < 1e-5);
	CHECK(maxdiff(m0, m1, N) < 1e-5);
	CHECK(maxdiff(r0, r1, N) < 1e-5);
	uint16_t *yb = malloc(2 * n);
	layernorm_forward(yb, OPS_BF16, NULL, NULL, x, g, b, N, C, 1e-5f);
	ops_from_bf16(y1, yb, n);
	CHECK(maxdiff(y0, y1, n) < 0.05);

	/* group norm: B=2, T=N/... over time per channel */
	int B = 3, T = 53, Cg = 19;
	size_t ng = (size_t)B * T * Cg;
	float *xg = rnd(ng, 2), *gm0 = malloc(sizeof(float) * B * Cg), *gr0 = malloc(sizeof(float) * B * Cg);
	float *gm1 = malloc(sizeof(float) * B * Cg), *gr1 = malloc(sizeof(float) * B * Cg);
	float *yg0 = malloc(sizeof(float) * ng), *yg1 = malloc(sizeof(float) * ng);
	groupnorm_forward_ref(yg0, gm0, gr0, xg, g, b, B, T, Cg, 1e-5f);
	groupnorm_forward(yg1, gm1, gr1, xg, g, b, B, T, Cg, 1e-5f);
	CHECK(maxdiff(yg0, yg1, ng) < 1e-5);
	CHECK(maxdiff(gm0, gm1, (size_t)B * Cg) < 1e-6);
	CHECK(maxdiff(gr0, gr1, (size_t)B * Cg) < 1e-5);

	/* GELU over a wide range, ReLU, log-softmax */
	for (size_t i = 0; i < n; i++)
		x[i] = (float)((double)i / n * 24.0 - 12.0);
	gelu_forward_ref(y0, x, n);
	gelu_forward(y1, OPS_F32, x, n);
	CHECKF(maxdiff(y0, y1, n) < 2e-6, "gelu max diff %g", maxdiff(y0, y1, n));
	gelu_forward(yb, OPS_BF16, x, n);
	ops_from_bf16(y1, yb, n);
	CHECK(maxdiff(y0, y1, n) < 0.05);
	relu_forward_ref(y0, x, n);
	relu_forward(y1, x, n);
	CHECK(maxdiff(y0, y1, n) == 0);
	float *xl = rnd(n, 10);
	logsoftmax_forward_ref(y0, xl, N, C);
	logsoftmax_forward(y1, xl, N, C);
	CHECK(maxdiff(y0, y1, n) < 1e-5);
	double s = 0;
	for (int c = 0; c < C; c++)
		s += exp(y1[c]);
	CHECK_NEAR(s, 1.0, 1e-5);
	free(x); free(g); free(b); free(y0); free(y1); free(yb); free(xg); free(gm0); free(gr0);
	free(gm1); free(gr1); free(yg0); free(yg1); free(xl);
}

static void one_attention(int B, int T, int C, int NH, int ld, int masked)
{
	size_t nq = (size_t)B * T * ld, no = (size_t)B * T * C, np = (size_t)B * NH * T * T;
	float *qkv = rnd(nq, 2);
	const float *q = qkv, *k = qkv + (ld >= 3 * C ? C : 0), *v = qkv + (ld >= 3 * C ? 2 * C : 0);
	int *len = malloc(sizeof(int) * B);
	for (int b = 0; b < B; b++)
		len[b] = masked ? T - (b * 7) % T : T;
	float *o0 = malloc(sizeof(float) * no), *o1 = malloc(sizeof(float) * no), *o2 = malloc(sizeof(float) * no);
	float *p0 = malloc(sizeof(float) * np), *p1 = malloc(sizeof(float) * np);
	attention_forward_ref(o0, p0, q, k, v, ld, masked ? len : NULL, B, T, C, NH);
	CHECK_OK(attention_forward(ctx, o1, OPS_F32, p1, q, k, v, OPS_F32, ld, masked ? len : NULL, B, T, C, NH));
	CHECKF(maxdiff(o0, o1, no) < 2e-5, "attention f32 B%d T%d C%d NH%d: %g", B, T, C, NH, maxdiff(o0, o1, no));
	CHECKF(maxdiff(p0, p1, np) < 2e-6, "attention probs: %g", maxdiff(p0, p1, np));
	if (masked)  /* a padded key gets exactly zero weight */
		CHECK(B < 2 || len[1] == T || p1[(size_t)NH * T * T + len[1]] == 0.0f);
	uint16_t *qb = tobf(qkv, nq);
	const uint16_t *kb = qb + (k - qkv), *vb = qb + (v - qkv);
	CHECK_OK(attention_forward(ctx, o2, OPS_F32, NULL, qb, kb, vb, OPS_BF16, ld, masked ? len : NULL, B, T, C, NH));
	CHECKF(maxdiff(o0, o2, no) < 0.1, "attention bf16: %g", maxdiff(o0, o2, no));
	free(qkv); free(len); free(o0); free(o1); free(o2); free(p0); free(p1); free(qb);
}

static void test_attention(void)
{
	one_attention(2, 49, 32, 4, 32, 1);
	one_attention(3, 37, 24, 3, 72, 1);     /* fused QKV buffer (ld = 3C), odd T */
	one_attention(1, 5, 8, 2, 8, 0);
	one_attention(2, 130, 64, 4, 64, 0);
}

static void one_posconv(int B, int T, int C, int K, int G)
{
	size_t n = (size_t)B * T * C;
	float *x = rnd(n, 1), *w = rnd((size_t)C * (C / G) * K, 0.1f), *b = rnd(C, 0.3f);
	float *y0 = malloc(sizeof(float) * n), *y1 = malloc(sizeof(float) * n);
	float *p0 = malloc(sizeof(float) * n), *p1 = malloc(sizeof(float) * n);
	posconv_forward_ref(y0, p0, x, w, b, B, T, C, K, G);
	CHECK_OK(posconv_forward(ctx, y1, p1, x, NULL, OPS_F32, w, b, B, T, C, K, G));
	CHECKF(maxdiff(y0, y1, n) < 2e-5, "posconv K%d: %g", K, maxdiff(y0, y1, n));
	CHECK(maxdiff(p0, p1, n) < 2e-5);
	uint16_t *xb = tobf(x, n);
	memcpy(y1, x, sizeof(float) * n);   /* in place: y == x */
	CHECK_OK(posconv_forward(ctx, y1, NULL, y1, xb, OPS_BF16, w, b, B, T, C, K, G));
	CHECK(maxdiff(y0, y1, n) < 0.05);
	ops_ctx_weights_changed(ctx, w);
	free(x); free(w); free(b); free(y0); free(y1); free(p0); free(p1); free(xb);
}

static void test_posconv(void)
{
	one_posconv(2, 49, 32, 16, 4);   /* even kernel: last frame dropped */
	one_posconv(1, 23, 12, 5, 3);    /* odd kernel */
	one_posconv(2, 3, 8, 8, 2);      /* fewer frames than the kernel */
}

static void test_bf16_convert(void)
{
	CHECK_EQ_INT(ops_f32_to_bf16(1.0f), 0x3f80);
	CHECK_EQ_INT(ops_f32_to_bf16(-2.0f), 0xc000);
	CHECK(ops_bf16_to_f32(ops_f32_to_bf16(1.00390625f)) == 1.0f);     /* tie -> even */
	CHECK(ops_bf16_to_f32(ops_f32_to_bf16(1.01171875f)) == 1.015625f); /* tie -> even (up) */
	CHECK(isnan(ops_bf16_to_f32(ops_f32_to_bf16(NAN))));
	CHECK(isinf(ops_bf16_to_f32(ops_f32_to_bf16(INFINITY))));
}


/* More shapes than the primitive cache holds: old primitives are evicted
 * and re-created on demand, results stay right. */
static void test_primitive_cache_eviction(void)
{
	int K = 8, N = 5;
	float *w = rnd((size_t)N * K, 0.5f), *x = rnd((size_t)450 * K, 1);
	float *y0 = malloc(sizeof(float) * 450 * N), *y1 = malloc(sizeof(float) * 450 * N);
	ops_ctx_set_cache_max(ctx, 8);
	for (int pass = 0; pass < 2; pass++)
		for (int M = 1; M <= 450; M += (pass ? 37 : 23)) {
			linear_forward_ref(y0, x, w, NULL, M, K, N, 0);
			CHECK_OK(linear_forward(ctx, y1, OPS_F32, x, OPS_F32, w, NULL, M, K, N, 0));
			if (maxdiff(y0, y1, (size_t)M * N) > 2e-5) {
				CHECKF(0, "M=%d pass %d", M, pass);
				break;
			}
		}
	ops_ctx_set_cache_max(ctx, 384);
	ops_ctx_weights_changed(ctx, w);
	free(w); free(x); free(y0); free(y1);
}


static void test_matmul(void)
{
	int shapes[][3] = { { 13, 7, 29 }, { 64, 96, 128 }, { 1, 33, 5 } };
	for (size_t si = 0; si < 3; si++)
		for (int ta = 0; ta < 2; ta++)
			for (int tb = 0; tb < 2; tb++)
				for (int acc = 0; acc < 2; acc++) {
					int M = shapes[si][0], N = shapes[si][1], K = shapes[si][2];
					float *A = rnd((size_t)M * K, 1), *Bm = rnd((size_t)K * N, 1);
					float *c0 = rnd((size_t)M * N, 1), *c1 = malloc(sizeof(float) * M * N);
					float *c2 = malloc(sizeof(float) * M * N);
					memcpy(c1, c0, sizeof(float) * M * N);
					memcpy(c2, c0, sizeof(float) * M * N);
					matmul_forward_ref(c0, A, ta, Bm, tb, M, N, K, acc);
					CHECK_OK(matmul_forward(ctx, c1, OPS_F32, A, ta, Bm, tb, OPS_F32, M, N, K, acc));
					CHECKF(maxdiff(c0, c1, (size_t)M * N) < 2e-5, "matmul %dx%dx%d ta%d tb%d acc%d: %g",
					       M, N, K, ta, tb, acc, maxdiff(c0, c1, (size_t)M * N));
					uint16_t *Ab = tobf(A, (size_t)M * K), *Bb = tobf(Bm, (size_t)K * N);
					CHECK_OK(matmul_forward(ctx, c2, OPS_F32, Ab, ta, Bb, tb, OPS_BF16, M, N, K, acc));
					CHECK(maxdiff(c0, c2, (size_t)M * N) < 0.01 * sqrt((double)K) + 1e-3);
					free(A); free(Bm); free(c0); free(c1); free(c2); free(Ab); free(Bb);
				}
}

int main(void)
{
	if (ops_ctx_create(&ctx)) {
		fprintf(stderr, "ops_ctx_create: %s\n", err_msg());
		return 1;
	}
	RUN(test_bf16_convert);
	RUN(test_linear);
	RUN(test_linear_repack);
	RUN(test_matmul);
	RUN(test_conv1d);
	RUN(test_norms_and_activations);
	RUN(test_attention);
	RUN(test_posconv);
	RUN(test_primitive_cache_eviction);
	ops_ctx_free(ctx);
	return check_summary();
}
