/*
 * dbquery.c — user SQL to table, CSV or JSON (see dbquery.h).
 *
 * The table format buffers the rows of one statement to size its columns
 * (width in code points, so accented and non-Latin text lines up); CSV and
 * JSON stream.
 */
#include "manifest/dbquery.h"
#include "base/err.h"
#include "base/fsutil.h"
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include "base/banned.h"

int dbquery_parse_format(const char *name, dbquery_format *f)
{
	static const char *names[] = { "table", "csv", "json" };
	for (int i = 0; i < 3; i++)
		if (name && !strcmp(name, names[i])) {
			*f = (dbquery_format)i;
			return 0;
		}
	err_set(ACC_EINVAL, "unknown output format '%s'", name ? name : "");
	err_hint("use one of: table, csv, json");
	return ACC_EINVAL;
}

const dbquery_example dbquery_examples[] = {
	{ "", "SELECT sql FROM sqlite_master WHERE name = 'utterances'" },
	{ "", "SELECT * FROM hours_by_lang_split" },
	{ "--format csv ", "SELECT label, hours FROM hours_by_speaker ORDER BY hours DESC" },
	{ NULL, NULL },
};

/* Display width: UTF-8 code points (continuation bytes do not count). */
static size_t text_width(const char *s)
{
	size_t w = 0;
	for (; *s; s++)
		w += ((unsigned char)*s & 0xC0) != 0x80;
	return w;
}

void dbquery_csv_field(FILE *out, const char *s)
{
	if (s && strpbrk(s, ",\"\r\n")) {
		fputc('"', out);
		for (; *s; s++) {
			if (*s == '"')
				fputc('"', out);
			fputc(*s, out);
		}
		fputc('"', out);
	} else if (s) {
		fputs(s, out);
	}
}

/* Copy of s with every invalid UTF-8 sequence replaced by U+FFFD. */
static char *utf8_repair(const char *s, size_t n)
{
	char *d = malloc(3 * n + 1), *p = d;
	size_t i = 0;
	if (!d)
		return NULL;
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
		int ok = len && i + len <= n && !(len == 2 && c < 0xC2);
		for (size_t k = 1; ok && k < len; k++)
			ok = ((unsigned char)s[i + k] & 0xC0) == 0x80;
		if (ok && len == 3) {
			unsigned cp = (c & 15u) << 12 | ((unsigned char)s[i + 1] & 63u) << 6 | ((unsigned char)s[i + 2] & 63u);
			ok = cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF);
		}
		if (ok && len == 4) {
			unsigned cp = (c & 7u) << 18 | ((unsigned char)s[i + 1] & 63u) << 12 | ((unsigned char)s[i + 2] & 63u) << 6;
			ok = cp >= 0x10000 && cp <= 0x10FFFF;
		}
		if (ok && c) {
			memcpy(p, s + i, len);
			p += len;
			i += len;
		} else {
			memcpy(p, "\xEF\xBF\xBD", 3);
			p += 3;
			i++;
		}
	}
	*p = 0;
	return d;
}

static json_t *json_value(sqlite3_stmt *st, int i)
{
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_INTEGER: return json_integer(sqlite3_column_int64(st, i));
	case SQLITE_FLOAT: return json_real(sqlite3_column_double(st, i));
	case SQLITE_NULL: return json_null();
	case SQLITE_BLOB: {
		/* hex, so binary never breaks the JSON */
		const unsigned char *b = sqlite3_column_blob(st, i);
		int n = sqlite3_column_bytes(st, i);
		char *hex = malloc((size_t)n * 2 + 1);
		json_t *v;
		if (!hex)
			return NULL;
		fs_hex(b, (size_t)n, hex);
		v = json_string(hex);
		free(hex);
		return v;
	}
	default: {
		const char *t = (const char *)sqlite3_column_text(st, i);
		json_t *v = json_string(t ? t : "");
		if (!v && t) {
			/* invalid UTF-8 in the manifest: show it with U+FFFD */
			char *fixed = utf8_repair(t, (size_t)sqlite3_column_bytes(st, i));
			v = fixed ? json_string(fixed) : NULL;
			free(fixed);
		}
		return v;
	}
	}
}

