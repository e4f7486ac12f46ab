/*
 * align.c — Viterbi forced alignment over the CTC trellis, band-limited
 * with 2-bit backpointers and checkpointed recomputation (see align.h),
 * plus token/word spans and quality measures.
 *
 * The band rules, the order of the max comparisons and the end-state rule
 * follow torchaudio's CPU kernel so that frame labels are identical; the
 * band is a pure function of T and the targets, so a block recomputed from
 * its checkpoint reproduces the first pass bit for bit.
 */
#include "align/align.h"
#include "base/err.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/banned.h"

typedef struct trellis {
	int64_t T, L, S;
	int     V, blank, star;
	const float *emis;
	int64_t ld;
	int     *lab;        /* [S] label id of each state */
	double  *skipadd;    /* [S] 0 when the state may skip the blank before it, -inf otherwise */
	uint8_t *btmp;       /* [S] one frame's backpointers before packing */
	double  *es;         /* [S] one frame's emission of each state (gathered) */
	int64_t *bst, *ben;  /* [T] band [bst, ben) per frame */
	float   *row;        /* [V + 1] emissions of one frame, [V] = 0 for <star> */
	/* working memory of one align_viterbi */
	double  *ra_buf, *rb_buf;   /* two rows, each with two -inf cells before index 0 */
	double  *ra, *rb;           /* ra_buf + 2, rb_buf + 2 */
	uint8_t *bp;                /* backpointers of one block */
	size_t   bp_bytes;
	double **ckpt;              /* [nb] band of the row at each block start but the last */
	int64_t  K, nb;             /* frames per block, blocks */
	size_t   held;              /* bytes held, for align_path.peak_bytes */
} trellis;

static void load_row(trellis *tr, int64_t t)
{
	memcpy(tr->row, tr->emis + t * tr->ld, sizeof(float) * tr->V);
	tr->row[tr->V] = 0.0f;
}

/* Band per frame exactly as torchaudio computes it. */
static void compute_bands(trellis *tr, const int *tgt, int64_t R)
{
	int64_t T = tr->T, L = tr->L, S = tr->S;
	int64_t start = T - (L + R) > 0 ? 0 : 1, end = S == 1 ? 1 : 2;
	tr->bst[0] = start;
	tr->ben[0] = end;
	for (int64_t t = 1; t < T; t++) {
		if (T - t <= L + R) {
			if ((start & 1) && start / 2 + 1 < L && tgt[start / 2] != tgt[start / 2 + 1])
				start++;
			start++;
		}
		if (t <= L + R) {
			if (!(end & 1) && end < 2 * L && tgt[end / 2 - 1] != tgt[end / 2])
				end++;
			end++;
		}
		tr->bst[t] = start;
		tr->ben[t] = end;
	}
}

/* Row t from row t-1 (pa) into a (which holds row t-2).  Both rows have two
 * -inf cells before index 0, so state 0 needs no special case (its x1, x2
 * are -inf) and the loop is branch-free for the vectorizer.  bp (when not
 * NULL) receives 2-bit backpointers for states [bst, ben) starting at bit
 * pair index off (a multiple of 4 is not required); the caller zeroed it. */
