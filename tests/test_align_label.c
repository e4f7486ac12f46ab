/*
 * test_align_label.c — normalized words mapped back to the words as
 * written (lib/align/align_label.h): punctuation kept on its word, punctuation
 * alone attached to a neighbour, tokens normalization split, the fallback
 * to normalized words when the rule does not apply.
 */
#include "align/align_label.h"
#include "check.h"
#include "base/err.h"

/* The labels joined with '|'; mapped in *m. */
static char *labels(align_labeler *l, const char *raw, const char *norm, const char *profile, int *m)
{
	char **lab = NULL, *out = calloc(1, 1024);
	int64_t n = 0;
	CHECK_OK(align_label_map(l, raw, norm, profile, &lab, &n, m));
	for (int64_t i = 0; i < n; i++) {
		if (i)
			strcat(out, "|");
		strncat(out, lab[i], 1000 - strlen(out));
	}
	align_label_free(lab, n);
	return out;
}

static void test_rule(void)
{
	align_labeler *l = NULL;
	CHECK_OK(align_labeler_open(&l));
	int m = -1;
	char *s = labels(l, "Hello, World!", "hello world", "default-eng", &m);
	CHECK_STR(s, "Hello,|World!");
	CHECK_EQ_INT(m, 1);
	free(s);
	/* punctuation alone: before the first word it goes to that word, else to the previous one */
	s = labels(l, "\xe2\x80\x94 Well -- I  said:\n", "well i said", "default-eng", &m);
	CHECK_STR(s, "\xe2\x80\x94 Well --|I|said:");
	CHECK_EQ_INT(m, 1);
	free(s);
	/* tokens split by normalization: the first word carries the token, the rest continue it */
	s = labels(l, "U.S.A. grew 3.5 percent", "u s a grew 3 5 percent", "default-eng", &m);
	CHECK_STR(s, "U.S.A.|||grew|3.5||percent");
	CHECK_EQ_INT(m, 1);
	free(s);
	/* options from the profile identity: +strip removes Latin diacritics */
	s = labels(l, "Caf\xc3\xa9 ol\xc3\xa9", "cafe ole", "default-eng+strip", &m);
	CHECK_STR(s, "Caf\xc3\xa9|ol\xc3\xa9");
	CHECK_EQ_INT(m, 1);
	free(s);
	/* the rule does not apply: the normalized words */
	s = labels(l, "Hello world", "hello there", "default-eng", &m);
	CHECK_STR(s, "hello|there");
	CHECK_EQ_INT(m, 0);
	free(s);
	s = labels(l, "Hello world extra", "hello world", "default-eng", &m);
	CHECK_STR(s, "hello|world");
	CHECK_EQ_INT(m, 0);
	free(s);
	s = labels(l, "Hello, World!", "hello world", NULL, &m);
	CHECK_STR(s, "hello|world");
	CHECK_EQ_INT(m, 0);
	free(s);
	s = labels(l, "Hello, World!", "hello world", "bogus-eng", &m);
	CHECK_STR(s, "hello|world");
	CHECK_EQ_INT(m, 0);
	free(s);
	s = labels(l, "Hello", "hello", "nodash", &m);
	CHECK_STR(s, "hello");
	free(s);
	s = labels(l, "\xff\xfe bad", "bad", "default-eng", &m);   /* invalid UTF-8 in the raw text */
	CHECK_STR(s, "bad");
	CHECK_EQ_INT(m, 0);
	free(s);
	s = labels(l, "!!", "", "default-eng", &m);
	CHECK_STR(s, "");
	free(s);
	/* back to the first profile after another one (the cache is replaced) */
	s = labels(l, "Hello, World!", "hello world", "default-eng", &m);
	CHECK_STR(s, "Hello,|World!");
	free(s);
	align_labeler_close(l);
}

static void test_split(void)
{
	char **w = NULL;
	int64_t n = 0;
	CHECK_OK(align_label_split("  a\tbc \n d  ", &w, &n));
	CHECK_EQ_INT(n, 3);
	if (n == 3) {
		CHECK_STR(w[0], "a");
		CHECK_STR(w[1], "bc");
		CHECK_STR(w[2], "d");
	}
	align_label_free(w, n);
	CHECK_OK(align_label_split(NULL, &w, &n));
	CHECK_EQ_INT(n, 0);
	align_label_free(w, n);
}

int main(void)
{
	RUN(test_rule);
	RUN(test_split);
	return check_summary();
}
