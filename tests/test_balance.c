/*
 * test_balance.c — speaker balance weights and speaker-disjoint splits:
 * the weights against an independent SQL computation of the formula, the
 * accent level and the cap; splits checked for disjointness, proportions,
 * determinism (seed, insertion order) and the distinct-sentence option.
 */
#include "manifest/balance.h"
#include "check.h"
#include "base/err.h"
#include "manifest/manifest.h"
#include "manifest_fixture.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

/* max |weight - independent| where independent = d * T_s^(a-1) / mean(...)
 * over status 'ok' utterances, T_s per speaker (or per recording when the
 * speaker is unknown). */
static double weight_error(manifest *m, double alpha)
{
	char sql[1024];
	snprintf(sql, sizeof sql,
		 "WITH t AS (SELECT coalesce(speaker_id, -recording_id) AS k, sum(end_s - start_s) AS T "
		 "           FROM utterances WHERE status = 'ok' GROUP BY k), "
		 "raw AS (SELECT u.id, (u.end_s - u.start_s) * pow(t.T, %.17g - 1) AS r FROM utterances u "
		 "        JOIN t ON t.k = coalesce(u.speaker_id, -u.recording_id) WHERE u.status = 'ok'), "
		 "ind AS (SELECT id, r / (SELECT avg(r) FROM raw) AS w FROM raw) "
		 "SELECT max(abs(ind.w - u.weight)) FROM ind JOIN utterances u ON u.id = ind.id", alpha);
	return fixture_real(m, sql);
}

static void test_weights_formula(void)
{
	fixture_opts o = { .n_speakers = 30, .long_recording = 1 };
	manifest *m = fixture_open("weights", &o);
	balance_stats st;
	CHECK(m != NULL);
	if (!m)
		return;
	const double alphas[] = { 0.5, 0.0, 1.0, 0.3 };
	for (int i = 0; i < 4; i++) {
		balance_opts bo = BALANCE_OPTS_DEFAULT;
		bo.alpha = alphas[i];
		CHECK_OK(balance_weights(m, &bo, &st));
		CHECKF(weight_error(m, alphas[i]) < 1e-9, "alpha %g: error %g", alphas[i], weight_error(m, alphas[i]));
		CHECK_NEAR(fixture_real(m, "SELECT avg(weight) FROM utterances WHERE weight IS NOT NULL"), 1.0, 1e-12);
		CHECK_EQ_INT(st.utterances, fixture_int(m, "SELECT count(*) FROM utterances WHERE status = 'ok'"));
		CHECK_EQ_INT(st.speakers, 31);  /* 30 speakers + the speakerless long recording */
	}
	/* utterances not considered get no weight */
	CHECK_EQ_INT(fixture_int(m, "SELECT count(*) FROM utterances WHERE status <> 'ok' AND weight IS NOT NULL"), 0);
	CHECK(fixture_int(m, "SELECT count(*) FROM utterances WHERE status <> 'ok'") > 0);

	/* alpha = 0: every speaker gets the same mass */
	balance_opts b0 = BALANCE_OPTS_DEFAULT;
	b0.alpha = 0;
	CHECK_OK(balance_weights(m, &b0, &st));
	CHECK_NEAR(fixture_real(m, "SELECT max(s) - min(s) FROM (SELECT sum(weight) AS s FROM utterances "
				   "WHERE weight IS NOT NULL GROUP BY coalesce(speaker_id, -recording_id))"), 0, 1e-9);
	CHECK_NEAR(st.max_share, 1.0 / 31, 1e-12);
	/* alpha = 1: weight proportional to duration */
	b0.alpha = 1;
	CHECK_OK(balance_weights(m, &b0, &st));
	CHECK_NEAR(fixture_real(m, "SELECT max(abs(weight - (end_s - start_s) / (SELECT avg(end_s - start_s) FROM utterances "
				   "WHERE status = 'ok'))) FROM utterances WHERE status = 'ok'"), 0, 1e-9);

	/* speakers' totals and their weight per second */
	CHECK_EQ_INT(fixture_int(m, "SELECT count(*) FROM speakers s WHERE n_utterances <> "
				  "(SELECT count(*) FROM utterances WHERE speaker_id = s.id AND status = 'ok') "
				  "OR abs(total_duration_s - (SELECT coalesce(sum(end_s - start_s), 0) FROM utterances "
				  "WHERE speaker_id = s.id AND status = 'ok')) > 1e-9"), 0);
	CHECK_NEAR(fixture_real(m, "SELECT max(abs(u.weight - (u.end_s - u.start_s) * s.weight)) FROM utterances u "
				   "JOIN speakers s ON s.id = u.speaker_id WHERE u.weight IS NOT NULL"), 0, 1e-9);
	/* speaker_balance view: shares sum to 1 */
	CHECK_NEAR(fixture_real(m, "SELECT sum(natural_share) FROM speaker_balance"), 1.0, 1e-3);

	/* only one split */
	split_opts so = SPLIT_OPTS_DEFAULT;
	CHECK_OK(balance_split(m, &so, NULL));
	balance_opts bt = BALANCE_OPTS_DEFAULT;
	bt.split = "train";
	CHECK_OK(balance_weights(m, &bt, &st));
	CHECK_EQ_INT(fixture_int(m, "SELECT count(*) FROM utterances WHERE weight IS NOT NULL AND split <> 'train'"), 0);
	CHECK_NEAR(fixture_real(m, "SELECT avg(weight) FROM utterances WHERE weight IS NOT NULL"), 1.0, 1e-12);
	CHECK_EQ_INT(st.utterances, fixture_int(m, "SELECT count(*) FROM utterances WHERE status = 'ok' AND split = 'train'"));
	manifest_close(m);
}

