/*
 * ops_backward.h — backward passes of the operators of ops.h.
 *
 * Same layouts and argument conventions as ops.h (time-major [B,T,C],
 * weights in Hugging Face layout).  Convention (llm.c): every backward
 * ACCUMULATES (+=) into its gradient outputs, input gradients and parameter
 * gradients alike, so residual branches and gradient accumulation over
 * micro-batches need no extra buffers; the caller zeroes them.  Any gradient
 * output may be NULL: it is then not computed (frozen parameters, or an
 * input that needs no gradient), which also skips its cost.
 *
 * Each op has a plain-C reference `<op>_backward_ref` (single-threaded,
 * double accumulation; the oracle of the finite-difference tests) and a
 * fast `<op>_backward` (oneDNN matmuls for linear, OpenMP loops elsewhere).
 * Everything is fp32, except that the matmul-shaped backwards (linear and
 * attention) take a matmul dtype: with OPS_BF16 they round their matmul
 * operands to bf16 and accumulate in fp32 (PyTorch's bf16 autocast), while
 * their inputs, outputs and every element-wise step stay fp32.
 */
#pragma once
#include <stdint.h>
#include <stddef.h>

#include "model/ops.h"

/* ---- references ---- */

/* y[M,N] = x[M,K] w[N,K]^T + b: dx[M,K] += dy w, dw[N,K] += dy^T x, db[N] += sum_m dy. */
void linear_backward_ref(float *dx, float *dw, float *db, const float *dy, const float *x,
                         const float *w, int M, int K, int N);
/* Layer norm over C of x[N,C] with the forward's mean/rstd [N]:
 * dx += rstd * (g*dy - mean(g*dy) - xhat * mean(g*dy*xhat)), dg += dy*xhat, db += dy. */
void layernorm_backward_ref(float *dx, float *dg, float *db, const float *dy, const float *x,
                            const float *mean, const float *rstd, const float *g, int N, int C);
/* GroupNorm(C groups) of x[B,T,C] normalized over T, mean/rstd [B,C]. */
void groupnorm_backward_ref(float *dx, float *dg, float *db, const float *dy, const float *x,
                            const float *mean, const float *rstd, const float *g,
                            int B, int T, int C);
/* dx += dy * gelu'(x) (exact erf) / dy * [x > 0]; x is the op's input. */
void gelu_backward_ref(float *dx, const float *dy, const float *x, size_t n);
void relu_backward_ref(float *dx, const float *dy, const float *x, size_t n);
/* y = log_softmax(x) rows [N,V]: dx += dy - softmax(x) * sum(dy) (y is the
 * forward output). */
void logsoftmax_backward_ref(float *dx, const float *dy, const float *y, int N, int V);
/* Attention (see attention_forward_ref) through its saved probs:
 * dq/dk/dv share q/k/v's row stride ld (they may be column blocks of one
 * buffer); dout [B,T,C]. */
void attention_backward_ref(float *dq, float *dk, float *dv, const float *dout,
                            const float *q, const float *k, const float *v, const float *probs,
                            int ld, const int *kv_len, int B, int T, int C, int NH);
/* Convolution (see conv1d_forward_ref) without post-ops: dy is the gradient
 * of the conv output (bias included). */
void conv1d_backward_ref(float *dx, float *dw, float *db, const float *dy, const float *x,
                         const float *w, int B, int T, int Cin, int Cout, int K, int stride,
                         int groups, int pad_l, int pad_r);
/* Positional conv y = x + gelu(pre), pre = conv(x): dx += dy + conv^T(dpre). */
void posconv_backward_ref(float *dx, float *dw, float *db, const float *dy, const float *x,
                          const float *pre, const float *w, int B, int T, int C, int K, int G);

/* ---- fast versions (same contracts) ---- */

/* Returns 0 or the oneDNN error of matmul_forward; ctx as in ops.h. */
int linear_backward(ops_ctx *ctx, float *dx, float *dw, float *db, const float *dy,
                    const float *x, const float *w, int M, int K, int N);
void layernorm_backward(float *dx, float *dg, float *db, const float *dy, const float *x,
                        const float *mean, const float *rstd, const float *g, int N, int C);
void groupnorm_backward(float *dx, float *dg, float *db, const float *dy, const float *x,
                        const float *mean, const float *rstd, const float *g, int B, int T, int C);
void gelu_backward(float *dx, const float *dy, const float *x, size_t n);
void relu_backward(float *dx, const float *dy, const float *x, size_t n);
void logsoftmax_backward(float *dx, const float *dy, const float *y, int N, int V);
/* linear_backward with matmul dtype mt: OPS_F32 is linear_backward; with
 * OPS_BF16 dy and x are rounded to bf16 (ctx scratch slots 0, 1), dx += dy w
 * runs on a bf16 packing of w (linear_backward_data), dw += dy^T x in bf16
 * with fp32 accumulation; db is summed from the fp32 dy. */
int linear_backward_dt(ops_ctx *ctx, float *dx, float *dw, float *db, const float *dy,
                       const float *x, const float *w, int M, int K, int N, ops_dtype mt);
/* With ctx: four batched oneDNN matmuls over all (utterance, head) pairs
 * reading q/k/v/dout through strides (dV = P^T dO, dP = dO V^T, dQ = dS K,
 * dK = dS^T Q; ctx scratch slots 2..8); ctx NULL: OpenMP loops over
 * (utterance, head).  ACC_ENOMEM / oneDNN errors. */
int attention_backward(ops_ctx *ctx, float *dq, float *dk, float *dv, const float *dout,
                       const float *q, const float *k, const float *v, const float *probs,
                       int ld, const int *kv_len, int B, int T, int C, int NH);
/* attention_backward of an attention whose probabilities went through
 * dropout (dropout.h: attention_dropout_output with the same p and key;
 * p = 0: none), its matmuls in dtype mt (OPS_BF16: q, k, v, dout, the
 * probabilities and dS rounded to bf16, fp32 accumulation; the softmax
 * backward between them in fp32).  ctx is required. */
int attention_backward_dropout(ops_ctx *ctx, float *dq, float *dk, float *dv, const float *dout,
                               const float *q, const float *k, const float *v, const float *probs,
                               int ld, const int *kv_len, int B, int T, int C, int NH,
                               float p, uint64_t key, ops_dtype mt);
/* (the fast convolution backwards are conv1d_gemm_backward and
 * conv1d_gemm_posconv_backward, lib/model/conv1d_gemm.h) */
