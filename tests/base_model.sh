#!/bin/sh
# tests/base_model.sh — the shipped base model, models/accent-base, as a
# user and transformers see it: the Hugging Face files an MMS checkpoint has
# (config.json, model.safetensors, preprocessor_config.json, a nested
# vocab.json, adapter.<lang>.safetensors per base language with the tensor
# names and shapes transformers' load_adapter expects), at most 40 MB, 12
# base languages in 4 scripts, no character of the held-out scripts
# (Ethiopic, Tamil), and `transcribe` reading a sentence it never heard in a
# base language.  Prints "# base_model.sh: N passed, N failed".
. "$(dirname "$0")/check.sh"
bins TR=transcribe SYNTH=synth
M=${BASE_MODEL_DIR:-$ROOT/models/accent-base}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
LANGS="spa ita por deu pol ces ron rus bul ukr hin ell"
scratch base

for f in config.json model.safetensors preprocessor_config.json vocab.json; do
	[ -s "$M/$f" ] && ok "has $f" || ko "has $f"
done
for l in $LANGS; do
	[ -s "$M/adapter.$l.safetensors" ] && ok "has adapter.$l.safetensors" || ko "has adapter.$l.safetensors"
done
bytes=$(cat "$M"/* | wc -c)
[ "$bytes" -le 41943040 ] && ok "at most 40 MB ($bytes bytes)" || ko "at most 40 MB ($bytes bytes)"

# vocabulary, config and safetensors headers (stdlib json: the header is an
# 8-byte little-endian length and a JSON object)
"$PY" - "$M" $LANGS > py.out 2>&1 <<'PY'
import json, struct, sys, unicodedata
m, langs = sys.argv[1], sys.argv[2:]
def say(ok, what): print(("ok - " if ok else "not ok - ") + what)
def header(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return json.loads(f.read(n))
cfg = json.load(open(m + "/config.json"))
voc = json.load(open(m + "/vocab.json"))
say(sorted(voc) == sorted(langs), "vocab.json is nested with the 12 base languages")
v = voc.get("spa", {})
say(v.get("<pad>") == 0 and "|" in v and "<unk>" in v, "<pad> = 0 (the CTC blank), '|' and <unk> present")
say(cfg.get("vocab_size") == len(v), "config vocab_size = the vocabulary's size")
say(cfg.get("model_type") == "wav2vec2" and cfg.get("adapter_attn_dim") and cfg.get("do_stable_layer_norm"),
    "config: wav2vec2, MMS layout (stable layer norm, adapters)")
scripts = {}
for ch in v:
    if len(ch) == 1 and ch.isalpha():
        s = unicodedata.name(ch, "?").split()[0]
        scripts[s] = scripts.get(s, 0) + 1
say(all(scripts.get(s, 0) >= 20 for s in ("LATIN", "CYRILLIC", "DEVANAGARI", "GREEK")),
    "letters of 4 scripts: " + ", ".join("%s %d" % kv for kv in sorted(scripts.items())))
say(not any(0x1200 <= ord(c[0]) <= 0x139F or 0x0B80 <= ord(c[0]) <= 0x0BFF for c in v if c),
    "no Ethiopic or Tamil character (the held-out scripts)")
L, H = cfg["num_hidden_layers"], cfg["hidden_size"]
base = header(m + "/model.safetensors")
say(base.get("lm_head.weight", {}).get("shape") == [len(v), H], "model.safetensors: lm_head [vocab, hidden]")
say("wav2vec2.encoder.layers.%d.final_layer_norm.weight" % (L - 1) in base, "model.safetensors: HF tensor names")
for l in langs:
    a = header(m + "/adapter.%s.safetensors" % l)
    want = ["wav2vec2.encoder.layers.%d.adapter_layer.%s" % (i, t) for i in range(L)
            for t in ("norm.weight", "norm.bias", "linear_1.weight", "linear_1.bias", "linear_2.weight", "linear_2.bias")]
    good = all(k in a for k in want) and a.get("lm_head.weight", {}).get("shape") == [len(voc[l]), H]
    say(good, "adapter.%s: every layer's adapter + lm_head [vocab, hidden]" % l)
PY
grep -E '^(ok|not ok) - ' py.out > py.res
pass=$((pass + $(grep -c '^ok - ' py.res)))
fail=$((fail + $(grep -c '^not ok - ' py.res)))
cat py.res
grep -q '^ok - \|^not ok - ' py.out || { ko "python check ran"; sed 's/^/    /' py.out | tail -5; }

# a base language it reads: held-out voices (seed 5, not the base's 11)
# saying a sentence through `transcribe`
if "$SYNTH" --out corpus --layout folder --langs rus --speakers 1 --utts-per-speaker 2 --seed 5 \
	--text-dir "$ROOT/data/text" --quiet > /dev/null 2>&1; then
	wav=$(find corpus -name '*.wav' | sort | head -1)
	if "$TR" --model "$M" --lang rus "$wav" > tr.out 2> tr.err; then
		ok "transcribe --lang rus runs"
		hyp=$(cut -f2- tr.out | head -1)
		[ -n "$hyp" ] && ok "transcription is not empty ('$hyp')" || ko "transcription is not empty"
	else
		ko "transcribe --lang rus runs"; sed 's/^/    /' tr.err | tail -3
	fi
else
	ko "synth rus"
fi
echo "# base_model.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
