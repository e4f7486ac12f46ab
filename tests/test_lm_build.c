/*
 * test_lm_build.c — modified Kneser-Ney estimation checked against values
 * derived by hand (below, in the comments) for a small corpus.
 *
 * Corpus (6 sentences), padded:
 *   1 <s> a b </s>    2 <s> a </s>    3 <s> b c </s>
 *   4 <s> a b </s>    5 <s> a c </s>  6 <s> c c </s>
 *
 * ---- Bigram model (order 2) ----
 * Bigram raw counts (highest order: adjusted = raw):
 *   <s> a 4, <s> b 1, <s> c 1, a b 2, a </s> 1, a c 1, b </s> 2, b c 1,
 *   c </s> 3, c c 1.
 * Count-of-counts t1..t4 = 6, 2, 1, 1.  Y = 6/(6+2*2) = 0.6
 *   D1 = 1 - 2*0.6*2/6 = 0.6;  D2 = 2 - 3*0.6*1/2 = 1.1;  D3+ = 3 - 4*0.6*1/1 = 0.6
 * Unigram adjusted counts = distinct left neighbours:
 *   a {<s>} 1, b {<s>,a} 2, c {<s>,a,b,c} 4, </s> {a,b,c} 3; <s>, <unk> 0.
 * Count-of-counts 1,1,1,1.  Y = 1/3:  D1 = 1/3, D2 = 1, D3+ = 5/3.
 * Unigrams: sum = 10, N1 = 1, N2 = 1, N3+ = 2:
 *   gamma() = (1/3 + 1 + 2*5/3)/10 = 7/15;  |V| = {a,b,c,</s>,<unk>} = 5
 *   p(a) = (1-1/3)/10 + 7/75 = 4/25;   p(b) = 1/10 + 7/75 = 29/150
 *   p(c) = (4-5/3)/10 + 7/75 = 49/150; p(</s>) = (3-5/3)/10 + 7/75 = 17/75
 *   p(<unk>) = 7/75  (the five sum to 1)
 * Context <s>: a 4, b 1, c 1: sum 6, gamma = (0.6*2 + 0.6*1)/6 = 0.3
 *   p(a|<s>) = 3.4/6 + 0.3*4/25 = 0.6146667
 *   p(b|<s>) = 0.4/6 + 0.3*29/150 = 0.1246667
 * Context a: b 2, </s> 1, c 1: sum 4, gamma = (0.6*2 + 1.1)/4 = 0.575
 *   p(b|a) = 0.9/4 + 0.575*29/150 = 0.3361667
 *   p(</s>|a) = 0.4/4 + 0.575*17/75 = 0.2303333
 * Context b: </s> 2, c 1: sum 3, gamma = (0.6 + 1.1)/3 = 17/30
 *   p(</s>|b) = 0.9/3 + 17/30*17/75 = 0.4284444
 * Context c: </s> 3, c 1: sum 4, gamma = (0.6 + 0.6)/4 = 0.3
 *   p(</s>|c) = 2.4/4 + 0.3*17/75 = 0.668;  p(c|c) = 0.4/4 + 0.3*49/150 = 0.198
 * Unseen "b a": gamma(b) * p(a) = 17/30 * 4/25; back-offs log10 of the gammas.
 *
 * ---- Trigram model (order 3), same corpus ----
 * Trigram raw counts: <s> a b 2, a b </s> 2, and seven more of count 1
 *   -> t = 7, 2, 0, 0: fallback discounts 0.5, 1, 1.5.
 * Bigram adjusted counts: those starting with <s> keep raw counts (<s> a 4,
 *   <s> b 1, <s> c 1); the others count distinct left words in trigrams:
 *   a b 1, a </s> 1, a c 1, b </s> 1 (a b </s>), b c 1, c c 1,
 *   c </s> 3 (b c </s>, a c </s>, c c </s>)
 *   -> t = 8, 0, 1, 1: fallback again.  Unigrams as in the bigram model.
 * p(a|<s>): a 4, b 1, c 1, sum 6, gamma = (0.5*2 + 1.5)/6 = 5/12
 *   = (4-1.5)/6 + 5/12 * 4/25 = 29/60
 * p(b|a) (bigram): b 1, </s> 1, c 1, sum 3, gamma = 0.5*3/3 = 0.5
 *   = 0.5/3 + 0.5 * 29/150 = 79/300
 * p(b|<s> a): b 2, </s> 1, c 1, sum 4, gamma = (0.5*2 + 1)/4 = 0.5
 *   = (2-1)/4 + 0.5 * 79/300 = 229/600
 * p(</s>|c) (bigram): </s> 3, c 1, sum 4, gamma = (0.5 + 1.5)/4 = 0.5
 *   = 1.5/4 + 0.5 * 17/75 = 293/600
 * p(</s>|b c): </s> 1, sum 1, gamma = 0.5:  = 0.5/1 + 0.5 * 293/600 = 893/1200
 * p(a|c c): "c c a" unseen -> gamma(c c) = 0.5; "c a" unseen -> gamma(c) = 0.5
 *   = 0.5 * 0.5 * 4/25 = 0.04
 */
