/*
 * test_ops_backward.c — every backward op of ops_backward.h checked two ways:
 *   1. against central finite differences of the plain-C forward reference
 *      (ops_ref.c) on the scalar loss  L = sum(y * r)  for a random r, so
 *      dL/dy = r; in double where the forward is cheap to re-run;
 *   2. the fast version against the reference (same inputs, 1e-5 relative).
 * Also checks the accumulate (+=) convention and NULL gradient outputs.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model/conv1d_gemm.h"
#include "base/err.h"
#include "model/ops.h"
#include "model/ops_backward.h"
#include "testrand.h"


/* max |a-b| / max(max|b|, floor) */
static double rel_err(const float *a, const float *b, size_t n, double floor)
{
	double mx = floor, d = 0;
	for (size_t i = 0; i < n; i++) {
		mx = fmax(mx, fabs(b[i]));
		d = fmax(d, fabs((double)a[i] - b[i]));
	}
	return d / mx;
}

/* Forward closure: compute the loss sum(y*r) for the current inputs. */
typedef double (*loss_fn)(void *ctx);

/* Finite-difference gradient of loss wrt every element of p[n]. */
static void fd_grad(float *g, float *p, size_t n, loss_fn f, void *ctx, float h)
{
	for (size_t i = 0; i < n; i++) {
		float s = p[i];
		p[i] = s + h;
		double lp = f(ctx);
		p[i] = s - h;
		double lm = f(ctx);
		p[i] = s;
		g[i] = (float)((lp - lm) / ((double)(s + h) - (double)(s - h)));
	}
}

static double dot(const float *a, const float *b, size_t n)
{
	double s = 0;
	for (size_t i = 0; i < n; i++)
		s += (double)a[i] * b[i];
	return s;
}

#define FD_TOL 3e-3

/* ---- linear ---- */
struct lin { float *x, *w, *b, *y, *r; int M, K, N; };
static double lin_loss(void *c)
{
	struct lin *s = c;
	linear_forward_ref(s->y, s->x, s->w, s->b, s->M, s->K, s->N, 0);
	return dot(s->y, s->r, (size_t)s->M * s->N);
}
static void test_linear(void)
{
	struct lin s = { .M = 7, .K = 5, .N = 6 };
	s.x = rnd(35, 1); s.w = rnd(30, 1); s.b = rnd(6, 1); s.y = zeros(42); s.r = rnd(42, 1);
	float *dx = zeros(35), *dw = zeros(30), *db = zeros(6), *fd = zeros(35);
	linear_backward_ref(dx, dw, db, s.r, s.x, s.w, s.M, s.K, s.N);
	fd_grad(fd, s.x, 35, lin_loss, &s, 1e-2f);
	CHECKF(rel_err(dx, fd, 35, 1e-3) < FD_TOL, "dx fd %g", rel_err(dx, fd, 35, 1e-3));
	fd_grad(fd, s.w, 30, lin_loss, &s, 1e-2f);
	CHECKF(rel_err(dw, fd, 30, 1e-3) < FD_TOL, "dw fd %g", rel_err(dw, fd, 30, 1e-3));
	fd_grad(fd, s.b, 6, lin_loss, &s, 1e-2f);
	CHECKF(rel_err(db, fd, 6, 1e-3) < FD_TOL, "db fd %g", rel_err(db, fd, 6, 1e-3));

	/* fast vs ref at a bigger shape, accumulating onto nonzero buffers */
	int M = 67, K = 48, N = 33;
	float *x = rnd((size_t)M * K, 1), *w = rnd((size_t)N * K, 1), *dy = rnd((size_t)M * N, 1);
	float *dx1 = rnd((size_t)M * K, 1), *dw1 = rnd((size_t)N * K, 1), *db1 = rnd(N, 1);
	float *dx2 = malloc(sizeof(float) * M * K), *dw2 = malloc(sizeof(float) * N * K), *db2 = malloc(sizeof(float) * N);
	memcpy(dx2, dx1, sizeof(float) * M * K); memcpy(dw2, dw1, sizeof(float) * N * K); memcpy(db2, db1, sizeof(float) * N);
	ops_ctx *ctx = NULL;
	CHECK_OK(ops_ctx_create(&ctx));
	linear_backward_ref(dx1, dw1, db1, dy, x, w, M, K, N);
	CHECK_OK(linear_backward(ctx, dx2, dw2, db2, dy, x, w, M, K, N));
	CHECK(rel_err(dx2, dx1, (size_t)M * K, 1) < 1e-5);
	CHECK(rel_err(dw2, dw1, (size_t)N * K, 1) < 1e-5);
	CHECK(rel_err(db2, db1, N, 1) < 1e-5);
	/* NULL outputs are skipped */
	CHECK_OK(linear_backward(ctx, NULL, dw2, NULL, dy, x, w, M, K, N));
	linear_backward_ref(NULL, dw1, NULL, dy, x, w, M, K, N);
	CHECK(rel_err(dw2, dw1, (size_t)N * K, 1) < 1e-5);
	ops_ctx_free(ctx);
	free(x); free(w); free(dy); free(dx1); free(dw1); free(db1); free(dx2); free(dw2); free(db2);
	free(s.x); free(s.w); free(s.b); free(s.y); free(s.r); free(dx); free(dw); free(db); free(fd);
}

