/*
 * cliopt.c — numeric option values (see cliopt.h).
 */
#include "cliopt.h"
#include <errno.h>
#include <math.h>
#include <stdlib.h>

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
