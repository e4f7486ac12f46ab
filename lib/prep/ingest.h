/*
 * ingest.h — `prep ingest`: read a corpus (lib/prep/corpus.h), decode and measure
 * every audio file, normalize transcripts, and record recordings, speakers,
 * utterances and rejects in the manifest; then recompute balance weights and
 * splits (lib/manifest/balance.h).
 *
 * Pipeline: one reader thread (corpus metadata; skips items already in the
 * manifest) -> bounded queue -> N worker threads (hash, decode + resample,
 * stats, VAD, normalization) -> bounded queue -> the calling thread, the one
 * SQLite writer, committing every batch in a transaction (a recording and its
 * utterances always in the same one).  Memory is bounded by the queue sizes,
 * never by the corpus size or a file's length.
 *
 * Under `mpirun -np N` (lib/base/dist.h) every rank runs ingest_run: rank 0
 * reads the corpus and alone opens the manifest; the ranks decode disjoint
 * shares of each batch of items (item k of a batch on rank k mod N) and
 * rank 0 writes the results in corpus order, in the same transactions, so
 * the manifest equals a one-process ingest's.  Other ranks' summaries stay
 * empty apart from `interrupted`.
 */
#pragma once
#include "manifest/balance.h"
#include "audio/vad.h"
#include <stdint.h>

typedef struct ingest_opts {
	const char *root;          /* corpus directory */
	const char *layout;        /* NULL = detect */
	const char *manifest_path; /* default MANIFEST_DEFAULT */
	const char *lang;          /* overrides the layout's language; NULL = layout's, else "und" */
	const char *norm_profile;  /* textnorm profile (NULL = "default") */
	const char *rules_path;    /* textnorm PCRE2 rule file, NULL = none */
	int    strip_diacritics;   /* textnorm options: -1 = the profile's default, 0 off, 1 on */
	int    drop_digit_tokens;
	int    strip_harakat;
	char *const *model_langs;  /* languages of a model's vocab.json: codes are resolved against
	                            * them (langcode_resolve); NULL = ISO 639-3 only */
	int    n_model_langs;
	int    threads;            /* decode workers; 0 = online CPUs */
	double min_dur, max_dur;   /* utterance bounds (s): 0.5, 30 */
	int    no_vad;             /* 1: whole files over max_dur are rejected instead of cut */
	int    allow_outside;      /* 1: read audio paths outside the corpus tree (else outside_root rejects) */
	vad_opts vad;              /* bounds of the pieces of long recordings (1..20 s) */
	double silence_db;         /* utterance whose loudest 10 ms is below this (dBFS) is 'silent': -45 */
	double max_clip;           /* share of clipped samples above which it is 'clipped': 0.01 */
	int    no_balance;         /* 1: skip weights and splits at the end */
	balance_opts bal;
	split_opts split;
	int    progress;           /* 1: progress bar (the binary passes isatty) */
	int    batch;              /* results per transaction (default 200) */
	int    argc;               /* command line for the runs row */
	char **argv;
} ingest_opts;

void ingest_opts_default(ingest_opts *o);

#define INGEST_MAX_REASONS 32

typedef struct ingest_summary {
	char    layout[32];
	int64_t run_id, corpus_id;
	int64_t items;             /* corpus items seen (files / rows) */
	int64_t skipped;           /* items already fully in the manifest (not decoded again) */
	int64_t files_new;         /* recordings added */
	int64_t utts_new;          /* utterances added with status 'ok' */
	int64_t pieces_new;        /* utterances added with status 'needs_align' (VAD pieces) */
	int64_t utts_present;      /* utterances met again (already in the manifest) */
	double  seconds_new;       /* audio duration of the recordings added */
	double  seconds_decoded;   /* audio decoded in this run (throughput) */
	int64_t rejects;           /* rejects met in this run (rows added + already recorded) */
	int64_t rejects_new;       /* reject rows added */
	int     nreasons;
	struct { char reason[32]; int64_t n; } by_reason[INGEST_MAX_REASONS];
	balance_stats bal;
	split_stats split;
	double  wall_s;
	int     interrupted;
} ingest_summary;

/* Run the whole ingest.  Returns 0 (rejects are not errors; see the
 * summary) or an ACC_E* code for failures that stop the run (manifest
 * unwritable, corpus unreadable).  A run killed at any moment leaves only
 * whole committed batches; the next run skips what is there and completes. */
int ingest_run(const ingest_opts *o, ingest_summary *s);

/* Ask a running ingest to stop after the current batch (signal-safe). */
void ingest_request_stop(void);

/* The SQL that lists the rejects of run run_id (reason, source, message),
 * for the summary's hint to `db query`; buf of cap bytes. */
void ingest_rejects_query(int64_t run_id, char *buf, size_t cap);

/* The summary as a JSON object (for runs.counts); buf of cap bytes. */
void ingest_summary_json(const ingest_summary *s, char *buf, size_t cap);
