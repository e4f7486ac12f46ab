#!/bin/sh
# mkmodel.sh — the mkmodel binary: help/version, usage errors, the files of
# an HF model directory, determinism of the seed, bf16 storage.  (Loading
# what it writes is tested in test_w2v_load: test_random_checkpoint_roundtrip.)
BINDIR=${BINDIR:-bin}
MK=$BINDIR/mkmodel
pass=0; fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
bad() { fail=$((fail + 1)); echo "not ok - $1"; }
t() { name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/accent-mkmodel-XXXXXX")
trap 'rm -rf "$tmp"' EXIT

t "help" sh -c "'$MK' --help | grep -q -- '--preset'"
t "version" sh -c "'$MK' --version | grep -q 'mkmodel (accent)'"
"$MK" >/dev/null 2>&1; t "missing --out is a usage error" [ $? -eq 2 ]
"$MK" --out "$tmp/x" --layers zero >/dev/null 2>&1; t "bad number is a usage error" [ $? -eq 2 ]
"$MK" --out "$tmp/x" --preset huge >/dev/null 2>&1; t "unknown preset is a usage error" [ $? -eq 2 ]
"$MK" --out "$tmp/x" --hidden 30 2>"$tmp/err" >/dev/null; rc=$?
t "inconsistent sizes rejected (exit 3)" [ $rc -eq 3 ]
t "error names the field" grep -q "not divisible by num_attention_heads" "$tmp/err"
"$MK" --out "$tmp/x" --preset base-tiny --langs amh >/dev/null 2>&1
t "langs need adapters" [ $? -eq 2 ]

t "tiny with languages" sh -c "'$MK' --out '$tmp/a' --langs amh,eng --seed 7 >/dev/null"
for f in config.json preprocessor_config.json model.safetensors vocab.json adapter.amh.safetensors adapter.eng.safetensors; do
	t "writes $f" [ -s "$tmp/a/$f" ]
done
t "nested vocab" grep -q '"eng"' "$tmp/a/vocab.json"
t "config is HF wav2vec2" grep -q '"model_type": "wav2vec2"' "$tmp/a/config.json"
t "adapter dim in config" grep -q '"adapter_attn_dim": 8' "$tmp/a/config.json"
t "no temporary files left" [ -z "$(ls "$tmp/a" | grep tmp)" ]
"$MK" --out "$tmp/b" --langs amh,eng --seed 7 >/dev/null
t "same seed, same bytes" cmp -s "$tmp/a/model.safetensors" "$tmp/b/model.safetensors"
t "same seed, same adapter" cmp -s "$tmp/a/adapter.eng.safetensors" "$tmp/b/adapter.eng.safetensors"
t "languages differ" sh -c "! cmp -s '$tmp/a/adapter.amh.safetensors' '$tmp/a/adapter.eng.safetensors'"
"$MK" --out "$tmp/c" --langs amh,eng --seed 8 >/dev/null
t "other seed, other bytes" sh -c "! cmp -s '$tmp/a/model.safetensors' '$tmp/c/model.safetensors'"
"$MK" --out "$tmp/d" --preset base-tiny --layers 3 --vocab-size 40 --dtype bf16 >/dev/null
t "overrides in config" grep -q '"num_hidden_layers": 3' "$tmp/d/config.json"
t "base layout" grep -q '"feat_extract_norm": "group"' "$tmp/d/config.json"
t "flat vocab of 40" [ "$(grep -o '":' "$tmp/d/vocab.json" | wc -l)" -eq 40 ]
t "bf16 stored" grep -q '"BF16"' "$tmp/d/model.safetensors"
"$MK" --out "$tmp/e" --conv-dim 24 >/dev/null
t "conv-dim sets every conv layer" sh -c "tr -d ' \n' < '$tmp/e/config.json' | grep -q '\"conv_dim\":\[24,24,24,24,24,24,24\]'"
t "conv-dim shapes the weights" sh -c "grep -q 'conv_layers.6.conv.weight\":{\"dtype\":\"F32\",\"shape\":\[24,24,2\]' '$tmp/e/model.safetensors'"
"$MK" --out "$tmp/f" --conv-dim 0 >/dev/null 2>&1; t "bad conv-dim is a usage error" [ $? -eq 2 ]
"$MK" --out "$tmp/g" --init-range 0.09 >/dev/null
t "init-range written to config" grep -q '"initializer_range": 0.09' "$tmp/g/config.json"
"$MK" --out "$tmp/g0" >/dev/null
t "default init-range is HF's 0.02" grep -q '"initializer_range": 0.02' "$tmp/g0/config.json"
t "init-range changes the weights" sh -c "! cmp -s '$tmp/g/model.safetensors' '$tmp/g0/model.safetensors'"
"$MK" --out "$tmp/h" --init-range 0 >/dev/null 2>&1; t "init-range 0 is a usage error" [ $? -eq 2 ]

echo "# mkmodel.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
