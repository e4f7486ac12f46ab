/*
 * test_dbtools.c — the library behind `db query`, `db stats` and
 * `db check`: the three output formats parsed back, the stats report, and
 * every check detecting a damage made on purpose (modified, truncated,
 * missing and touched files, a span past the end, leaks across splits,
 * orphans, a dangling foreign key) while a clean manifest passes.
 */
#define _GNU_SOURCE
#include "manifest/balance.h"
#include "check.h"
#include "manifest/dbcheck.h"
#include "manifest/dbquery.h"
#include "manifest/dbstats.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "manifest/manifest.h"
#include "manifest_fixture.h"
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* Run dbquery_exec into a malloc'ed string. */
static char *query_flags(manifest *m, const char *sql, dbquery_format f, unsigned flags, int *rc, int64_t *rows)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);
	*rc = dbquery_exec(m, sql, f, flags, fp, rows);
	fclose(fp);
	return buf;
}

static char *query(manifest *m, const char *sql, dbquery_format f, int *rc, int64_t *rows)
{
	return query_flags(m, sql, f, 0, rc, rows);
}

static void test_query_formats(void)
{
	fixture_opts o = { .n_speakers = 6 };
	manifest *m = fixture_open("query", &o);
	int rc;
	int64_t rows;
	CHECK(m != NULL);
	if (!m)
		return;
	CHECK_OK(manifest_exec(m, "CREATE TABLE q (i INTEGER, r REAL, t TEXT, n TEXT, b BLOB);"
			       "INSERT INTO q VALUES (42, 1.5, 'a, \"quoted\" one', NULL, x'00ff');"
			       "INSERT INTO q VALUES (-7, 0.25, 'Ünïcødé ሰላም', 'x', NULL);"
			       "INSERT INTO q VALUES (0, 2, CAST(x'41ff42' AS TEXT), NULL, NULL);"));
	/* CSV: header + quoted field */
	char *out = query(m, "SELECT i, r, t, n FROM q WHERE i <> 0 ORDER BY i DESC", DBQUERY_CSV, &rc, &rows);
	CHECK_OK(rc);
	CHECK_EQ_INT(rows, 2);
	CHECK_STR(out, "i,r,t,n\n42,1.5,\"a, \"\"quoted\"\" one\",\n-7,0.25,Ünïcødé ሰላም,x\n");
	free(out);
	/* JSON: types kept, invalid UTF-8 repaired so it still parses */
	out = query(m, "SELECT i, r, t, n, b FROM q ORDER BY i DESC", DBQUERY_JSON, &rc, &rows);
	CHECK_OK(rc);
	json_error_t je;
	json_t *a = json_loads(out ? out : "", 0, &je);
	CHECKF(a != NULL, "json: %s in %s", je.text, out);
	if (a) {
		CHECK_EQ_INT(json_array_size(a), 3);
		json_t *r0 = json_array_get(a, 0);
		CHECK(json_is_integer(json_object_get(r0, "i")));
		CHECK_EQ_INT(json_integer_value(json_object_get(r0, "i")), 42);
		CHECK(json_is_real(json_object_get(r0, "r")));
		CHECK(json_is_null(json_object_get(r0, "n")));
		CHECK_STR(json_string_value(json_object_get(r0, "t")), "a, \"quoted\" one");
		CHECK_STR(json_string_value(json_object_get(r0, "b")), "00ff");
		CHECK_STR(json_string_value(json_object_get(json_array_get(a, 1), "t")), "A\xEF\xBF\xBD" "B");
		json_decref(a);
	}
	free(out);
	/* table: header, rule, aligned rows, row count; code points, not bytes */
	out = query(m, "SELECT t, i FROM q WHERE i < 0", DBQUERY_TABLE, &rc, &rows);
	CHECK_OK(rc);
	CHECK_STR(out, "t            i\n-----------  --\nÜnïcødé ሰላም  -7\n(1 row)\n");
	free(out);
	/* several statements; statements without results print nothing */
	out = query_flags(m, "UPDATE q SET n = 'y' WHERE i = 0; SELECT count(*) AS c FROM q WHERE n = 'y'; SELECT 1 AS one;",
			  DBQUERY_CSV, DBQUERY_WRITE, &rc, &rows);
	CHECK_OK(rc);
	CHECK_STR(out, "c\n1\none\n1\n");
	CHECK_EQ_INT(rows, 2);
	free(out);
	/* the views answer */
	out = query(m, "SELECT sum(utterances) FROM hours_by_lang_split", DBQUERY_CSV, &rc, &rows);
	CHECK_OK(rc);
	char want[64];
	snprintf(want, sizeof want, "sum(utterances)\n%lld\n", fixture_int(m, "SELECT count(*) FROM utterances WHERE status = 'ok'"));
	CHECK_STR(out, want);
	free(out);
	/* errors carry SQLite's message */
	out = query(m, "SELECT nope FROM q", DBQUERY_TABLE, &rc, &rows);
	CHECK_EQ_INT(rc, ACC_EDB);
	CHECK(strstr(err_msg(), "no such column") != NULL);
	free(out);
	dbquery_format f;
	CHECK_EQ_INT(dbquery_parse_format("xml", &f), ACC_EINVAL);
	CHECK_OK(dbquery_parse_format("json", &f));
	CHECK_EQ_INT(f, DBQUERY_JSON);
	manifest_close(m);
}

