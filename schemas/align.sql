-- schemas/align.sql — forced alignments and transcript quality (`align run`).
-- Migration format: see the header of schemas/manifest.sql.
--
-- Example queries:
--   -- the 20 worst transcripts of one speaker (lowest windowed confidence first)
--   SELECT utt_key, min_window_logp, chars_per_s, flag_names, text_norm
--   FROM align_quality WHERE speaker = 'client_42' ORDER BY min_window_logp LIMIT 20;
--   -- flagged utterances per reason
--   SELECT * FROM align_flag_counts;
--   -- utterances spoken much faster or slower than their speaker usually does
--   SELECT utt_key, speaker, chars_per_s, speaker_mean_rate, text_norm FROM align_rate_outliers ORDER BY ratio DESC;
--   -- the word timeline of one utterance
--   SELECT word, start_s, end_s, round(score, 3) FROM align_words WHERE utterance_id = 17 ORDER BY idx;

-- version 1

CREATE TABLE alignments (
  -- The current alignment of an utterance (one row each; a new `align run`
  -- replaces it when the transcript or the model changed).
  utterance_id    INTEGER PRIMARY KEY REFERENCES utterances(id) ON DELETE CASCADE,  -- aligned utterance
  run_id          INTEGER REFERENCES runs(id),  -- the `align run` that wrote it
  lang            TEXT NOT NULL,        -- language (vocabulary / adapter) aligned with
  model_id        TEXT NOT NULL,        -- model identity: SHA-256 over config, vocabulary, adapter and weight-file fingerprints
  align_hash      TEXT NOT NULL,        -- SHA-256 of text_norm + model_id + lang + OOV policy; differs = stale, re-aligned
  status          TEXT NOT NULL,        -- 'ok' aligned; 'failed' no alignment (see flags and message)
  frames          INTEGER,              -- emission frames (20 ms each)
  tokens          INTEGER,              -- tokens aligned (characters + word delimiters, <star> excluded)
  mean_logp       REAL,                 -- mean log-probability of the path over the frames not on <star>
  min_window_logp REAL,                 -- minimum over 30-frame (0.6 s) windows of the mean path log-probability (CTC-segmentation style confidence)
  chars_per_s     REAL,                 -- speaking rate: characters (spaces excluded) per second of aligned speech (first token start to last token end)
  lead_s          REAL,                 -- audio before the first aligned token (s)
  trail_s         REAL,                 -- audio after the last aligned token (s)
  oov             TEXT,                 -- JSON object {character: count} of characters missing from the vocabulary; NULL when none
  flags           INTEGER NOT NULL DEFAULT 0,  -- bits: 1 impossible (text too long for the audio), 2 low confidence, 4 outlier speaking rate, 8 large unaligned edge, 16 characters missing from the vocabulary, 32 empty audio, 64 empty transcript, 128 other failure (message)
  message         TEXT,                 -- readable explanation of a failure or of the flags
  chars           TEXT,                 -- JSON array of [token, start_s, end_s, score] per aligned token (times within the recording)
  created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))  -- when (UTC)
);
CREATE INDEX alignments_lang_flags ON alignments(lang, flags);

CREATE TABLE align_words (
  -- Word timeline of an aligned utterance (words split at the delimiter '|').
  utterance_id INTEGER NOT NULL REFERENCES utterances(id) ON DELETE CASCADE,  -- aligned utterance
  idx          INTEGER NOT NULL,        -- word position in the transcript, 0-based
  word         TEXT NOT NULL,           -- the word as in text_norm
  start_s      REAL NOT NULL,           -- start within the recording (s), first frame of its first character
  end_s        REAL NOT NULL,           -- end within the recording (s, exclusive), end of its last character's frames
  mean_logp    REAL NOT NULL,           -- mean log-probability over its characters' frames
  score        REAL NOT NULL,           -- mean probability over the same frames, 0..1
  PRIMARY KEY (utterance_id, idx)
) WITHOUT ROWID;

CREATE TABLE align_segments (
  -- Utterances cut out of a long recording by `align run` (segmentation):
  -- where each came from and which part of the recording's text it holds.
  utterance_id   INTEGER PRIMARY KEY REFERENCES utterances(id) ON DELETE CASCADE,  -- the new utterance
  recording_id   INTEGER NOT NULL REFERENCES recordings(id),  -- the long recording
  parent_id      INTEGER REFERENCES utterances(id) ON DELETE SET NULL,  -- the 'needs_align' utterance it was cut from
  line_first     INTEGER NOT NULL,      -- first line (0-based) of the recording's text it holds
  line_last      INTEGER NOT NULL,      -- last line (inclusive); more than one when short lines were merged
  word_first     INTEGER NOT NULL,      -- first word of line_first it holds (0 unless a long line was split)
  word_last      INTEGER NOT NULL,      -- last word (inclusive) of line_last it holds
  run_id         INTEGER REFERENCES runs(id)  -- the `align run` that cut it
);
CREATE INDEX align_segments_recording ON align_segments(recording_id, line_first);

