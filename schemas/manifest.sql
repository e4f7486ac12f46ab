-- schemas/manifest.sql — the core tables of the accent manifest (data.db).
--
-- HOW SCHEMAS ARE ORGANIZED AND MIGRATED (read this before adding a component)
--
-- The manifest schema is split into components, one file each under schemas/:
-- manifest.sql (this file: corpora, recordings, speakers, utterances, rejects,
-- runs and their views), align.sql, train.sql, eval.sql, ...  Every file is
-- compiled into the library (tools/embed.sh -> schema_components[], with
-- "manifest" first because the others reference its tables by foreign key).
--
-- A component file is a sequence of numbered blocks.  A block starts with a
-- line that is exactly
--     -- version N
-- (N = 1, 2, 3, ... consecutive, no gaps), and runs to the next such line or
-- the end of the file.  Text before the first block (like this header) is
-- never executed.  manifest_open() applies, in ONE transaction, every block of
-- every component whose number is above the version recorded for that
-- component in the table schema_components(name, version, applied_at) (created
-- by the migrator itself, lib/manifest/manifest.c), in file order, and records the
-- new numbers there; the manifest component's number is also kept in PRAGMA
-- user_version (so `sqlite3 data.db 'PRAGMA user_version'` tells it).
-- Opening a manifest whose recorded version is higher than the binary knows
-- fails (a newer accent wrote it); a failing block rolls everything back.
--
-- Rules for block authors:
--   * Never edit a block that has been committed: add a new block instead
--     (databases in the wild already ran the old one).
--   * A block is plain SQL executed with sqlite3_exec(): several statements,
--     triggers and comments are fine; no BEGIN/COMMIT (the migration owns the
--     transaction) and no PRAGMA foreign_keys (it cannot change inside one).
--   * Prefer CREATE TABLE/INDEX/VIEW and ALTER TABLE ... ADD COLUMN.  To
--     rebuild a table use the SQLite 12-step procedure with
--     PRAGMA defer_foreign_keys=ON at the start of the block.
--   * Document every table and every column with a `-- comment` INSIDE the
--     CREATE statement: SQLite keeps those comments, so a person running
--     `sqlite3 data.db .schema` (or `db query "SELECT sql FROM sqlite_master"`)
--     reads them.  Views get a comment line right after `AS`.
--   * Reference core rows by foreign key: utterances(id), recordings(id),
--     speakers(id), corpora(id), runs(id).  Use ON DELETE CASCADE for rows
--     that only describe one utterance (alignments, scores).
--   * Times are seconds (REAL) within the recording; timestamps are ISO-8601
--     UTC text ('2026-01-31T12:00:00Z'); booleans are 0/1 integers.

-- version 1

CREATE TABLE runs (
  -- One row per invocation of a stage (prep ingest, db split, align, train...),
  -- so every row elsewhere can be traced to the command that wrote it.
  id           INTEGER PRIMARY KEY,  -- run number, increasing
  stage        TEXT NOT NULL,        -- 'prep ingest', 'db split', 'align', 'train', ...
  command_line TEXT NOT NULL,        -- the full command line as typed (arguments shell-quoted)
  version      TEXT NOT NULL,        -- accent version that ran it
  started_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),  -- start time (UTC)
  ended_at     TEXT,                 -- end time (UTC); NULL while running or when it was killed
  exit_code    INTEGER,              -- process exit status; NULL while running or when killed
  counts       TEXT                  -- JSON object with the run's summary counts, e.g. {"utterances":120,"rejects":3}
);

CREATE TABLE corpora (
  -- One row per source corpus directory given to `prep ingest`.
  id          INTEGER PRIMARY KEY,  -- corpus number
  root        TEXT NOT NULL,        -- absolute path of the corpus directory; recordings.path is relative to it
  layout      TEXT NOT NULL,        -- layout it was read as: commonvoice, librispeech, kaldi, nemo, ljspeech, folder, longform
  ingested_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),  -- first ingest (UTC)
  updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),  -- latest ingest that touched it (UTC)
  UNIQUE (root, layout)
);

CREATE TABLE recordings (
  -- One row per audio file (content measured once at ingest, decoded to 16 kHz mono).
  id                INTEGER PRIMARY KEY,  -- recording number
  corpus_id         INTEGER NOT NULL REFERENCES corpora(id),  -- corpus it belongs to
  path              TEXT NOT NULL,        -- file path relative to corpora.root (absolute path = root || '/' || path)
  sha256            TEXT NOT NULL,        -- SHA-256 of the file bytes, lowercase hex (duplicate detection, `db check`)
  size_bytes        INTEGER NOT NULL,     -- file size in bytes at ingest
  mtime             REAL,                 -- file modification time at ingest (seconds since 1970, UTC)
  container         TEXT,                 -- file container as found: WAV, FLAC, OGG, MP3, ...
  codec             TEXT,                 -- sample encoding as found: PCM_16, PCM_24, FLOAT, VORBIS, OPUS, MPEG_LAYER_III, ...
  sample_rate       INTEGER,              -- sample rate of the file as found (Hz), before resampling to 16 kHz
  channels          INTEGER,              -- channel count of the file as found (audio is down-mixed to mono)
  duration_declared REAL,                 -- duration the header or the corpus metadata claims (s); NULL when none
  duration_s        REAL,                 -- duration measured by decoding the whole file (s)
  peak              REAL,                 -- largest absolute sample value (full scale = 1.0) of the mono 16 kHz signal
  rms               REAL,                 -- root-mean-square level of the mono 16 kHz signal (full scale = 1.0)
  clip_ratio        REAL,                 -- fraction of samples at or near full scale (clipping), 0..1
  silence_ratio     REAL,                 -- fraction of 20 ms frames quieter than -50 dBFS, 0..1
  added_run_id      INTEGER REFERENCES runs(id),  -- run that added it
  UNIQUE (corpus_id, path)
);
CREATE INDEX recordings_sha256 ON recordings(sha256);

