/*
 * test_align.c — Viterbi forced alignment: parity with torchaudio's
 * forced_align (tests/data/hf-wav2vec2/ctc/ctc.safetensors align{b},
 * align_scores{b}), an exhaustive search over all valid paths on small
 * cases, repeats and the T = L + R edge, impossible alignments, the <star>
 * token, checkpointed recomputation identical to the single pass, a
 * 60-minute emission matrix aligned within a checked memory limit, spans.
 */
#include "align/align.h"
#include "check.h"
#include "testrand.h"
#include "model/ctc.h"
#include "base/err.h"
#include "st_mini.h"
#include <sys/resource.h>

#define CTC_FIX TEST_DATA("data/hf-wav2vec2/ctc/ctc.safetensors")

static void log_softmax_rows(const float *x, float *y, int64_t T, int V)
{
	for (int64_t t = 0; t < T; t++) {
		double m = -INFINITY, z = 0;
		for (int v = 0; v < V; v++)
			m = fmax(m, x[t * V + v]);
		for (int v = 0; v < V; v++)
			z += exp((double)x[t * V + v] - m);
		for (int v = 0; v < V; v++)
			y[t * V + v] = (float)((double)x[t * V + v] - m - log(z));
	}
}

static void test_torchaudio_parity(void)
{
	st_mini st;
	CHECK_EQ_INT(st_mini_open(&st, CTC_FIX), 0);
	int64_t n, sh[4], sht[4], s1[4];
	int nd;
	const float *logits = st_mini_get(&st, "logits", "F32", &n, sh, &nd);
	const int32_t *tg = st_mini_get(&st, "targets", "I32", &n, sht, &nd);
	const int32_t *tl = st_mini_get(&st, "target_lengths", "I32", &n, s1, &nd);
	const int32_t *il = st_mini_get(&st, "input_lengths", "I32", &n, s1, &nd);
	CHECK(logits && tg && tl && il);
	if (!(logits && tg && tl && il)) {
		st_mini_close(&st);
		return;
	}
	int B = (int)sh[0], V = (int)sh[2];
	int64_t T = sh[1];
	float *lp = malloc(sizeof(float) * B * T * V);
	log_softmax_rows(logits, lp, B * T, V);
	int checked = 0;
	for (int b = 0; b < B; b++) {
		char k1[32], k2[32];
		snprintf(k1, sizeof k1, "align%d", b);
		snprintf(k2, sizeof k2, "align_scores%d", b);
		const int32_t *ref = st_mini_get(&st, k1, "I32", &n, s1, &nd);
		const float *rsc = st_mini_get(&st, k2, "F32", &n, s1, &nd);
		CHECKF(ref && rsc, "fixture lacks %s", k1);
		if (!ref || !rsc)
			continue;
		CHECK_EQ_INT(n, il[b]);
		int tgt[16];
		for (int i = 0; i < tl[b]; i++)
			tgt[i] = tg[b * sht[1] + i];
		align_opts o = { .blank = 0, .star_id = -1 };
		align_path p;
		CHECK_OK(align_viterbi(lp + b * T * V, il[b], V, V, tgt, tl[b], &o, &p));
		if (!p.labels)
			continue;
		int lab_bad = 0, sc_bad = 0;
		for (int64_t t = 0; t < il[b]; t++) {
			lab_bad += p.labels[t] != ref[t];
			sc_bad += !(fabs(p.scores[t] - rsc[t]) <= 1e-6);
		}
		CHECKF(lab_bad == 0, "utt %d: %d frame labels differ", b, lab_bad);
		CHECKF(sc_bad == 0, "utt %d: %d frame scores differ", b, sc_bad);
		/* the checkpointed path gives the same answer */
		align_path q;
		o.mem_budget = 8;
		CHECK_OK(align_viterbi(lp + b * T * V, il[b], V, V, tgt, tl[b], &o, &q));
		CHECK(q.blocks > 1);
		if (q.labels)
			CHECK(!memcmp(q.labels, p.labels, sizeof(int) * il[b]));
		align_path_free(&q);
		align_path_free(&p);
		checked++;
	}
	CHECK_EQ_INT(checked, 3);
	free(lp);
	st_mini_close(&st);
}

