/*
 * w2v_backward.h — backward pass of Wav2Vec2ForCTC (both layouts) from the
 * gradient of the logits down to the lowest trainable tensor, on the
 * activations a W2V_FWD_TRAIN forward kept (lib/model/w2v_forward.h).
 *
 * What trains is described by `base_from` (the freezing strategy):
 *   W2V_BWD_ADAPTERS (= num_hidden_layers): adapters + lm_head only (the MMS
 *     recipe); no gradient for any base tensor, and the pass stops inside
 *     layer 0 right after its adapter (below it nothing trains);
 *   0 < k < L: additionally every base tensor of encoder layers k..L-1 and
 *     encoder.layer_norm ("top:K" with k = L - K);
 *   0: the whole encoder, positional conv and feature projection;
 *   W2V_BWD_WITH_CONV (-1): also the conv feature encoder (the forward must
 *     have kept its activations: W2V_FWD_TRAIN_FEAT).
 * Gradients go to two blocks shaped like the model's (m->train, m->base):
 * the gradient of a parameter at m->base + i is gbase[i] (likewise train).
 * Gradients ACCUMULATE (+=), so micro-batches of an accumulation step just
 * call w2v_backward in turn; frozen tensors' slices are never written.
 * Regularization of the forward (w2v_fwd_set_reg) is differentiated with
 * the same masks: dropped elements get no gradient, skipped layers are the
 * identity, time-masked frames send their gradient to masked_spec_embed
 * (which trains, as in HF, when base_from <= 0) instead of the projection.
 * After a W2V_FWD_RECOMPUTE forward each layer's activations are rebuilt
 * (w2v_fwd_recompute_layer) just before that layer's backward: the same
 * gradients bit for bit, with one layer's activations resident.
 */
#pragma once
#include "model/w2v.h"
#include "model/w2v_forward.h"

#define W2V_BWD_ADAPTERS  (1 << 20)  /* clamped to num_hidden_layers */
#define W2V_BWD_WITH_CONV (-1)

typedef struct w2v_bwd w2v_bwd;

int w2v_bwd_create(w2v_bwd **b);
void w2v_bwd_free(w2v_bwd *b);

/* Backward of the batch last run through f (flags must include
 * W2V_FWD_TRAIN; with W2V_FWD_BF16 the matmuls of the backward run in bf16
 * with fp32 accumulation, gradients stay fp32).  input: the [B,n] samples given to w2v_forward
 * (only read, and then required, when the conv encoder trains).  dlogits [B,T,V] = d loss / d logits (zero on padded
 * frames).  gtrain: train_numel floats (required); gbase: base_numel floats,
 * required when base_from < num_hidden_layers, else may be NULL.
 * ACC_EINVAL for a forward without the needed activations; ACC_ENOMEM. */
int w2v_backward(w2v_bwd *b, w2v_fwd *f, const float *input, const float *dlogits,
                 float *gtrain, float *gbase, int base_from);

/* Is tensor t trained under base_from?  (The adapter group always is.) */
int w2v_tensor_trains(const w2v_model *m, const w2v_tensor *t, int base_from);