#include "decode/arpa.h"
#include "check.h"
#include "base/err.h"
#include "decode/lm_build.h"

static const char *corpus[] = { "a b", "a", "b c", "a b", "a c", "c c" };

static arpa *build(int order, lm_build_stats *st)
{
	lm_build *b = NULL;
	arpa *lm = NULL;
	CHECK_OK(lm_build_new(&b, order));
	for (size_t i = 0; i < 6; i++)
		CHECK_OK(lm_build_add(b, corpus[i]));
	CHECK_OK(lm_build_add(b, "   "));   /* empty: ignored */
	CHECK_OK(lm_build_estimate(b, &lm, st));
	lm_build_free(b);
	return lm;
}

static double P(arpa *lm, const char *h1, const char *h2, const char *w)
{
	int32_t ctx[2];
	int n = 0;
	if (h1)
		ctx[n++] = arpa_word_id(lm, h1);
	if (h2)
		ctx[n++] = arpa_word_id(lm, h2);
	return pow(10.0, arpa_logp(lm, ctx, n, arpa_word_id(lm, w)));
}

static void test_kn_bigram(void)
{
	lm_build_stats st;
	arpa *lm = build(2, &st);
	if (!lm)
		return;
	CHECK_EQ_INT(st.sentences, 6);
	CHECK_EQ_INT(st.tokens, 11);
	CHECK_EQ_INT(st.ngrams[0], 6);   /* <unk> <s> </s> a b c */
	CHECK_EQ_INT(st.ngrams[1], 10);
	CHECK_EQ_INT(st.coc[1][0], 6);
	CHECK_EQ_INT(st.coc[1][1], 2);
	CHECK_EQ_INT(st.coc[1][2], 1);
	CHECK_EQ_INT(st.coc[1][3], 1);
	CHECK(!st.fallback[0] && !st.fallback[1]);
	CHECK_NEAR(st.discount[1][0], 0.6, 1e-9);
	CHECK_NEAR(st.discount[1][1], 1.1, 1e-9);
	CHECK_NEAR(st.discount[1][2], 0.6, 1e-9);
	CHECK_NEAR(st.discount[0][0], 1.0 / 3, 1e-9);
	CHECK_NEAR(st.discount[0][1], 1.0, 1e-9);
	CHECK_NEAR(st.discount[0][2], 5.0 / 3, 1e-9);
	const double tol = 2e-6;  /* floats in the model */
	CHECK_NEAR(P(lm, NULL, NULL, "a"), 4.0 / 25, tol);
	CHECK_NEAR(P(lm, NULL, NULL, "b"), 29.0 / 150, tol);
	CHECK_NEAR(P(lm, NULL, NULL, "c"), 49.0 / 150, tol);
	CHECK_NEAR(P(lm, NULL, NULL, "</s>"), 17.0 / 75, tol);
	CHECK_NEAR(P(lm, NULL, NULL, "<unk>"), 7.0 / 75, tol);
	CHECK_NEAR(P(lm, NULL, NULL, "zzz"), 7.0 / 75, tol);   /* unknown = <unk> */
	CHECK_NEAR(P(lm, "<s>", NULL, "a"), 0.6146667, tol);
	CHECK_NEAR(P(lm, "<s>", NULL, "b"), 0.1246667, tol);
	CHECK_NEAR(P(lm, "a", NULL, "b"), 0.3361667, tol);
	CHECK_NEAR(P(lm, "a", NULL, "</s>"), 0.2303333, tol);
	CHECK_NEAR(P(lm, "b", NULL, "</s>"), 0.4284444, tol);
	CHECK_NEAR(P(lm, "c", NULL, "</s>"), 0.668, tol);
	CHECK_NEAR(P(lm, "c", NULL, "c"), 0.198, tol);
	CHECK_NEAR(P(lm, "b", NULL, "a"), 17.0 / 30 * 4 / 25, tol);
	float bo;
	int32_t b = arpa_word_id(lm, "b"), s = arpa_bos(lm);
	CHECK(arpa_find(lm, 1, &b, NULL, &bo));
	CHECK_NEAR(bo, log10(17.0 / 30), 1e-6);
	float ps;
	CHECK(arpa_find(lm, 1, &s, &ps, &bo));
	CHECK_NEAR(ps, -99, 1e-9);
	CHECK_NEAR(bo, log10(0.3), 1e-6);
	/* Each context's distribution sums to 1 over the vocabulary (minus <s>). */
	for (int32_t h = 0; h < arpa_vocab_size(lm); h++) {
		if (h == arpa_eos(lm))
			continue;
		double sum = 0;
		for (int32_t w = 0; w < arpa_vocab_size(lm); w++)
			if (w != s)
				sum += pow(10.0, arpa_logp(lm, &h, 1, w));
		CHECKF(fabs(sum - 1) < 1e-5, "context %s sums to %.7f", arpa_word(lm, h), sum);
	}
	arpa_free(lm);
}

