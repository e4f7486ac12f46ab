/*
 * ops_backward.c — backward passes of the ops of ops.h (contracts in
 * ops_backward.h): plain-C references (double accumulation, single thread)
 * and fast versions (oneDNN matmuls for linear; OpenMP loops elsewhere, each
 * thread owning disjoint output rows so no atomics are needed and results do
 * not depend on the thread count).
 */
#include "model/ops_backward.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/dropout.h"
#include "base/err.h"
#include "model/fastmath.h"
#include "base/banned.h"

/* ops_ctx scratch slots of the fast versions (a slot is only live inside
 * one call, so linear and attention may share numbers; conv1d_gemm.c holds
 * 9..12 across its calls into linear_backward) */
enum {
	LIN_SLOT_DY = 0, LIN_SLOT_X = 1,
	ATT_SLOT_DS = 2, ATT_SLOT_PD = 3, ATT_SLOT_PB = 4, ATT_SLOT_DO = 5,
	ATT_SLOT_V = 6, ATT_SLOT_K = 7, ATT_SLOT_Q = 8,
};

static inline double gelu_grad1(double x)
{
	/* d/dx [x Phi(x)] = Phi(x) + x phi(x) */
	return 0.5 * (1.0 + erf(x * M_SQRT1_2)) + x * exp(-0.5 * x * x) * (0.5 * M_2_SQRTPI * M_SQRT1_2);
}

/* ======================================================================
 * references
 */

/* sum over i < n of a[i * sa] * b[i * sb], in double (inlined: no call per
 * element) */
static inline double dot_strided(const float *a, size_t sa, const float *b, size_t sb, int n)
{
	double s = 0;
	for (int i = 0; i < n; i++)
		s += (double)a[(size_t)i * sa] * b[(size_t)i * sb];
	return s;
}

void linear_backward_ref(float *dx, float *dw, float *db, const float *dy, const float *x,
                         const float *w, int M, int K, int N)
{
	if (dx)
		for (int m = 0; m < M; m++)
			for (int k = 0; k < K; k++)
				dx[(size_t)m * K + k] += (float)dot_strided(dy + (size_t)m * N, 1, w + k, (size_t)K, N);
	if (dw)
		for (int n = 0; n < N; n++)
			for (int k = 0; k < K; k++)
				dw[(size_t)n * K + k] += (float)dot_strided(dy + n, (size_t)N, x + k, (size_t)K, M);
	if (db)
		for (int n = 0; n < N; n++) {
			double s = 0;
			for (int m = 0; m < M; m++)
				s += dy[(size_t)m * N + n];
			db[n] += (float)s;
		}
}

/* One normalized vector of n elements spaced by `step`: the shared core of
 * layer and group norm backward.  gs = per-element gain (gstep 1) or one
 * scalar (gstep 0). */
static void norm_vec_backward(float *dx, double *dg, double *db, const float *dy, const float *x,
                              double mean, double rstd, const float *g, int gstep,
                              int n, size_t step)
{
	double s1 = 0, s2 = 0;
	for (int i = 0; i < n; i++) {
		size_t o = (size_t)i * step;
		double xh = (x[o] - mean) * rstd;
		double gi = g ? g[gstep ? i : 0] : 1.0;
		double d = dy[o] * gi;
		s1 += d;
		s2 += d * xh;
		if (dg)
			dg[gstep ? i : 0] += dy[o] * xh;
		if (db)
			db[gstep ? i : 0] += dy[o];
	}
	if (!dx)
		return;
	s1 /= n;
	s2 /= n;
	for (int i = 0; i < n; i++) {
		size_t o = (size_t)i * step;
		double xh = (x[o] - mean) * rstd;
		double gi = g ? g[gstep ? i : 0] : 1.0;
		dx[o] += (float)(rstd * (dy[o] * gi - s1 - xh * s2));
	}
}