/* Exhaustive search over every valid state path: the best score and path. */
static double brute_best;
static int64_t brute_path[32], brute_cur[32];
static void brute(const float *lp, int64_t T, int V, const int *tgt, int64_t L, int64_t t, int64_t s, double acc, int blank)
{
	int64_t S = 2 * L + 1;
	int lab = (s & 1) ? tgt[s / 2] : blank;
	double v = acc + (lab == V ? 0.0 : lp[t * V + lab]);
	brute_cur[t] = s;
	if (t == T - 1) {
		if ((s == S - 1 || s == S - 2) && v > brute_best) {
			brute_best = v;
			memcpy(brute_path, brute_cur, sizeof(int64_t) * T);
		}
		return;
	}
	for (int d = 0; d <= 2; d++) {
		int64_t ns = s + d;
		if (ns >= S)
			break;
		if (d == 2 && !((ns & 1) && tgt[ns / 2] != tgt[ns / 2 - 1]))
			continue;
		brute(lp, T, V, tgt, L, t + 1, ns, v, blank);
	}
}

static void test_brute_force(void)
{
	int trials = 0, impossible = 0, edge = 0;
	for (int trial = 0; trial < 300; trial++) {
		int V = 3 + (int)(urand() * 3), blank = (int)(urand() * V);
		int64_t L = (int64_t)(urand() * 5), T = 1 + (int64_t)(urand() * 9);
		int tgt[8];
		for (int64_t i = 0; i < L; i++) {
			do
				tgt[i] = (int)(urand() * V);
			while (tgt[i] == blank);
			if (i > 0 && urand() < 0.3)
				tgt[i] = tgt[i - 1];   /* repeats */
		}
		if (trial % 10 == 0)   /* force the T = L + R edge */
			T = ctc_min_frames(tgt, L) > 0 ? ctc_min_frames(tgt, L) : 1;
		float lp[16 * 8];
		for (int64_t i = 0; i < T * V; i++)
			lp[i] = (float)(-5 * urand());
		align_opts o = { .blank = blank, .star_id = -1 };
		align_path p;
		int64_t need = ctc_min_frames(tgt, L);
		int rc = align_viterbi(lp, T, V, V, tgt, L, &o, &p);
		if (T < need) {
			CHECK_EQ_INT(rc, ACC_EINVAL);
			CHECKF(strstr(err_msg(), "too long") != NULL, "message: %s", err_msg());
			impossible++;
			continue;
		}
		edge += T == need;
		CHECK_OK(rc);
		if (rc)
			continue;
		brute_best = -INFINITY;
		for (int64_t s0 = 0; s0 < 2 && s0 < 2 * L + 1; s0++)
			brute(lp, T, V, tgt, L, 0, s0, 0.0, blank);
		CHECKF(fabs(p.score - brute_best) <= 1e-9, "trial %d: score %.12g vs best %.12g", trial, p.score, brute_best);
		for (int64_t t = 0; t < T; t++) {
			int64_t s = brute_path[t];
			int64_t want = (s & 1) ? s / 2 : -1;
			if (p.tok[t] != want) {
				CHECKF(0, "trial %d frame %lld: position %lld vs %lld", trial, (long long)t, (long long)p.tok[t], (long long)want);
				break;
			}
		}
		align_path_free(&p);
		trials++;
	}
	CHECK(trials > 150 && impossible > 5 && edge > 20);
}

