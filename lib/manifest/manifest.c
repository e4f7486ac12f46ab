/*
 * manifest.c — opening, migrating and writing the SQLite manifest (data.db).
 *
 * The schema lives in schemas/<name>.sql, one file per component, compiled in by
 * tools/embed.sh; each file is a sequence of '-- version N' blocks (format in
 * the header comment of schemas/manifest.sql).  manifest_open() brings every
 * component up to date in one IMMEDIATE transaction, so two processes opening
 * an old manifest at once never apply a block twice and a killed migration
 * leaves the previous version intact.
 *
 * The insert functions used by prep's single writer keep their prepared
 * statements in m->stmt[] for the connection's life.
 */
#include "manifest/manifest.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "schemas.h"
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "base/banned.h"

/* The migrator's own bookkeeping table (every component depends on it, so it
 * cannot live in a component's block 1). */
static const char schema_components_ddl[] =
	"CREATE TABLE IF NOT EXISTS schema_components (\n"
	"  -- Which version of each schema component (one schemas/<name>.sql file) this\n"
	"  -- manifest has applied.  Maintained by the library when it opens the\n"
	"  -- manifest; do not edit.\n"
	"  name        TEXT PRIMARY KEY,  -- component name: 'manifest', 'align', 'train', ...\n"
	"  version     INTEGER NOT NULL,  -- highest '-- version N' block applied\n"
	"  applied_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))  -- when it was applied (UTC)\n"
	");";

enum {
	ST_RUN_BEGIN, ST_RUN_END, ST_CORPUS, ST_REC_HASH, ST_REC_PATH,
	ST_REC_INS, ST_SPK, ST_UTT_INS, ST_UTT_EXISTS, ST_REJECT, ST_REC_ABSPATH,
};

int manifest_db_error(manifest *m, const char *what)
{
	return err_set(ACC_EDB, "%s: %s (%s)", what, m && m->db ? sqlite3_errmsg(m->db) : "no database",
		       m ? m->path : "?");
}

int manifest_prepare(manifest *m, const char *sql, sqlite3_stmt **stmt)
{
	*stmt = NULL;
	if (sqlite3_prepare_v2(m->db, sql, -1, stmt, NULL) != SQLITE_OK) {
		int rc = err_set(ACC_EDB, "cannot prepare SQL: %s (in: %.200s)", sqlite3_errmsg(m->db), sql);
		sqlite3_finalize(*stmt);
		*stmt = NULL;
		return rc;
	}
	return 0;
}

