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

int cli_parse(const cli_cmd *cmd, int argc, char **argv, void *ctx)
{
	const char *arg;
	int id, rc;
	optind = 1;
	while ((id = cliopt_next(argc, argv, cmd->opts, &arg)) != -1) {
		if (id == 'h') {
			cmd->usage(stdout);
			return 0;
		}
		if (id == CLIOPT_VERSION) {
			printf("%s (accent) %s\n", cmd->name, ACCENT_VERSION);
			return 0;
		}
		if (id == '?') {
			fprintf(stderr, "hint: run '%s --help'\n", cmd->name);
			return 2;
		}
		if ((rc = cmd->set(ctx, id, arg)))
			return cli_fail(rc);
	}
	return -1;
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
