/*
 * adamw.h — the AdamW optimizer exactly as torch.optim.AdamW (single-tensor
 * path, amsgrad off): decoupled weight decay p *= 1 - lr*wd, then
 *   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
 *   p -= lr / (1-b1^t) * m / (sqrt(v) / sqrt(1-b2^t) + eps)
 * State is two float blocks (first and second moments) of the size of the
 * parameter block they serve, so a tensor's state is found at the same
 * offset as the tensor (w2v_tensor.offset), plus the step count.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

typedef struct {
	double beta1, beta2, eps, weight_decay;   /* torch defaults 0.9, 0.999, 1e-8, 0.01 */
} adamw_hparams;

typedef struct {
	size_t n;        /* elements of each moment block */
	float *m, *v;    /* first / second moments (zero-initialized) */
	int64_t step;    /* completed steps (torch's state["step"]) */
} adamw_state;

/* torch.optim.AdamW's defaults. */
adamw_hparams adamw_defaults(void);

/* Allocate zeroed moments for n parameters.  ACC_ENOMEM. */
int adamw_init(adamw_state *s, size_t n);
void adamw_free(adamw_state *s);

/* Start a step: increments s->step (call once per optimizer step, before
 * the adamw_update calls of that step). */
void adamw_begin_step(adamw_state *s);

/* Update params[0..n) (the slice at offset `off` of the block the state
 * serves) with grads[0..n) at learning rate lr; decay = 0 skips the weight
 * decay for this slice (biases / norms, as HF Trainer groups them).
 * Element-wise, so thread count does not change the result. */
void adamw_update(adamw_state *s, float *params, const float *grads, size_t off, size_t n,
                  double lr, const adamw_hparams *h, int decay);
