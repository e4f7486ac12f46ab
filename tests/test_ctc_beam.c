/*
 * test_ctc_beam.c — CTC greedy and prefix beam search: agreement with greedy
 * at beam 1 without LM on peaky emissions, exact prefix probabilities
 * against brute-force path enumeration, an LM that must change the answer,
 * lexicon constraint, determinism.
 */
#include "decode/arpa.h"
#include "check.h"
#include "testrand.h"
#include "decode/ctc_beam.h"
#include "base/err.h"
#include "decode/lm_build.h"

/* tokens: 0 blank, 1 "|", 2.. 'a'..'z' */
#define NTOK 28
static const char *tokens[NTOK];
static char letters[26][2];

static void init_tokens(void)
{
	tokens[0] = "<pad>";
	tokens[1] = "|";
	for (int i = 0; i < 26; i++) {
		letters[i][0] = (char)('a' + i);
		letters[i][1] = 0;
		tokens[2 + i] = letters[i];
	}
}

static int tok(char c) { return c == '|' ? 1 : c == '_' ? 0 : 2 + (c - 'a'); }

/* One frame: the listed (token, prob) pairs; the remaining mass is spread
 * evenly over the other tokens. */
static void frame(float *row, int V, int n, const int *ids, const double *ps)
{
	double rest = 1;
	for (int i = 0; i < n; i++)
		rest -= ps[i];
	for (int v = 0; v < V; v++)
		row[v] = (float)log(rest / (V - n));
	for (int i = 0; i < n; i++)
		row[ids[i]] = (float)log(ps[i]);
}

/* Frames spelling s ('_' = blank) with prob p each. */
static int spell_frames(float *m, int V, const char *s, double p)
{
	int t = 0;
	for (; s[t]; t++) {
		int id = tok(s[t]);
		frame(m + (size_t)t * V, V, 1, &id, &p);
	}
	return t;
}

static void test_beam1_equals_greedy(void)
{
	init_tokens();
	ctc_beam_opts o;
	ctc_beam_defaults(&o);
	o.beam = 1;
	o.beta = 0;
	o.top_k = 0;
	o.cutoff_prob = 1;
	ctc_decoder *d = NULL;
	CHECK_OK(ctc_decoder_new(&d, tokens, NTOK, 0, 1, NULL, &o));
	if (!d)
		return;
	/* Realistic peaky emissions: each frame's argmax holds >= 0.7 of the
	 * mass (a trained CTC model is far peakier still).  Without that
	 * condition prefix search legitimately differs from the best path (see
	 * test_prefix_merging). */
	int mism = 0, nonempty = 0;
	for (int trial = 0; trial < 300; trial++) {
		int T = 5 + (int)(urand() * 60), V = 6 + (int)(urand() * (NTOK - 6));
		float *m = malloc(sizeof(float) * T * V);
		for (int t = 0; t < T; t++) {
			int top = urand() < 0.5 ? 0 : (int)(urand() * V);
			double ptop = 0.7 + 0.29 * urand(), rest = 1 - ptop, sum = 0;
			double w[NTOK];
			for (int v = 0; v < V; v++)
				sum += (w[v] = v == top ? 0 : urand());
			for (int v = 0; v < V; v++)
				m[t * V + v] = (float)log(v == top ? ptop : rest * w[v] / sum + 1e-12);
		}
		ctc_decoder *dv = NULL;
		char *g = NULL, *b = NULL;
		CHECK_OK(ctc_decoder_new(&dv, tokens, V, 0, 1, NULL, &o));
		CHECK_OK(ctc_greedy(m, T, V, V, tokens, 0, 1, &g));
		if (dv)
			CHECK_OK(ctc_decoder_decode(dv, m, T, V, &b, NULL));
		if (g && b && strcmp(g, b)) {
			if (mism < 3)
				fprintf(stderr, "  greedy '%s' beam '%s'\n", g, b);
			mism++;
		}
		nonempty += g && *g;
		free(g);
		free(b);
		free(m);
		ctc_decoder_free(dv);
	}
	CHECK_EQ_INT(mism, 0);
	CHECK(nonempty > 200);
	ctc_decoder_free(d);
}

/* Best path != most probable prefix: two frames with P(a) = 0.4, P(blank)
 * = 0.6.  Greedy takes blank, blank -> "".  Prefix probabilities:
 * P("") = 0.36; P("a") = aa + a_ + _a = 0.16 + 0.24 + 0.24 = 0.64. */
