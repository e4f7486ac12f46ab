/*
 * bench/bench_dist.c — the cost of the training step's reduction
 * (dist_chain_sum_f32: the ordered chain fold + broadcast of lib/base/dist.c)
 * for gradient sizes from 64 K to 16 M floats, under mpirun.  Prints one
 * line per size on rank 0: bytes, median seconds over the repetitions,
 * effective bandwidth (2 x bytes / time: every byte crosses the chain
 * once and the broadcast once).  Input of docs/SCALING.md.
 *
 *   mpirun -np 2 bin/bench_dist [REPS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/dist.h"
#include "base/err.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* one kept micro-batch gradient per rank, as with --accum 1 */
static const float *g_mine;
static void fold(void *ctx, float *acc, size_t off, size_t len)
{
	for (size_t i = 0; i < len; i++)
		acc[i] += g_mine[off + i];
}

int main(int argc, char **argv)
{
	int rc = dist_init(&argc, &argv);
	if (rc) {
		err_print();
		return err_exit_code(rc);
	}
	int reps = argc > 1 ? atoi(argv[1]) : 9;
	if (reps < 1 || reps > 1000)
		reps = 9;
	size_t maxn = (size_t)1 << 24;
	float *acc = malloc(sizeof(float) * maxn), *mine = malloc(sizeof(float) * maxn);
	double *t = malloc(sizeof(double) * reps);
	if (!acc || !mine || !t) {
		fprintf(stderr, "error: out of memory\n");
		dist_abort(1);
	}
	for (size_t i = 0; i < maxn; i++)
		mine[i] = (float)(i % 1000) * 1e-3f;
	g_mine = mine;
	if (dist_rank() == 0)
		printf("# bench_dist: %d ranks, %d repetitions per size\n# floats bytes median_s eff_GB/s\n",
		       dist_size(), reps);
	for (size_t n = (size_t)1 << 16; n <= maxn; n <<= 2) {
		for (int r = 0; r < reps; r++) {
			memcpy(acc, mine, sizeof(float) * n);
			if ((rc = dist_barrier()))
				break;
			double t0 = now_s();
			if ((rc = dist_chain_sum_f32(acc, n, fold, NULL)))
				break;
			t[r] = now_s() - t0;
		}
		if (rc)
			break;
		/* the slowest rank's time is the step's */
		double med;
		qsort(t, reps, sizeof *t, cmp_d);
		med = t[reps / 2];
		double all[1] = { 0 };
		for (int r = 0; r < dist_size(); r++) {
			double mine_t[1] = { dist_rank() == r ? med : 0 };
			if ((rc = dist_sum_f64(mine_t, 1)))
				break;
			if (mine_t[0] > all[0])
				all[0] = mine_t[0];
		}
		if (dist_rank() == 0)
			printf("%zu %zu %.6f %.2f\n", n, n * sizeof(float), all[0], 2.0 * n * sizeof(float) / all[0] / 1e9);
	}
	if (rc) {
		err_print();
		dist_abort(err_exit_code(rc));
	}
	free(acc);
	free(mine);
	free(t);
	return 0;
}
