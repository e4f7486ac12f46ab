#!/bin/sh
# tests/report.sh — `db report` end to end: a manifest with every kind of
# row (utterances, rejects, alignments, training curves, evaluations) and
# hostile text in keys, labels, transcripts and command lines is written as
# one HTML page; the page must be self-contained and escape everything, and
# headless Chromium (Debian's chromium), with the network disabled, must
# load it with no console message, draw every chart (pixels in each chart's
# rectangle of a screenshot are not blank) and fetch nothing.  Usage errors,
# --lang / --run and a missing Chart.js are checked too.
# Prints "# report.sh: N passed, N failed".  The browser part is skipped,
# with the reason printed, only when chromium cannot start.
. "$(dirname "$0")/check.sh"
bins DB=db
scratch report

expect "db report --help" 0 "$DB" report --help
contains "db report --help usage" "$T/out" "usage: db report"
expect "db report without --out" 2 "$DB" report
expect "db report bad --run" 2 "$DB" report --out x.html --run zero
expect "db report extra argument" 2 "$DB" report --out x.html extra
expect_fail "db report without a manifest" "$DB" --manifest "$T/none.db" report --out x.html
[ -f x.html ] && ko "no page written on failure" || ok "no page written on failure"

# The manifest: an empty file becomes one on first open; rows by sqlite3.
: > data.db
"$DB" stats > /dev/null 2>&1
HOSTILE_TEXT='</script><script>alert("t")</script><!-- <img src=x onerror=alert(1)>'
q "
INSERT INTO runs(id, stage, command_line, version) VALUES
  (1, 'prep ingest', 'prep ingest corpus/ --x ''<b>bold</b>''', '0.1.0'),
  (2, 'train', 'train --lang eng --out out/eng', '0.1.0'),
  (3, 'train eval', 'train eval --model out/eng', '0.1.0');
INSERT INTO corpora(id, root, layout) VALUES (1, '/corpus', 'kaldi');
INSERT INTO speakers(id, corpus_id, label, gender, accent, lang)
  WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 8)
  SELECT i, 1, CASE i WHEN 8 THEN '<script>alert(\"spk\")</script>' ELSE 'spk' || i END,
         CASE i % 3 WHEN 0 THEN 'female' WHEN 1 THEN 'male' END,
         CASE i % 4 WHEN 0 THEN '\"&''<acc>' WHEN 1 THEN 'north' END, CASE i % 2 WHEN 0 THEN 'amh' ELSE 'eng' END FROM s;
INSERT INTO recordings(id, corpus_id, path, sha256, size_bytes, duration_s)
  WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 240)
  SELECT i, 1, 'wav/' || i || '.wav', printf('%064x', i), 1000, 1.0 + (i * 37 % 150) / 10.0 FROM r;
INSERT INTO utterances(id, corpus_id, utt_key, recording_id, speaker_id, start_s, end_s, text_raw, text_norm, lang, split, weight, status)
  SELECT r.id, 1, CASE r.id WHEN 36 THEN '<b>key36</b>' ELSE 'utt' || r.id END, r.id, 1 + r.id % 8, 0, r.duration_s,
         CASE r.id WHEN 5 THEN '$HOSTILE_TEXT' ELSE 'utterance number ' || r.id END,
         CASE r.id WHEN 5 THEN '$HOSTILE_TEXT' ELSE 'utterance number ' || r.id END,
         CASE (1 + r.id % 8) % 2 WHEN 0 THEN 'amh' ELSE 'eng' END,
         CASE (1 + r.id % 8) % 4 WHEN 0 THEN 'dev' WHEN 1 THEN 'test' ELSE 'train' END,
         r.duration_s * (1 + r.id % 8) / 4.0, CASE WHEN r.id % 40 = 0 THEN 'needs_align' ELSE 'ok' END
  FROM recordings r;
INSERT INTO rejects(run_id, corpus_id, source, reason, message) VALUES
  (1, 1, 'bad/<x>.wav', 'corrupt_audio', 'cannot decode: <garbage>'),
  (1, 1, 'bad/y.wav', 'corrupt_audio', 'cannot decode'),
  (1, 1, 'text:3', 'empty_text', 'empty after normalization');
