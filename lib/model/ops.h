/*
 * ops.h — the neural-network operators of the wav2vec2 model, llm.c style.
 *
 * Every op has a plain-C reference `<op>_forward_ref` (lib/model/ops_ref.c: fp32,
 * single-threaded, written for clarity, the oracle of the tests) and a fast
 * `<op>_forward` (lib/model/ops_dnnl.c: oneDNN primitives for the matmul-shaped
 * ops, OpenMP loops for the rest).  Backward passes (lib/model/ops_backward.c)
 * are written against the same argument conventions.
 *
 * Layout everywhere: time-major, row-major [B, T, C] (C fastest).  Weights
 * keep their Hugging Face layout: linear [out, in], conv [out, in/groups, K];
 * the ops adapt the algorithm, never the caller's data.
 *
 * Precision: activations are fp32 unless an op says otherwise.  An op whose
 * output feeds a matmul can write bf16 (ops_dtype), and the matmul-shaped
 * ops (linear, conv1d, attention) take fp32 or bf16 inputs; with bf16 inputs
 * the weights are packed to bf16 and accumulation is fp32.
 *
 * Saved activations for backward: layernorm/groupnorm return mean and rstd;
 * GELU/ReLU keep their inputs with the caller (do not fuse them when
 * training); attention writes its softmax probabilities; the positional conv
 * writes its pre-GELU conv output.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

typedef enum { OPS_F32 = 0, OPS_BF16 = 1 } ops_dtype;

/* Post-operations fused into linear/conv1d, applied in this order:
 * bias, then GELU (exact erf) or ReLU, then ADD (y += result, the residual
 * already in y).  OPS_INT8_SAME_X is not a post-op but a promise to
 * linear_forward_int8: x is the previous int8 call's input, unchanged. */
enum {
	OPS_POST_GELU = 1,
	OPS_POST_RELU = 2,
	OPS_POST_ADD  = 4,
	OPS_INT8_SAME_X = 8,
};

/* bf16 <-> fp32 (round to nearest even; NaN kept a NaN). */
static inline uint16_t ops_f32_to_bf16(float f)
{
	union { float f; uint32_t u; } v = { f };
	if ((v.u & 0x7fffffffu) > 0x7f800000u)
		return (uint16_t)((v.u >> 16) | 0x40);
	return (uint16_t)((v.u + 0x7fffu + ((v.u >> 16) & 1)) >> 16);
}
static inline float ops_bf16_to_f32(uint16_t h)
{
	union { uint32_t u; float f; } v = { (uint32_t)h << 16 };
	return v.f;
}
void ops_to_bf16(uint16_t *dst, const float *src, size_t n);
void ops_from_bf16(float *dst, const uint16_t *src, size_t n);
static inline size_t ops_dtype_size(ops_dtype t) { return t == OPS_BF16 ? 2 : 4; }

/* Output length of a 1-D convolution: floor((T + pad_l + pad_r - K) / stride) + 1
 * (0 when the input is shorter than the kernel). */
int conv1d_out_len(int T, int K, int stride, int pad_l, int pad_r);

/* ---------------------------------------------------------------------------
 * Reference implementations (fp32, plain C).  Output first, llm.c style.
 */

/* y[B,To,Cout] = conv(x[B,T,Cin]) with w [Cout, Cin/groups, K], b [Cout] or
 * NULL; zero padding pad_l/pad_r frames; To = conv1d_out_len(). post: GELU/
 * RELU/ADD as above. */
void conv1d_forward_ref(float *y, const float *x, const float *w, const float *b,
                        int B, int T, int Cin, int Cout, int K, int stride,
                        int groups, int pad_l, int pad_r, int post);
/* y[M,N] = x[M,K] w[N,K]^T + b[N] (b may be NULL), then post-ops. */
void linear_forward_ref(float *y, const float *x, const float *w, const float *b,
                        int M, int K, int N, int post);
/* Layer norm over the last dim of x[N,C]; mean/rstd [N] (may be NULL) keep
 * the statistics for backward.  rstd = 1/sqrt(var + eps), population var. */
void layernorm_forward_ref(float *y, float *mean, float *rstd, const float *x,
                           const float *g, const float *b, int N, int C, float eps);
/* GroupNorm(num_groups = C): each channel of each utterance normalized over
 * time, x/y [B,T,C], mean/rstd [B,C] (may be NULL). */
void groupnorm_forward_ref(float *y, float *mean, float *rstd, const float *x,
                           const float *g, const float *b, int B, int T, int C, float eps);