/* A cached statement, reset and with its bindings cleared. */
static int cached(manifest *m, int idx, const char *sql, sqlite3_stmt **st)
{
	if (!m->stmt[idx]) {
		if (sqlite3_prepare_v3(m->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &m->stmt[idx], NULL) != SQLITE_OK)
			return err_set(ACC_EDB, "cannot prepare SQL: %s (in: %.200s)", sqlite3_errmsg(m->db), sql);
	} else {
		sqlite3_reset(m->stmt[idx]);
		sqlite3_clear_bindings(m->stmt[idx]);
	}
	*st = m->stmt[idx];
	return 0;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

/* Optional text fields: empty strings (from TSV columns) mean unknown. */
static void bind_opt_text(sqlite3_stmt *st, int i, const char *s)
{
	bind_text(st, i, s && *s ? s : NULL);
}

/* Step a cached statement that returns no row, and reset it. */
static int step_done(manifest *m, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : manifest_db_error(m, what);
	sqlite3_reset(st);
	return rc;
}

/* Step a cached statement that returns one id (INSERT ... RETURNING id),
 * and reset it. */
static int step_returning(manifest *m, sqlite3_stmt *st, int64_t *id, const char *what)
{
	int rc = 0;
	if (sqlite3_step(st) == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	else
		rc = manifest_db_error(m, what);
	sqlite3_reset(st);
	return rc;
}

/* Step a cached INSERT of a row whose key is unique per corpus (what: the
 * table's row name for messages), *id = its rowid, and reset it. */
static int step_insert(manifest *m, sqlite3_stmt *st, const char *what, const char *key, int64_t corpus_id, int64_t *id)
{
	int rc = 0;
	if (sqlite3_step(st) != SQLITE_DONE) {
		if (sqlite3_extended_errcode(m->db) == SQLITE_CONSTRAINT_UNIQUE) {
			rc = err_set(ACC_EINVAL, "%s '%s' already exists in corpus %lld", what, key, (long long)corpus_id);
		} else {
			char msg[64];
			snprintf(msg, sizeof msg, "cannot insert %s", what);
			rc = manifest_db_error(m, msg);
		}
	} else {
		*id = sqlite3_last_insert_rowid(m->db);
	}
	sqlite3_reset(st);
	return rc;
}

/* ---------------------------------------------------------------- schemas */

static pthread_once_t schemas_once = PTHREAD_ONCE_INIT;
static mf_schema schemas_arr[64];
static int schemas_n;

static void schemas_init(void)
{
	for (int i = 0; schema_components[i].name && i < 63; i++) {
		schemas_arr[i].name = schema_components[i].name;
		schemas_arr[i].sql = schema_components[i].sql;
		schemas_n = i + 1;
	}
}

const mf_schema *manifest_schemas(int *n)
{
	pthread_once(&schemas_once, schemas_init);
	*n = schemas_n;
	return schemas_arr;
}

/* Parse "-- version N" at the start of line p (the whole line); N or 0. */
static int block_header(const char *p)
{
	static const char tag[] = "-- version ";
	if (strncmp(p, tag, sizeof tag - 1))
		return 0;
	p += sizeof tag - 1;
	if (!isdigit((unsigned char)*p))
		return 0;
	long v = strtol(p, (char **)&p, 10);
	while (*p == ' ' || *p == '\t' || *p == '\r')
		p++;
	if (*p && *p != '\n')
		return 0;
	return v > 0 && v < 1000000 ? (int)v : 0;
}

/* Find block `want` of sql: *start and *len cover its body.  Returns 0 when
 * found, ACC_ENOTFOUND when absent, ACC_EINTERNAL when the numbering is
 * broken.  *latest receives the highest block number. */
static int schema_block(const char *sql, int want, const char **start, size_t *len, int *latest)
{
	int expect = 1, found = 0;
	const char *line = sql, *body = NULL;
	*latest = 0;
	while (line && *line) {
		int v = block_header(line);
		if (v) {
			if (v != expect)
				return err_set(ACC_EINTERNAL, "schema block '-- version %d' found where version %d was expected", v, expect);
			if (found == 1) {
				*len = (size_t)(line - body);
				found = 2;
			}
			if (v == want) {
				const char *nl = strchr(line, '\n');
				body = nl ? nl + 1 : line + strlen(line);
				*start = body;
				found = 1;
			}
			*latest = v;
			expect++;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	if (found == 1)
		*len = strlen(body);
	return found ? 0 : ACC_ENOTFOUND;
}

int manifest_schema_latest(const char *sql)
{
	const char *s;
	size_t l;
	int latest = 0;
	int rc = schema_block(sql, 0, &s, &l, &latest);
	if (rc == ACC_EINTERNAL)
		return rc;
	return latest;
}

/* Version recorded for name, 0 when absent or when the table does not exist. */
static int read_version(manifest *m, const char *name, int *version)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;
	*version = 0;
	if (sqlite3_prepare_v2(m->db, "SELECT version FROM schema_components WHERE name = ?1", -1, &st, NULL) != SQLITE_OK) {
		/* no such table yet: a fresh manifest */
		sqlite3_finalize(st);
		return 0;
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	int s = sqlite3_step(st);
	if (s == SQLITE_ROW)
		*version = sqlite3_column_int(st, 0);
	else if (s != SQLITE_DONE)
		rc = manifest_db_error(m, "cannot read schema version");
	sqlite3_finalize(st);
	return rc;
}

int manifest_component_version(manifest *m, const char *name, int *version)
{
	return read_version(m, name, version);
}

/* A manifest that is not ours: tables but no schema_components. */
static int foreign_database(manifest *m, int *foreign)
{
	sqlite3_stmt *st = NULL;
	*foreign = 0;
	int rc = manifest_prepare(m, "SELECT (SELECT count(*) FROM sqlite_master WHERE type = 'table'), "
				  "(SELECT count(*) FROM sqlite_master WHERE name = 'schema_components')", &st);
	if (rc)
		return rc;
	if (sqlite3_step(st) == SQLITE_ROW)
		*foreign = sqlite3_column_int(st, 0) > 0 && sqlite3_column_int(st, 1) == 0;
	else
		rc = manifest_db_error(m, "cannot read the schema");
	sqlite3_finalize(st);
	return rc;
}

/* How many blocks are pending over all components; checks for newer DBs. */
static int pending_blocks(manifest *m, const mf_schema *c, int n, int *pending)
{
	*pending = 0;
	for (int i = 0; i < n; i++) {
		int latest = manifest_schema_latest(c[i].sql), have = 0, rc;
		if (latest < 0)
			return err_wrap(latest, "schema component '%s'", c[i].name);
		if ((rc = read_version(m, c[i].name, &have)))
			return rc;
		if (have > latest) {
			/* ACC_EFORMAT: exit status 3 ("data problem"), as the README
			 * documents, not the undocumented 1 */
			err_set(ACC_EFORMAT, "manifest '%s' has schema component '%s' at version %d, this accent knows only up to %d",
				m->path, c[i].name, have, latest);
			err_hint("it was written by a newer accent; upgrade accent to use it");
			return ACC_EFORMAT;
		}
		*pending += latest - have;
	}
	return 0;
}

int manifest_migrate(manifest *m, const mf_schema *c, int n)
{
	int pending = 0, foreign = 0, rc;
	char *errmsg = NULL, *block = NULL;
	sqlite3_stmt *st = NULL;

	if ((rc = pending_blocks(m, c, n, &pending)))
		return rc;
	if (!pending)
		return 0;
	if ((rc = foreign_database(m, &foreign)))
		return rc;
	if (foreign) {
		err_set(ACC_EFORMAT, "'%s' is an SQLite database but not an accent manifest", m->path);
		err_hint("pass --manifest with another path, or move that file away");
		return ACC_EFORMAT;
	}
	if ((rc = manifest_begin(m)))
		return rc;
	/* Re-read under the write lock: another process may have migrated. */
	if (sqlite3_exec(m->db, schema_components_ddl, NULL, NULL, &errmsg) != SQLITE_OK) {
		rc = err_set(ACC_EDB, "cannot create schema_components: %s", errmsg);
		goto out;
	}
	if ((rc = pending_blocks(m, c, n, &pending)))
		goto out;
	if ((rc = manifest_prepare(m, "INSERT INTO schema_components(name, version) VALUES (?1, ?2) "
				   "ON CONFLICT(name) DO UPDATE SET version = excluded.version, "
				   "applied_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')", &st)))
		goto out;
	for (int i = 0; i < n; i++) {
		int have = 0, latest = 0;
		if ((rc = read_version(m, c[i].name, &have)))
			goto out;
		for (int v = have + 1;; v++) {
			const char *body;
			size_t len;
			rc = schema_block(c[i].sql, v, &body, &len, &latest);
			if (rc == ACC_ENOTFOUND) {
				rc = 0;
				break;
			}
			if (rc)
				goto out;
			free(block);
			block = strndup(body, len);
			if (!block) {
				rc = err_set(ACC_ENOMEM, "out of memory");
				goto out;
			}
			if (sqlite3_exec(m->db, block, NULL, NULL, &errmsg) != SQLITE_OK) {
				rc = err_set(ACC_EDB, "cannot apply schema component '%s' version %d to '%s': %s",
					     c[i].name, v, m->path, errmsg ? errmsg : sqlite3_errmsg(m->db));
				goto out;
			}
			sqlite3_reset(st);
			sqlite3_bind_text(st, 1, c[i].name, -1, SQLITE_STATIC);
			sqlite3_bind_int(st, 2, v);
			if (sqlite3_step(st) != SQLITE_DONE) {
				rc = manifest_db_error(m, "cannot record the schema version");
				goto out;
			}
			if (!strcmp(c[i].name, "manifest")) {
				char pragma[64];
				snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", v);
				if (sqlite3_exec(m->db, pragma, NULL, NULL, &errmsg) != SQLITE_OK) {
					rc = err_set(ACC_EDB, "cannot set user_version: %s", errmsg);
					goto out;
				}
			}
		}
	}
	sqlite3_finalize(st);
	st = NULL;
	rc = manifest_commit(m);
out:
	sqlite3_finalize(st);
	sqlite3_free(errmsg);
	free(block);
	if (rc && sqlite3_get_autocommit(m->db) == 0)
		sqlite3_exec(m->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* ------------------------------------------------------------ open/close */

static int pragma(manifest *m, const char *sql)
{
	char *errmsg = NULL;
	if (sqlite3_exec(m->db, sql, NULL, NULL, &errmsg) != SQLITE_OK) {
		int rc = err_set(ACC_EDB, "'%s' failed on '%s': %s", sql, m->path, errmsg ? errmsg : "?");
		sqlite3_free(errmsg);
		return rc;
	}
	return 0;
}

int manifest_open(manifest **out, const char *path, int create)
{
	manifest *m = NULL;
	int rc = 0, n = 0;
	const mf_schema *schemas;

	*out = NULL;
	if (strlen(path) >= sizeof m->path)
		return err_set(ACC_EINVAL, "manifest path too long: '%.100s...'", path);
	if (!create && strcmp(path, ":memory:") && !fs_exists(path)) {
		/* the database is missing: a database failure (exit 4) */
		err_set(ACC_EIO, "manifest '%s' does not exist", path);
		err_hint("run 'prep ingest CORPUS' first, or pass --manifest PATH");
		return ACC_EIO;
	}
	m = calloc(1, sizeof *m);
	if (!m)
		return err_set(ACC_ENOMEM, "out of memory");
	snprintf(m->path, sizeof m->path, "%s", path);
	if (strcmp(path, ":memory:") && fs_exists(path) && access(path, W_OK) != 0) {
		err_set(ACC_EIO, "manifest '%s' is read-only and this command writes to it", path);
		err_hint("run it on a writable copy; 'db stats', 'db check' and 'db query' only read");
		rc = ACC_EIO;
		goto out;
	}
	if (sqlite3_open_v2(path, &m->db, SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0), NULL) != SQLITE_OK) {
		rc = err_set(ACC_EDB, "cannot open manifest '%s': %s", path, m->db ? sqlite3_errmsg(m->db) : "out of memory");
		goto out;
	}
	sqlite3_extended_result_codes(m->db, 1);
	/* Several stages (and `db query` from another terminal) may share it. */
	sqlite3_busy_timeout(m->db, 30000);
	if ((rc = pragma(m, "PRAGMA foreign_keys = ON")))
		goto out;
	if ((rc = pragma(m, "PRAGMA journal_mode = WAL")) || (rc = pragma(m, "PRAGMA synchronous = NORMAL")))
		goto out;
	/* 64 MiB of page cache (allocated only as used): whole-manifest updates
	 * (splits, weights) of a million rows thrash SQLite's 2 MiB default. */
	if ((rc = pragma(m, "PRAGMA cache_size = -65536")))
		goto out;
	schemas = manifest_schemas(&n);
	if ((rc = manifest_migrate(m, schemas, n)))
		goto out;
	*out = m;
	m = NULL;
out:
	if (rc == ACC_EDB && m && m->db && sqlite3_errcode(m->db) == SQLITE_NOTADB) {
		err_set(ACC_EFORMAT, "'%s' is not an SQLite database", path);
		rc = ACC_EFORMAT;
	}
	manifest_close(m);
	return rc;
}

/* file: URI for path with the characters URIs reserve percent-encoded. */
static int uri_of(const char *path, const char *query, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;
	if (cap < 16)
		return ACC_EINVAL;
	n += (size_t)snprintf(out, cap, "file:");
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if (n + 4 >= cap)
			return ACC_EINVAL;
		if (*p == '%' || *p == '?' || *p == '#' || *p < 0x21 || *p >= 0x7f) {
			out[n++] = '%';
			out[n++] = hex[*p >> 4];
			out[n++] = hex[*p & 15];
		} else {
			out[n++] = (char)*p;
		}
	}
	if (n + strlen(query) + 1 > cap)
		return ACC_EINVAL;
	snprintf(out + n, cap - n, "%s", query);
	return 0;
}

/* 1 when the manifest's -wal file exists and is not empty. */
static int wal_has_data(const char *path)
{
	char wal[4200];
	struct stat st;
	snprintf(wal, sizeof wal, "%s-wal", path);
	return stat(wal, &st) == 0 && st.st_size > 0;
}

static int ro_connect(manifest *m, const char *path, int immutable)
{
	char uri[13000];
	int rc = uri_of(path, immutable ? "?mode=ro&immutable=1" : "?mode=ro", uri, sizeof uri);
	if (rc)
		return err_set(ACC_EINVAL, "manifest path too long: '%.100s...'", path);
	if (sqlite3_open_v2(uri, &m->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL) != SQLITE_OK)
		return err_set(ACC_EDB, "cannot open manifest '%s' for reading: %s", path,
			       m->db ? sqlite3_errmsg(m->db) : "out of memory");
	sqlite3_extended_result_codes(m->db, 1);
	sqlite3_busy_timeout(m->db, 30000);
	/* the first read opens the WAL index; fails here rather than later */
	if (sqlite3_exec(m->db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL) != SQLITE_OK)
		return manifest_db_error(m, "cannot read the manifest");
	return 0;
}

int manifest_open_ro(manifest **out, const char *path)
{
	manifest *m = NULL;
	int rc = 0, n = 0, pending = 0;
	const mf_schema *schemas = manifest_schemas(&n);

	*out = NULL;
	if (strlen(path) >= sizeof m->path)
		return err_set(ACC_EINVAL, "manifest path too long: '%.100s...'", path);
	if (!fs_exists(path)) {   /* the same code as manifest_open: an I/O failure, exit 4 */
		err_set(ACC_EIO, "manifest '%s' does not exist", path);
		err_hint("run 'prep ingest CORPUS' first, or pass --manifest PATH");
		return ACC_EIO;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		if (!(m = calloc(1, sizeof *m)))
			return err_set(ACC_ENOMEM, "out of memory");
		snprintf(m->path, sizeof m->path, "%s", path);
		rc = ro_connect(m, path, 0);
		if (rc && !wal_has_data(path)) {
			/* a WAL manifest in a directory we cannot write (no -shm can
			 * be made): with no pending WAL content the file alone is the
			 * whole database, so it can be read as immutable */
			sqlite3_close_v2(m->db);
			m->db = NULL;
			rc = ro_connect(m, path, 1);
		}
		if (!rc)
			rc = pending_blocks(m, schemas, n, &pending);
		if (!rc && pending) {
			/* an older schema: migrating writes, so it needs a writable
			 * file; then read the migrated manifest */
			int foreign = 0;
			if (!(rc = foreign_database(m, &foreign)) && foreign) {
				err_set(ACC_EFORMAT, "'%s' is an SQLite database but not an accent manifest", path);
				err_hint("pass --manifest with another path");
				rc = ACC_EFORMAT;
			}
			manifest_close(m);
			m = NULL;
			if (rc)
				goto out;
			if (attempt == 0) {
				manifest *w = NULL;
				if ((rc = manifest_open(&w, path, 0)) != 0) {
					err_wrap(rc, "manifest '%s' has an older schema that must be upgraded first", path);
					goto out;
				}
				manifest_close(w);
				continue;
			}
			rc = err_set(ACC_EDB, "manifest '%s' still needs a schema upgrade", path);
			goto out;
		}
		break;
	}
	if (!rc) {
		*out = m;
		m = NULL;
	}
out:
	if (rc == ACC_EDB && m && m->db && (sqlite3_errcode(m->db) & 0xff) == SQLITE_NOTADB) {
		err_set(ACC_EFORMAT, "'%s' is not an SQLite database", path);
		rc = ACC_EFORMAT;
	}
	manifest_close(m);
	return rc;
}

void manifest_close(manifest *m)
{
	if (!m)
		return;
	for (int i = 0; i < MANIFEST_NSTMT; i++)
		sqlite3_finalize(m->stmt[i]);
	sqlite3_close_v2(m->db);
	free(m);
}

int manifest_exec(manifest *m, const char *sql)
{
	char *errmsg = NULL;
	if (sqlite3_exec(m->db, sql, NULL, NULL, &errmsg) != SQLITE_OK) {
		int rc = err_set(ACC_EDB, "%s (in: %.200s)", errmsg ? errmsg : sqlite3_errmsg(m->db), sql);
		sqlite3_free(errmsg);
		return rc;
	}
	return 0;
}

int manifest_begin(manifest *m) { return manifest_exec(m, "BEGIN IMMEDIATE"); }
int manifest_commit(manifest *m) { return manifest_exec(m, "COMMIT"); }

int manifest_rollback(manifest *m)
{
	if (sqlite3_get_autocommit(m->db))
		return 0;  /* SQLite already rolled back (e.g. after SQLITE_FULL) */
	return manifest_exec(m, "ROLLBACK");
}

/* ------------------------------------------------------------------ runs */

/* Shell-quote argv so the recorded command line can be pasted back. */
static char *quote_argv(int argc, char **argv)
{
	size_t cap = 1;
	for (int i = 0; i < argc; i++)
		cap += 4 * strlen(argv[i]) + 3;
	char *s = malloc(cap), *p = s;
	if (!s)
		return NULL;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		int plain = *a != 0;
		for (const char *q = a; *q; q++)
			if (!isalnum((unsigned char)*q) && !strchr("_./=:,+-@%", *q))
				plain = 0;
		if (i)
			*p++ = ' ';
		if (plain) {
			p = stpcpy(p, a);
			continue;
		}
		*p++ = '\'';
		for (const char *q = a; *q; q++) {
			if (*q == '\'')
				p = stpcpy(p, "'\\''");
			else
				*p++ = *q;
		}
		*p++ = '\'';
	}
	*p = 0;
	return s;
}

int manifest_run_begin(manifest *m, const char *stage, int argc, char **argv, int64_t *run_id)
{
	sqlite3_stmt *st;
	char *cmd = quote_argv(argc, argv);
	int rc;
	if (!cmd)
		return err_set(ACC_ENOMEM, "out of memory");
	if ((rc = cached(m, ST_RUN_BEGIN, "INSERT INTO runs(stage, command_line, version) VALUES (?1, ?2, ?3)", &st)))
		goto out;
	bind_text(st, 1, stage);
	bind_text(st, 2, cmd);
	bind_text(st, 3, ACCENT_VERSION);
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = manifest_db_error(m, "cannot record the run");
		goto out;
	}
	*run_id = sqlite3_last_insert_rowid(m->db);
out:
	if (m->stmt[ST_RUN_BEGIN])
		sqlite3_reset(m->stmt[ST_RUN_BEGIN]);
	free(cmd);
	return rc;
}

int manifest_run_end(manifest *m, int64_t run_id, int exit_code, const char *counts_json)
{
	sqlite3_stmt *st;
	int rc = cached(m, ST_RUN_END, "UPDATE runs SET ended_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), "
			"exit_code = ?2, counts = coalesce(?3, counts) WHERE id = ?1", &st);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, run_id);
	sqlite3_bind_int(st, 2, exit_code);
	bind_text(st, 3, counts_json);
	return step_done(m, st, "cannot record the end of the run");
}

int manifest_langs_describe(manifest *m, char *dst, size_t cap)
{
	sqlite3_stmt *st = NULL;
	size_t k = 0;
	int s, rc;
	if (cap)
		dst[0] = 0;
	rc = manifest_prepare(m, "SELECT coalesce(lang, '(none)'), count(*) FROM utterances GROUP BY lang "
	                      "ORDER BY count(*) DESC, lang", &st);
	if (rc)
		return rc;
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		char item[160];
		int n = snprintf(item, sizeof item, "%s%s %lld", k ? ", " : "", (const char *)sqlite3_column_text(st, 0),
		                 (long long)sqlite3_column_int64(st, 1));
		if (n < 0 || k + (size_t)n + 6 > cap) {
			if (k + 6 <= cap)
				k += snprintf(dst + k, cap - k, ", ...");
			s = SQLITE_DONE;
			break;
		}
		memcpy(dst + k, item, (size_t)n + 1);
		k += (size_t)n;
	}
	if (s != SQLITE_DONE)
		rc = manifest_db_error(m, "cannot count utterances per language");
	sqlite3_finalize(st);
	return rc;
}

