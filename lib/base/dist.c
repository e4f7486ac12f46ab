/*
 * dist.c — ranks and collectives over Open MPI (see dist.h), or the
 * one-rank no-op when built without MPI (ACCENT_MPI undefined).
 *
 * Every MPI call is timed (dist_comm_seconds) and checked; large buffers
 * move in chunks of at most DIST_CHUNK bytes, since MPI counts are ints.
 */
#include "base/dist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"

#ifdef ACCENT_MPI
#include <mpi.h>
#endif
#include "base/banned.h"

/* Largest message: a multiple of 8 (every element type fits it evenly)
 * well under INT_MAX. */
#define DIST_CHUNK ((size_t)1 << 28)
/* Pieces of the chained float sum: n / (4 size) floats, within these
 * bounds.  Small enough that the chain's ranks overlap (rank r adds piece
 * c while rank r+1 adds c-1: the chain then costs one pass of the data
 * plus size-1 pieces to fill), large enough that the per-message latency
 * stays small next to a piece's transfer (64 KiB at 10 Gb/s: 52 us). */
#define DIST_PIPE_MIN ((size_t)1 << 14)
#define DIST_PIPE_MAX ((size_t)1 << 18)

static int g_rank = 0, g_size = 1;
static double g_comm = 0;

int dist_rank(void)
{
	return g_rank;
}

int dist_size(void)
{
	return g_size;
}

int dist_one_rank(const char *what, const char *hint)
{
	if (g_size <= 1)
		return 0;
	err_set(ACC_EUNSUPPORTED, "%s runs on one process, not under mpirun (-np %d)", what, g_size);
	err_hint("%s", hint ? hint : "run it without mpirun");
	return ACC_EUNSUPPORTED;
}

double dist_comm_seconds(void)
{
	return g_comm;
}

int dist_built_with_mpi(void)
{
#ifdef ACCENT_MPI
	return 1;
#else
	return 0;
#endif
}

#ifdef ACCENT_MPI
static int g_mpi = 0;   /* MPI_Init done, MPI_Finalize not yet */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Check an MPI return code; the error class text goes into the message. */
static int mpi_check(int mrc, const char *what)
{
	if (mrc == MPI_SUCCESS)
		return 0;
	char msg[MPI_MAX_ERROR_STRING];
	int len = 0;
	if (MPI_Error_string(mrc, msg, &len) != MPI_SUCCESS)
		snprintf(msg, sizeof msg, "MPI error %d", mrc);
	return err_set(ACC_EIO, "%s failed on rank %d of %d: %s", what, g_rank, g_size, msg);
}
#define MPI_TIMED(rcvar, call, what) do { double t0_ = now_s(); (rcvar) = mpi_check((call), (what)); \
	g_comm += now_s() - t0_; } while (0)

/* Started by an MPI launcher?  Open MPI's mpirun sets OMPI_COMM_WORLD_SIZE,
 * PMIx launchers (srun --mpi=pmix, prterun) PMIX_RANK, PMI-1/2 ones
 * (MPICH's hydra, srun --mpi=pmi2) PMI_SIZE. */
static int launched_by_mpi(void)
{
	return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_SIZE");
}
#endif