INSERT INTO alignments(utterance_id, run_id, lang, model_id, align_hash, status, frames, tokens, mean_logp,
                       min_window_logp, chars_per_s, lead_s, trail_s, flags, message)
  SELECT id, 1, lang, 'model', 'hash', 'ok', 100, 20, -0.1 - (id % 13) / 10.0, -0.2 - (id % 37) / 4.0,
         CASE WHEN id % 50 = 0 THEN 40.0 ELSE 12.0 + id % 3 END, 0.1, 0.1,
         CASE WHEN id % 37 > 30 THEN 2 WHEN id % 50 = 0 THEN 4 ELSE 0 END, NULL
  FROM utterances WHERE status = 'ok';
INSERT INTO train_runs(id, run_id, lang, model_dir, out_dir, strategy, lr, steps, warmup, batch_seconds, accum, seed,
                       sampling, steps_done, best_step, best_dev_cer, best_dev_wer, status)
  VALUES (1, 2, 'eng', 'base', 'out/eng', 'adapters', 0.001, 1200, 100, 60, 1, 1, 'balanced', 1200, 800, 0.21, 0.45, 'done'),
         (2, 2, 'amh', 'base', 'out/amh', 'adapters', 0.001, 300, 30, 60, 1, 1, 'balanced', 300, 300, 0.5, 0.9, 'done');
INSERT INTO train_metrics(train_run_id, step, split, loss, lr, grad_norm, audio_s)
  WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 1200)
  SELECT 1, i, 'train', 3.0 / (1 + i / 100.0), 0.001 * min(i / 100.0, (1200 - i) / 1100.0), 1.0, 60 FROM s
  UNION ALL SELECT 2, i, 'train', 4.0 / (1 + i / 50.0), 0.001 * min(i / 30.0, (300 - i) / 270.0), 1.0, 60 FROM s WHERE i <= 300;
INSERT INTO train_metrics(train_run_id, step, split, loss, cer, wer, audio_s)
  WITH RECURSIVE s(i) AS (SELECT 100 UNION ALL SELECT i + 100 FROM s WHERE i < 1200)
  SELECT 1, i, 'dev', 2.5 / (1 + i / 300.0), 0.9 - i / 2000.0 + CASE WHEN i = 800 THEN -0.3 ELSE 0 END, 1.0 - i / 3000.0, 30 FROM s;
INSERT INTO eval_runs(id, run_id, model_dir, lang, split, condition, decoder, utterances, audio_s, ref_chars, char_errors,
                      ref_words, word_errors, cer, wer)
  VALUES (1, 3, 'out/eng', 'eng', 'test', 'clean', 'greedy', 10, 100, 1000, 200, 200, 80, 0.2, 0.4),
         (2, 3, 'out/eng', 'eng', 'test', 'clean', 'beam', 10, 100, 1000, 150, 200, 60, 0.15, 0.3),
         (3, 3, 'out/eng', 'eng', 'test', 'white-snr10', 'greedy', 10, 100, 1000, 400, 200, 120, 0.4, 0.6);
INSERT INTO eval_utterances(eval_id, utterance_id, ref, hyp, ref_chars, char_errors, ref_words, word_errors, duration_s)
  SELECT e.id, u.id, u.text_norm, CASE u.id % 3 WHEN 0 THEN '$HOSTILE_TEXT' ELSE 'utterance numbr ' || u.id END,
         length(u.text_norm), e.id + u.id % 5, 3, u.id % 3, u.end_s - u.start_s
  FROM eval_runs e CROSS JOIN utterances u WHERE u.split = 'test' AND u.lang = 'eng';
" || ko "fixture SQL"

expect "db report" 0 "$DB" report --out report.html
contains "db report says what it wrote" "$T/out" "wrote report.html"
[ -s report.html ] && ok "page written" || ko "page written"
ls report.html.tmp.* > /dev/null 2>&1 && ko "no temp file left" || ok "no temp file left"
size=$(stat -c %s report.html)
[ "$size" -lt 1000000 ] && ok "page is small ($size bytes)" || ko "page is small ($size bytes)"