void manifest_langs_hint(manifest *m, const char *extra)
{
	char langs[512] = "";
	manifest_langs_describe(m, langs, sizeof langs);
	if (*langs)
		err_hint("the manifest has: %s (utterances per language)%s%s", langs, extra ? "; " : "", extra ? extra : "");
	else if (extra)
		err_hint("%s", extra);
}

int manifest_texts(manifest *m, const char *lang, char ***texts, int *n)
{
	sqlite3_stmt *st = NULL;
	char **v = NULL;
	int k = 0, s, rc;
	size_t cap = 0;
	*texts = NULL;
	*n = 0;
	rc = manifest_prepare(m, "SELECT text_norm FROM utterances WHERE text_norm <> '' AND (?1 IS NULL OR lang = ?1) "
	                      "UNION ALL SELECT text_norm FROM long_texts WHERE text_norm <> '' "
	                      "AND (?1 IS NULL OR lang = ?1)", &st);
	if (rc)
		return rc;
	if (lang)
		sqlite3_bind_text(st, 1, lang, -1, SQLITE_TRANSIENT);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		if ((rc = ARRAY_GROW(v, cap, (size_t)k + 1)))
			goto out;
		if (!(v[k] = strdup((const char *)sqlite3_column_text(st, 0)))) {
			rc = err_set(ACC_ENOMEM, "out of memory");
			goto out;
		}
		k++;
	}
	if (s != SQLITE_DONE)
		rc = manifest_db_error(m, "cannot read the transcripts");
