/*
 * test_align_eval.c — alignment accuracy against reference word timings
 * (lib/eval/align_eval.h): the boundary statistics and the word matching on
 * hand-made sequences, and the ground-truth reader joined with a manifest
 * built by hand, every expected figure worked out in the comments.
 */
#include "eval/align_eval.h"
#include "check.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "manifest/manifest.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static align_eval_word W(const char *w, double s, double e, int ss, int se)
{
	return (align_eval_word){ .word = w, .start_s = s, .end_s = e, .score_start = ss, .score_end = se };
}

/* what one language's statistics must be: times in ms within tol_ms, shares within 1e-12 */
typedef struct want_stats {
	int64_t matched, boundaries;
	double mean, median, share20, share50, bias_start, bias_end;
} want_stats;

static void check_stats(align_eval_stats *s, want_stats w, double tol_ms)
{
	CHECK_EQ_INT(s->matched_words, w.matched);
	CHECK_EQ_INT(s->boundaries, w.boundaries);
	CHECK_NEAR(align_eval_mean_ms(s), w.mean, tol_ms);
	CHECK_NEAR(align_eval_median_ms(s), w.median, tol_ms);
	CHECK_NEAR(align_eval_share20(s), w.share20, 1e-12);
	CHECK_NEAR(align_eval_share50(s), w.share50, 1e-12);
	CHECK_NEAR(align_eval_bias_start_ms(s), w.bias_start, tol_ms);
	CHECK_NEAR(align_eval_bias_end_ms(s), w.bias_end, tol_ms);
}

/* Shifts of +10 ms on every start and +30 ms on every end: mean 20, half
 * within 20 ms, all within 50 ms, biases +10 / +30, median (10+30)/2. */
static void test_stats_known_shift(void)
{
	align_eval_word ref[] = { W("a", 0.1, 0.4, 1, 1), W("b", 0.5, 0.9, 1, 1) };
	align_eval_word hyp[] = { W("a", 0.11, 0.43, 0, 0), W("b", 0.51, 0.93, 0, 0) };
	align_eval_stats st = { 0 };
	CHECK_OK(align_eval_match(ref, 2, hyp, 2, &st));
	check_stats(&st, (want_stats){ 2, 4, 20.0, 20.0, 0.5, 1.0, 10.0, 30.0 }, 1e-9);
	align_eval_stats_free(&st);
}

/* Unmeasured boundaries are not scored: only b's end (1 boundary, 40 ms). */
static void test_only_measured_boundaries(void)
{
	align_eval_word ref[] = { W("a", 0.1, 0.4, 0, 0), W("b", 0.5, 0.9, 0, 1) };
	align_eval_word hyp[] = { W("a", 0.3, 0.7, 0, 0), W("b", 0.6, 0.94, 0, 0) };
	align_eval_stats st = { 0 };
	CHECK_OK(align_eval_match(ref, 2, hyp, 2, &st));
	CHECK_EQ_INT(st.boundaries, 1);
	CHECK_NEAR(align_eval_mean_ms(&st), 40.0, 1e-9);
	CHECK_NEAR(align_eval_share20(&st), 0.0, 1e-12);
	CHECK_NEAR(align_eval_share50(&st), 1.0, 1e-12);
	CHECK(isnan(align_eval_bias_start_ms(&st)));
	align_eval_stats_free(&st);
}

/* A missing and an inserted word with repeated texts: "the cat the dog"
 * against "the the dog big" pairs ref 0,2,3 with hyp 0,1,2.  The hyp times
 * equal those of the intended partner, so any other pairing shows as error. */
static void test_match_repeats_and_gaps(void)
{
	align_eval_word ref[] = { W("the", 0.0, 0.2, 1, 1), W("cat", 0.3, 0.6, 1, 1), W("the", 0.7, 0.9, 1, 1),
				  W("dog", 1.0, 1.4, 1, 1) };
	align_eval_word hyp[] = { W("the", 0.0, 0.2, 0, 0), W("the", 0.7, 0.9, 0, 0), W("dog", 1.0, 1.4, 0, 0),
				  W("big", 1.5, 1.8, 0, 0) };
	align_eval_stats st = { 0 };
	CHECK_OK(align_eval_match(ref, 4, hyp, 4, &st));
	CHECK_EQ_INT(st.ref_words, 4);
	CHECK_EQ_INT(st.hyp_words, 4);
	CHECK_EQ_INT(st.matched_words, 3);
	CHECK_EQ_INT(st.boundaries, 6);
	CHECK_NEAR(align_eval_mean_ms(&st), 0.0, 1e-9);
	align_eval_stats_free(&st);
}