static void test_kn_trigram(void)
{
	lm_build_stats st;
	arpa *lm = build(3, &st);
	if (!lm)
		return;
	CHECK(st.fallback[2]);
	CHECK(st.fallback[1]);
	CHECK(!st.fallback[0]);
	CHECK_EQ_INT(st.coc[2][0], 7);
	CHECK_EQ_INT(st.coc[2][1], 2);
	CHECK_EQ_INT(st.coc[1][0], 8);
	CHECK_EQ_INT(st.coc[1][2], 1);
	CHECK_EQ_INT(st.coc[1][3], 1);
	CHECK_NEAR(st.discount[2][0], 0.5, 1e-12);
	CHECK_NEAR(st.discount[2][2], 1.5, 1e-12);
	const double tol = 2e-6;
	CHECK_NEAR(P(lm, NULL, "<s>", "a"), 29.0 / 60, tol);
	CHECK_NEAR(P(lm, NULL, "a", "b"), 79.0 / 300, tol);
	CHECK_NEAR(P(lm, "<s>", "a", "b"), 229.0 / 600, tol);
	CHECK_NEAR(P(lm, NULL, "c", "</s>"), 293.0 / 600, tol);
	CHECK_NEAR(P(lm, "b", "c", "</s>"), 893.0 / 1200, tol);
	CHECK_NEAR(P(lm, "c", "c", "a"), 0.04, tol);
	CHECK_NEAR(P(lm, NULL, NULL, "b"), 29.0 / 150, tol);
	/* Sentence-level: every 2-word context sums to 1. */
	int32_t V = arpa_vocab_size(lm), s = arpa_bos(lm);
	for (int32_t h1 = 0; h1 < V; h1++)
		for (int32_t h2 = 0; h2 < V; h2++) {
			if (h2 == s || h1 == arpa_eos(lm) || h2 == arpa_eos(lm))
				continue;
			int32_t ctx[2] = { h1, h2 };
			double sum = 0;
			for (int32_t w = 0; w < V; w++)
				if (w != s)
					sum += pow(10.0, arpa_logp(lm, ctx, 2, w));
			CHECKF(fabs(sum - 1) < 1e-5, "context %s %s sums to %.7f", arpa_word(lm, h1), arpa_word(lm, h2), sum);
		}
	arpa_free(lm);
}