void layernorm_backward_ref(float *dx, float *dg, float *db, const float *dy, const float *x,
                            const float *mean, const float *rstd, const float *g, int N, int C)
{
	double *ag = calloc((size_t)C * 2, sizeof(double));
	if (!ag)
		return;
	for (int r = 0; r < N; r++)
		norm_vec_backward(dx ? dx + (size_t)r * C : NULL, dg ? ag : NULL, db ? ag + C : NULL,
		                  dy + (size_t)r * C, x + (size_t)r * C, mean[r], rstd[r], g, 1, C, 1);
	for (int c = 0; c < C; c++) {
		if (dg) dg[c] += (float)ag[c];
		if (db) db[c] += (float)ag[C + c];
	}
	free(ag);
}

/* Group norm backward of channel c of batch item b (T elements spaced by
 * C): dx, and the gain / bias sums into *sg / *sb where not NULL. */
static inline void gn_channel_backward(float *dx, double *sg, double *sb, const float *dy, const float *x,
                                       const float *mean, const float *rstd, const float *g, int b, int c,
                                       int T, int C)
{
	size_t o = (size_t)b * T * C + c;
	norm_vec_backward(dx ? dx + o : NULL, sg, sb, dy + o, x + o, mean[(size_t)b * C + c],
	                  rstd[(size_t)b * C + c], g ? g + c : NULL, 0, T, (size_t)C);
}

void groupnorm_backward_ref(float *dx, float *dg, float *db, const float *dy, const float *x,
                            const float *mean, const float *rstd, const float *g,
                            int B, int T, int C)
{
	for (int b = 0; b < B; b++)
		for (int c = 0; c < C; c++) {
			double sg = 0, sb = 0;
			gn_channel_backward(dx, dg ? &sg : NULL, db ? &sb : NULL, dy, x, mean, rstd, g, b, c, T, C);
			if (dg) dg[c] += (float)sg;
			if (db) db[c] += (float)sb;
		}
}

void gelu_backward_ref(float *dx, const float *dy, const float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dx[i] += (float)(dy[i] * gelu_grad1(x[i]));
}

void relu_backward_ref(float *dx, const float *dy, const float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (x[i] > 0)
			dx[i] += dy[i];
}

/* sum of p[0..n) in double, in order */
static inline double sum_double(const float *p, int n)
{
	double s = 0;
	for (int i = 0; i < n; i++)
		s += p[i];
	return s;
}

void logsoftmax_backward_ref(float *dx, const float *dy, const float *y, int N, int V)
{
	for (int r = 0; r < N; r++) {
		const float *dyr = dy + (size_t)r * V, *yr = y + (size_t)r * V;
		double s = sum_double(dyr, V);
		for (int v = 0; v < V; v++)
			dx[(size_t)r * V + v] += (float)(dyr[v] - exp((double)yr[v]) * s);
	}
}

/* Attention backward of one (utterance, head); dp is scratch [T] (double). */
static void attn_bh_backward(float *dq, float *dk, float *dv, const float *dout, const float *q,
                             const float *k, const float *v, const float *probs, int ld,
                             int L, int b, int h, int T, int C, int NH, double *dp)
{
	int D = C / NH;
	double scale = 1.0 / sqrt((double)D);
	size_t base = (size_t)b * T;
	for (int i = 0; i < T; i++) {
		const float *pr = probs + (((size_t)b * NH + h) * T + i) * T;
		const float *doi = dout + (base + i) * C + h * D;
		/* dv_j += p_ij dout_i;  dp_ij = dout_i . v_j */
		double sum = 0;
		for (int j = 0; j < L; j++) {
			const float *vj = v + (base + j) * ld + h * D;
			double s = 0;
			for (int d = 0; d < D; d++)
				s += (double)doi[d] * vj[d];
			dp[j] = s;
			sum += s * pr[j];
			if (dv && pr[j] != 0.0f) {
				float *dvj = dv + (base + j) * ld + h * D;
				for (int d = 0; d < D; d++)
					dvj[d] += pr[j] * doi[d];
			}
		}
		/* softmax: ds_ij = p_ij (dp_ij - sum_j p_ij dp_ij), then the scaled dot product */
		const float *qi = q + (base + i) * ld + h * D;
		float *dqi = dq ? dq + (base + i) * ld + h * D : NULL;
		for (int j = 0; j < L; j++) {
			double ds = pr[j] * (dp[j] - sum) * scale;
			if (ds == 0)
				continue;
			const float *kj = k + (base + j) * ld + h * D;
			if (dqi)
				for (int d = 0; d < D; d++)
					dqi[d] += (float)(ds * kj[d]);
			if (dk) {
				float *dkj = dk + (base + j) * ld + h * D;
				for (int d = 0; d < D; d++)
					dkj[d] += (float)(ds * qi[d]);
			}
		}
	}
}

