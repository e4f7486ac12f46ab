/*
 * ctc_words.c — timestamps of the greedy CTC path (see ctc_words.h).
 */
#include "decode/ctc_words.h"
#include "align/align.h"
#include "base/err.h"
#include "model/emit.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/banned.h"

int ctc_words_greedy(const float *lp, int64_t T, int V, const vocab *v, ax_item **words, int64_t *nw, ax_item **chars,
		     int64_t *nc)
{
	int *ids = NULL, rc = 0;
	size_t wcap = 0, ccap = 0;
	char *wtext = NULL;     /* the open word's text */
	size_t wl = 0, wcapb = 0;
	double w_start = 0, w_end = 0, w_psum = 0, w_frames = 0;
	int open = 0;
	*words = *chars = NULL;
	*nw = *nc = 0;
	int blank = vocab_pad_id(v), delim = vocab_delim_id(v);
	if (T <= 0)
		return 0;
	if (!(ids = malloc(sizeof(int) * (size_t)T)))
		return err_set(ACC_ENOMEM, "ctc words: out of memory");
	emit_greedy(lp, T, V, V, ids);
	for (int64_t t = 0; t <= T; t++) {
		int64_t a = t;
		int id = t < T ? ids[t] : -1;
		while (t + 1 < T && ids[t + 1] == id)
			t++;
		const char *tok = id >= 0 ? vocab_token(v, id) : NULL;
		int special = tok && (!strcmp(tok, "<s>") || !strcmp(tok, "</s>"));
		int is_char = id >= 0 && id != blank && id != delim && tok && !special;
		if ((id < 0 || id == delim) && open) {
			/* the word ends with its last character */
			if ((rc = align_export_add_word(words, nw, &wcap, wtext, NULL, NULL, w_start, w_end,
							w_frames > 0 ? w_psum / w_frames : 0)))
				goto out;
			open = 0;
			wl = 0;
		}
		if (!is_char)
			continue;
		double ps = 0;
		for (int64_t f = a; f <= t; f++)
			ps += exp((double)lp[f * V + id]);
		double s0 = align_frame_time(a), s1 = align_frame_time(t + 1);
		if ((rc = align_export_add_word(chars, nc, &ccap, tok, NULL, NULL, s0, s1, ps / (double)(t - a + 1))))
			goto out;
		size_t tl = strlen(tok);
		if (ARRAY_GROW(wtext, wcapb, wl + tl + 1)) {
			rc = err_set(ACC_ENOMEM, "ctc words: out of memory");
			goto out;
		}
		memcpy(wtext + wl, tok, tl + 1);
		wl += tl;
		if (!open) {
			open = 1;
			w_start = s0;
			w_psum = w_frames = 0;
		}
		w_end = s1;
		w_psum += ps;
		w_frames += (double)(t - a + 1);
	}
out:
	free(ids);
	free(wtext);
	if (rc) {
		align_export_items_free(*words, *nw);
		align_export_items_free(*chars, *nc);
		*words = *chars = NULL;
		*nw = *nc = 0;
	}
	return rc;
}
