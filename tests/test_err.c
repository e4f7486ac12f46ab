/* test_err.c — error detail messages, hints and exit codes. */
#include "check.h"
#include "base/err.h"

static void test_set_and_wrap(void)
{
	CHECK_EQ_INT(err_set(ACC_EIO, "cannot open '%s': %s", "x.wav", "No such file"), ACC_EIO);
	CHECK_STR(err_msg(), "cannot open 'x.wav': No such file");
	CHECK(err_hint_msg() == NULL);
	err_hint("check the path");
	CHECK_STR(err_hint_msg(), "check the path");
	err_wrap(ACC_EIO, "ingest");
	CHECK_STR(err_msg(), "ingest: cannot open 'x.wav': No such file");
	err_clear();
	CHECK_STR(err_msg(), "");
}

static void test_exit_codes(void)
{
	CHECK_EQ_INT(err_exit_code(ACC_OK), 0);
	CHECK_EQ_INT(err_exit_code(ACC_EINVAL), 2);
	CHECK_EQ_INT(err_exit_code(ACC_EFORMAT), 3);
	CHECK_EQ_INT(err_exit_code(ACC_EDB), 4);
	/* every code the README's exit statuses name (0/2/3/4/130); 1 only for internal failures */
	CHECK_EQ_INT(err_exit_code(ACC_ENOTFOUND), 3);
	CHECK_EQ_INT(err_exit_code(ACC_EUNSUPPORTED), 3);
	CHECK_EQ_INT(err_exit_code(ACC_EIO), 4);
	CHECK_EQ_INT(err_exit_code(ACC_EINTR), 130);
	CHECK_EQ_INT(err_exit_code(ACC_ENOMEM), 1);
	CHECK_EQ_INT(err_exit_code(ACC_EINTERNAL), 1);
	CHECK_STR(err_name(ACC_ENOMEM), "ENOMEM");
}

int main(void)
{
	RUN(test_set_and_wrap);
	RUN(test_exit_codes);
	return check_summary();
}