static void test_empty_and_too_large(void)
{
	align_eval_stats st = { 0 };
	align_eval_word one = W("a", 0, 1, 1, 1);
	CHECK_OK(align_eval_match(&one, 1, NULL, 0, &st));
	CHECK_EQ_INT(st.ref_words, 1);
	CHECK_EQ_INT(st.boundaries, 0);
	CHECK(isnan(align_eval_mean_ms(&st)));
	CHECK(isnan(align_eval_median_ms(&st)));
	int n = 9000;   /* 9001 * 9001 cells > 2^26 */
	align_eval_word *many = malloc((size_t)n * sizeof *many);
	CHECK(many != NULL);
	if (many) {
		for (int i = 0; i < n; i++)
			many[i] = W("x", i, i + 0.5, 1, 1);
		CHECK_EQ_INT(align_eval_match(many, n, many, n, &st), ACC_EINVAL);
		free(many);
	}
	align_eval_stats_free(&st);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char p[4096];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	CHECK_OK(fs_write_atomic(p, text, strlen(text)));
}

static void exec_sql(manifest *m, const char *sql)
{
	CHECKF(manifest_exec(m, sql) == 0, "%s: %s", sql, err_msg());
}

/* A synthesized-corpus truth with three recordings:
 *   a.wav (eng, one utterance "Hello, world."), aligned in the manifest;
 *   long.wav (amh, two utterances), aligned as pieces cut elsewhere than the
 *     truth's lines, plus a 'segmented' parent whose words must be ignored
 *     and an extra aligned word the truth does not have;
 *   m.wav (eng) never ingested.
 * Errors (ms): eng starts +10 -10, ends +20 +50 -> mean 22.5, median 15,
 * within 20: 3/4, within 50: 4/4, bias start 0, end +35.
 * amh: ሰላም start 0, its end unmeasured (the next word's start is not
 * timed); ዓለም start unmeasured, end -50; እንደምን +100/0; ነህ 0/+100
 * -> 6 boundaries, mean 250/6, median (0+50)/2, within 20: 3/6, within 50:
 * 4/6, bias start 100/3, end 50/3.  All: 10 boundaries, 340 ms. */
