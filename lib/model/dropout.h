/*
 * dropout.h — inverted dropout with counter-based masks, and the attention
 * forward whose probabilities are dropped (transformers' nn.Dropout
 * semantics: an element is kept with probability 1 - p and scaled by
 * 1 / (1 - p); p >= 1 drops everything).
 *
 * Masks are not stored: element i of the tensor identified by `key` is kept
 * iff a 64-bit hash of (key, i) is >= p * 2^32 (upper 32 bits).  The backward
 * regenerates the same mask from the same key, the result does not depend
 * on the thread count, and a key derived from (seed, step, micro-batch,
 * site) makes a training run reproducible and resumable.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "model/ops.h"

/* A stream key for dropout site `site` under per-call seed `seed`. */
uint64_t dropout_key(uint64_t seed, uint64_t site);

/* Is element i kept under (key, p)? */
int dropout_keep(uint64_t key, size_t i, float p);

/* y[i] = x[i] * mask_i / (1 - p) for n elements (y == x allowed).  The same
 * call on a gradient is the backward.  p <= 0 copies. */
void dropout_apply(float *y, const float *x, size_t n, float p, uint64_t key);

/* As dropout_apply on elements base .. base+n-1 of a larger tensor (mask
 * index = base + i). */
void dropout_apply_at(float *y, const float *x, size_t n, size_t base, float p, uint64_t key);

/* Attention output with dropped probabilities: out[B,T,C] (heads
 * concatenated) = (probs o mask) V per head, probs [B,NH,T,T] as written by
 * attention_forward, v [B,T,*] with row stride ld, the mask element index
 * being the probs index.  Keys past kv_len[b] have probability 0.
 * ACC_ENOMEM; oneDNN errors. */
int attention_dropout_output(ops_ctx *ctx, float *out, const float *probs, const float *v, int ld,
                             int B, int T, int C, int NH, float p, uint64_t key);
