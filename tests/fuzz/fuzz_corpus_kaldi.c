/*
 * fuzz_corpus_kaldi.c — libFuzzer harness for Kaldi data directories: the
 * input holds up to six files separated by "\n@@\n" lines, written as
 * wav.scp, text, segments, utt2spk, spk2gender and utt2lang, and the reader
 * is drained (fuzz_corpus.h).  wav.scp commands must never run.
 */
#include "fuzz_util.h"
#include "fuzz_corpus.h"
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *names[] = { "wav.scp", "text", "segments", "utt2spk", "spk2gender", "utt2lang" };
	const uint8_t *part[6];
	size_t plen[6];
	char dir[600], path[700];
	snprintf(dir, sizeof dir, "%s/data", fuzz_tmp());
	mkdir(dir, 0755);
	snprintf(dir, sizeof dir, "%s/data/train", fuzz_tmp());
	mkdir(dir, 0755);
	for (int i = 0; i < 6; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		unlink(path);
	}
	int n = fuzz_split(data, size, part, plen, 6);
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof path, "data/train/%s", names[i]);
		fuzz_put(path, part[i], plen[i]);
	}
	fuzz_drain(dir, "kaldi");
	return 0;
}