__attribute__((optimize("O3")))
static void step(trellis *tr, int64_t t, const double *restrict pa, double *restrict a, uint8_t *bp, int64_t off)
{
	int64_t st = tr->bst[t], en = tr->ben[t];
	int64_t st2 = t >= 2 ? tr->bst[t - 2] : 0, en2 = t >= 2 ? tr->ben[t - 2] : 0;
	for (int64_t i = st2; i < st && i < en2; i++)
		a[i] = -INFINITY;
	load_row(tr, t);
	const float *restrict row = tr->row;
	const int *restrict lab = tr->lab;
	const double *restrict skipadd = tr->skipadd;
	uint8_t *restrict b = tr->btmp;
	double *restrict es = tr->es;
	/* the gather apart, so that the recursion below vectorizes */
	for (int64_t i = st; i < en; i++)
		es[i] = row[lab[i]];
	for (int64_t i = st; i < en; i++) {
		double x0 = pa[i], x1 = pa[i - 1], x2 = pa[i - 2] + skipadd[i];
		int c2 = (x2 > x1) & (x2 > x0), c1 = x1 > x0;
		double r = c2 ? x2 : (c1 ? x1 : x0);
		a[i] = r + es[i];
		b[i - st] = (uint8_t)(c2 ? 2 : c1);
	}
	if (!bp)
		return;
	int64_t w = en - st, k = 0;
	/* head up to a byte boundary, whole bytes, tail */
	for (; k < w && ((off + k) & 3); k++)
		bp[(off + k) >> 2] |= (uint8_t)(b[k] << (((off + k) & 3) * 2));
	uint8_t *dst = bp + ((off + k) >> 2);
	int64_t nbytes = (w - k) / 4;
	for (int64_t j = 0; j < nbytes; j++) {
		const uint8_t *q = b + k + 4 * j;
		dst[j] = (uint8_t)(q[0] | q[1] << 2 | q[2] << 4 | q[3] << 6);
	}
	for (k += 4 * nbytes; k < w; k++)
		bp[(off + k) >> 2] |= (uint8_t)(b[k] << (((off + k) & 3) * 2));
}

static inline unsigned bp_get(const uint8_t *bp, int64_t k)
{
	return (bp[k >> 2] >> ((k & 3) * 2)) & 3u;
}

void align_path_free(align_path *p)
{
	if (!p)
		return;
	free(p->labels);
	free(p->tok);
	free(p->scores);
	memset(p, 0, sizeof *p);
}

/* The arguments of align_viterbi checked; *R = repeated adjacent targets. */
static int viterbi_check(int64_t T, int V, int64_t ld, const int *tgt, int64_t L, const align_opts *o, int64_t *R)
{
	if (T <= 0)
		return err_set(ACC_EINVAL, "align: no frames to align (empty audio)");
	if (V <= 0 || ld < V || L < 0)
		return err_set(ACC_EINVAL, "align: bad emission shape V=%d ld=%lld L=%lld", V, (long long)ld, (long long)L);
	if (o->blank < 0 || o->blank >= V)
		return err_set(ACC_EINVAL, "align: blank id %d outside [0, %d)", o->blank, V);
	if (o->star_id != -1 && o->star_id != V)
		return err_set(ACC_EINVAL, "align: the <star> id must be %d (one past the vocabulary), not %d", V, o->star_id);
	*R = 0;
	for (int64_t i = 0; i < L; i++) {
		int id = tgt[i];
		if (id < 0 || id > V || (id == V && o->star_id != V) || id == o->blank)
			return err_set(ACC_EINVAL, "align: target %lld has id %d (%s)", (long long)i, id,
				       id == o->blank ? "the blank" : "outside the vocabulary");
		if (i > 0 && tgt[i] == tgt[i - 1])
			(*R)++;
	}
	if (T < L + *R)
		return err_set(ACC_EINVAL, "align: transcript too long for the audio: %lld frames < %lld tokens + %lld repeats",
			       (long long)T, (long long)L, (long long)*R);
	return 0;
}

static void trellis_free(trellis *tr)
{
	if (tr->ckpt)
		for (int64_t k = 0; k < tr->nb; k++)
			free(tr->ckpt[k]);
	free(tr->ckpt);
	free(tr->bp);
	free(tr->ra_buf);
	free(tr->rb_buf);
	free(tr->lab);
	free(tr->skipadd);
	free(tr->btmp);
	free(tr->es);
	free(tr->bst);
	free(tr->ben);
	free(tr->row);
}

/* The trellis of targets tgt[0..L) (R repeats) over T frames: state
 * labels, skip rules, bands and the two rows; out's arrays for the path.
 * tr->held counts all of it. */
