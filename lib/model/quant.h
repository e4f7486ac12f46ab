/*
 * quant.h — symmetric int8 quantization for the dynamic-int8 linear layers
 * (`--precision int8`): weights per output channel once at load, activations
 * per row at every call, int32 accumulation, dequantization in fp32.
 *
 * One rounding rule serves the fast path (lib/model/ops_dnnl.c, oneDNN s8 x s8 ->
 * s32 matmuls) and the plain-C reference (quant_linear_ref), so the two
 * agree on every integer and differ only in the float epilogue's rounding.
 *
 * Rule, for a row r of n values: scale = max|r| / 127 (a row of zeros gets
 * scale 1 and zeros), q = round-half-even(r / scale) clamped to [-127, 127].
 * -128 is never produced: s8 x s8 products then fit the VNNI u8 x s8 path
 * with oneDNN's compensation, and the range is symmetric.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

/* q[rows, n] and scale[rows] from x[rows, n] (row-major), by the rule above.
 * Non-finite inputs quantize as 0 (and do not set the scale). */
void quant_rows_s8(int8_t *q, float *scale, const float *x, int rows, int n);

/* Reference dynamic-int8 linear: y[M,N] = dequant(quant(x) quant(w)^T) + b,
 * then GELU (exact erf) / ReLU / += y (ops.h OPS_POST_* order).  x [M,K]
 * fp32, w [N,K] fp32 (HF layout), b [N] or NULL.  Single-threaded, for the
 * tests.  0, or ACC_ENOMEM (y untouched). */
int quant_linear_ref(float *y, const float *x, const float *w, const float *b,
                      int M, int K, int N, int post);

/* Largest |y_int8 - y_fp32| a dynamic-int8 linear can have over x [M,K] and
 * w [N,K] (before post-ops): each product carries at most half a step of
 * both operands, so the bound is sum_k (|x| sw/2 + |w| sx/2 + sx sw/4) for
 * the worst row and column.  For tests and for reasoning about accuracy. */
double quant_linear_error_bound(const float *x, const float *w, int M, int K, int N);