static void test_truth_against_manifest(void)
{
	char corpus[2048], truth[4096], root[PATH_MAX], db[4096], sql[8192];
	snprintf(corpus, sizeof corpus, "%s/corpus", TEST_TMP);
	snprintf(truth, sizeof truth, "%s/_truth", corpus);
	CHECK_OK(fs_mkdir_p(truth));
	write_file(truth, "utterances.tsv",
		   "utt_key\tspeaker\tlang\tgender\taccent\ttext\tfile\tstart_s\tend_s\tspeech_start_s\tspeech_end_s\twords_complete\n"
		   "u1\teng_s000\teng\tmale\ten-us\tHello, world.\ta.wav\t0.000000\t2.000000\t0.1\t1.0\t1\n"
		   "L2\tamh_s000\tamh\tmale\tam\tእንደምን ነህ\tlong.wav\t3.000000\t6.000000\t3.2\t4.6\t1\n"
		   "L1\tamh_s000\tamh\tmale\tam\tሰላም ዓለም።\tlong.wav\t0.000000\t3.000000\t0.2\t1.5\t0\n"
		   "m1\teng_s001\teng\tfemale\ten-us\tMissing file\tm.wav\t0.000000\t1.000000\t0.1\t0.9\t1\n");
	write_file(truth, "words.tsv",
		   "utt_key\tindex\tword\tstart_s\tend_s\ttimed\n"
		   "u1\t0\tHello\t0.100000\t0.500000\t1\n"
		   "u1\t1\tworld\t0.600000\t1.000000\t1\n"
		   "L2\t1\tነህ\t4.000000\t4.600000\t1\n"
		   "L2\t0\tእንደምን\t3.200000\t3.900000\t1\n"
		   "L1\t0\tሰላም\t0.200000\t0.800000\t1\n"
		   "L1\t1\tዓለም\t0.900000\t1.500000\t0\n"
		   "m1\t0\tMissing\t0.100000\t0.400000\t1\n"
		   "m1\t1\tfile\t0.500000\t0.900000\t1\n");
	CHECK(realpath(corpus, root) != NULL);
	snprintf(db, sizeof db, "%s/data.db", TEST_TMP);
	manifest *m = NULL;
	CHECK_OK(manifest_open(&m, db, 1));
	if (!m)
		return;
	char *q = sqlite3_mprintf("INSERT INTO corpora(id, root, layout) VALUES (1, %Q, 'kaldi')", root);
	exec_sql(m, q);
	sqlite3_free(q);
	exec_sql(m, "INSERT INTO recordings(id, corpus_id, path, sha256, size_bytes, duration_s) VALUES "
		    "(1, 1, 'a.wav', 'x1', 1, 2.0), (2, 1, 'long.wav', 'x2', 1, 6.0)");
	exec_sql(m, "INSERT INTO utterances(id, corpus_id, utt_key, recording_id, start_s, end_s, text_norm, lang, status) VALUES "
		    "(1, 1, 'u1', 1, 0, 2, 'hello world', 'eng', 'ok'),"
		    "(2, 1, 'long#0', 2, 0, 4, 'ሰላም ዓለም እንደምን', 'amh', 'ok'),"
		    "(3, 1, 'long#1', 2, 4, 6, 'ነህ ተጨማሪ', 'amh', 'ok'),"
		    "(4, 1, 'long', 2, 0, 6, NULL, 'amh', 'segmented')");
	for (int id = 1; id <= 4; id++) {
		snprintf(sql, sizeof sql, "INSERT INTO alignments(utterance_id, lang, model_id, align_hash, status) "
			 "VALUES (%d, 'x', 'm', 'h%d', 'ok')", id, id);
		exec_sql(m, sql);
	}
	exec_sql(m, "INSERT INTO align_words(utterance_id, idx, word, start_s, end_s, mean_logp, score) VALUES "
		    "(1, 0, 'hello', 0.110, 0.520, 0, 1), (1, 1, 'world', 0.590, 1.050, 0, 1),"
		    "(2, 0, 'ሰላም', 0.2, 0.8, 0, 1), (2, 1, 'ዓለም', 0.95, 1.45, 0, 1), (2, 2, 'እንደምን', 3.3, 3.9, 0, 1),"
		    "(3, 0, 'ነህ', 4.0, 4.7, 0, 1), (3, 1, 'ተጨማሪ', 4.7, 5.0, 0, 1),"
		    "(4, 0, 'ሰላም', 9.0, 9.5, 0, 1)");

	align_eval_report rep = { 0 };
	CHECK_OK(align_eval_truth(m, truth, NULL, &rep));
	CHECK_EQ_INT(rep.n_langs, 2);
	for (int i = 0; i < rep.n_langs; i++) {
		align_eval_stats *s = &rep.langs[i];
		if (!strcmp(s->lang, "eng")) {
			CHECK_EQ_INT(s->recordings, 2);
			CHECK_EQ_INT(s->recordings_missing, 1);
			CHECK_EQ_INT(s->ref_words, 4);
			check_stats(s, (want_stats){ 2, 4, 22.5, 15.0, 0.75, 1.0, 0.0, 35.0 }, 1e-6);
		} else {
			CHECK_STR(s->lang, "amh");
			CHECK_EQ_INT(s->recordings, 1);
			CHECK_EQ_INT(s->recordings_missing, 0);
			CHECK_EQ_INT(s->ref_words, 4);
			CHECK_EQ_INT(s->hyp_words, 5);
			check_stats(s, (want_stats){ 4, 6, 250.0 / 6, 25.0, 3.0 / 6, 4.0 / 6, 100.0 / 3, 50.0 / 3 }, 1e-6);
		}
	}
	CHECK_EQ_INT(rep.total.boundaries, 10);
	CHECK_NEAR(align_eval_mean_ms(&rep.total), 340.0 / 10, 1e-6);
	align_eval_report_free(&rep);

	/* one language only */
	CHECK_OK(align_eval_truth(m, truth, "eng", &rep));
	CHECK_EQ_INT(rep.n_langs, 1);
	CHECK_EQ_INT(rep.total.boundaries, 4);
	align_eval_report_free(&rep);

	/* faults: a word of an unknown utterance, a missing column, a corpus
	 * that was never ingested, no truth at all */
	write_file(truth, "words.tsv", "utt_key\tindex\tword\tstart_s\tend_s\ttimed\nzz\t0\ta\t0\t1\t1\n");
	CHECK_EQ_INT(align_eval_truth(m, truth, NULL, &rep), ACC_EFORMAT);
	align_eval_report_free(&rep);
	write_file(truth, "words.tsv", "utt_key\tindex\tword\tstart_s\tend_s\nu1\t0\ta\t0\t1\n");
	CHECK_EQ_INT(align_eval_truth(m, truth, NULL, &rep), ACC_EFORMAT);
	align_eval_report_free(&rep);
	write_file(truth, "words.tsv", "utt_key\tindex\tword\tstart_s\tend_s\ttimed\nu1\t0\thello\t0.5\t0.1\t1\n");
	CHECK_EQ_INT(align_eval_truth(m, truth, NULL, &rep), ACC_EFORMAT);
	align_eval_report_free(&rep);
	write_file(truth, "words.tsv", "utt_key\tindex\tword\tstart_s\tend_s\ttimed\n");
	exec_sql(m, "UPDATE corpora SET root = '/elsewhere'");
	CHECK_EQ_INT(align_eval_truth(m, truth, NULL, &rep), ACC_ENOTFOUND);
	align_eval_report_free(&rep);
	snprintf(sql, sizeof sql, "%s/none", TEST_TMP);
	CHECK(align_eval_truth(m, sql, NULL, &rep) < 0);
	align_eval_report_free(&rep);
	manifest_close(m);
}

int main(void)
{
	RUN(test_stats_known_shift);
	RUN(test_only_measured_boundaries);
	RUN(test_match_repeats_and_gaps);
	RUN(test_empty_and_too_large);
	RUN(test_truth_against_manifest);
	return check_summary();
}
