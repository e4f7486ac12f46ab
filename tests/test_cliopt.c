/* test_cliopt.c — numeric option values accepted and refused alike by every binary. */
#include "check.h"
#include "base/cliopt.h"

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

int main(void)
{
	RUN(test_number);
	RUN(test_integer);
	return check_summary();
}
