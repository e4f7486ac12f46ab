/*
 * align_segment.c — lines of an aligned long recording and the cuts into
 * utterances (see align_segment.h).
 */
#include "align/align_segment.h"
#include "base/err.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/banned.h"

void align_segment_lines(const align_span *words, int64_t nwords, const int64_t *line_t0, int nlines, int *line_of,
			 int *word_in_line, int64_t *line_w0)
{
	for (int64_t w = 0, l = 0; w < nwords; w++) {
		int64_t pos = words[w].first - 1;   /* targets are shifted by the leading star */
		while (l + 1 < nlines && pos >= line_t0[l + 1])
			l++;
		line_of[w] = (int)l;
		word_in_line[w] = w > 0 && line_of[w - 1] == l ? word_in_line[w - 1] + 1 : 0;
	}
	for (int64_t l = 0, w = 0; l <= nlines; l++) {
		while (w < nwords && line_of[w] < l)
			w++;
		line_w0[l] = w;
	}
}

typedef struct seg_ctx {
	const align_span *w;
	int64_t nw, T, edge;
	int64_t *pa, *pb;   /* pieces: word ranges */
	int np;
} seg_ctx;

static int64_t seg_bound(const seg_ctx *c, int k)
{
	if (k <= 0) {
		int64_t s = c->w[c->pa[0]].start - c->edge;
		return s < 0 ? 0 : s;
	}
	if (k >= c->np) {
		int64_t e = c->w[c->pb[c->np - 1]].end + c->edge;
		return e > c->T ? c->T : e;
	}
	return (c->w[c->pb[k - 1]].end + c->w[c->pa[k]].start) / 2;
}

static double seg_dur(const seg_ctx *c, int k)
{
	return align_frame_time(seg_bound(c, k + 1) - seg_bound(c, k));
}

int align_segment_cut(const align_span *words, const int *line_of, const int *word_in_line, int64_t nwords,
		      int nlines, int64_t T, double min_s, double max_s, align_segment **segs, int *nsegs)
{
	seg_ctx c = { .w = words, .nw = nwords, .T = T, .edge = 25 };
	int cap = nlines + 1;
	*segs = NULL;
	*nsegs = 0;
	if (nwords <= 0)
		return 0;
	/* at most one split per word */
	cap = (int)nwords + 1;
	c.pa = malloc(sizeof(int64_t) * cap);
	c.pb = malloc(sizeof(int64_t) * cap);
	if (!c.pa || !c.pb) {
		free(c.pa);
		free(c.pb);
		return err_set(ACC_ENOMEM, "align: out of memory");
	}
	for (int64_t i = 0; i < nwords; i++) {
		if (i == 0 || line_of[i] != line_of[i - 1]) {
			c.pa[c.np] = i;
			c.np++;
		}
		c.pb[c.np - 1] = i;
	}
	/* split pieces longer than max_s at their longest pause between words */
	for (int k = 0; k < c.np; k++) {
		while (seg_dur(&c, k) > max_s && c.pb[k] > c.pa[k]) {
			int64_t best = -1, bp = -1, mid2 = c.pa[k] + c.pb[k];
			for (int64_t j = c.pa[k]; j < c.pb[k]; j++) {
				int64_t pause = words[j + 1].start - words[j].end;
				if (pause > bp || (pause == bp && llabs(2 * j + 1 - mid2) < llabs(2 * best + 1 - mid2))) {
					bp = pause;
					best = j;
				}
			}
			memmove(c.pa + k + 2, c.pa + k + 1, sizeof(int64_t) * (c.np - k - 1));
			memmove(c.pb + k + 2, c.pb + k + 1, sizeof(int64_t) * (c.np - k - 1));
			c.pa[k + 1] = best + 1;
			c.pb[k + 1] = c.pb[k];
			c.pb[k] = best;
			c.np++;
		}
	}
	/* merge pieces shorter than min_s with a neighbour while within max_s */
	for (int changed = 1; changed;) {
		changed = 0;
		for (int k = 0; k < c.np && !changed; k++) {
			if (seg_dur(&c, k) >= min_s)
				continue;
			int with = -1;
			double dn = k + 1 < c.np ? align_frame_time(seg_bound(&c, k + 2) - seg_bound(&c, k)) : INFINITY;
			double dp = k > 0 ? align_frame_time(seg_bound(&c, k + 1) - seg_bound(&c, k - 1)) : INFINITY;
			if (dn <= max_s && dn <= dp)
				with = k + 1;
			else if (dp <= max_s)
				with = k - 1;
			if (with < 0)
				continue;
			int a = with < k ? with : k;
			c.pb[a] = c.pb[a + 1];
			memmove(c.pa + a + 1, c.pa + a + 2, sizeof(int64_t) * (c.np - a - 2));
			memmove(c.pb + a + 1, c.pb + a + 2, sizeof(int64_t) * (c.np - a - 2));
			c.np--;
			changed = 1;
		}
	}
	align_segment *s = calloc(c.np > 0 ? (size_t)c.np : 1, sizeof *s);
	if (!s) {
		free(c.pa);
		free(c.pb);
		return err_set(ACC_ENOMEM, "align: out of memory");
	}
	for (int k = 0; k < c.np; k++) {
		s[k].start = seg_bound(&c, k);
		s[k].end = seg_bound(&c, k + 1);
		s[k].line_first = line_of[c.pa[k]];
		s[k].line_last = line_of[c.pb[k]];
		s[k].word_first = word_in_line[c.pa[k]];
		s[k].word_last = word_in_line[c.pb[k]];
	}
	*segs = s;
	*nsegs = c.np;
	free(c.pa);
	free(c.pb);
	return 0;
}
