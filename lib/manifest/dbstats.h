/*
 * dbstats.h — the `db stats` report: totals, hours and counts by language,
 * split, status, gender and speaker, rejects by reason and the duration
 * histogram, read from the manifest's views (schemas/manifest.sql).
 */
#pragma once
#include "manifest/dbquery.h"
#include "manifest/manifest.h"
#include <stdio.h>

typedef struct dbstats_opts {
	dbquery_format format;  /* table (sections with titles) or json (one object); csv is refused */
	int            top_speakers;  /* speakers listed, largest first (default 20; 0 = none; -1 = all) */
} dbstats_opts;
#define DBSTATS_OPTS_DEFAULT { .format = DBQUERY_TABLE, .top_speakers = 20 }

/* Write the report to out.  ACC_EINVAL for the csv format; ACC_EDB when a
 * query fails. */
int dbstats_print(manifest *m, const dbstats_opts *o, FILE *out);