void attention_backward_ref(float *dq, float *dk, float *dv, const float *dout,
                            const float *q, const float *k, const float *v, const float *probs,
                            int ld, const int *kv_len, int B, int T, int C, int NH)
{
	double *dp = malloc(sizeof(double) * (T > 0 ? T : 1));
	if (!dp)
		return;
	for (int b = 0; b < B; b++)
		for (int h = 0; h < NH; h++)
			attn_bh_backward(dq, dk, dv, dout, q, k, v, probs, ld, kv_len ? kv_len[b] : T,
			                 b, h, T, C, NH, dp);
	free(dp);
}

void conv1d_backward_ref(float *dx, float *dw, float *db, const float *dy, const float *x,
                         const float *w, int B, int T, int Cin, int Cout, int K, int stride,
                         int groups, int pad_l, int pad_r)
{
	int To = conv1d_out_len(T, K, stride, pad_l, pad_r);
	int cig = Cin / groups, cog = Cout / groups;
	for (int b = 0; b < B; b++)
		for (int t = 0; t < To; t++)
			for (int o = 0; o < Cout; o++) {
				float g = dy[((size_t)b * To + t) * Cout + o];
				if (db)
					db[o] += g;
				int gi = o / cog;
				for (int kk = 0; kk < K; kk++) {
					int ti = t * stride + kk - pad_l;
					if (ti < 0 || ti >= T)
						continue;
					for (int c = 0; c < cig; c++) {
						int ci = gi * cig + c;
						size_t wi = ((size_t)o * cig + c) * K + kk;
						size_t xi = ((size_t)b * T + ti) * Cin + ci;
						if (dw)
							dw[wi] += g * x[xi];
						if (dx)
							dx[xi] += g * w[wi];
					}
				}
			}
}

void posconv_backward_ref(float *dx, float *dw, float *db, const float *dy, const float *x,
                          const float *pre, const float *w, int B, int T, int C, int K, int G)
{
	size_t n = (size_t)B * T * C;
	float *dpre = calloc(n ? n : 1, sizeof(float));
	if (!dpre)
		return;
	gelu_backward_ref(dpre, dy, pre, n);
	if (dx)
		for (size_t i = 0; i < n; i++)
			dx[i] += dy[i];
	int pad_r = (K % 2 == 0) ? K / 2 - 1 : K / 2;
	conv1d_backward_ref(dx, dw, db, dpre, x, w, B, T, C, C, K, 1, G, K / 2, pad_r);
	free(dpre);
}

/* ======================================================================
 * fast versions
 */

/* Column sums over rows (bias and norm-gain gradients) go by blocks of
 * COLSUM_ROWS contiguous rows, one partial sum per block and channel, then
 * the blocks in order: row-major, vectorized reads instead of a strided walk
 * down each column, and the same result for any number of threads. */
#define COLSUM_ROWS 256

/* part: nb blocks of [2][C] doubles (first the dg sums, then the db sums);
 * adds the block totals, in block order, to dg/db (either may be NULL). */
static void colsum_finish(const double *part, int nb, int C, float *dg, float *db)
{
	for (int c = 0; c < C; c++) {
		double sg = 0, sb = 0;
		for (int k = 0; k < nb; k++) {
			sg += part[(size_t)k * 2 * C + c];
			sb += part[(size_t)k * 2 * C + C + c];
		}
		if (dg) dg[c] += (float)sg;
		if (db) db[c] += (float)sb;
	}
}

