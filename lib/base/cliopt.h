/*
 * cliopt.h — command-line options for the binaries, each written once.
 *
 * An option is one row of a table: its name, short letter, argument name,
 * the id the parser returns and its help text.  The same table drives
 * getopt_long and the option list of `--help`, so an option cannot be
 * parsed without being documented or documented under another spelling.
 * Numeric values are parsed alike by every command ("1e-3" yes; "", "3x",
 * "nan", "inf" and out-of-range integers no); messages stay with the
 * caller, which knows the option's name and meaning.
 */
#pragma once
#include <getopt.h> /* optind, for the operands after the options */
#include <stdarg.h>
#include <stdio.h>

/* One option.  id: the value cliopt_next returns for it (use the short
 * letter when there is one, else an enum value >= 256).  arg: the
 * argument's name in the help ("N", "PATH") or NULL for a flag.  help: one
 * or more lines ('\n' separated); NULL hides the option from the help (for
 * spellings kept for old scripts).  A table ends with a row whose name is
 * NULL. */
typedef struct cliopt {
	const char *name;
	char        letter;
	const char *arg;
	int         id;
	const char *help;
} cliopt;

/* The standard rows every command has (ids 'h' and CLIOPT_VERSION). */
enum { CLIOPT_VERSION = 255 };
#define CLIOPT_HELP_ROWS \
	{ "help", 'h', NULL, 'h', "this help" }, { "version", 0, NULL, CLIOPT_VERSION, "print the version" }

/* Rows that several commands share, each with one help text.  ids are the
 * caller's; CLIOPT_MANIFEST needs manifest/manifest.h (MANIFEST_DEFAULT)
 * where it is used.  more: text appended to the precision help ("" for
 * none). */
#define CLIOPT_MANIFEST(id) { "manifest", 0, "PATH", (id), "manifest database (default " MANIFEST_DEFAULT ")" }
#define CLIOPT_LIMIT(id)    { "limit", 0, "N", (id), "at most N utterances" }
#define CLIOPT_JSON(id)     { "json", 0, NULL, (id), "print the summary as JSON" }
#define CLIOPT_QUIET(id)    { "quiet", 0, NULL, (id), "no summary" }
#define CLIOPT_ALPHA(id)    { "alpha", 0, "A", (id), "LM weight (default 0.5)" }
#define CLIOPT_PRECISION(prec, bf16, more) \
	{ "precision", 0, "P", (prec), "auto (default), fp32, bf16 or int8: the model's arithmetic;\n" \
	  "auto picks int8 or bf16 where this CPU runs them faster\n" \
	  "(measured), else fp32" more }, \
	{ "bf16", 0, NULL, (bf16), "same as --precision bf16" }
#define CLIOPT_CUE_ROWS(chars, lines, duration) \
	{ "max-chars", 0, "N", (chars), "subtitles: characters per line (default 42)" }, \
	{ "max-lines", 0, "N", (lines), "subtitles: lines per cue (default 2)" }, \
	{ "max-duration", 0, "S", (duration), "subtitles: seconds per cue (default 7)" }

/* The next option of argv: its id, with *arg set to its argument (or NULL);
 * -1 when the options end (optind then indexes the first operand); '?'
 * for an unknown option or a missing argument (getopt_long has printed
 * why on stderr).  Reset optind to 1 (or 0) before parsing another argv. */
int cliopt_next(int argc, char **argv, const cliopt *table, const char **arg);

/* Print the table's option list to fp, one option per line with its help
 * aligned in a second column ("  -o, --out PATH      where to write"). */
void cliopt_print(FILE *fp, const cliopt *table);

/* A command's whole help: head (usage line and description, ending in a
 * blank line), the table's option list, then tail (NULL: nothing). */
void cliopt_usage(FILE *fp, const char *head, const cliopt *table, const char *tail);

/* A usage error of command cmd ("db stats"): the message becomes the
 * error (ACC_EINVAL) with the hint "see '<cmd> --help'", err_print() shows
 * both on stderr, and the result is the exit status for bad usage (2).
 * For binaries: `return cliopt_usage_error("db stats", "bad '%s'", a);`. */
int cliopt_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A usage error about one argument: the message "<what> '<arg>'" (just
 * what when arg is NULL), otherwise as cliopt_usage_error.  For binaries:
 * `return cliopt_bad_arg("mkmodel", "bad --layers", arg);`. */
int cliopt_bad_arg(const char *cmd, const char *what, const char *arg);

/* A library failure in a binary: err_print() shows the error and hint kept
 * by the library, and the result is rc's exit status (err_exit_code; 0
 * when rc is 0, which prints nothing). */
int cliopt_fail(int rc);

/* The whole of s as a finite number: 0 and *out set, or -1 (*out untouched). */
int cliopt_number(const char *s, double *out);

/* The whole of s as a decimal integer that fits a long long: 0 and *out
 * set, or -1 (*out untouched). */
int cliopt_integer(const char *s, long long *out);