out:
	sqlite3_finalize(st);
	if (rc) {
		manifest_texts_free(v, k);
		return rc;
	}
	*texts = v;
	*n = k;
	return 0;
}

void manifest_texts_free(char **texts, int n)
{
	for (int i = 0; i < n; i++)
		free(texts[i]);
	free(texts);
}

/* ------------------------------------------------------- corpora, audio */

int manifest_corpus_upsert(manifest *m, const char *root, const char *layout, int64_t *corpus_id)
{
	sqlite3_stmt *st;
	int rc = cached(m, ST_CORPUS, "INSERT INTO corpora(root, layout) VALUES (?1, ?2) "
			"ON CONFLICT(root, layout) DO UPDATE SET updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') "
			"RETURNING id", &st);
	if (rc)
		return rc;
	bind_text(st, 1, root);
	bind_text(st, 2, layout);
	return step_returning(m, st, corpus_id, "cannot record the corpus");
}

/* Run a cached lookup returning one id (0 when no row). */
static int lookup_id(manifest *m, sqlite3_stmt *st, int64_t *id, const char *what)
{
	int s = sqlite3_step(st), rc = 0;
	*id = 0;
	if (s == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	else if (s != SQLITE_DONE)
		rc = manifest_db_error(m, what);
	sqlite3_reset(st);
	return rc;
}

int manifest_recording_by_hash(manifest *m, const char *sha256, int64_t *id)
{
	sqlite3_stmt *st;
	int rc = cached(m, ST_REC_HASH, "SELECT id FROM recordings WHERE sha256 = ?1 ORDER BY id LIMIT 1", &st);
	if (rc)
		return rc;
	bind_text(st, 1, sha256);
	return lookup_id(m, st, id, "cannot look a recording up by hash");
}

int manifest_recording_by_path(manifest *m, int64_t corpus_id, const char *path, int64_t *id)
{
	sqlite3_stmt *st;
	int rc = cached(m, ST_REC_PATH, "SELECT id FROM recordings WHERE corpus_id = ?1 AND path = ?2", &st);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, corpus_id);
	bind_text(st, 2, path);
	return lookup_id(m, st, id, "cannot look a recording up by path");
}

