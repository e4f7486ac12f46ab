/*
 * test_dist.c — lib/base/dist.c, lib/train/trainer_dist.c and lib/align/align_dist.c in one
 * process: a binary started without mpirun is rank 0 of 1 and every
 * collective leaves its data as one process would; the byte records ranks
 * exchange survive a round trip, and every truncation of a record (as a
 * dying rank could send) is an error, never a crash or a leak (ASan).  The
 * multi-rank behaviour is tested through mpirun by tests/mpi_train.sh and
 * tests/mpi_align.sh.
 */
#include "check.h"

#include <stdint.h>

#include "align/align_dist.h"
#include "base/dist.h"
#include "base/err.h"
#include "train/trainer_dist.h"

static int fold_calls;
static void fold_count(void *ctx, float *acc, size_t off, size_t len)
{
	fold_calls++;
}

static void test_one_rank(void)
{
	CHECK_OK(dist_init(NULL, NULL));
	CHECK_EQ_INT(dist_rank(), 0);
	CHECK_EQ_INT(dist_size(), 1);
	CHECK_OK(dist_barrier());
	double d[3] = { 0.1, -2.5, 1e300 };
	CHECK_OK(dist_sum_f64(d, 3));
	CHECK(d[0] == 0.1 && d[1] == -2.5 && d[2] == 1e300);
	int64_t i[2] = { 7, -9 };
	CHECK_OK(dist_sum_i64(i, 2));
	CHECK(i[0] == 7 && i[1] == -9);
	float acc[5] = { 1, 2, 3, 4, 5 };
	CHECK_OK(dist_chain_sum_f32(acc, 5, fold_count, NULL));
	CHECK_EQ_INT(fold_calls, 0);   /* rank 0's value is the whole fold */
	CHECK(acc[4] == 5);
	char *all = NULL;
	size_t *lens = NULL;
	CHECK_OK(dist_gather_bytes("abc", 3, &all, &lens));
	CHECK(all && lens && lens[0] == 3 && !memcmp(all, "abc", 3));
	free(all);
	free(lens);
	char *b = "x";
	size_t len = 1;
	CHECK_OK(dist_bcast_blob(&b, &len, 0));
	CHECK(len == 1 && b[0] == 'x');
	CHECK(dist_comm_seconds() == 0);
}

static void test_buf(void)
{
	dist_buf b = { 0 };
	int32_t v = 42, w = 0;
	char *s = NULL, *n = (char *)"sentinel";
	CHECK_OK(dist_buf_put(&b, &v, sizeof v));
	CHECK_OK(dist_buf_put_str(&b, "héllo"));
	CHECK_OK(dist_buf_put_str(&b, NULL));
	CHECK_OK(dist_buf_get(&b, &w, sizeof w));
	CHECK_EQ_INT(w, 42);
	CHECK_OK(dist_buf_get_str(&b, &s));
	CHECK_STR(s, "héllo");
	free(s);
	CHECK_OK(dist_buf_get_str(&b, &n));
	CHECK(n == NULL);
	CHECK_EQ_INT(dist_buf_get(&b, &w, 1), ACC_EINTERNAL);   /* past the end */
	/* a string whose length runs past the buffer, and one without its NUL */
	dist_buf c = { 0 };
	uint64_t big = 1000;
	CHECK_OK(dist_buf_put(&c, &big, sizeof big));
	CHECK_OK(dist_buf_put(&c, "abc", 3));
	CHECK_EQ_INT(dist_buf_get_str(&c, &s), ACC_EINTERNAL);
	CHECK(s == NULL);
	dist_buf e = { 0 };
	uint64_t three = 3;
	CHECK_OK(dist_buf_put(&e, &three, sizeof three));
	CHECK_OK(dist_buf_put(&e, "abc", 3));
	CHECK_EQ_INT(dist_buf_get_str(&e, &s), ACC_EINTERNAL);
	dist_buf_free(&b);
	dist_buf_free(&c);
	dist_buf_free(&e);
}

