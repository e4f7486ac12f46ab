/*
 * ctc.h — CTC loss and its gradient with respect to the logits, with the
 * semantics of torch.nn.functional.ctc_loss as Hugging Face's
 * Wav2Vec2ForCTC calls it: log_softmax over the vocabulary, blank = the
 * model's pad id, reductions "none" / "mean" (each utterance's loss divided
 * by its target length, clamped to at least 1, then averaged over the batch)
 * / "sum", and zero_infinity (an impossible target gives loss 0 and zero
 * gradient instead of +inf).
 *
 * Forward-backward in log space with double accumulation; utterances of a
 * batch run in parallel (OpenMP).
 */
#pragma once
#include <stdint.h>

typedef enum ctc_reduction {
	CTC_REDUCE_NONE = 0,   /* *loss = sum of per-utterance losses (losses[] is the answer) */
	CTC_REDUCE_MEAN = 1,
	CTC_REDUCE_SUM  = 2,
} ctc_reduction;

typedef struct ctc_opts {
	int           blank;          /* blank id (HF: config.pad_token_id) */
	ctc_reduction reduction;
	int           zero_infinity;  /* HF: config.ctc_zero_infinity */
} ctc_opts;

/* CTC loss of a batch.
 *   logits         [B, T, V] row-major (HF lm_head output layout); frames
 *                  t >= input_lengths[b] are ignored (padding).
 *   input_lengths  [B] valid frames per utterance (<= T)
 *   targets        [B, S] label ids, row b holds target_lengths[b] valid ids
 *                  (the rest is padding, not read); ids in [0, V), != blank
 *   losses         [B] out (optional): per-utterance negative log-likelihood
 *                  (after zero_infinity), before reduction
 *   loss           out (optional): the reduced loss (for CTC_REDUCE_NONE the sum)
 *   grad_logits    [B, T, V] out (optional): d loss / d logits of the reduced
 *                  loss (for CTC_REDUCE_NONE: of the sum), through log_softmax;
 *                  zero on padding frames and for zeroed infinite losses.
 * Returns 0, or ACC_EINVAL naming the bad length/label. */
int ctc_loss(const float *logits, int B, int64_t T, int V, const int64_t *input_lengths,
	     const int *targets, int64_t S, const int64_t *target_lengths, const ctc_opts *opts,
	     double *losses, double *loss, float *grad_logits);

/* Minimum frames a target needs: its length plus the number of adjacent
 * repeats (a blank must separate them). */
int64_t ctc_min_frames(const int *target, int64_t L);
