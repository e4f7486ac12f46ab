/*
 * test_metrics.c — CER/WER edit counts on hand-computed cases, corpus
 * accumulation, and a cross-check of the edit totals against an
 * independent full-matrix Levenshtein on random strings.
 */
#include "check.h"
#include "base/err.h"
#include "text/metrics.h"

#define COUNTS(ref, hyp, unit, s, d, i, rl) counts_at(__FILE__, __LINE__, ref, hyp, unit, s, d, i, rl)
static void counts_at(const char *file, int line, const char *ref, const char *hyp, metrics_unit unit,
                      long long s, long long d, long long i, long long rl)
{
	metrics_counts c;
	if (metrics_edit_counts(ref, hyp, unit, &c)) {
		check_fail(file, line, "metrics_edit_counts(\"%s\", \"%s\") failed: %s", ref, hyp, err_msg());
		return;
	}
	if (c.sub != s || c.del != d || c.ins != i || c.ref_len != rl)
		check_fail(file, line, "\"%s\" vs \"%s\": S/D/I/N = %lld/%lld/%lld/%lld, want %lld/%lld/%lld/%lld",
		           ref, hyp, c.sub, c.del, c.ins, c.ref_len, s, d, i, rl);
	if (c.hits + c.sub + c.del != c.ref_len || c.hits + c.sub + c.ins != c.hyp_len)
		check_fail(file, line, "inconsistent counts for \"%s\" vs \"%s\"", ref, hyp);
}

/* one hand-computed case: the edit counts of hyp against ref */
typedef struct count_case {
	const char *ref, *hyp;
	metrics_unit unit;
	long long s, d, i, rl;
} count_case;

static void counts_table(const count_case *t, size_t n)
{
	for (size_t k = 0; k < n; k++)
		counts_at(__FILE__, __LINE__, t[k].ref, t[k].hyp, t[k].unit, t[k].s, t[k].d, t[k].i, t[k].rl);
}

static void test_char_basic(void)
{
	static const count_case t[] = {
		/* k->s, e->i, +g: 3 edits; the only cost-3 alignment (LCS "ittn" = 4
		 * rules out 1 deletion + 2 insertions) */
		{ "kitten", "sitting", METRICS_CHAR, 2, 0, 1, 6 },
		{ "abc", "abc", METRICS_CHAR, 0, 0, 0, 3 },
		{ "abc", "ac", METRICS_CHAR, 0, 1, 0, 3 },
		{ "ac", "abc", METRICS_CHAR, 0, 0, 1, 2 },
		/* inner whitespace is a character; outer whitespace is ignored */
		{ "a b", "a  b", METRICS_CHAR, 0, 0, 1, 3 },
		{ "  ab\n", "ab", METRICS_CHAR, 0, 0, 0, 2 },
		/* tie between 2 substitutions and deletion + insertion: the
		 * documented preference is substitution */
		{ "ab", "ba", METRICS_CHAR, 2, 0, 0, 2 },
	};
	counts_table(t, sizeof t / sizeof t[0]);
}

static void test_char_multibyte(void)
{
	/* code points, not bytes: é is one unit (2 bytes) */
	COUNTS("café", "cafe", METRICS_CHAR, 1, 0, 0, 4);
	/* no normalization: decomposed e + U+0301 is two units, é -> e is a
	 * substitution and the combining acute an insertion */
	COUNTS("café", "cafe\xcc\x81", METRICS_CHAR, 1, 0, 1, 4);
	/* ሰላም እንዴት ነህ: 11 code points (3 + space + 4 + space + 2) */
	COUNTS("ሰላም እንዴት ነህ", "ሰላም እንዴት ነሽ", METRICS_CHAR, 1, 0, 0, 11);
	COUNTS("😀x", "x", METRICS_CHAR, 0, 1, 0, 2);
}

static void test_empty(void)
{
	metrics_counts c;
	COUNTS("", "", METRICS_CHAR, 0, 0, 0, 0);
	COUNTS("", "ab", METRICS_CHAR, 0, 0, 2, 0);
	COUNTS("ab", "", METRICS_CHAR, 0, 2, 0, 2);
	COUNTS("", "two words", METRICS_WORD, 0, 0, 2, 0);
	COUNTS("  ", "", METRICS_WORD, 0, 0, 0, 0);
	CHECK_OK(metrics_edit_counts("", "", METRICS_CHAR, &c));
	CHECK_NEAR(metrics_counts_rate(&c), 0.0, 0);
	CHECK_OK(metrics_edit_counts("", "x", METRICS_CHAR, &c));
	CHECK(isinf(metrics_counts_rate(&c)));
	CHECK_OK(metrics_edit_counts("ab", "", METRICS_CHAR, &c));
	CHECK_NEAR(metrics_counts_rate(&c), 1.0, 0);
}

