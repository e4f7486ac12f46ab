/*
 * test_ingest_dist.c — lib/prep/ingest_dist.c without a database or MPI:
 * an ingest result (item, utterances to insert and reject, long-text lines,
 * measurements) survives the byte record ranks exchange field by field,
 * with the utterance a row points to kept by index; a work record (item
 * only) goes and comes back alike; every truncation of a record (as a
 * dying rank could send) is an error, never a crash or a leak (ASan).
 * The multi-rank run is tested by tests/mpi_ingest.sh.
 */
#include "check.h"

#include <stdint.h>

#include "base/dist.h"
#include "base/err.h"
#include "prep/ingest_dist.h"

static const char *reason_static = "too_short";

/* A result as a worker leaves it: an item of two utterances (the second
 * rejected by the reader), one inserted utterance, one reject, one line. */
static ingest_result *sample(void)
{
	ingest_result *r = calloc(1, sizeof *r);
	CHECK(r != NULL);
	CHECK_OK(corpus_item_init(&r->it, "clips/a.mp3", "validated.tsv:3"));
	r->seq = 41;
	r->it.duration_declared = 3.25;
	corpus_utt *u0 = corpus_item_add_utt(&r->it, "a", "Hello there", "validated.tsv:3");
	CHECK(u0 != NULL);
	u0->speaker = strdup("spk1");
	u0->gender = strdup("female");
	u0->lang = strdup("en");
	u0->end_s = 2.5;
	corpus_utt *u1 = corpus_item_add_utt(&r->it, "b", NULL, "validated.tsv:4");
	CHECK(u1 != NULL);
	CHECK_OK(corpus_utt_reject(u1, "bad_span", "span %d", 7));
	CHECK_OK(corpus_item_add_line(&r->it, "first line"));
	r->have_rec = 1;
	snprintf(r->sha, sizeof r->sha, "%064d", 7);
	r->size = 12345;
	r->mtime = 1.5e9 + 0.25;
	snprintf(r->info.container, sizeof r->info.container, "MPEG");
	snprintf(r->info.codec, sizeof r->info.codec, "MPEG_LAYER_III");
	r->info.sample_rate = 48000;
	r->info.channels = 2;
	r->st.duration_s = 3.2;
	r->st.peak = 0.9;
	ingest_urec *a = ingest_result_add_urec(r);
	a->ok = 1;
	a->key = strdup("a");
	a->source = strdup("validated.tsv:3");
	a->start = 0;
	a->end = 2.5;
	a->text_raw = strdup("Hello there");
	a->text_norm = strdup("hello there");
	a->profile = strdup("default");
	a->version = 3;
	a->flags = 8;
	a->status = "ok";
	a->cu = &r->it.utt[0];
	a->lang = "eng";
	ingest_urec *b = ingest_result_add_urec(r);
	b->source = strdup("validated.tsv:4");
	b->reason = reason_static;
	b->msg = strdup("lasts 0.1 s");
	ingest_line *l = ingest_result_add_line(r);
	l->raw = strdup("First line");
	l->norm = NULL;   /* normalized to nothing */
	l->source = strdup("a.txt:1");
	l->profile = strdup("default");
	l->lang = "eng";
	l->version = 3;
	return r;
}

