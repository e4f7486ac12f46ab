/*
 * trainer_dist.c — the in-order gradient reduction of data-parallel training
 * (see trainer_dist.h).
 */
#include "train/trainer_dist.h"

#include <stdlib.h>
#include <string.h>

#include "base/dist.h"
#include "base/err.h"
#include "base/banned.h"

struct trainer_dist {
	size_t nt, nb;
	float **keep;     /* copies of this rank's good gradients [nt + nb], in order */
	int nkeep, cap;   /* kept now, allocated (each a whole gradient: grown one by one) */
	size_t keep_cap;  /* entries of the keep array */
	double *mb;       /* per global micro-batch: [loss | good flag] (2 M) + audio */
	int M;
};

int trainer_dist_create(trainer_dist **gp, size_t nt, size_t nb)
{
	trainer_dist *g = calloc(1, sizeof *g);
	if (!g)
		return err_set(ACC_ENOMEM, "out of memory");
	g->nt = nt;
	g->nb = nb;
	*gp = g;
	return 0;
}

void trainer_dist_free(trainer_dist *g)
{
	if (!g)
		return;
	for (int i = 0; i < g->cap; i++)
		free(g->keep[i]);
	free(g->keep);
	free(g->mb);
	free(g);
}

int trainer_dist_begin(trainer_dist *g, int M)
{
	if (M > g->M) {
		double *nm = realloc(g->mb, sizeof(double) * (2 * (size_t)M + 1));
		if (!nm)
			return err_set(ACC_ENOMEM, "out of memory");
		g->mb = nm;
	}
	g->M = M;
	memset(g->mb, 0, sizeof(double) * (2 * (size_t)M + 1));
	g->nkeep = 0;
	return 0;
}

int trainer_dist_add(trainer_dist *g, int a, int good, double loss, const float *gt, const float *gb)
{
	if (a < 0 || a >= g->M)
		return err_set(ACC_EINTERNAL, "micro-batch %d outside the step's %d", a, g->M);
	g->mb[a] = good ? loss : 0;
	g->mb[g->M + a] = good ? 1 : 0;
	if (!good || !gt)
		return 0;
	if (g->nkeep == g->cap) {
		int rc = ARRAY_GROW(g->keep, g->keep_cap, (size_t)g->cap + 1);
		if (rc)
			return rc;
		if (!(g->keep[g->cap] = malloc(sizeof(float) * (g->nt + g->nb + 1))))
			return err_set(ACC_ENOMEM, "out of memory: %zu floats of micro-batch gradient",
			               g->nt + g->nb);
		g->cap++;
	}
	float *k = g->keep[g->nkeep++];
	memcpy(k, gt, sizeof(float) * g->nt);
	if (g->nb)
		memcpy(k + g->nt, gb, sizeof(float) * g->nb);
	return 0;
}

typedef struct {
	trainer_dist *g;
	size_t base;  /* 0: the trainable block, nt: the base block */
} fold_ctx;

/* Add this rank's kept gradients to a piece of the running sum, one
 * micro-batch after the other: the order of the one-process loop. */
static void fold_kept(void *ctx, float *acc, size_t off, size_t len)
{
	fold_ctx *c = ctx;
	for (int j = 0; j < c->g->nkeep; j++) {
		const float *k = c->g->keep[j] + c->base + off;
		#pragma omp parallel for schedule(static)
		for (size_t i = 0; i < len; i++)
			acc[i] += k[i];
	}
}

int trainer_dist_reduce(trainer_dist *g, float *gsum_t, float *gsum_b, double *lsum, int *good, double *audio_s)
{
	int rc;
	int M = g->M;
	g->mb[2 * M] = *audio_s;
	/* exact: one rank contributes each loss and flag, the others 0 */
	if ((rc = dist_sum_f64(g->mb, 2 * M + 1)))
		return rc;
	*audio_s = g->mb[2 * M];
	double s = 0;
	int n = 0;
	for (int a = 0; a < M; a++)
		if (g->mb[M + a] > 0.5) {
			s += g->mb[a];
			n++;
		}
	*lsum = s;
	*good = n;
	fold_ctx ct = { g, 0 }, cb = { g, g->nt };
	if ((rc = dist_chain_sum_f32(gsum_t, g->nt, fold_kept, &ct)))
		return rc;
	if (g->nb && (rc = dist_chain_sum_f32(gsum_b, g->nb, fold_kept, &cb)))
		return rc;
	return 0;
}

int trainer_dist_metrics_sum(metrics_accum *ma)
{
	const metrics_counts *c[2] = { &ma->chr, &ma->word };
	int64_t v[13];
	for (int i = 0; i < 2; i++) {
		v[6 * i + 0] = c[i]->sub;
		v[6 * i + 1] = c[i]->del;
		v[6 * i + 2] = c[i]->ins;
		v[6 * i + 3] = c[i]->hits;
		v[6 * i + 4] = c[i]->ref_len;
		v[6 * i + 5] = c[i]->hyp_len;
	}
	v[12] = ma->n;
	int rc = dist_sum_i64(v, 13);
	if (rc)
		return rc;
	metrics_counts *d[2] = { &ma->chr, &ma->word };
	for (int i = 0; i < 2; i++) {
		d[i]->sub = v[6 * i + 0];
		d[i]->del = v[6 * i + 1];
		d[i]->ins = v[6 * i + 2];
		d[i]->hits = v[6 * i + 3];
		d[i]->ref_len = v[6 * i + 4];
		d[i]->hyp_len = v[6 * i + 5];
	}
	ma->n = v[12];
	return 0;
}
