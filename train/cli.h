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

/* After cliopt_next returned '?' (getopt has said why): the hint to run
 * `train CMD --help` and the usage exit code 2.  cmd: "run", "lm", "eval". */
int cli_bad_option(const char *cmd);

/* The --help of a subcommand: usage lines and description (head), the
 * option table, then tail (may be NULL). */
void cli_help(FILE *fp, const char *head, const cliopt *opts, const char *tail);

/* s as a finite number for option opt: 0, or ACC_EINVAL with "OPT needs a
 * number, got 'S'". */
int cli_number(const char *s, double *v, const char *opt);

/* s as a whole number in [lo, hi] for option opt: 0, or ACC_EINVAL. */
int cli_integer(const char *s, long long lo, long long hi, long long *v, const char *opt);