typedef struct cells {
	char  **v;      /* rows * ncol, NULL = SQL NULL */
	int    *num;    /* per cell: right-align */
	size_t  n, cap;
} cells;

static int print_table(sqlite3_stmt *st, FILE *out, int64_t *rows, manifest *m)
{
	int ncol = sqlite3_column_count(st), s, rc = 0;
	cells c = { 0 };
	size_t *w = calloc((size_t)ncol, sizeof *w), nrows = 0;
	if (!w)
		return err_set(ACC_ENOMEM, "out of memory");
	for (int i = 0; i < ncol; i++)
		w[i] = text_width(sqlite3_column_name(st, i));
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		/* two parallel arrays of one capacity: grow a copy of it for each */
		size_t vcap = c.cap, ncap = c.cap;
		if ((rc = ARRAY_GROW(c.v, vcap, c.n + (size_t)ncol)) || (rc = ARRAY_GROW(c.num, ncap, c.n + (size_t)ncol)))
			goto out;
		c.cap = vcap < ncap ? vcap : ncap;
		for (int i = 0; i < ncol; i++) {
			const char *t = (const char *)sqlite3_column_text(st, i);
			int type = sqlite3_column_type(st, i);
			c.v[c.n] = t ? strdup(t) : NULL;
			c.num[c.n] = type == SQLITE_INTEGER || type == SQLITE_FLOAT;
			size_t tw = text_width(t ? t : "NULL");
			if (tw > w[i])
				w[i] = tw;
			c.n++;
		}
		nrows++;
	}
	if (s != SQLITE_DONE) {
		rc = manifest_db_error(m, "query failed");
		goto out;
	}
	for (int i = 0; i < ncol; i++) {
		const char *name = sqlite3_column_name(st, i);
		fprintf(out, "%s%s%*s", i ? "  " : "", name, i + 1 < ncol ? (int)(w[i] - text_width(name)) : 0, "");
	}
	fputc('\n', out);
	for (int i = 0; i < ncol; i++) {
		fputs(i ? "  " : "", out);
		for (size_t k = 0; k < w[i]; k++)
			fputc('-', out);
	}
	fputc('\n', out);
	for (size_t r = 0; r < nrows; r++) {
		for (int i = 0; i < ncol; i++) {
			size_t k = r * (size_t)ncol + (size_t)i;
			const char *t = c.v[k] ? c.v[k] : "NULL";
			int pad = (int)(w[i] - text_width(t));
			fputs(i ? "  " : "", out);
			if (c.num[k])
				fprintf(out, "%*s%s", pad, "", t);
			else
				fprintf(out, "%s%*s", t, i + 1 < ncol ? pad : 0, "");
		}
		fputc('\n', out);
	}
	fprintf(out, "(%zu row%s)\n", nrows, nrows == 1 ? "" : "s");
	*rows += (int64_t)nrows;
out:
	for (size_t k = 0; k < c.n; k++)
		free(c.v[k]);
	free(c.v);
	free(c.num);
	free(w);
	return rc;
}

static int print_csv(sqlite3_stmt *st, FILE *out, int64_t *rows, manifest *m)
{
	int ncol = sqlite3_column_count(st), s;
	for (int i = 0; i < ncol; i++) {
		fputs(i ? "," : "", out);
		dbquery_csv_field(out, sqlite3_column_name(st, i));
	}
	fputc('\n', out);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		for (int i = 0; i < ncol; i++) {
			fputs(i ? "," : "", out);
			dbquery_csv_field(out, (const char *)sqlite3_column_text(st, i));
		}
		fputc('\n', out);
		(*rows)++;
	}
	return s == SQLITE_DONE ? 0 : manifest_db_error(m, "query failed");
}