CREATE TABLE speakers (
  -- One row per speaker label of a corpus.  Statistics and weight are kept
  -- current by `prep ingest` and `db weights`.
  id               INTEGER PRIMARY KEY,  -- speaker number
  corpus_id        INTEGER NOT NULL REFERENCES corpora(id),  -- corpus it belongs to
  label            TEXT NOT NULL,        -- speaker id as written in the corpus (client_id, LibriSpeech reader id, ...)
  gender           TEXT,                 -- as given by the corpus ('male', 'female', 'm', 'f', ...); NULL = unknown
  age              TEXT,                 -- as given by the corpus ('twenties', '34', ...); NULL = unknown
  accent           TEXT,                 -- accent or dialect as given by the corpus; NULL = unknown
  lang             TEXT,                 -- main language code (ISO 639-3 or as the corpus writes it); NULL = unknown
  n_utterances     INTEGER NOT NULL DEFAULT 0,  -- number of usable (status 'ok') utterances
  total_duration_s REAL NOT NULL DEFAULT 0,     -- total duration of those utterances (s)
  weight           REAL,                 -- balance factor per second of audio: each of its utterances gets weight = duration_s * this (see `db weights`); NULL = not computed
  UNIQUE (corpus_id, label)
);

CREATE TABLE utterances (
  -- One row per utterance: a span of a recording with its transcript.
  id           INTEGER PRIMARY KEY,  -- utterance number
  corpus_id    INTEGER NOT NULL REFERENCES corpora(id),     -- corpus it belongs to
  utt_key      TEXT NOT NULL,        -- the corpus' own id of the utterance (unique per corpus)
  recording_id INTEGER NOT NULL REFERENCES recordings(id),  -- audio file it is in
  speaker_id   INTEGER REFERENCES speakers(id),             -- who speaks; NULL = unknown
  channel      INTEGER NOT NULL DEFAULT -1,  -- channel of the recording; -1 = all channels down-mixed
  start_s      REAL NOT NULL,        -- start within the recording (s)
  end_s        REAL NOT NULL,        -- end within the recording (s)
  duration_s   REAL GENERATED ALWAYS AS (end_s - start_s) VIRTUAL,  -- end_s - start_s (s)
  text_raw     TEXT,                 -- transcript exactly as in the corpus; NULL while awaiting alignment
  text_norm    TEXT,                 -- normalized transcript used for training
  norm_profile TEXT,                 -- normalization profile that produced text_norm ('default', 'mms', 'tur', ...)
  norm_version INTEGER,              -- version of that profile
  lang         TEXT,                 -- language code of the utterance
  flags        INTEGER NOT NULL DEFAULT 0,  -- bits: 1 digits remain (need verbalizing), 2 empty after normalization, 4 invalid UTF-8, 8 mixed scripts
  split        TEXT CHECK (split IN ('train', 'dev', 'test', 'excluded')),  -- data split (`db split`); 'excluded' = sentence also in another split; NULL = not assigned
  weight       REAL,                 -- sampling weight (speaker balance, mean 1 over weighted utterances; `db weights`); NULL = not computed
  status       TEXT NOT NULL DEFAULT 'ok',  -- 'ok' usable; 'needs_align' piece of a long recording waiting for its text; other values set by later stages
  source       TEXT,                 -- where it came from in the corpus, e.g. 'train.tsv:17' or 'wav.scp:3'
  added_run_id INTEGER REFERENCES runs(id),  -- run that added it
  UNIQUE (corpus_id, utt_key)
);
-- Covering indexes: the per-speaker / per-language / per-split views read
-- only the index, never the table (1M utterances in well under a second).
-- Only one index holds `split`, so re-splitting rewrites little besides it.
CREATE INDEX utterances_speaker ON utterances(speaker_id, status, lang, start_s, end_s);
CREATE INDEX utterances_lang_split ON utterances(lang, split, status, start_s, end_s);
CREATE INDEX utterances_recording ON utterances(recording_id, start_s);

