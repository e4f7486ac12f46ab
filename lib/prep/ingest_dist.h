/*
 * ingest_dist.h — what `prep ingest` computes for one corpus item (an
 * ingest_result: the item, its recording's hash, format and signal
 * statistics, the utterances to insert or reject, a long recording's text
 * lines) and the byte record that carries it between the ranks of
 * `mpirun -np N prep ingest` (lib/base/dist.h).
 *
 * Internal to lib/prep: ingest.c's workers fill results and its writer
 * stores them.  Under mpirun, rank 0 sends a batch of results holding only
 * their items (seq + it) to every rank, and each rank sends back the
 * results it computed; both directions use the one codec below, so a work
 * record is simply a result with nothing computed yet.
 *
 * Several fields point to strings the result does not own in a worker
 * (reason codes, statuses and language labels are static or live as long
 * as the run's options).  A result read from a record owns copies of them
 * (own[]), freed with it.
 */
#pragma once
#include "audio/audio.h"
#include "base/dist.h"
#include "prep/corpus.h"
#include <stddef.h>
#include <stdint.h>

/* One utterance of an item: inserted (ok) or recorded as a reject. */
typedef struct ingest_urec {
	int    ok;              /* 1: insert; 0: reject */
	char  *key, *source;
	const char *reason;     /* reject reason code */
	char  *msg;             /* reject message */
	double start, end;
	char  *text_raw, *text_norm;
	char  *profile;         /* owned: textnorm's string dies with its worker */
	int    version, flags;
	const char *status;     /* "ok" or "needs_align" */
	const corpus_utt *cu;   /* speaker attributes (in the item) or NULL */
	const char *lang;
} ingest_urec;

/* One text line of a long recording (long_texts). */
typedef struct ingest_line {
	char *raw, *norm, *source, *profile;
	const char *lang;
	int version, flags;
} ingest_line;

typedef struct ingest_result {
	int64_t seq;            /* position in corpus order (items not skipped) */
	corpus_item it;
	int    have_rec;        /* 1: the recording decoded and is to be stored */
	char   sha[65];
	int64_t size;
	double mtime;
	audio_info info;
	audio_stats st;
	ingest_urec *u;
	int    nu;
	size_t capu;
	ingest_line *l;
	int    nl;
	size_t capl;
	int    oom;             /* an allocation failed while computing it */
	char **own;             /* copies the const fields point to (read from a record) */
	size_t nown, capown;
} ingest_result;

/* Append a zeroed utterance / line; NULL (and r->oom = 1) when out of memory. */
ingest_urec *ingest_result_add_urec(ingest_result *r);
ingest_line *ingest_result_add_line(ingest_result *r);

/* Release everything r holds, and r itself (results are calloc'd). */
void ingest_result_free(ingest_result *r);

/* Append r (item and everything computed) to b.  0 or ACC_ENOMEM. */
int ingest_dist_put(dist_buf *b, const ingest_result *r);

/* Read the next result from b into *r (calloc'd; free with
 * ingest_result_free).  0, ACC_ENOMEM, or ACC_EINTERNAL for a truncated or
 * malformed record (*r NULL then). */
int ingest_dist_get(dist_buf *b, ingest_result **r);
