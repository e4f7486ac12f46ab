/*
 * conv1d_gemm.h — backward of a strided, grouped, zero-padded 1-D
 * convolution as matrix products (im2col + oneDNN matmul + col2im), the
 * fast path for the conv feature encoder and the positional conv when they
 * train.  Tested against the plain-C references conv1d_backward_ref and
 * posconv_backward_ref (ops_backward.h).
 */
#pragma once
#include "model/ops.h"

/* y[B,To,Cout] = conv(x[B,T,Cin]; w[Cout, Cin/groups, K], stride, pad_l,
 * pad_r) (+ bias); dy its gradient.  Accumulates dx[B,T,Cin] += d/dx,
 * dw += d/dw, db[Cout] += sum dy; any of dx/dw/db may be NULL.  The matmuls
 * run on ctx (lib/model/ops.h); working memory is ~ B*To*(Cin/groups)*K floats,
 * one group at a time.  0, ACC_ENOMEM or a oneDNN error. */
int conv1d_gemm_backward(ops_ctx *ctx, float *dx, float *dw, float *db, const float *dy,
                         const float *x, const float *w, int B, int T, int Cin, int Cout, int K,
                         int stride, int groups, int pad_l, int pad_r);

/* Positional conv y = x + gelu(pre), pre = conv(x) with "same" padding
 * (K/2 left, K/2 - 1 right for even K, as HF's Wav2Vec2SamePadLayer):
 * dx += dy + conv^T(dpre), dw/db += the conv's (posconv_backward_ref's
 * contract), the conv part by conv1d_gemm_backward. */
int conv1d_gemm_posconv_backward(ops_ctx *ctx, float *dx, float *dw, float *db, const float *dy,
                                 const float *x, const float *pre, const float *w, int B, int T,
                                 int C, int K, int G);
