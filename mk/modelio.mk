# modelio: libFuzzer harness for the safetensors reader (not part of `make test`).
# `make fuzz-safetensors [FUZZ_SECONDS=60]` builds $(BUILD)/fuzz/fuzz_safetensors
# with clang -fsanitize=fuzzer,address,undefined and runs it on a corpus seeded
# with the fixture checkpoints; `make fuzz` runs every fuzz target.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_FLAGS   := -g -O1 -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer \
                -std=gnu11 -Ilib $(shell pkg-config --cflags jansson)
.PHONY: fuzz fuzz-safetensors
fuzz: fuzz-safetensors

$(BUILD)/fuzz/fuzz_safetensors: tests/fuzz/fuzz_safetensors.c lib/model/safetensors.c lib/base/err.c lib/base/fsutil.c \
		lib/model/safetensors.h lib/base/err.h lib/base/fsutil.h
	mkdir -p $(BUILD)/fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ tests/fuzz/fuzz_safetensors.c lib/model/safetensors.c lib/base/err.c lib/base/fsutil.c \
	  $(shell pkg-config --libs jansson libcrypto)

fuzz-safetensors: $(BUILD)/fuzz/fuzz_safetensors
	mkdir -p $(BUILD)/fuzz/corpus-safetensors
	cp tests/data/hf-wav2vec2/mms-tiny/adapter.amh.safetensors tests/data/hf-wav2vec2/ctc/ctc.safetensors \
	  $(BUILD)/fuzz/corpus-safetensors/
	$(BUILD)/fuzz/fuzz_safetensors -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 \
	  $(BUILD)/fuzz/corpus-safetensors