static int print_json(sqlite3_stmt *st, FILE *out, int64_t *rows, manifest *m)
{
	int ncol = sqlite3_column_count(st), s, first = 1;
	fputc('[', out);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *o = json_object();
		if (!o)
			return err_set(ACC_ENOMEM, "out of memory");
		for (int i = 0; i < ncol; i++) {
			json_t *v = json_value(st, i);
			if (!v) {
				json_decref(o);
				return err_set(ACC_ENOMEM, "out of memory");
			}
			json_object_set_new(o, sqlite3_column_name(st, i), v);
		}
		fputs(first ? "\n  " : ",\n  ", out);
		json_dumpf(o, out, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
		json_decref(o);
		first = 0;
		(*rows)++;
	}
	fputs(first ? "]\n" : "\n]\n", out);
	return s == SQLITE_DONE ? 0 : manifest_db_error(m, "query failed");
}

/* Authorizer of user SQL: no ATTACH of a file (which also stops VACUUM
 * INTO, which attaches its target) and no DETACH; with DBQUERY_WRITE the
 * empty-name ATTACH plain VACUUM makes for its scratch copy is allowed. */
static int guard_auth(void *ctx, int action, const char *a1, const char *a2, const char *a3, const char *a4)
{
	unsigned flags = *(const unsigned *)ctx;
	(void)a2;
	(void)a3;
	(void)a4;
	if (action == SQLITE_ATTACH)
		return (flags & DBQUERY_WRITE) && a1 && !*a1 ? SQLITE_OK : SQLITE_DENY;
	if (action == SQLITE_DETACH)
		return (flags & DBQUERY_WRITE) ? SQLITE_OK : SQLITE_DENY;
	return SQLITE_OK;
}

int dbquery_exec(manifest *m, const char *sql, dbquery_format f, unsigned flags, FILE *out, int64_t *nrows)
{
	const char *tail = sql;
	int64_t rows = 0;
	int rc = 0;
	sqlite3_set_authorizer(m->db, guard_auth, &flags);
	while (tail && *tail && !rc) {
		sqlite3_stmt *st = NULL;
		const char *start = tail;
		if (sqlite3_prepare_v2(m->db, start, -1, &st, &tail) != SQLITE_OK) {
			int denied = sqlite3_errcode(m->db) == SQLITE_AUTH;
			rc = err_set(ACC_EDB, "%s (in: %.200s)", sqlite3_errmsg(m->db), start);
			if (denied)
				err_hint("db query never attaches other database files (ATTACH, VACUUM INTO)");
			break;
		}
		if (!st)
			continue;  /* whitespace or a comment */
		if (!(flags & DBQUERY_WRITE) && !sqlite3_stmt_readonly(st)) {
			rc = err_set(ACC_EINVAL, "db query is read-only: '%.200s' would change the manifest", sqlite3_sql(st));
			err_hint("pass --write to change the manifest on purpose");
			sqlite3_finalize(st);
			break;
		}
		if (sqlite3_column_count(st) == 0) {
			int s = sqlite3_step(st);
			if (s != SQLITE_DONE && s != SQLITE_ROW)
				rc = err_set(ACC_EDB, "%s (in: %.200s)", sqlite3_errmsg(m->db), sqlite3_sql(st));
		} else if (f == DBQUERY_TABLE) {
			rc = print_table(st, out, &rows, m);
		} else if (f == DBQUERY_CSV) {
			rc = print_csv(st, out, &rows, m);
		} else {
			rc = print_json(st, out, &rows, m);
		}
		sqlite3_finalize(st);
	}
	sqlite3_set_authorizer(m->db, NULL, NULL);
	if (nrows)
		*nrows = rows;
	return rc;
}

int dbquery_print(manifest *m, const char *sql, dbquery_format f, FILE *out, int64_t *nrows)
{
	return dbquery_exec(m, sql, f, 0, out, nrows);
}

json_t *dbquery_json_cell(sqlite3_stmt *st, int i)
{
	return json_value(st, i);
}