/* ---- layer norm ---- */
struct ln { float *x, *g, *b, *y, *r; int N, C; };
static double ln_loss(void *c)
{
	struct ln *s = c;
	layernorm_forward_ref(s->y, NULL, NULL, s->x, s->g, s->b, s->N, s->C, 1e-5f);
	return dot(s->y, s->r, (size_t)s->N * s->C);
}
static void test_layernorm(void)
{
	struct ln s = { .N = 5, .C = 9 };
	size_t n = 45;
	s.x = rnd(n, 2); s.g = rnd(9, 1); s.b = rnd(9, 1); s.y = zeros(n); s.r = rnd(n, 1);
	float *mean = zeros(5), *rstd = zeros(5);
	layernorm_forward_ref(s.y, mean, rstd, s.x, s.g, s.b, s.N, s.C, 1e-5f);
	float *dx = zeros(n), *dg = zeros(9), *db = zeros(9), *fd = zeros(n);
	layernorm_backward_ref(dx, dg, db, s.r, s.x, mean, rstd, s.g, s.N, s.C);
	fd_grad(fd, s.x, n, ln_loss, &s, 1e-2f);
	CHECKF(rel_err(dx, fd, n, 1e-3) < FD_TOL, "dx fd %g", rel_err(dx, fd, n, 1e-3));
	fd_grad(fd, s.g, 9, ln_loss, &s, 1e-2f);
	CHECKF(rel_err(dg, fd, 9, 1e-3) < FD_TOL, "dg fd %g", rel_err(dg, fd, 9, 1e-3));
	fd_grad(fd, s.b, 9, ln_loss, &s, 1e-2f);
	CHECKF(rel_err(db, fd, 9, 1e-3) < FD_TOL, "db fd %g", rel_err(db, fd, 9, 1e-3));
	float *dx2 = zeros(n), *dg2 = zeros(9), *db2 = zeros(9);
	layernorm_backward(dx2, dg2, db2, s.r, s.x, mean, rstd, s.g, s.N, s.C);
	CHECK(rel_err(dx2, dx, n, 1) < 1e-5);
	CHECK(rel_err(dg2, dg, 9, 1) < 1e-5);
	CHECK(rel_err(db2, db, 9, 1) < 1e-5);
	free(s.x); free(s.g); free(s.b); free(s.y); free(s.r); free(mean); free(rstd);
	free(dx); free(dg); free(db); free(fd); free(dx2); free(dg2); free(db2);
}