/* An alignment with every array filled. */
static void make_result(align_result *r)
{
	memset(r, 0, sizeof *r);
	r->status_ok = 1;
	r->flags = ALIGN_FLAG_OOV;
	snprintf(r->message, sizeof r->message, "two words");
	r->frames = 50;
	r->tokens = 4;
	r->mean_logp = -0.25;
	r->chars_per_s = 11.5;
	r->ntok = 4;
	r->tok = calloc(4, sizeof *r->tok);
	r->tok_ids = calloc(4, sizeof *r->tok_ids);
	for (int k = 0; k < 4; k++) {
		r->tok[k] = (align_span){ k, k, 5 + k, 10 * k, 10 * k + 3, -0.5 * k, 0.9 };
		r->tok_ids[k] = 5 + k;
	}
	r->nwords = 2;
	r->words = calloc(2, sizeof *r->words);
	r->words[0] = (align_span){ 0, 1, 5, 0, 13, -0.2, 0.8 };
	r->words[1] = (align_span){ 2, 3, 7, 20, 33, -0.7, 0.5 };
	r->word_text = calloc(2, sizeof *r->word_text);
	r->word_text[0] = strdup("ab");
	r->word_text[1] = strdup("cd");
	r->word_label = calloc(2, sizeof *r->word_label);
	r->word_label[0] = strdup("AB,");
	r->word_label[1] = strdup("");   /* continues the previous label */
}

static void test_align_result(void)
{
	align_result r, g;
	make_result(&r);
	char hash[65];
	memset(hash, 'f', 64);
	hash[64] = 0;
	dist_buf b = { 0 };
	CHECK_OK(align_dist_put_result(&b, 77, 1.25, hash, "{\"z\":1}", &r));
	int64_t id = 0;
	double t0 = 0;
	char h2[65];
	char *oov = NULL;
	CHECK_OK(align_dist_get_result(&b, &id, &t0, h2, &oov, &g));
	CHECK_EQ_INT(id, 77);
	CHECK(t0 == 1.25);
	CHECK_STR(h2, hash);
	CHECK_STR(oov, "{\"z\":1}");
	CHECK_EQ_INT(g.status_ok, 1);
	CHECK_EQ_INT(g.flags, ALIGN_FLAG_OOV);
	CHECK_STR(g.message, "two words");
	CHECK_EQ_INT(g.frames, 50);
	CHECK(g.mean_logp == -0.25 && g.chars_per_s == 11.5);
	CHECK_EQ_INT(g.ntok, 4);
	CHECK_EQ_INT(g.nwords, 2);
	CHECK(g.tok && !memcmp(g.tok, r.tok, 4 * sizeof *r.tok));
	CHECK(g.tok_ids && !memcmp(g.tok_ids, r.tok_ids, 4 * sizeof *r.tok_ids));
	CHECK(g.words && !memcmp(g.words, r.words, 2 * sizeof *r.words));
	CHECK(g.word_text && g.word_text[1]);
	if (g.word_text)
		CHECK_STR(g.word_text[1], "cd");
	CHECK(g.word_label && g.word_label[0] && g.word_label[1]);   /* labels travel too */
	if (g.word_label && g.word_label[0] && g.word_label[1]) {
		CHECK_STR(g.word_label[0], "AB,");
		CHECK_STR(g.word_label[1], "");
	}
	CHECK(g.word_rom == NULL);
	CHECK_EQ_INT(b.at, b.len);
	free(oov);
	align_result_free(&g);

	/* every truncation fails cleanly (ASan: no overread, no leak) */
	int bad = 0;
	for (size_t cut = 0; cut < b.len; cut++) {
		dist_buf t = { b.p, cut, 0, 0 };
		oov = NULL;
		int rc = align_dist_get_result(&t, &id, &t0, h2, &oov, &g);
		bad += rc == 0;
		CHECK(oov == NULL && g.tok == NULL && g.word_text == NULL);
		if (!rc) {
			free(oov);
			align_result_free(&g);
		}
	}
	CHECK_EQ_INT(bad, 0);
	/* a failed alignment: no arrays */
	align_result f = { 0 };
	f.flags = ALIGN_FLAG_EMPTY_TEXT;
	dist_buf fb = { 0 };
	CHECK_OK(align_dist_put_result(&fb, 3, 0, hash, NULL, &f));
	CHECK_OK(align_dist_get_result(&fb, &id, &t0, h2, &oov, &g));
	CHECK(oov == NULL && g.tok == NULL && g.words == NULL && g.nwords == 0);
	CHECK_EQ_INT(g.flags, ALIGN_FLAG_EMPTY_TEXT);
	align_result_free(&g);
	align_result_free(&r);
	dist_buf_free(&b);
	dist_buf_free(&fb);
}