static void test_prefix_merging(void)
{
	init_tokens();
	float m[2 * NTOK];
	int ids[2] = { 0, tok('a') };
	double ps[2] = { 0.6, 0.4 - 1e-9 * (NTOK - 2) };
	frame(m, NTOK, 2, ids, ps);
	frame(m + NTOK, NTOK, 2, ids, ps);
	char *g = NULL, *b = NULL;
	double score;
	CHECK_OK(ctc_greedy(m, 2, NTOK, NTOK, tokens, 0, 1, &g));
	CHECK_STR(g, "");
	ctc_beam_opts o;
	ctc_beam_defaults(&o);
	o.beam = 4;
	o.beta = 0;
	ctc_decoder *d = NULL;
	CHECK_OK(ctc_decoder_new(&d, tokens, NTOK, 0, 1, NULL, &o));
	if (d)
		CHECK_OK(ctc_decoder_decode(d, m, 2, NTOK, &b, &score));
	CHECK_STR(b, "a");
	CHECK_NEAR(score, log(0.64), 1e-4);
	free(g);
	free(b);
	ctc_decoder_free(d);
}

/* Brute force: the sum over all V^T paths collapsing to each string; the
 * beam search with no pruning and a wide beam must find the most probable
 * string with exactly its log-probability. */
static void collapse(const int *path, int T, char *out)
{
	int prev = -1, n = 0;
	for (int t = 0; t < T; t++) {
		if (path[t] != prev && path[t] != 0)
			out[n++] = path[t] == 1 ? ' ' : tokens[path[t]][0];
		prev = path[t];
	}
	out[n] = 0;
}

static void test_brute_force(void)
{
	init_tokens();
	enum { V = 4, T = 6 };   /* blank, |, a, b */
	for (int trial = 0; trial < 20; trial++) {
		float m[T * V];
		for (int t = 0; t < T; t++) {
			double w[V], s = 0;
			for (int v = 0; v < V; v++)
				s += (w[v] = 0.05 + urand());
			for (int v = 0; v < V; v++)
				m[t * V + v] = (float)log(w[v] / s);
		}
		/* enumerate paths */
		static char strs[4096][T + 1];
		static double probs[4096];
		int nstr = 0, path[T];
		for (int code = 0; code < 4096; code++) {
			int c = code;
			double lp = 0;
			for (int t = 0; t < T; t++) {
				path[t] = c % V;
				c /= V;
				lp += m[t * V + path[t]];
			}
			char s[T + 1];
			collapse(path, T, s);
			/* the decoder's text view: trim and merge spaces */
			char norm[T + 1];
			int n = 0;
			for (int i = 0; s[i]; i++) {
				if (s[i] == ' ' && (n == 0 || norm[n - 1] == ' '))
					continue;
				norm[n++] = s[i];
			}
			while (n && norm[n - 1] == ' ')
				n--;
			norm[n] = 0;
			/* Paths differing only in delimiters at the start or doubled
			 * delimiters are the same prefix for the decoder, but a final
			 * delimiter is a different prefix ("a|" vs "a"): keep the raw
			 * collapsed string as the key except for merged delimiters. */
			char key[T + 2];
			int kn = 0;
			for (int i = 0; s[i]; i++) {
				if (s[i] == ' ' && (kn == 0 || key[kn - 1] == ' '))
					continue;
				key[kn++] = s[i];
			}
			key[kn] = 0;
			int j;
			for (j = 0; j < nstr; j++)
				if (!strcmp(strs[j], key))
					break;
			if (j == nstr) {
				strcpy(strs[nstr], key);
				probs[nstr++] = exp(lp);
			} else {
				probs[j] += exp(lp);
			}
		}
		int best = 0;
		for (int j = 1; j < nstr; j++)
			if (probs[j] > probs[best])
				best = j;
		ctc_beam_opts o;
		ctc_beam_defaults(&o);
		o.beam = 5000;
		o.beam_prune = 0;
		o.beta = 0;
		o.top_k = 0;
		o.cutoff_prob = 1;
		ctc_decoder *d = NULL;
		char *b = NULL;
		double score = 0;
		CHECK_OK(ctc_decoder_new(&d, tokens, V, 0, 1, NULL, &o));
		if (d)
			CHECK_OK(ctc_decoder_decode(d, m, T, V, &b, &score));
		/* compare texts (trailing delimiter removed by the decoder) */
		char want[T + 2];
		strcpy(want, strs[best]);
		size_t wl = strlen(want);
		while (wl && want[wl - 1] == ' ')
			want[--wl] = 0;
		CHECK_STR(b, want);
		CHECK_NEAR(score, log(probs[best]), 1e-4);
		free(b);
		ctc_decoder_free(d);
	}
}