/* ---- group norm ---- */
struct gn { float *x, *g, *b, *y, *r; int B, T, C; };
static double gn_loss(void *c)
{
	struct gn *s = c;
	groupnorm_forward_ref(s->y, NULL, NULL, s->x, s->g, s->b, s->B, s->T, s->C, 1e-5f);
	return dot(s->y, s->r, (size_t)s->B * s->T * s->C);
}
static void test_groupnorm(void)
{
	struct gn s = { .B = 2, .T = 7, .C = 4 };
	size_t n = 56;
	s.x = rnd(n, 2); s.g = rnd(4, 1); s.b = rnd(4, 1); s.y = zeros(n); s.r = rnd(n, 1);
	float *mean = zeros(8), *rstd = zeros(8);
	groupnorm_forward_ref(s.y, mean, rstd, s.x, s.g, s.b, s.B, s.T, s.C, 1e-5f);
	float *dx = zeros(n), *dg = zeros(4), *db = zeros(4), *fd = zeros(n);
	groupnorm_backward_ref(dx, dg, db, s.r, s.x, mean, rstd, s.g, s.B, s.T, s.C);
	fd_grad(fd, s.x, n, gn_loss, &s, 1e-2f);
	CHECKF(rel_err(dx, fd, n, 1e-3) < FD_TOL, "dx fd %g", rel_err(dx, fd, n, 1e-3));
	fd_grad(fd, s.g, 4, gn_loss, &s, 1e-2f);
	CHECK(rel_err(dg, fd, 4, 1e-3) < FD_TOL);
	fd_grad(fd, s.b, 4, gn_loss, &s, 1e-2f);
	CHECK(rel_err(db, fd, 4, 1e-3) < FD_TOL);
	float *dx2 = zeros(n), *dg2 = zeros(4), *db2 = zeros(4);
	groupnorm_backward(dx2, dg2, db2, s.r, s.x, mean, rstd, s.g, s.B, s.T, s.C);
	CHECK(rel_err(dx2, dx, n, 1) < 1e-5);
	CHECK(rel_err(dg2, dg, 4, 1) < 1e-5);
	CHECK(rel_err(db2, db, 4, 1) < 1e-5);
	free(s.x); free(s.g); free(s.b); free(s.y); free(s.r); free(mean); free(rstd);
	free(dx); free(dg); free(db); free(fd); free(dx2); free(dg2); free(db2);
}

/* ---- elementwise: GELU, ReLU ---- */
struct ew { float *x, *y, *r; size_t n; int relu; };
static double ew_loss(void *c)
{
	struct ew *s = c;
	if (s->relu)
		relu_forward_ref(s->y, s->x, s->n);
	else
		gelu_forward_ref(s->y, s->x, s->n);
	return dot(s->y, s->r, s->n);
}
static void test_gelu_relu(void)
{
	for (int relu = 0; relu < 2; relu++) {
		struct ew s = { .n = 64, .relu = relu };
		s.x = rnd(64, 3); s.y = zeros(64); s.r = rnd(64, 1);
		for (size_t i = 0; i < 64; i++)   /* keep ReLU away from its kink */
			if (relu && fabsf(s.x[i]) < 0.05f)
				s.x[i] = 0.5f;
		float *dx = zeros(64), *dx2 = zeros(64), *fd = zeros(64);
		if (relu) {
			relu_backward_ref(dx, s.r, s.x, 64);
			relu_backward(dx2, s.r, s.x, 64);
		} else {
			gelu_backward_ref(dx, s.r, s.x, 64);
			gelu_backward(dx2, s.r, s.x, 64);
		}
		fd_grad(fd, s.x, 64, ew_loss, &s, 1e-2f);
		CHECKF(rel_err(dx, fd, 64, 1e-3) < FD_TOL, "%s fd %g", relu ? "relu" : "gelu", rel_err(dx, fd, 64, 1e-3));
		CHECK(rel_err(dx2, dx, 64, 1) < 1e-5);
		free(s.x); free(s.y); free(s.r); free(dx); free(dx2); free(fd);
	}
}

