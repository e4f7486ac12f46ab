/*
 * fuzz_corpus_tsv.c — libFuzzer harness for the delimiter-separated corpus
 * metadata: the input is written as a Common Voice validated.tsv and as an
 * LJSpeech metadata.csv, and each reader is drained (fuzz_corpus.h).
 */
#include "fuzz_util.h"
#include "fuzz_corpus.h"
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char cv[600], lj[600];
	snprintf(cv, sizeof cv, "%s/cv", fuzz_tmp());
	snprintf(lj, sizeof lj, "%s/lj", fuzz_tmp());
	mkdir(cv, 0755);
	mkdir(lj, 0755);
	mkdir(strcat(strcpy((char[700]){ 0 }, lj), "/wavs"), 0755);
	fuzz_put("cv/validated.tsv", data, size);
	fuzz_drain(cv, "commonvoice");
	fuzz_put("lj/metadata.csv", data, size);
	fuzz_drain(lj, "ljspeech");
	return 0;
}
