/*
 * balance.h — speaker balance weights and speaker-disjoint data splits,
 * computed over the manifest and written back to it (utterances.weight,
 * speakers.weight/n_utterances/total_duration_s, utterances.split).
 *
 * Weights.  Each considered utterance u of speaker s gets
 *     w_u = d_u * T_s^(alpha-1) * c
 * (d_u its duration, T_s the speaker's total considered duration), so the
 * speaker's sampling mass is proportional to T_s^alpha: alpha = 1 keeps the
 * natural distribution, alpha = 0 gives every speaker the same mass, 0.5 is
 * in between.  c makes the mean weight over the considered utterances 1.
 * When speakers carry an accent/dialect, the same rule is applied at the
 * accent level first (accent A gets mass ~ T_A^alpha) and then to the
 * speakers within each accent (s gets T_s^alpha / sum over A of T^alpha of
 * that); a speaker with no accent is a group of its own.  An optional cap
 * limits the share of the total mass any speaker gets; the excess is given
 * to the others in proportion to their mass (water-filling).  Utterances with
 * no speaker are grouped per recording.
 *
 * Splits.  Every speaker (or, with no speaker, recording) goes to exactly one
 * of train/dev/test, so the splits are speaker-disjoint.  Per language (the
 * speaker's language is the one with most of its audio), speakers are ordered
 * by SHA-256(seed, speaker label) and laid along the cumulative audio
 * duration; a speaker goes to the split in whose proportion band its midpoint
 * falls.  The result depends only on the seed, the labels and the durations,
 * never on row ids or insertion order.  A split with a non-zero proportion is
 * never left empty while another split has two or more speakers.  With
 * distinct_text, an utterance whose text_norm also occurs in a split of
 * higher priority (test > dev > train) is moved to split 'excluded', so no
 * sentence is in more than one of train/dev/test.
 *
 * Both functions run in one transaction (a savepoint when the caller already
 * has one open) and leave the manifest unchanged on error.
 */
#pragma once
#include "manifest/manifest.h"
#include <stdint.h>

typedef struct balance_opts {
	double      alpha;       /* exponent, 0..1 (default 0.5) */
	double      cap;         /* max share of the total mass per speaker, 0 = none */
	int         use_accent;  /* 1: balance accents first when known (default 1) */
	const char *status;      /* utterances considered: this status (default "ok") */
	const char *split;       /* and only this split; NULL = every split (default) */
} balance_opts;
#define BALANCE_OPTS_DEFAULT { .alpha = 0.5, .cap = 0, .use_accent = 1, .status = "ok", .split = NULL }

typedef struct balance_stats {
	int64_t utterances;      /* utterances that got a weight */
	int64_t speakers;        /* speakers (or per-recording groups) weighted */
	int64_t accents;         /* accent groups with a known accent */
	int64_t capped;          /* speakers held at the cap */
	double  min_share, max_share;  /* smallest/largest speaker share of the mass */
} balance_stats;

/* Recompute utterances.weight (NULL for utterances not considered) and
 * speakers.weight (weight per second of audio, so that weight = duration_s *
 * speakers.weight), plus speakers.n_utterances and total_duration_s.
 * ACC_EINVAL for alpha outside [0,1], a cap outside [0,1] or one below
 * 1/speakers (cannot be met); st may be NULL. */
int balance_weights(manifest *m, const balance_opts *o, balance_stats *st);

/* Only refresh speakers.n_utterances and total_duration_s (status 'ok'
 * utterances), e.g. after an ingest that does not recompute weights. */
int balance_speaker_totals(manifest *m);

typedef struct split_opts {
	double   train, dev, test;  /* proportions of audio duration (normalized; default .8 .1 .1) */
	uint64_t seed;              /* default 0 */
	int      distinct_text;     /* keep identical text_norm out of more than one split */
	int      by_count;          /* proportions of speakers instead of duration */
} split_opts;
#define SPLIT_OPTS_DEFAULT { .train = 0.8, .dev = 0.1, .test = 0.1, .seed = 0, .distinct_text = 0, .by_count = 0 }

typedef struct split_stats {
	int64_t speakers[3];     /* train, dev, test */
	int64_t utterances[3];
	double  hours[3];
	int64_t excluded;        /* utterances moved to 'excluded' (distinct_text) */
	int64_t langs;           /* languages split */
} split_stats;

/* Assign utterances.split for every utterance of the manifest (any status).
 * ACC_EINVAL for negative proportions or a zero sum; st may be NULL. */
int balance_split(manifest *m, const split_opts *o, split_stats *st);

/* "train", "dev", "test" for 0, 1, 2. */
const char *balance_split_name(int i);