static int trellis_init(trellis *tr, const float *emis, int64_t T, int V, int64_t ld, const int *tgt, int64_t L,
			int64_t R, const align_opts *o, align_path *out)
{
	*tr = (trellis){ .T = T, .L = L, .S = 2 * L + 1, .V = V, .blank = o->blank, .star = o->star_id, .emis = emis, .ld = ld };
	int64_t S = tr->S;
	tr->lab = malloc(sizeof(int) * S);
	tr->skipadd = malloc(sizeof(double) * S);
	tr->btmp = malloc(S);
	tr->es = malloc(sizeof(double) * S);
	tr->bst = malloc(sizeof(int64_t) * T);
	tr->ben = malloc(sizeof(int64_t) * T);
	tr->row = malloc(sizeof(float) * (V + 1));
	tr->ra_buf = malloc(sizeof(double) * (S + 2));
	tr->rb_buf = malloc(sizeof(double) * (S + 2));
	out->labels = malloc(sizeof(int) * T);
	out->tok = malloc(sizeof(int64_t) * T);
	out->scores = malloc(sizeof(float) * T);
	if (!tr->lab || !tr->skipadd || !tr->btmp || !tr->es || !tr->bst || !tr->ben || !tr->row || !tr->ra_buf ||
	    !tr->rb_buf || !out->labels || !out->tok || !out->scores)
		return err_set(ACC_ENOMEM, "align: out of memory (T=%lld, L=%lld)", (long long)T, (long long)L);
	tr->ra = tr->ra_buf + 2;
	tr->rb = tr->rb_buf + 2;
	tr->ra_buf[0] = tr->ra_buf[1] = tr->rb_buf[0] = tr->rb_buf[1] = -INFINITY;
	tr->held = S * (sizeof(int) + 1 + 4 * sizeof(double)) + 4 * sizeof(double) + T * (2 * sizeof(int64_t)) +
		   (V + 1) * sizeof(float) + T * (sizeof(int) + sizeof(int64_t) + sizeof(float));
	for (int64_t s = 0; s < S; s++) {
		tr->lab[s] = (s & 1) ? tgt[s >> 1] : o->blank;
		tr->skipadd[s] = (s & 1) && s >= 3 && tgt[s >> 1] != tgt[(s >> 1) - 1] ? 0.0 : -INFINITY;
	}
	compute_bands(tr, tgt, R);
	return 0;
}

/* Block size: the whole utterance when every backpointer fits the budget,
 * else blocks of K frames whose backpointers do (checkpoints between). */
static int trellis_plan(trellis *tr, size_t budget)
{
	int64_t T = tr->T, maxw = 1, total_pairs = 0;
	for (int64_t t = 1; t < T; t++) {
		int64_t w = tr->ben[t] - tr->bst[t];
		if (w > maxw)
			maxw = w;
		total_pairs += w;
	}
	if ((size_t)(total_pairs / 4 + 1) <= budget) {
		tr->K = T > 1 ? T - 1 : 1;
	} else {
		tr->K = (int64_t)(budget / (size_t)(maxw / 4 + 1));
		if (tr->K < 1)
			tr->K = 1;
	}
	tr->nb = T > 1 ? (T - 1 + tr->K - 1) / tr->K : 1;
	tr->bp_bytes = (size_t)((tr->K * maxw + 3) / 4);
	tr->bp = calloc(tr->bp_bytes ? tr->bp_bytes : 1, 1);
	tr->ckpt = calloc(tr->nb, sizeof(double *));
	if (!tr->bp || !tr->ckpt)
		return err_set(ACC_ENOMEM, "align: out of memory for %zu bytes of backpointers", tr->bp_bytes);
	tr->held += tr->bp_bytes + tr->nb * sizeof(double *);
	return 0;
}

/* Forward pass: checkpoints at block starts, backpointers of the last
 * block.  *last = row T-1, *off = bit pairs of the last block's
 * backpointers. */
static int viterbi_forward(trellis *tr, double **last, int64_t *off)
{
	int64_t S = tr->S, T = tr->T, K = tr->K, nb = tr->nb;
	for (int64_t s = 0; s < S; s++)
		tr->ra[s] = tr->rb[s] = -INFINITY;
	load_row(tr, 0);
	for (int64_t s = tr->bst[0]; s < tr->ben[0]; s++)
		tr->ra[s] = tr->row[tr->lab[s]];
	int64_t last_c = (nb - 1) * K;
	double *pa = tr->ra, *a = tr->rb;
	*off = 0;
	for (int64_t t = 0; t < T; t++) {
		if (t > 0) {
			int store = t > last_c;
			step(tr, t, pa, a, store ? tr->bp : NULL, *off);
			if (store)
				*off += tr->ben[t] - tr->bst[t];
			double *x = pa;
			pa = a;
			a = x;
		}
		if (t % K == 0 && t / K < nb - 1) {
			int64_t k = t / K, w = tr->ben[t] - tr->bst[t];
			if (!(tr->ckpt[k] = malloc(sizeof(double) * w)))
				return err_set(ACC_ENOMEM, "align: out of memory for checkpoints");
			memcpy(tr->ckpt[k], pa + tr->bst[t], sizeof(double) * w);
			tr->held += sizeof(double) * w;
		}
	}
	*last = pa;
	return 0;
}

