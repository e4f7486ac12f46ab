/*
 * test_manifest.c — the manifest: schema creation, idempotent reopen,
 * component migrations (pending blocks applied, newer databases refused,
 * failing blocks rolled back), foreign and damaged files, the insert/lookup
 * API, column documentation, and the views against independent sums.
 */
#include "check.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "manifest/manifest.h"
#include "manifest_fixture.h"
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static void db_path(char *buf, size_t cap, const char *name)
{
	snprintf(buf, cap, "%s/%s", TEST_TMP, name);
}

static int table_exists(manifest *m, const char *name)
{
	sqlite3_stmt *st;
	int found = 0;
	if (sqlite3_prepare_v2(m->db, "SELECT 1 FROM sqlite_master WHERE name = ?1", -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found;
}

static void test_create_and_reopen(void)
{
	char path[1024];
	manifest *m = NULL;
	int n = 0, v = -1;
	const mf_schema *sc = manifest_schemas(&n);
	db_path(path, sizeof path, "create.db");
	CHECK(n >= 1);
	CHECK_STR(sc[0].name, "manifest");
	int latest = manifest_schema_latest(sc[0].sql);
	CHECK(latest >= 1);

	CHECK_EQ_INT(manifest_open(&m, path, 0), ACC_EIO);
	CHECK(m == NULL);
	CHECK_OK(manifest_open(&m, path, 1));
	if (!m)
		return;
	CHECK_EQ_INT(fixture_int(m, "PRAGMA user_version"), latest);
	CHECK_OK(manifest_component_version(m, "manifest", &v));
	CHECK_EQ_INT(v, latest);
	CHECK_EQ_INT(fixture_int(m, "PRAGMA foreign_keys"), 1);
	CHECK_EQ_INT(fixture_int(m, "SELECT count(*) FROM pragma_journal_mode WHERE journal_mode = 'wal'"), 1);
	/* every compiled-in component is recorded at its latest version */
	for (int i = 0; i < n; i++) {
		CHECK_OK(manifest_component_version(m, sc[i].name, &v));
		CHECK_EQ_INT(v, manifest_schema_latest(sc[i].sql));
	}
	for (const char *const *t = (const char *const[]){ "corpora", "recordings", "speakers", "utterances", "rejects",
							   "runs", "hours_by_lang_split", "hours_by_speaker", "speaker_balance",
							   "rejects_by_reason", "duration_histogram", NULL }; *t; t++)
		CHECKF(table_exists(m, *t) == 1, "missing %s", *t);
	long long objects = fixture_int(m, "SELECT count(*) FROM sqlite_master");
	CHECK_OK(manifest_exec(m, "INSERT INTO corpora(root, layout) VALUES ('/x', 'folder')"));
	manifest_close(m);

	/* reopening applies nothing and keeps the data */
	m = NULL;
	CHECK_OK(manifest_open(&m, path, 0));
	if (!m)
		return;
	CHECK_EQ_INT(fixture_int(m, "SELECT count(*) FROM sqlite_master"), objects);
	CHECK_EQ_INT(fixture_int(m, "SELECT count(*) FROM corpora"), 1);
	CHECK_EQ_INT(fixture_int(m, "SELECT count(*) FROM schema_components"), n);
	manifest_close(m);
}

static const char comp_v1[] =
	"-- test component header (never executed: CREATE TABLE never_run(x);)\n"
	"-- version 1\n"
	"CREATE TABLE t1 (\n  id INTEGER PRIMARY KEY,  -- test\n  utt INTEGER REFERENCES utterances(id)  -- test\n);\n";
static const char comp_v2[] =
	"-- version 1\n"
	"CREATE TABLE t1 (\n  id INTEGER PRIMARY KEY,  -- test\n  utt INTEGER REFERENCES utterances(id)  -- test\n);\n"
	"-- version 2\n"
	"ALTER TABLE t1 ADD COLUMN note TEXT;  -- added in 2\n"
	"CREATE TABLE t2 (a INTEGER);\n";
static const char comp_v3_bad[] =
	"-- version 1\n"
	"CREATE TABLE t1 (\n  id INTEGER PRIMARY KEY,  -- test\n  utt INTEGER REFERENCES utterances(id)  -- test\n);\n"
	"-- version 2\n"
	"ALTER TABLE t1 ADD COLUMN note TEXT;  -- added in 2\n"
	"CREATE TABLE t2 (a INTEGER);\n"
	"-- version 3\n"
	"CREATE TABLE t3 (a INTEGER);\n"
	"INSERT INTO no_such_table VALUES (1);\n";
static const char comp_gap[] =
	"-- version 1\nCREATE TABLE g1 (a);\n-- version 3\nCREATE TABLE g3 (a);\n";

static void test_component_migration(void)
{
	char path[1024];
	manifest *m = NULL;
	int n = 0, v = 0;
	const mf_schema *core = manifest_schemas(&n);
	db_path(path, sizeof path, "migrate.db");
	CHECK_OK(manifest_open(&m, path, 1));
	if (!m)
		return;
	CHECK_EQ_INT(manifest_schema_latest(comp_v1), 1);
	CHECK_EQ_INT(manifest_schema_latest(comp_v2), 2);
	CHECK_EQ_INT(manifest_schema_latest(comp_gap), ACC_EINTERNAL);

	/* a manifest at version 1 of a component gets block 2 applied */
	mf_schema c1[] = { core[0], { "testcomp", comp_v1 } };
	CHECK_OK(manifest_migrate(m, c1, 2));
	CHECK_OK(manifest_component_version(m, "testcomp", &v));
	CHECK_EQ_INT(v, 1);
	CHECK_EQ_INT(table_exists(m, "never_run"), 0);
	CHECK_OK(manifest_exec(m, "INSERT INTO t1(utt) VALUES (NULL)"));
	mf_schema c2[] = { core[0], { "testcomp", comp_v2 } };
	CHECK_OK(manifest_migrate(m, c2, 2));
	CHECK_OK(manifest_component_version(m, "testcomp", &v));
	CHECK_EQ_INT(v, 2);
	CHECK_EQ_INT(table_exists(m, "t2"), 1);
	CHECK_EQ_INT(fixture_int(m, "SELECT count(*) FROM t1 WHERE note IS NULL"), 1);
	/* applying again is a no-op */
	CHECK_OK(manifest_migrate(m, c2, 2));

	/* a failing block rolls back entirely */
	mf_schema c3[] = { core[0], { "testcomp", comp_v3_bad } };
	CHECK_EQ_INT(manifest_migrate(m, c3, 2), ACC_EDB);
	CHECK(strstr(err_msg(), "testcomp") != NULL);
	CHECK_OK(manifest_component_version(m, "testcomp", &v));
	CHECK_EQ_INT(v, 2);
	CHECK_EQ_INT(table_exists(m, "t3"), 0);

	/* a manifest from a newer accent is refused, nothing changes */
	CHECK_EQ_INT(manifest_migrate(m, c1, 2), ACC_EFORMAT);
	/* broken numbering is a programming error */
	mf_schema cg[] = { { "gap", comp_gap } };
	CHECK_EQ_INT(manifest_migrate(m, cg, 1), ACC_EINTERNAL);
	CHECK_EQ_INT(table_exists(m, "g1"), 0);
	manifest_close(m);

	/* the compiled-in schemas leave testcomp alone on reopen */
	m = NULL;
	CHECK_OK(manifest_open(&m, path, 0));
	if (!m)
		return;
	CHECK_OK(manifest_component_version(m, "testcomp", &v));
	CHECK_EQ_INT(v, 2);
	manifest_close(m);
}

static void test_core_upgrade_from_old_version(void)
{
	/* Simulate a manifest written when the core schema had one block less:
	 * build the core at version latest-1 by migrating a truncated copy, then
	 * open with the real schemas: exactly the last block is applied. */
	char path[1024];
	manifest *m = NULL;
	int n = 0, v = 0;
	const mf_schema *core = manifest_schemas(&n);
	int latest = manifest_schema_latest(core[0].sql);
	db_path(path, sizeof path, "upgrade.db");
	if (latest < 2) {
		/* only one core block so far: upgrade from an empty manifest file */
		FILE *fp = fopen(path, "wb");
		CHECK(fp != NULL);
		if (fp)
			fclose(fp);
		CHECK_OK(manifest_open(&m, path, 0));
		if (!m)
			return;
		CHECK_EQ_INT(fixture_int(m, "PRAGMA user_version"), latest);
		CHECK_EQ_INT(table_exists(m, "utterances"), 1);
		manifest_close(m);
		return;
	}
	char buf[64];
	snprintf(buf, sizeof buf, "\n-- version %d\n", latest);
	const char *cut = strstr(core[0].sql, buf);
	CHECK(cut != NULL);
	if (!cut)
		return;
	char *old = strndup(core[0].sql, (size_t)(cut - core[0].sql) + 1);
	/* migrate a new file by hand with the old text */
	manifest tmp = { 0 };
	CHECK(sqlite3_open(path, &tmp.db) == SQLITE_OK);
	snprintf(tmp.path, sizeof tmp.path, "%s", path);
	mf_schema oldc[] = { { "manifest", old } };
	CHECK_OK(manifest_migrate(&tmp, oldc, 1));
	CHECK_EQ_INT(fixture_int(&tmp, "PRAGMA user_version"), latest - 1);
	sqlite3_close(tmp.db);
	CHECK_OK(manifest_open(&m, path, 0));
	if (m) {
		CHECK_OK(manifest_component_version(m, "manifest", &v));
		CHECK_EQ_INT(v, latest);
		CHECK_EQ_INT(fixture_int(m, "PRAGMA user_version"), latest);
		manifest_close(m);
	}
	free(old);
}

static void test_foreign_files(void)
{
	char path[1024];
	manifest *m = NULL;
	sqlite3 *raw = NULL;
	db_path(path, sizeof path, "foreign.db");
	CHECK(sqlite3_open(path, &raw) == SQLITE_OK);
	CHECK(sqlite3_exec(raw, "CREATE TABLE mine (x)", NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(raw);
	CHECK_EQ_INT(manifest_open(&m, path, 0), ACC_EFORMAT);
	CHECK(m == NULL);
	CHECK(strstr(err_msg(), "not an accent manifest") != NULL);

	db_path(path, sizeof path, "text.db");
	CHECK_OK(fs_write_atomic(path, "this is not a database, just some text that is long enough", 59));
	CHECK(manifest_open(&m, path, 0) < 0);
	CHECK(m == NULL);
}

static void test_insert_api(void)
{
	char path[1024], abspath[4096];
	manifest *m = NULL;
	int64_t c1, c2, run, rec, rec2, found, spk, spk2, utt;
	int exists = -1;
	db_path(path, sizeof path, "api.db");
	CHECK_OK(manifest_open(&m, path, 1));
	if (!m)
		return;
	char *argv[] = { "prep", "ingest", "my corpus/", "--it's" };
	CHECK_OK(manifest_run_begin(m, "prep ingest", 4, argv, &run));
	{
		sqlite3_stmt *st = NULL;
		CHECK(sqlite3_prepare_v2(m->db, "SELECT command_line, version FROM runs WHERE ended_at IS NULL", -1, &st, NULL) == SQLITE_OK);
		CHECK(sqlite3_step(st) == SQLITE_ROW);
		CHECK_STR((const char *)sqlite3_column_text(st, 0), "prep ingest 'my corpus/' '--it'\\''s'");
		CHECK_STR((const char *)sqlite3_column_text(st, 1), ACCENT_VERSION);
		sqlite3_finalize(st);
	}
	CHECK_OK(manifest_corpus_upsert(m, "/data/cv", "commonvoice", &c1));
	CHECK_OK(manifest_corpus_upsert(m, "/data/cv", "commonvoice", &c2));
	CHECK_EQ_INT(c1, c2);
	CHECK_OK(manifest_corpus_upsert(m, "/data/ls", "librispeech", &c2));
	CHECK(c1 != c2);

	mf_recording r = { .corpus_id = c1, .path = "clips/a.mp3", .sha256 = "ab12", .size_bytes = 1000, .mtime = 1.5,
			   .container = "MP3", .codec = "MPEG_LAYER_III", .sample_rate = 48000, .channels = 1,
			   .duration_declared = 0, .duration_s = 3.25, .peak = 0.9, .rms = 0.1, .clip_ratio = 0,
			   .silence_ratio = NAN };
	CHECK_OK(manifest_recording_insert(m, &r, &rec));
	CHECK_EQ_INT(manifest_recording_insert(m, &r, &rec2), ACC_EINVAL);
	CHECK_OK(manifest_recording_by_hash(m, "ab12", &found));
	CHECK_EQ_INT(found, rec);
	CHECK_OK(manifest_recording_by_hash(m, "ffff", &found));
	CHECK_EQ_INT(found, 0);
	CHECK_OK(manifest_recording_by_path(m, c1, "clips/a.mp3", &found));
	CHECK_EQ_INT(found, rec);
	CHECK_OK(manifest_recording_by_path(m, c2, "clips/a.mp3", &found));
	CHECK_EQ_INT(found, 0);
	CHECK_EQ_INT(fixture_int(m, "SELECT count(*) FROM recordings WHERE duration_declared IS NULL AND silence_ratio IS NULL"), 1);
	CHECK_OK(manifest_recording_abspath(m, rec, abspath, sizeof abspath));
	CHECK_STR(abspath, "/data/cv/clips/a.mp3");
	CHECK_EQ_INT(manifest_recording_abspath(m, 999, abspath, sizeof abspath), ACC_ENOTFOUND);

	mf_speaker s = { .corpus_id = c1, .label = "client1", .gender = "", .lang = "tur" };
	CHECK_OK(manifest_speaker_upsert(m, &s, &spk));
	mf_speaker s2 = { .corpus_id = c1, .label = "client1", .gender = "female", .age = "twenties", .lang = "eng" };
	CHECK_OK(manifest_speaker_upsert(m, &s2, &spk2));
	CHECK_EQ_INT(spk, spk2);
	/* unknown attributes get filled, known ones stay */
	CHECK_EQ_INT(fixture_int(m, "SELECT count(*) FROM speakers WHERE label = 'client1' AND gender = 'female' "
				  "AND age = 'twenties' AND lang = 'tur'"), 1);

	mf_utterance u = { .utt_key = "a", .corpus_id = c1, .recording_id = rec, .speaker_id = spk, .channel = -1,
			   .start_s = 0.25, .end_s = 3.0, .text_raw = "İstanbul!", .text_norm = "istanbul",
			   .norm_profile = "tur", .norm_version = 1, .lang = "tur", .flags = 1, .source = "train.tsv:2" };
	CHECK_OK(manifest_utterance_insert(m, &u, &utt));
	CHECK_EQ_INT(manifest_utterance_insert(m, &u, &utt), ACC_EINVAL);
	CHECK(strstr(err_msg(), "already exists") != NULL);
	CHECK_OK(manifest_utterance_exists(m, c1, "a", &exists));
	CHECK_EQ_INT(exists, 1);
	CHECK_OK(manifest_utterance_exists(m, c2, "a", &exists));
	CHECK_EQ_INT(exists, 0);
	CHECK_NEAR(fixture_real(m, "SELECT duration_s FROM utterances WHERE utt_key = 'a'"), 2.75, 1e-12);
	CHECK_EQ_INT(fixture_int(m, "SELECT count(*) FROM utterances WHERE status = 'ok' AND split IS NULL AND weight IS NULL"), 1);
	mf_utterance bad = u;
	bad.utt_key = "b";
	bad.start_s = 2;
	bad.end_s = 1;
	CHECK_EQ_INT(manifest_utterance_insert(m, &bad, &utt), ACC_EINVAL);
	/* foreign keys are enforced */
	bad.start_s = 0;
	bad.recording_id = 4242;
	CHECK_EQ_INT(manifest_utterance_insert(m, &bad, &utt), ACC_EDB);

	CHECK_OK(manifest_reject(m, run, c1, "train.tsv:9", "empty_text", "nothing left"));
	CHECK_OK(manifest_reject(m, 0, 0, "x", "missing_file", NULL));
	CHECK_EQ_INT(fixture_int(m, "SELECT count(*) FROM rejects WHERE run_id IS NULL AND corpus_id IS NULL"), 1);
	CHECK_OK(manifest_run_end(m, run, 0, "{\"utterances\":1}"));
	CHECK_EQ_INT(fixture_int(m, "SELECT json_extract(counts, '$.utterances') FROM runs WHERE exit_code = 0 AND ended_at IS NOT NULL"), 1);

	/* transactions */
	CHECK_OK(manifest_begin(m));
	CHECK_OK(manifest_reject(m, run, c1, "y", "too_short", "0.1 s"));
	CHECK_OK(manifest_rollback(m));
	CHECK_EQ_INT(fixture_int(m, "SELECT count(*) FROM rejects"), 2);
	manifest_close(m);
}

/* Every column of every table has a '--' comment on its line in the CREATE
 * statement (what `sqlite3 data.db .schema` shows a user). */
static void test_columns_documented(void)
{
	char path[1024];
	manifest *m = NULL;
	sqlite3_stmt *t = NULL;
	db_path(path, sizeof path, "doc.db");
	CHECK_OK(manifest_open(&m, path, 1));
	if (!m)
		return;
	CHECK(sqlite3_prepare_v2(m->db, "SELECT name, sql FROM sqlite_master WHERE type IN ('table', 'view') "
				 "AND name NOT LIKE 'sqlite_%'", -1, &t, NULL) == SQLITE_OK);
	while (sqlite3_step(t) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(t, 0);
		const char *sql = (const char *)sqlite3_column_text(t, 1);
		int is_view = !strncmp(sql, "CREATE VIEW", 11);
		/* the object itself: a comment line right inside it */
		CHECKF(strstr(sql, "\n  --") != NULL || strstr(sql, "\n  -- ") != NULL, "%s has no description comment", name);
		if (is_view)
			continue;
		sqlite3_stmt *c = NULL;
		char q[256];
		snprintf(q, sizeof q, "SELECT name FROM pragma_table_xinfo('%s')", name);
		CHECK(sqlite3_prepare_v2(m->db, q, -1, &c, NULL) == SQLITE_OK);
		while (c && sqlite3_step(c) == SQLITE_ROW) {
			const char *col = (const char *)sqlite3_column_text(c, 0);
			/* find the line defining the column: "\n  <col> " */
			char pat[160];
			snprintf(pat, sizeof pat, "\n  %s ", col);
			const char *line = strstr(sql, pat);
			const char *eol = line ? strchr(line + 1, '\n') : NULL;
			int ok = line && eol;
			if (ok) {
				const char *dash = strstr(line + 1, "--");
				ok = dash && dash < eol;
			}
			CHECKF(ok, "column %s.%s has no comment on its line", name, col);
		}
		sqlite3_finalize(c);
	}
	sqlite3_finalize(t);
	manifest_close(m);
}

static void test_views(void)
{
	fixture_opts o = { .n_speakers = 12, .accents = 1, .long_recording = 1 };
	manifest *m = fixture_open("views", &o);
	CHECK(m != NULL);
	if (!m)
		return;
	/* hours per speaker: the view against a direct sum */
	sqlite3_stmt *st = NULL;
	CHECK(sqlite3_prepare_v2(m->db, "SELECT id FROM speakers", -1, &st, NULL) == SQLITE_OK);
	int n = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		long long id = sqlite3_column_int64(st, 0);
		char q1[256], q2[256];
		snprintf(q1, sizeof q1, "SELECT hours FROM hours_by_speaker WHERE speaker_id = %lld", id);
		snprintf(q2, sizeof q2, "SELECT sum(end_s - start_s) / 3600.0 FROM utterances WHERE speaker_id = %lld AND status = 'ok'", id);
		CHECK_NEAR(fixture_real(m, q1), fixture_real(m, q2), 0.51e-4);
		n++;
	}
	sqlite3_finalize(st);
	CHECK_EQ_INT(n, 12);
	CHECK_NEAR(fixture_real(m, "SELECT sum(hours) FROM hours_by_lang_split"),
		   fixture_real(m, "SELECT sum(end_s - start_s) / 3600 FROM utterances WHERE status = 'ok'"), 0.01);
	CHECK_EQ_INT(fixture_int(m, "SELECT sum(utterances) FROM duration_histogram"),
		     fixture_int(m, "SELECT count(*) FROM utterances WHERE status = 'ok'"));
	CHECK_EQ_INT(fixture_int(m, "SELECT count(*) FROM duration_histogram WHERE range_s = '1-2'"),
		     fixture_int(m, "SELECT count(*) > 0 FROM utterances WHERE status = 'ok' AND end_s - start_s >= 1 AND end_s - start_s < 2"));
	CHECK_EQ_INT(fixture_int(m, "SELECT n FROM rejects_by_reason LIMIT 1"), 2);
	CHECK_EQ_INT(fixture_int(m, "SELECT sum(utterances) FROM utterance_status WHERE status = 'needs_align'"),
		     fixture_int(m, "SELECT count(*) FROM utterances WHERE status = 'needs_align'"));
	CHECK_EQ_INT(fixture_int(m, "SELECT sum(speakers) FROM hours_by_gender"), 12);
	/* the per-speaker view reads the covering index, not the table */
	{
		sqlite3_stmt *st2 = NULL;
		int covering = 0;
		CHECK(sqlite3_prepare_v2(m->db, "EXPLAIN QUERY PLAN SELECT * FROM hours_by_speaker", -1, &st2, NULL) == SQLITE_OK);
		while (st2 && sqlite3_step(st2) == SQLITE_ROW)
			covering += strstr((const char *)sqlite3_column_text(st2, 3), "COVERING INDEX utterances_speaker") != NULL;
		sqlite3_finalize(st2);
		CHECK_EQ_INT(covering, 1);
	}
	manifest_close(m);
}

/* Several processes (here threads, one connection each) opening a fresh
 * manifest at once: one migrates, the others wait and find it done. */
static char concurrent_path[1024];
static int concurrent_rc[4];

static void *open_concurrently(void *arg)
{
	int i = (int)(intptr_t)arg;
	manifest *m = NULL;
	concurrent_rc[i] = manifest_open(&m, concurrent_path, 1);
	if (!concurrent_rc[i]) {
		concurrent_rc[i] = manifest_reject(m, 0, 0, "thread", "test", NULL);
		manifest_close(m);
	}
	return NULL;
}

static void test_concurrent_open(void)
{
	pthread_t th[4];
	manifest *m = NULL;
	db_path(concurrent_path, sizeof concurrent_path, "concurrent.db");
	for (int i = 0; i < 4; i++)
		CHECK(pthread_create(&th[i], NULL, open_concurrently, (void *)(intptr_t)i) == 0);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < 4; i++)
		CHECKF(concurrent_rc[i] == 0, "thread %d: %d", i, concurrent_rc[i]);
	CHECK_OK(manifest_open(&m, concurrent_path, 0));
	if (!m)
		return;
	CHECK_EQ_INT(fixture_int(m, "SELECT count(*) FROM rejects WHERE source = 'thread'"), 4);
	CHECK_EQ_INT(fixture_int(m, "SELECT count(*) FROM schema_components WHERE name = 'manifest'"), 1);
	manifest_close(m);
}

int main(void)
{
	RUN(test_create_and_reopen);
	RUN(test_component_migration);
	RUN(test_core_upgrade_from_old_version);
	RUN(test_foreign_files);
	RUN(test_concurrent_open);
	RUN(test_insert_api);
	RUN(test_columns_documented);
	RUN(test_views);
	return check_summary();
}
