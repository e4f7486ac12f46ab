/*
 * ops_ref.c — plain-C fp32 reference implementations of every operator in
 * ops.h.  Single-threaded and written to be obviously right: these are the
 * oracle the oneDNN path (ops_dnnl.c) and the backward passes are tested
 * against, not the production path (nothing in the library calls them; the
 * shared helpers of ops.h live in ops_dnnl.c).  Accumulation is in double
 * where a reduction is long (norm statistics, softmax sums, dot products).
 */
#include "model/ops.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/banned.h"

void ops_bmm_ref(float *C, const int64_t cs[4], const float *A, const int64_t as[4], const float *B,
                 const int64_t bs[4], int B0, int B1, int M, int N, int K, float scale, int accumulate)
{
	for (int i = 0; i < B0; i++)
		for (int j = 0; j < B1; j++) {
			const float *a = A + i * as[0] + j * as[1];
			const float *b = B + i * bs[0] + j * bs[1];
			float *c = C + i * cs[0] + j * cs[1];
			for (int m = 0; m < M; m++)
				for (int n = 0; n < N; n++) {
					double acc = 0;
					for (int k = 0; k < K; k++)
						acc += (double)a[m * as[2] + k * as[3]] * b[k * bs[2] + n * bs[3]];
					float *cc = c + m * cs[2] + n * cs[3];
					*cc = (float)(scale * acc) + (accumulate ? *cc : 0.0f);
				}
		}
}

static float gelu1(float x)
{
	return (float)(0.5 * x * (1.0 + erf(x / sqrt(2.0))));
}

static float post1(float v, float prev, int post)
{
	if (post & OPS_POST_GELU)
		v = gelu1(v);
	if (post & OPS_POST_RELU)
		v = v > 0 ? v : 0;
	if (post & OPS_POST_ADD)
		v += prev;
	return v;
}

void conv1d_forward_ref(float *y, const float *x, const float *w, const float *b,
                        int B, int T, int Cin, int Cout, int K, int stride,
                        int groups, int pad_l, int pad_r, int post)
{
	int To = conv1d_out_len(T, K, stride, pad_l, pad_r);
	int cig = Cin / groups, cog = Cout / groups;
	for (int bb = 0; bb < B; bb++)
		for (int t = 0; t < To; t++)
			for (int o = 0; o < Cout; o++) {
				int g = o / cog;
				double acc = b ? b[o] : 0.0;
				for (int kk = 0; kk < K; kk++) {
					int ti = t * stride + kk - pad_l;
					if (ti < 0 || ti >= T)
						continue;
					const float *xr = x + ((size_t)bb * T + ti) * Cin + (size_t)g * cig;
					const float *wr = w + (size_t)o * cig * K + kk;
					for (int i = 0; i < cig; i++)
						acc += (double)xr[i] * wr[(size_t)i * K];
				}
				float *yo = y + ((size_t)bb * To + t) * Cout + o;
				*yo = post1((float)acc, *yo, post);
			}
}

void linear_forward_ref(float *y, const float *x, const float *w, const float *b,
                        int M, int K, int N, int post)
{
	for (int m = 0; m < M; m++)
		for (int n = 0; n < N; n++) {
			double acc = b ? b[n] : 0.0;
			const float *xr = x + (size_t)m * K, *wr = w + (size_t)n * K;
			for (int k = 0; k < K; k++)
				acc += (double)xr[k] * wr[k];
			float *yo = y + (size_t)m * N + n;
			*yo = post1((float)acc, *yo, post);
		}
}

void matmul_forward_ref(float *C, const float *A, int transa, const float *B, int transb,
                        int M, int N, int K, int accumulate)
{
	for (int m = 0; m < M; m++)
		for (int n = 0; n < N; n++) {
			double acc = 0;
			for (int k = 0; k < K; k++)
				acc += (double)(transa ? A[(size_t)k * M + m] : A[(size_t)m * K + k]) *
				       (transb ? B[(size_t)n * K + k] : B[(size_t)k * N + n]);
			float *c = C + (size_t)m * N + n;
			*c = accumulate ? *c + (float)acc : (float)acc;
		}
}

void layernorm_forward_ref(float *y, float *mean, float *rstd, const float *x,
                           const float *g, const float *b, int N, int C, float eps)
{
	for (int n = 0; n < N; n++) {
		const float *xr = x + (size_t)n * C;
		double s = 0, ss = 0;
		for (int c = 0; c < C; c++)
			s += xr[c];
		double mu = s / C;
		for (int c = 0; c < C; c++)
			ss += (xr[c] - mu) * (xr[c] - mu);
		double rs = 1.0 / sqrt(ss / C + eps);
		float *yr = y + (size_t)n * C;
		for (int c = 0; c < C; c++)
			yr[c] = (float)((xr[c] - mu) * rs * g[c] + b[c]);
		if (mean)
			mean[n] = (float)mu;
		if (rstd)
			rstd[n] = (float)rs;
	}
}