static void test_weights_accent_and_cap(void)
{
	fixture_opts o = { .n_speakers = 24, .accents = 1 };
	manifest *m = fixture_open("accent", &o);
	balance_stats st;
	CHECK(m != NULL);
	if (!m)
		return;
	balance_opts bo = BALANCE_OPTS_DEFAULT;
	bo.alpha = 0.5;
	CHECK_OK(balance_weights(m, &bo, &st));
	/* groups: (lang, accent) when known, else the speaker alone */
	CHECK_EQ_INT(st.accents, fixture_int(m, "SELECT count(DISTINCT lang || '/' || accent) FROM speakers WHERE accent IS NOT NULL"));
	/* independent: mass_s = T_A^a * T_s^a / sum_{s' in A} T_s'^a, weight = d * mass_s / T_s, mean 1 */
	const char *indep =
		"WITH sp AS (SELECT s.id, coalesce(s.lang || '/' || s.accent, 'spk' || s.id) AS g, "
		"            sum(u.end_s - u.start_s) AS T FROM speakers s JOIN utterances u ON u.speaker_id = s.id "
		"            WHERE u.status = 'ok' GROUP BY s.id), "
		"grp AS (SELECT g, sum(T) AS TA, sum(pow(T, 0.5)) AS GS FROM sp GROUP BY g), "
		"mass AS (SELECT sp.id, pow(grp.TA, 0.5) * pow(sp.T, 0.5) / grp.GS / sp.T AS f FROM sp JOIN grp USING (g)), "
		"raw AS (SELECT u.id, (u.end_s - u.start_s) * mass.f AS r FROM utterances u JOIN mass ON mass.id = u.speaker_id "
		"        WHERE u.status = 'ok'), "
		"ind AS (SELECT id, r / (SELECT avg(r) FROM raw) AS w FROM raw) "
		"SELECT max(abs(ind.w - u.weight)) FROM ind JOIN utterances u ON u.id = ind.id";
	CHECK_NEAR(fixture_real(m, indep), 0, 1e-9);
	/* alpha 0: every accent group has the same mass, equal within a group */
	bo.alpha = 0;
	CHECK_OK(balance_weights(m, &bo, &st));
	CHECK_NEAR(fixture_real(m, "SELECT max(s) - min(s) FROM (SELECT sum(u.weight) AS s FROM utterances u JOIN speakers p "
				   "ON p.id = u.speaker_id WHERE u.weight IS NOT NULL GROUP BY coalesce(p.lang || '/' || p.accent, 'spk' || p.id))"),
		   0, 1e-9);
	/* without the accent level, alpha 0 = equal per speaker */
	bo.use_accent = 0;
	CHECK_OK(balance_weights(m, &bo, &st));
	CHECK_EQ_INT(st.accents, 0);
	CHECK_NEAR(fixture_real(m, "SELECT max(s) - min(s) FROM (SELECT sum(weight) AS s FROM utterances "
				   "WHERE weight IS NOT NULL GROUP BY speaker_id)"), 0, 1e-9);

	/* cap: natural distribution, nobody above 6% of the mass */
	balance_opts bc = BALANCE_OPTS_DEFAULT;
	bc.alpha = 1;
	bc.use_accent = 0;
	CHECK_OK(balance_weights(m, &bc, &st));
	double natural_max = st.max_share;
	CHECK(natural_max > 0.06);
	bc.cap = 0.06;
	CHECK_OK(balance_weights(m, &bc, &st));
	CHECK(st.capped > 0);
	CHECK(st.max_share <= 0.06 + 1e-12);
	CHECK_NEAR(fixture_real(m, "SELECT max(s) FROM (SELECT sum(weight) / (SELECT sum(weight) FROM utterances) AS s "
				   "FROM utterances WHERE weight IS NOT NULL GROUP BY speaker_id)"), 0.06, 1e-9);
	CHECK_NEAR(fixture_real(m, "SELECT avg(weight) FROM utterances WHERE weight IS NOT NULL"), 1.0, 1e-12);
	/* uncapped speakers keep their relative natural masses */
	CHECK_NEAR(fixture_real(m,
		"WITH s AS (SELECT speaker_id, sum(weight) AS w, sum(end_s - start_s) AS d FROM utterances "
		"WHERE weight IS NOT NULL GROUP BY speaker_id) "
		"SELECT max(w / d) - min(w / d) FROM s WHERE w / (SELECT sum(w) FROM s) < 0.06 - 1e-9"), 0, 1e-9);

	/* an impossible cap fails and leaves the weights as they were */
	double before = fixture_real(m, "SELECT sum(weight * id) FROM utterances");
	bc.cap = 0.01;
	CHECK_EQ_INT(balance_weights(m, &bc, &st), ACC_EINVAL);
	CHECK_NEAR(fixture_real(m, "SELECT sum(weight * id) FROM utterances"), before, 1e-9);
	bc.cap = 0;
	bc.alpha = 1.5;
	CHECK_EQ_INT(balance_weights(m, &bc, &st), ACC_EINVAL);
	manifest_close(m);
}