static void test_round_trip(void)
{
	ingest_result *r = sample(), *g = NULL;
	dist_buf b = { 0 };
	CHECK_OK(ingest_dist_put(&b, r));
	CHECK_OK(ingest_dist_get(&b, &g));
	CHECK_EQ_INT(b.at, b.len);
	CHECK(g != NULL);
	if (g) {
		CHECK_EQ_INT(g->seq, 41);
		CHECK_STR(g->it.audio, "clips/a.mp3");
		CHECK_STR(g->it.source, "validated.tsv:3");
		CHECK(g->it.duration_declared == 3.25);
		CHECK_EQ_INT(g->it.nutt, 2);
		CHECK_STR(g->it.utt[0].speaker, "spk1");
		CHECK_STR(g->it.utt[0].gender, "female");
		CHECK(g->it.utt[0].age == NULL);
		CHECK(g->it.utt[0].end_s == 2.5);
		CHECK(g->it.utt[1].text == NULL);
		CHECK_STR(g->it.utt[1].reject_reason, "bad_span");
		CHECK_STR(g->it.utt[1].reject_msg, "span 7");
		CHECK_EQ_INT(g->it.nlines, 1);
		CHECK_STR(g->it.lines[0], "first line");
		CHECK_EQ_INT(g->have_rec, 1);
		CHECK_STR(g->sha, r->sha);
		CHECK_EQ_INT(g->size, 12345);
		CHECK(g->mtime == r->mtime);
		CHECK_STR(g->info.codec, "MPEG_LAYER_III");
		CHECK_EQ_INT(g->info.sample_rate, 48000);
		CHECK(g->st.duration_s == 3.2 && g->st.peak == 0.9);
		CHECK_EQ_INT(g->nu, 2);
		CHECK_EQ_INT(g->u[0].ok, 1);
		CHECK_STR(g->u[0].text_norm, "hello there");
		CHECK_STR(g->u[0].status, "ok");
		CHECK_STR(g->u[0].lang, "eng");
		CHECK_EQ_INT(g->u[0].version, 3);
		CHECK_EQ_INT(g->u[0].flags, 8);
		CHECK(g->u[0].cu == &g->it.utt[0]);   /* by index, into the copy */
		CHECK_EQ_INT(g->u[1].ok, 0);
		CHECK_STR(g->u[1].reason, "too_short");
		CHECK(g->u[1].reason != reason_static);   /* a copy the result owns */
		CHECK(g->u[1].cu == NULL);
		CHECK_STR(g->u[1].msg, "lasts 0.1 s");
		CHECK_EQ_INT(g->nl, 1);
		CHECK(g->l[0].norm == NULL);
		CHECK_STR(g->l[0].source, "a.txt:1");
		CHECK_STR(g->l[0].lang, "eng");
	}
	ingest_result_free(g);
	ingest_result_free(r);
	dist_buf_free(&b);
}

/* A work record is a result with only the item: two in one buffer. */
static void test_work_records(void)
{
	dist_buf b = { 0 };
	ingest_result *w = calloc(1, sizeof *w), *g = NULL;
	CHECK_OK(corpus_item_init(&w->it, NULL, "wav.scp:9"));
	CHECK_OK(corpus_item_reject(&w->it, "wav.scp:9", "piped_command", "'%s' is a command", "sox x |"));
	w->seq = 1;
	CHECK_OK(ingest_dist_put(&b, w));
	w->seq = 2;
	CHECK_OK(ingest_dist_put(&b, w));
	for (int k = 1; k <= 2; k++) {
		CHECK_OK(ingest_dist_get(&b, &g));
		if (!g)
			continue;
		CHECK_EQ_INT(g->seq, k);
		CHECK(g->it.audio == NULL);
		CHECK_STR(g->it.reject_reason, "piped_command");
		CHECK_STR(g->it.reject_msg, "'sox x |' is a command");
		CHECK_EQ_INT(g->nu + g->nl + g->have_rec, 0);
		ingest_result_free(g);
	}
	CHECK_EQ_INT(b.at, b.len);
	ingest_result_free(w);
	dist_buf_free(&b);
}

static void test_truncated(void)
{
	ingest_result *r = sample(), *g = NULL;
	dist_buf b = { 0 };
	CHECK_OK(ingest_dist_put(&b, r));
	int errors = 0;
	for (size_t n = 0; n < b.len; n++) {
		dist_buf t = { b.p, n, 0, 0 };
		int rc = ingest_dist_get(&t, &g);
		errors += rc == ACC_EINTERNAL && g == NULL;
		ingest_result_free(g);
		g = NULL;
	}
	CHECK_EQ_INT(errors, b.len);
	/* a count larger than the record can hold: an item without
	 * utterances, its utterance count patched.  Layout: 5 numbers of the
	 * result (40 bytes), the item's audio "x.wav" (8 + 6) and source "s"
	 * (8 + 2), duration, long_form and three NULL strings (5 x 8), then
	 * the count. */
	ingest_result *e = calloc(1, sizeof *e);
	CHECK_OK(corpus_item_init(&e->it, "x.wav", "s"));
	dist_buf t = { 0 };
	CHECK_OK(ingest_dist_put(&t, e));
	size_t at = 40 + 14 + 10 + 40;
	int64_t cnt = -1, huge = INT32_MAX;
	CHECK(t.len > at + 8);
	if (t.len > at + 8) {
		memcpy(&cnt, t.p + at, sizeof cnt);
		CHECK_EQ_INT(cnt, 0);
		CHECK_OK(ingest_dist_get(&t, &g));   /* as written: fine */
		ingest_result_free(g);
		memcpy(t.p + at, &huge, sizeof huge);
		t.at = 0;
		CHECK(ingest_dist_get(&t, &g) == ACC_EINTERNAL && g == NULL);
	}
	ingest_result_free(e);
	dist_buf_free(&t);
	ingest_result_free(r);
	dist_buf_free(&b);
}

int main(void)
{
	RUN(test_round_trip);
	RUN(test_work_records);
	RUN(test_truncated);
	return check_summary();
}