static arpa *toy_lm(void)
{
	static const char *sents[] = {
		"i saw their dog", "i saw their cat", "we saw their house", "you saw their car",
		"go over there", "put it over there", "stand over there now", "over there",
		"their dog is over there", "the dog",
	};
	lm_build *b = NULL;
	arpa *lm = NULL;
	CHECK_OK(lm_build_new(&b, 3));
	for (size_t i = 0; i < sizeof sents / sizeof *sents; i++)
		CHECK_OK(lm_build_add(b, sents[i]));
	CHECK_OK(lm_build_estimate(b, &lm, NULL));
	lm_build_free(b);
	return lm;
}

/* "saw" then acoustically ambiguous "there"/"their" frames: AMB1 r 0.5 /
 * i 0.4, AMB2 e 0.5 / r 0.4.  Acoustics favour "there" (0.25 vs 0.16);
 * after "saw" the LM (trained on "saw their ...") must flip it to "their",
 * and after "over" the LM must keep "there" even when the acoustics lean
 * to "their" (i 0.5 / r 0.4, r 0.5 / e 0.4). */
static int ambiguous(float *m, const char *first, int lean_their)
{
	char spelled[64];
	int t = 0, n = 0;
	for (const char *p = first; *p; p++) {
		spelled[n++] = *p;
		spelled[n++] = '_';
	}
	spelled[n++] = '|';
	strcpy(spelled + n, "the");
	t = spell_frames(m, NTOK, spelled, 0.95);
	int a1[2] = { tok('r'), tok('i') }, a2[2] = { tok('e'), tok('r') };
	double p1[2] = { lean_their ? 0.4 : 0.5, lean_their ? 0.5 : 0.4 };
	frame(m + (size_t)t++ * NTOK, NTOK, 2, a1, p1);
	frame(m + (size_t)t++ * NTOK, NTOK, 2, a2, p1);
	t += spell_frames(m + (size_t)t * NTOK, NTOK, "_", 0.95);
	return t;
}

static void test_lm_changes_answer(void)
{
	init_tokens();
	arpa *lm = toy_lm();
	if (!lm)
		return;
	float m[64 * NTOK];
	char *g = NULL, *b = NULL, *b0 = NULL;
	ctc_beam_opts o;
	ctc_beam_defaults(&o);
	o.beam = 16;
	o.alpha = 1.0f;
	o.beta = 0.5f;
	ctc_decoder *d = NULL, *d0 = NULL;
	CHECK_OK(ctc_decoder_new(&d, tokens, NTOK, 0, 1, lm, &o));
	ctc_beam_opts o0 = o;
	o0.alpha = 0;
	o0.beta = 0;
	CHECK_OK(ctc_decoder_new(&d0, tokens, NTOK, 0, 1, NULL, &o0));
	if (!d || !d0)
		goto out;
	CHECK(ctc_decoder_lexicon_words(d) > 10);

	int T = ambiguous(m, "saw", 0);
	CHECK_OK(ctc_greedy(m, T, NTOK, NTOK, tokens, 0, 1, &g));
	CHECK_STR(g, "saw there");
	CHECK_OK(ctc_decoder_decode(d0, m, T, NTOK, &b0, NULL));
	CHECK_STR(b0, "saw there");
	CHECK_OK(ctc_decoder_decode(d, m, T, NTOK, &b, NULL));
	CHECK_STR(b, "saw their");
	free(g); free(b); free(b0);
	g = b = b0 = NULL;

	T = ambiguous(m, "over", 1);
	CHECK_OK(ctc_greedy(m, T, NTOK, NTOK, tokens, 0, 1, &g));
	CHECK_STR(g, "over their");
	CHECK_OK(ctc_decoder_decode(d, m, T, NTOK, &b, NULL));
	CHECK_STR(b, "over there");
out:
	free(g); free(b); free(b0);
	ctc_decoder_free(d);
	ctc_decoder_free(d0);
	arpa_free(lm);
}

/* Word boundaries must not be traded for LM costs: "saw" "|" "their" where
 * the delimiter frame is only 0.5 likely (a letter 'x' takes 0.45).  With
 * no unknown-word penalty, gluing the words ("sawxtheir", one unknown word)
 * is cheaper for this LM (log10: <unk>|<s> -1.98, </s>|<unk> -0.79, total
 * -2.77) than the two real words (saw|<s> -1.47, their|saw -0.28,
 * </s>|their -1.39, total -3.14), and costs only log(0.45/0.5) acoustically.
 * Charging each character of an unknown word (6 x -0.5 here) restores the
 * boundary.  The control run without the per-character penalty shows the
 * failure mode, so the test can fail. */