static void test_words(void)
{
	/* sat->sit, "the" deleted: 2 edits over 6 words (the LCS "the cat on
	 * mat" = 4 rules out 0 S + 2 D + 1 I) */
	COUNTS("the cat sat on the mat", "the cat sit on mat", METRICS_WORD, 1, 1, 0, 6);
	/* any whitespace separates words; runs count once */
	COUNTS("a\tb\n c", "a b c", METRICS_WORD, 0, 0, 0, 3);
	COUNTS("ሰላም እንዴት ነህ", "ሰላም እንዴት ነሽ", METRICS_WORD, 1, 0, 0, 3);
	COUNTS("one two", "one two three four", METRICS_WORD, 0, 0, 2, 2);
	/* words that share a prefix are different words */
	COUNTS("ab abc", "abc ab", METRICS_WORD, 2, 0, 0, 2);
	metrics_counts c;
	CHECK_OK(metrics_edit_counts("the cat sat on the mat", "the cat sit on mat", METRICS_WORD, &c));
	CHECK_NEAR(metrics_counts_rate(&c), 2.0 / 6.0, 1e-12);
}

static void test_accumulate(void)
{
	metrics_accum a, b;
	metrics_accum_init(&a);
	/* 3 char edits over 6, then 0 over 2: corpus CER 3/8, not the mean
	 * of 0.5 and 0 */
	CHECK_OK(metrics_accum_add(&a, "kitten", "sitting"));
	CHECK_OK(metrics_accum_add(&a, "ab", "ab"));
	CHECK_NEAR(metrics_accum_cer(&a), 3.0 / 8.0, 1e-12);
	/* words: 1 substitution over 1, then 0 over 1 */
	CHECK_NEAR(metrics_accum_wer(&a), 1.0 / 2.0, 1e-12);
	CHECK_EQ_INT(a.n, 2);
	/* an empty reference inside a corpus only adds insertions */
	CHECK_OK(metrics_accum_add(&a, "", "xy"));
	CHECK_NEAR(metrics_accum_cer(&a), 5.0 / 8.0, 1e-12);
	CHECK_NEAR(metrics_accum_wer(&a), 2.0 / 2.0, 1e-12);
	/* merging two halves equals adding everything to one */
	metrics_accum_init(&b);
	CHECK_OK(metrics_accum_add(&b, "the cat sat on the mat", "the cat sit on mat"));
	metrics_accum_merge(&a, &b);
	CHECK_EQ_INT(a.n, 4);
	CHECK_EQ_INT(a.word.ref_len, 1 + 1 + 0 + 6);
	CHECK_EQ_INT(a.word.sub + a.word.del + a.word.ins, 1 + 0 + 1 + 2);
	/* a failing pair leaves the accumulator unchanged */
	metrics_accum before = a;
	CHECK_EQ_INT(metrics_accum_add(&a, "ok", "bad \xff"), ACC_EFORMAT);
	CHECK(strstr(err_msg(), "hypothesis") != NULL);
	CHECK(memcmp(&before, &a, sizeof a) == 0);
	CHECK_EQ_INT(metrics_accum_add(&a, "\xc0\xaf", "ok"), ACC_EFORMAT);
	CHECK(strstr(err_msg(), "reference") != NULL);
}

/* Plain Levenshtein distance over bytes with a full matrix. */
static int ref_distance(const char *a, const char *b)
{
	int n = (int)strlen(a), m = (int)strlen(b);
	int *d = malloc((size_t)(n + 1) * (m + 1) * sizeof *d);
	for (int i = 0; i <= n; i++)
		d[i * (m + 1)] = i;
	for (int j = 0; j <= m; j++)
		d[j] = j;
	for (int i = 1; i <= n; i++)
		for (int j = 1; j <= m; j++) {
			int best = d[(i - 1) * (m + 1) + j - 1] + (a[i - 1] != b[j - 1]);
			int up = d[(i - 1) * (m + 1) + j] + 1, left = d[i * (m + 1) + j - 1] + 1;
			if (up < best) best = up;
			if (left < best) best = left;
			d[i * (m + 1) + j] = best;
		}
	int r = d[n * (m + 1) + m];
	free(d);
	return r;
}

static void test_random_crosscheck(void)
{
	unsigned seed = 12345;
	char a[64], b[64];
	for (int t = 0; t < 500; t++) {
		int n = 0, m = 0;
		seed = seed * 1103515245u + 12345u;
		n = (seed >> 16) % 40;
		seed = seed * 1103515245u + 12345u;
		m = (seed >> 16) % 40;
		for (int i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			a[i] = (char)('a' + (seed >> 16) % 4);
		}
		for (int i = 0; i < m; i++) {
			seed = seed * 1103515245u + 12345u;
			b[i] = (char)('a' + (seed >> 16) % 4);
		}
		a[n] = b[m] = 0;
		metrics_counts c;
		CHECK_OK(metrics_edit_counts(a, b, METRICS_CHAR, &c));
		CHECKF(metrics_counts_edits(&c) == ref_distance(a, b), "\"%s\" vs \"%s\": %lld != %d", a, b,
		       metrics_counts_edits(&c), ref_distance(a, b));
		CHECK_EQ_INT(c.hits + c.sub + c.del, n);
		CHECK_EQ_INT(c.hits + c.sub + c.ins, m);
	}
}

int main(void)
{
	RUN(test_char_basic);
	RUN(test_char_multibyte);
	RUN(test_empty);
	RUN(test_words);
	RUN(test_accumulate);
	RUN(test_random_crosscheck);
	return check_summary();
}