# Self-contained and escaped: exactly the three script elements the writer
# emits (data, Chart.js, page script), nothing fetched, no raw hostile text.
n=$(grep -o '</script' report.html | wc -l)
same "three script elements (nothing closed early)" "$n" 3
n=$(grep -ciE '<(script|link|img|iframe)[^>]*(src|href)=' report.html)
same "no external src/href" "$n" 0
grep -qF '<script>alert' report.html && ko "hostile text escaped" || ok "hostile text escaped"
grep -qF '<b>key36</b>' report.html && ko "hostile key escaped" || ok "hostile key escaped"
contains "escaped key in a table" report.html '&lt;b&gt;key36&lt;/b&gt;'
contains "escaped speaker label" report.html '&lt;script&gt;alert(&quot;spk&quot;)&lt;/script&gt;'
contains "escaped command line" report.html '&lt;b&gt;bold&lt;/b&gt;'
contains "JSON escapes <" report.html '\u003c/script\u003e'
contains "Content-Security-Policy" report.html "default-src 'none'"
for s in 'id="corpus"' 'id="alignment"' 'id="training"' 'id="evaluation"' 'id="provenance"' \
	'Hours per language and split' 'natural vs balanced' 'Rejects by reason' 'corrupt_audio' \
	'Speaking-rate outliers' 'best checkpoint (step 800)' 'Worst utterances of evaluation #2 (beam)' \
	'CER per speaker gender' 'CER per utterance duration' 'train --lang eng --out out/eng'; do
	contains "section: $s" report.html "$s"
done
charts=$(grep -o '<canvas id="chart-[0-9]*"' report.html | wc -l)
[ "$charts" -ge 14 ] && ok "charts on the page ($charts)" || ko "charts on the page ($charts)"

# Filters
expect "db report --lang amh" 0 "$DB" report --out amh.html --lang amh
grep -qF '>spk1<' amh.html && ko "--lang amh leaves eng speakers out" || ok "--lang amh leaves eng speakers out"
contains "--lang amh keeps amh speakers" amh.html '>spk2<'
expect "db report --run 2" 0 "$DB" report --out run2.html --run 2
grep -qF 'Training run 1<' run2.html && ko "--run 2 leaves run 1 out" || ok "--run 2 leaves run 1 out"
contains "--run 2 keeps run 2" run2.html 'Training run 2<'
contains "--run 2: no evaluation of out/amh" run2.html 'No evaluations'
expect "db report --run 9 (no such run)" 2 "$DB" report --out run9.html --run 9
contains "--run 9 says so" "$T/err" "no training run 9"
[ -f run9.html ] && ko "no page for a bad run" || ok "no page for a bad run"

# Chart.js missing: a clear error naming the package
ACCENT_CHARTJS="$T/nope/chart.min.js" "$DB" report --out nochart.html > "$T/out" 2> "$T/err"
[ $? -ne 0 ] && ok "missing Chart.js fails" || ko "missing Chart.js fails"
contains "missing Chart.js: error" "$T/err" "error: cannot inline the chart library"
contains "missing Chart.js: hint" "$T/err" "libjs-chart.js"
printf 'var x = "</script>";\n' > "$T/bad.js"
ACCENT_CHARTJS="$T/bad.js" "$DB" report --out badchart.html > "$T/out" 2> "$T/err"
[ $? -ne 0 ] && ok "a chart library that closes <script> is refused" || ko "a chart library that closes <script> is refused"

