/*
 * test_conv1d_gemm.c — conv1d_gemm_backward against the plain-C reference
 * conv1d_backward_ref (itself checked against finite differences in
 * test_ops_backward.c) on the shapes that train: the feature encoder's
 * strided layers (Cin 1, K 10, stride 5; K 3 / 2, stride 2), the grouped
 * padded positional conv (even and odd K), batches with B > 1, gradients
 * accumulating onto non-zero buffers, and NULL outputs; and the
 * positional-conv wrapper against posconv_backward_ref.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model/conv1d_gemm.h"
#include "base/err.h"
#include "model/ops_backward.h"

static uint64_t rng = 12345;
static float rnd1(void)
{
	rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return (float)((rng >> 40) / (double)(1 << 24)) * 2.0f - 1.0f;
}
static float *rnd(size_t n)
{
	float *p = malloc(sizeof(float) * (n ? n : 1));
	for (size_t i = 0; i < n; i++)
		p[i] = rnd1();
	return p;
}
static float *fdup(const float *a, size_t n)
{
	float *p = malloc(sizeof(float) * (n ? n : 1));
	memcpy(p, a, sizeof(float) * n);
	return p;
}
/* max |a-b| / max(|b|) */
static double rel(const float *a, const float *b, size_t n)
{
	double d = 0, m = 1e-30;
	for (size_t i = 0; i < n; i++) {
		d = fmax(d, fabs((double)a[i] - b[i]));
		m = fmax(m, fabs(b[i]));
	}
	return d / m;
}

static void one(ops_ctx *ctx, int B, int T, int Cin, int Cout, int K, int S, int G, int pl, int pr)
{
	int To = conv1d_out_len(T, K, S, pl, pr);
	size_t nx = (size_t)B * T * Cin, nw = (size_t)Cout * (Cin / G) * K, ny = (size_t)B * To * Cout;
	float *x = rnd(nx), *w = rnd(nw), *dy = rnd(ny);
	/* start from non-zero gradients: both must accumulate */
	float *dx0 = rnd(nx), *dw0 = rnd(nw), *db0 = rnd(Cout);
	float *dx1 = fdup(dx0, nx), *dw1 = fdup(dw0, nw), *db1 = fdup(db0, Cout);
	float *dx2 = fdup(dx0, nx), *dw2 = fdup(dw0, nw), *db2 = fdup(db0, Cout);
	conv1d_backward_ref(dx1, dw1, db1, dy, x, w, B, T, Cin, Cout, K, S, G, pl, pr);
	CHECK_OK(conv1d_gemm_backward(ctx, dx2, dw2, db2, dy, x, w, B, T, Cin, Cout, K, S, G, pl, pr));
	CHECKF(rel(dx2, dx1, nx) < 1e-5, "B%d T%d Cin%d Cout%d K%d S%d G%d dx %.3g", B, T, Cin, Cout, K, S, G,
	       rel(dx2, dx1, nx));
	CHECKF(rel(dw2, dw1, nw) < 1e-5, "K%d S%d G%d dw %.3g", K, S, G, rel(dw2, dw1, nw));
	CHECKF(rel(db2, db1, Cout) < 1e-5, "K%d S%d G%d db %.3g", K, S, G, rel(db2, db1, Cout));
	/* the accumulated part really is there (not overwritten) */
	CHECK(To <= 0 ? rel(dw2, dw0, nw) == 0 : rel(dw2, dw0, nw) > 1e-3);
	/* NULL outputs: the others unchanged, no crash */
	float *dw3 = fdup(dw0, nw);
	CHECK_OK(conv1d_gemm_backward(ctx, NULL, dw3, NULL, dy, x, w, B, T, Cin, Cout, K, S, G, pl, pr));
	CHECK(rel(dw3, dw1, nw) < 1e-5);
	float *dx3 = fdup(dx0, nx);
	CHECK_OK(conv1d_gemm_backward(ctx, dx3, NULL, NULL, dy, x, w, B, T, Cin, Cout, K, S, G, pl, pr));
	CHECK(rel(dx3, dx1, nx) < 1e-5);
	free(x); free(w); free(dy); free(dx0); free(dw0); free(db0); free(dx1); free(dw1); free(db1);
	free(dx2); free(dw2); free(db2); free(dw3); free(dx3);
}

static void test_shapes(void)
{
	ops_ctx *ctx = NULL;
	CHECK_OK(ops_ctx_create(&ctx));
	if (!ctx)
		return;
	one(ctx, 2, 413, 1, 16, 10, 5, 1, 0, 0);     /* feature encoder layer 0 */
	one(ctx, 3, 81, 16, 24, 3, 2, 1, 0, 0);      /* strided K 3 */
	one(ctx, 1, 40, 8, 8, 2, 2, 1, 0, 0);        /* strided K 2 */
	one(ctx, 2, 37, 12, 12, 16, 1, 4, 8, 7);     /* positional conv, even K */
	one(ctx, 2, 29, 12, 12, 5, 1, 3, 2, 2);      /* odd K, grouped */
	one(ctx, 1, 5, 4, 4, 10, 5, 1, 0, 0);        /* no output frame: a no-op */
	ops_ctx_free(ctx);
}

/* the positional-conv wrapper against its reference */
static void pos_one(ops_ctx *ctx, int B, int T, int C, int K, int G)
{
	size_t n = (size_t)B * T * C, nw = (size_t)C * (C / G) * K;
	float *x = rnd(n), *pre = rnd(n), *w = rnd(nw), *dy = rnd(n);
	float *dx1 = rnd(n), *dw1 = rnd(nw), *db1 = rnd(C);
	float *dx2 = fdup(dx1, n), *dw2 = fdup(dw1, nw), *db2 = fdup(db1, C);
	posconv_backward_ref(dx1, dw1, db1, dy, x, pre, w, B, T, C, K, G);
	CHECK_OK(conv1d_gemm_posconv_backward(ctx, dx2, dw2, db2, dy, x, pre, w, B, T, C, K, G));
	CHECKF(rel(dx2, dx1, n) < 1e-5, "posconv K%d dx %.3g", K, rel(dx2, dx1, n));
	CHECKF(rel(dw2, dw1, nw) < 1e-5, "posconv K%d dw %.3g", K, rel(dw2, dw1, nw));
	CHECKF(rel(db2, db1, C) < 1e-5, "posconv K%d db %.3g", K, rel(db2, db1, C));
	free(x); free(pre); free(w); free(dy); free(dx1); free(dw1); free(db1); free(dx2); free(dw2); free(db2);
}

static void test_posconv(void)
{
	ops_ctx *ctx = NULL;
	CHECK_OK(ops_ctx_create(&ctx));
	if (!ctx)
		return;
	pos_one(ctx, 2, 31, 16, 16, 4);
	pos_one(ctx, 1, 20, 12, 7, 3);
	ops_ctx_free(ctx);
}

static void test_bad_shape(void)
{
	float z[8] = { 0 };
	CHECK(conv1d_gemm_backward(NULL, z, z, z, z, z, z, 1, 4, 3, 4, 2, 1, 2, 0, 0) == ACC_EINVAL);
}

int main(void)
{
	RUN(test_shapes);
	RUN(test_posconv);
	RUN(test_bad_shape);
	return check_summary();
}