static long long leaks(manifest *m)
{
	return fixture_int(m, "SELECT count(*) FROM (SELECT coalesce(speaker_id, -recording_id) AS k FROM utterances "
			      "WHERE split IN ('train', 'dev', 'test') GROUP BY k HAVING count(DISTINCT split) > 1)");
}

static void test_split_disjoint(void)
{
	fixture_opts o = { .n_speakers = 150, .long_recording = 1 };
	manifest *m = fixture_open("split", &o);
	split_stats st;
	CHECK(m != NULL);
	if (!m)
		return;
	split_opts so = SPLIT_OPTS_DEFAULT;
	CHECK_OK(balance_split(m, &so, &st));
	CHECK_EQ_INT(leaks(m), 0);
	CHECK_EQ_INT(fixture_int(m, "SELECT count(*) FROM utterances WHERE split IS NULL"), 0);
	CHECK_EQ_INT(st.langs, 2);
	/* every language has all three splits */
	CHECK_EQ_INT(fixture_int(m, "SELECT count(*) FROM (SELECT lang, count(DISTINCT split) AS n FROM utterances "
				  "GROUP BY lang) WHERE n = 3"), 2);
	/* proportions of duration, per language, near 80/10/10 */
	CHECK_NEAR(fixture_real(m, "SELECT sum(CASE WHEN split = 'train' THEN end_s - start_s END) / sum(end_s - start_s) "
				   "FROM utterances WHERE lang = 'eng'"), 0.8, 0.05);
	CHECK_NEAR(fixture_real(m, "SELECT sum(CASE WHEN split = 'test' THEN end_s - start_s END) / sum(end_s - start_s) "
				   "FROM utterances WHERE lang = 'amh'"), 0.1, 0.05);
	long long total = fixture_int(m, "SELECT count(*) FROM utterances");
	CHECK_EQ_INT(st.utterances[0] + st.utterances[1] + st.utterances[2], total);
	CHECK_EQ_INT(st.speakers[0] + st.speakers[1] + st.speakers[2], 151);

	/* by speaker count */
	so.by_count = 1;
	so.train = 0.5;
	so.dev = 0;
	so.test = 0.5;
	CHECK_OK(balance_split(m, &so, &st));
	CHECK_EQ_INT(st.speakers[1], 0);
	CHECK(llabs((long long)(st.speakers[0] - st.speakers[2])) <= 2);
	CHECK_EQ_INT(leaks(m), 0);
	/* bad proportions */
	so.train = so.dev = so.test = 0;
	CHECK_EQ_INT(balance_split(m, &so, &st), ACC_EINVAL);
	so.train = -1;
	CHECK_EQ_INT(balance_split(m, &so, &st), ACC_EINVAL);
	manifest_close(m);
}