CREATE TABLE rejects (
  -- Everything the user gave that did not become an utterance, with the reason.
  id         INTEGER PRIMARY KEY,  -- reject number
  run_id     INTEGER REFERENCES runs(id),     -- run that rejected it
  corpus_id  INTEGER REFERENCES corpora(id),  -- corpus it belongs to
  source     TEXT NOT NULL,        -- the file or row it came from, e.g. 'clips/x.mp3' or 'train.tsv:17'
  reason     TEXT NOT NULL,        -- short code: missing_file, unreadable, zero_length, header_only, truncated, corrupt_audio, unsupported_format, piped_command, bad_row, no_transcript, bad_utf8, empty_text, norm_error, bad_span, too_short, too_long, silent, clipped, duplicate_id, duplicate_audio, vad_error (align adds its own)
  message    TEXT,                 -- readable explanation with the underlying cause
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))  -- when (UTC)
);
CREATE INDEX rejects_reason ON rejects(reason);
CREATE INDEX rejects_corpus_source ON rejects(corpus_id, source);

CREATE VIEW hours_by_lang_split AS
  -- Usable (status 'ok') audio per language and split.
  SELECT lang, split, count(*) AS utterances,
         round(sum(end_s - start_s) / 3600.0, 3) AS hours
  FROM utterances WHERE status = 'ok'
  GROUP BY lang, split;

CREATE VIEW hours_by_speaker AS
  -- Usable (status 'ok') audio per speaker, with the speaker's attributes
  -- (the split of each speaker: SELECT DISTINCT speaker_id, split FROM utterances).
  SELECT s.id AS speaker_id, s.label, s.corpus_id, s.lang, s.gender, s.accent,
         u.utterances, round(u.seconds / 3600.0, 4) AS hours
  FROM (SELECT speaker_id, count(*) AS utterances, sum(end_s - start_s) AS seconds
        FROM utterances WHERE status = 'ok' AND speaker_id IS NOT NULL
        GROUP BY speaker_id) AS u
  JOIN speakers AS s ON s.id = u.speaker_id;

CREATE VIEW hours_by_gender AS
  -- Usable (status 'ok') audio per language and speaker gender ('unknown'
  -- when the corpus does not say, or the speaker is unknown).
  SELECT u.lang, coalesce(s.gender, 'unknown') AS gender,
         count(u.speaker_id) AS speakers, sum(u.n) AS utterances,
         round(sum(u.seconds) / 3600.0, 3) AS hours
  FROM (SELECT speaker_id, lang, count(*) AS n, sum(end_s - start_s) AS seconds
        FROM utterances WHERE status = 'ok' GROUP BY speaker_id, lang) AS u
  LEFT JOIN speakers AS s ON s.id = u.speaker_id
  GROUP BY u.lang, coalesce(s.gender, 'unknown');

CREATE VIEW speaker_balance AS
  -- How much of the training mass each speaker gets with the current weights
  -- (`db weights`) versus its natural share of the audio.
  SELECT s.id AS speaker_id, s.label, s.lang, s.accent, s.n_utterances,
         round(s.total_duration_s / 3600.0, 4) AS hours, s.weight AS weight_per_second,
         round(s.total_duration_s / nullif(t.seconds, 0), 6) AS natural_share,
         round(w.mass / nullif(t.mass, 0), 6) AS balanced_share
  FROM speakers AS s
  LEFT JOIN (SELECT speaker_id, sum(weight) AS mass FROM utterances
             WHERE weight IS NOT NULL GROUP BY speaker_id) AS w ON w.speaker_id = s.id
  CROSS JOIN (SELECT sum(total_duration_s) AS seconds,
                     (SELECT sum(weight) FROM utterances WHERE weight IS NOT NULL) AS mass
              FROM speakers) AS t;

CREATE VIEW rejects_by_reason AS
  -- What was rejected and why, most frequent reason first.
  SELECT reason, count(*) AS n, min(source) AS example_source, max(created_at) AS last_seen
  FROM rejects GROUP BY reason ORDER BY n DESC;

CREATE VIEW duration_histogram AS
  -- Utterance durations (status 'ok') in buckets: [0,1) [1,2) ... [19,20) s, then 20+.
  SELECT CASE WHEN end_s - start_s >= 20 THEN 20 ELSE CAST(end_s - start_s AS INTEGER) END AS bucket_s,
         CASE WHEN end_s - start_s >= 20 THEN '20+'
              ELSE CAST(CAST(end_s - start_s AS INTEGER) AS TEXT) || '-'
                   || CAST(CAST(end_s - start_s AS INTEGER) + 1 AS TEXT) END AS range_s,
         count(*) AS utterances, round(sum(end_s - start_s) / 3600.0, 3) AS hours
  FROM utterances WHERE status = 'ok'
  GROUP BY 1 ORDER BY 1;

CREATE VIEW utterance_status AS
  -- Utterances and audio per status ('ok', 'needs_align', ...) and language.
  SELECT status, lang, count(*) AS utterances, round(sum(end_s - start_s) / 3600.0, 3) AS hours
  FROM utterances GROUP BY status, lang;
