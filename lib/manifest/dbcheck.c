/*
 * dbcheck.c — the `db check` consistency checks (list in dbcheck.h).
 *
 * File checks stat every recording and hash only what may have changed
 * (same size but another mtime), so a check of an untouched corpus costs one
 * stat per file.  The SQL checks each return one readable subject per
 * finding; the report keeps the count and the first few subjects.
 */
#include "manifest/dbcheck.h"
#include "base/err.h"
#include "base/fsutil.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "base/banned.h"

static const struct {
	const char *name, *what;
	int problem;
} checks[DBCHECK_N] = {
	[DBCHECK_MISSING_FILE] = { "missing_file", "recording files that no longer exist", 1 },
	[DBCHECK_SIZE_CHANGED] = { "size_changed", "recording files whose size changed since ingest", 1 },
	[DBCHECK_CONTENT_CHANGED] = { "content_changed", "recording files whose content (SHA-256) changed since ingest", 1 },
	[DBCHECK_BAD_SPAN] = { "bad_span", "utterances whose span is empty, negative or beyond the recording", 1 },
	[DBCHECK_FOREIGN_KEY] = { "foreign_key", "rows pointing to rows that do not exist", 1 },
	[DBCHECK_INTEGRITY] = { "integrity", "database damage found by SQLite's quick_check", 1 },
	[DBCHECK_SPEAKER_SPLIT_LEAK] = { "speaker_split_leak", "speakers in more than one of train/dev/test", 1 },
	[DBCHECK_AUDIO_SPLIT_LEAK] = { "audio_split_leak", "identical audio in more than one of train/dev/test", 1 },
	[DBCHECK_TEXT_SPLIT_LEAK] = { "text_split_leak", "identical normalized sentences in more than one of train/dev/test", 1 },
	[DBCHECK_MTIME_CHANGED] = { "mtime_changed", "recording files touched since ingest, content unchanged", 0 },
	[DBCHECK_ORPHAN_RECORDING] = { "orphan_recording", "recordings with no utterance", 0 },
	[DBCHECK_ORPHAN_SPEAKER] = { "orphan_speaker", "speakers with no utterance", 0 },
};

static const char *const check_sql[DBCHECK_N] = {
	[DBCHECK_BAD_SPAN] =
		"SELECT u.utt_key || ' (' || r.path || printf(' %.3f-%.3f s of %.3f s)', u.start_s, u.end_s, r.duration_s) "
		"FROM utterances u JOIN recordings r ON r.id = u.recording_id "
		"WHERE u.start_s < 0 OR u.end_s <= u.start_s OR (r.duration_s IS NOT NULL AND u.end_s > r.duration_s + ?1) "
		"ORDER BY u.id",
	[DBCHECK_FOREIGN_KEY] =
		"SELECT \"table\" || ' row ' || rowid || ' points to a missing row of ' || parent FROM pragma_foreign_key_check",
	[DBCHECK_INTEGRITY] =
		"SELECT quick_check FROM pragma_quick_check WHERE quick_check <> 'ok'",
	[DBCHECK_SPEAKER_SPLIT_LEAK] =
		"SELECT s.label || ' in ' || group_concat(DISTINCT u.split) FROM utterances u JOIN speakers s ON s.id = u.speaker_id "
		"WHERE u.split IN ('train', 'dev', 'test') GROUP BY u.speaker_id HAVING count(DISTINCT u.split) > 1 "
		"ORDER BY s.label",
	[DBCHECK_AUDIO_SPLIT_LEAK] =
		"SELECT min(r.path) || ' (' || count(DISTINCT r.id) || ' file(s) with this content) in ' || group_concat(DISTINCT u.split) "
		"FROM utterances u JOIN recordings r ON r.id = u.recording_id "
		"WHERE u.split IN ('train', 'dev', 'test') GROUP BY r.sha256 HAVING count(DISTINCT u.split) > 1 "
		"ORDER BY 1",
	[DBCHECK_TEXT_SPLIT_LEAK] =
		"SELECT '\"' || text_norm || '\" in ' || group_concat(DISTINCT split) FROM utterances "
		"WHERE split IN ('train', 'dev', 'test') AND text_norm <> '' GROUP BY text_norm "
		"HAVING count(DISTINCT split) > 1 ORDER BY text_norm",
	[DBCHECK_ORPHAN_RECORDING] =
		"SELECT path FROM recordings r WHERE NOT EXISTS (SELECT 1 FROM utterances u WHERE u.recording_id = r.id) "
		"ORDER BY r.id",
	[DBCHECK_ORPHAN_SPEAKER] =
		"SELECT label FROM speakers s WHERE NOT EXISTS (SELECT 1 FROM utterances u WHERE u.speaker_id = s.id) "
		"ORDER BY s.id",
};

static int add_finding(dbcheck_report *r, int max_examples, int kind, const char *subject)
{
	dbcheck_item *it = &r->item[kind];
	it->count++;
	if (r->item[kind].problem)
		r->problems++;
	if (it->nexamples >= max_examples)
		return 0;
	if (!it->examples && !(it->examples = calloc((size_t)max_examples, sizeof *it->examples)))
		return err_set(ACC_ENOMEM, "out of memory");
	if (!(it->examples[it->nexamples] = strdup(subject ? subject : "")))
		return err_set(ACC_ENOMEM, "out of memory");
	it->nexamples++;
	return 0;
}