int dist_init(int *argc, char ***argv)
{
#ifdef ACCENT_MPI
	if (g_mpi || !launched_by_mpi())
		return 0;
	int provided = 0, rc;
	/* FUNNELED: OpenMP threads compute, only the main thread calls MPI */
	MPI_TIMED(rc, MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
	if (rc)
		return rc;
	g_mpi = 1;
	MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
	MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
	MPI_Comm_size(MPI_COMM_WORLD, &g_size);
	atexit(dist_finalize);
	g_comm = 0;
#else
	(void)argc;
	(void)argv;
	/* N copies of a one-rank binary would each train / write on their own */
	const char *n = getenv("OMPI_COMM_WORLD_SIZE");
	if (!n)
		n = getenv("PMI_SIZE");
	if (n && atoi(n) > 1) {
		int rc = err_set(ACC_EUNSUPPORTED, "started by mpirun with %s ranks, but built without MPI", n);
		err_hint("rebuild with Open MPI: make deps && make MPI=1");
		return rc;
	}
#endif
	return 0;
}

void dist_finalize(void)
{
#ifdef ACCENT_MPI
	if (g_mpi) {
		g_mpi = 0;
		MPI_Finalize();
	}
#endif
}

int dist_barrier(void)
{
	int rc = 0;
#ifdef ACCENT_MPI
	if (g_size > 1)
		MPI_TIMED(rc, MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
#endif
	return rc;
}

void dist_abort(int code)
{
#ifdef ACCENT_MPI
	if (g_mpi && g_size > 1)
		MPI_Abort(MPI_COMM_WORLD, code);
#endif
	exit(code);
}

int dist_bcast(void *buf, size_t bytes, int root)
{
	int rc = 0;
#ifdef ACCENT_MPI
	for (size_t off = 0; g_size > 1 && off < bytes && !rc; off += DIST_CHUNK) {
		size_t len = bytes - off < DIST_CHUNK ? bytes - off : DIST_CHUNK;
		MPI_TIMED(rc, MPI_Bcast((char *)buf + off, (int)len, MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Bcast");
	}
#else
	(void)buf;
	(void)bytes;
	(void)root;
#endif
	return rc;
}

int dist_sum_i64(int64_t *x, int n)
{
	int rc = 0;
#ifdef ACCENT_MPI
	if (g_size > 1 && n > 0)
		MPI_TIMED(rc, MPI_Allreduce(MPI_IN_PLACE, x, n, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD),
		          "MPI_Allreduce");
#else
	(void)x;
	(void)n;
#endif
	return rc;
}

int dist_sum_f64(double *x, int n)
{
	int rc = 0;
#ifdef ACCENT_MPI
	if (g_size <= 1 || n <= 0)
		return 0;
	double *all = NULL;
	if (g_rank == 0 && !(all = malloc(sizeof(double) * n * (size_t)g_size)))
		return err_set(ACC_ENOMEM, "out of memory: rank sums");
	MPI_TIMED(rc, MPI_Gather(x, n, MPI_DOUBLE, all, n, MPI_DOUBLE, 0, MPI_COMM_WORLD), "MPI_Gather");
	if (!rc && g_rank == 0)
		for (int i = 0; i < n; i++) {
			double s = all[i];
			for (int r = 1; r < g_size; r++)
				s += all[(size_t)r * n + i];
			x[i] = s;
		}
	free(all);
	if (!rc)
		rc = dist_bcast(x, sizeof(double) * n, 0);
#else
	(void)x;
	(void)n;
#endif
	return rc;
}

int dist_chain_sum_f32(float *acc, size_t n, dist_fold_fn fold, void *ctx)
{
	int rc = 0;
#ifdef ACCENT_MPI
	if (g_size <= 1 || n == 0)
		return 0;
	/* the chain: 0 -> 1 -> ... -> size-1, piece by piece, so that rank r
	 * folds piece c while rank r+1 folds piece c-1 */
	size_t piece = n / (4 * (size_t)g_size);
	piece = piece < DIST_PIPE_MIN ? DIST_PIPE_MIN : piece > DIST_PIPE_MAX ? DIST_PIPE_MAX : piece;
	for (size_t off = 0; off < n && !rc; off += piece) {
		size_t len = n - off < piece ? n - off : piece;
		if (g_rank > 0) {
			MPI_TIMED(rc, MPI_Recv(acc + off, (int)len, MPI_FLOAT, g_rank - 1, 0, MPI_COMM_WORLD,
			                       MPI_STATUS_IGNORE), "MPI_Recv");
			if (rc)
				break;
			fold(ctx, acc + off, off, len);
		}
		if (g_rank < g_size - 1)
			MPI_TIMED(rc, MPI_Send(acc + off, (int)len, MPI_FLOAT, g_rank + 1, 0, MPI_COMM_WORLD), "MPI_Send");
	}
	/* the last rank holds the complete fold */
	if (!rc)
		rc = dist_bcast(acc, sizeof(float) * n, g_size - 1);
#else
	(void)acc;
	(void)n;
	(void)fold;
	(void)ctx;
#endif
	return rc;
}

int dist_gather_bytes(const void *buf, size_t bytes, char **out, size_t **lens)
{
	int rc = 0;
	*out = NULL;
	if (lens)
		*lens = NULL;
	size_t *ls = calloc(g_size, sizeof *ls);
	if (!ls)
		return err_set(ACC_ENOMEM, "out of memory");
	ls[0] = bytes;
#ifdef ACCENT_MPI
	if (g_size > 1) {
		uint64_t b = bytes, *all = calloc(g_size, sizeof *all);
		if (!all) {
			free(ls);
			return err_set(ACC_ENOMEM, "out of memory");
		}
		MPI_TIMED(rc, MPI_Gather(&b, 1, MPI_UINT64_T, all, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD), "MPI_Gather");
		for (int r = 0; r < g_size; r++)
			ls[r] = all[r];
		free(all);
		if (rc)
			goto out;
	}
#endif
	if (g_rank == 0) {
		size_t total = 0;
		for (int r = 0; r < g_size; r++)
			total += ls[r];
		if (!(*out = malloc(total ? total : 1))) {
			rc = err_set(ACC_ENOMEM, "out of memory: %zu gathered bytes", total);
			goto out;
		}
		memcpy(*out, buf, bytes);
#ifdef ACCENT_MPI
		/* point-to-point in rank order: no count limit, no displacement
		 * arrays of ints */
		size_t at = bytes;
		for (int r = 1; r < g_size && !rc; r++) {
			for (size_t off = 0; off < ls[r] && !rc; off += DIST_CHUNK) {
				size_t len = ls[r] - off < DIST_CHUNK ? ls[r] - off : DIST_CHUNK;
				MPI_TIMED(rc, MPI_Recv(*out + at + off, (int)len, MPI_BYTE, r, 1, MPI_COMM_WORLD,
				                       MPI_STATUS_IGNORE), "MPI_Recv");
			}
			at += ls[r];
		}
	} else {
		for (size_t off = 0; off < bytes && !rc; off += DIST_CHUNK) {
			size_t len = bytes - off < DIST_CHUNK ? bytes - off : DIST_CHUNK;
			MPI_TIMED(rc, MPI_Send((const char *)buf + off, (int)len, MPI_BYTE, 0, 1, MPI_COMM_WORLD),
			          "MPI_Send");
		}
#endif
	}
out:
	if (rc || !lens || g_rank != 0)
		free(ls);
	else
		*lens = ls;
	if (rc) {
		free(*out);
		*out = NULL;
	}
	return rc;
}

int dist_bcast_blob(char **buf, size_t *len, int root)
{
	if (g_size <= 1)
		return 0;
	uint64_t n = g_rank == root ? *len : 0;
	int rc = dist_bcast(&n, sizeof n, root);
	if (rc)
		return rc;
	if (g_rank != root) {
		*len = n;
		*buf = NULL;
		if (n && !(*buf = malloc(n)))
			return err_set(ACC_ENOMEM, "out of memory: %llu broadcast bytes", (unsigned long long)n);
	}
	return dist_bcast(*buf, n, root);
}

int dist_buf_put(dist_buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		size_t nc = (b->len + n) * 2 + 4096;
		char *np = realloc(b->p, nc);
		if (!np)
			return err_set(ACC_ENOMEM, "out of memory: %zu bytes for the ranks", nc);
		b->p = np;
		b->cap = nc;
	}
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

int dist_buf_put_str(dist_buf *b, const char *s)
{
	uint64_t n = s ? strlen(s) + 1 : 0;   /* 0 = NULL */
	int rc = dist_buf_put(b, &n, sizeof n);
	return rc ? rc : dist_buf_put(b, s, n);
}

int dist_buf_get(dist_buf *b, void *p, size_t n)
{
	if (n > b->len - b->at)
		return err_set(ACC_EINTERNAL, "truncated record from another rank");
	if (n)
		memcpy(p, b->p + b->at, n);
	b->at += n;
	return 0;
}

int dist_buf_get_str(dist_buf *b, char **s)
{
	uint64_t n = 0;
	*s = NULL;
	int rc = dist_buf_get(b, &n, sizeof n);
	if (rc || n == 0)
		return rc;
	if (n > b->len - b->at || b->p[b->at + n - 1] != 0)
		return err_set(ACC_EINTERNAL, "malformed string from another rank");
	if (!(*s = malloc(n)))
		return err_set(ACC_ENOMEM, "out of memory");
	memcpy(*s, b->p + b->at, n);
	b->at += n;
	return 0;
}

void dist_buf_free(dist_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}
