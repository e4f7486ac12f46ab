/*
 * tsv.c — delimiter-separated lines without quote handling (see tsv.h).
 */
#include "base/tsv.h"
#include "base/err.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "base/banned.h"

#define TSV_MAX_LINE (1 << 20)

int tsv_open(tsv *t, const char *path, char sep)
{
	memset(t, 0, sizeof *t);
	t->sep = sep;
	t->fp = fopen(path, "rb");
	if (!t->fp) {
		int e = errno;
		return err_set(e == ENOENT ? ACC_ENOTFOUND : ACC_EIO, "cannot open '%s': %s", path, strerror(e));
	}
	return 0;
}

static int push_field(tsv *t, char *f)
{
	int rc = ARRAY_GROW(t->field, t->fcap, (size_t)t->nfield + 1);
	if (rc)
		return err_wrap(rc, "line %ld", t->lineno);
	t->field[t->nfield++] = f;
	return 0;
}

int tsv_next_n(tsv *t, int max_fields)
{
	ssize_t len;
	errno = 0;
	len = getline(&t->line, &t->cap, t->fp);
	t->nfield = 0;
	if (len < 0) {
		if (ferror(t->fp))
			return err_set(ACC_EIO, "read error after line %ld: %s", t->lineno, strerror(errno));
		return 0;
	}
	t->lineno++;
	if (len > TSV_MAX_LINE)
		return err_set(ACC_EFORMAT, "line %ld is longer than 1 MiB", t->lineno);
	if ((ssize_t)strlen(t->line) != len)
		return err_set(ACC_EFORMAT, "line %ld contains a NUL byte", t->lineno);
	while (len > 0 && (t->line[len - 1] == '\n' || t->line[len - 1] == '\r'))
		t->line[--len] = 0;
	char *s = t->line;
	if (t->lineno == 1 && (unsigned char)s[0] == 0xEF && (unsigned char)s[1] == 0xBB && (unsigned char)s[2] == 0xBF)
		s += 3;
	for (;;) {
		char *e = (max_fields <= 0 || t->nfield + 1 < max_fields) ? strchr(s, t->sep) : NULL;
		if (push_field(t, s))
			return ACC_ENOMEM;
		if (!e)
			break;
		*e = 0;
		s = e + 1;
	}
	return 1;
}

int tsv_next(tsv *t) { return tsv_next_n(t, 0); }

void tsv_close(tsv *t)
{
	if (t->fp)
		fclose(t->fp);
	free(t->line);
	free(t->field);
	memset(t, 0, sizeof *t);
}

int tsv_column(const tsv *t, const char *name)
{
	for (int i = 0; i < t->nfield; i++)
		if (!strcmp(t->field[i], name))
			return i;
	return -1;
}

char *tsv_split_key(char *s, char **rest)
{
	while (*s == ' ' || *s == '\t')
		s++;
	char *e = s;
	while (*e && *e != ' ' && *e != '\t')
		e++;
	if (*e) {
		*e++ = 0;
		while (*e == ' ' || *e == '\t')
			e++;
	}
	*rest = e;
	return s;
}