static void test_no_word_gluing(void)
{
	init_tokens();
	arpa *lm = toy_lm();
	if (!lm)
		return;
	float m[32 * NTOK];
	int t = spell_frames(m, NTOK, "s_a_w_", 0.9);
	int ids[2] = { tok('|'), tok('x') };
	double ps[2] = { 0.5, 0.45 };
	frame(m + (size_t)t++ * NTOK, NTOK, 2, ids, ps);
	t += spell_frames(m + (size_t)t * NTOK, NTOK, "t_h_e_i_r_", 0.9);
	ctc_beam_opts o;
	ctc_beam_defaults(&o);
	o.alpha = 1.0f;
	o.beta = 0;
	o.unk_penalty = 0;
	for (int run = 0; run < 3; run++) {
		o.lookahead = run == 1;
		o.unk_char_penalty = run < 2 ? -0.5f : 0.0f;
		ctc_decoder *d = NULL;
		char *b = NULL;
		CHECK_OK(ctc_decoder_new(&d, tokens, NTOK, 0, 1, lm, &o));
		if (d)
			CHECK_OK(ctc_decoder_decode(d, m, t, NTOK, &b, NULL));
		if (run < 2)
			CHECK_STR(b, "saw their");
		else
			CHECK_STR(b, "sawxtheir");   /* control: the failure mode exists */
		free(b);
		ctc_decoder_free(d);
	}
	arpa_free(lm);
}

/* Lexicon: "thx" is clearly spoken; without the lexicon it is kept (OOV
 * at a penalty it survives since nothing else fits), with a strict lexicon
 * only vocabulary words may come out. */
static void test_lexicon(void)
{
	init_tokens();
	arpa *lm = toy_lm();
	if (!lm)
		return;
	float m[32 * NTOK];
	int T = spell_frames(m, NTOK, "s_a_w|t_h_x_", 0.9);
	ctc_beam_opts o;
	ctc_beam_defaults(&o);
	o.alpha = 0.5f;
	o.beta = 1.0f;
	o.unk_penalty = -2;
	char *a = NULL, *b = NULL;
	ctc_decoder *d = NULL, *dl = NULL;
	CHECK_OK(ctc_decoder_new(&d, tokens, NTOK, 0, 1, lm, &o));
	o.lexicon = 1;
	o.allow_unk = 0;
	o.top_k = 0;
	o.cutoff_prob = 1;
	CHECK_OK(ctc_decoder_new(&dl, tokens, NTOK, 0, 1, lm, &o));
	if (d && dl) {
		CHECK_OK(ctc_decoder_decode(d, m, T, NTOK, &a, NULL));
		CHECK_STR(a, "saw thx");
		CHECK_OK(ctc_decoder_decode(dl, m, T, NTOK, &b, NULL));
		/* every word of the strict result is in the LM vocabulary */
		char buf[128];
		snprintf(buf, sizeof buf, "%s", b ? b : "");
		for (char *w = strtok(buf, " "); w; w = strtok(NULL, " "))
			CHECKF(arpa_word_id(lm, w) >= 0, "'%s' not in the lexicon (result '%s')", w, b);
		CHECK(b && !strncmp(b, "saw", 3));
	}
	free(a);
	free(b);
	ctc_decoder_free(d);
	ctc_decoder_free(dl);
	/* lexicon without an LM is refused */
	ctc_decoder *bad = NULL;
	CHECK_EQ_INT(ctc_decoder_new(&bad, tokens, NTOK, 0, 1, NULL, &o), ACC_EINVAL);
	arpa_free(lm);
}

/* Same input -> same output; exact ties resolve to the lower token id for
 * both decoders; a row stride wider than the vocabulary works. */