/* ---- log-softmax ---- */
struct lsm { float *x, *y, *r; int N, V; };
static double lsm_loss(void *c)
{
	struct lsm *s = c;
	logsoftmax_forward_ref(s->y, s->x, s->N, s->V);
	return dot(s->y, s->r, (size_t)s->N * s->V);
}
static void test_logsoftmax(void)
{
	struct lsm s = { .N = 4, .V = 11 };
	size_t n = 44;
	s.x = rnd(n, 3); s.y = zeros(n); s.r = rnd(n, 1);
	logsoftmax_forward_ref(s.y, s.x, s.N, s.V);
	float *dx = zeros(n), *dx2 = zeros(n), *fd = zeros(n);
	logsoftmax_backward_ref(dx, s.r, s.y, s.N, s.V);
	logsoftmax_backward(dx2, s.r, s.y, s.N, s.V);
	fd_grad(fd, s.x, n, lsm_loss, &s, 1e-2f);
	CHECKF(rel_err(dx, fd, n, 1e-3) < FD_TOL, "fd %g", rel_err(dx, fd, n, 1e-3));
	CHECK(rel_err(dx2, dx, n, 1) < 1e-5);
	free(s.x); free(s.y); free(s.r); free(dx); free(dx2); free(fd);
}

/* ---- attention (fused QKV buffer, ld = 3C, with a key mask) ---- */
struct att { float *qkv, *out, *probs, *r; int kv[2]; int B, T, C, NH; };
static double att_loss(void *c)
{
	struct att *s = c;
	attention_forward_ref(s->out, s->probs, s->qkv, s->qkv + s->C, s->qkv + 2 * s->C, 3 * s->C,
	                      s->kv, s->B, s->T, s->C, s->NH);
	/* only valid query rows enter the loss, as in CTC */
	double l = 0;
	for (int b = 0; b < s->B; b++)
		for (int t = 0; t < s->kv[b]; t++)
			for (int c2 = 0; c2 < s->C; c2++) {
				size_t i = ((size_t)b * s->T + t) * s->C + c2;
				l += (double)s->out[i] * s->r[i];
			}
	return l;
}
static void test_attention(void)
{
	struct att s = { .kv = { 6, 4 }, .B = 2, .T = 6, .C = 8, .NH = 2 };
	size_t n = (size_t)s.B * s.T * s.C;
	s.qkv = rnd(3 * n, 1.5f); s.out = zeros(n); s.probs = zeros((size_t)s.B * s.NH * s.T * s.T);
	s.r = rnd(n, 1);
	for (int t = s.kv[1]; t < s.T; t++)     /* dL/dout is 0 on padded queries */
		memset(s.r + ((size_t)1 * s.T + t) * s.C, 0, sizeof(float) * s.C);
	att_loss(&s);
	float *d = zeros(3 * n), *d2 = zeros(3 * n), *fd = zeros(3 * n);
	attention_backward_ref(d, d + s.C, d + 2 * s.C, s.r, s.qkv, s.qkv + s.C, s.qkv + 2 * s.C,
	                       s.probs, 3 * s.C, s.kv, s.B, s.T, s.C, s.NH);
	CHECK_OK(attention_backward(NULL, d2, d2 + s.C, d2 + 2 * s.C, s.r, s.qkv, s.qkv + s.C, s.qkv + 2 * s.C,
	                            s.probs, 3 * s.C, s.kv, s.B, s.T, s.C, s.NH));
	/* the oneDNN path (accumulating onto nonzero gradients) */
	ops_ctx *ctx = NULL;
	CHECK_OK(ops_ctx_create(&ctx));
	float *d3 = rnd(3 * n, 1), *d4 = malloc(sizeof(float) * 3 * n);
	memcpy(d4, d3, sizeof(float) * 3 * n);
	attention_backward_ref(d3, d3 + s.C, d3 + 2 * s.C, s.r, s.qkv, s.qkv + s.C, s.qkv + 2 * s.C,
	                       s.probs, 3 * s.C, s.kv, s.B, s.T, s.C, s.NH);
	CHECK_OK(attention_backward(ctx, d4, d4 + s.C, d4 + 2 * s.C, s.r, s.qkv, s.qkv + s.C, s.qkv + 2 * s.C,
	                            s.probs, 3 * s.C, s.kv, s.B, s.T, s.C, s.NH));
	CHECKF(rel_err(d4, d3, 3 * n, 1) < 1e-5, "onednn attention %g", rel_err(d4, d3, 3 * n, 1));
	ops_ctx_free(ctx);
	free(d3);
	free(d4);
	fd_grad(fd, s.qkv, 3 * n, att_loss, &s, 1e-2f);
	CHECKF(rel_err(d, fd, 3 * n, 1e-3) < FD_TOL, "fd %g", rel_err(d, fd, 3 * n, 1e-3));
	CHECK(rel_err(d2, d, 3 * n, 1) < 1e-5);
	/* masked keys/values get no gradient */
	for (int t = s.kv[1]; t < s.T; t++)
		for (int c2 = s.C; c2 < 3 * s.C; c2++)
			CHECK(d[((size_t)1 * s.T + t) * 3 * s.C + c2] == 0.0f);
	free(s.qkv); free(s.out); free(s.probs); free(s.r); free(d); free(d2); free(fd);
}