static void test_split_small(void)
{
	/* 3 speakers and 80/10/10: each split still gets one */
	fixture_opts o = { .n_speakers = 4 };
	manifest *m = fixture_open("small", &o);
	split_stats st;
	CHECK(m != NULL);
	if (!m)
		return;
	CHECK_OK(manifest_exec(m, "DELETE FROM utterances WHERE lang = 'amh'"));
	split_opts so = SPLIT_OPTS_DEFAULT;
	for (so.seed = 0; so.seed < 20; so.seed++) {
		CHECK_OK(balance_split(m, &so, &st));
		CHECKF(st.speakers[0] == 1 && st.speakers[1] == 1 && st.speakers[2] == 1, "seed %llu: %lld/%lld/%lld",
		       (unsigned long long)so.seed, (long long)st.speakers[0], (long long)st.speakers[1], (long long)st.speakers[2]);
	}
	manifest_close(m);
}

/* "label=split,..." in label order: what a split assignment means. */
static char *assignment(manifest *m)
{
	sqlite3_stmt *st;
	char *out = NULL;
	if (sqlite3_prepare_v2(m->db, "SELECT group_concat(l || '=' || sp, ',') FROM (SELECT DISTINCT "
			       "coalesce(s.label, r.path) AS l, u.split AS sp FROM utterances u LEFT JOIN speakers s ON s.id = u.speaker_id "
			       "JOIN recordings r ON r.id = u.recording_id ORDER BY l)", -1, &st, NULL) != SQLITE_OK)
		return NULL;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		out = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return out;
}

static void test_split_deterministic(void)
{
	fixture_opts o1 = { .n_speakers = 40 }, o2 = { .n_speakers = 40, .reverse = 1 };
	manifest *a = fixture_open("det_a", &o1), *b = fixture_open("det_b", &o2);
	CHECK(a && b);
	if (!a || !b) {
		manifest_close(a);
		manifest_close(b);
		return;
	}
	/* the two manifests give their speakers different ids */
	CHECK(fixture_int(a, "SELECT id FROM speakers WHERE label = 'spk000'") != fixture_int(b, "SELECT id FROM speakers WHERE label = 'spk000'"));
	split_opts so = SPLIT_OPTS_DEFAULT;
	so.seed = 7;
	CHECK_OK(balance_split(a, &so, NULL));
	char *a1 = assignment(a);
	CHECK_OK(balance_split(a, &so, NULL));
	char *a2 = assignment(a);
	CHECK_OK(balance_split(b, &so, NULL));
	char *b1 = assignment(b);
	so.seed = 8;
	CHECK_OK(balance_split(a, &so, NULL));
	char *a3 = assignment(a);
	CHECK(a1 && a2 && b1 && a3);
	if (a1 && a2 && b1 && a3) {
		CHECK_STR(a1, a2);  /* same seed, same result */
		CHECK_STR(a1, b1);  /* independent of insertion order and ids */
		CHECK(strcmp(a1, a3) != 0);  /* another seed, another split */
	}
	free(a1); free(a2); free(b1); free(a3);
	manifest_close(a);
	manifest_close(b);
}

static void test_split_distinct_text(void)
{
	fixture_opts o = { .n_speakers = 60 };
	manifest *m = fixture_open("distinct", &o);
	split_stats st;
	const char *overlap = "SELECT count(*) FROM (SELECT text_norm FROM utterances WHERE split IN ('train', 'dev', 'test') "
			      "AND text_norm <> '' GROUP BY text_norm HAVING count(DISTINCT split) > 1)";
	CHECK(m != NULL);
	if (!m)
		return;
	split_opts so = SPLIT_OPTS_DEFAULT;
	CHECK_OK(balance_split(m, &so, &st));
	CHECK(fixture_int(m, overlap) > 0);  /* the fixture repeats sentences */
	CHECK_EQ_INT(st.excluded, 0);
	long long test_before = fixture_int(m, "SELECT count(*) FROM utterances WHERE split = 'test'");
	so.distinct_text = 1;
	CHECK_OK(balance_split(m, &so, &st));
	CHECK_EQ_INT(fixture_int(m, overlap), 0);
	CHECK(st.excluded > 0);
	CHECK_EQ_INT(st.excluded, fixture_int(m, "SELECT count(*) FROM utterances WHERE split = 'excluded'"));
	/* test keeps all of its utterances; speakers stay disjoint */
	CHECK_EQ_INT(fixture_int(m, "SELECT count(*) FROM utterances WHERE split = 'test'"), test_before);
	CHECK_EQ_INT(leaks(m), 0);
	/* excluded ones are exactly train/dev sentences found in a higher split */
	CHECK_EQ_INT(fixture_int(m, "SELECT count(*) FROM utterances e WHERE split = 'excluded' AND NOT EXISTS "
				  "(SELECT 1 FROM utterances t WHERE t.split IN ('dev', 'test') AND t.text_norm = e.text_norm)"), 0);
	manifest_close(m);
}