static void test_edge_and_star(void)
{
	/* T = L + R: "1 1 2" in 4 frames must be 1 _ 1 2 whatever the scores */
	enum { V = 4 };
	float lp[8 * (V + 1)];
	for (int i = 0; i < 8 * V; i++)
		lp[i] = (float)(-3 * urand());
	int t1[3] = { 1, 1, 2 };
	align_opts o = { .blank = 0, .star_id = -1 };
	align_path p;
	CHECK_OK(align_viterbi(lp, 4, V, V, t1, 3, &o, &p));
	int want[4] = { 1, 0, 1, 2 };
	for (int t = 0; t < 4 && p.labels; t++)
		CHECK_EQ_INT(p.labels[t], want[t]);
	align_path_free(&p);
	CHECK_EQ_INT(align_viterbi(lp, 3, V, V, t1, 3, &o, &p), ACC_EINVAL);
	/* the blank inside targets is rejected */
	int bad[2] = { 1, 0 };
	CHECK_EQ_INT(align_viterbi(lp, 4, V, V, bad, 2, &o, &p), ACC_EINVAL);
	/* empty target: every frame blank */
	CHECK_OK(align_viterbi(lp, 5, V, V, t1, 0, &o, &p));
	for (int t = 0; t < 5 && p.labels; t++)
		CHECK_EQ_INT(p.labels[t], 0);
	align_path_free(&p);
	CHECK_EQ_INT(align_viterbi(lp, 0, V, V, t1, 1, &o, &p), ACC_EINVAL);

	/* <star> absorbs untranscribed frames at the edges: 8 frames, speech
	 * "1 2" in frames 3..4, everything else looks like token 3 (not in the
	 * transcript); star (id V) at both edges. */
	enum { T = 8 };
	float e[T * V];
	for (int t = 0; t < T; t++)
		for (int v = 0; v < V; v++)
			e[t * V + v] = -8.0f;
	for (int t = 0; t < T; t++)
		e[t * V + 3] = -0.05f;
	e[3 * V + 3] = e[4 * V + 3] = -8.0f;
	e[3 * V + 1] = -0.05f;
	e[4 * V + 2] = -0.05f;
	int ts[4] = { V, 1, 2, V };
	o.star_id = V;
	CHECK_OK(align_viterbi(e, T, V, V, ts, 4, &o, &p));
	int ws[T] = { V, V, V, 1, 2, V, V, V };
	for (int t = 0; t < T && p.labels; t++)
		CHECKF(p.labels[t] == ws[t], "frame %d: %d vs %d", t, p.labels[t], ws[t]);
	for (int t = 0; t < T && p.labels; t++)
		if (p.labels[t] == V)
			CHECK(p.scores[t] == 0.0f);
	align_path_free(&p);
	/* star id must be V */
	o.star_id = V + 1;
	CHECK_EQ_INT(align_viterbi(e, T, V, V, ts, 4, &o, &p), ACC_EINVAL);
}

static void test_spans(void)
{
	/* "ab|c" with planted frames: a=1 b=2 |=3 c=1 */
	enum { V = 5, T = 12 };
	int lab[T] = { 0, 1, 1, 0, 2, 3, 3, 0, 1, 1, 1, 0 };
	float e[T * V];
	for (int t = 0; t < T; t++)
		for (int v = 0; v < V; v++)
			e[t * V + v] = v == lab[t] ? -0.1f : -6.0f;
	int tgt[4] = { 1, 2, 3, 1 };
	align_opts o = { .blank = 0, .star_id = -1 };
	align_path p;
	CHECK_OK(align_viterbi(e, T, V, V, tgt, 4, &o, &p));
	align_span *tok = NULL, *w = NULL;
	int64_t nw = 0;
	CHECK_OK(align_token_spans(&p, 4, &tok));
	if (!tok) {
		align_path_free(&p);
		return;
	}
	CHECK_EQ_INT(tok[0].start, 1);
	CHECK_EQ_INT(tok[0].end, 3);
	CHECK_EQ_INT(tok[2].start, 5);
	CHECK_EQ_INT(tok[2].end, 7);
	CHECK_EQ_INT(tok[3].start, 8);
	CHECK_EQ_INT(tok[3].end, 11);
	CHECK_NEAR(tok[3].mean_logp, -0.1, 1e-6);
	CHECK_NEAR(tok[3].mean_p, exp(-0.1), 1e-6);
	CHECK_OK(align_word_spans(tok, 4, T, tgt, 3, -1, &w, &nw));
	CHECK_EQ_INT(nw, 2);
	if (nw == 2) {
		CHECK_EQ_INT(w[0].start, 1);   /* the first word: its first character */
		CHECK_EQ_INT(w[0].end, 7);     /* a a _ b | |: the end of the delimiter (= b's end + 2) */
		CHECK_EQ_INT(w[0].first, 0);
		CHECK_EQ_INT(w[0].last, 1);
		CHECK_EQ_INT(w[1].start, 7);   /* the end of the delimiter, 1 frame before c */
		CHECK_EQ_INT(w[1].end, T);     /* the last word: c's end + 2, clamped to T */
	}
	free(w);
	w = NULL;
	/* a pause: the delimiter right after a, then silence, then c: a ends
	 * at the delimiter's end, c starts 1 frame before its first frame */
	int tp[4] = { 1, 3, 1, -1 };
	align_span pt[3] = { { .first = 0, .last = 0, .start = 1, .end = 2 }, { .first = 1, .last = 1, .start = 2, .end = 3 },
	                     { .first = 2, .last = 2, .start = 9, .end = 10 } };
	CHECK_OK(align_word_spans(pt, 3, 11, tp, 3, -1, &w, &nw));
	CHECK_EQ_INT(nw, 2);
	if (nw == 2) {
		CHECK_EQ_INT(w[0].end, 3);
		CHECK_EQ_INT(w[1].start, 8);
		CHECK_EQ_INT(w[1].end, 11);
	}
	CHECK_NEAR(align_frame_time(8), 0.16, 1e-12);
	CHECK_NEAR(align_frame_time(180000), 3600.0, 1e-9);
	double m, mw;
	align_quality(&p, 0, T, -1, 3, &m, &mw);
	double sum = 0;
	for (int t = 0; t < T; t++)
		sum += e[t * V + lab[t]];
	CHECK_NEAR(m, sum / T, 1e-6);
	CHECK(mw <= m + 1e-12);
	free(tok);
	free(w);
	align_path_free(&p);
}

