/*
 * eval_grid.h — tuning the LM weights of the beam decoder: every (alpha,
 * beta, unknown-word penalty) triple of a grid decodes the same emissions
 * (computed once), scored by corpus WER against the references.  The
 * unknown-word penalty is an axis because its best value depends on how
 * many of the language's words the LM has never seen: with an LM built
 * from a few hundred sentences, a fifth or more of the words of new
 * sentences are unknown (measured: amh 19%, tam 81%), and the default
 * penalty of -10 (log10) then makes the beam replace them with known words,
 * so beam + LM ends up worse than greedy.  Pure: emissions in, WERs out (no
 * manifest, no model), so it is unit-tested on synthetic emissions.
 */
#pragma once
#include <stdint.h>

#include "decode/arpa.h"
#include "decode/ctc_beam.h"

/* The most values on each axis. */
#define EVAL_GRID_MAX 16

typedef struct eval_grid_cell {
	double alpha, beta, unk;
	double wer;        /* corpus WER of this triple */
} eval_grid_cell;

/* The values tried on each axis.  nu == 0: the decoder's own unk_penalty
 * (the grid is alpha x beta). */
typedef struct eval_grid_axes {
	double alpha[EVAL_GRID_MAX], beta[EVAL_GRID_MAX], unk[EVAL_GRID_MAX];
	int    na, nb, nu;
} eval_grid_axes;

/* Cells of a grid: na * nb * max(nu, 1). */
static inline int eval_grid_cells(const eval_grid_axes *g) { return g->na * g->nb * (g->nu > 0 ? g->nu : 1); }

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
 * reference) with each triple alpha[ia], beta[ib], unk[iu]:
 * cells[(ia * nb + ib) * max(nu, 1) + iu] (eval_grid_cells of them).
 * *best: the cell with the lowest WER (the first on ties), -1 when none is
 * finite. */
int eval_grid_search(const eval_grid_decoder *dec, const float *const *lp, const int64_t *T,
                     const char *const *ref, int n, const eval_grid_axes *g, eval_grid_cell *cells, int *best);

/* Parse "A1,A2,...:B1,B2,..." or "A1,...:B1,...:U1,U2,..." (alphas, betas,
 * unknown-word penalties in log10, each <= 0; at most EVAL_GRID_MAX
 * values each): 0, or ACC_EINVAL with a message naming the part that is
 * wrong. */
int eval_grid_parse(const char *s, eval_grid_axes *g);

/* Parse a comma-separated list of at most max finite numbers ("10,20");
 * what names it in the message.  The count, or ACC_EINVAL (< 0). */
int eval_list_parse(const char *s, double *out, int max, const char *what);
