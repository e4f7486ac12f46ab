/*
 * test_arpa.c — ARPA loading, back-off queries, writing, perplexity and
 * line-numbered errors on malformed files.
 */
#include "decode/arpa.h"
#include "check.h"
#include "base/err.h"
#include "decode/lm_build.h"

static const char *write_tmp(const char *name, const char *text)
{
	static char path[1024];
	snprintf(path, sizeof path, "%s/%s", TEST_TMP, name);
	FILE *fp = fopen(path, "w");
	if (!fp) {
		perror(path);
		exit(2);
	}
	fputs(text, fp);
	fclose(fp);
	return path;
}

/* A hand-written bigram model (SRILM style: header text, tabs and spaces). */
static const char *small_arpa =
	"This header text is ignored.\n"
	"\n"
	"\\data\\\n"
	"ngram 1=5\n"
	"ngram 2=3\n"
	"\n"
	"\\1-grams:\n"
	"-1.0\t<unk>\n"
	"-99\t<s>\t-0.5\n"
	"-0.6\t</s>\n"
	"-0.4\tthe\t-0.3\n"
	"-0.8 cat -0.2\n"
	"\n"
	"\\2-grams:\n"
	"-0.1\t<s>\tthe\n"
	"-0.2\tthe\tcat\n"
	"-0.05\tcat\t</s>\n"
	"\n"
	"\\end\\\n";

static void test_load_and_query(void)
{
	arpa *lm = NULL;
	CHECK_OK(arpa_load(&lm, write_tmp("small.arpa", small_arpa)));
	if (!lm)
		return;
	CHECK_EQ_INT(arpa_order(lm), 2);
	CHECK_EQ_INT(arpa_count(lm, 1), 5);
	CHECK_EQ_INT(arpa_count(lm, 2), 3);
	int32_t s = arpa_bos(lm), e = arpa_eos(lm), the = arpa_word_id(lm, "the"), cat = arpa_word_id(lm, "cat");
	CHECK(s >= 0 && e >= 0 && the >= 0 && cat >= 0);
	CHECK_EQ_INT(arpa_word_id(lm, "dog"), -1);
	/* Listed bigram: its own probability. */
	CHECK_NEAR(arpa_logp(lm, &s, 1, the), -0.1, 1e-6);
	/* Unlisted "<s> cat": backoff(<s>) + p(cat) = -0.5 + -0.8. */
	CHECK_NEAR(arpa_logp(lm, &s, 1, cat), -1.3, 1e-6);
	/* Unlisted "cat the": backoff(cat) + p(the) = -0.2 + -0.4. */
	CHECK_NEAR(arpa_logp(lm, &cat, 1, the), -0.6, 1e-6);
	/* "</s> the": </s> has no back-off (0) -> p(the). */
	CHECK_NEAR(arpa_logp(lm, &e, 1, the), -0.4, 1e-6);
	/* Unknown word scores as <unk>. */
	CHECK_NEAR(arpa_logp(lm, &the, 1, -1), -0.3 + -1.0, 1e-6);
	/* Longer context than the order: only the last word counts. */
	int32_t ctx[3] = { cat, s, the };
	CHECK_NEAR(arpa_logp(lm, ctx, 3, cat), -0.2, 1e-6);

	/* State interface: <s> the cat </s> = -0.1 -0.2 -0.05. */
	arpa_state st;
	arpa_state_begin(lm, &st);
	double tot = arpa_score(lm, &st, the, &st);
	tot += arpa_score(lm, &st, cat, &st);
	tot += arpa_score(lm, &st, e, &st);
	CHECK_NEAR(tot, -0.35, 1e-6);
	arpa_free(lm);
}