/* issue 19 #3: `db query` wrote (DELETE, UPDATE, DROP VIEW, VACUUM INTO
 * '/any/path' all succeeded).  Without DBQUERY_WRITE every writing statement
 * is refused before it runs; ATTACH and VACUUM INTO are refused always. */
static void test_query_guard(void)
{
	fixture_opts o = { .n_speakers = 3 };
	manifest *m = fixture_open("guard", &o);
	int rc;
	int64_t rows;
	char into[700], sql[900];
	CHECK(m != NULL);
	if (!m)
		return;
	char *before = query(m, "SELECT count(*) FROM utterances; SELECT count(*) FROM sqlite_master", DBQUERY_CSV, &rc, &rows);
	CHECK_OK(rc);
	snprintf(into, sizeof into, "%s/stolen.db", TEST_TMP);
	snprintf(sql, sizeof sql, "VACUUM INTO '%s'", into);
	const char *writes[] = { "DELETE FROM utterances", "UPDATE utterances SET text_norm = 'x'",
				 "DROP VIEW hours_by_speaker", "CREATE TABLE evil (x)", "VACUUM", sql,
				 "SELECT 1; DELETE FROM speakers", "PRAGMA user_version = 99" };
	for (size_t i = 0; i < sizeof writes / sizeof *writes; i++) {
		char *out = query(m, writes[i], DBQUERY_CSV, &rc, &rows);
		CHECKF(rc != 0, "read-only query ran '%s'", writes[i]);
		free(out);
	}
	CHECK(!fs_exists(into));
	/* a file ATTACH is denied (it would read any SQLite file) */
	char *out = query(m, "ATTACH '/etc/passwd' AS x", DBQUERY_CSV, &rc, &rows);
	CHECK_EQ_INT(rc, ACC_EDB);
	free(out);
	/* even with DBQUERY_WRITE: VACUUM INTO and ATTACH of a file stay denied */
	out = query_flags(m, sql, DBQUERY_CSV, DBQUERY_WRITE, &rc, &rows);
	CHECK(rc != 0);
	free(out);
	CHECK(!fs_exists(into));
	char *after = query(m, "SELECT count(*) FROM utterances; SELECT count(*) FROM sqlite_master", DBQUERY_CSV, &rc, &rows);
	CHECK_OK(rc);
	CHECK_STR(after, before);
	free(after);
	/* writes on purpose work with the flag; plain VACUUM too */
	out = query_flags(m, "DELETE FROM rejects; VACUUM", DBQUERY_CSV, DBQUERY_WRITE, &rc, &rows);
	CHECK_OK(rc);
	free(out);
	free(before);
	manifest_close(m);
}

