/*
 * eval_grid.h — tuning the LM weights of the beam decoder: every (alpha,
 * beta) pair of a grid decodes the same emissions (computed once), scored
 * by corpus WER against the references.  Pure: emissions in, WERs out (no
 * manifest, no model), so it is unit-tested on synthetic emissions.
 */
#pragma once
#include <stdint.h>

#include "decode/arpa.h"
#include "decode/ctc_beam.h"

/* The most values on each axis. */
#define EVAL_GRID_MAX 16

typedef struct eval_grid_cell {
	double alpha, beta;
	double wer;        /* corpus WER of this pair */
} eval_grid_cell;

/* The decoder every pair shares: tokens (NULL = never emitted), their
 * number V (= the emissions' row stride), blank and word delimiter ids,
 * the LM and the other beam options (alpha and beta are the grid's). */
typedef struct eval_grid_decoder {
	const char *const *tokens;
	int                V, blank, delim;
	const arpa        *lm;
	ctc_beam_opts      bo;
} eval_grid_decoder;

/* Decode the n utterances (lp[i]: T[i] x V log-probs; ref[i]: the
 * reference) with each pair alpha[ia], beta[ib]: cells[ia * nb + ib].
 * *best: the cell with the lowest WER (the first on ties), -1 when none is
 * finite. */
int eval_grid_search(const eval_grid_decoder *dec, const float *const *lp, const int64_t *T,
                     const char *const *ref, int n, const double *alpha, int na, const double *beta, int nb,
                     eval_grid_cell *cells, int *best);

/* Parse "A1,A2,...:B1,B2,..." (at most EVAL_GRID_MAX each): 0, or
 * ACC_EINVAL with a message naming the part that is wrong. */
int eval_grid_parse(const char *s, double *alpha, int *na, double *beta, int *nb);

/* Parse a comma-separated list of at most max finite numbers ("10,20");
 * what names it in the message.  The count, or ACC_EINVAL (< 0). */
int eval_list_parse(const char *s, double *out, int max, const char *what);