/* NaN (unknown) measurements are stored as NULL. */
static void bind_real(sqlite3_stmt *st, int i, double v)
{
	if (v != v)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_double(st, i, v);
}

int manifest_recording_insert(manifest *m, const mf_recording *r, int64_t *id)
{
	sqlite3_stmt *st;
	int rc;
	if (!r->path || !r->sha256)
		return err_set(ACC_EINVAL, "recording needs a path and a hash");
	rc = cached(m, ST_REC_INS, "INSERT INTO recordings(corpus_id, path, sha256, size_bytes, mtime, container, codec, "
		    "sample_rate, channels, duration_declared, duration_s, peak, rms, clip_ratio, silence_ratio) "
		    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)", &st);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, r->corpus_id);
	bind_text(st, 2, r->path);
	bind_text(st, 3, r->sha256);
	sqlite3_bind_int64(st, 4, r->size_bytes);
	bind_real(st, 5, r->mtime);
	bind_text(st, 6, r->container);
	bind_text(st, 7, r->codec);
	if (r->sample_rate > 0)
		sqlite3_bind_int(st, 8, r->sample_rate);
	if (r->channels > 0)
		sqlite3_bind_int(st, 9, r->channels);
	/* a declared duration of 0 means "the header says nothing" */
	if (r->duration_declared > 0)
		sqlite3_bind_double(st, 10, r->duration_declared);
	bind_real(st, 11, r->duration_s);
	bind_real(st, 12, r->peak);
	bind_real(st, 13, r->rms);
	bind_real(st, 14, r->clip_ratio);
	bind_real(st, 15, r->silence_ratio);
	return step_insert(m, st, "recording", r->path, r->corpus_id, id);
}

