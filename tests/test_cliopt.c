/* test_cliopt.c — numeric option values accepted and refused alike by
 * every binary; the option table parsed and printed; the usage-error and
 * failure helpers the binaries share. */
#define _GNU_SOURCE
#include "check.h"
#include "base/cliopt.h"
#include "base/err.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_number(void)
{
	double v = -7;
	CHECK(cliopt_number("1e-3", &v) == 0 && v == 1e-3);
	CHECK(cliopt_number("-0.5", &v) == 0 && v == -0.5);
	CHECK(cliopt_number("12", &v) == 0 && v == 12);
	v = -7;
	static const char *bad[] = { "", "3x", "1.5 ", "nan", "inf", "-inf", "1e999", "abc", "0x", NULL };
	for (int i = 0; bad[i]; i++)
		CHECKF(cliopt_number(bad[i], &v) == -1, "'%s' accepted", bad[i]);
	CHECK(v == -7);   /* untouched on failure */
	CHECK(cliopt_number(NULL, &v) == -1);
}

static void test_integer(void)
{
	long long n = -7;
	CHECK(cliopt_integer("42", &n) == 0 && n == 42);
	CHECK(cliopt_integer("-3", &n) == 0 && n == -3);
	CHECK(cliopt_integer("9223372036854775807", &n) == 0 && n == 9223372036854775807LL);
	n = -7;
	static const char *bad[] = { "", "4.0", "3x", "1e3", "99999999999999999999", " ", "0x10", NULL };
	for (int i = 0; bad[i]; i++)
		CHECKF(cliopt_integer(bad[i], &n) == -1, "'%s' accepted", bad[i]);
	CHECK(n == -7);
	CHECK(cliopt_integer(NULL, &n) == -1);
}

enum { T_OUT = 256, T_FLAG };
static const cliopt table[] = {
	{ "out", 'o', "DIR", 'o', "where to write" },
	{ "flag", 0, NULL, T_FLAG, "a flag\nover two lines" },
	{ "old-name", 0, "N", T_OUT, NULL },
	CLIOPT_HELP_ROWS,
	{ 0 },
};

static void test_table(void)
{
	char *argv[] = { "cmd", "-o", "x", "--flag", "--old-name", "3", "--version", "rest", NULL };
	int argc = 8, ids[8], n = 0, c;
	const char *arg, *args[8];
	optind = 1;
	while ((c = cliopt_next(argc, argv, table, &arg)) != -1 && n < 8) {
		ids[n] = c;
		args[n++] = arg;
	}
	CHECK_EQ_INT(n, 4);
	CHECK(ids[0] == 'o' && args[0] && !strcmp(args[0], "x"));
	CHECK(ids[1] == T_FLAG && args[1] == NULL);
	CHECK(ids[2] == T_OUT && args[2] && !strcmp(args[2], "3"));
	CHECK(ids[3] == CLIOPT_VERSION);
	CHECK(optind == 7 && !strcmp(argv[optind], "rest"));
	optind = 1;

	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);
	cliopt_usage(fp, "usage: cmd\n\n", table, "\nthe end\n");
	fclose(fp);
	CHECK_STR(buf, "usage: cmd\n\n"
		       "  -o, --out DIR       where to write\n"
		       "  --flag              a flag\n"
		       "                      over two lines\n"
		       "  -h, --help          this help\n"
		       "  --version           print the version\n"
		       "\nthe end\n");
	free(buf);
}

static void test_errors(void)
{
	/* stderr to a file: the message and hint are printed there */
	char path[] = "/tmp/accent-cliopt-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	fflush(stderr);
	FILE *saved = stderr;
	FILE *fp = fdopen(fd, "w+");
	stderr = fp;
	int st = cliopt_usage_error("db stats", "--speakers wants a count, not '%s'", "x");
	int st0 = cliopt_fail(0);
	err_set(ACC_EIO, "cannot read 'y'");
	int st4 = cliopt_fail(ACC_EIO);
	fflush(fp);
	stderr = saved;
	CHECK_EQ_INT(st, 2);
	CHECK_EQ_INT(st0, 0);
	CHECK_EQ_INT(st4, 4);
	char text[512] = { 0 };
	rewind(fp);
	size_t got = fread(text, 1, sizeof text - 1, fp);
	fclose(fp);
	unlink(path);
	CHECK(got > 0);
	CHECK_STR(text, "error: --speakers wants a count, not 'x'\n"
			"hint: see 'db stats --help'\n"
			"error: cannot read 'y'\n");
}

int main(void)
{
	RUN(test_number);
	RUN(test_table);
	RUN(test_errors);
	RUN(test_integer);
	return check_summary();
}
