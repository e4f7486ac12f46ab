/*
 * train_data.c — utterances -> micro-batches (see train_data.h): the
 * utterance list and its hand-over to the other ranks, duration buckets,
 * the speaker-balanced sampler, and a bucket's audio read (and cached) into
 * one zero-padded batch.
 */
#define _GNU_SOURCE   /* qsort_r */
#include "train/train_data.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "audio/audio.h"
#include "base/dist.h"
#include "base/err.h"
#include "base/rng.h"
#include "model/w2v_infer.h"
#include "train/train_ctx.h"
#include "base/banned.h"

/* Append utterance u (taking its strings) to d. */
static int data_push(train_data *d, const train_utt *u)
{
	int rc = ARRAY_GROW(d->u, d->cap, (size_t)d->n + 1);
	if (rc)
		return err_wrap(rc, "utterance list");
	d->u[d->n++] = *u;
	if (u->dev)
		d->n_dev++;
	else
		d->n_train++;
	return 0;
}

int train_data_take(train_data *d, utterance_list *l)
{
	int rc = 0;
	for (size_t i = 0; i < l->n && !rc; i++) {
		utterance *r = &l->u[i];
		train_utt u;
		memset(&u, 0, sizeof u);
		u.id = r->id;
		u.path = r->audio_path;
		u.start = r->start_s;
		u.end = r->end_s;
		u.text = r->text;
		u.dev = !strcmp(r->split, "dev");
		u.weight = r->weight > 0 ? r->weight : 0;
		if (!(rc = data_push(d, &u)))
			r->audio_path = r->text = NULL;   /* now d's */
	}
	return rc;
}

void train_data_free(train_data *d)
{
	for (int i = 0; i < d->n; i++) {
		free(d->u[i].path);
		free(d->u[i].text);
		free(d->u[i].ids);
		free(d->u[i].audio);
	}
	free(d->u);
	memset(d, 0, sizeof *d);
}

/* ---- ranks (mpirun -np N; lib/base/dist.h): only rank 0 reads the
 * manifest and hands the list to the others ---- */

/* Append n bytes to a growing buffer. */
static int pack(char **b, size_t *len, size_t *cap, const void *p, size_t n)
{
	int rc = ARRAY_GROW(*b, *cap, *len + n);
	if (rc)
		return rc;
	memcpy(*b + *len, p, n);
	*len += n;
	return 0;
}

int train_data_share(train_data *d)
{
	if (dist_size() <= 1)
		return 0;
	char *b = NULL;
	size_t len = 0, cap = 0, at = 0;
	int rc = 0;
	if (dist_rank() == 0)
		for (int i = 0; i < d->n && !rc; i++) {
			const train_utt *u = &d->u[i];
			int32_t dev = u->dev;
			rc = pack(&b, &len, &cap, &u->id, sizeof u->id);
			if (!rc) rc = pack(&b, &len, &cap, &u->start, sizeof u->start);
			if (!rc) rc = pack(&b, &len, &cap, &u->end, sizeof u->end);
			if (!rc) rc = pack(&b, &len, &cap, &u->weight, sizeof u->weight);
			if (!rc) rc = pack(&b, &len, &cap, &dev, sizeof dev);
			if (!rc) rc = pack(&b, &len, &cap, u->path, strlen(u->path) + 1);
			if (!rc) rc = pack(&b, &len, &cap, u->text, strlen(u->text) + 1);
		}
	if (rc || (rc = dist_bcast_blob(&b, &len, 0)) || dist_rank() == 0)
		goto out;
	size_t fixed = sizeof(int64_t) + 3 * sizeof(double) + sizeof(int32_t);
	while (at < len) {
		train_utt u;
		memset(&u, 0, sizeof u);
		const char *p = b + at, *path, *text;
		int32_t dev;
		if (len - at < fixed + 2 || !(path = memchr(p + fixed, 0, len - at - fixed)) ||
		    !(text = memchr(path + 1, 0, b + len - path - 1))) {
			rc = err_set(ACC_EINTERNAL, "malformed utterance list from rank 0");
			goto out;
		}
		memcpy(&u.id, p, sizeof u.id);
		memcpy(&u.start, p + 8, sizeof u.start);
		memcpy(&u.end, p + 16, sizeof u.end);
		memcpy(&u.weight, p + 24, sizeof u.weight);
		memcpy(&dev, p + 32, sizeof dev);
		u.dev = dev;
		u.path = strdup(p + fixed);
		u.text = strdup(path + 1);
		at = (size_t)(text + 1 - b);
		if (!u.path || !u.text || (rc = data_push(d, &u))) {
			free(u.path);
			free(u.text);
			if (!rc)
				rc = err_set(ACC_ENOMEM, "out of memory: utterance list");
			goto out;
		}
	}
out:
	free(b);
	return rc;
}