static void test_align_work_and_oov(void)
{
	align_dist_work w = { 5, 9, 0.5, 2.25, (char *)"a text", (char *)"spk/u1", (char *)"/corpus/a.wav",
	                      (char *)"A Text!", NULL }, g;
	dist_buf b = { 0 };
	CHECK_OK(align_dist_put_work(&b, &w));
	CHECK_OK(align_dist_get_work(&b, &g));
	CHECK_EQ_INT(g.id, 5);
	CHECK_EQ_INT(g.rec, 9);
	CHECK(g.start == 0.5 && g.end == 2.25);
	CHECK_STR(g.text, "a text");
	CHECK_STR(g.key, "spk/u1");
	CHECK_STR(g.path, "/corpus/a.wav");
	CHECK_STR(g.raw, "A Text!");
	CHECK(g.profile == NULL);
	align_dist_work_free(&g);
	for (size_t cut = 0; cut < b.len; cut++) {
		dist_buf t = { b.p, cut, 0, 0 };
		CHECK(align_dist_get_work(&t, &g) != 0);
	}
	dist_buf_free(&b);

	vocab_oov_char ch[2] = { { "z", 3 }, { "é", 1 } };
	vocab_oov src = { ch, 2, 2, 4 }, dst = { 0 };
	CHECK_OK(align_dist_put_oov(&b, &src));
	CHECK_OK(align_dist_put_oov(&b, &src));
	CHECK_OK(align_dist_get_oov(&b, &dst));
	CHECK_OK(align_dist_get_oov(&b, &dst));
	CHECK_EQ_INT(dst.n, 2);
	CHECK_EQ_INT(dst.total, 8);
	CHECK(dst.n == 2 && !strcmp(dst.chars[0].ch, "z") && dst.chars[0].count == 6);
	vocab_oov_free(&dst);
	dist_buf_free(&b);
}

/* One rank: the step's loss sum is the in-order sum of the good
 * micro-batches, the gradient stays rank 0's own fold. */
static void test_trainer_dist_one_rank(void)
{
	trainer_dist *td = NULL;
	CHECK_OK(trainer_dist_create(&td, 3, 0));
	CHECK_OK(trainer_dist_begin(td, 4));
	CHECK_OK(trainer_dist_add(td, 0, 1, 0.1, NULL, NULL));
	CHECK_OK(trainer_dist_add(td, 1, 0, 99, NULL, NULL));   /* skipped: its loss never counts */
	CHECK_OK(trainer_dist_add(td, 2, 1, 0.2, NULL, NULL));
	CHECK_OK(trainer_dist_add(td, 3, 1, 0.3, NULL, NULL));
	CHECK(trainer_dist_add(td, 4, 1, 0.3, NULL, NULL) != 0);   /* outside the step */
	float g[3] = { 1, 2, 3 };
	double lsum = 0, audio = 2.5;
	int good = 0;
	CHECK_OK(trainer_dist_reduce(td, g, NULL, &lsum, &good, &audio));
	CHECK_EQ_INT(good, 3);
	CHECK(lsum == (0.1 + 0.2) + 0.3);
	CHECK(audio == 2.5);
	CHECK(g[0] == 1 && g[2] == 3);
	metrics_accum ma;
	metrics_accum_init(&ma);
	CHECK_OK(metrics_accum_add(&ma, "a b", "a c"));
	metrics_accum before = ma;
	CHECK_OK(trainer_dist_metrics_sum(&ma));
	CHECK(!memcmp(&before, &ma, sizeof ma));
	trainer_dist_free(td);
}

int main(void)
{
	RUN(test_one_rank);
	RUN(test_buf);
	RUN(test_align_result);
	RUN(test_align_work_and_oov);
	RUN(test_trainer_dist_one_rank);
	return check_summary();
}