int manifest_audio_path(char *dst, size_t cap, const char *corpus_root, const char *rec_path)
{
	/* fs_join keeps an absolute second part as it is */
	return fs_join(dst, cap, corpus_root ? corpus_root : "", rec_path ? rec_path : "");
}

int manifest_recording_abspath(manifest *m, int64_t recording_id, char *dst, size_t cap)
{
	sqlite3_stmt *st;
	int rc = cached(m, ST_REC_ABSPATH, "SELECT c.root, r.path FROM recordings r JOIN corpora c ON c.id = r.corpus_id "
			"WHERE r.id = ?1", &st);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, recording_id);
	int s = sqlite3_step(st);
	if (s == SQLITE_ROW)
		rc = manifest_audio_path(dst, cap, (const char *)sqlite3_column_text(st, 0),
		                         (const char *)sqlite3_column_text(st, 1));
	else if (s == SQLITE_DONE)
		rc = err_set(ACC_ENOTFOUND, "recording %lld does not exist", (long long)recording_id);
	else
		rc = manifest_db_error(m, "cannot look the recording up");
	sqlite3_reset(st);
	return rc;
}

/* ------------------------------------------------- speakers, utterances */

int manifest_speaker_upsert(manifest *m, const mf_speaker *s, int64_t *id)
{
	sqlite3_stmt *st;
	int rc;
	if (!s->label || !*s->label)
		return err_set(ACC_EINVAL, "speaker needs a label");
	rc = cached(m, ST_SPK, "INSERT INTO speakers(corpus_id, label, gender, age, accent, lang) "
		    "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(corpus_id, label) DO UPDATE SET "
		    "gender = coalesce(speakers.gender, excluded.gender), age = coalesce(speakers.age, excluded.age), "
		    "accent = coalesce(speakers.accent, excluded.accent), lang = coalesce(speakers.lang, excluded.lang) "
		    "RETURNING id", &st);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, s->corpus_id);
	bind_text(st, 2, s->label);
	bind_opt_text(st, 3, s->gender);
	bind_opt_text(st, 4, s->age);
	bind_opt_text(st, 5, s->accent);
	bind_opt_text(st, 6, s->lang);
	return step_returning(m, st, id, "cannot record speaker");
}

