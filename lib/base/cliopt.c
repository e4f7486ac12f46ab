/*
 * cliopt.c — option tables and numeric option values (see cliopt.h).
 */
#include "base/cliopt.h"
#include "base/err.h"
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/banned.h"

int cliopt_number(const char *s, double *out)
{
	char *end;
	double v;
	if (!s || !*s)
		return -1;
	v = strtod(s, &end);
	if (*end || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

int cliopt_integer(const char *s, long long *out)
{
	char *end;
	long long v;
	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end || errno == ERANGE)
		return -1;
	*out = v;
	return 0;
}

/* Options per table: more than any command has; rows past it are ignored
 * by the parser (and would show in the help), so keep tables under it. */
#define CLIOPT_MAX 96

int cliopt_next(int argc, char **argv, const cliopt *table, const char **arg)
{
	struct option lo[CLIOPT_MAX + 1];
	char so[3 * CLIOPT_MAX + 2];
	int nl = 0, ns = 0;
	/* a leading ':' would silence getopt's messages; we want them */
	for (const cliopt *o = table; o->name && nl < CLIOPT_MAX; o++) {
		lo[nl].name = o->name;
		lo[nl].has_arg = o->arg ? required_argument : no_argument;
		lo[nl].flag = NULL;
		lo[nl].val = o->id;
		nl++;
		if (o->letter) {
			so[ns++] = o->letter;
			if (o->arg)
				so[ns++] = ':';
		}
	}
	memset(&lo[nl], 0, sizeof lo[nl]);
	so[ns] = 0;
	int c = getopt_long(argc, argv, so, lo, NULL);
	if (c == -1 || c == '?') {
		*arg = NULL;
		return c;
	}
	/* a short letter returns the letter: map it to the row's id */
	for (const cliopt *o = table; o->name; o++)
		if (o->letter && o->letter == c && o->id != c) {
			c = o->id;
			break;
		}
	*arg = optarg;
	return c;
}

void cliopt_print(FILE *fp, const cliopt *table)
{
	for (const cliopt *o = table; o->name; o++) {
		if (!o->help)
			continue;
		char head[96];
		int n = snprintf(head, sizeof head, "  %s%c%s--%s%s%s", o->letter ? "-" : "", o->letter ? o->letter : ' ',
				 o->letter ? ", " : "", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
		if (!o->letter) /* "  --name" without the "-x, " column */
			n = snprintf(head, sizeof head, "  --%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
		const char *h = o->help;
		if (n < 22)
			fprintf(fp, "%-22s", head);
		else
			fprintf(fp, "%s\n%-22s", head, "");
		for (;;) {
			const char *e = strchr(h, '\n');
			int len = e ? (int)(e - h) : (int)strlen(h);
			fprintf(fp, "%.*s\n", len, h);
			if (!e)
				break;
			h = e + 1;
			fprintf(fp, "%-22s", "");
		}
	}
}

void cliopt_usage(FILE *fp, const char *head, const cliopt *table, const char *tail)
{
	fputs(head, fp);
	cliopt_print(fp, table);
	if (tail)
		fputs(tail, fp);
}

int cliopt_usage_error(const char *cmd, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	err_set(ACC_EINVAL, "%s", msg);
	err_hint("see '%s --help'", cmd);
	err_print();
	return err_exit_code(ACC_EINVAL);
}

int cliopt_bad_arg(const char *cmd, const char *what, const char *arg)
{
	return arg ? cliopt_usage_error(cmd, "%s '%s'", what, arg) : cliopt_usage_error(cmd, "%s", what);
}

int cliopt_fail(int rc)
{
	if (!rc)
		return 0;
	err_print();
	return err_exit_code(rc);
}