static void test_nested_transaction(void)
{
	fixture_opts o = { .n_speakers = 10 };
	manifest *m = fixture_open("nested", &o);
	CHECK(m != NULL);
	if (!m)
		return;
	split_opts so = SPLIT_OPTS_DEFAULT;
	balance_opts bo = BALANCE_OPTS_DEFAULT;
	CHECK_OK(manifest_begin(m));
	CHECK_OK(balance_split(m, &so, NULL));
	CHECK_OK(balance_weights(m, &bo, NULL));
	CHECK(!sqlite3_get_autocommit(m->db));  /* still the caller's transaction */
	CHECK_OK(manifest_rollback(m));
	CHECK_EQ_INT(fixture_int(m, "SELECT count(*) FROM utterances WHERE split IS NOT NULL OR weight IS NOT NULL"), 0);
	manifest_close(m);
}

static void test_split_large(void)
{
	/* 60,000 utterances: the mass rewrite drops and re-creates the indexes
	 * holding `split`; they must come back identical. */
	char path[1024];
	manifest *m = NULL;
	split_stats st;
	snprintf(path, sizeof path, "%s/large.db", TEST_TMP);
	CHECK_OK(manifest_open(&m, path, 1));
	if (!m)
		return;
	CHECK_OK(manifest_exec(m,
		"INSERT INTO corpora(id, root, layout) VALUES (1, '/c', 'folder');"
		"INSERT INTO speakers(id, corpus_id, label, lang) WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 300) "
		"  SELECT i, 1, 'S' || i, CASE i % 2 WHEN 0 THEN 'eng' ELSE 'amh' END FROM s;"
		"INSERT INTO recordings(id, corpus_id, path, sha256, size_bytes, duration_s) WITH RECURSIVE r(i) AS "
		"  (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 60000) SELECT i, 1, 'r' || i, 'h' || i, 1, 2.0 + i % 7 FROM r;"
		"INSERT INTO utterances(corpus_id, utt_key, recording_id, speaker_id, start_s, end_s, text_norm, lang) "
		"  SELECT 1, 'u' || id, id, 1 + id % 300, 0, duration_s, 't' || (id % 5000), CASE (1 + id % 300) % 2 WHEN 0 THEN 'eng' ELSE 'amh' END FROM recordings;"));
	const char *idx = "SELECT group_concat(sql, ';') FROM (SELECT sql FROM sqlite_master WHERE tbl_name = 'utterances' AND type = 'index' ORDER BY name)";
	sqlite3_stmt *q = NULL;
	char *before = NULL, *after = NULL;
	CHECK(sqlite3_prepare_v2(m->db, idx, -1, &q, NULL) == SQLITE_OK);
	if (sqlite3_step(q) == SQLITE_ROW)
		before = strdup((const char *)sqlite3_column_text(q, 0));
	sqlite3_reset(q);
	split_opts so = SPLIT_OPTS_DEFAULT;
	so.distinct_text = 1;
	CHECK_OK(balance_split(m, &so, &st));
	if (sqlite3_step(q) == SQLITE_ROW)
		after = strdup((const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	CHECK(before && after && strstr(before, "utterances_lang_split"));
	if (before && after)
		CHECK_STR(after, before);
	free(before);
	free(after);
	CHECK_EQ_INT(leaks(m), 0);
	CHECK_EQ_INT(fixture_int(m, "SELECT count(*) FROM utterances WHERE split IS NULL"), 0);
	CHECK_EQ_INT(st.utterances[0] + st.utterances[1] + st.utterances[2] + st.excluded, 60000);
	CHECK_EQ_INT(fixture_int(m, "SELECT count(*) FROM (SELECT text_norm FROM utterances WHERE split IN ('train', 'dev', 'test') "
				  "GROUP BY text_norm HAVING count(DISTINCT split) > 1)"), 0);
	/* the index is used again */
	CHECK_EQ_INT(fixture_int(m, "SELECT count(*) FROM utterances INDEXED BY utterances_lang_split WHERE lang = 'eng' AND split = 'test'"),
		     fixture_int(m, "SELECT count(*) FROM utterances NOT INDEXED WHERE lang = 'eng' AND split = 'test'"));
	CHECK_EQ_INT(fixture_int(m, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check <> 'ok'"), 0);
	manifest_close(m);
}

int main(void)
{
	RUN(test_weights_formula);
	RUN(test_weights_accent_and_cap);
	RUN(test_split_disjoint);
	RUN(test_split_small);
	RUN(test_split_large);
	RUN(test_split_deterministic);
	RUN(test_split_distinct_text);
	RUN(test_nested_transaction);
	return check_summary();
}
