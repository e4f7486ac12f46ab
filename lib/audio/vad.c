/*
 * vad.c — energy-based segmentation of long recordings at pauses (vad.h).
 *
 * 1. Frames (10 ms) are speech when their energy exceeds a threshold set
 *    between the noise floor (10th percentile) and the loud level (95th
 *    percentile) of this recording, never below -60 dBFS: adapts to the
 *    recording's gain and noise without a fixed level.
 * 2. Speech runs separated by less than min_pause are joined into regions.
 * 3. Regions are grouped recursively: a group longer than max_s is split at
 *    its longest pause, preferring pauses that leave both sides >= min_s; a
 *    single region longer than max_s (no pause at all) is cut at its quietest
 *    frame away from the edges.
 * 4. Pieces shorter than min_s are merged into the neighbour across the
 *    shorter pause when the result still fits max_s; then every piece gets
 *    up to pad_s of silence on each side (never past the middle of a pause)
 *    and short pieces are widened into the surrounding silence toward min_s.
 */
#include "audio/vad.h"
#include "audio/audio.h"
#include "base/err.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/banned.h"

void vad_init(vad *v) { memset(v, 0, sizeof *v); }

void vad_free(vad *v)
{
	free(v->db);
	memset(v, 0, sizeof *v);
}

static int push_frame(vad *v, double meansq)
{
	int rc = ARRAY_GROW(v->db, v->cap, (size_t)v->n + 1);
	if (rc)
		return err_wrap(rc, "voice activity detection");
	v->db[v->n++] = (float)(10 * log10(meansq + 1e-12));
	return 0;
}

int vad_feed(vad *v, const float *x, int64_t n)
{
	for (int64_t i = 0; i < n; i++) {
		v->acc += (double)x[i] * x[i];
		if (++v->acc_n == VAD_FRAME) {
			if (push_frame(v, v->acc / VAD_FRAME))
				return ACC_ENOMEM;
			v->acc = 0;
			v->acc_n = 0;
		}
	}
	return 0;
}

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return x < y ? -1 : x > y;
}

double vad_threshold(const vad *v, const vad_opts *o)
{
	if (!v->n)
		return 0;
	float *s = malloc(sizeof(float) * v->n);
	if (!s)
		return -40;
	memcpy(s, v->db, sizeof(float) * v->n);
	qsort(s, v->n, sizeof(float), cmp_float);
	double floor_db = s[(int64_t)(0.10 * (v->n - 1))], loud = s[(int64_t)(0.95 * (v->n - 1))];
	free(s);
	double thr = floor_db + o->rel_db * (loud - floor_db);
	if (thr < floor_db + 6)
		thr = floor_db + 6;
	if (thr > loud - 3 && loud - 3 > floor_db)  /* almost no dynamics: keep most frames */
		thr = loud - 3;
	if (thr < -60)
		thr = -60;
	return thr;
}

typedef struct span { int64_t a, b; int forced_a, forced_b; } span;  /* frames [a, b) */

typedef struct seglist {
	span *s;
	int n;
	size_t cap;
	int oom;
} seglist;

static void seg_push(seglist *l, span x)
{
	if (ARRAY_GROW(l->s, l->cap, (size_t)l->n + 1)) {
		l->oom = 1;
		return;
	}
	l->s[l->n++] = x;
}

/* Split regions r[i..j] (inclusive) into pieces of at most maxf frames. */
static void group(const vad *v, span *r, int i, int j, int64_t minf, int64_t maxf, seglist *out, int depth)
{
	if (out->oom)
		return;
	if (r[j].b - r[i].a <= maxf || depth > 200) {
		span x = { r[i].a, r[j].b, r[i].forced_a, r[j].forced_b };
		seg_push(out, x);
		return;
	}
	if (i == j) {
		/* one region with no pause: cut at its quietest frame, away from
		 * the edges when possible */
		int64_t lo = r[i].a + minf, hi = r[i].b - minf, cut;
		if (hi - lo < 1) {
			lo = r[i].a + 1;
			hi = r[i].b - 1;
		}
		/* keep the left part within maxf so recursion terminates quickly */
		if (hi > r[i].a + maxf)
			hi = r[i].a + maxf;
		cut = lo;
		for (int64_t k = lo; k < hi; k++)
			if (v->db[k] < v->db[cut])
				cut = k;
		span two[2] = { { r[i].a, cut, r[i].forced_a, 1 }, { cut, r[i].b, 1, r[i].forced_b } };
		group(v, two, 0, 0, minf, maxf, out, depth + 1);
		group(v, two + 1, 0, 0, minf, maxf, out, depth + 1);
		return;
	}
	int best = -1, best_ok = -1;
	for (int k = i; k < j; k++) {
		int64_t gap = r[k + 1].a - r[k].b;
		int ok = r[k].b - r[i].a >= minf && r[j].b - r[k + 1].a >= minf;
		if (best < 0 || gap > r[best + 1].a - r[best].b)
			best = k;
		if (ok && (best_ok < 0 || gap > r[best_ok + 1].a - r[best_ok].b))
			best_ok = k;
	}
	int k = best_ok >= 0 ? best_ok : best;
	group(v, r, i, k, minf, maxf, out, depth + 1);
	group(v, r, k + 1, j, minf, maxf, out, depth + 1);
}

