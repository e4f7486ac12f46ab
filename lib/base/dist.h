/*
 * dist.h — the process group of a run started with `mpirun -np N`: rank,
 * size and the few collectives the stages need (fixed-order sums, exact
 * integer sums, broadcast, gather of byte records to rank 0, barrier,
 * abort), on Open MPI.
 *
 * Builds: with MPI (ACCENT_MPI defined: the Makefile's MPI=1, the default
 * where `mpicc` is installed; mk/mpi.mk) or without it, where every
 * function below is the one-rank no-op (rank 0 of 1).  A binary started
 * without mpirun is one rank in either build: dist_init() calls MPI_Init
 * only when the launcher's environment says so (OMPI_COMM_WORLD_SIZE,
 * PMIX_RANK or PMI_SIZE), so single-process runs never load the MPI
 * runtime and behave exactly as before.
 *
 * Determinism: MPI's own float reductions may sum in an order that depends
 * on the algorithm the library picks, so float sums here never use them.
 * dist_chain_sum_f32() folds rank 0's value, then rank 1's contributions,
 * then rank 2's, ... element by element (pipelined in chunks along the
 * chain of ranks) and broadcasts the result: every rank gets the same bits,
 * and they equal a one-process fold of the same values in the same order.
 * Integer sums (dist_sum_i64) are exact in any order.
 *
 * Errors: a failing MPI call returns ACC_EIO with MPI's message.  A rank
 * that fails must call dist_abort() (binaries do, after printing the
 * error), since the other ranks would wait for it in the next collective
 * forever; so library code never needs to tell the other ranks about an
 * error (e.g. only rank 0 reads a file and broadcasts it: when it cannot,
 * it reports and aborts, and the others are stopped with it).
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

/* Join the process group when started by an MPI launcher (idempotent;
 * argc/argv may be NULL).  Returns 0 or ACC_EIO. */
int dist_init(int *argc, char ***argv);

/* Leave the group (MPI_Finalize); registered with atexit by dist_init, so
 * binaries need not call it. */
void dist_finalize(void);

/* This process's rank (0 .. size-1) and the number of ranks (1 without MPI). */
int dist_rank(void);
int dist_size(void);

/* 1 when this build can run several ranks (compiled with MPI). */
int dist_built_with_mpi(void);

/* Wait for every rank. */
int dist_barrier(void);

/* Terminate every rank with exit status code (MPI_Abort); without MPI or
 * with one rank, exit(code). */
void dist_abort(int code) __attribute__((noreturn));

/* For the commands that run on one process: 0 when this is the only rank,
 * else ACC_EUNSUPPORTED with "error: WHAT runs on one process, not under
 * mpirun (-np N)" and hint (NULL: "run it without mpirun").  The binary
 * prints it on rank 0 and ends every rank with dist_abort(2). */
int dist_one_rank(const char *what, const char *hint);

/* Broadcast bytes from root to every rank (any size). */
int dist_bcast(void *buf, size_t bytes, int root);

/* Exact element-wise sum of x[0..n) over the ranks, result on every rank. */
int dist_sum_i64(int64_t *x, int n);

/* Element-wise sum of x[0..n) over the ranks in rank order
 * ((x_0 + x_1) + x_2) + ..., the same bits on every rank.  For small arrays
 * (losses, counters): everything goes through rank 0. */
int dist_sum_f64(double *x, int n);

/* The ordered fold of a large float array over the ranks (see the top of
 * this file).  On entry acc[0..n) on rank 0 is the start of the fold (its
 * own contribution); on a rank r > 0 acc is only storage: it receives the
 * running sum of ranks 0..r-1 chunk by chunk, and fold(ctx, acc + off, off,
 * len) must add this rank's contributions to elements [off, off+len), in
 * order.  On return acc holds the complete fold on every rank. */
typedef void (*dist_fold_fn)(void *ctx, float *acc, size_t off, size_t len);
int dist_chain_sum_f32(float *acc, size_t n, dist_fold_fn fold, void *ctx);

/* Gather variable-size byte records to rank 0: each rank passes its buffer;
 * rank 0 receives *out (malloc'd: the ranks' buffers concatenated in rank
 * order) and, when lens is not NULL, *lens (malloc'd size() lengths).  On
 * other ranks *out = NULL.  */
int dist_gather_bytes(const void *buf, size_t bytes, char **out, size_t **lens);

/* Seconds this process has spent inside MPI calls since dist_init (wall
 * clock, waiting included): the communication share of a step is this over
 * the step time. */
double dist_comm_seconds(void);

/* Broadcast a malloc'd byte buffer of any size from root: on root *buf,
 * *len are given; on the other ranks they are set (malloc'd; NULL when
 * len is 0).  Without MPI or with one rank: nothing. */
int dist_bcast_blob(char **buf, size_t *len, int root);

/* A byte buffer for the records ranks exchange (same binary on every rank,
 * so fixed-size fields go as their bytes).  put appends (ACC_ENOMEM);
 * get reads from b->at and fails with ACC_EINTERNAL past the end. */
typedef struct dist_buf {
	char  *p;
	size_t len, cap, at;
} dist_buf;
int dist_buf_put(dist_buf *b, const void *p, size_t n);
/* A string or NULL. */
int dist_buf_put_str(dist_buf *b, const char *s);
int dist_buf_get(dist_buf *b, void *p, size_t n);
/* *s malloc'd (NULL when NULL was put). */
int dist_buf_get_str(dist_buf *b, char **s);
void dist_buf_free(dist_buf *b);
