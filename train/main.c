/*
 * train/main.c — the `train` binary: dispatches subcommands to the cmd_*.c
 * files of this directory (each a thin layer over the library).
 */
#include "cli.h"
#include "base/dist.h"
#include "base/err.h"
#include "manifest/manifest.h"
#include <stdio.h>
#include <string.h>

static void usage(FILE *fp)
{
	fprintf(fp,
		"usage: train [--manifest " MANIFEST_DEFAULT "] --model DIR --lang CODE [options]   train adapters\n"
		"       train <command> [options]\n"
		"\n"
		"commands:\n"
		"  run     train adapters / head / layers (the default when the first argument is an option)\n"
		"  lm      build an n-gram language model (modified Kneser-Ney, ARPA) from train transcripts\n"
		"  eval    decode a split (greedy or LM beam search) and report CER/WER\n"
		"\n"
		"Run 'train <command> --help' for a command's options.\n");
}

int main(int argc, char **argv)
{
	/* one rank unless started by mpirun (lib/base/dist.h) */
	int rc = dist_init(&argc, &argv);
	if (rc) {
		err_print();
		return err_exit_code(rc);
	}
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("train (accent) %s\n", ACCENT_VERSION);
		return 0;
	}
	if (argv[1][0] == '-')
		return cmd_train(argc, argv);
	if (!strcmp(argv[1], "run"))
		return cmd_train(argc - 1, argv + 1);
	if (!strcmp(argv[1], "lm") || !strcmp(argv[1], "eval")) {
		char what[32];
		snprintf(what, sizeof what, "'train %s'", argv[1]);
		if (dist_one_rank(what, NULL)) {
			if (dist_rank() == 0)
				err_print();
			dist_abort(2);
		}
	}
	if (!strcmp(argv[1], "lm"))
		return cmd_lm(argc - 1, argv + 1);
	if (!strcmp(argv[1], "eval"))
		return cmd_eval(argc - 1, argv + 1);
	fprintf(stderr, "error: unknown command '%s'\nhint: run 'train --help'\n", argv[1]);
	return 2;
}