int linear_backward(ops_ctx *ctx, float *dx, float *dw, float *db, const float *dy,
                    const float *x, const float *w, int M, int K, int N)
{
	int rc = 0;
	if (M <= 0)
		return 0;
	/* dx[M,K] += dy[M,N] w[N,K] */
	if (dx && (rc = matmul_forward(ctx, dx, OPS_F32, dy, 0, w, 0, OPS_F32, M, K, N, 1)))
		return err_wrap(rc, "linear backward (input gradient)");
	/* dw[N,K] += dy^T x */
	if (dw && (rc = matmul_forward(ctx, dw, OPS_F32, dy, 1, x, 0, OPS_F32, N, K, M, 1)))
		return err_wrap(rc, "linear backward (weight gradient)");
	if (db) {
		int nb = (M + COLSUM_ROWS - 1) / COLSUM_ROWS;
		double *part = calloc((size_t)nb * 2 * N, sizeof(double));
		if (!part)
			return err_set(ACC_ENOMEM, "out of memory: linear backward (bias gradient)");
		#pragma omp parallel for schedule(static)
		for (int k = 0; k < nb; k++) {
			double *pb = part + (size_t)k * 2 * N + N;
			int m1 = (k + 1) * COLSUM_ROWS < M ? (k + 1) * COLSUM_ROWS : M;
			for (int m = k * COLSUM_ROWS; m < m1; m++) {
				const float *dyr = dy + (size_t)m * N;
				#pragma omp simd
				for (int n = 0; n < N; n++)
					pb[n] += dyr[n];
			}
		}
		colsum_finish(part, nb, N, NULL, db);
		free(part);
	}
	return 0;
}

void layernorm_backward(float *dx, float *dg, float *db, const float *dy, const float *x,
                        const float *mean, const float *rstd, const float *g, int N, int C)
{
	if (dx) {
		#pragma omp parallel for schedule(static)
		for (int r = 0; r < N; r++) {
			const float *dyr = dy + (size_t)r * C, *xr = x + (size_t)r * C;
			float m = mean[r], rs = rstd[r];
			double s1 = 0, s2 = 0;
			for (int c = 0; c < C; c++) {
				double d = (double)dyr[c] * (g ? g[c] : 1.0f);
				s1 += d;
				s2 += d * ((xr[c] - m) * rs);
			}
			float a1 = (float)(s1 / C), a2 = (float)(s2 / C);
			float *dxr = dx + (size_t)r * C;
			for (int c = 0; c < C; c++) {
				float xh = (xr[c] - m) * rs;
				dxr[c] += rs * (dyr[c] * (g ? g[c] : 1.0f) - a1 - xh * a2);
			}
		}
	}
	if (dg || db) {
		/* dg = sum_r dy * xhat, db = sum_r dy, row blocks at a time */
		int nb = (N + COLSUM_ROWS - 1) / COLSUM_ROWS;
		double *part = calloc((size_t)nb * 2 * C, sizeof(double));
		if (!part) {   /* out of memory: the slow column loop, same sums */
			for (int c = 0; c < C; c++) {
				double sg = 0, sb = 0;
				for (int r = 0; r < N; r++) {
					float d = dy[(size_t)r * C + c];
					sg += (double)d * ((x[(size_t)r * C + c] - mean[r]) * rstd[r]);
					sb += d;
				}
				if (dg) dg[c] += (float)sg;
				if (db) db[c] += (float)sb;
			}
			return;
		}
		#pragma omp parallel for schedule(static)
		for (int k = 0; k < nb; k++) {
			double *pg = part + (size_t)k * 2 * C, *pb = pg + C;
			int r1 = (k + 1) * COLSUM_ROWS < N ? (k + 1) * COLSUM_ROWS : N;
			for (int r = k * COLSUM_ROWS; r < r1; r++) {
				const float *dyr = dy + (size_t)r * C, *xr = x + (size_t)r * C;
				float m = mean[r], rs = rstd[r];
				#pragma omp simd
				for (int c = 0; c < C; c++) {
					pg[c] += (double)dyr[c] * ((xr[c] - m) * rs);
					pb[c] += dyr[c];
				}
			}
		}
		colsum_finish(part, nb, C, dg, db);
		free(part);
	}
}

