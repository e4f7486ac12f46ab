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

/* one case of the rule: raw text, normalized words, profile, the labels and the rule's verdict (-1: not checked) */
struct rule_case {
	const char *raw, *norm, *profile, *want;
	int want_m;
};

static const struct rule_case rule_cases[] = {
	{"Hello, World!", "hello world", "default-eng", "Hello,|World!", 1},
	/* punctuation alone: before the first word it goes to that word, else to the previous one */
	{"\xe2\x80\x94 Well -- I  said:\n", "well i said", "default-eng", "\xe2\x80\x94 Well --|I|said:", 1},
	/* tokens split by normalization: the first word carries the token, the rest continue it */
	{"U.S.A. grew 3.5 percent", "u s a grew 3 5 percent", "default-eng", "U.S.A.|||grew|3.5||percent", 1},
	/* options from the profile identity: +strip removes Latin diacritics */
	{"Caf\xc3\xa9 ol\xc3\xa9", "cafe ole", "default-eng+strip", "Caf\xc3\xa9|ol\xc3\xa9", 1},
	/* the rule does not apply: the normalized words */
	{"Hello world", "hello there", "default-eng", "hello|there", 0},
	{"Hello world extra", "hello world", "default-eng", "hello|world", 0},
	{"Hello, World!", "hello world", NULL, "hello|world", 0},
	{"Hello, World!", "hello world", "bogus-eng", "hello|world", 0},
	{"Hello", "hello", "nodash", "hello", -1},
	{"\xff\xfe bad", "bad", "default-eng", "bad", 0},   /* invalid UTF-8 in the raw text */
	{"!!", "", "default-eng", "", -1},
	/* back to the first profile after another one (the cache is replaced) */
	{"Hello, World!", "hello world", "default-eng", "Hello,|World!", -1},
};

static void test_rule(void)
{
	align_labeler *l = NULL;
	CHECK_OK(align_labeler_open(&l));
	for (size_t i = 0; i < sizeof rule_cases / sizeof rule_cases[0]; i++) {
		const struct rule_case *c = &rule_cases[i];
		int m = -1;
		char *s = labels(l, c->raw, c->norm, c->profile, &m);
		CHECKF(s && !strcmp(s, c->want), "case %zu: \"%s\" != \"%s\"", i, s ? s : "(null)", c->want);
		if (c->want_m >= 0)
			CHECKF(m == c->want_m, "case %zu: m %d != %d", i, m, c->want_m);
		free(s);
	}
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