/* y = x * Phi(x) (exact erf).  In place allowed. */
void gelu_forward_ref(float *y, const float *x, size_t n);
void relu_forward_ref(float *y, const float *x, size_t n);
/* Row-wise log-softmax of x[N,V]. In place allowed. */
void logsoftmax_forward_ref(float *y, const float *x, int N, int V);
/* Multi-head scaled dot-product attention.  q, k, v are [B,T,*] with row
 * stride ld (so they may be column blocks of one fused QKV buffer); head h
 * uses columns [h*D, (h+1)*D), D = C/NH.  kv_len[b] = valid keys of
 * utterance b (NULL: all T); masked keys get probability 0 (HF adds
 * finfo.min).  probs [B,NH,T,T] receives the softmax probabilities (saved
 * for backward); out [B,T,C] the concatenated heads. */
void attention_forward_ref(float *out, float *probs, const float *q, const float *k,
                           const float *v, int ld, const int *kv_len,
                           int B, int T, int C, int NH);
/* Positional conv embedding: pre = conv(x) grouped (G groups, kernel K,
 * padding K/2 each side, last frame dropped when K is even, so T frames)
 * + bias; y = x + gelu(pre).  w [C, C/G, K] (weight norm already folded).
 * pre [B,T,C] is kept for backward. */
void posconv_forward_ref(float *y, float *pre, const float *x, const float *w,
                         const float *b, int B, int T, int C, int K, int G);

/* ---------------------------------------------------------------------------
 * Fast implementations.  The matmul-shaped ones need an ops_ctx: a oneDNN
 * engine and stream, a cache of primitives (one per shape, created at first
 * use), weights packed once into the primitive's preferred blocked layout
 * (keyed by the weight pointer), and a scratch arena that grows to the
 * largest request and is then reused: no allocation in steady state.
 * A ctx is used by one thread at a time (its ops run multi-threaded).
 */
typedef struct ops_ctx ops_ctx;

/* Create/destroy a context.  ACC_EINTERNAL with the dnnl_status on failure. */
int ops_ctx_create(ops_ctx **ctx);
void ops_ctx_free(ops_ctx *ctx);
/* The packed copy of weight w (any dtype) is stale: re-pack it from w at its
 * next use.  Call after an optimizer step changes a weight. */
void ops_ctx_weights_changed(ops_ctx *ctx, const float *w);
/* When pack is 1, fp32 linear weights are also packed into a blocked copy;
 * default 0: read in place from the HF layout (oneDNN's brgemm matmul copies
 * weight blocks itself; measured as fast on Zen 4, and the model's memory
 * stays 1x its fp32 weights).  bf16 weights and conv weights are always
 * packed. */
void ops_ctx_set_pack_f32(ops_ctx *ctx, int pack);
/* Pack the weight w [N,K] of a linear layer now, as linear_forward with a
 * bf16 input (xt == OPS_BF16) or linear_forward_int8 (int8) will read it.
 * fp32 linear weights are read in place: ACC_EINVAL. */
int ops_ctx_pack_linear(ops_ctx *ctx, const float *w, int K, int N, ops_dtype xt, int int8);
/* Likewise the packing linear_backward_data reads w with (dy in dyt; only
 * bf16 packs: ACC_EINVAL for fp32). */
int ops_ctx_pack_linear_bwd(ops_ctx *ctx, const float *w, int K, int N, ops_dtype dyt);
/* w's memory may no longer be read (its caller released it; w2v_fwd_lean):
 * its packings stay valid, a layout not yet made is derived from one of
 * them, and a stale one is an error. */
void ops_ctx_source_released(ops_ctx *ctx, const float *w);
/* Most primitives kept (least recently used evicted first; default 384). */
void ops_ctx_set_cache_max(ops_ctx *ctx, int n);
/* 1 when oneDNN's effective ISA has AMX (its tiles, not vdpbf16ps, then do
 * the bf16 matmuls).  A fact about the kernels, no measurement: which
 * precision to run is the caller's choice (w2v_precision.h). */
int ops_has_amx(void);
/* Bytes held by packed weights (for benchmarks). */
size_t ops_ctx_packed_bytes(const ops_ctx *ctx);
/* Scratch slot `slot` (0..OPS_SCRATCH_SLOTS-1) of at least `bytes`, 64-byte
 * aligned; kept and reused across calls.  NULL and ACC_ENOMEM set on failure. */
#define OPS_SCRATCH_SLOTS 16
void *ops_ctx_scratch(ops_ctx *ctx, int slot, size_t bytes);

/* linear: y[M,N] (yt) = x[M,K] (xt) w^T + b, post-ops fused into the oneDNN
 * matmul.  xt == OPS_BF16 uses bf16 weights (packed once).  With
 * OPS_POST_ADD, y holds the residual on entry. */
int linear_forward(ops_ctx *ctx, void *y, ops_dtype yt, const void *x, ops_dtype xt,
                   const float *w, const float *b, int M, int K, int N, int post);