/* Trigram back-off chains through two contexts. */
static void test_backoff_chain(void)
{
	const char *text =
		"\\data\\\nngram 1=4\nngram 2=2\nngram 3=1\n\n"
		"\\1-grams:\n-99 <s> -0.25\n-0.5 </s>\n-0.7 x -0.125\n-0.9 y -0.0625\n\n"
		"\\2-grams:\n-0.3 x y -0.375\n-0.2 <s> x -0.5\n\n"
		"\\3-grams:\n-0.01 <s> x y\n\n\\end\\\n";
	arpa *lm = NULL;
	CHECK_OK(arpa_load(&lm, write_tmp("tri.arpa", text)));
	if (!lm)
		return;
	int32_t s = arpa_bos(lm), x = arpa_word_id(lm, "x"), y = arpa_word_id(lm, "y");
	int32_t sx[2] = { s, x }, xy[2] = { x, y };
	CHECK_NEAR(arpa_logp(lm, sx, 2, y), -0.01, 1e-6);
	/* p(x | x y): "x y x" no, "y x" no -> bo(x y) + bo(y) + p(x). */
	CHECK_NEAR(arpa_logp(lm, xy, 2, x), -0.375 - 0.0625 - 0.7, 1e-6);
	/* p(</s> | <s> x): "<s> x </s>" no -> bo(<s> x) + p(</s> | x);
	 * "x </s>" no -> bo(x) + p(</s>). */
	CHECK_NEAR(arpa_logp(lm, sx, 2, arpa_eos(lm)), -0.5 - 0.125 - 0.5, 1e-6);
	/* No <unk> in the model: unknown words get ARPA_OOV_LOGP. */
	CHECK_NEAR(arpa_logp(lm, sx, 2, -1), ARPA_OOV_LOGP, 1e-6);
	arpa_free(lm);
}

/* build -> write -> load -> identical probabilities for every n-gram and for
 * queries that back off. */
static void test_round_trip(void)
{
	const char *corpus[] = { "the cat sat on the mat", "the dog sat", "a cat and a dog",
				 "the cat ran", "on the mat the dog sat down", "a mat", "ሰላም ነው", "ሰላም ሰላም ነው" };
	lm_build *b = NULL;
	arpa *lm = NULL, *back = NULL;
	CHECK_OK(lm_build_new(&b, 3));
	for (size_t i = 0; i < sizeof corpus / sizeof *corpus; i++)
		CHECK_OK(lm_build_add(b, corpus[i]));
	CHECK_OK(lm_build_estimate(b, &lm, NULL));
	lm_build_free(b);
	if (!lm)
		return;
	char path[1024];
	snprintf(path, sizeof path, "%s/rt.arpa", TEST_TMP);
	CHECK_OK(arpa_write(lm, path));
	CHECK_OK(arpa_load(&back, path));
	if (!back) {
		arpa_free(lm);
		return;
	}
	for (int n = 1; n <= 3; n++) {
		CHECK_EQ_INT(arpa_count(back, n), arpa_count(lm, n));
		for (uint64_t i = 0; i < arpa_count(lm, n); i++) {
			const int32_t *ids;
			float p, bo, p2 = 1, bo2 = 1;
			int32_t ids2[3];
			arpa_ngram_at(lm, n, i, &ids, &p, &bo);
			for (int k = 0; k < n; k++)
				ids2[k] = arpa_word_id(back, arpa_word(lm, ids[k]));
			CHECK(arpa_find(back, n, ids2, &p2, &bo2));
			CHECKF(p == p2 && bo == bo2, "%d-gram %llu: %.9g/%.9g vs %.9g/%.9g", n,
			       (unsigned long long)i, p, bo, p2, bo2);
		}
	}
	/* Every word after every 2-word context, including unseen ones. */
	int32_t V = arpa_vocab_size(lm), mism = 0;
	for (int32_t a = 0; a < V; a++)
		for (int32_t c = 0; c < V; c++)
			for (int32_t w = 0; w < V; w++) {
				int32_t ctx[2] = { a, c };
				int32_t ctx2[2] = { arpa_word_id(back, arpa_word(lm, a)), arpa_word_id(back, arpa_word(lm, c)) };
				float p1 = arpa_logp(lm, ctx, 2, w);
				float p2 = arpa_logp(back, ctx2, 2, arpa_word_id(back, arpa_word(lm, w)));
				mism += p1 != p2;
			}
	CHECK_EQ_INT(mism, 0);
	arpa_free(lm);
	arpa_free(back);
}

