/*
 * train_data.h — the training data as the step sees it: utterances with
 * their encoded transcripts, duration buckets (micro-batches), the
 * speaker-balanced sampler over them, and the MPI hand-over of the
 * utterance list.  The bucket and sampler functions are pure (no manifest,
 * no model), so they are unit-tested on their own (tests/test_train_data.c).
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "manifest/utterances.h"
#include "train/trainer.h"

/* One training or dev utterance. */
typedef struct train_utt {
	int64_t id;
	char   *path;      /* absolute audio path */
	double  start, end;
	char   *text;      /* text_norm */
	int    *ids;       /* encoded transcript (train_model_vocab) */
	int64_t nids;
	double  weight;    /* speaker-balance weight, >= 0 */
	int     dev;       /* 1 = dev split, 0 = train */
	float  *audio;     /* cached normalized samples (NULL until read) */
	int64_t n;         /* samples (known once read) */
} train_utt;

/* One micro-batch: utterances of similar duration. */
typedef struct train_bucket {
	int   *idx;        /* utterance indices */
	int    n;
	double weight;     /* sampling weight */
} train_bucket;

/* The utterance list: u[0..n), n_train + n_dev == n. */
typedef struct train_data {
	train_utt *u;
	int        n, n_train, n_dev;
	size_t     cap;
} train_data;

/* Move the rows of l (utterances_load of the train and dev splits) into
 * d: paths and texts are taken over (l's entries lose them), weights
 * below 0 or NaN become 0. */
int train_data_take(train_data *d, utterance_list *l);

/* Free every utterance (strings, ids, cached audio) and the list. */
void train_data_free(train_data *d);

/* mpirun: rank 0's list to every rank (the others start empty); a no-op
 * for one rank. */
int train_data_share(train_data *d);

/* Buckets of the utterances of d with dev == dev: sorted by duration (then
 * id), cut so that the padded audio of a bucket (its longest member x its
 * size) stays within batch_seconds (a longer utterance forms a bucket of
 * its own).  A bucket's weight is the sum of its members' weights for
 * TRAIN_SAMPLE_BALANCED, else its size.  *out (malloc'ed, *nout entries)
 * is freed with train_buckets_free. */
int train_buckets_make(const train_data *d, int dev, double batch_seconds, train_sampling sampling,
                       train_bucket **out, int *nout);
void train_buckets_free(train_bucket *b, int n);

/* The sampler's cumulative weights of n buckets: *cum malloc'ed, cum[i] =
 * the sum of the weights of buckets 0..i.  ACC_EINVAL (with a hint) when
 * every weight is 0. */
int train_sampler_init(const train_bucket *b, int n, double **cum);

/* Draw a bucket: the first i with cum[i] > u * cum[n-1], u = rng_unit(rng)
 * (the generator advanced once). */
int train_sampler_draw(const double *cum, int n, uint64_t *rng);
