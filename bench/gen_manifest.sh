#!/bin/sh
# bench/gen_manifest.sh — writes the benchmarks' synthetic manifest:
#   sh bench/gen_manifest.sh FILE [N]
# N utterances (default 1,000,000), one recording each, 2,500 speakers with
# a triangular skew of utterance counts, 2 languages (every 4th speaker
# 'amh'), genders and accents on some speakers; no splits, weights or audio.
# FILE is replaced.  The schema comes from the db binary ($BINDIR/db, which
# creates it when it opens an empty file); the rows from sqlite3.  Used by
# bench_manifest.sh and bench_report.sh.
set -e
BINDIR=${BINDIR:-bin}
M=$1
N=${2:-1000000}
NSPK=2500
[ -n "$M" ] || { echo "usage: sh bench/gen_manifest.sh FILE [N]" >&2; exit 2; }
rm -f "$M" "$M-wal" "$M-shm"
: > "$M"
"$BINDIR/db" --manifest "$M" stats > /dev/null
sqlite3 "$M" "
BEGIN;
INSERT INTO corpora(id, root, layout) VALUES (1, '/corpus', 'commonvoice');
INSERT INTO speakers(id, corpus_id, label, gender, accent, lang)
  WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $NSPK)
  SELECT i, 1, 'client' || i, CASE i % 3 WHEN 0 THEN 'female' WHEN 1 THEN 'male' END,
         CASE i % 5 WHEN 0 THEN 'north' WHEN 1 THEN 'south' END, CASE i % 4 WHEN 0 THEN 'amh' ELSE 'eng' END FROM s;
INSERT INTO recordings(id, corpus_id, path, sha256, size_bytes, sample_rate, channels, duration_s)
  WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < $N)
  SELECT i, 1, 'clips/' || i || '.mp3', printf('%064x', i), 20000 + i % 5000, 48000, 1, 1.0 + (i * 7919 % 1500) / 100.0 FROM r;
INSERT INTO utterances(corpus_id, utt_key, recording_id, speaker_id, start_s, end_s, text_raw, text_norm, norm_profile, norm_version, lang)
  SELECT 1, 'utt' || r.id, r.id,
         1 + min(abs(r.id * 2654435761) % $NSPK, abs(r.id * 2246822519 / 7) % $NSPK),
         0, r.duration_s, 'Sentence number ' || (r.id % 50000), 'sentence number ' || (r.id % 50000), 'default', 1,
         CASE (1 + min(abs(r.id * 2654435761) % $NSPK, abs(r.id * 2246822519 / 7) % $NSPK)) % 4 WHEN 0 THEN 'amh' ELSE 'eng' END
  FROM recordings r;
COMMIT;
ANALYZE;"