void groupnorm_backward(float *dx, float *dg, float *db, const float *dy, const float *x,
                        const float *mean, const float *rstd, const float *g, int B, int T, int C)
{
	/* every (b, c) vector is independent; parameter sums over b stay in
	 * per-channel order (b outer loop inside one thread) */
	#pragma omp parallel for schedule(static)
	for (int c = 0; c < C; c++) {
		double sgt = 0, sbt = 0;
		for (int b = 0; b < B; b++) {
			double sg = 0, sb = 0;
			gn_channel_backward(dx, dg ? &sg : NULL, db ? &sb : NULL, dy, x, mean, rstd, g, b, c, T, C);
			sgt += sg;
			sbt += sb;
		}
		if (dg) dg[c] += (float)sgt;
		if (db) db[c] += (float)sbt;
	}
}

void gelu_backward(float *dx, const float *dy, const float *x, size_t n)
{
	#pragma omp parallel for simd schedule(static)
	for (size_t i = 0; i < n; i++) {
		float xi = x[i];
		float phi = 0.5f * (1.0f + fast_erff(xi * (float)M_SQRT1_2));
		float pdf = fast_expf(-0.5f * xi * xi) * (float)(0.5 * M_2_SQRTPI * M_SQRT1_2);
		dx[i] += dy[i] * (phi + xi * pdf);
	}
}

void relu_backward(float *dx, const float *dy, const float *x, size_t n)
{
	#pragma omp parallel for schedule(static)
	for (size_t i = 0; i < n; i++)
		dx[i] += x[i] > 0 ? dy[i] : 0.0f;
}

void logsoftmax_backward(float *dx, const float *dy, const float *y, int N, int V)
{
	#pragma omp parallel for schedule(static)
	for (int r = 0; r < N; r++) {
		const float *dyr = dy + (size_t)r * V, *yr = y + (size_t)r * V;
		double s = sum_double(dyr, V);
		for (int v = 0; v < V; v++)
			dx[(size_t)r * V + v] += dyr[v] - expf(yr[v]) * (float)s;
	}
}

static int attention_backward_loops(float *dq, float *dk, float *dv, const float *dout,
                                    const float *q, const float *k, const float *v, const float *probs,
                                    int ld, const int *kv_len, int B, int T, int C, int NH)
{
	int fail = 0;
	/* (b, h) pairs write disjoint column blocks of dq/dk/dv */
	#pragma omp parallel reduction(|:fail)
	{
		double *dp = malloc(sizeof(double) * (T > 0 ? T : 1));
		if (!dp) {
			fail = 1;
		} else {
			#pragma omp for schedule(dynamic, 1)
			for (int bh = 0; bh < B * NH; bh++) {
				int b = bh / NH, h = bh % NH;
				attn_bh_backward(dq, dk, dv, dout, q, k, v, probs, ld, kv_len ? kv_len[b] : T,
				                 b, h, T, C, NH, dp);
			}
		}
		free(dp);
	}
	return fail ? err_set(ACC_ENOMEM, "out of memory: attention backward") : 0;
}

int attention_backward(ops_ctx *ctx, float *dq, float *dk, float *dv, const float *dout,
                       const float *q, const float *k, const float *v, const float *probs,
                       int ld, const int *kv_len, int B, int T, int C, int NH)
{
	if (!ctx)
		return attention_backward_loops(dq, dk, dv, dout, q, k, v, probs, ld, kv_len, B, T, C, NH);
	return attention_backward_dropout(ctx, dq, dk, dv, dout, q, k, v, probs, ld, kv_len, B, T, C, NH,
	                                  0.0f, 0, OPS_F32);
}

/* ops_f32_to_bf16 without the branch, so the loops below vectorize */
static inline uint16_t bf16_rne(float f)
{
	union { float f; uint32_t u; } v = { f };
	uint32_t r = (v.u + 0x7fffu + ((v.u >> 16) & 1)) >> 16;
	uint32_t nan = (v.u >> 16) | 0x40;
	return (uint16_t)(((v.u & 0x7fffffffu) > 0x7f800000u) ? nan : r);
}

