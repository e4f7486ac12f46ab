/*
 * train/cli.c — the command-line helpers the `train` subcommands share
 * (see cli.h).
 */
#include "cli.h"

#include "base/err.h"

int cli_fail(int rc)
{
	if (rc)
		err_print();
	return err_exit_code(rc);
}

int cli_bad_option(const char *cmd)
{
	fprintf(stderr, "hint: run 'train %s --help'\n", cmd);
	return 2;
}

void cli_help(FILE *fp, const char *head, const cliopt *opts, const char *tail)
{
	fputs(head, fp);
	fputs("\noptions:\n", fp);
	cliopt_print(fp, opts);
	if (tail)
		fputs(tail, fp);
}

int cli_number(const char *s, double *v, const char *opt)
{
	if (cliopt_number(s, v))
		return err_set(ACC_EINVAL, "%s needs a number, got '%s'", opt, s);
	return 0;
}

int cli_integer(const char *s, long long lo, long long hi, long long *v, const char *opt)
{
	long long x;
	if (cliopt_integer(s, &x) || x < lo || x > hi)
		return err_set(ACC_EINVAL, "%s needs a whole number %lld..%lld, got '%s'", opt, lo, hi, s);
	*v = x;
	return 0;
}
