/*
 * db/db.h — what the `db` binary's subcommands share (db/main.c): each one
 * is an option table with its help, and the function that takes one of its
 * options; db_parse runs the table over the subcommand's arguments.
 */
#pragma once
#include "base/cliopt.h"
#include <stdio.h>

/* A subcommand.  name: as the user types it after "db" ("stats"); head:
 * usage line and description (ending in a blank line); tail: text after
 * the option list, or NULL; take: stores one option (id, argument) into
 * ctx and returns 0, or the exit status of a usage error
 * (cliopt_usage_error).  operands: how many arguments may follow the
 * options (0, or 1 for `db query`'s SQL; the command checks that one).
 * more_help: NULL, or what --help prints after the tail. */
typedef struct db_cmd {
	const char   *name;
	const char   *head, *tail;
	const cliopt *opts;
	int (*take)(void *ctx, int id, const char *arg);
	int           operands;
	void (*more_help)(FILE *fp);
} db_cmd;

/* Parse argv (argv[0] = the subcommand's name) with cmd's table into ctx.
 * -1 when the command is to run (its operands start at optind), else the
 * exit status to return at once: 0 after --help or --version, 2 for a
 * usage error (printed). */
int db_parse(const db_cmd *cmd, int argc, char **argv, void *ctx);

/* The manifest every subcommand works on (--manifest, default
 * MANIFEST_DEFAULT). */
extern const char *db_manifest_path;

/* `db report` (db/report.c). */
int db_report_main(int argc, char **argv);
