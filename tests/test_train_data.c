/*
 * test_train_data.c — the pure parts of training's data (lib/train/
 * train_data.h: duration buckets, the sampler) without a model or a
 * database, and the utterances training and evaluation read from a
 * manifest (lib/manifest/utterances.h: filters, absolute audio paths, the
 * train funnel).
 */
#include "check.h"
#include "base/err.h"
#include "base/rng.h"
#include "manifest/utterances.h"
#include "manifest_fixture.h"
#include "train/train_data.h"
#include <math.h>
#include <stdlib.h>

/* Utterances of the given durations (ids 1..n, train unless dev[i]). */
static void make_data(train_data *d, const double *dur, const int *dev, const double *w, int n)
{
	memset(d, 0, sizeof *d);
	d->u = calloc(n, sizeof *d->u);
	d->n = n;
	for (int i = 0; i < n; i++) {
		d->u[i].id = i + 1;
		d->u[i].start = 1.0;
		d->u[i].end = 1.0 + dur[i];
		d->u[i].dev = dev ? dev[i] : 0;
		d->u[i].weight = w ? w[i] : 1.0;
		if (d->u[i].dev)
			d->n_dev++;
		else
			d->n_train++;
	}
}

static void test_buckets(void)
{
	/* sorted: 1.0 (id 3), 2.0 (id 1), 2.0 (id 4), 3.0 (id 2), 9.0 (id 5), 12 (id 6, longer than a batch) */
	const double dur[] = { 2.0, 3.0, 1.0, 2.0, 9.0, 12.0, 1.5 };
	const int dev[] = { 0, 0, 0, 0, 0, 0, 1 };
	const double w[] = { 0.5, 1.0, 2.0, 0.25, 1.0, 1.0, 7.0 };
	train_data d;
	make_data(&d, dur, dev, w, 7);
	train_bucket *b = NULL;
	int n = 0;
	CHECK_OK(train_buckets_make(&d, 0, 6.0, TRAIN_SAMPLE_BALANCED, &b, &n));
	/* [3 1 4] padded 3 x 2.0 = 6 <= 6; + id 2 would be 4 x 3 = 12: cut;
	 * [2] + id 5: 2 x 9 = 18: cut; [5]; [6] alone although over the budget */
	CHECK_EQ_INT(n, 4);
	if (n == 4) {
		CHECK_EQ_INT(b[0].n, 3);
		CHECK_EQ_INT(d.u[b[0].idx[0]].id, 3);
		CHECK_EQ_INT(d.u[b[0].idx[1]].id, 1);   /* equal durations: id order */
		CHECK_EQ_INT(d.u[b[0].idx[2]].id, 4);
		CHECK_NEAR(b[0].weight, 2.0 + 0.5 + 0.25, 1e-12);
		CHECK_EQ_INT(b[1].n, 1);
		CHECK_EQ_INT(d.u[b[1].idx[0]].id, 2);
		CHECK_EQ_INT(b[3].n, 1);
		CHECK_EQ_INT(d.u[b[3].idx[0]].id, 6);
	}
	train_buckets_free(b, n);
	/* uniform: a bucket weighs its size */
	CHECK_OK(train_buckets_make(&d, 0, 6.0, TRAIN_SAMPLE_UNIFORM, &b, &n));
	CHECK_NEAR(b[0].weight, 3.0, 1e-12);
	train_buckets_free(b, n);
	/* dev buckets hold only dev utterances */
	CHECK_OK(train_buckets_make(&d, 1, 6.0, TRAIN_SAMPLE_BALANCED, &b, &n));
	CHECK_EQ_INT(n, 1);
	if (n == 1)
		CHECK_EQ_INT(d.u[b[0].idx[0]].id, 7);
	train_buckets_free(b, n);
	train_data_free(&d);
}

static void test_sampler(void)
{
	train_bucket b[3] = { { .weight = 1.0 }, { .weight = 0.0 }, { .weight = 3.0 } };
	double *cum = NULL;
	CHECK_OK(train_sampler_init(b, 3, &cum));
	if (!cum)
		return;
	CHECK_NEAR(cum[2], 4.0, 1e-12);
	/* the draw is the bucket whose cumulative interval holds u * total */
	int count[3] = { 0 };
	uint64_t s = 42, s2 = 42;
	for (int i = 0; i < 4000; i++) {
		int k = train_sampler_draw(cum, 3, &s);
		double u = rng_unit(&s2) * 4.0;
		CHECK_EQ_INT(k, u < 1.0 ? 0 : 2);
		count[k]++;
	}
	CHECK_EQ_INT(count[1], 0);   /* weight 0: never drawn */
	CHECK(fabs(count[2] / 4000.0 - 0.75) < 0.05);
	free(cum);
	train_bucket z[2] = { { .weight = 0.0 }, { .weight = 0.0 } };
	CHECK(train_sampler_init(z, 2, &cum) == ACC_EINVAL);
	CHECK(cum == NULL);
}