/* Backtrack from end state s, block by block, last first (the last
 * block's backpointers, off bit pairs, are still there from the forward
 * pass; the others are recomputed from their checkpoints).  tok[t] gets
 * the state of frame t. */
static int viterbi_backtrack(trellis *tr, int64_t s, int64_t off, int64_t *tok)
{
	int64_t S = tr->S, T = tr->T, K = tr->K, nb = tr->nb;
	for (int64_t k = nb - 1; k >= 0; k--) {
		int64_t c = k * K, ce = c + K < T - 1 ? c + K : T - 1;
		if (k != nb - 1) {
			memset(tr->bp, 0, tr->bp_bytes);
			for (int64_t i = 0; i < S; i++)
				tr->ra[i] = tr->rb[i] = -INFINITY;
			memcpy(tr->ra + tr->bst[c], tr->ckpt[k], sizeof(double) * (tr->ben[c] - tr->bst[c]));
			double *pa = tr->ra, *a = tr->rb;
			off = 0;
			for (int64_t t = c + 1; t <= ce; t++) {
				step(tr, t, pa, a, tr->bp, off);
				off += tr->ben[t] - tr->bst[t];
				double *x = pa;
				pa = a;
				a = x;
			}
		}
		/* offsets of each frame's backpointers inside the block */
		int64_t boff = off;
		for (int64_t t = ce; t > c; t--) {
			boff -= tr->ben[t] - tr->bst[t];
			tok[t] = s;
			if (s < tr->bst[t] || s >= tr->ben[t])
				return err_set(ACC_EINTERNAL, "align: backtrack left the band at frame %lld", (long long)t);
			s -= bp_get(tr->bp, boff + (s - tr->bst[t]));
		}
		if (k == 0)
			tok[0] = s;
	}
	return 0;
}

int align_viterbi(const float *emis, int64_t T, int V, int64_t ld, const int *tgt, int64_t L,
		  const align_opts *o, align_path *out)
{
	trellis tr = { 0 };
	double *pa = NULL;
	int64_t R = 0, off = 0;
	int rc;
	memset(out, 0, sizeof *out);
	if ((rc = viterbi_check(T, V, ld, tgt, L, o, &R)))
		return rc;
	TRY(trellis_init(&tr, emis, T, V, ld, tgt, L, R, o, out));
	TRY(trellis_plan(&tr, o->mem_budget ? o->mem_budget : (size_t)256 << 20));
	TRY(viterbi_forward(&tr, &pa, &off));
	/* pa = row T-1.  End state: the blank wins only when strictly better. */
	int64_t S = tr.S, s = S == 1 ? 0 : (pa[S - 1] > pa[S - 2] ? S - 1 : S - 2);
	if (!(pa[s] > -INFINITY)) {
		rc = err_set(ACC_EINVAL, "align: no path has a finite score (emissions contain -inf for every path)");
		goto out;
	}
	TRY(viterbi_backtrack(&tr, s, off, out->tok));
	double total = 0;
	for (int64_t t = 0; t < T; t++) {
		int64_t st = out->tok[t];
		int id = tr.lab[st];
		float sc = id == V ? 0.0f : emis[t * ld + id];
		out->labels[t] = id;
		out->scores[t] = sc;
		out->tok[t] = (st & 1) ? st >> 1 : -1;
		total += sc;
	}
	out->T = T;
	out->score = total;
	out->blocks = (int)tr.nb;
	out->peak_bytes = tr.held;
out:
	trellis_free(&tr);
	if (rc)
		align_path_free(out);
	return rc;
}

