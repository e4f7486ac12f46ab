/*
 * w2v_infer.h — CTC emissions from raw 16 kHz audio: the feature
 * extractor's normalization, padded batches with attention masks, and
 * windowed inference for audio of any length.
 *
 * Normalization (Wav2Vec2FeatureExtractor, do_normalize): per utterance,
 * over its valid samples only, x' = (x - mean) / sqrt(var + 1e-7) with the
 * population variance; padding stays 0.  Batches use an attention mask when
 * the model's preprocessor returns one (config return_attention_mask, true
 * for MMS); otherwise the batch is zero padded without a mask, as HF does
 * for wav2vec2-base.
 *
 * Long audio: windows of `win_s` seconds of output frames, each computed
 * with `ctx_s` seconds of extra audio on both sides, the context frames
 * dropped and the rest stitched.  Window starts are multiples of the conv
 * stride (320 samples), so frame j of a window is exactly frame
 * start/320 + j of the whole recording, and the frame count equals
 * w2v_config_frames(n).  Normalization uses the whole recording's
 * statistics (one streaming pass), so a window shorter than the recording
 * sees the same input values as a full pass.  Memory: one window's
 * activations plus the output, whatever the length.
 */
#pragma once
#include <stdint.h>

#include "model/w2v.h"
#include "model/w2v_forward.h"

#define W2V_NORM_EPS 1e-7
/* Batch widths are rounded up to this many samples (0.25 s) when the model
 * uses an attention mask. */
#define W2V_INFER_BUCKET 4000

/* Normalize n samples (mean/variance over all n) from src into dst (may
 * alias).  n == 0 is a no-op. */
void w2v_normalize(float *dst, const float *src, int64_t n);

typedef struct w2v_infer {
	const w2v_model *m;
	w2v_fwd *fwd;
	float *batch;          /* padded, normalized input of the last batch */
	size_t batch_cap;
	int64_t *len;
	int len_cap;
} w2v_infer;

/* flags: W2V_FWD_BF16 or W2V_FWD_INT8 (and W2V_FWD_HIDDEN to keep hidden states). */
int w2v_infer_create(w2v_infer **wi, const w2v_model *m, int flags);
void w2v_infer_free(w2v_infer *wi);

/* For a bf16 or int8 wi over model m: pack its weights now and release
 * their fp32 copies (w2v_fwd_lean), so that a bf16 inference holds its
 * weights once, in bf16 (int8: once, in int8).  m then serves only wi. */
int w2v_infer_lean(w2v_infer *wi, w2v_model *m);

/* Load the model of dir for language lang (as w2v_load_lang: its adapter
 * when present, a clear error when a multilingual model has none) and
 * create an inference over it with flags.  lean (bf16 or int8 flags): pack
 * each linear weight as it is read and release its fp32 copy at once, so
 * the peak memory holds the weights about once, in their packed precision,
 * rather than fp32 + packed.  *m must be freed after *wi. */
int w2v_infer_load(w2v_infer **wi, w2v_model **m, const char *dir, const char *lang, int flags, int lean);

/* Run a batch of B raw utterances (wav[b], n[b] samples): normalize (when
 * cfg.do_normalize), pad, mask (when cfg.return_attention_mask), forward.
 * Afterwards w2v_infer_emissions() gives each utterance's log-probs. */
int w2v_infer_batch(w2v_infer *wi, const float *const *wav, const int64_t *n, int B);

/* Log-probs [T, V] of utterance b of the last batch (row stride V =
 * cfg.vocab_size); *T = its valid frames.  Valid until the next call. */
const float *w2v_infer_emissions(const w2v_infer *wi, int b, int *T);

/* Sample source for long audio: copy samples [start, start+count) into dst
 * (count > 0, within [0, n)).  Return 0 or a negative ACC_E* code. */
typedef int (*w2v_reader)(void *arg, int64_t start, int64_t count, float *dst);

/* Log-probs of a whole recording of n samples read through rd, by windows
 * (win_s > 0 seconds of output per window, ctx_s >= 0 seconds of context on
 * each side; defaults 30 and 2 when <= 0 / < 0).  *lp is malloc'ed [*T, V],
 * *T = w2v_config_frames(n). */
int w2v_infer_long(w2v_infer *wi, w2v_reader rd, void *arg, int64_t n,
                   double win_s, double ctx_s, float **lp, int64_t *T);

/* The same for a recording held in memory. */
int w2v_infer_long_buf(w2v_infer *wi, const float *wav, int64_t n,
                       double win_s, double ctx_s, float **lp, int64_t *T);

struct vocab;
/* Greedy CTC transcription of a recording held in memory (any length,
 * windowed as w2v_infer_long): argmax per frame, decoded like HF's
 * tokenizer (repeats grouped, blank dropped, "|" -> space).  *text is
 * malloc'ed; *frames (may be NULL) receives the frame count. */
int w2v_transcribe(w2v_infer *wi, const struct vocab *v, const float *wav, int64_t n,
                   double win_s, double ctx_s, char **text, int64_t *frames);