# ------------------------------------------------------------ the browser
CHROME=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
skip=""
if [ -z "$CHROME" ]; then skip="chromium is not installed (make deps installs it)"
elif ! "$PY" -c 'import PIL' 2> /dev/null; then skip="python3-pil is not installed (make deps installs it)"
fi
# network off: a network namespace of our own when allowed, else a dead proxy
NONET=""
if unshare -n true 2> /dev/null; then NONET="unshare -n"; elif unshare -rn true 2> /dev/null; then NONET="unshare -rn"; fi
browse() {  # browse OUTFILE ARGS...: chromium headless on report.html
	o=$1; shift
	HOME="$T/home" timeout 120 $NONET "$CHROME" --headless --no-sandbox --disable-gpu --no-first-run \
		--disable-extensions --disable-background-networking --disable-sync --hide-scrollbars \
		--proxy-server=127.0.0.1:9 --force-device-scale-factor=1 --user-data-dir="$T/profile" \
		--enable-logging=stderr --v=0 "$@" "file://$T/report.html" > "$o" 2> "$o.log"
}
if [ -z "$skip" ]; then
	mkdir -p "$T/home"
	browse "$T/dom.html" --window-size=1280,900 --dump-dom
	if ! grep -q 'report-status' "$T/dom.html"; then
		skip="chromium did not start: $(grep -v -e dbus -e vaapi "$T/dom.html.log" | tail -n 3 | tr '\n' ' ')"
	fi
fi
if [ -n "$skip" ]; then
	echo "# skipped the browser checks: $skip"
else
	# what the page script saw: every chart drawn, no error, nothing fetched
	"$PY" - "$T/dom.html" "$charts" > "$T/status.txt" <<'EOF'
import html, json, re, sys
dom = open(sys.argv[1], encoding="utf-8").read()
m = re.search(r'<pre id="report-status"[^>]*>(.*?)</pre>', dom, re.S)
st = json.loads(html.unescape(m.group(1))) if m else {}
print("ok" if st.get("ok") else "notok", len(st.get("charts", [])), st.get("resources"), len(st.get("errors", [])))
print(json.dumps(st))
EOF
	set -- $(head -n 1 "$T/status.txt")
	same "page script ran without errors" "$1" ok
	same "every chart drawn" "$2" "$charts"
	same "no resource fetched" "$3" 0
	same "no script error" "$4" 0
	# the page's messages only: Chromium's own pages (source chrome://...)
	# log under load (e.g. "Slow network is detected"), which is not ours
	n=$(grep 'CONSOLE' "$T/dom.html.log" | grep -vc 'source: chrome://')
	same "no console message" "$n" 0
	[ "$n" -eq 0 ] || grep 'CONSOLE' "$T/dom.html.log" | grep -v 'source: chrome://' | head -5
	# a screenshot of the whole page; each chart's rectangle must hold a
	# drawing: enough non-background pixels in several colours
	height=$("$PY" -c 'import json,sys; st=json.loads(open(sys.argv[1]).read().split("\n",1)[1]); print(min(16000, max(c["y"]+c["h"] for c in st["charts"]) + 50))' "$T/status.txt")
	browse "$T/shot.out" --window-size=1280,"$height" --screenshot="$T/shot.png"
	if [ -s "$T/shot.png" ]; then ok "screenshot taken"; else ko "screenshot taken"; fi
	"$PY" - "$T/shot.png" "$T/status.txt" > "$T/pixels.txt" <<'EOF'
import json, sys
from PIL import Image
im = Image.open(sys.argv[1]).convert("RGB")
st = json.loads(open(sys.argv[2]).read().split("\n", 1)[1])
blank = 0
for c in st["charts"]:
    box = (c["x"], c["y"], c["x"] + c["w"], c["y"] + c["h"])
    if box[3] > im.size[1] or c["w"] < 50 or c["h"] < 50:
        print("chart", c["id"], "outside the screenshot", box, im.size); blank += 1; continue
    px = list(im.crop(box).getdata())
    inked = sum(1 for p in px if p != (255, 255, 255))
    colours = len(set(px))
    if inked < 0.01 * len(px) or colours < 3:
        print("chart", c["id"], "blank:", inked, "inked pixels of", len(px), colours, "colours"); blank += 1
print("blank", blank, "of", len(st["charts"]))
EOF
	tail -n 1 "$T/pixels.txt" | grep -q "^blank 0 of $charts\$" && ok "every chart drawn in the screenshot" ||
		{ ko "every chart drawn in the screenshot"; head -n 5 "$T/pixels.txt"; }
	[ -n "$KEEP_SHOT" ] && cp "$T/shot.png" "$KEEP_SHOT"
fi
echo "# report.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