int manifest_utterance_insert(manifest *m, const mf_utterance *u, int64_t *id)
{
	sqlite3_stmt *st;
	int rc;
	if (!u->utt_key || !*u->utt_key)
		return err_set(ACC_EINVAL, "utterance needs a key");
	if (!(u->end_s >= u->start_s) || u->start_s < 0)
		return err_set(ACC_EINVAL, "utterance '%s' has an invalid span %.3f..%.3f s", u->utt_key, u->start_s, u->end_s);
	rc = cached(m, ST_UTT_INS, "INSERT INTO utterances(utt_key, corpus_id, recording_id, speaker_id, channel, start_s, "
		    "end_s, text_raw, text_norm, norm_profile, norm_version, lang, flags, status, source) "
		    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, coalesce(?14, 'ok'), ?15)", &st);
	if (rc)
		return rc;
	bind_text(st, 1, u->utt_key);
	sqlite3_bind_int64(st, 2, u->corpus_id);
	sqlite3_bind_int64(st, 3, u->recording_id);
	if (u->speaker_id > 0)
		sqlite3_bind_int64(st, 4, u->speaker_id);
	sqlite3_bind_int(st, 5, u->channel);
	sqlite3_bind_double(st, 6, u->start_s);
	sqlite3_bind_double(st, 7, u->end_s);
	bind_text(st, 8, u->text_raw);
	bind_text(st, 9, u->text_norm);
	bind_text(st, 10, u->norm_profile);
	if (u->norm_profile)
		sqlite3_bind_int(st, 11, u->norm_version);
	bind_opt_text(st, 12, u->lang);
	sqlite3_bind_int(st, 13, u->flags);
	bind_text(st, 14, u->status);
	bind_text(st, 15, u->source);
	return step_insert(m, st, "utterance", u->utt_key, u->corpus_id, id);
}