/* Dynamic-int8 linear (`--precision int8`): as linear_forward with an fp32
 * input, computed as int8 x int8 -> int32 (oneDNN, VNNI where the CPU has
 * it): w quantized once per output channel (and re-quantized after
 * ops_ctx_weights_changed), x per row at every call (rule in quant.h), then
 * dequantized, bias and post-ops applied in fp32; y in yt.  Reference:
 * quant_linear_ref (same integers; the float epilogue may round
 * differently).  Inference only: there is no int8 backward.  With
 * OPS_INT8_SAME_X in post (the caller's promise that x is the previous int8
 * call's input, unmodified: Q, K and V read one normed input) the previous
 * quantization of x is reused when x, M and K match it. */
int linear_forward_int8(ops_ctx *ctx, void *y, ops_dtype yt, const float *x, const float *w,
                        const float *b, int M, int K, int N, int post);
/* General matmul for operands that change every call (gradients,
 * activations; nothing packed): C[M,N] (ct) = op(A) op(B), or += with
 * accumulate.  A is [M,K] row-major, or stored [K,M] when transa; B is
 * [K,N], or stored [N,K] when transb (so B = W with transb gives x W^T).
 * A and B both in `it`.  For backward: dX = dY W is (A=dY, B=W, transb=0),
 * dW = dY^T X is (A=dY, transa=1, B=X). */
int matmul_forward(ops_ctx *ctx, void *C, ops_dtype ct, const void *A, int transa,
                   const void *B, int transb, ops_dtype it, int M, int N, int K, int accumulate);
void matmul_forward_ref(float *C, const float *A, int transa, const float *B, int transb,
                        int M, int N, int K, int accumulate);
/* Input gradient of linear_forward: dx[M,K] (fp32) += dy[M,N] (dyt) w[N,K].
 * w is packed once like a forward weight (bf16 when dyt is bf16; a packing
 * of its own, kept apart from the forward's w^T packing) and re-packed after
 * ops_ctx_weights_changed(w).  Reference: linear_backward_ref's dx. */
int linear_backward_data(ops_ctx *ctx, float *dx, const void *dy, ops_dtype dyt, const float *w,
                         int M, int K, int N);
/* Batched strided matmul over a [B0, B1] grid:
 *   C[i,j] (ct, M x N) = scale * A[i,j] (M x K) B[i,j] (K x N)   (+ C[i,j] when accumulate)
 * Every operand is a view given by its 4 element strides over (i, j, row,
 * col), so a transposed operand or a column block of a wider buffer needs
 * no copy.  A and B in `it` (bf16: fp32 accumulation).  The attention
 * backward's matmuls; ops_bmm_ref is the plain-C reference (fp32). */
int ops_bmm(ops_ctx *ctx, void *C, ops_dtype ct, const int64_t cs[4], const void *A, const int64_t as[4],
            const void *B, const int64_t bs[4], ops_dtype it, int B0, int B1, int M, int N, int K,
            float scale, int accumulate);
void ops_bmm_ref(float *C, const int64_t cs[4], const float *A, const int64_t as[4], const float *B,
                 const int64_t bs[4], int B0, int B1, int M, int N, int K, float scale, int accumulate);
/* conv1d: as conv1d_forward_ref, on a oneDNN convolution (nwc layout). */
int conv1d_forward(ops_ctx *ctx, void *y, ops_dtype yt, const void *x, ops_dtype xt,
                   const float *w, const float *b, int B, int T, int Cin, int Cout,
                   int K, int stride, int groups, int pad_l, int pad_r, int post);
/* attention: as attention_forward_ref; q/k/v in qt (fp32 or bf16), out in
 * ot.  probs (fp32 [B,NH,T,T]) may be NULL when not needed for backward
 * (then a scratch buffer is used).  Batched over B*NH with oneDNN matmuls. */
int attention_forward(ops_ctx *ctx, void *out, ops_dtype ot, float *probs,
                      const void *q, const void *k, const void *v, ops_dtype qt,
                      int ld, const int *kv_len, int B, int T, int C, int NH);
/* posconv: as posconv_forward_ref (xt is the dtype the conv reads: the
 * caller passes an fp32 x and, in bf16 mode, a bf16 copy xc of it; xc may
 * be NULL when xt is fp32).  pre may be NULL (scratch). */
int posconv_forward(ops_ctx *ctx, float *y, float *pre, const float *x,
                    const void *xc, ops_dtype xt, const float *w, const float *b,
                    int B, int T, int C, int K, int G);

/* OpenMP ops (no context needed).  Outputs may be bf16 where they feed a
 * matmul.  mean/rstd may be NULL. */
void layernorm_forward(void *y, ops_dtype yt, float *mean, float *rstd, const float *x,
                       const float *g, const float *b, int N, int C, float eps);
void groupnorm_forward(float *y, float *mean, float *rstd, const float *x,
                       const float *g, const float *b, int B, int T, int C, float eps);
void gelu_forward(void *y, ops_dtype yt, const float *x, size_t n);
void relu_forward(float *y, const float *x, size_t n);
void logsoftmax_forward(float *y, const float *x, int N, int V);