/* A 4-gram model of a larger pseudo-random corpus: every conditional
 * distribution (listed contexts, unlisted ones, mixed) sums to 1 over the
 * vocabulary, and estimated discounts stay in (0, k]. */
static void test_kn_order4_normalized(void)
{
	static const char *w[] = { "ka", "lo", "mi", "nu", "pe", "ra", "si", "to", "vu", "we" };
	uint64_t s = 12345;
	lm_build *b = NULL;
	arpa *lm = NULL;
	lm_build_stats st;
	CHECK_OK(lm_build_new(&b, 4));
	for (int i = 0; i < 400; i++) {
		char buf[256];
		size_t o = 0;
		int len = 2 + (int)(s % 7), prev = (int)((s >> 8) % 10);
		for (int k = 0; k < len; k++) {
			s = s * 6364136223846793005ull + 1442695040888963407ull;
			int x = (s >> 33) % 10 < 6 ? (prev + 1) % 10 : (int)((s >> 40) % 10);   /* mostly a chain */
			o += snprintf(buf + o, sizeof buf - o, "%s%s", k ? " " : "", w[x]);
			prev = x;
		}
		CHECK_OK(lm_build_add(b, buf));
	}
	CHECK_OK(lm_build_estimate(b, &lm, &st));
	lm_build_free(b);
	if (!lm)
		return;
	for (int n = 0; n < 4; n++)
		if (!st.fallback[n])
			for (int k = 0; k < 3; k++)
				CHECK(st.discount[n][k] > 0 && st.discount[n][k] <= k + 1);
	CHECK(!st.fallback[0] || !st.fallback[1] || !st.fallback[2] || !st.fallback[3]);
	int32_t V = arpa_vocab_size(lm), bos = arpa_bos(lm), eos = arpa_eos(lm), bad = 0, checked = 0;
	for (int trial = 0; trial < 300; trial++) {
		int32_t ctx[3];
		for (int k = 0; k < 3; k++) {
			s = s * 6364136223846793005ull + 1442695040888963407ull;
			ctx[k] = (int32_t)((s >> 33) % V);
			if (ctx[k] == eos)
				ctx[k] = bos;
		}
		/* <s> only at the start of a context */
		if (ctx[1] == bos || ctx[2] == bos)
			continue;
		double sum = 0;
		for (int32_t x = 0; x < V; x++)
			if (x != bos)
				sum += pow(10.0, arpa_logp(lm, ctx, 3, x));
		checked++;
		if (fabs(sum - 1) > 1e-4) {
			if (bad++ < 3)
				fprintf(stderr, "  context %s %s %s sums to %.6f\n", arpa_word(lm, ctx[0]), arpa_word(lm, ctx[1]),
					arpa_word(lm, ctx[2]), sum);
		}
	}
	CHECK_EQ_INT(bad, 0);
	CHECK(checked > 100);
	CHECK(arpa_count(lm, 4) > 100);
	arpa_free(lm);
}

static void test_errors(void)
{
	lm_build *b = NULL;
	arpa *lm = NULL;
	CHECK_OK(lm_build_new(&b, 3));
	CHECK_EQ_INT(lm_build_estimate(b, &lm, NULL), ACC_EINVAL);   /* no sentences */
	CHECK_EQ_INT(lm_build_add(b, "a </s> b"), ACC_EINVAL);
	lm_build_free(b);
	CHECK_EQ_INT(lm_build_new(&b, 0), ACC_EINVAL);
	CHECK(b == NULL);
}

int main(void)
{
	RUN(test_kn_bigram);
	RUN(test_kn_trigram);
	RUN(test_kn_order4_normalized);
	RUN(test_errors);
	return check_summary();
}