int align_token_spans(const align_path *p, int64_t L, align_span **spans)
{
	align_span *sp = calloc(L > 0 ? L : 1, sizeof *sp);
	*spans = NULL;
	if (!sp)
		return err_set(ACC_ENOMEM, "align: out of memory");
	for (int64_t j = 0; j < L; j++) {
		sp[j].first = sp[j].last = j;
		sp[j].start = -1;
	}
	for (int64_t t = 0; t < p->T; t++) {
		int64_t j = p->tok[t];
		if (j < 0 || j >= L)
			continue;
		if (sp[j].start < 0)
			sp[j].start = t;
		sp[j].end = t + 1;
		sp[j].id = p->labels[t];
		sp[j].mean_logp += p->scores[t];
		sp[j].mean_p += exp(p->scores[t]);
	}
	for (int64_t j = 0; j < L; j++) {
		if (sp[j].start < 0) {
			free(sp);
			return err_set(ACC_EINTERNAL, "align: target %lld has no frame", (long long)j);
		}
		double n = (double)(sp[j].end - sp[j].start);
		sp[j].mean_logp /= n;
		sp[j].mean_p /= n;
	}
	*spans = sp;
	return 0;
}

int align_word_spans(const align_span *tok, int64_t L, int64_t T, const int *targets, int delim, int star,
		     align_span **words, int64_t *n)
{
	int64_t cnt = 0;
	align_span *w = calloc(L > 0 ? L : 1, sizeof *w);
	*words = NULL;
	*n = 0;
	if (!w)
		return err_set(ACC_ENOMEM, "align: out of memory");
	for (int64_t j = 0; j < L;) {
		if (targets[j] == delim || targets[j] == star) {
			j++;
			continue;
		}
		int64_t k = j;
		double frames = 0, sl = 0, sp = 0;
		while (k < L && targets[k] != delim && targets[k] != star) {
			double f = (double)(tok[k].end - tok[k].start);
			frames += f;
			sl += tok[k].mean_logp * f;
			sp += tok[k].mean_p * f;
			k++;
		}
		align_span *x = &w[cnt++];
		x->first = j;
		x->last = k - 1;
		x->id = tok[j].id;
		x->start = tok[j].start;
		if (j > 0 && targets[j - 1] == delim) {
			int64_t s = tok[j].start - ALIGN_WORD_LEAD;
			x->start = tok[j - 1].end > s ? tok[j - 1].end : s;
			if (x->start > tok[j].start)
				x->start = tok[j].start;
		}
		int64_t e = tok[k - 1].end + ALIGN_WORD_TAIL;
		if (k < L && targets[k] == delim)
			e = tok[k].end < e ? tok[k].end : e;
		else if (k < L && tok[k].start < e)
			e = tok[k].start;
		if (e > T)
			e = T;
		x->end = e > tok[k - 1].end ? e : tok[k - 1].end;
		x->mean_logp = sl / frames;
		x->mean_p = sp / frames;
		j = k;
	}
	if (!cnt) {
		free(w);
		w = NULL;
	}
	*words = w;
	*n = cnt;
	return 0;
}

void align_quality(const align_path *p, int64_t f0, int64_t f1, int star, int win,
		   double *mean_logp, double *min_window)
{
	double sum = 0, wsum = 0, best = INFINITY;
	int64_t n = 0, wn = 0;
	int64_t *idx = NULL;
	if (f0 < 0)
		f0 = 0;
	if (f1 > p->T)
		f1 = p->T;
	if (win < 1)
		win = 1;
	/* ring of the last `win` usable frames */
	idx = malloc(sizeof(int64_t) * win);
	for (int64_t t = f0; t < f1; t++) {
		if (star >= 0 && p->labels[t] == star)
			continue;
		double v = p->scores[t];
		sum += v;
		if (idx) {
			if (wn == win)
				wsum -= p->scores[idx[n % win]];
			else
				wn++;
			idx[n % win] = t;
			wsum += v;
			if (wn == win && wsum / win < best)
				best = wsum / win;
		}
		n++;
	}
	free(idx);
	*mean_logp = n ? sum / n : 0.0;
	if (best == INFINITY)
		best = n ? sum / n : 0.0;
	*min_window = best;
}