int manifest_utterance_exists(manifest *m, int64_t corpus_id, const char *utt_key, int *exists)
{
	sqlite3_stmt *st;
	int64_t id = 0;
	int rc = cached(m, ST_UTT_EXISTS, "SELECT id FROM utterances WHERE corpus_id = ?1 AND utt_key = ?2", &st);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, corpus_id);
	bind_text(st, 2, utt_key);
	rc = lookup_id(m, st, &id, "cannot look the utterance up");
	*exists = id != 0;
	return rc;
}

int manifest_reject(manifest *m, int64_t run_id, int64_t corpus_id, const char *source,
		    const char *reason, const char *message)
{
	sqlite3_stmt *st;
	int rc = cached(m, ST_REJECT, "INSERT INTO rejects(run_id, corpus_id, source, reason, message) "
			"VALUES (?1, ?2, ?3, ?4, ?5)", &st);
	if (rc)
		return rc;
	if (run_id > 0)
		sqlite3_bind_int64(st, 1, run_id);
	if (corpus_id > 0)
		sqlite3_bind_int64(st, 2, corpus_id);
	bind_text(st, 3, source ? source : "");
	bind_text(st, 4, reason ? reason : "unknown");
	bind_text(st, 5, message);
	return step_done(m, st, "cannot record reject");
}
