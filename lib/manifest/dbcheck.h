/*
 * dbcheck.h — consistency checks of a manifest against itself and the
 * corpus files it points to (the `db check` command).
 *
 * Problems (make `db check` fail):
 *   missing_file        the recording's file no longer exists
 *   size_changed        its size differs from the one measured at ingest
 *   content_changed     same size, but the SHA-256 differs (checked when the
 *                       mtime changed, or always with opts.hash)
 *   bad_span            start < 0, end <= start, or end beyond the recording
 *   foreign_key         rows pointing to rows that do not exist
 *   integrity           SQLite's quick_check found damage
 *   speaker_split_leak  a speaker with utterances in several of train/dev/test
 *   audio_split_leak    the same audio (recording or identical file content)
 *                       in several of train/dev/test
 *   text_split_leak     the same normalized sentence in several of train/dev/test
 * Notes (reported, not failing):
 *   mtime_changed       the file was touched but its content is the same
 *   orphan_recording    a recording with no utterance
 *   orphan_speaker      a speaker with no utterance
 */
#pragma once
#include "manifest/manifest.h"
#include <stdint.h>

enum {
	DBCHECK_MISSING_FILE, DBCHECK_SIZE_CHANGED, DBCHECK_CONTENT_CHANGED, DBCHECK_BAD_SPAN,
	DBCHECK_FOREIGN_KEY, DBCHECK_INTEGRITY, DBCHECK_SPEAKER_SPLIT_LEAK, DBCHECK_AUDIO_SPLIT_LEAK,
	DBCHECK_TEXT_SPLIT_LEAK, DBCHECK_MTIME_CHANGED, DBCHECK_ORPHAN_RECORDING, DBCHECK_ORPHAN_SPEAKER,
	DBCHECK_N
};

typedef struct dbcheck_opts {
	int    hash;            /* re-hash every file (slow), not only touched ones */
	int    skip_files;      /* do not look at the corpus files at all */
	int    max_examples;    /* examples kept per check (default 5) */
	double span_tolerance;  /* seconds an utterance may run past its recording's end (default 0.05) */
	int    distinct_text;   /* 1: a sentence in two splits is a problem (the splits were made with
	                         * --distinct-text); 0: a note, as splits without it allow it */
} dbcheck_opts;
#define DBCHECK_OPTS_DEFAULT { .hash = 0, .skip_files = 0, .max_examples = 5, .span_tolerance = 0.05 }

typedef struct dbcheck_item {
	const char *name;       /* "missing_file", ... */
	const char *what;       /* one-line description */
	int         problem;    /* 1 = problem, 0 = note */
	int64_t     count;
	char      **examples;   /* up to max_examples readable subjects */
	int         nexamples;
} dbcheck_item;

typedef struct dbcheck_report {
	dbcheck_item item[DBCHECK_N];
	int64_t      files_checked, files_hashed;
	int64_t      problems;  /* sum of the counts of the problem checks */
} dbcheck_report;

/* Run every check.  Returns 0 when the checks ran (look at r->problems);
 * ACC_EDB/ACC_ENOMEM when they could not.  Free with dbcheck_report_free(). */
int dbcheck_run(manifest *m, const dbcheck_opts *o, dbcheck_report *r);
void dbcheck_report_free(dbcheck_report *r);
