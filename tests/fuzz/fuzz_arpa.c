/*
 * fuzz_arpa.c — libFuzzer harness for the ARPA reader (lib/decode/arpa.c): any
 * bytes load or are rejected with a message; a loaded model answers
 * lookups and scores for every word it lists.
 */
#include "decode/arpa.h"
#include "base/err.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	arpa *lm = NULL;
	FILE *fp = fmemopen((void *)data, size ? size : 1, "r");
	if (!fp)
		return 0;
	if (!size)
		fgetc(fp);   /* an empty stream */
	int rc = arpa_read(&lm, fp, "fuzz");
	fclose(fp);
	if (rc) {
		if (lm || !err_msg()[0])
			abort();
		return 0;
	}
	volatile float acc = 0;
	int32_t nv = arpa_vocab_size(lm);
	arpa_state st, out;
	arpa_state_begin(lm, &st);
	for (int32_t w = 0; w < nv && w < 4096; w++) {
		if (arpa_word_id(lm, arpa_word(lm, w)) < 0)
			abort();
		acc += arpa_score(lm, &st, w, &out);
		st = out;
	}
	for (int n = 1; n <= arpa_order(lm); n++)
		for (uint64_t i = 0; i < arpa_count(lm, n) && i < 4096; i++) {
			const int32_t *ids;
			float lp, bo;
			arpa_ngram_at(lm, n, i, &ids, &lp, &bo);
			if (!arpa_find(lm, n, ids, NULL, NULL))
				abort();
			acc += lp;
		}
	arpa_free(lm);
	return 0;
}