/* ---- conv1d (strided, grouped, padded) ---- */
struct cv { float *x, *w, *b, *y, *r; int B, T, Cin, Cout, K, S, G, pl, pr; };
static double cv_loss(void *c)
{
	struct cv *s = c;
	conv1d_forward_ref(s->y, s->x, s->w, s->b, s->B, s->T, s->Cin, s->Cout, s->K, s->S, s->G, s->pl, s->pr, 0);
	int To = conv1d_out_len(s->T, s->K, s->S, s->pl, s->pr);
	return dot(s->y, s->r, (size_t)s->B * To * s->Cout);
}
static void conv_case(int B, int T, int Cin, int Cout, int K, int S, int G, int pl, int pr)
{
	struct cv s = { .B = B, .T = T, .Cin = Cin, .Cout = Cout, .K = K, .S = S, .G = G, .pl = pl, .pr = pr };
	int To = conv1d_out_len(T, K, S, pl, pr);
	size_t nx = (size_t)B * T * Cin, nw = (size_t)Cout * (Cin / G) * K, ny = (size_t)B * To * Cout;
	s.x = rnd(nx, 1); s.w = rnd(nw, 1); s.b = rnd(Cout, 1); s.y = zeros(ny); s.r = rnd(ny, 1);
	float *dx = zeros(nx), *dw = zeros(nw), *db = zeros(Cout), *fd = zeros(nx > nw ? nx : nw);
	float *dx2 = zeros(nx), *dw2 = zeros(nw), *db2 = zeros(Cout);
	conv1d_backward_ref(dx, dw, db, s.r, s.x, s.w, B, T, Cin, Cout, K, S, G, pl, pr);
	ops_ctx *ctx = NULL;
	CHECK_OK(ops_ctx_create(&ctx));
	CHECK_OK(conv1d_gemm_backward(ctx, dx2, dw2, db2, s.r, s.x, s.w, B, T, Cin, Cout, K, S, G, pl, pr));
	ops_ctx_free(ctx);
	fd_grad(fd, s.x, nx, cv_loss, &s, 1e-2f);
	CHECKF(rel_err(dx, fd, nx, 1e-3) < FD_TOL, "conv K%d S%d G%d dx fd %g", K, S, G, rel_err(dx, fd, nx, 1e-3));
	fd_grad(fd, s.w, nw, cv_loss, &s, 1e-2f);
	CHECKF(rel_err(dw, fd, nw, 1e-3) < FD_TOL, "conv dw fd %g", rel_err(dw, fd, nw, 1e-3));
	fd_grad(fd, s.b, Cout, cv_loss, &s, 1e-2f);
	CHECK(rel_err(db, fd, Cout, 1e-3) < FD_TOL);
	CHECK(rel_err(dx2, dx, nx, 1) < 1e-5);
	CHECK(rel_err(dw2, dw, nw, 1) < 1e-5);
	CHECK(rel_err(db2, db, Cout, 1) < 1e-5);
	free(s.x); free(s.w); free(s.b); free(s.y); free(s.r);
	free(dx); free(dw); free(db); free(fd); free(dx2); free(dw2); free(db2);
}
static void test_conv1d(void)
{
	conv_case(2, 23, 1, 4, 10, 5, 1, 0, 0);   /* feature encoder layer 0 shape */
	conv_case(2, 11, 4, 6, 3, 2, 1, 0, 0);
	conv_case(1, 9, 6, 6, 4, 1, 3, 2, 1);     /* grouped, padded (posconv-like) */
}

