/*
 * fuzz_corpus_nemo.c — libFuzzer harness for NeMo JSONL manifests: the
 * input is written as manifest.json and the reader is drained
 * (fuzz_corpus.h).
 */
#include "fuzz_util.h"
#include "fuzz_corpus.h"
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char dir[600];
	snprintf(dir, sizeof dir, "%s/nemo", fuzz_tmp());
	mkdir(dir, 0755);
	fuzz_put("nemo/manifest.json", data, size);
	fuzz_drain(dir, "nemo");
	return 0;
}
