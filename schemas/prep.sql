-- schemas/prep.sql — tables owned by `prep ingest` beyond the core manifest
-- (see schemas/manifest.sql for the block format and migration rules).

-- version 1

CREATE TABLE long_texts (
  -- Transcript lines of long recordings (MMS-style long audio + one text
  -- line per segment, or a whole-file transcript of audio too long to be one
  -- utterance).  `prep ingest` cuts such audio at pauses into utterances with
  -- status 'needs_align' and no text; the align stage reads these lines, in
  -- line_no order, to assign text to the pieces.
  id           INTEGER PRIMARY KEY,  -- line number in this table
  recording_id INTEGER NOT NULL REFERENCES recordings(id) ON DELETE CASCADE,  -- the long recording the text belongs to
  line_no      INTEGER NOT NULL,     -- 1-based position of the line in the transcript (non-empty lines only)
  text_raw     TEXT NOT NULL,        -- the line exactly as in the corpus
  text_norm    TEXT,                 -- normalized line (same profile as utterances.text_norm); NULL when it normalized to nothing
  norm_profile TEXT,                 -- normalization profile that produced text_norm
  norm_version INTEGER,              -- version of that profile
  lang         TEXT,                 -- language code of the line
  flags        INTEGER NOT NULL DEFAULT 0,  -- TEXTNORM bits as in utterances.flags (1 digits, 2 empty, 4 invalid UTF-8, 8 mixed scripts)
  source       TEXT,                 -- file and line it came from, e.g. 'talks/t1.txt:3'
  UNIQUE (recording_id, line_no)
);

CREATE VIEW long_recordings AS
  -- Long recordings awaiting alignment: pieces cut by the VAD and text lines.
  SELECT r.id AS recording_id, r.path, round(r.duration_s, 2) AS duration_s,
         (SELECT count(*) FROM utterances u WHERE u.recording_id = r.id AND u.status = 'needs_align') AS pieces,
         (SELECT count(*) FROM long_texts t WHERE t.recording_id = r.id) AS text_lines
  FROM recordings r WHERE EXISTS (SELECT 1 FROM long_texts t WHERE t.recording_id = r.id);
