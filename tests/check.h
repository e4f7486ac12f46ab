/*
 * check.h — the project's minimal test harness (header-only).
 *
 * A test file defines `static void test_x(void)` functions and a main():
 *     int main(void) { RUN(test_x); RUN(test_y); return check_summary(); }
 * CHECK* record a failure (with file:line and the values) and keep going, so
 * one run reports every mismatch.  check_summary() prints
 *     # <file>: N passed, N failed
 * and returns non-zero when any test failed; tests/run.sh adds the per-file
 * counts up into the suite's final "N passed, N failed" line.
 *
 * Test data: TEST_DATA(path) is tests/<path> resolved from the source tree
 * (tests run from the repository root); TEST_TMP is a fresh scratch directory
 * per test binary under $TMPDIR, removed at the end unless KEEP_TMP=1.
 */
#pragma once
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int check_failures_in_test;
static int check_tests_passed, check_tests_failed;
static const char *check_current;
static char check_tmpdir[512];

#define CHECK(cond) do { if (!(cond)) { check_fail(__FILE__, __LINE__, "CHECK(%s)", #cond); } } while (0)
#define CHECKF(cond, ...) do { if (!(cond)) { check_fail(__FILE__, __LINE__, __VA_ARGS__); } } while (0)
#define CHECK_EQ_INT(a, b) do { long long _a = (long long)(a), _b = (long long)(b); \
	if (_a != _b) check_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, _a, _b); } while (0)
#define CHECK_STR(a, b) do { const char *_a = (a), *_b = (b); \
	if (!_a || !_b || strcmp(_a, _b)) check_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", #a, #b, _a ? _a : "(null)", _b ? _b : "(null)"); } while (0)
#define CHECK_NEAR(a, b, tol) do { double _a = (a), _b = (b); \
	if (!(fabs(_a - _b) <= (tol))) check_fail(__FILE__, __LINE__, "%s ~ %s: %.9g vs %.9g (tol %g)", #a, #b, _a, _b, (double)(tol)); } while (0)
/* Library call must succeed (returns 0); prints err_msg() otherwise. */
#define CHECK_OK(call) do { int _rc = (call); if (_rc != 0) { \
	check_fail(__FILE__, __LINE__, "%s failed: %d: %s", #call, _rc, check_errmsg()); } } while (0)

#define RUN(fn) check_run(#fn, fn)
#define TEST_DATA(rel) "tests/" rel
#define TEST_TMP (check_tmp())

/* Weak hook so the harness can print library error messages without
 * depending on the library when a test does not link it. */
const char *err_msg(void) __attribute__((weak));
__attribute__((unused)) static const char *check_errmsg(void) { return err_msg ? err_msg() : ""; }

static void check_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void check_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	if (check_failures_in_test < 20) {
		fprintf(stderr, "  %s:%d: [%s] ", file, line, check_current ? check_current : "?");
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	check_failures_in_test++;
}

__attribute__((unused)) static const char *check_tmp(void)
{
	if (!check_tmpdir[0]) {
		const char *t = getenv("TMPDIR");
		snprintf(check_tmpdir, sizeof check_tmpdir, "%s/accent-test-XXXXXX", t && *t ? t : "/tmp");
		if (!mkdtemp(check_tmpdir)) {
			perror("mkdtemp");
			exit(2);
		}
	}
	return check_tmpdir;
}

static void check_run(const char *name, void (*fn)(void))
{
	check_current = name;
	check_failures_in_test = 0;
	fn();
	if (check_failures_in_test) {
		printf("not ok - %s (%d failed checks)\n", name, check_failures_in_test);
		check_tests_failed++;
	} else {
		printf("ok - %s\n", name);
		check_tests_passed++;
	}
	fflush(stdout);
	check_current = NULL;
}

static int check_summary(void)
{
	if (check_tmpdir[0] && !getenv("KEEP_TMP")) {
		char cmd[600];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", check_tmpdir);
		if (system(cmd) != 0) { /* best effort */ }
	}
	printf("# %s: %d passed, %d failed\n", __BASE_FILE__, check_tests_passed, check_tests_failed);
	return check_tests_failed ? 1 : 0;
}