static void test_deterministic(void)
{
	init_tokens();
	enum { S = NTOK + 5 };
	float m[8 * S];
	for (int i = 0; i < 8 * S; i++)
		m[i] = 1e30f;   /* padding must never be read */
	int ids2[2] = { tok('b'), tok('c') };
	double ps[2] = { 0.45, 0.45 };
	int t = 0;
	for (; t < 3; t++)
		frame(m + t * S, NTOK, 2, ids2, ps);
	int bl = 0;
	double pb = 0.99;
	frame(m + t++ * S, NTOK, 1, &bl, &pb);
	for (int i = 0; i < t; i++)
		for (int v = NTOK; v < S; v++)
			m[i * S + v] = 1e30f;
	char *g = NULL, *b1 = NULL, *b2 = NULL;
	double s1 = 0, s2 = 1;
	CHECK_OK(ctc_greedy(m, t, NTOK, S, tokens, 0, 1, &g));
	CHECK_STR(g, "b");
	ctc_decoder *d = NULL;
	CHECK_OK(ctc_decoder_new(&d, tokens, NTOK, 0, 1, NULL, NULL));
	if (d) {
		CHECK_OK(ctc_decoder_decode(d, m, t, S, &b1, &s1));
		CHECK_OK(ctc_decoder_decode(d, m, t, S, &b2, &s2));
		CHECK_STR(b1, b2);
		CHECK(s1 == s2);
		CHECK(b1 && b1[0] == 'b');
		/* empty input */
		char *e = NULL;
		CHECK_OK(ctc_decoder_decode(d, m, 0, S, &e, NULL));
		CHECK_STR(e, "");
		free(e);
	}
	free(g);
	free(b1);
	free(b2);
	ctc_decoder_free(d);
	/* bad arguments */
	CHECK_EQ_INT(ctc_decoder_new(&d, tokens, NTOK, NTOK, 1, NULL, NULL), ACC_EINVAL);
	CHECK_EQ_INT(ctc_decoder_new(&d, tokens, NTOK, 0, 0, NULL, NULL), ACC_EINVAL);
}

/* A long utterance decoded with a tiny node budget (the prefix tree is
 * compacted many times) gives exactly the text and score of a run that
 * never compacts. */
static void test_compaction(void)
{
	init_tokens();
	arpa *lm = toy_lm();
	if (!lm)
		return;
	enum { T = 3000 };
	float *m = malloc(sizeof(float) * T * NTOK);
	const char *words[] = { "saw", "their", "dog", "over", "there", "cat", "zebra" };
	int t = 0;
	while (t < T - 40) {
		const char *w = words[(int)(urand() * 7)];
		for (const char *p = w; *p && t < T - 40; p++) {
			int id = tok(*p);
			double pp = 0.5 + 0.4 * urand();
			int ids[2] = { id, 2 + (int)(urand() * 26) };
			double ps[2] = { pp, ids[1] == id ? 0 : 0.3 * (1 - pp) };
			frame(m + (size_t)t++ * NTOK, NTOK, ids[1] == id ? 1 : 2, ids, ps);
			int b = 0;
			double pb = 0.6 + 0.3 * urand();
			frame(m + (size_t)t++ * NTOK, NTOK, 1, &b, &pb);
		}
		int dl = 1;
		double pd = 0.7;
		frame(m + (size_t)t++ * NTOK, NTOK, 1, &dl, &pd);
	}
	ctc_beam_opts o;
	ctc_beam_defaults(&o);
	o.beam = 32;
	o.max_nodes = 1 << 30;
	char *a = NULL, *b = NULL;
	double sa = 0, sb = 1;
	ctc_decoder *d1 = NULL, *d2 = NULL;
	CHECK_OK(ctc_decoder_new(&d1, tokens, NTOK, 0, 1, lm, &o));
	o.max_nodes = 1024;
	CHECK_OK(ctc_decoder_new(&d2, tokens, NTOK, 0, 1, lm, &o));
	if (d1 && d2) {
		CHECK_OK(ctc_decoder_decode(d1, m, t, NTOK, &a, &sa));
		CHECK_OK(ctc_decoder_decode(d2, m, t, NTOK, &b, &sb));
		CHECK_STR(a, b);
		CHECK(sa == sb);
		CHECK(a && strlen(a) > 300);
		CHECK_EQ_INT(ctc_decoder_compactions(d1), 0);
		CHECK(ctc_decoder_compactions(d2) > 10);
	}
	free(a);
	free(b);
	free(m);
	ctc_decoder_free(d1);
	ctc_decoder_free(d2);
	arpa_free(lm);
}

int main(void)
{
	testrand_seed(88172645463325252ull);   /* this file's urand() stream */
	RUN(test_beam1_equals_greedy);
	RUN(test_prefix_merging);
	RUN(test_brute_force);
	RUN(test_lm_changes_answer);
	RUN(test_no_word_gluing);
	RUN(test_lexicon);
	RUN(test_deterministic);
	RUN(test_compaction);
	return check_summary();
}
