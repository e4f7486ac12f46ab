/*
 * fuzz_corpus.h — drain a corpus reader: every item of a hostile metadata
 * file must come out as an item or a reject (with a reason and a message),
 * never a crash; an error return must say why.
 */
#pragma once
#include "prep/corpus.h"
#include "base/err.h"
#include <stdlib.h>

static void fuzz_drain(const char *root, const char *layout)
{
	corpus *c = NULL;
	corpus_item it;
	int r, n = 0;
	if (corpus_open(&c, root, layout) != 0) {
		if (c || !err_msg()[0])
			abort();
		return;
	}
	while ((r = corpus_next(c, &it)) == 1) {
		if (it.reject_reason && (!it.reject_msg || !it.source))
			abort();
		for (int i = 0; i < it.nutt; i++)
			if (!it.utt[i].key || (it.utt[i].reject_reason && !it.utt[i].reject_msg))
				abort();
		corpus_item_clear(&it);
		if (++n > 100000)
			abort();   /* a small file cannot hold this many items: a loop */
	}
	if (r < 0 && !err_msg()[0])
		abort();
	corpus_close(c);
}
