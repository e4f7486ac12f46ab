/*
 * align.h — CTC forced alignment (Viterbi) of a token sequence to frame
 * log-probabilities, with the exact semantics of torchaudio's
 * functional.forced_align, and the token/word spans and quality measures
 * built on the path.
 *
 * The trellis has 2L+1 states (blank on even states, label j on state
 * 2j+1); a label may skip the blank before it only when it differs from the
 * previous label; only the band of states that can be reached from the start
 * and can still reach the end is computed.  Ties: staying beats moving one
 * state, moving one beats skipping; at the end the last blank wins only when
 * strictly better than the last label.  Scores accumulate in double.
 *
 * Memory: backpointers take 2 bits per state inside the band.  When they
 * would exceed the budget, the forward pass keeps alpha rows at block
 * boundaries (checkpoints) and the backtrack recomputes one block at a time,
 * bit-identically, so a one-hour recording (180,000 frames) with a long
 * transcript aligns in bounded memory.  All indexing is 64-bit.
 *
 * Time: frame t covers samples [t*320, (t+1)*320) at 16 kHz (the wav2vec2
 * stride), so a span of frames [a, b) is [a*0.02 s, b*0.02 s), end exclusive.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "audio/audio.h"

#define ALIGN_STRIDE 320      /* samples per frame (at AUDIO_RATE samples per second) */

/* Seconds at the start of frame f. */
static inline double align_frame_time(int64_t f) { return (double)(f * ALIGN_STRIDE) / AUDIO_RATE; }

typedef struct align_opts {
	int    blank;        /* blank id (the model's pad id) */
	int    star_id;      /* -1, or V: the id that stands for <star> (log-prob 0 on every frame) */
	size_t mem_budget;   /* bytes for backpointers before checkpointing; 0 = 256 MiB */
} align_opts;

typedef struct align_path {
	int64_t T;
	int     *labels;     /* [T] id per frame (blank or the target id): torchaudio's output */
	int64_t *tok;        /* [T] target position of the frame, -1 on blank frames */
	float   *scores;     /* [T] log-prob of the frame's label (0 for <star>) */
	double   score;      /* path log-prob (sum of scores, in double) */
	int      blocks;     /* 1 = single pass; > 1 = checkpointed recomputation */
	size_t   peak_bytes; /* peak bytes this call held (trellis rows, backpointers, checkpoints) */
} align_path;

/* Align targets[0..L) to emissions emis[t*ld + v] (t < T, v < V: log-probs).
 * ACC_EINVAL with a clear message when the alignment is impossible
 * (T < L + repeats: see ctc_min_frames) or an id is out of range or blank. */
int align_viterbi(const float *emis, int64_t T, int V, int64_t ld, const int *targets, int64_t L,
		  const align_opts *o, align_path *out);
void align_path_free(align_path *p);

/* A token or word span: frames [start, end), end exclusive. */
typedef struct align_span {
	int64_t first, last;   /* target positions covered (a token: first == last) */
	int     id;            /* token id (words: id of the first token) */
	int64_t start, end;    /* frames */
	double  mean_logp;     /* mean log-prob over the span's label frames */
	double  mean_p;        /* mean probability over the same frames */
} align_span;

/* One span per target position (L spans, malloc'ed). */
int align_token_spans(const align_path *p, int64_t L, align_span **spans);

/* How far a word reaches past its characters' frames (align_word_spans):
 * the first character's spike comes up to ALIGN_WORD_LEAD frames after the
 * word's onset, the last character's spike ends ~ALIGN_WORD_TAIL frames
 * before the word's acoustic end. */
#define ALIGN_WORD_LEAD 1
#define ALIGN_WORD_TAIL 2

/* Words: runs of target positions between word delimiters (and <star>
 * tokens, which are never part of a word); scores are the frame-weighted
 * means of their tokens (first/last: the token positions).  A word's
 * extent is read off the path, not just its characters' frames: a CTC
 * model fires a one- or two-frame spike per character where it recognizes
 * it, and the delimiter '|' between two words is the boundary (its span
 * ends where the next word starts, measured within a few ms on synthetic
 * truth, docs/BASE_MODEL.md).  So a word ends at the end of the '|' after
 * it, but no later than ALIGN_WORD_TAIL frames after its last character (a
 * pause: the delimiter then sits inside the silence); it starts at the end
 * of the '|' before it, but no earlier than ALIGN_WORD_LEAD frames before
 * its first character.  Without a delimiter (the first word, the last one,
 * next to a <star>) it starts at its first character and ends
 * ALIGN_WORD_TAIL frames after its last one, never past the next token's
 * start nor frame T.  *words malloc'ed (NULL when *n == 0). */
int align_word_spans(const align_span *tok, int64_t L, int64_t T, const int *targets, int delim, int star,
		     align_span **words, int64_t *n);

/* Quality of an aligned stretch of frames [f0, f1): mean log-prob of the
 * path over frames not on <star>, and the minimum over windows of `win`
 * frames of the mean log-prob (CTC-segmentation-style confidence; the
 * whole stretch when shorter).  Frames on star are skipped in both. */
void align_quality(const align_path *p, int64_t f0, int64_t f1, int star, int win,
		   double *mean_logp, double *min_window);