/* ---- buckets and the sampler (pure) ---- */
static int cmp_dur(const void *a, const void *b, void *ctx)
{
	const train_utt *u = ctx;
	int i = *(const int *)a, j = *(const int *)b;
	double di = u[i].end - u[i].start, dj = u[j].end - u[j].start;
	if (di != dj)
		return di < dj ? -1 : 1;
	return u[i].id < u[j].id ? -1 : u[i].id > u[j].id;
}

int train_buckets_make(const train_data *d, int dev, double batch_seconds, train_sampling sampling,
                       train_bucket **out, int *nout)
{
	int n = 0, rc = 0;
	int *ord = malloc(sizeof(int) * (d->n ? d->n : 1));
	train_bucket *bs = NULL;
	int nb = 0;
	if (!ord)
		return err_set(ACC_ENOMEM, "out of memory");
	for (int i = 0; i < d->n; i++)
		if (d->u[i].dev == dev)
			ord[n++] = i;
	qsort_r(ord, n, sizeof(int), cmp_dur, d->u);
	bs = calloc(n ? n : 1, sizeof *bs);
	if (!bs) {
		rc = err_set(ACC_ENOMEM, "out of memory");
		goto out;
	}
	for (int i = 0; i < n;) {
		int j = i + 1;
		/* sorted ascending: the last member is the longest */
		while (j < n && (d->u[ord[j]].end - d->u[ord[j]].start) * (j - i + 1) <= batch_seconds)
			j++;
		train_bucket *b = &bs[nb++];
		b->n = j - i;
		b->idx = malloc(sizeof(int) * b->n);
		if (!b->idx) {
			rc = err_set(ACC_ENOMEM, "out of memory");
			goto out;
		}
		b->weight = 0;
		for (int k = 0; k < b->n; k++) {
			b->idx[k] = ord[i + k];
			b->weight += sampling == TRAIN_SAMPLE_BALANCED ? d->u[ord[i + k]].weight : 1.0;
		}
		i = j;
	}
out:
	free(ord);
	*out = bs;
	*nout = nb;
	return rc;
}

void train_buckets_free(train_bucket *b, int n)
{
	for (int i = 0; b && i < n; i++)
		free(b[i].idx);
	free(b);
}

int train_sampler_init(const train_bucket *b, int n, double **cum)
{
	double *c = malloc(sizeof(double) * (n > 0 ? n : 1));
	*cum = NULL;
	if (!c)
		return err_set(ACC_ENOMEM, "out of memory");
	for (int i = 0; i < n; i++)
		c[i] = (i ? c[i - 1] : 0) + b[i].weight;
	if (n <= 0 || !(c[n - 1] > 0)) {
		free(c);
		int rc = err_set(ACC_EINVAL, "every train utterance has weight 0");
		err_hint("recompute weights with `db weights` or use --sampling uniform");
		return rc;
	}
	*cum = c;
	return 0;
}