static void test_utterances(void)
{
	fixture_opts fo = { .n_speakers = 9, .accents = 1 };
	manifest *m = fixture_open("utts", &fo);
	if (!m)
		return;
	CHECK_OK(manifest_exec(m, "UPDATE utterances SET split = CASE id % 5 WHEN 3 THEN 'dev' WHEN 4 THEN 'test' ELSE 'train' END"));
	CHECK_OK(manifest_exec(m, "UPDATE utterances SET flags = 1 WHERE id % 2 = 0"));
	/* one recording given by an absolute path: used as it is, not joined to the corpus root */
	CHECK_OK(manifest_exec(m, "UPDATE recordings SET path = '/abs/elsewhere.wav' WHERE id = "
	                          "(SELECT recording_id FROM utterances WHERE split = 'test' AND lang = 'eng' "
	                          "AND status = 'ok' ORDER BY id LIMIT 1)"));
	utterance_list l = { 0 };
	utterances_filter f = { .lang = "eng", .split = "test" };
	CHECK_OK(utterances_load(m, &f, &l));
	CHECK_EQ_INT(l.n, fixture_int(m, "SELECT count(*) FROM utterances WHERE lang = 'eng' AND split = 'test' "
	                                 "AND status = 'ok' AND text_norm IS NOT NULL"));
	CHECK(l.n >= 3);
	int abs_seen = 0;
	for (size_t i = 0; i < l.n; i++) {
		CHECK(l.u[i].audio_path[0] == '/');
		CHECK(!strcmp(l.u[i].split, "test"));
		CHECK(i == 0 || l.u[i].id > l.u[i - 1].id);
		abs_seen += !strcmp(l.u[i].audio_path, "/abs/elsewhere.wav");
	}
	CHECK_EQ_INT(abs_seen, 1);
	utterances_free(&l);
	f.flags_any = 1;
	CHECK_OK(utterances_load(m, &f, &l));
	CHECK_EQ_INT(l.n, fixture_int(m, "SELECT count(*) FROM utterances WHERE lang = 'eng' AND split = 'test' "
	                                 "AND status = 'ok' AND text_norm IS NOT NULL AND flags & 1"));
	utterances_free(&l);
	/* training's read: train and dev together, every language, a duration cap */
	utterances_filter tf = { .nonblank = 1, .unflagged = 1, .by_duration = 1, .max_seconds = 4.0 };
	CHECK_OK(utterances_load(m, &tf, &l));
	CHECK_EQ_INT(l.n, fixture_int(m, "SELECT count(*) FROM utterances WHERE split IN ('train', 'dev') AND "
	                                 "status = 'ok' AND length(trim(text_norm)) > 0 AND end_s - start_s > 0 "
	                                 "AND end_s - start_s <= 4.0"));
	for (size_t i = 0; i < l.n; i++)
		CHECK(l.u[i].end_s - l.u[i].start_s <= 4.0 && strcmp(l.u[i].split, "test"));
	/* into training's list: paths and texts change hands */
	train_data d = { 0 };
	CHECK_OK(train_data_take(&d, &l));
	CHECK_EQ_INT(d.n, (long long)l.n);
	CHECK_EQ_INT(d.n_dev, fixture_int(m, "SELECT count(*) FROM utterances WHERE split = 'dev' AND "
	                                     "status = 'ok' AND length(trim(text_norm)) > 0 AND end_s - start_s > 0 "
	                                     "AND end_s - start_s <= 4.0"));
	CHECK(l.n == 0 || (l.u[0].audio_path == NULL && d.u[0].path != NULL));
	train_data_free(&d);
	utterances_free(&l);
	/* the funnel: each count a subset of the one before */
	long long n[6];
	CHECK_OK(utterances_train_funnel(m, "eng", 4.0, n));
	CHECK_EQ_INT(n[0], fixture_int(m, "SELECT count(*) FROM utterances WHERE lang = 'eng'"));
	CHECK_EQ_INT(n[2], fixture_int(m, "SELECT count(*) FROM utterances WHERE lang = 'eng' AND status = 'ok' "
	                                 "AND split = 'train'"));
	for (int i = 1; i < 6; i++)
		CHECK(n[i] <= n[i - 1]);
	manifest_close(m);
}

int main(void)
{
	RUN(test_buckets);
	RUN(test_sampler);
	RUN(test_utterances);
	return check_summary();
}
