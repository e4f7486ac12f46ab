/*
 * manifest.h — the SQLite manifest (data.db) every stage shares.
 *
 * Schema: schemas/<component>.sql (compiled in), each a sequence of
 * '-- version N' blocks (format in the header of schemas/manifest.sql);
 * versions in the table schema_components, the core's also in PRAGMA
 * user_version; forward migrations applied on open in one transaction; WAL
 * mode, foreign keys on, 30 s busy timeout.  Writes are transactional:
 * callers group work in manifest_begin()/manifest_commit().  All SQL uses
 * bound parameters.  One connection per thread.  Needs SQLite >= 3.35.
 */
#pragma once
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

/* Prepared statements kept for the connection's life (hot insert paths). */
enum { MANIFEST_NSTMT = 16 };

typedef struct manifest {
	sqlite3 *db;
	char     path[4096];
	sqlite3_stmt *stmt[MANIFEST_NSTMT];  /* private: manifest.c's statement cache */
} manifest;

/* One schema component: a schemas/<name>.sql file (see the format in the
 * header comment of schemas/manifest.sql). */
typedef struct mf_schema {
	const char *name;
	const char *sql;
} mf_schema;

/* The manifest every command uses when --manifest is not given: data.db in
 * the current directory. */
#define MANIFEST_DEFAULT "data.db"

/* Open (creating when create != 0) and migrate a manifest.  ACC_ENOTFOUND
 * when it does not exist and create == 0; ACC_EDB with SQLite's message. */
int manifest_open(manifest **m, const char *path, int create);
/* Open an existing manifest for reading only (SQLITE_OPEN_READONLY: no
 * journal-mode change, nothing written), for commands that only read
 * (db stats/check/query).  Works on a read-only file, and in a read-only
 * directory when no WAL content is pending.  A manifest with an older
 * schema is migrated first (which needs write access, else an error that
 * says so); a newer one is ACC_EFORMAT.  ACC_EIO when missing (as manifest_open). */
int manifest_open_ro(manifest **m, const char *path);
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
/* NaN measurements are stored as NULL, as are sample_rate/channels <= 0 and
 * duration_declared <= 0.  ACC_EINVAL when (corpus_id, path) exists. */
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
/* Insert; ACC_EINVAL (with message) when (corpus_id, utt_key) exists or the
 * span is invalid (start < 0, end < start); status NULL = "ok"; speaker_id
 * <= 0 = unknown (NULL). */
int manifest_utterance_insert(manifest *m, const mf_utterance *u, int64_t *id);
/* 1 when (corpus_id, utt_key) already exists. */
int manifest_utterance_exists(manifest *m, int64_t corpus_id, const char *utt_key, int *exists);

/* rejects: nothing the user gave silently disappears. reason is a short code
 * ("decode_error", "missing_file", "empty_text", ...). */
int manifest_reject(manifest *m, int64_t run_id, int64_t corpus_id, const char *source,
		    const char *reason, const char *message);

/* ---- schema components and migrations ---- */

/* Apply, in one transaction, every pending '-- version N' block of the n
 * components (in array order) and record the versions in schema_components
 * (the "manifest" component also in PRAGMA user_version).  manifest_open()
 * calls it with the compiled-in schemas; exposed for tests and tools.
 * ACC_EUNSUPPORTED when the database has a component at a higher version than
 * given (written by a newer accent); ACC_EINTERNAL when a component's blocks
 * are malformed (missing, out of order); ACC_EDB when a block fails (nothing
 * of the migration is kept). */
int manifest_migrate(manifest *m, const mf_schema *components, int n);

/* The compiled-in components ("manifest" first) and their count. */
const mf_schema *manifest_schemas(int *n);

/* Version of a component recorded in this manifest (0 = never applied). */
int manifest_component_version(manifest *m, const char *name, int *version);

/* Highest '-- version N' block of a component's SQL text (0 when none,
 * negative ACC_EINTERNAL when the blocks are not numbered 1, 2, ...). */
int manifest_schema_latest(const char *sql);

/* ---- helpers for the stages ---- */

/* Prepare sql on the manifest's connection; ACC_EDB with SQLite's message
 * (and the SQL) on failure.  The caller finalizes *stmt. */
int manifest_prepare(manifest *m, const char *sql, sqlite3_stmt **stmt);

/* Set ACC_EDB with the connection's current SQLite message, prefixed by what
 * was being done; returns ACC_EDB. */
int manifest_db_error(manifest *m, const char *what);

/* The one rule for where a recording's audio is, given corpora.root and
 * recordings.path as read from the manifest: a recordings.path that is
 * absolute (a Kaldi wav.scp or NeMo manifest listing /abs/file.wav) is used
 * as it is, a relative one is joined to the corpus root.  Every reader of
 * audio paths (align, train, eval, export, db check) goes through it.
 * NULL columns count as "".  ACC_EINVAL when the result does not fit cap. */
int manifest_audio_path(char *dst, size_t cap, const char *corpus_root, const char *rec_path);

/* Absolute path of a recording by id (manifest_audio_path of its row).
 * ACC_ENOTFOUND when the recording does not exist. */
int manifest_recording_abspath(manifest *m, int64_t recording_id, char *dst, size_t cap);

/* Describe which languages the manifest's utterances have, for messages
 * like "0 utterances for 'eng'": "amh 120, spa 80" (utterances per
 * utterances.lang, most first; NULL language as "(none)"), or "" when the
 * manifest has no utterances.  Truncated with ", ..." to fit cap. */
int manifest_langs_describe(manifest *m, char *dst, size_t cap);

/* Set the current error's hint to the manifest's languages ("the manifest
 * has: amh 120, eng 80 (utterances per language)"), followed by "; " and
 * extra when given: for errors like "no utterances of language 'en'". */
void manifest_langs_hint(manifest *m, const char *extra);

/* Every normalized transcript of the manifest (utterances.text_norm and
 * long_texts.text_norm, non-empty), optionally of one language (NULL =
 * all): *texts is a malloc'ed array of *n malloc'ed strings; free with
 * manifest_texts_free.  For building a vocabulary that covers a corpus. */
int manifest_texts(manifest *m, const char *lang, char ***texts, int *n);
void manifest_texts_free(char **texts, int n);
