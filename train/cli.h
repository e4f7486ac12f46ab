/*
 * train/cli.h — what the subcommands of the `train` binary (run, lm, eval)
 * share on their command lines: the failure exit (the error printed with
 * its hint), the usage error of an unknown option, and numeric option
 * values with one wording of their messages.
 */
#pragma once
#include <stdio.h>

#include "base/cliopt.h"

int cmd_lm(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_train(int argc, char **argv);

/* Print the current error (err_print) and return its exit code; 0 for
 * rc == 0. */
int cli_fail(int rc);

/* A subcommand's command line: its name ("train", "train lm", "train
 * eval": the --version line and the --help hint), option table, --help
 * printer, and the function that takes one option into ctx (0, or an
 * ACC_E* code with the message set). */
typedef struct cli_cmd {
	const char   *name;
	const cliopt *opts;
	void        (*usage)(FILE *fp);
	int         (*set)(void *ctx, int id, const char *arg);
} cli_cmd;

/* Parse the options of argv (optind reset) into ctx.  -1 when they are all
 * taken (optind indexes the operands); else the exit code the command
 * returns at once: 0 after --help or --version (printed), 2 for an unknown
 * option or a missing argument (getopt said which; the hint to run --help
 * follows), or the code of set's error (printed). */
int cli_parse(const cli_cmd *cmd, int argc, char **argv, void *ctx);

/* The --help of a subcommand: usage lines and description (head), the
 * option table, then tail (may be NULL). */
void cli_help(FILE *fp, const char *head, const cliopt *opts, const char *tail);

/* s as a finite number for option opt: 0, or ACC_EINVAL with "OPT needs a
 * number, got 'S'". */
int cli_number(const char *s, double *v, const char *opt);

/* s as a whole number in [lo, hi] for option opt: 0, or ACC_EINVAL. */
int cli_integer(const char *s, long long lo, long long hi, long long *v, const char *opt);