static void test_stats(void)
{
	fixture_opts o = { .n_speakers = 10, .long_recording = 1 };
	manifest *m = fixture_open("stats", &o);
	CHECK(m != NULL);
	if (!m)
		return;
	CHECK_OK(balance_split(m, NULL, NULL));
	dbstats_opts so = DBSTATS_OPTS_DEFAULT;
	so.format = DBQUERY_JSON;
	so.top_speakers = 3;
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);
	CHECK_OK(dbstats_print(m, &so, fp));
	fclose(fp);
	json_error_t je;
	json_t *j = json_loads(buf ? buf : "", 0, &je);
	CHECKF(j != NULL, "stats json: %s", je.text);
	if (j) {
		json_t *tot = json_array_get(json_object_get(j, "totals"), 0);
		CHECK_EQ_INT(json_integer_value(json_object_get(tot, "utterances")), fixture_int(m, "SELECT count(*) FROM utterances"));
		CHECK_EQ_INT(json_integer_value(json_object_get(tot, "speakers")), 10);
		CHECK_EQ_INT(json_integer_value(json_object_get(tot, "rejects")), 3);
		CHECK_EQ_INT(json_array_size(json_object_get(j, "speakers")), 3);
		/* by language and split: the usable utterances, all accounted for */
		json_t *ls = json_object_get(j, "by_lang_split");
		long long sum = 0;
		for (size_t i = 0; i < json_array_size(ls); i++)
			sum += json_integer_value(json_object_get(json_array_get(ls, i), "utterances"));
		CHECK_EQ_INT(sum, fixture_int(m, "SELECT count(*) FROM utterances WHERE status = 'ok'"));
		CHECK_EQ_INT(json_array_size(json_object_get(j, "rejects")), 2);
		CHECK(json_array_size(json_object_get(j, "by_gender")) >= 2);
		CHECK(json_array_size(json_object_get(j, "durations")) >= 1);
		json_decref(j);
	}
	free(buf);
	so.format = DBQUERY_TABLE;
	fp = open_memstream(&buf, &len);
	CHECK_OK(dbstats_print(m, &so, fp));
	fclose(fp);
	CHECK(buf && strstr(buf, "== Totals ==") && strstr(buf, "== Rejects by reason ==") && strstr(buf, "decode_error"));
	free(buf);
	so.format = DBQUERY_CSV;
	fp = open_memstream(&buf, &len);
	CHECK_EQ_INT(dbstats_print(m, &so, fp), ACC_EINVAL);
	fclose(fp);
	free(buf);
	manifest_close(m);
}