static int sql_check(manifest *m, const dbcheck_opts *o, dbcheck_report *r, int kind)
{
	sqlite3_stmt *q = NULL;
	int rc = manifest_prepare(m, check_sql[kind], &q), s;
	if (rc)
		return rc;
	if (sqlite3_bind_parameter_count(q) >= 1)
		sqlite3_bind_double(q, 1, o->span_tolerance);
	while ((s = sqlite3_step(q)) == SQLITE_ROW && !rc)
		rc = add_finding(r, o->max_examples, kind, (const char *)sqlite3_column_text(q, 0));
	if (!rc && s != SQLITE_DONE && s != SQLITE_ROW)
		rc = manifest_db_error(m, "check failed");
	sqlite3_finalize(q);
	return rc;
}

static int file_checks(manifest *m, const dbcheck_opts *o, dbcheck_report *r)
{
	sqlite3_stmt *q = NULL;
	int rc = manifest_prepare(m, "SELECT c.root, r.path, r.size_bytes, r.mtime, r.sha256 "
				  "FROM recordings r JOIN corpora c ON c.id = r.corpus_id ORDER BY r.id", &q), s;
	if (rc)
		return rc;
	while (!rc && (s = sqlite3_step(q)) == SQLITE_ROW) {
		char path[4096], hex[65];
		struct stat sb;
		const char *root = (const char *)sqlite3_column_text(q, 0);
		const char *rel = (const char *)sqlite3_column_text(q, 1);
		int64_t size = sqlite3_column_int64(q, 2);
		int has_mtime = sqlite3_column_type(q, 3) != SQLITE_NULL;
		double mtime = sqlite3_column_double(q, 3);
		const char *sha = (const char *)sqlite3_column_text(q, 4);
		if (manifest_audio_path(path, sizeof path, root, rel)) {
			rc = add_finding(r, o->max_examples, DBCHECK_MISSING_FILE, rel);
			continue;
		}
		r->files_checked++;
		if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
			rc = add_finding(r, o->max_examples, DBCHECK_MISSING_FILE, path);
			continue;
		}
		if ((int64_t)sb.st_size != size) {
			char msg[4200];
			snprintf(msg, sizeof msg, "%s (%lld bytes, was %lld)", path, (long long)sb.st_size, (long long)size);
			rc = add_finding(r, o->max_examples, DBCHECK_SIZE_CHANGED, msg);
			continue;
		}
		double now_mtime = (double)sb.st_mtim.tv_sec + sb.st_mtim.tv_nsec * 1e-9;
		int touched = has_mtime && fabs(now_mtime - mtime) > 1e-3;
		if (!touched && !o->hash)
			continue;
		if ((rc = fs_sha256_file(path, hex))) {
			/* unreadable now: as good as missing for the next stages */
			rc = add_finding(r, o->max_examples, DBCHECK_MISSING_FILE, path);
			continue;
		}
		r->files_hashed++;
		if (!sha || strcmp(hex, sha))
			rc = add_finding(r, o->max_examples, DBCHECK_CONTENT_CHANGED, path);
		else if (touched)
			rc = add_finding(r, o->max_examples, DBCHECK_MTIME_CHANGED, path);
	}
	if (!rc && s != SQLITE_DONE)
		rc = manifest_db_error(m, "cannot list recordings");
	sqlite3_finalize(q);
	return rc;
}

int dbcheck_run(manifest *m, const dbcheck_opts *o, dbcheck_report *r)
{
	dbcheck_opts def = DBCHECK_OPTS_DEFAULT, oo;
	int rc;
	oo = o ? *o : def;
	if (oo.max_examples < 0)
		oo.max_examples = 0;
	memset(r, 0, sizeof *r);
	for (int i = 0; i < DBCHECK_N; i++) {
		r->item[i].name = checks[i].name;
		r->item[i].what = checks[i].what;
		r->item[i].problem = checks[i].problem;
	}
	/* splits keep identical sentences apart only with --distinct-text;
	 * without it a shared sentence is expected, so it is a note */
	r->item[DBCHECK_TEXT_SPLIT_LEAK].problem = oo.distinct_text != 0;
	/* One snapshot for every check. */
	if ((rc = manifest_exec(m, "BEGIN")))
		return rc;
	if (!oo.skip_files && (rc = file_checks(m, &oo, r)))
		goto out;
	for (int i = 0; i < DBCHECK_N && !rc; i++)
		if (check_sql[i])
			rc = sql_check(m, &oo, r, i);
out:
	if (!sqlite3_get_autocommit(m->db))
		sqlite3_exec(m->db, "COMMIT", NULL, NULL, NULL);
	return rc;
}

void dbcheck_report_free(dbcheck_report *r)
{
	for (int i = 0; i < DBCHECK_N; i++) {
		for (int k = 0; k < r->item[i].nexamples; k++)
			free(r->item[i].examples[k]);
		free(r->item[i].examples);
		r->item[i].examples = NULL;
		r->item[i].nexamples = 0;
	}
}