/* rows x cols of src (row stride lds) -> bf16 dst (row stride cols) */
static void rows_to_bf16(uint16_t *dst, const float *src, size_t rows, int cols, size_t lds)
{
	#pragma omp parallel for schedule(static)
	for (size_t r = 0; r < rows; r++) {
		const float *s = src + r * lds;
		uint16_t *d = dst + r * cols;
		#pragma omp simd
		for (int c = 0; c < cols; c++)
			d[c] = bf16_rne(s[c]);
	}
}

int attention_backward_dropout(ops_ctx *ctx, float *dq, float *dk, float *dv, const float *dout,
                               const float *q, const float *k, const float *v, const float *probs,
                               int ld, const int *kv_len, int B, int T, int C, int NH,
                               float p, uint64_t key, ops_dtype mt)
{
	if (!ctx)
		return err_set(ACC_EINVAL, "attention_backward_dropout needs an ops context");
	int rc = 0, D = C / NH, bf = mt == OPS_BF16;
	if (B <= 0 || T <= 0 || (!dq && !dk && !dv))
		return 0;
	float scale = (float)(1.0 / sqrt((double)D));
	size_t nrows = (size_t)B * NH * T, ntt = nrows * T, nx = (size_t)B * T * C;
	size_t es = bf ? 2 : 4;
	/* views: probs-shaped [B,NH,T,T] (and its transpose); q/k/v/dq/dk/dv
	 * [B,T,ld] per head [T,D] (and transposed); dout [B,T,C] per head.  The
	 * bf16 copies of q/k/v/dout are compact (row stride C). */
	int64_t sP[4] = { (int64_t)NH * T * T, (int64_t)T * T, T, 1 };
	int64_t sPt[4] = { (int64_t)NH * T * T, (int64_t)T * T, 1, T };
	int64_t sX[4] = { (int64_t)T * ld, D, ld, 1 };
	int64_t sC[4] = { (int64_t)T * C, D, C, 1 }, sCt[4] = { (int64_t)T * C, D, 1, C };
	int64_t sXt[4] = { (int64_t)T * ld, D, 1, ld };
	const int64_t *sIn = bf ? sC : sX, *sInT = bf ? sCt : sXt;   /* q/k/v as the matmuls read them */
	const void *dO = dout, *Vm = v, *Km = k, *Qm = q, *PA = probs;
	float *Pd = NULL, *dS;
	void *dSm, *Pb = NULL;
	if (!(dS = ops_ctx_scratch(ctx, ATT_SLOT_DS, ntt * sizeof(float))))
		return ACC_ENOMEM;
	if (p > 0.0f) {   /* the output was made of the dropped probabilities */
		if (!(Pd = ops_ctx_scratch(ctx, ATT_SLOT_PD, ntt * sizeof(float))))
			return ACC_ENOMEM;
		dropout_apply_at(Pd, probs, ntt, 0, p, key);
		PA = Pd;
	}
	if (bf) {
		uint16_t *t;
		if (!(t = ops_ctx_scratch(ctx, ATT_SLOT_DO, nx * es)))
			return ACC_ENOMEM;
		rows_to_bf16(t, dout, (size_t)B * T, C, C);
		dO = t;
		if (!(Pb = ops_ctx_scratch(ctx, ATT_SLOT_PB, ntt * es)))
			return ACC_ENOMEM;
		if (dq || dk) {
			if (!(t = ops_ctx_scratch(ctx, ATT_SLOT_V, nx * es)))
				return ACC_ENOMEM;
			rows_to_bf16(t, v, (size_t)B * T, C, ld);
			Vm = t;
		}
		if (dq) {
			if (!(t = ops_ctx_scratch(ctx, ATT_SLOT_K, nx * es)))
				return ACC_ENOMEM;
			rows_to_bf16(t, k, (size_t)B * T, C, ld);
			Km = t;
		}
		if (dk) {
			if (!(t = ops_ctx_scratch(ctx, ATT_SLOT_Q, nx * es)))
				return ACC_ENOMEM;
			rows_to_bf16(t, q, (size_t)B * T, C, ld);
			Qm = t;
		}
	}
	if (dv) {
		/* dV = P^T dO per (utterance, head); padded keys have P = 0 */
		const void *Pm = PA;
		if (bf) {
			rows_to_bf16(Pb, PA, nrows, T, T);
			Pm = Pb;
		}
		if ((rc = ops_bmm(ctx, dv, OPS_F32, sX, Pm, sPt, dO, sC, mt, B, NH, T, D, T, 1.0f, 1)))
			goto out;
	}
	if (!dq && !dk)
		goto out;
	/* dP = dO V^T, then through dropout and the softmax:
	 * dS = P (dP - rowsum(P dP)) / sqrt(D), 0 on padded keys */
	if ((rc = ops_bmm(ctx, dS, OPS_F32, sP, dO, sC, Vm, sInT, mt, B, NH, T, T, D, 1.0f, 0)))
		goto out;
	if (Pd)
		dropout_apply_at(dS, dS, ntt, 0, p, key);
	dSm = bf ? Pb : (void *)dS;
	#pragma omp parallel for schedule(static)
	for (size_t r = 0; r < nrows; r++) {
		int L = kv_len ? kv_len[r / ((size_t)NH * T)] : T;
		if (L > T) L = T;
		if (L < 0) L = 0;
		const float *pr = probs + r * T;
		float *ds = dS + r * T;
		double sum = 0;
		for (int j = 0; j < L; j++)
			sum += (double)pr[j] * ds[j];
		float fs = (float)sum;
		for (int j = 0; j < L; j++)
			ds[j] = pr[j] * (ds[j] - fs) * scale;
		for (int j = L; j < T; j++)
			ds[j] = 0.0f;
		if (bf) {
			uint16_t *db = (uint16_t *)dSm + r * T;
			#pragma omp simd
			for (int j = 0; j < T; j++)
				db[j] = bf16_rne(ds[j]);
		}
	}
	/* dQ = dS K, dK = dS^T Q */
	if (dq && (rc = ops_bmm(ctx, dq, OPS_F32, sX, dSm, sP, Km, sIn, mt, B, NH, T, D, T, 1.0f, 1)))
		goto out;
	if (dk && (rc = ops_bmm(ctx, dk, OPS_F32, sX, dSm, sPt, Qm, sIn, mt, B, NH, T, D, T, 1.0f, 1)))
		goto out;
out:
	if (rc)
		err_wrap(rc, "attention backward");
	return rc;
}

