/*
 * trainer_dist.h — the ranks' side of data-parallel training: the gradient
 * of one optimizer step and the dev evaluation's counts.
 *
 * Step: with `mpirun -np N train`, N ranks share the step's global batch
 * of M = N x k micro-batches, rank r computing micro-batches r*k ..
 * r*k+k-1, and every rank ends with the gradient sum, loss sum and good count that
 * one process computing all M micro-batches in order would have.
 *
 * The one-process trainer adds each good micro-batch's gradient to a
 * running sum, in micro-batch order.  Here rank 0 does exactly that with
 * its own; rank r > 0 keeps copies of its good gradients (k blocks of the
 * trained size: the memory cost of this scheme) until the running sum of
 * ranks 0..r-1 arrives through dist_chain_sum_f32, adds them in order and
 * passes it on.  So the weights after any number of steps are bit for bit
 * those of `train --accum N*k` in one process (tests/mpi_train.sh).
 * Losses and the skip flags travel as small arrays with one non-zero
 * contributor per element (exact sums) and are folded in order too.
 */
#pragma once
#include <stddef.h>

#include "text/metrics.h"

typedef struct trainer_dist trainer_dist;

/* Gradient blocks of nt (trainable group) and nb (trained base tensors, 0
 * when none) floats. */
int trainer_dist_create(trainer_dist **g, size_t nt, size_t nb);
void trainer_dist_free(trainer_dist *g);

/* A new step of M global micro-batches. */
int trainer_dist_begin(trainer_dist *g, int M);

/* This rank computed global micro-batch a: its loss, whether it is good
 * (finite loss and gradient), and on ranks > 0 for a good one its
 * gradients gt [nt], gb [nb] (copied).  Rank 0 folds its own into the
 * trainer's sum as one process would, and passes gt = gb = NULL. */
int trainer_dist_add(trainer_dist *g, int a, int good, double loss, const float *gt, const float *gb);

/* The step's reduction.  On entry gsum_t/gsum_b on rank 0 hold the fold of
 * its good micro-batches (zero when none); on return they hold the fold of
 * every rank's on every rank, *lsum the in-order sum of the good losses,
 * *good their number, *audio_s the ranks' audio seconds added in rank
 * order. */
int trainer_dist_reduce(trainer_dist *g, float *gsum_t, float *gsum_b, double *lsum, int *good, double *audio_s);

/* Sum a dev evaluation's edit counts over the ranks (exact: integers);
 * every rank gets the total. */
int trainer_dist_metrics_sum(metrics_accum *ma);
