-- schemas/eval.sql — language models and evaluation results (`train lm`,
-- `train eval`).  Migration format: see the header of schemas/manifest.sql.
--
-- Example queries:
--   -- WER of every evaluation of the test split, best first
--   SELECT id, decoder, condition, subset, alpha, beta, beam, round(wer*100,2) AS wer_pct
--   FROM eval_runs WHERE split = 'test' ORDER BY wer;
--   -- the ten worst test utterances of the latest evaluation
--   SELECT * FROM eval_worst WHERE eval_id = (SELECT max(id) FROM eval_runs) LIMIT 10;
--   -- WER per speaker gender
--   SELECT * FROM eval_by_gender WHERE eval_id = 3;

-- version 1

CREATE TABLE lm_models (
  -- One row per n-gram language model built by `train lm` (ARPA file, modified Kneser-Ney).
  id            INTEGER PRIMARY KEY,  -- language model number
  run_id        INTEGER REFERENCES runs(id),  -- run that built it
  path          TEXT NOT NULL,        -- ARPA file written (absolute path)
  sha256        TEXT,                 -- SHA-256 of the ARPA file bytes, lowercase hex
  lang          TEXT NOT NULL,        -- language whose train-split transcripts it was estimated from
  order_n       INTEGER NOT NULL,     -- n-gram order (4 = 4-gram)
  sentences     INTEGER NOT NULL,     -- training sentences (train-split utterances with a normalized transcript)
  tokens        INTEGER NOT NULL,     -- training words (not counting <s> and </s>)
  vocab_size    INTEGER NOT NULL,     -- distinct words including <s>, </s>, <unk>
  ngram_counts  TEXT NOT NULL,        -- JSON array: number of n-grams per order, e.g. [1200,5400,7000,7600]
  discounts     TEXT NOT NULL,        -- JSON array per order of [D1, D2, D3+] Kneser-Ney discounts
  fallback      TEXT,                 -- JSON array of the orders (1-based) where the fallback discounts 0.5/1/1.5 were used (tiny corpora); '[]' when none
  dev_sentences INTEGER,              -- dev-split sentences scored for perplexity; NULL when not measured
  dev_ppl       REAL,                 -- perplexity on the dev transcripts, unknown words excluded (SRILM style); NULL when not measured
  dev_oov_rate  REAL,                 -- share of dev words unknown to the model, 0..1
  created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))  -- when (UTC)
);

CREATE TABLE eval_runs (
  -- One row per evaluated condition of `train eval`: a split decoded with one
  -- decoder setting under one audio condition (clean, noise, speed, gain) and subset.
  id           INTEGER PRIMARY KEY,  -- evaluation number
  run_id       INTEGER REFERENCES runs(id),  -- the `train eval` run that produced it
  model_dir    TEXT NOT NULL,        -- model directory evaluated
  lang         TEXT NOT NULL,        -- language (adapter / vocabulary) used
  split        TEXT NOT NULL,        -- utterances.split decoded ('test', 'dev')
  subset       TEXT NOT NULL DEFAULT 'all',  -- 'all', 'digits' (flag 1: digits in the transcript) or 'mixed-script' (flag 8: code-switching)
  condition    TEXT NOT NULL DEFAULT 'clean',  -- audio condition: 'clean', 'white-snr10', 'babble-snr20', 'speed0.9', 'gain-6', ...
  decoder      TEXT NOT NULL,        -- 'greedy' or 'beam'
  lm_path      TEXT,                 -- ARPA language model used by the beam decoder; NULL = none
  alpha        REAL,                 -- LM weight (beam decoder)
  beta         REAL,                 -- word insertion bonus (beam decoder)
  beam         INTEGER,              -- beam width (beam decoder)
  tuned_on_dev INTEGER NOT NULL DEFAULT 0,  -- 1 when alpha/beta were chosen by the grid search on the dev split
  utterances   INTEGER NOT NULL,     -- utterances decoded
  audio_s      REAL NOT NULL,        -- audio seconds decoded
  decode_s     REAL,                 -- wall seconds spent in the decoder (not the acoustic model)
  ref_chars    INTEGER NOT NULL,     -- reference characters (Unicode code points, spaces included)
  char_errors  INTEGER NOT NULL,     -- character substitutions + deletions + insertions
  ref_words    INTEGER NOT NULL,     -- reference words
  word_errors  INTEGER NOT NULL,     -- word substitutions + deletions + insertions
  word_sub     INTEGER NOT NULL DEFAULT 0,  -- word substitutions
  word_del     INTEGER NOT NULL DEFAULT 0,  -- word deletions
  word_ins     INTEGER NOT NULL DEFAULT 0,  -- word insertions
  cer          REAL,                 -- char_errors / ref_chars (corpus rate, not a mean of utterance rates)
  wer          REAL,                 -- word_errors / ref_words
  created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))  -- when (UTC)
);
CREATE INDEX eval_runs_split ON eval_runs(split, lang);