int vad_split(vad *v, const vad_opts *o, vad_segment **segs, int *nseg)
{
	seglist rl = { 0 }, pl = { 0 };
	int rc = 0;
	*segs = NULL;
	*nseg = 0;
	if (!(o->min_s >= 0) || !(o->max_s > o->min_s) || !(o->max_s > 2 * o->pad_s + 0.05) || o->pad_s < 0 ||
	    o->min_pause_s < 0)
		return err_set(ACC_EINVAL, "voice activity detection: need 0 <= min (%g s) < max (%g s), pad %g s",
			       o->min_s, o->max_s, o->pad_s);
	if (v->acc_n) {
		if (push_frame(v, v->acc / v->acc_n))
			return ACC_ENOMEM;
		v->acc = 0;
		v->acc_n = 0;
	}
	if (!v->n)
		return 0;
	const double fs = (double)VAD_FRAME / AUDIO_RATE;
	int64_t pausef = (int64_t)llround(o->min_pause_s / fs), padf = (int64_t)llround(o->pad_s / fs);
	int64_t minf = (int64_t)llround(o->min_s / fs), maxf = (int64_t)floor(o->max_s / fs) - 2 * padf;
	double thr = vad_threshold(v, o);

	/* 1-2: speech regions, short pauses bridged, clicks (< 30 ms) dropped */
	for (int64_t i = 0; i < v->n;) {
		if (v->db[i] <= thr) {
			i++;
			continue;
		}
		int64_t a = i;
		while (i < v->n && v->db[i] > thr)
			i++;
		span x = { a, i, 0, 0 };
		if (rl.n && a - rl.s[rl.n - 1].b < pausef)
			rl.s[rl.n - 1].b = i;
		else
			seg_push(&rl, x);
	}
	{
		int w = 0;
		for (int k = 0; k < rl.n; k++)
			if (rl.s[k].b - rl.s[k].a >= 3)
				rl.s[w++] = rl.s[k];
		rl.n = w;
	}
	if (rl.oom)
		goto oom;
	if (!rl.n)
		goto out;

	/* 3 */
	group(v, rl.s, 0, rl.n - 1, minf, maxf, &pl, 0);
	if (pl.oom)
		goto oom;

	/* 4: merge short pieces where the result fits */
	for (int changed = 1; changed;) {
		changed = 0;
		for (int k = 0; k < pl.n; k++) {
			if (pl.s[k].b - pl.s[k].a >= minf)
				continue;
			int64_t gl = k > 0 ? pl.s[k].a - pl.s[k - 1].b : INT64_MAX;
			int64_t gr = k + 1 < pl.n ? pl.s[k + 1].a - pl.s[k].b : INT64_MAX;
			int with = -1;
			if (gl <= gr && k > 0 && pl.s[k].b - pl.s[k - 1].a <= maxf)
				with = k - 1;
			else if (k + 1 < pl.n && pl.s[k + 1].b - pl.s[k].a <= maxf)
				with = k;
			else if (k > 0 && pl.s[k].b - pl.s[k - 1].a <= maxf)
				with = k - 1;
			if (with < 0)
				continue;
			pl.s[with].b = pl.s[with + 1].b;
			pl.s[with].forced_b = pl.s[with + 1].forced_b;
			memmove(pl.s + with + 1, pl.s + with + 2, sizeof(span) * (pl.n - with - 2));
			pl.n--;
			changed = 1;
			break;
		}
	}

	*segs = malloc(sizeof(vad_segment) * pl.n);
	if (!*segs)
		goto oom;
	for (int k = 0; k < pl.n; k++) {
		int64_t lim_l = k > 0 ? (pl.s[k - 1].b + pl.s[k].a) / 2 : 0;
		int64_t lim_r = k + 1 < pl.n ? (pl.s[k].b + pl.s[k + 1].a) / 2 : v->n;
		int64_t a = pl.s[k].a - padf, b = pl.s[k].b + padf;
		if (a < lim_l)
			a = lim_l;
		if (b > lim_r)
			b = lim_r;
		/* widen short pieces into the silence around them */
		while (b - a < minf && (a > lim_l || b < lim_r)) {
			if (a > lim_l)
				a--;
			if (b - a < minf && b < lim_r)
				b++;
		}
		(*segs)[k].start_s = a * fs;
		(*segs)[k].end_s = (b > v->n ? v->n : b) * fs;
		(*segs)[k].forced = pl.s[k].forced_a || pl.s[k].forced_b;
	}
	*nseg = pl.n;
	goto out;
oom:
	rc = err_set(ACC_ENOMEM, "out of memory in voice activity detection");
out:
	free(rl.s);
	free(pl.s);
	return rc;
}
