/*
 * dbquery.h — run SQL typed by a user against the manifest and write the
 * result as an aligned text table, CSV (RFC 4180) or JSON (an array of
 * objects per statement, numbers as numbers, NULL as null).
 */
#pragma once
#include "manifest/manifest.h"
#include <stdint.h>
#include <stdio.h>

typedef enum dbquery_format { DBQUERY_TABLE, DBQUERY_CSV, DBQUERY_JSON } dbquery_format;

/* "table", "csv", "json" -> format; ACC_EINVAL otherwise. */
int dbquery_parse_format(const char *name, dbquery_format *f);

/* Run every statement of sql in turn; each one that returns columns is
 * written to out in format f (table: header, rule, rows, "(N rows)").
 * *nrows (may be NULL) receives the number of result rows over all
 * statements.  ACC_EDB with SQLite's message (and the failing statement)
 * when one fails; earlier statements' effects are kept, as in sqlite3.
 * Without DBQUERY_WRITE in flags a statement that would write anything
 * (sqlite3_stmt_readonly() false: INSERT, UPDATE, DELETE, DDL, VACUUM) is
 * refused with ACC_EINVAL before it runs.  Always: no ATTACH of a file and
 * no VACUUM INTO (an authorizer denies them), so user SQL never reads or
 * writes a file other than the manifest. */
enum { DBQUERY_WRITE = 1 };
int dbquery_exec(manifest *m, const char *sql, dbquery_format f, unsigned flags, FILE *out, int64_t *nrows);
/* dbquery_exec without DBQUERY_WRITE. */
int dbquery_print(manifest *m, const char *sql, dbquery_format f, FILE *out, int64_t *nrows);

/* The example queries `db query --help` shows: the options before the SQL
 * ("" or "--format csv ") and the SQL.  They live beside the schema they
 * read, not in the binary, and test_dbtools runs each one on a fresh
 * manifest so that a renamed table or view cannot leave a broken example.
 * The list ends with a row whose sql is NULL. */
typedef struct dbquery_example {
	const char *opts;
	const char *sql;
} dbquery_example;
extern const dbquery_example dbquery_examples[];

/* Write s as one RFC 4180 CSV field (quoted when it holds a comma, quote or
 * line break; nothing for NULL), without a separator.  Also export's. */
void dbquery_csv_field(FILE *out, const char *s);

/* Column i of the current row of st as a new JSON value, as the json format
 * writes it (integers, reals, null, text with invalid UTF-8 shown as U+FFFD,
 * blobs as hex).  NULL when out of memory.  Also db report's. */
#include <jansson.h>
json_t *dbquery_json_cell(sqlite3_stmt *st, int i);