CREATE TABLE eval_utterances (
  -- One row per utterance of an evaluation: reference, hypothesis and edit counts.
  eval_id      INTEGER NOT NULL REFERENCES eval_runs(id) ON DELETE CASCADE,  -- evaluation it belongs to
  utterance_id INTEGER NOT NULL REFERENCES utterances(id) ON DELETE CASCADE,  -- utterance decoded
  ref          TEXT NOT NULL,        -- reference transcript (utterances.text_norm)
  hyp          TEXT NOT NULL,        -- decoded hypothesis
  ref_chars    INTEGER NOT NULL,     -- reference characters
  char_errors  INTEGER NOT NULL,     -- character edits
  ref_words    INTEGER NOT NULL,     -- reference words
  word_errors  INTEGER NOT NULL,     -- word edits
  duration_s   REAL,                 -- utterance duration (s) after the audio condition (speed changes it)
  PRIMARY KEY (eval_id, utterance_id)
);
CREATE INDEX eval_utterances_utt ON eval_utterances(utterance_id);

CREATE VIEW eval_by_speaker AS
  -- CER/WER per speaker for each evaluation.
  SELECT e.eval_id, u.speaker_id, s.label AS speaker, count(*) AS utterances,
         round(1.0 * sum(e.char_errors) / nullif(sum(e.ref_chars), 0), 4) AS cer,
         round(1.0 * sum(e.word_errors) / nullif(sum(e.ref_words), 0), 4) AS wer
  FROM eval_utterances AS e JOIN utterances AS u ON u.id = e.utterance_id
  LEFT JOIN speakers AS s ON s.id = u.speaker_id
  GROUP BY e.eval_id, u.speaker_id;

CREATE VIEW eval_by_gender AS
  -- CER/WER per speaker gender ('unknown' when the corpus does not say).
  SELECT e.eval_id, coalesce(s.gender, 'unknown') AS gender, count(*) AS utterances,
         round(1.0 * sum(e.char_errors) / nullif(sum(e.ref_chars), 0), 4) AS cer,
         round(1.0 * sum(e.word_errors) / nullif(sum(e.ref_words), 0), 4) AS wer
  FROM eval_utterances AS e JOIN utterances AS u ON u.id = e.utterance_id
  LEFT JOIN speakers AS s ON s.id = u.speaker_id
  GROUP BY e.eval_id, coalesce(s.gender, 'unknown');

CREATE VIEW eval_by_accent AS
  -- CER/WER per speaker accent or dialect ('unknown' when the corpus does not say).
  SELECT e.eval_id, coalesce(s.accent, 'unknown') AS accent, count(*) AS utterances,
         round(1.0 * sum(e.char_errors) / nullif(sum(e.ref_chars), 0), 4) AS cer,
         round(1.0 * sum(e.word_errors) / nullif(sum(e.ref_words), 0), 4) AS wer
  FROM eval_utterances AS e JOIN utterances AS u ON u.id = e.utterance_id
  LEFT JOIN speakers AS s ON s.id = u.speaker_id
  GROUP BY e.eval_id, coalesce(s.accent, 'unknown');

CREATE VIEW eval_by_duration AS
  -- CER/WER per utterance duration bucket: <2 s, 2-5 s, 5-10 s, 10-20 s, 20+ s.
  SELECT e.eval_id,
         CASE WHEN e.duration_s < 2 THEN '0-2' WHEN e.duration_s < 5 THEN '2-5'
              WHEN e.duration_s < 10 THEN '5-10' WHEN e.duration_s < 20 THEN '10-20'
              ELSE '20+' END AS duration_bucket,
         count(*) AS utterances,
         round(1.0 * sum(e.char_errors) / nullif(sum(e.ref_chars), 0), 4) AS cer,
         round(1.0 * sum(e.word_errors) / nullif(sum(e.ref_words), 0), 4) AS wer
  FROM eval_utterances AS e
  GROUP BY e.eval_id, 2;

CREATE VIEW eval_worst AS
  -- Utterances with the most word errors per reference word (then character errors), worst first.
  SELECT e.eval_id, e.utterance_id, u.utt_key, e.ref, e.hyp, e.word_errors, e.ref_words,
         round(1.0 * e.word_errors / nullif(e.ref_words, 0), 4) AS wer,
         round(1.0 * e.char_errors / nullif(e.ref_chars, 0), 4) AS cer
  FROM eval_utterances AS e JOIN utterances AS u ON u.id = e.utterance_id
  ORDER BY e.eval_id, 1.0 * e.word_errors / max(e.ref_words, 1) DESC,
           1.0 * e.char_errors / max(e.ref_chars, 1) DESC, e.utterance_id;