void groupnorm_forward_ref(float *y, float *mean, float *rstd, const float *x,
                           const float *g, const float *b, int B, int T, int C, float eps)
{
	for (int bb = 0; bb < B; bb++)
		for (int c = 0; c < C; c++) {
			const float *xb = x + (size_t)bb * T * C + c;
			double s = 0, ss = 0;
			for (int t = 0; t < T; t++)
				s += xb[(size_t)t * C];
			double mu = T ? s / T : 0;
			for (int t = 0; t < T; t++)
				ss += (xb[(size_t)t * C] - mu) * (xb[(size_t)t * C] - mu);
			double rs = 1.0 / sqrt((T ? ss / T : 0) + eps);
			float *yb = y + (size_t)bb * T * C + c;
			for (int t = 0; t < T; t++)
				yb[(size_t)t * C] = (float)((xb[(size_t)t * C] - mu) * rs * g[c] + b[c]);
			if (mean)
				mean[bb * C + c] = (float)mu;
			if (rstd)
				rstd[bb * C + c] = (float)rs;
		}
}

void gelu_forward_ref(float *y, const float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		y[i] = gelu1(x[i]);
}

void relu_forward_ref(float *y, const float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		y[i] = x[i] > 0 ? x[i] : 0;
}

void logsoftmax_forward_ref(float *y, const float *x, int N, int V)
{
	for (int n = 0; n < N; n++) {
		const float *xr = x + (size_t)n * V;
		float mx = -INFINITY;
		for (int v = 0; v < V; v++)
			mx = xr[v] > mx ? xr[v] : mx;
		double s = 0;
		for (int v = 0; v < V; v++)
			s += exp((double)xr[v] - mx);
		double lse = mx + log(s);
		float *yr = y + (size_t)n * V;
		for (int v = 0; v < V; v++)
			yr[v] = (float)(xr[v] - lse);
	}
}

void attention_forward_ref(float *out, float *probs, const float *q, const float *k,
                           const float *v, int ld, const int *kv_len,
                           int B, int T, int C, int NH)
{
	int D = C / NH;
	double scale = 1.0 / sqrt((double)D);
	double *row = malloc(sizeof(double) * (T > 0 ? T : 1));
	if (!row)
		return;
	for (int bb = 0; bb < B; bb++) {
		int L = kv_len ? kv_len[bb] : T;
		for (int h = 0; h < NH; h++)
			for (int i = 0; i < T; i++) {
				const float *qi = q + ((size_t)bb * T + i) * ld + h * D;
				double mx = -INFINITY;
				for (int j = 0; j < L; j++) {
					const float *kj = k + ((size_t)bb * T + j) * ld + h * D;
					double s = 0;
					for (int d = 0; d < D; d++)
						s += (double)qi[d] * kj[d];
					row[j] = s * scale;
					mx = row[j] > mx ? row[j] : mx;
				}
				double sum = 0;
				for (int j = 0; j < L; j++) {
					row[j] = exp(row[j] - mx);
					sum += row[j];
				}
				float *pr = probs + (((size_t)bb * NH + h) * T + i) * T;
				for (int j = 0; j < T; j++)
					pr[j] = j < L ? (float)(row[j] / sum) : 0.0f;
				float *oi = out + ((size_t)bb * T + i) * C + h * D;
				for (int d = 0; d < D; d++) {
					double acc = 0;
					for (int j = 0; j < L; j++)
						acc += (double)pr[j] * v[((size_t)bb * T + j) * ld + h * D + d];
					oi[d] = (float)acc;
				}
			}
	}
	free(row);
}

void posconv_forward_ref(float *y, float *pre, const float *x, const float *w,
                         const float *b, int B, int T, int C, int K, int G)
{
	/* padding K/2 on both sides yields T+1 frames for an even K; HF's
	 * SamePad removes the last one, which is the same as padding one frame
	 * less on the right. */
	int pad_r = (K % 2 == 0) ? K / 2 - 1 : K / 2;
	conv1d_forward_ref(pre, x, w, b, B, T, C, C, K, 1, G, K / 2, pad_r, 0);
	size_t n = (size_t)B * T * C;
	for (size_t i = 0; i < n; i++)
		y[i] = x[i] + gelu1(pre[i]);
}