/* Perplexity of a toy text under a hand-made unigram model:
 * p(a) = 1/2, p(b) = 1/4, p(</s>) = 1/4.
 * "a b": log10 (1/2 * 1/4 * 1/4) = log10 1/32 over 3 tokens -> 32^(1/3).
 * "a zz": zz unknown, excluded: log10 (1/2 * 1/4) over 2 tokens -> 8^(1/2);
 *   with OOVs (scored -100 since no <unk>): both sentences together
 *   10^((log10(1/32) + log10(1/8) - 100) / 6). */
static void test_perplexity(void)
{
	char text[512];
	snprintf(text, sizeof text,
		 "\\data\\\nngram 1=4\n\n\\1-grams:\n-99 <s>\n%.9f a\n%.9f b\n%.9f </s>\n\n\\end\\\n",
		 log10(0.5), log10(0.25), log10(0.25));
	arpa *lm = NULL;
	CHECK_OK(arpa_load(&lm, write_tmp("uni.arpa", text)));
	if (!lm)
		return;
	arpa_ppl acc = { 0 };
	CHECK_OK(arpa_ppl_add(lm, "a b", &acc));
	CHECK_NEAR(arpa_ppl_value(&acc), cbrt(32.0), 1e-5);
	arpa_ppl acc2 = { 0 };
	CHECK_OK(arpa_ppl_add(lm, "a zz", &acc2));
	CHECK_EQ_INT(acc2.oov, 1);
	CHECK_NEAR(arpa_ppl_value(&acc2), sqrt(8.0), 1e-5);
	CHECK_OK(arpa_ppl_add(lm, "a b", &acc2));
	double want = pow(10.0, -(log10(1.0 / 32) + log10(1.0 / 8) - 100) / 6);
	CHECK_NEAR(arpa_ppl_value_with_oov(&acc2) / want, 1.0, 1e-5);
	CHECK_EQ_INT(acc2.words, 4);
	CHECK_EQ_INT(acc2.sentences, 2);
	arpa_free(lm);
}

/* Each malformed file must fail with ACC_EFORMAT and "<path>:<line>:". */
static void expect_error(const char *name, const char *text, int line, const char *needle)
{
	arpa *lm = NULL;
	const char *path = write_tmp(name, text);
	int rc = arpa_load(&lm, path);
	CHECKF(rc == ACC_EFORMAT, "%s: rc %d (%s)", name, rc, err_msg());
	CHECK(lm == NULL);
	char want[1100];
	snprintf(want, sizeof want, "%s:%d: ", path, line);
	CHECKF(strstr(err_msg(), want) != NULL, "%s: message '%s' lacks '%s'", name, err_msg(), want);
	CHECKF(strstr(err_msg(), needle) != NULL, "%s: message '%s' lacks '%s'", name, err_msg(), needle);
	arpa_free(lm);
}