/* ---- positional conv ---- */
struct pc { float *x, *w, *b, *y, *pre, *r; int B, T, C, K, G; };
static double pc_loss(void *c)
{
	struct pc *s = c;
	posconv_forward_ref(s->y, s->pre, s->x, s->w, s->b, s->B, s->T, s->C, s->K, s->G);
	return dot(s->y, s->r, (size_t)s->B * s->T * s->C);
}
static void test_posconv(void)
{
	for (int K = 4; K <= 5; K++) {
		struct pc s = { .B = 2, .T = 7, .C = 6, .K = K, .G = 2 };
		size_t n = 84, nw = (size_t)6 * 3 * K;
		s.x = rnd(n, 1); s.w = rnd(nw, 0.5f); s.b = rnd(6, 0.5f); s.y = zeros(n); s.pre = zeros(n);
		s.r = rnd(n, 1);
		pc_loss(&s);
		float *dx = zeros(n), *dw = zeros(nw), *db = zeros(6), *fd = zeros(n + nw);
		float *dx2 = zeros(n), *dw2 = zeros(nw), *db2 = zeros(6);
		posconv_backward_ref(dx, dw, db, s.r, s.x, s.pre, s.w, s.B, s.T, s.C, K, s.G);
		ops_ctx *ctx = NULL;
		CHECK_OK(ops_ctx_create(&ctx));
		CHECK_OK(conv1d_gemm_posconv_backward(ctx, dx2, dw2, db2, s.r, s.x, s.pre, s.w, s.B, s.T, s.C, K, s.G));
		ops_ctx_free(ctx);
		fd_grad(fd, s.x, n, pc_loss, &s, 1e-2f);
		CHECKF(rel_err(dx, fd, n, 1e-3) < FD_TOL, "posconv K%d dx fd %g", K, rel_err(dx, fd, n, 1e-3));
		fd_grad(fd, s.w, nw, pc_loss, &s, 1e-2f);
		CHECKF(rel_err(dw, fd, nw, 1e-3) < FD_TOL, "posconv dw fd %g", rel_err(dw, fd, nw, 1e-3));
		fd_grad(fd, s.b, 6, pc_loss, &s, 1e-2f);
		CHECK(rel_err(db, fd, 6, 1e-3) < FD_TOL);
		pc_loss(&s);   /* restore pre for the inputs */
		CHECK(rel_err(dx2, dx, n, 1) < 1e-5);
		CHECK(rel_err(dw2, dw, nw, 1) < 1e-5);
		CHECK(rel_err(db2, db, 6, 1) < 1e-5);
		free(s.x); free(s.w); free(s.b); free(s.y); free(s.pre); free(s.r);
		free(dx); free(dw); free(db); free(fd); free(dx2); free(dw2); free(db2);
	}
}

/* A wrong backward must be caught: perturb the reference's gradient and
 * check the finite-difference comparison notices (the tests can fail). */
static void test_fd_detects_errors(void)
{
	struct lin s = { .M = 3, .K = 4, .N = 2 };
	s.x = rnd(12, 1); s.w = rnd(8, 1); s.b = rnd(2, 1); s.y = zeros(6); s.r = rnd(6, 1);
	float *dx = zeros(12), *fd = zeros(12);
	linear_backward_ref(dx, NULL, NULL, s.r, s.x, s.w, s.M, s.K, s.N);
	dx[5] *= 1.05f;
	fd_grad(fd, s.x, 12, lin_loss, &s, 1e-2f);
	CHECK(rel_err(dx, fd, 12, 1e-3) > FD_TOL);
	free(s.x); free(s.w); free(s.b); free(s.y); free(s.r); free(dx); free(fd);
}

int main(void)
{
	testrand_seed(0x9e3779b97f4a7c15ull);
	RUN(test_linear);
	RUN(test_layernorm);
	RUN(test_groupnorm);
	RUN(test_gelu_relu);
	RUN(test_logsoftmax);
	RUN(test_attention);
	RUN(test_conv1d);
	RUN(test_posconv);
	RUN(test_fd_detects_errors);
	return check_summary();
}