CREATE VIEW align_quality AS
  -- Every aligned utterance with its quality, speaker and transcript: sort by
  -- min_window_logp (ascending) to find the worst transcripts.
  SELECT a.utterance_id, u.utt_key, u.lang, s.label AS speaker, u.speaker_id,
         round(u.end_s - u.start_s, 3) AS duration_s, a.status,
         round(a.mean_logp, 4) AS mean_logp, round(a.min_window_logp, 4) AS min_window_logp,
         round(a.chars_per_s, 2) AS chars_per_s, round(a.lead_s, 2) AS lead_s, round(a.trail_s, 2) AS trail_s,
         a.flags,
         trim((CASE WHEN a.flags & 1 THEN 'impossible ' ELSE '' END) ||
              (CASE WHEN a.flags & 2 THEN 'low-confidence ' ELSE '' END) ||
              (CASE WHEN a.flags & 4 THEN 'rate ' ELSE '' END) ||
              (CASE WHEN a.flags & 8 THEN 'edge ' ELSE '' END) ||
              (CASE WHEN a.flags & 16 THEN 'oov ' ELSE '' END) ||
              (CASE WHEN a.flags & 32 THEN 'empty-audio ' ELSE '' END) ||
              (CASE WHEN a.flags & 64 THEN 'empty-text ' ELSE '' END) ||
              (CASE WHEN a.flags & 128 THEN 'error ' ELSE '' END)) AS flag_names,
         a.oov, a.message, u.text_norm
  FROM alignments AS a
  JOIN utterances AS u ON u.id = a.utterance_id
  LEFT JOIN speakers AS s ON s.id = u.speaker_id;

CREATE VIEW align_flagged AS
  -- Utterances whose alignment raised a flag: `train` leaves them out unless asked.
  SELECT utterance_id, flags, message FROM alignments WHERE flags != 0;

CREATE VIEW align_flag_counts AS
  -- How many alignments carry each flag, per language.
  SELECT lang, count(*) AS aligned,
         sum(flags != 0) AS flagged,
         sum((flags & 1) != 0) AS impossible, sum((flags & 2) != 0) AS low_confidence,
         sum((flags & 4) != 0) AS rate, sum((flags & 8) != 0) AS edge, sum((flags & 16) != 0) AS oov,
         sum((flags & 32) != 0) AS empty_audio, sum((flags & 64) != 0) AS empty_text, sum((flags & 128) != 0) AS error
  FROM alignments GROUP BY lang;

CREATE VIEW align_by_speaker AS
  -- Alignment quality per speaker: who has the most doubtful transcripts.
  SELECT u.speaker_id, s.label AS speaker, u.lang, count(*) AS aligned, sum(a.flags != 0) AS flagged,
         round(avg(a.mean_logp), 4) AS avg_mean_logp, round(min(a.min_window_logp), 4) AS worst_window_logp,
         round(avg(a.chars_per_s), 2) AS avg_chars_per_s
  FROM alignments AS a
  JOIN utterances AS u ON u.id = a.utterance_id
  LEFT JOIN speakers AS s ON s.id = u.speaker_id
  GROUP BY u.speaker_id, u.lang;

-- version 2

CREATE VIEW align_rate_outliers AS
  -- Aligned utterances whose speaking rate is far from their speaker's usual
  -- rate (below 2/3 or above 3/2 of the speaker's mean over at least 5
  -- aligned utterances): often a transcript that misses or adds words.
  SELECT a.utterance_id, u.utt_key, s.label AS speaker, u.lang,
         round(a.chars_per_s, 2) AS chars_per_s, round(r.mean_rate, 2) AS speaker_mean_rate,
         round(a.chars_per_s / r.mean_rate, 2) AS ratio, u.text_norm
  FROM alignments AS a
  JOIN utterances AS u ON u.id = a.utterance_id
  JOIN (SELECT u2.speaker_id, avg(a2.chars_per_s) AS mean_rate, count(*) AS n
        FROM alignments AS a2 JOIN utterances AS u2 ON u2.id = a2.utterance_id
        WHERE a2.status = 'ok' AND u2.speaker_id IS NOT NULL
        GROUP BY u2.speaker_id) AS r ON r.speaker_id = u.speaker_id
  LEFT JOIN speakers AS s ON s.id = u.speaker_id
  WHERE a.status = 'ok' AND r.n >= 5 AND r.mean_rate > 0
    AND (a.chars_per_s > 1.5 * r.mean_rate OR a.chars_per_s < r.mean_rate / 1.5);

-- version 3

-- Word rows gain the word as written and the romanized form.  Rebuilt
-- (SQLite's 12-step procedure) rather than ALTER TABLE ... ADD COLUMN so
-- that the new columns carry their comments like the others.
PRAGMA defer_foreign_keys = ON;
CREATE TABLE align_words_v3 (
  -- Word timeline of an aligned utterance (words split at the delimiter '|';
  -- words of scripts written without spaces cut into ICU word units).
  utterance_id INTEGER NOT NULL REFERENCES utterances(id) ON DELETE CASCADE,  -- aligned utterance
  idx          INTEGER NOT NULL,        -- word position in the transcript, 0-based
  word         TEXT NOT NULL,           -- the word as in text_norm (never the romanized form)
  start_s      REAL NOT NULL,           -- start within the recording (s), first frame of its first character
  end_s        REAL NOT NULL,           -- end within the recording (s, exclusive), end of its last character's frames
  mean_logp    REAL NOT NULL,           -- mean log-probability over its characters' frames
  score        REAL NOT NULL,           -- mean probability over the same frames, 0..1
  label        TEXT,                    -- the word as written in text_raw (case, punctuation, digits; rule in lib/align/align_label.h); '' = continues the previous word's written token (normalization split it); NULL = not known (rows from before version 3: exports use word)
  romanized    TEXT,                    -- the romanized form aligned under `--oov romanize` when it differs from word; NULL otherwise
  PRIMARY KEY (utterance_id, idx)
) WITHOUT ROWID;
INSERT INTO align_words_v3 (utterance_id, idx, word, start_s, end_s, mean_logp, score)
  SELECT utterance_id, idx, word, start_s, end_s, mean_logp, score FROM align_words;
DROP TABLE align_words;
ALTER TABLE align_words_v3 RENAME TO align_words;