static void test_malformed(void)
{
	/* line numbers counted by hand from the start of each text */
	expect_error("badcount.arpa", "\\data\\\nngram 1=x\n", 2, "bad count line");
	expect_error("negcount.arpa", "\\data\\\nngram 1=-3\n", 2, "bad count line");
	expect_error("skiporder.arpa", "\\data\\\nngram 1=1\nngram 3=1\n", 3, "'ngram 2' was expected");
	expect_error("noend.arpa", "\\data\\\nngram 1=1\n\n\\1-grams:\n-1 a\n", 5, "missing \\end\\");
	expect_error("nodata.arpa", "hello\nworld\n", 2, "no \\data\\");
	expect_error("fields.arpa",
		     "\\data\\\nngram 1=2\nngram 2=1\n\n\\1-grams:\n-1 a\n-1 b -0.5 extra\n", 7,
		     "wrong number of fields");
	expect_error("fields1.arpa", "\\data\\\nngram 1=1\n\n\\1-grams:\n-1\n", 5, "wrong number of fields");
	expect_error("nonnum.arpa", "\\data\\\nngram 1=2\n\n\\1-grams:\n-1 a\nabc b\n", 6, "is not a number");
	expect_error("badbo.arpa",
		     "\\data\\\nngram 1=1\nngram 2=0\n\n\\1-grams:\n-1 a 0.x\n", 6, "back-off '0.x' is not a number");
	expect_error("posprob.arpa", "\\data\\\nngram 1=1\n\n\\1-grams:\n2.5 a\n", 5, "above 0");
	/* A trigram inside the bigram section of a bigram model. */
	expect_error("order.arpa",
		     "\\data\\\nngram 1=3\nngram 2=1\n\n\\1-grams:\n-1 a\n-1 b\n-1 c\n\n\\2-grams:\n-1 a b c\n\n\\end\\\n",
		     11, "wrong order");
	/* A section of an order the counts do not declare. */
	expect_error("extrasec.arpa",
		     "\\data\\\nngram 1=1\n\n\\1-grams:\n-1 a\n\n\\2-grams:\n-1 a a\n\n\\end\\\n", 7,
		     "beyond the 1 orders");
	expect_error("count.arpa", "\\data\\\nngram 1=3\n\n\\1-grams:\n-1 a\n-1 b\n\n\\end\\\n", 8,
		     "has 2 entries but");
	expect_error("unkword.arpa",
		     "\\data\\\nngram 1=1\nngram 2=1\n\n\\1-grams:\n-1 a\n\n\\2-grams:\n-1 a zz\n\n\\end\\\n", 9,
		     "not in the \\1-grams");
	/* A header claiming two billion bigrams must fail on the count, not
	 * on memory. */
	expect_error("hugecount.arpa",
		     "\\data\\\nngram 1=1\nngram 2=2000000000\n\n\\1-grams:\n-1 a\n\n\\2-grams:\n-1 a a\n\n\\end\\\n", 11,
		     "has 1 entries but");
	expect_error("dup.arpa", "\\data\\\nngram 1=2\n\n\\1-grams:\n-1 a\n-1 a\n\n\\end\\\n", 6, "duplicate");
	expect_error("wronghdr.arpa", "\\data\\\nngram 1=1\nngram 2=1\n\n\\2-grams:\n-1 a a\n", 5,
		     "expected section header \\1-grams:");
	expect_error("earlyend.arpa", "\\data\\\nngram 1=1\nngram 2=1\n\n\\1-grams:\n-1 a\n\n\\end\\\n", 8,
		     "\\end\\ before section \\2-grams:");
	/* Missing file is not a format error. */
	arpa *lm = NULL;
	char p[1024];
	snprintf(p, sizeof p, "%s/none.arpa", TEST_TMP);
	CHECK_EQ_INT(arpa_load(&lm, p), ACC_ENOTFOUND);
}

/* A file with \r\n line ends and an explicit -inf (SRILM) still loads. */
static void test_crlf_inf(void)
{
	arpa *lm = NULL;
	CHECK_OK(arpa_load(&lm, write_tmp("crlf.arpa", "\\data\\\r\nngram 1=2\r\n\r\n\\1-grams:\r\n-inf <s>\r\n-0.5 a\r\n\r\n\\end\\\r\n")));
	if (lm) {
		float p;
		int32_t s = arpa_bos(lm);
		CHECK(arpa_find(lm, 1, &s, &p, NULL));
		CHECK_NEAR(p, -99, 1e-6);
		arpa_free(lm);
	}
}

int main(void)
{
	RUN(test_load_and_query);
	RUN(test_backoff_chain);
	RUN(test_round_trip);
	RUN(test_perplexity);
	RUN(test_malformed);
	RUN(test_crlf_inf);
	return check_summary();
}
