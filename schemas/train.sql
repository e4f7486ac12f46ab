-- schemas/train.sql — adapter / model training runs and their learning curves
-- (`train --manifest data.db ...`, lib/train/trainer.c).
-- Migration format: see the header of schemas/manifest.sql.
--
-- Example queries:
--   -- the dev learning curve of the latest training run
--   SELECT step, loss, cer, wer FROM train_metrics
--   WHERE train_run_id = (SELECT max(id) FROM train_runs) AND split = 'dev' ORDER BY step;
--   -- every run with its best dev result
--   SELECT id, lang, strategy, steps_done, best_step, best_dev_cer, best_dev_wer FROM train_runs;

-- version 1

CREATE TABLE train_runs (
  -- One row per training run (a resumed run keeps its row and continues it).
  id            INTEGER PRIMARY KEY,  -- training run number
  run_id        INTEGER REFERENCES runs(id),  -- the `train` invocation that started it
  lang          TEXT NOT NULL,        -- adapter language trained (adapter.<lang>.safetensors)
  model_dir     TEXT NOT NULL,        -- base model directory
  out_dir       TEXT NOT NULL,        -- output directory (checkpoint + resume file)
  strategy      TEXT NOT NULL,        -- 'adapters', 'top:K', 'full' or 'full+conv'
  bottleneck    INTEGER,              -- adapter_attn_dim of the trained adapters
  vocab_size    INTEGER,              -- lm_head rows (the language's vocabulary size)
  lr            REAL NOT NULL,        -- peak learning rate
  steps         INTEGER NOT NULL,     -- planned optimizer steps
  warmup        INTEGER NOT NULL,     -- warmup steps
  batch_seconds REAL NOT NULL,        -- cap on padded audio seconds per micro-batch
  accum         INTEGER NOT NULL,     -- micro-batches per optimizer step
  seed          INTEGER NOT NULL,     -- seed of the sampler and the initialization
  sampling      TEXT NOT NULL,        -- 'balanced' (manifest weights), 'uniform' or 'weighted-loss'
  n_train       INTEGER,              -- training utterances used
  n_dev         INTEGER,              -- dev utterances used
  steps_done    INTEGER NOT NULL DEFAULT 0,  -- optimizer steps completed so far
  skipped       INTEGER NOT NULL DEFAULT 0,  -- micro-batches skipped for a NaN/Inf loss or gradient
  best_step     INTEGER,              -- step of the best dev evaluation (the checkpoint kept in out_dir)
  best_dev_cer  REAL,                 -- its dev CER (0..1)
  best_dev_wer  REAL,                 -- its dev WER (0..1)
  status        TEXT NOT NULL DEFAULT 'running',  -- 'running', 'done', 'early_stopped', 'stopped' (--stop-after), 'failed'
  started_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),  -- when (UTC)
  updated_at    TEXT                  -- last progress (UTC)
);

CREATE TABLE train_metrics (
  -- One row per optimizer step (split 'train') and per dev evaluation
  -- (split 'dev'): the learning curve.
  train_run_id INTEGER NOT NULL REFERENCES train_runs(id) ON DELETE CASCADE,  -- the training run
  step         INTEGER NOT NULL,      -- optimizer steps completed when measured
  split        TEXT NOT NULL CHECK (split IN ('train', 'dev')),  -- what was measured
  loss         REAL,                  -- CTC loss (HF 'mean' reduction); train: mean over the step's micro-batches
  cer          REAL,                  -- dev character error rate, greedy decoding (0..1); NULL for train rows
  wer          REAL,                  -- dev word error rate, greedy decoding (0..1); NULL for train rows
  lr           REAL,                  -- learning rate used by the step (train rows)
  grad_norm    REAL,                  -- gradient L2 norm before clipping (train rows)
  audio_s      REAL,                  -- seconds of audio processed by the step / the evaluation
  skipped      INTEGER NOT NULL DEFAULT 0,  -- micro-batches of this step skipped (NaN/Inf)
  created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),  -- when (UTC)
  PRIMARY KEY (train_run_id, step, split)
);
