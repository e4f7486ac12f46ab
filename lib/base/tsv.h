/*
 * tsv.h — line-oriented reading of delimiter-separated metadata files
 * (Common Voice TSV, LJSpeech pipe CSV, Kaldi "key value" files), with NO
 * quote handling: real Common Voice files contain unbalanced quotes that a
 * CSV parser would use to swallow the following lines.
 */
#pragma once
#include <stdio.h>

typedef struct tsv {
	FILE  *fp;
	char  *line;       /* current line, split in place */
	size_t cap;
	long   lineno;     /* 1-based number of the current line */
	char **field;
	int    nfield;
	size_t fcap;
	char   sep;
} tsv;

/* Open path; sep is the field separator ('\t', '|').  ACC_EIO/ACC_ENOTFOUND. */
int tsv_open(tsv *t, const char *path, char sep);
/* Read the next line and split it into t->field[0..nfield-1] (a UTF-8 BOM on
 * line 1 and a trailing CR are removed).  Returns 1, 0 at the end, or
 * ACC_EIO / ACC_EFORMAT (a NUL byte in the line, or longer than 1 MiB). */
int tsv_next(tsv *t);
/* Split at most max_fields (the last gets the rest of the line). */
int tsv_next_n(tsv *t, int max_fields);
void tsv_close(tsv *t);

/* Index of the column named name in the current line (a header), or -1. */
int tsv_column(const tsv *t, const char *name);

/* Split s in place at the first run of blanks (space/tab): "key rest".
 * *rest is "" when there is none.  Leading blanks are skipped. */
char *tsv_split_key(char *s, char **rest);
