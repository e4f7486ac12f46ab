/*
 * manifest.h — the SQLite manifest (data.db) every stage shares.
 *
 * Schema: schemas/manifest.sql (compiled in), version in PRAGMA user_version,
 * forward migrations applied on open; WAL mode, foreign keys on.  Writes are
 * transactional: callers group work in manifest_begin()/manifest_commit().
 * All SQL uses bound parameters.  One connection per thread.
 */
#pragma once
#include <sqlite3.h>
#include <stdint.h>

typedef struct manifest {
	sqlite3 *db;
	char     path[4096];
} manifest;

/* Open (creating when create != 0) and migrate a manifest.  ACC_ENOTFOUND
 * when it does not exist and create == 0; ACC_EDB with SQLite's message. */
int manifest_open(manifest **m, const char *path, int create);
void manifest_close(manifest *m);

int manifest_begin(manifest *m);     /* BEGIN IMMEDIATE */
int manifest_commit(manifest *m);
int manifest_rollback(manifest *m);

/* Run a statement without results (no user data: bound parameters only). */
int manifest_exec(manifest *m, const char *sql);

/* runs: one row per stage invocation. */
int manifest_run_begin(manifest *m, const char *stage, int argc, char **argv, int64_t *run_id);
/* counts_json: a JSON object of the stage's summary counts. */
int manifest_run_end(manifest *m, int64_t run_id, int exit_code, const char *counts_json);

/* corpora: one row per ingested root (same root+layout -> same id). */
int manifest_corpus_upsert(manifest *m, const char *root, const char *layout, int64_t *corpus_id);

typedef struct mf_recording {
	int64_t     corpus_id;
	const char *path;         /* relative to the corpus root */
	const char *sha256;       /* content hash (hex) */
	int64_t     size_bytes;
	double      mtime;
	const char *container, *codec;
	int         sample_rate, channels;
	double      duration_declared, duration_s;
	double      peak, rms, clip_ratio, silence_ratio;
} mf_recording;

/* Look a recording up by content hash; *id = 0 when absent. */
int manifest_recording_by_hash(manifest *m, const char *sha256, int64_t *id);
/* Look a recording up by corpus + relative path; *id = 0 when absent. */
int manifest_recording_by_path(manifest *m, int64_t corpus_id, const char *path, int64_t *id);
int manifest_recording_insert(manifest *m, const mf_recording *r, int64_t *id);

typedef struct mf_speaker {
	int64_t     corpus_id;
	const char *label;        /* as in the corpus */
	const char *gender, *age, *accent, *lang;  /* NULL = unknown */
} mf_speaker;
/* Insert or find (corpus_id, label); fills unknown attributes when given. */
int manifest_speaker_upsert(manifest *m, const mf_speaker *s, int64_t *id);

typedef struct mf_utterance {
	const char *utt_key;      /* corpus id of the utterance (unique per corpus) */
	int64_t     corpus_id, recording_id, speaker_id;
	int         channel;      /* -1 = down-mix */
	double      start_s, end_s;
	const char *text_raw, *text_norm;
	const char *norm_profile; int norm_version;
	const char *lang;
	int         flags;        /* TEXTNORM_* bits */
	const char *status;       /* "ok", "needs_align" (long recording pieces), ... */
	const char *source;       /* file/row it came from, e.g. "train.tsv:17" */
} mf_utterance;
/* Insert; ACC_EINVAL (with message) when (corpus_id, utt_key) exists. */
int manifest_utterance_insert(manifest *m, const mf_utterance *u, int64_t *id);
/* 1 when (corpus_id, utt_key) already exists. */
int manifest_utterance_exists(manifest *m, int64_t corpus_id, const char *utt_key, int *exists);

/* rejects: nothing the user gave silently disappears. reason is a short code
 * ("decode_error", "missing_file", "empty_text", ...). */
int manifest_reject(manifest *m, int64_t run_id, int64_t corpus_id, const char *source,
		    const char *reason, const char *message);