int train_sampler_draw(const double *cum, int n, uint64_t *rng)
{
	double r = rng_unit(rng) * cum[n - 1];
	int lo = 0, hi = n - 1;
	while (lo < hi) {
		int mid = (lo + hi) / 2;
		if (cum[mid] > r)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* ---- batch audio ---- */
int train_scratch_fit(void **pp, size_t *cap, size_t need, size_t elem, const char *what)
{
	if (need <= *cap)
		return 0;
	void *q = need <= SIZE_MAX / elem ? realloc(*pp, need * elem) : NULL;
	if (!q)
		return err_set(ACC_ENOMEM, "out of memory: %s", what);
	*pp = q;
	*cap = need;
	return 0;
}

/* Read (and cache, up to 1 GiB) the normalized audio of utterance u. */
static int utt_audio(train_ctx *t, train_utt *u, float **x, int64_t *n, int *owned)
{
	*owned = 0;
	if (u->audio) {
		*x = u->audio;
		*n = u->n;
		return 0;
	}
	float *s = NULL;
	int64_t ns = 0;
	int rc = audio_read_span(u->path, u->start, u->end, &s, &ns);
	if (rc)
		return err_wrap(rc, "utterance %lld", (long long)u->id);
	if (t->m->cfg.do_normalize)
		w2v_normalize(s, s, ns);
	u->n = ns;
	if (t->cached_bytes + ns * sizeof(float) <= TRAINER_AUDIO_CACHE) {
		u->audio = s;
		t->cached_bytes += ns * sizeof(float);
	} else {
		*owned = 1;
	}
	*x = s;
	*n = ns;
	return 0;
}

int train_data_batch(train_ctx *t, const train_bucket *b, int *nmax)
{
	int rc = 0;
	int64_t mx = 0;
	float **au = calloc(b->n, sizeof *au);
	int64_t *ns = calloc(b->n, sizeof *ns);
	int *own = calloc(b->n, sizeof *own);
	if (!au || !ns || !own) {
		rc = err_set(ACC_ENOMEM, "out of memory");
		goto out;
	}
	for (int k = 0; k < b->n; k++) {
		TRY(utt_audio(t, &t->d.u[b->idx[k]], &au[k], &ns[k], &own[k]));
		mx = ns[k] > mx ? ns[k] : mx;
	}
	if (mx <= 0 || mx > INT32_MAX / 2) {
		rc = err_set(ACC_EINVAL, "batch of empty or oversized utterances");
		goto out;
	}
	if (t->m->cfg.feat_extract_norm == W2V_NORM_LAYER) {
		/* Pad to a multiple of TRAINER_PAD_STRIDES conv strides.  In a
		 * layer-norm model (frame-local conv norms, attention mask) the
		 * frames of an utterance do not depend on how far the batch is
		 * padded, while a handful of distinct batch shapes lets the oneDNN
		 * primitives be reused from step to step instead of JIT-compiled
		 * for every new length (measured on the demo's model: creation was
		 * ~97% of the time spent in oneDNN).  Group-norm models normalize
		 * over time, padding included, so they keep the exact length. */
		int64_t q = TRAINER_PAD_STRIDES;
		for (int i = 0; i < t->m->cfg.num_feat_extract_layers; i++)
			q *= t->m->cfg.conv_stride[i];
		mx = (mx + q - 1) / q * q;
	}
	TRY(TRAIN_SCRATCH(t->x, t->x_cap, (size_t)b->n * mx, "batch audio"));
	TRY(TRAIN_SCRATCH(t->len, t->len_cap, (size_t)b->n, "batch lengths"));
	for (int k = 0; k < b->n; k++) {
		memcpy(t->x + (size_t)k * mx, au[k], sizeof(float) * ns[k]);
		memset(t->x + (size_t)k * mx + ns[k], 0, sizeof(float) * (mx - ns[k]));
		t->len[k] = ns[k];
	}
	*nmax = (int)mx;
out:
	for (int k = 0; au && k < b->n; k++)
		if (own && own[k])
			free(au[k]);
	free(au);
	free(ns);
	free(own);
	return rc;
}