static const char *rec_path(manifest *m, const char *key, char *buf, size_t cap)
{
	sqlite3_stmt *st;
	buf[0] = 0;
	sqlite3_prepare_v2(m->db, "SELECT c.root || '/' || r.path FROM utterances u JOIN recordings r ON r.id = u.recording_id "
			   "JOIN corpora c ON c.id = r.corpus_id WHERE u.utt_key = ?1", -1, &st, NULL);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(buf, cap, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return buf;
}

static void set_mtime(const char *path, time_t t)
{
	struct timespec ts[2] = { { t, 0 }, { t, 0 } };
	CHECK(utimensat(AT_FDCWD, path, ts, 0) == 0);
}

static void test_check(void)
{
	fixture_opts o = { .n_speakers = 20, .long_recording = 1 };
	manifest *m = fixture_open("check", &o);
	dbcheck_report r;
	dbcheck_opts co = DBCHECK_OPTS_DEFAULT;
	char p[4096];
	CHECK(m != NULL);
	if (!m)
		return;
	split_opts so = SPLIT_OPTS_DEFAULT;
	so.distinct_text = 1;
	CHECK_OK(balance_split(m, &so, NULL));
	/* a clean manifest passes */
	CHECK_OK(dbcheck_run(m, &co, &r));
	CHECK_EQ_INT(r.problems, 0);
	for (int i = 0; i < DBCHECK_N; i++)
		CHECKF(r.item[i].count == 0, "%s: %lld (%s)", r.item[i].name, (long long)r.item[i].count,
		       r.item[i].nexamples ? r.item[i].examples[0] : "");
	CHECK_EQ_INT(r.files_checked, fixture_int(m, "SELECT count(*) FROM recordings"));
	CHECK_EQ_INT(r.files_hashed, 0);
	dbcheck_report_free(&r);

	/* 1: same size, other bytes, new mtime -> content_changed */
	rec_path(m, "spk001-00", p, sizeof p);
	{
		int fd = open(p, O_WRONLY);
		CHECK(fd >= 0 && pwrite(fd, "XYZ", 3, 10) == 3);
		close(fd);
		set_mtime(p, 1000000000);
	}
	/* 2: grown -> size_changed */
	rec_path(m, "spk002-00", p, sizeof p);
	{
		FILE *fp = fopen(p, "ab");
		CHECK(fp && fputs("more", fp) >= 0);
		fclose(fp);
	}
	/* 3: deleted -> missing_file */
	rec_path(m, "spk003-00", p, sizeof p);
	CHECK(unlink(p) == 0);
	/* 4: touched only -> mtime_changed note */
	rec_path(m, "spk004-00", p, sizeof p);
	set_mtime(p, 1100000000);
	/* 5: span past the recording's end -> bad_span */
	CHECK_OK(manifest_exec(m, "UPDATE utterances SET end_s = end_s + 1 WHERE utt_key = 'spk005-00'"));
	/* 6: one utterance of a speaker in another split -> speaker_split_leak */
	CHECK_OK(manifest_exec(m, "UPDATE utterances SET split = CASE split WHEN 'train' THEN 'test' ELSE 'train' END "
			       "WHERE utt_key = 'spk006-00'"));
	/* 7: a copy of a train file used in test by another recording -> audio_split_leak */
	CHECK_OK(manifest_exec(m,
		"INSERT INTO recordings(corpus_id, path, sha256, size_bytes, duration_s) "
		"SELECT corpus_id, 'copy.wav', sha256, size_bytes, duration_s FROM recordings WHERE id = "
		"(SELECT recording_id FROM utterances WHERE split = 'train' ORDER BY id LIMIT 1);"
		"INSERT INTO utterances(corpus_id, utt_key, recording_id, start_s, end_s, text_norm, lang, split) "
		"SELECT corpus_id, 'copy', id, 0, 0.5, 'a copy nobody else says', 'eng', 'test' FROM recordings WHERE path = 'copy.wav'"));
	/* 8: a sentence in train and dev -> text_split_leak */
	CHECK_OK(manifest_exec(m, "UPDATE utterances SET text_norm = 'leaked sentence' WHERE id IN "
			       "(SELECT min(id) FROM utterances WHERE split IN ('train', 'dev') AND status = 'ok' GROUP BY split)"));
	/* 9: orphans */
	CHECK_OK(manifest_exec(m, "INSERT INTO speakers(corpus_id, label) VALUES (1, 'silent');"
			       "INSERT INTO recordings(corpus_id, path, sha256, size_bytes) VALUES (1, 'unused.wav', 'ff', 1)"));
	/* 10: a dangling reference (foreign keys off, as an old tool might) */
	CHECK_OK(manifest_exec(m, "PRAGMA foreign_keys = OFF;"
			       "INSERT INTO utterances(corpus_id, utt_key, recording_id, start_s, end_s) VALUES (1, 'dangling', 987654, 0, 1);"
			       "PRAGMA foreign_keys = ON"));
	CHECK_OK(dbcheck_run(m, &co, &r));
	CHECK_EQ_INT(r.item[DBCHECK_CONTENT_CHANGED].count, 1);
	CHECK_EQ_INT(r.item[DBCHECK_SIZE_CHANGED].count, 1);
	/* the copy and the orphan point to files that were never there */
	CHECK_EQ_INT(r.item[DBCHECK_MISSING_FILE].count, 3);
	CHECK_EQ_INT(r.item[DBCHECK_MTIME_CHANGED].count, 1);
	CHECK_EQ_INT(r.item[DBCHECK_BAD_SPAN].count, 1);
	CHECK_EQ_INT(r.item[DBCHECK_SPEAKER_SPLIT_LEAK].count, 1);
	CHECK(r.item[DBCHECK_AUDIO_SPLIT_LEAK].count >= 1);
	CHECK_EQ_INT(r.item[DBCHECK_TEXT_SPLIT_LEAK].count, 1);
	CHECK_EQ_INT(r.item[DBCHECK_ORPHAN_SPEAKER].count, 1);
	CHECK_EQ_INT(r.item[DBCHECK_ORPHAN_RECORDING].count, 1);
	CHECK_EQ_INT(r.item[DBCHECK_FOREIGN_KEY].count, 1);
	CHECK_EQ_INT(r.item[DBCHECK_INTEGRITY].count, 0);
	CHECK(r.item[DBCHECK_BAD_SPAN].nexamples == 1 && strstr(r.item[DBCHECK_BAD_SPAN].examples[0], "spk005-00"));
	CHECK(r.item[DBCHECK_TEXT_SPLIT_LEAK].nexamples == 1 && strstr(r.item[DBCHECK_TEXT_SPLIT_LEAK].examples[0], "leaked sentence"));
	long long problems = 0;
	for (int i = 0; i < DBCHECK_N; i++)
		problems += r.item[i].problem ? r.item[i].count : 0;
	CHECK_EQ_INT(r.problems, problems);
	CHECK(r.problems >= 9);
	CHECK(r.item[DBCHECK_MTIME_CHANGED].problem == 0 && r.item[DBCHECK_ORPHAN_SPEAKER].problem == 0);
	/* issue 19 #13: a shared sentence is a note unless the splits were asked
	 * to keep sentences apart */
	CHECK(r.item[DBCHECK_TEXT_SPLIT_LEAK].problem == 0);
	long long before = r.problems;
	dbcheck_report_free(&r);
	co.distinct_text = 1;
	CHECK_OK(dbcheck_run(m, &co, &r));
	CHECK(r.item[DBCHECK_TEXT_SPLIT_LEAK].problem == 1);
	CHECK_EQ_INT(r.problems, before + 1);
	co.distinct_text = 0;
	dbcheck_report_free(&r);

	/* --hash re-hashes everything; --no-files skips the files */
	co.hash = 1;
	CHECK_OK(dbcheck_run(m, &co, &r));
	/* all but the 3 missing and the 1 resized (a size change needs no hash) */
	CHECK_EQ_INT(r.files_hashed, r.files_checked - 4);
	dbcheck_report_free(&r);
	co.hash = 0;
	co.skip_files = 1;
	co.max_examples = 0;
	CHECK_OK(dbcheck_run(m, &co, &r));
	CHECK_EQ_INT(r.files_checked, 0);
	CHECK_EQ_INT(r.item[DBCHECK_MISSING_FILE].count, 0);
	CHECK_EQ_INT(r.item[DBCHECK_BAD_SPAN].nexamples, 0);
	dbcheck_report_free(&r);
	manifest_close(m);
}

/* The examples `db query --help` shows run on a manifest of the current
 * schema and return rows (the first one the table's definition). */
static void test_query_examples(void)
{
	fixture_opts o = { .n_speakers = 4 };
	manifest *m = fixture_open("examples", &o);
	CHECK(m != NULL);
	if (!m)
		return;
	int n = 0;
	for (const dbquery_example *e = dbquery_examples; e->sql; e++, n++) {
		dbquery_format f = DBQUERY_TABLE;
		int rc;
		int64_t rows = -1;
		CHECK(e->opts != NULL);
		if (strstr(e->opts, "--format csv"))
			f = DBQUERY_CSV;
		char *out = query(m, e->sql, f, &rc, &rows);
		CHECKF(rc == 0, "example '%s': %s", e->sql, err_msg());
		CHECKF(rows > 0, "example '%s' returned no row", e->sql);
		free(out);
	}
	CHECK(n >= 3);
	manifest_close(m);
}

int main(void)
{
	RUN(test_query_formats);
	RUN(test_query_examples);
	RUN(test_query_guard);
	RUN(test_stats);
	RUN(test_check);
	return check_summary();
}
