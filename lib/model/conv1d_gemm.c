/*
 * conv1d_gemm.c — convolution backward as GEMMs (see conv1d_gemm.h).
 *
 * For group g, with M = B*To output frames and the group's receptive field
 * unrolled into Xcol[M, cig*K] (column c*K + k = input channel c of the
 * group at frame t*stride + k - pad_l, zero outside the signal, which is
 * exactly the [cog, cig*K] row layout of w's group block):
 *   dW_g += dY_g^T Xcol,  db_g += sum_m dY_g,  dXcol = dY_g W_g,
 * and dXcol is folded back (col2im) onto dx.  The two products are
 * linear_backward's, so they run as blocked oneDNN matmuls instead of
 * per-channel scalar loops (the earlier conv backward, whose weight gradient
 * was the largest single cost of full+conv training).
 * The fold is a gather per (utterance, input frame), so threads never
 * write the same dx row.
 * The unrolled buffers live in the ops_ctx scratch slots below, not in a
 * malloc per call: at small model shapes a fresh mapping per call (glibc
 * mmaps blocks this large and unmaps them on free) cost more in page faults
 * than the convolution's arithmetic.
 */
#include "model/conv1d_gemm.h"

#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "model/ops_backward.h"
#include "base/banned.h"

/* ops_ctx scratch slots (ops_backward.c uses 0..8 inside the calls made
 * from here only for bf16, which the conv backward never asks for) */
enum { CONV_SLOT_COL = 9, CONV_SLOT_DCOL = 10, CONV_SLOT_DYG = 11, CONV_SLOT_DPRE = 12 };

int conv1d_gemm_backward(ops_ctx *ctx, float *dx, float *dw, float *db, const float *dy,
                         const float *x, const float *w, int B, int T, int Cin, int Cout, int K,
                         int stride, int groups, int pad_l, int pad_r)
{
	int rc = 0;
	float *col = NULL, *dcol = NULL, *dyg = NULL;
	int To = conv1d_out_len(T, K, stride, pad_l, pad_r);
	if (To <= 0 || B <= 0)
		return 0;
	if (groups < 1 || Cin % groups || Cout % groups || K < 1 || stride < 1)
		return err_set(ACC_EINVAL, "conv1d_gemm_backward: bad shape (Cin %d, Cout %d, groups %d, K %d)",
		               Cin, Cout, groups, K);
	int cig = Cin / groups, cog = Cout / groups, CK = cig * K;
	size_t M = (size_t)B * To;
	col = ops_ctx_scratch(ctx, CONV_SLOT_COL, sizeof(float) * M * CK);
	dcol = dx ? ops_ctx_scratch(ctx, CONV_SLOT_DCOL, sizeof(float) * M * CK) : NULL;
	dyg = groups > 1 ? ops_ctx_scratch(ctx, CONV_SLOT_DYG, sizeof(float) * M * cog) : NULL;
	if (!col || (dx && !dcol) || (groups > 1 && !dyg)) {
		rc = err_set(ACC_ENOMEM, "out of memory: conv backward (%zu x %d floats)", M, CK);
		goto out;
	}
	for (int g = 0; g < groups; g++) {
		/* im2col of the group's input channels */
		#pragma omp parallel for schedule(static)
		for (size_t m = 0; m < M; m++) {
			int b = (int)(m / To), t = (int)(m % To);
			float *cr = col + m * CK;
			for (int k = 0; k < K; k++) {
				int ti = t * stride + k - pad_l;
				if (ti < 0 || ti >= T) {
					for (int c = 0; c < cig; c++)
						cr[(size_t)c * K + k] = 0.0f;
					continue;
				}
				const float *xr = x + ((size_t)b * T + ti) * Cin + (size_t)g * cig;
				for (int c = 0; c < cig; c++)
					cr[(size_t)c * K + k] = xr[c];
			}
		}
		const float *dy_g = dy;
		if (groups > 1) {
			#pragma omp parallel for schedule(static)
			for (size_t m = 0; m < M; m++)
				memcpy(dyg + m * cog, dy + m * Cout + (size_t)g * cog, sizeof(float) * cog);
			dy_g = dyg;
		}
		if (dcol)
			memset(dcol, 0, sizeof(float) * M * CK);
		const float *wg = w + (size_t)g * cog * CK;
		if ((rc = linear_backward(ctx, dcol, dw ? dw + (size_t)g * cog * CK : NULL,
		                          db ? db + (size_t)g * cog : NULL, dy_g, col, wg, (int)M, CK, cog)))
			goto out;
		if (!dx)
			continue;
		/* col2im: input frame ti of utterance b gathers every (t, k) with
		 * t*stride + k - pad_l == ti */
		#pragma omp parallel for collapse(2) schedule(static)
		for (int b = 0; b < B; b++)
			for (int ti = 0; ti < T; ti++) {
				float *dxr = dx + ((size_t)b * T + ti) * Cin + (size_t)g * cig;
				for (int k = 0; k < K; k++) {
					int num = ti + pad_l - k;
					if (num < 0 || num % stride)
						continue;
					int t = num / stride;
					if (t >= To)
						continue;
					const float *dc = dcol + ((size_t)b * To + t) * CK + k;
					for (int c = 0; c < cig; c++)
						dxr[c] += dc[(size_t)c * K];
				}
			}
	}
out:
	return rc;
}

int conv1d_gemm_posconv_backward(ops_ctx *ctx, float *dx, float *dw, float *db, const float *dy,
                                 const float *x, const float *pre, const float *w, int B, int T,
                                 int C, int K, int G)
{
	size_t n = (size_t)B * T * C;
	float *dpre = ops_ctx_scratch(ctx, CONV_SLOT_DPRE, sizeof(float) * (n ? n : 1));
	if (!dpre)
		return err_set(ACC_ENOMEM, "out of memory: positional conv backward");
	memset(dpre, 0, sizeof(float) * n);   /* gelu_backward accumulates */
	gelu_backward(dpre, dy, pre, n);
	if (dx) {
		#pragma omp parallel for schedule(static)
		for (size_t i = 0; i < n; i++)
			dx[i] += dy[i];
	}
	int pad_r = (K % 2 == 0) ? K / 2 - 1 : K / 2;
	return conv1d_gemm_backward(ctx, dx, dw, db, dpre, x, w, B, T, C, C, K, 1, G, K / 2, pad_r);
}