static long maxrss_kb(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* One hour of frames (180,000) with a planted alignment of 1,500 tokens:
 * the path is recovered exactly, in checkpointed mode, with the memory the
 * call holds (its own accounting) and the process peak RSS growth bounded. */
static void test_one_hour(void)
{
	const int64_t T = 180000, L = 1500;
	const int V = 32;
	float *e = malloc(sizeof(float) * T * V);
	int *tgt = malloc(sizeof(int) * L), *want = malloc(sizeof(int) * T);
	if (!e || !tgt || !want) {
		CHECK(0);
		return;
	}
	for (int64_t i = 0; i < L; i++) {
		tgt[i] = 1 + (int)(urand() * (V - 1));
		if (i > 0 && urand() < 0.1)
			tgt[i] = tgt[i - 1];
	}
	/* planted path: token i occupies a few frames, blanks fill the rest */
	int64_t per = T / L, t = 0;
	for (int64_t i = 0; i < L; i++) {
		int64_t len = 1 + (int64_t)(urand() * 4);
		for (int64_t k = 0; k < per; k++, t++)
			want[t] = k >= 2 && k < 2 + len ? tgt[i] : 0;
	}
	if (t < T)
		memset(want + t, 0, sizeof(int) * (size_t)(T - t));
	for (int64_t f = 0; f < T; f++)
		for (int v = 0; v < V; v++)
			e[f * V + v] = v == want[f] ? -0.05f : (float)(-6 - 2 * urand());
	long rss0 = maxrss_kb();
	align_opts o = { .blank = 0, .star_id = -1, .mem_budget = 16 << 20 };
	align_path p;
	CHECK_OK(align_viterbi(e, T, V, V, tgt, L, &o, &p));
	long grew_kb = maxrss_kb() - rss0;
	if (p.labels) {
		int64_t bad = 0;
		for (int64_t f = 0; f < T; f++)
			bad += p.labels[f] != want[f];
		CHECKF(bad == 0, "%lld frames differ from the planted path", (long long)bad);
		CHECK(p.blocks > 1);
		/* a full backpointer table would take T*(2L+1)/4 = 135 MB */
		CHECKF(p.peak_bytes < (size_t)40 << 20, "held %zu bytes", p.peak_bytes);
		CHECKF(grew_kb < 64 * 1024, "peak RSS grew by %ld kB", grew_kb);
	}
	align_path_free(&p);
	free(e);
	free(tgt);
	free(want);
}

int main(void)
{
	testrand_seed(0x2545F4914F6CDD1Dull);   /* this file's urand() stream */
	RUN(test_torchaudio_parity);
	RUN(test_brute_force);
	RUN(test_edge_and_star);
	RUN(test_spans);
	RUN(test_one_hour);
	return check_summary();
}