int linear_backward_dt(ops_ctx *ctx, float *dx, float *dw, float *db, const float *dy,
                       const float *x, const float *w, int M, int K, int N, ops_dtype mt)
{
	int rc = 0;
	if (mt == OPS_F32 || M <= 0)
		return linear_backward(ctx, dx, dw, db, dy, x, w, M, K, N);
	uint16_t *dyb = ops_ctx_scratch(ctx, LIN_SLOT_DY, (size_t)M * N * 2);
	if (!dyb)
		return ACC_ENOMEM;
	if (dx || dw)
		rows_to_bf16(dyb, dy, (size_t)M, N, N);
	/* dx[M,K] += dy w: the frozen (or once-per-step) weight packed in bf16 */
	if (dx && (rc = linear_backward_data(ctx, dx, dyb, OPS_BF16, w, M, K, N)))
		return err_wrap(rc, "linear backward (input gradient, bf16)");
	if (dw) {
		/* dw[N,K] += dy^T x: x's bf16 rounding is the one its forward
		 * matmul consumed (same fp32 value, same round-to-nearest-even) */
		uint16_t *xb = ops_ctx_scratch(ctx, LIN_SLOT_X, (size_t)M * K * 2);
		if (!xb)
			return ACC_ENOMEM;
		rows_to_bf16(xb, x, (size_t)M, K, K);
		if ((rc = matmul_forward(ctx, dw, OPS_F32, dyb, 1, xb, 0, OPS_BF16, N, K, M, 1)))
			return err_wrap(rc, "linear backward (weight gradient, bf16)");
	}
	if (db)
		return linear_backward(ctx, NULL, NULL, db, dy, NULL, NULL, M, K, N);
	return 0;
}

